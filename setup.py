"""The compiled build: `OPENSES_COMPILE=1 pip install .` turns the API's request path into C with
mypyc (the same Python source, its type annotations checked at run time); any other install is
pure Python. Not for an editable install (-e): the compiled modules would shadow the sources being
edited. README, "Performance", gives what it is worth; .ci/run tests both builds."""

from __future__ import annotations

import os

from setuptools import setup

# The modules every SES API send runs through, and nothing that tests replace parts of at run time
# (a compiled module calls its own functions directly, past any monkeypatch).
COMPILED = [
    "src/openses/api/app.py",
    "src/openses/api/sending.py",
    "src/openses/core/addresses.py",
    "src/openses/core/directory.py",
    "src/openses/core/events.py",
    "src/openses/core/ids.py",
    "src/openses/core/mime.py",
    "src/openses/core/policy.py",
    "src/openses/core/quota.py",
    "src/openses/core/screening.py",
    "src/openses/core/sending.py",
    "src/openses/core/simulator.py",
    "src/openses/core/suppression.py",
    "src/openses/protocol/http_server.py",
    "src/openses/protocol/models.py",
    "src/openses/protocol/restjson.py",
    "src/openses/protocol/sigv4.py",
]


def _ext_modules() -> list:  # type: ignore[type-arg]
    if os.environ.get("OPENSES_COMPILE") != "1" or os.environ.get("OPENSES_BUILD_REQUIRES"):
        return []  # pure Python, or only asked what the build needs (tools/build_backend.py)
    from mypyc.build import mypycify

    return mypycify(COMPILED, opt_level="3")


setup(ext_modules=_ext_modules())
