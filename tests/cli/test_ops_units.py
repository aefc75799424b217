"""The operator commands' logic without sockets: profiles, error mapping, verdicts, bulk pacing."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.exceptions as bx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openses.cli.ops import audit, bulk, monitor, profiles
from openses.cli.ops.client import translate
from openses.cli.ops.dns_state import dkim_token, dmarc, run, spf
from openses.cli.ops.errors import ApiError, OpsError, Unsupported
from openses.protocol.dns import FakeResolver

SEED = {"accounts": {
    "production": {"aws_access_key_id": "AKIAPROD", "aws_secret_access_key": "s1", "region": "eu-west-1",
                   "description": "Production SES account", "verified_domains": ["yourdomain.com"],
                   "verified_emails": ["noreply@yourdomain.com"]},
    "staging": {"aws_access_key_id": "YOUR_STAGING_AWS_ACCESS_KEY_ID_HERE", "aws_secret_access_key": "x"}}}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "ses-config.json"
    path.write_text(json.dumps(data))
    return path


def test_the_seed_config_layout_loads_as_is(tmp_path: Path) -> None:
    p = profiles.load("production", write(tmp_path, SEED))
    assert (p.region, p.endpoint_url, p.access_key_id) == ("eu-west-1", None, "AKIAPROD")
    assert p.verified_domains == ("yourdomain.com",) and p.target == "Amazon SES (eu-west-1)"


def test_template_placeholders_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(OpsError, match="profile staging: .*template placeholder"):
        profiles.load("staging", write(tmp_path, SEED))


def test_a_profile_is_chosen_by_name_default_or_being_the_only_one(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENSES_PROFILE", raising=False)
    with pytest.raises(OpsError, match="name an account: production, staging"):
        profiles.load(None, write(tmp_path, SEED))
    only = write(tmp_path, {"accounts": {"solo": {"endpoint_url": "http://127.0.0.1:1"}}})
    assert profiles.load(None, only).name == "solo"
    with pytest.raises(OpsError, match="no profile named 'nope'"):
        profiles.load("nope", only)


def test_a_config_without_accounts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OpsError, match="has no \"accounts\" object"):
        profiles.load(None, write(tmp_path, {"profiles": {}}))


def client_error(code: str, status: int, message: str = "m") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": message},
                           "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def test_not_implemented_becomes_a_sentence_naming_openses() -> None:
    p = profiles.Profile("prod", endpoint_url="http://x")
    e = translate(p, "ListSuppressedDestinations", client_error("NotImplemented", 501))
    assert isinstance(e, Unsupported) and str(e) == "openses does not implement ListSuppressedDestinations yet"


def test_auth_and_connection_errors_become_one_line() -> None:
    p = profiles.Profile("prod", endpoint_url="http://127.0.0.1:9")
    auth = translate(p, "GetSendQuota", client_error("InvalidClientTokenId", 403))
    assert isinstance(auth, ApiError) and "credentials of profile prod were rejected" in str(auth)
    down = translate(p, "GetSendQuota", bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert str(down).startswith("cannot reach http://127.0.0.1:9 (profile prod)")
    html = translate(p, "GetAccount", client_error("500", 500, "<html>\n<p>boom</p>"))
    assert "\n" not in str(html) and "<html>" not in str(html)


def test_rates_at_the_threshold_alert_and_below_do_not() -> None:
    assert monitor.judge_rate("bounce rate", 5.0, 5.0, 100).verdict == "fail"
    assert monitor.judge_rate("bounce rate", 4.99, 5.0, 100).verdict == "ok"
    assert monitor.judge_quota({"Max24HourSend": -1.0, "SentLast24Hours": 9.0}, 80).verdict == "ok"
    assert monitor.judge_quota({"Max24HourSend": 100.0, "SentLast24Hours": 80.0}, 80).verdict == "fail"
    assert monitor.judge_account(None, "openses does not implement GetAccount yet").verdict == "unknown"


def test_audit_verdicts_carry_a_fix_for_each_problem() -> None:
    off = audit.dkim_finding("example.com", {"DkimEnabled": False}, "prod")
    assert off.verdict == "fail" and off.fix == "openses enable-dkim prod example.com"
    pending = audit.verification_finding("a@example.com", "Pending", "prod")
    assert pending.verdict == "warn" and "verify-email" in pending.fix
    sandbox = audit.account_findings({"ProductionAccessEnabled": False, "EnforcementStatus": "HEALTHY",
                                      "SendingEnabled": True}, None)
    assert {f.item: f.verdict for f in sandbox}["sandbox"] == "warn"


def test_dns_findings_judge_spf_dmarc_and_dkim() -> None:
    r = FakeResolver({("example.com", "TXT"): ["v=spf1 -all", "v=spf1 ~all"],
                      ("_dmarc.example.com", "TXT"): ["v=DMARC1; p=quarantine"],
                      ("tok._domainkey.example.com", "CNAME"): ["tok.dkim.amazonses.com"]})
    r.failing.add("broken.example")
    found = run([spf(r, "example.com"), dmarc(r, "example.com"), dkim_token(r, "example.com", "tok",
                                                                            "dkim.amazonses.com"),
                 dkim_token(r, "example.com", "gone", "dkim.amazonses.com"), spf(r, "broken.example")])
    assert [f.verdict for f in found] == ["fail", "ok", "ok", "fail", "unknown"]
    assert "p=quarantine" in found[1].detail and "CNAME gone._domainkey.example.com" in found[3].fix


def test_the_pacer_spaces_sends_at_the_maximum_send_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = bulk.Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert slept == [0.25] * 4 and now[0] == 101.0


def test_bulk_state_skips_sent_rows_and_survives_a_torn_line(tmp_path: Path) -> None:
    state = bulk.StateFile(tmp_path / "s.jsonl")
    with state.open() as f:
        bulk.StateFile.record(f, bulk.Row(1, "a@x", {}), message_id="m1")
        bulk.StateFile.record(f, bulk.Row(2, "b@x", {}), error="MessageRejected")
        f.write('{"row": 3, "to": "c@x", "mess')
    assert state.sent_rows() == {1}


def test_the_csv_recipient_column_is_found_or_named(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("Name,Email\nAnn,a@example.com\n")
    assert bulk.read_rows(path) == [bulk.Row(1, "a@example.com", {"Name": "Ann"})]
    with pytest.raises(OpsError, match="no column 'to'"):
        bulk.read_rows(path, "to")


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.text(max_size=20)))
def test_rendering_replaces_every_placeholder_with_its_value(data: dict[str, str]) -> None:
    text = " ".join(f"{{{{{k}}}}}" for k in data)
    assert bulk.render(text, data) == " ".join(data.values())
