"""Named SES accounts (profiles) in one JSON file, and `openses accounts` listing them.

The file is the SES helper's `ses-config.json`, accepted as is:

    {"accounts": {"production": {"aws_access_key_id": "…", "aws_secret_access_key": "…",
                                 "region": "us-east-1", "description": "…",
                                 "verified_domains": ["…"], "verified_emails": ["…"]}}}

and extended with `endpoint_url` (absent: Amazon SES), `aws_profile` (credentials from a named
profile of the AWS shared files), `aws_session_token`, `dkim_zone` and `dns_nameservers`. A profile
with neither keys nor `aws_profile` takes boto3's usual chain (environment variables, instance role).
Where the file is: `--config`, else $OPENSES_SES_CONFIG, else ./configs/ses-config.json, else
~/.config/openses/ses-config.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from openses.cli.ops.errors import OpsError
from openses.cli.ops.options import CONFIG, JSON, guarded
from openses.cli.output import emit_json, table

SEARCH_PATH = (Path("configs/ses-config.json"), Path("~/.config/openses/ses-config.json"))
# The seed's template ships placeholders like YOUR_PRODUCTION_AWS_ACCESS_KEY_ID_HERE.
PLACEHOLDER_PREFIX = "YOUR_"


@dataclass(frozen=True)
class Profile:
    name: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    aws_profile: str | None = None
    description: str = ""
    verified_domains: tuple[str, ...] = ()
    verified_emails: tuple[str, ...] = ()
    dkim_zone: str = "dkim.amazonses.com"
    dns_nameservers: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """Where this profile's requests go, for messages."""
        return self.endpoint_url or f"Amazon SES ({self.region})"

    @property
    def credentials_source(self) -> str:
        if self.access_key_id:
            return f"keys in the config file ({self.access_key_id[:4]}…)"
        if self.aws_profile:
            return f"AWS profile {self.aws_profile}"
        return "environment / default AWS chain"


def config_path(given: Path | None) -> Path:
    if given is not None:
        return given
    env = os.environ.get("OPENSES_SES_CONFIG")
    if env:
        return Path(env)
    for candidate in SEARCH_PATH:
        if candidate.expanduser().exists():
            return candidate.expanduser()
    raise OpsError("no profile file: pass --config PATH, set OPENSES_SES_CONFIG, or create "
                   "configs/ses-config.json (see docs/cli.md)")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise OpsError(f"profile file {path} does not exist") from None
    except (OSError, ValueError) as e:
        raise OpsError(f"cannot read profile file {path}: {e}") from None
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        raise OpsError(f"profile file {path} has no \"accounts\" object")
    return accounts


def _secret(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if not value:
        return None
    if str(value).startswith(PLACEHOLDER_PREFIX):
        raise OpsError(f"{key} still holds the template placeholder {value!r}; put real credentials in")
    return str(value)


def _nameservers(raw: dict[str, Any]) -> tuple[str, ...]:
    value = raw.get("dns_nameservers") or os.environ.get("OPENSES_DNS_NAMESERVERS", "")
    items = value.split(",") if isinstance(value, str) else value
    return tuple(s.strip() for s in items if s.strip())


def _profile(name: str, raw: dict[str, Any]) -> Profile:
    known = {"region", "endpoint_url", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
             "aws_profile", "description", "verified_domains", "verified_emails", "dkim_zone", "dns_nameservers"}
    try:
        return Profile(
            name=name, region=raw.get("region") or "us-east-1", endpoint_url=raw.get("endpoint_url") or None,
            access_key_id=_secret(raw, "aws_access_key_id"),
            secret_access_key=_secret(raw, "aws_secret_access_key"),
            session_token=_secret(raw, "aws_session_token"), aws_profile=raw.get("aws_profile") or None,
            description=raw.get("description", ""),
            verified_domains=tuple(raw.get("verified_domains") or ()),
            verified_emails=tuple(raw.get("verified_emails") or ()),
            dkim_zone=raw.get("dkim_zone") or "dkim.amazonses.com", dns_nameservers=_nameservers(raw),
            extra={k: v for k, v in raw.items() if k not in known})
    except OpsError as e:
        raise OpsError(f"profile {name}: {e}") from None


def all_profiles(config: Path | None) -> dict[str, dict[str, Any]]:
    return _read(config_path(config))


def load(name: str | None, config: Path | None) -> Profile:
    """The named profile; without a name $OPENSES_PROFILE, then `default`, then the only one."""
    path = config_path(config)
    accounts = _read(path)
    chosen = name or os.environ.get("OPENSES_PROFILE") or ("default" if "default" in accounts else None)
    if chosen is None and len(accounts) == 1:
        chosen = next(iter(accounts))
    if chosen is None:
        raise OpsError(f"name an account: {', '.join(sorted(accounts)) or '(none)'} (in {path})")
    if chosen not in accounts:
        raise OpsError(f"no profile named {chosen!r} in {path}; profiles: {', '.join(sorted(accounts)) or '(none)'}")
    raw = accounts[chosen]
    if not isinstance(raw, dict):
        raise OpsError(f"profile {chosen!r} in {path} is not an object")
    return _profile(chosen, raw)


def _row(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """What `accounts` shows of a profile: never a secret."""
    key = raw.get("aws_access_key_id") or ""
    return {"name": name, "description": raw.get("description", ""), "region": raw.get("region") or "us-east-1",
            "endpoint_url": raw.get("endpoint_url") or None,
            "credentials": (f"access key {key[:4]}…" if key else
                            f"AWS profile {raw['aws_profile']}" if raw.get("aws_profile") else "environment"),
            "verified_domains": list(raw.get("verified_domains") or []),
            "verified_emails": list(raw.get("verified_emails") or [])}


def accounts(config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """List the profiles of the config file (secrets are never printed)."""
    with guarded():
        rows = [_row(name, raw if isinstance(raw, dict) else {}) for name, raw in all_profiles(config).items()]
    if as_json:
        emit_json(rows)
        return
    table("SES accounts", ["name", "description", "target", "region", "credentials"],
          [(r["name"], r["description"], r["endpoint_url"] or "Amazon SES", r["region"], r["credentials"])
           for r in rows])


COMMANDS = {"accounts": accounts}
