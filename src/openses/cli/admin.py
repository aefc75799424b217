"""`openses admin …`: the operator's commands, straight on the database."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import typer

from openses.cli.context import opened, require_account
from openses.cli.output import emit_json, fail, fields, table
from openses.core.accounts import Account, NewKey
from openses.core.identities import IdentityService, normalize
from openses.core.policy import PolicyError, parse_policy
from openses.errors import SESError

admin = typer.Typer(help="Operator administration (talks to the database directly).", no_args_is_help=True)
account_cli = typer.Typer(help="Accounts: sandbox or production, quotas, pause.", no_args_is_help=True)
key_cli = typer.Typer(help="Access keys (SigV4 and SMTP credentials).", no_args_is_help=True)
identity_cli = typer.Typer(help="Identities an account may send from.", no_args_is_help=True)
admin.add_typer(account_cli, name="account")
admin.add_typer(key_cli, name="key")
admin.add_typer(identity_cli, name="identity")

JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")


def _account_dict(a: Account) -> dict[str, Any]:
    return dataclasses.asdict(a)


def _show(a: Account, as_json: bool) -> None:
    if as_json:
        emit_json(_account_dict(a))
    else:
        fields(f"account {a.name}", {
            "id": a.id, "name": a.name, "mode": "production" if a.production else "sandbox",
            "sending": "paused by operator" if a.paused_by_operator else
                       ("enabled" if a.sending_enabled else "disabled by the account"),
            "enforcement": a.enforcement_status, "max 24 h send": a.max_24h_send,
            "max send rate": a.max_send_rate,
            "production request": json.dumps(a.details) if a.details else ""})


@account_cli.command("create")
def account_create(name: str, production: bool = typer.Option(False, "--production", help="Out of the sandbox."),
                   verify: list[str] = typer.Option(None, "--verify", help="Also verify this identity (repeatable)."),
                   with_key: bool = typer.Option(False, "--with-key", help="Also create an access key."),
                   key_policy: Path = typer.Option(None, "--key-policy", exists=True, dir_okay=False,
                                                   help="Policy file for that key (implies --with-key)."),
                   as_json: bool = JsonOpt) -> None:
    """Create an account (sandbox unless --production), optionally with identities and a key."""
    with opened() as (settings, store, accounts):
        if accounts.find(name) is not None:
            fail(f"an account named {name!r} exists already")
        document = key_policy.read_text() if key_policy else None
        if document is not None:
            try:
                parse_policy(document)
            except PolicyError as e:
                fail(f"policy {key_policy}: {e}")
        identities = IdentityService(store)
        try:
            checked = [normalize(i)[0] for i in verify or []]
        except SESError as e:
            fail(e.message)
        account = accounts.create_account(name, production=production)
        for identity in checked:
            identities.set_status_sync(account.id, identity, "SUCCESS")
        if not (with_key or key_policy):
            _show(account, as_json)
            return
        key = accounts.create_key(account.id, policy=document)
        data = {**_account_dict(account), "Identities": checked,
                "Key": _key_dict(key, settings.region)}
        if as_json:
            emit_json(data)
        else:
            _show(account, False)
            fields("new access key (the secret is shown once)", data["Key"])


def _key_dict(key: NewKey, region: str) -> dict[str, str]:
    return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
            "SmtpPassword": key.smtp_password, "AccountId": key.account_id, "Region": region}


@account_cli.command("list")
def account_list(as_json: bool = JsonOpt) -> None:
    """List accounts."""
    with opened() as (_, _, accounts):
        items = accounts.list()
        if as_json:
            emit_json([_account_dict(a) for a in items])
            return
        table("accounts", ["id", "name", "mode", "sending", "max 24 h", "max rate"],
              [(a.id, a.name, "production" if a.production else "sandbox",
                "paused" if a.paused_by_operator else ("on" if a.sending_enabled else "off"),
                a.max_24h_send, a.max_send_rate) for a in items])


@account_cli.command("show")
def account_show(account: str, as_json: bool = JsonOpt) -> None:
    """Show one account."""
    with opened() as (_, _, accounts):
        _show(require_account(accounts, account), as_json)


def _set(account: str, as_json: bool, **values: Any) -> None:
    with opened() as (_, _, accounts):
        a = require_account(accounts, account)
        _show(accounts.update(a.id, **values), as_json)


@account_cli.command("set-production")
def account_set_production(account: str, revoke: bool = typer.Option(False, "--revoke", help="Back to the sandbox."),
                           as_json: bool = JsonOpt) -> None:
    """Grant production access (approves a PutAccountDetails request), or --revoke it."""
    with opened() as (_, _, accounts):
        a = require_account(accounts, account)
        _show(accounts.set_production(a.id, not revoke), as_json)


@account_cli.command("pause")
def account_pause(account: str, as_json: bool = JsonOpt) -> None:
    """Pause sending for an account (its sends are rejected until resumed)."""
    _set(account, as_json, paused_by_operator=True)


@account_cli.command("resume")
def account_resume(account: str, as_json: bool = JsonOpt) -> None:
    """Resume sending for a paused account."""
    _set(account, as_json, paused_by_operator=False, enforcement_status="HEALTHY")


@account_cli.command("set-quota")
def account_set_quota(account: str,
                      max_24h_send: float = typer.Option(..., help="Recipients per rolling 24 h; -1 unlimited."),
                      max_send_rate: float = typer.Option(..., help="Recipients per second; -1 unlimited."),
                      as_json: bool = JsonOpt) -> None:
    """Set an account's sending quota."""
    _set(account, as_json, max_24h_send=max_24h_send, max_send_rate=max_send_rate)


