"""The PEP 517 build backend: setuptools' own, asking for mypy as well when OPENSES_COMPILE=1
selects the compiled build (setup.py says which modules it compiles)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (every hook not redefined below)

MYPY = "mypy==2.4.1"  # the compiler (mypyc) of the compiled build, pinned: its output is C it checked


def _requires(hook: Callable[[dict[str, Any] | None], list[str]],
              config_settings: dict[str, Any] | None) -> list[str]:
    # setuptools runs setup.py to answer, before mypy is installed: setup.py then leaves mypyc out.
    os.environ["OPENSES_BUILD_REQUIRES"] = "1"
    try:
        requires = hook(config_settings)
    finally:
        del os.environ["OPENSES_BUILD_REQUIRES"]
    return [*requires, MYPY] if os.environ.get("OPENSES_COMPILE") == "1" else requires


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    return _requires(_setuptools.get_requires_for_build_wheel, config_settings)


def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    return _requires(_setuptools.get_requires_for_build_editable, config_settings)
