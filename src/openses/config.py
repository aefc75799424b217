"""Settings: one typed schema, read once at start-up and passed down.

Every field can be set by an environment variable `OPENSES_<FIELD>` or in an optional TOML file
named by `OPENSES_CONFIG` (environment wins). `docs/configuration.md` is generated from this
schema by `openses config-doc`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DeliveryMode = Literal["capture", "mx", "relay"]
DkimMode = Literal["txt", "cname"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENSES_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        Path("openses-data"),
        description="Directory for the SQLite database, the master key, TLS material and spool.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database (postgresql+psycopg://…); default: SQLite in data_dir.",
    )
    master_key: str | None = Field(
        None,
        description="Base64 32-byte key that encrypts secrets at rest; default: generated once into "
        "data_dir/master.key (mode 0600).",
    )
    http_host: str = Field("127.0.0.1", description="Address the SES HTTP API listens on.")
    http_port: int = Field(8005, description="Port of the SES HTTP API (v1 Query, v2 rest-json, STS).")
    smtp_host: str = Field("127.0.0.1", description="Address the SMTP submission listeners bind.")
    smtp_port: int = Field(2587, description="SMTP submission port with STARTTLS (SES: 587/2587).")
    smtps_port: int = Field(2465, description="SMTP submission port with implicit TLS (SES: 465/2465).")
    smtp_hostname: str = Field("localhost", description="Name the SMTP server greets with and puts in its certificate.")
    tls_cert_file: Path | None = Field(None, description="PEM certificate for SMTP TLS; default: a self-signed one in data_dir/tls.")
    tls_key_file: Path | None = Field(None, description="PEM private key for tls_cert_file.")
    region: str = Field("us-east-1", description="The region this server answers for (SigV4 scope).")
    delivery_mode: DeliveryMode = Field(
        "capture", description="capture: store only; mx: deliver to MX hosts; relay: via a smarthost."
    )
    dev_mode: bool = Field(
        False,
        description="Development mode: any access key is accepted and maps to the development "
        "account (production access); /_openses/ test endpoints are enabled. Never in production.",
    )
    dev_account_id: str = Field("000000000000", description="Account id used in development mode.")
    message_id_domain: str = Field(
        "email.openses.local", description="Domain part of the Message-ID header put on every message."
    )
    cache_ttl: float = Field(
        1.0,
        description="Seconds an API node may serve accounts, keys and identities from memory before "
        "re-reading them (changes made through this node are seen at once).",
    )
    quota_sync_interval: float = Field(
        1.0, ge=0,
        description="Seconds between reads of the database's send counts for the last minutes, so "
        "that what other nodes sharing the database send counts against this node's 24-hour quotas "
        "(0: never; the per-second rate is always per node).",
    )
    worker_poll_interval: float = Field(
        1.0, description="Seconds between queue polls when no local send woke the worker."
    )
    lease_seconds: int = Field(300, description="How long a worker owns a leased queue entry.")
    processes: int = Field(
        1, ge=1, le=64,
        description="Processes serving the api, smtp and worker roles on this host: each has its own "
        "interpreter (the GIL caps one at about one core), they share the listening ports "
        "(SO_REUSEPORT), the database and the sending limits; the first also runs the other roles. "
        "Two on a 2-core machine.",
    )
    pin_processes: bool = Field(
        True,
        description="With processes > 1, and no more processes than the CPUs this server may use, run "
        "each process on a CPU of its own: its event loop and its writer thread then share one core's "
        "caches (2 cores, 2 processes, alternated runs: +6 to +21 % requests a second for the api role, "
        "+13 to +20 % with every role). Turn it off when other busy programs share these CPUs.",
    )
    group_commit_max: int = Field(512, description="Most writes committed together in one transaction.")
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    dns_nameservers: Annotated[list[str], NoDecode] = Field(
        [],
        description="DNS servers (host or host:port, comma-separated) for identity checks and MX "
        "look-ups; default: the system resolver.",
    )
    dkim_mode: DkimMode = Field(
        "txt", description="How domains publish Easy DKIM keys: txt (the user publishes the public "
        "keys as TXT records) or cname (CNAMEs into dkim_zone, like SES).",
    )
    dkim_zone: str = Field(
        "dkim.openses.local", description="In cname mode, the zone the users' DKIM CNAMEs point into.",
    )
    dns_host: str = Field("127.0.0.1", description="cname mode: address the DKIM zone's authoritative DNS "
                          "responder (role dns) listens on, UDP and TCP.")
    dns_port: int = Field(53, description="cname mode: port of the DKIM zone's DNS responder (53 for the "
                          "world; a high port behind a forwarder, or in tests).")
    dkim_zone_server: str | None = Field(
        None, description="cname mode: host:port to ask directly for names in dkim_zone (the "
        "responder); default: the normal resolvers, which follow the NS delegation of the zone.")
    dkim_zone_nameserver: str | None = Field(
        None, description="cname mode: host name the zone's NS and SOA records give for the "
        "responder; default: mail_host.")
    dkim_key_grace_seconds: float = Field(
        86400.0, description="cname mode: how long a rotated-out Easy DKIM key is still served, so "
        "that mail signed with it shortly before the rotation still verifies.")
    public_url: str | None = Field(
        None, description="Base URL of this server's web pages (verification links); default "
        "http://{http_host}:{http_port}.",
    )
    mail_host: str | None = Field(
        None, description="Public host name of this server's mail hosts, which custom MAIL FROM "
        "domains name in their MX and SPF records; default: this machine's FQDN.",
    )
    dns_check_interval: float = Field(
        300.0, description="Seconds between two passes of the scheduler's DNS verifier.",
    )

    # --- delivery (issue 4): modes mx and relay ---
    mx_port: int = Field(25, description="SMTP port of recipients' mail hosts in mx mode (tests use a high port).")
    tls_policy: Literal["optional", "require"] = Field(
        "optional", description="mx mode: optional: STARTTLS when offered, else in clear; require: "
        "never deliver in clear (SES's TlsPolicy; a configuration set will override it).")
    relay_host: str | None = Field(None, description="relay mode: the smarthost every message goes through.")
    relay_port: int = Field(587, description="relay mode: the smarthost's port (587, 2587, 465…).")
    relay_username: str | None = Field(None, description="relay mode: AUTH user name (none: no AUTH).")
    relay_password: str | None = Field(None, description="relay mode: AUTH password.")
    relay_tls: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="relay mode: none, starttls (required) or tls (implicit, port 465).")
    relay_tls_verify: bool = Field(True, description="relay mode: check the smarthost's certificate.")
    bounce_domain: str | None = Field(
        None, description="Domain of the per-message envelope sender <MessageId>@domain that bounces "
        "come back to; default: message_id_domain.")
    max_delivery_seconds: int = Field(
        50400, description="How long a message is retried before it bounces (SES: 14 hours).")
    retry_first_seconds: float = Field(
        60.0, description="Wait before the first retry; doubles each time, with ±20% jitter, up to an hour.")
    delivery_concurrency: int = Field(512, description="Most deliveries a worker has under way at once.")
    delivery_per_domain: int = Field(20, description="Most deliveries under way to one recipient domain.")
    delivery_timeout: float = Field(60.0, description="Seconds to wait for a remote SMTP server's reply.")
    delivery_grace_seconds: float = Field(
        10.0, description="On shutdown, how long deliveries under way may take to finish.")

    # --- feedback loop (issue 6): events, webhooks, reputation ---
    event_poll_interval: float = Field(
        1.0, description="Seconds between passes of the events processor and the webhook outbox when idle.")
    webhook_allow_private: bool = Field(
        False, description="Allow topic subscriptions (webhooks) to private, loopback and link-local "
        "addresses. Off by default: a tenant must not make this server call internal services.")
    webhook_timeout: float = Field(10.0, description="Seconds to wait for a webhook receiver's answer.")
    webhook_retry_first_seconds: float = Field(
        5.0, description="Wait before retrying a failed webhook POST; doubles each time (±20% jitter).")
    webhook_retry_max_seconds: float = Field(900.0, description="Longest wait between two webhook retries.")
    webhook_max_age_seconds: float = Field(
        259200.0, description="How long a webhook notification is retried before it is given up (3 days).")
    reputation_min_volume: int = Field(
        1000, description="Recipients an account must have sent in the window before its bounce and "
        "complaint rates are judged.")
    reputation_window_days: float = Field(7.0, description="Days of sending the reputation rates cover.")

    # --- inbound feedback (issue 6): the bounce domain's MX (role inbound) ---
    inbound_host: str = Field("127.0.0.1", description="Address the inbound MX listener (DSN bounces and ARF "
                              "complaints for bounce_domain) binds; 0.0.0.0 to take mail from the world.")
    inbound_port: int = Field(2525, description="Port of the inbound MX listener; the world sends to 25, so "
                              "forward 25 to it (or run it on 25 as root).")
    inbound_max_message_size: int = Field(
        10_485_760, description="Largest report the inbound MX takes (SIZE, RFC 1870); bigger ones get 552.")

    @field_validator("dns_nameservers", mode="before")
    @classmethod
    def _split_nameservers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openses.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read the TOML file (if OPENSES_CONFIG names one), then the environment, then overrides."""
    file_values: dict[str, Any] = {}
    path = os.environ.get("OPENSES_CONFIG")
    if path:
        with open(path, "rb") as f:
            file_values = tomllib.load(f)
    env_names = {k[len("OPENSES_"):].lower() for k in os.environ if k.startswith("OPENSES_")}
    base = {k: v for k, v in file_values.items() if k not in env_names}
    return Settings(**base, **overrides)


def settings_reference() -> str:
    """Markdown reference of every setting, generated from the schema."""
    lines = ["# Configuration", "", "Every setting is an environment variable, or a key in the TOML "
             "file named by `OPENSES_CONFIG` (the environment wins).", "",
             "| variable | TOML key | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default is not None else ""
        lines.append(f"| `OPENSES_{name.upper()}` | `{name}` | `{default}` | {field.description} |")
    return "\n".join(lines) + "\n"
