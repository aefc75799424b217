"""A real Postfix (Debian's package) receiving mail on loopback, delivering to Maildirs.

    mta = PostfixServer(domains=["example.org"]).start()
    mta.port                       # its SMTP port on 127.0.0.1
    mta.messages("alice@example.org")   # raw messages delivered to that mailbox
    mta.set_access({"greylisted@example.org": "450 4.7.1 Try again later"})  # then reloads
    mta.stop()

Its own configuration directory (postfix -c DIR), queue and Maildirs under one directory; every
recipient at the served domains exists except local parts starting with "unknown" (RFC 5321 550
5.1.1 at RCPT). STARTTLS with a self-signed certificate when `tls=True`. Runs as root, as Postfix's
master must; CI installs the `postfix` package (debconf: "No configuration").
"""

from __future__ import annotations

import datetime as dt
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ports import free_port, wait_for_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
# name type private unpriv chroot wakeup maxproc command: only what a receiving Postfix needs.
_MASTER = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
failer    unix  -       n       n       -       -       pipe flags=q user=nobody argv={fail_script}
"""
# The `failer` transport: a delivery that fails after the message was accepted (pipe(8) maps
# exit status 67, EX_NOUSER, to 5.1.1), so Postfix sends a DSN to the envelope sender.
_FAIL_SCRIPT = "#!/bin/sh\necho 'mailbox unavailable'\nexit 67\n"


def available() -> bool:
    return Path(POSTFIX).exists()


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class PostfixServer:
    def __init__(self, *, domains: list[str], tls: bool = True, port: int | None = None,
                 transports: dict[str, str] | None = None) -> None:
        """transports: regexp → transport(5) entries, e.g. {"^doomed": "failer:",
        "@bounces[.]example[.]com$": "smtp:[127.0.0.1]:2525"} (DSNs to openses's inbound MX)."""
        # Postfix's daemons run as the postfix user and must reach every directory on the path,
        # which pytest's tmp_path (under a 0700 directory) does not allow: a world-traversable one.
        self.root = Path(tempfile.mkdtemp(prefix="openses-postfix-"))
        self.root.chmod(0o755)
        self.domains = domains
        self.transports = dict(transports or {})
        self.tls = tls
        self.port = port or free_port()
        self.etc = self.root / "etc"
        self.mail = self.root / "mail"
        self._started = False

    def start(self) -> PostfixServer:
        for d in (self.etc, self.mail, self.root / "spool", self.root / "data"):
            d.mkdir(parents=True, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        shutil.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        shutil.chown(self.root / "data", "postfix")
        fail_script = self.etc / "fail-delivery"
        fail_script.write_text(_FAIL_SCRIPT)
        fail_script.chmod(0o755)
        (self.etc / "transport").write_text("".join(f"/{k}/ {v}\n" for k, v in self.transports.items()))
        (self.etc / "master.cf").write_text(_MASTER.format(listen=f"127.0.0.1:{self.port}",
                                                           fail_script=fail_script))
        (self.etc / "main.cf").write_text(self._main_cf(nobody.pw_uid, nobody.pw_gid))
        # regexp table (Postfix regexp_table(5)): every address but unknown* exists; all share one
        # Maildir (Postfix allows no $1 substitution here) and virtual(8) adds Delivered-To.
        (self.etc / "mailboxes").write_text("if !/^unknown/\n/@/ all/\nendif\n")
        self.set_access({}, reload=False)
        self._run("check")
        self._run("start")
        self._started = True
        wait_for_port(self.port)
        return self

    def _main_cf(self, uid: int, gid: int) -> str:
        lines = {
            "compatibility_level": "3.6",
            "queue_directory": self.root / "spool",
            "data_directory": self.root / "data",
            "mail_owner": "postfix",
            "myhostname": "mx.postfix.test",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": self.root / "maillog",
            "maillog_file_prefixes": self.root,
            "smtpd_peername_lookup": "no",
            "smtpd_banner": "$myhostname ESMTP Postfix (openses tests)",
            "virtual_mailbox_domains": " ".join(self.domains),
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": f"regexp:{self.etc / 'mailboxes'}",
            "virtual_uid_maps": f"static:{uid}",
            "virtual_gid_maps": f"static:{gid}",
            "virtual_minimum_uid": "1",
            "smtpd_recipient_restrictions": f"check_recipient_access regexp:{self.etc / 'access'}, "
                                            "permit_mynetworks, reject_unauth_destination",
            "message_size_limit": "52428800",
            "virtual_mailbox_limit": "0",
            "alias_maps": "",
            "alias_database": "",
            "smtputf8_enable": "no",
            "transport_maps": f"regexp:{self.etc / 'transport'}",
        }
        if self.tls:
            cert, key = self_signed(self.etc, "mx.postfix.test")
            lines.update({"smtpd_tls_security_level": "may", "smtpd_tls_cert_file": cert,
                          "smtpd_tls_key_file": key})
        else:
            lines["smtpd_tls_security_level"] = "none"
        return "".join(f"{k} = {v}\n" for k, v in lines.items())

    def set_access(self, replies: dict[str, str], *, reload: bool = True) -> None:
        """Recipient address → the reply Postfix gives at RCPT (e.g. "450 4.7.1 later")."""
        text = "".join(f"/^{addr.replace('.', '[.]')}$/ {reply}\n" for addr, reply in replies.items())
        (self.etc / "access").write_text(text or "/^$/ DUNNO\n")
        if reload:
            self._run("reload")

    def _run(self, command: str) -> None:
        result = subprocess.run([POSTFIX, "-c", str(self.etc), command], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {result.stdout}{result.stderr}\n{self.log()}")

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_messages(self) -> list[bytes]:
        new = self.mail / "all" / "new"
        return [p.read_bytes() for p in sorted(new.iterdir())] if new.exists() else []

    def messages(self, address: str) -> list[bytes]:
        """Messages delivered to `address` (by the Delivered-To header virtual(8) puts on top)."""
        tag = f"\ndelivered-to: {address.lower()}\n".encode()
        return [m for m in self.all_messages() if tag in b"\n" + m.lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"{address}: {len(self.messages(address))} of {count} messages after {timeout}s\n"
                           + self.log()[-3000:])

    def stop(self) -> None:
        if self._started:
            subprocess.run([POSTFIX, "-c", str(self.etc), "stop"], capture_output=True, timeout=60)
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)
