"""The parts of `send-bulk` that need no network: the CSV, the pacing, the resume state.

The state file is JSON lines, one per attempted row ({"row": n, "to": …, "message_id": …} or
{"row": n, "to": …, "error": …}), flushed after each send: after an interruption the same command
skips the rows that already have a message id and tries the others again.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from openses.cli.ops.errors import OpsError

RECIPIENT_COLUMNS = ("email", "to", "address", "recipient")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row, the header not counted
    to: str
    data: dict[str, str]


def recipient_column(header: list[str], chosen: str | None) -> str:
    if chosen:
        if chosen not in header:
            raise OpsError(f"the CSV has no column {chosen!r}; columns: {', '.join(header)}")
        return chosen
    for name in header:
        if name.strip().lower() in RECIPIENT_COLUMNS:
            return name
    raise OpsError(f"the CSV needs a recipient column ({', '.join(RECIPIENT_COLUMNS)}) or --to-column; "
                   f"columns: {', '.join(header)}")


def read_rows(path: Path, to_column: str | None = None) -> list[Row]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            column = recipient_column(list(reader.fieldnames or []), to_column)
            return [Row(n, (r.get(column) or "").strip(), {k: v for k, v in r.items() if k != column and k})
                    for n, r in enumerate(reader, start=1)]
    except OSError as e:
        raise OpsError(f"cannot read {path}: {e}") from None
    except csv.Error as e:
        raise OpsError(f"{path} is not a valid CSV: {e}") from None


def render(text: str, data: dict[str, str]) -> str:
    """Replace {{name}} with the row's value (missing names become empty)."""
    return PLACEHOLDER.sub(lambda m: data.get(m.group(1), ""), text)


class Pacer:
    """At most `rate` sends per second (SES MaxSendRate): waits before each send as needed."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        for line in self.path.read_text().splitlines():
            try:
                yield json.loads(line)
            except ValueError:  # a line cut short by a crash: that row is simply tried again
                continue

    def sent_rows(self) -> set[int]:
        return {e["row"] for e in self.entries() if e.get("message_id")}

    def open(self) -> TextIO:
        return self.path.open("a", encoding="utf-8")

    @staticmethod
    def record(f: TextIO, row: Row, *, message_id: str | None = None, error: str | None = None) -> None:
        entry: dict[str, Any] = {"row": row.number, "to": row.to}
        entry.update({"message_id": message_id} if message_id else {"error": error})
        f.write(json.dumps(entry) + "\n")
        f.flush()


def default_state_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name + ".state.jsonl")
