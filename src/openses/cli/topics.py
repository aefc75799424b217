"""`openses topics …` (SNS-style topics and their subscriptions, the webhook outbox) and
`openses feedback …` (an account's default configuration set, its reputation): operator
commands, straight on the database."""

from __future__ import annotations

import time
from typing import Any

import typer

from openses.cli.context import opened, require_account
from openses.cli.output import emit_json, fail, fields, table
from openses.core import reputation, suppression, topics as core_topics
from openses.core.events import iso
from openses.core.feedback_loop import reputation_policy
from openses.errors import SESError
from openses.store import feedback_repo as frepo

topics = typer.Typer(help="Topics that SNS event destinations name, and their HTTP/webhook subscriptions.",
                     no_args_is_help=True)
feedback = typer.Typer(help="Feedback settings of accounts: default configuration set, reputation.",
                       no_args_is_help=True)
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")


def _sub_json(s: dict[str, Any]) -> dict[str, Any]:
    return {"SubscriptionArn": f"{s['topic_arn']}:{s['id']}", "TopicArn": s["topic_arn"], "Protocol": s["protocol"],
            "Endpoint": s["endpoint"], "RawMessageDelivery": s["raw"], "Status": s["status"]}


@topics.command("create")
def topic_create(account: str, name: str, as_json: bool = JsonOpt,
                 signature_version: str = typer.Option(None, "--signature-version", help="SNS message signatures: "
                                                       "1 (SHA1withRSA, the default) or 2 (SHA256withRSA).")) -> None:
    """Create a topic for an account (its ARN goes in an SnsDestination's TopicArn)."""
    attributes = {"SignatureVersion": signature_version} if signature_version else None
    with opened() as (settings, store, accounts):
        a = require_account(accounts, account)
        try:
            arn = store.write_sync(lambda c: core_topics.create_topic(c, settings.region, a.id, name, attributes))
        except SESError as e:
            fail(e.message)
        emit_json({"TopicArn": arn}) if as_json else typer.echo(arn)


@topics.command("list")
def topic_list(account: str = typer.Argument(None), as_json: bool = JsonOpt) -> None:
    """List topics (of one account, or all)."""
    with opened() as (_, store, accounts):
        account_id = require_account(accounts, account).id if account else None
        rows = store.read_sync(lambda c: frepo.list_topics(c, account_id))
        if as_json:
            emit_json([{"TopicArn": r["arn"], "AccountId": r["account_id"]} for r in rows])
        else:
            table("topics", ["topic arn", "account"], [(r["arn"], r["account_id"]) for r in rows])


@topics.command("delete")
def topic_delete(arn: str) -> None:
    """Delete a topic and its subscriptions."""
    with opened() as (_, store, _accounts):
        if not store.write_sync(lambda c: core_topics.delete_topic(c, arn)):
            fail(f"no topic {arn}")
        typer.echo(f"deleted {arn}")


@topics.command("subscribe")
def topic_subscribe(arn: str, endpoint: str,
                    protocol: str = typer.Option(None, "--protocol", help="http, https or webhook (default: "
                                                 "the URL's scheme)."),
                    raw: bool = typer.Option(False, "--raw", help="RawMessageDelivery: the bare event JSON."),
                    as_json: bool = JsonOpt) -> None:
    """Subscribe a URL; http/https subscribers are sent a SubscriptionConfirmation to confirm.
    The printed secret keys the X-Openses-Signature header."""
    with opened() as (settings, store, _accounts):
        chosen = protocol or endpoint.partition(":")[0]
        try:
            sub = store.write_sync(lambda c: core_topics.subscribe(
                c, arn, chosen, endpoint, raw=raw, public_url=settings.effective_public_url,
                allow_private=settings.webhook_allow_private))
        except (SESError, core_topics.UnsafeTarget) as e:
            fail(getattr(e, "message", None) or str(e))
        data = {"SubscriptionArn": sub.arn, "Status": sub.status, "Secret": sub.secret}
        emit_json(data) if as_json else fields("subscription (the secret is shown once)", data)


@topics.command("subscriptions")
def topic_subscriptions(arn: str = typer.Argument(None), as_json: bool = JsonOpt) -> None:
    """List subscriptions (of one topic, or all)."""
    with opened() as (_, store, _accounts):
        rows = [_sub_json(s) for s in store.read_sync(lambda c: frepo.list_subscriptions(c, [arn] if arn else None))]
        if as_json:
            emit_json(rows)
        else:
            table("subscriptions", ["subscription arn", "protocol", "endpoint", "status"],
                  [(r["SubscriptionArn"], r["Protocol"], r["Endpoint"], r["Status"]) for r in rows])


@topics.command("unsubscribe")
def topic_unsubscribe(subscription_arn: str) -> None:
    """Delete a subscription."""
    with opened() as (_, store, _accounts):
        try:
            store.write_sync(lambda c: core_topics.unsubscribe(c, core_topics.owned_subscription(
                c, subscription_arn, None)))
        except SESError:
            fail(f"no subscription {subscription_arn}")
        typer.echo(f"deleted {subscription_arn}")


@topics.command("deliveries")
def topic_deliveries(subscription_arn: str = typer.Argument(None), limit: int = typer.Option(50, "--limit"),
                     as_json: bool = JsonOpt) -> None:
    """The outbox: notifications and their attempts, newest first."""
    with opened() as (_, store, _accounts):
        ids = [subscription_arn.rpartition(":")[2]] if subscription_arn else None

        def read(c: Any) -> list[dict[str, Any]]:
            rows = frepo.list_outbox(c, ids, limit)
            return [{**r, "log": frepo.list_attempts(c, r["id"])} for r in rows]

        rows = store.read_sync(read)
        if as_json:
            emit_json([{"Id": r["id"], "SubscriptionId": r["subscription_id"], "Kind": r["kind"],
                        "EventId": r["event_id"], "Status": r["status"], "Attempts": [
                            {"At": iso(a["at"]), "StatusCode": a["status_code"], "Error": a["error"]}
                            for a in r["log"]]} for r in rows])
            return
        table("outbox", ["id", "kind", "status", "attempts", "last error"],
              [(r["id"], r["kind"], r["status"], r["attempts"], r["log"][-1]["error"] if r["log"] else "")
               for r in rows])


@feedback.command("default-configuration-set")
def default_configuration_set(account: str, name: str = typer.Argument(None, help="Omit to clear it.")) -> None:
    """Set the configuration set an account's sends use when they name none (and their identity has
    no default of its own)."""
    with opened() as (_, store, accounts):
        a = require_account(accounts, account)
        if name and store.read_sync(lambda c: frepo.get_configuration_set(c, a.id, name)) is None:
            fail(f"account {a.name} has no configuration set {name!r}")
        store.write_sync(lambda c: suppression.merge_settings(c, a.id, "", {"DefaultConfigurationSetName": name},
                                                              time.time()))
        typer.echo(f"default configuration set of {a.name}: {name or '(none)'}")


@feedback.command("reputation")
def show_reputation(account: str, as_json: bool = JsonOpt) -> None:
    """An account's enforcement status and its rolling bounce and complaint rates."""
    with opened() as (settings, store, accounts):
        a = require_account(accounts, account)
        data = store.read_sync(lambda c: reputation.state(c, a.id, time.time(), reputation_policy(settings)))
        data["enforcement_status"] = a.enforcement_status
        emit_json(data) if as_json else fields(f"reputation of {a.name}", data)
