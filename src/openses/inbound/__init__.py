"""The inbound feedback door: an MX listener for the bounce domain and the parsers of what
arrives there.

Modules: `server` (the SMTP listener, on smtp/'s machinery: no AUTH, only the bounce domain,
nothing else relayed), `reports` (the values the parsers return), `fields` (RFC 3464 / RFC 5965
field blocks and the MIME parts they sit in), `dsn` (RFC 3464 delivery status notifications),
`legacy` (the plain-text bounces of Postfix, Exim, Sendmail, qmail and Exchange), `arf` (RFC 5965
feedback reports) and `parse` (which parser a message goes to). Parsers are sans-I/O and never
raise on any input. Turning a report into SES events is core's job (core/inbound_feedback.py).
Receipt rules (SES receiving) are not here yet.
"""
