"""The SMTP submission door (SES's email-smtp endpoint): listeners, STARTTLS and implicit TLS,
AUTH with SES SMTP credentials and its brute-force throttle, and the translation of SES errors into
SMTP replies. It decides nothing about mail itself: every message goes to an `SmtpBackend`, the same
sending pipeline the API uses.

Modules: `server` (listeners), `session` (the only module that imports aiosmtpd), `replies` (every
reply text and the SES error mapping), `auth_throttle` (sans-I/O), `tls` (certificates),
`backend` (the Protocol this package needs, and a fake for tests).
"""
