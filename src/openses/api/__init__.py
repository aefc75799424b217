"""Operation handlers, one module per SES domain, and the ASGI app that serves them.

A handler is `async def name(ctx, params) -> dict`, registered under its SES operation name;
the protocol codecs turn wire requests into `params` and the dict back into the wire format.
"""
