"""Two nodes (`openses serve` processes that are not forked from one another, as on two machines)
sharing one database: each counts the other's sends against an account's 24-hour quota, within
OPENSES_QUOTA_SYNC_INTERVAL seconds."""

from __future__ import annotations

from botocore.exceptions import ClientError

SIMPLE = {"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "body"}}}}


def test_nodes_sharing_a_database_count_each_others_sends_against_the_daily_quota(server_factory):
    a = server_factory(OPENSES_QUOTA_SYNC_INTERVAL="0.1").start()
    b = server_factory(OPENSES_QUOTA_SYNC_INTERVAL="0.1").start()
    creds = a.new_account("acme")
    a.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "1000", "--max-send-rate", "-1")
    to_a, to_b = a.client("sesv2", creds), b.client("sesv2", creds)

    for batch in range(20):  # node a uses the whole quota: 20 messages of 50 recipients
        to_a.send_email(FromEmailAddress="a@example.com", Content=SIMPLE,
                        Destination={"ToAddresses": [f"r{batch}-{i}@example.org" for i in range(50)]})

    # Node b knew nothing of them when it started; alone, it would accept 1,000 more recipients.
    # Once its next pass has read the database, it refuses: a handful of sends at most get
    # through in between (the lag is 0.1 s here).
    accepted = 0
    while True:
        try:
            to_b.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": ["x@example.org"]},
                            Content=SIMPLE)
        except ClientError as e:
            assert e.response["Error"]["Message"] == "Daily message quota exceeded."
            break
        accepted += 1
        assert accepted < 100, "node b does not count node a's sends"
    assert b.cli_json("messages", "list")  # one database: b sees a's mail too