@key_cli.command("create")
def key_create(account: str,
               policy: Path = typer.Option(None, "--policy", help="IAM-style policy JSON file; default ses:*.",
                                           exists=True, dir_okay=False),
               user: str = typer.Option("openses", "--user", help="IAM-style user name in the key's ARN."),
               as_json: bool = JsonOpt) -> None:
    """Create an access key; prints the secret and the SES SMTP password once."""
    with opened() as (settings, _, accounts):
        a = require_account(accounts, account)
        document = policy.read_text() if policy else None
        try:
            key = accounts.create_key(a.id, user_name=user, policy=document)
        except PolicyError as e:
            fail(f"policy {policy}: {e}")
        data = _key_dict(key, settings.region)
        if as_json:
            emit_json(data)
        else:
            fields("new access key (the secret is shown once)", data)


@key_cli.command("list")
def key_list(account: str = typer.Argument(None), as_json: bool = JsonOpt) -> None:
    """List access keys (never their secrets)."""
    with opened() as (_, _, accounts):
        account_id = require_account(accounts, account).id if account else None
        keys = accounts.list_keys(account_id)
        if as_json:
            emit_json([{"AccessKeyId": k["id"], "AccountId": k["account_id"], "User": k["user_name"],
                        "Policy": k["policy"]} for k in keys])
            return
        table("access keys", ["access key id", "account", "user", "policy"],
              [(k["id"], k["account_id"], k["user_name"], "ses:*" if k["policy"] is None else "custom")
               for k in keys])


@key_cli.command("delete")
def key_delete(key_id: str) -> None:
    """Delete an access key."""
    with opened() as (_, _, accounts):
        if not accounts.delete_key(key_id):
            fail(f"no access key {key_id!r}")
        typer.echo(f"deleted {key_id}")


@identity_cli.command("verify")
def identity_verify(account: str, identity: str, as_json: bool = JsonOpt) -> None:
    """Mark an address or domain verified for an account (operator override)."""
    with opened() as (_, store, accounts):
        a = require_account(accounts, account)
        try:
            ident = IdentityService(store).set_status_sync(a.id, identity, "SUCCESS")
        except SESError as e:
            fail(e.message)
        if as_json:
            emit_json(dataclasses.asdict(ident))
        else:
            typer.echo(f"{ident.identity} ({ident.kind}) is verified for account {a.name} ({a.id})")


@identity_cli.command("list")
def identity_list(account: str, as_json: bool = JsonOpt) -> None:
    """List an account's identities and their statuses."""
    import asyncio

    with opened() as (_, store, accounts):
        a = require_account(accounts, account)
        items = asyncio.run(IdentityService(store).list(a.id))
        if as_json:
            emit_json([dataclasses.asdict(i) for i in items])
            return
        table(f"identities of {a.name}", ["identity", "type", "status"],
              [(i.identity, i.kind, i.status) for i in items])


@identity_cli.command("rotate-dkim")
def identity_rotate_dkim(account: str, domain: str,
                         length: str = typer.Option(None, "--length", help="RSA_1024_BIT or RSA_2048_BIT; "
                                                    "default: the identity's NextSigningKeyLength."),
                         as_json: bool = JsonOpt) -> None:
    """Rotate a domain's Easy DKIM key: cname mode switches by itself once the zone serves the
    new key; txt mode prints the record to publish, and switches when the verifier sees it."""
    import asyncio

    from openses.core.dkim_keys import start_rotation

    with opened() as (settings, store, accounts):
        a = require_account(accounts, account)
        try:
            dkim = asyncio.run(start_rotation(store, accounts.box, a.id, normalize(domain)[0], length,
                                              mode=settings.dkim_mode, grace=settings.dkim_key_grace_seconds,
                                              switch_now=settings.dev_mode))
        except SESError as e:
            fail(e.message)
        pending = dkim.get("next")
        token = dkim["tokens"][pending["slot"] if pending else dkim["signing"]]
        if as_json:
            emit_json({"Domain": domain, "Tokens": dkim["tokens"], "NextToken": token,
                       "NextSigningKeyLength": dkim["next_length"], "Switched": pending is None})
            return
        typer.echo(f"new {dkim['next_length']} key for {domain} under token {token}")
        if pending and settings.dkim_mode == "txt":
            typer.echo(f"publish it (see `openses dns records {account} {domain}`): signing switches "
                       f"once the verifier sees {token}._domainkey.{domain}")
        elif pending:
            typer.echo(f"published in {settings.dkim_zone}; signing switches at the verifier's next pass")
