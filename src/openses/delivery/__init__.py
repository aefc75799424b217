"""Delivery: leasing queue entries (worker), DKIM signing (dkim, prepare), the modes capture, mx
(MX resolution, STARTTLS) and relay (smarthost), the SMTP client and its connection pool, reply
classification into SES bounce/delay types (bounce), retries (retry) and recording outcomes as
SES events (recorder). See docs/delivery.md."""
