"""Findings with a verdict (monitor, audit, debug) and how they are shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from openses.cli.ops.errors import ApiError
from openses.cli.output import console, emit_json
from rich.table import Table

T = TypeVar("T")

OK, WARN, FAIL, UNKNOWN, INFO = "ok", "warn", "fail", "unknown", "info"
_STYLE = {OK: "green", WARN: "yellow", FAIL: "bold red", UNKNOWN: "magenta", INFO: "cyan"}


@dataclass(frozen=True)
class Finding:
    item: str
    verdict: str
    detail: str = ""
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def show(title: str, findings: list[Finding], *, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        emit_json(dict(extra or {}, findings=[f.as_json() for f in findings],
                       problems=sum(f.verdict == FAIL for f in findings)))
        return
    t = Table(title=title)
    for column in ("item", "verdict", "detail", "fix"):
        t.add_column(column, overflow="fold")
    for f in findings:
        t.add_row(f.item, f"[{_STYLE.get(f.verdict, '')}]{f.verdict}[/]", f.detail, f.fix)
    console.print(t)


def worst(findings: list[Finding]) -> str:
    verdicts = {f.verdict for f in findings}
    for v in (FAIL, WARN, UNKNOWN):
        if v in verdicts:
            return v
    return OK


def probe(fn: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run one look-up; an API error (an unimplemented operation included) becomes the reason it is
    unknown, while connection and credential errors still end the command."""
    try:
        return fn(), None
    except ApiError as e:
        return None, str(e)
