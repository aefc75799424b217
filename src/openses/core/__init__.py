"""Domain rules: accounts and keys, policies, identities, the sending pipeline, quotas, MIME.

No I/O framework imports here: the edges (api/, protocol/, cli/) translate, core decides.
"""
