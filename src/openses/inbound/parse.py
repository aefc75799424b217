"""Which parser a message goes to: an ARF complaint, an RFC 3464 DSN, a known MTA's plain-text
bounce, in that order. `parse` never raises: a report it cannot read is None (the listener
still accepts it, logs and counts it, so the remote MTA does not retry it forever)."""

from __future__ import annotations

import logging

from openses.inbound.arf import parse_arf
from openses.inbound.dsn import parse_dsn
from openses.inbound.fields import parse_message
from openses.inbound.legacy import parse_legacy
from openses.inbound.reports import Report

log = logging.getLogger("openses.inbound")


def parse(data: bytes) -> Report | None:
    try:
        msg = parse_message(data)
        return parse_arf(msg) or parse_dsn(msg) or parse_legacy(msg)
    except Exception:  # malformed input of a kind the parsers did not foresee: never fatal
        log.warning("inbound report could not be parsed", exc_info=True)
        return None
