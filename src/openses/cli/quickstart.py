"""The quickstart: one development account with a key and a verified example domain."""

from __future__ import annotations

from dataclasses import dataclass

from openses.cli.context import opened
from openses.config import Settings
from openses.core.identities import IdentityService
from openses.protocol.smtp_password import smtp_password
from openses.store import repositories as repo

ACCOUNT = "quickstart"
DOMAIN = "example.com"


@dataclass(frozen=True)
class Credentials:
    account_id: str
    access_key_id: str
    secret_access_key: str
    smtp_password: str


def quickstart_account(settings: Settings) -> Credentials:
    """Create (once) a production account, its key and a verified example.com; return the key."""
    with opened() as (_, store, accounts):
        account = accounts.find(ACCOUNT) or accounts.create_account(ACCOUNT, production=True)
        keys = store.read_sync(lambda c: repo.list_access_keys(c, account.id))
        if keys:
            principal = accounts.principal_from_row(keys[0])
            key_id, secret = principal.key_id, principal.secret
        else:
            new = accounts.create_key(account.id, user_name="quickstart")
            key_id, secret = new.access_key_id, new.secret_access_key
        IdentityService(store).set_status_sync(account.id, DOMAIN, "SUCCESS")
        return Credentials(account.id, key_id, secret, smtp_password(secret, settings.region))


def quickstart_banner(settings: Settings, c: Credentials) -> str:
    endpoint = f"http://{settings.http_host}:{settings.http_port}"
    return f"""
openses is starting (SQLite in {settings.data_dir}, delivery mode: {settings.delivery_mode})

  endpoint           {endpoint}
  region             {settings.region}
  account            {ACCOUNT} ({c.account_id}, production access, {DOMAIN} verified)
  access key id      {c.access_key_id}
  secret access key  {c.secret_access_key}
  SMTP user          {c.access_key_id}
  SMTP password      {c.smtp_password}
  SMTP (STARTTLS)    {settings.smtp_host}:{settings.smtp_port}    SMTP (TLS) {settings.smtp_host}:{settings.smtps_port}

boto3:
  import boto3
  ses = boto3.client("sesv2", endpoint_url="{endpoint}", region_name="{settings.region}",
                     aws_access_key_id="{c.access_key_id}",
                     aws_secret_access_key="{c.secret_access_key}")
  ses.send_email(FromEmailAddress="sender@{DOMAIN}",
                 Destination={{"ToAddresses": ["someone@example.org"]}},
                 Content={{"Simple": {{"Subject": {{"Data": "Hello"}}, "Body": {{"Text": {{"Data": "Hi!"}}}}}}}})

AWS CLI:
  AWS_ACCESS_KEY_ID={c.access_key_id} AWS_SECRET_ACCESS_KEY={c.secret_access_key} \\
  aws ses send-email --endpoint-url {endpoint} --region {settings.region} \\
    --from sender@{DOMAIN} --destination ToAddresses=someone@example.org \\
    --message 'Subject={{Data=Hello}},Body={{Text={{Data=Hi!}}}}'

Captured mail: openses messages list   (then: openses messages raw MESSAGE_ID)
"""
