"""`send-test` (one message, simulator addresses included) and `send-bulk` (a CSV of recipients)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from openses.cli.ops.bulk import Pacer, Row, StateFile, default_state_path, read_rows, render
from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.errors import ApiError, OpsError
from openses.cli.ops.options import ACCOUNT, CONFIG, EXIT_ERROR, JSON, fail, guarded
from openses.cli.output import console, emit_json, err_console

SIMULATOR = "simulator.amazonses.com"
# SES mailbox simulator scenarios and what each produces.
SCENARIOS = {"success": "a Delivery event", "bounce": "a hard Bounce (SMTP 550 5.1.1)",
             "ooto": "a Delivery and an out-of-office auto-reply", "complaint": "a Complaint",
             "suppressionlist": "a Bounce as if the address were on SES's global suppression list"}
THROTTLED = {"Throttling", "TooManyRequestsException", "MaxSendingRateExceeded"}
RETRIES = 5


def resolve_recipient(to: str) -> str:
    """`bounce` is short for bounce@simulator.amazonses.com, and so on."""
    return f"{to}@{SIMULATOR}" if to.lower() in SCENARIOS else to


def _expectation(to: str) -> str | None:
    local, _, domain = to.partition("@")
    if domain.lower() == SIMULATOR:
        return SCENARIOS.get(local.lower().split("+")[0])
    return None


def send_test(account: str = ACCOUNT, sender: str = typer.Argument(..., help="From address (a verified identity)."),
              to: str = typer.Argument(..., help="Recipient, or a simulator scenario: success, bounce, ooto, "
                                       "complaint, suppressionlist."),
              subject: str = typer.Argument("openses test message", help="Subject."),
              body: str = typer.Argument("This is a test message sent with `openses send-test`.", help="Text body."),
              configuration_set: str = typer.Option(None, "--configuration-set", help="Configuration set name."),
              config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Send one test message (SES v1 SendEmail)."""
    recipient = resolve_recipient(to)
    params: dict[str, Any] = {"Source": sender, "Destination": {"ToAddresses": [recipient]},
                              "Message": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                                          "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}}}
    if configuration_set:
        params["ConfigurationSetName"] = configuration_set
    with guarded():
        conn = open_profile(account, config)
        message_id = conn.call("ses", "SendEmail", **params)["MessageId"]
    expect = _expectation(recipient)
    if as_json:
        emit_json({"MessageId": message_id, "To": recipient, "Simulator": expect})
        return
    console.print(f"sent to {recipient}: MessageId {message_id}", highlight=False)
    if expect:
        console.print(f"mailbox simulator: expect {expect}", highlight=False)


def _content(row: Row, template: str | None, subject: str | None, text: str | None,
             html: str | None) -> dict[str, Any]:
    if template:
        return {"Template": {"TemplateName": template, "TemplateData": json.dumps(row.data)}}
    body: dict[str, Any] = {}
    if text:
        body["Text"] = {"Data": render(text, row.data), "Charset": "UTF-8"}
    if html:
        body["Html"] = {"Data": render(html, row.data), "Charset": "UTF-8"}
    return {"Simple": {"Subject": {"Data": render(subject or "", row.data), "Charset": "UTF-8"}, "Body": body}}


def _send_one(conn: Connection, params: dict[str, Any]) -> str:
    """SES v2 SendEmail, backing off when throttled (the rate limit is shared with other senders)."""
    for attempt in range(RETRIES):
        try:
            return conn.call("sesv2", "SendEmail", **params)["MessageId"]
        except ApiError as e:
            if e.code not in THROTTLED or attempt == RETRIES - 1:
                raise
            time.sleep(0.5 * 2 ** attempt)
    raise AssertionError("unreachable")


def _progress() -> Progress:
    return Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err_console)


def _run_bulk(conn: Connection, rows: list[Row], state: StateFile, base: dict[str, Any],
              content: dict[str, str | None], rate: float) -> tuple[int, int]:
    sent = failed = 0
    pacer = Pacer(rate)
    with state.open() as log, _progress() as progress:
        task = progress.add_task("send", total=len(rows))
        for row in rows:
            pacer.wait()
            params = dict(base, Destination={"ToAddresses": [row.to]},
                          Content=_content(row, **content))  # type: ignore[arg-type]
            try:
                StateFile.record(log, row, message_id=_send_one(conn, params))
                sent += 1
            except ApiError as e:  # this row fails; the others go on
                StateFile.record(log, row, error=str(e))
                failed += 1
            progress.advance(task)
    return sent, failed


def send_bulk(account: str = ACCOUNT, csv_path: Path = typer.Argument(..., help="CSV: a recipient column "
                                                                           "(email/to) and template data."),
              sender: str = typer.Option(..., "--from", help="From address (a verified identity)."),
              template: str = typer.Option(None, "--template", help="A stored SES template; the CSV's "
                                           "other columns are its data."),
              subject: str = typer.Option(None, "--subject", help="Subject ({{column}} placeholders)."),
              text: str = typer.Option(None, "--text", help="Text body ({{column}} placeholders)."),
              html: str = typer.Option(None, "--html", help="HTML body ({{column}} placeholders)."),
              to_column: str = typer.Option(None, "--to-column", help="The recipient column's name."),
              configuration_set: str = typer.Option(None, "--configuration-set", help="Configuration set."),
              rate: float = typer.Option(None, "--rate", help="Messages per second (default: the account's "
                                         "MaxSendRate)."),
              state_path: Path = typer.Option(None, "--state", help="Resume file (default: CSV.state.jsonl)."),
              config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Send one message per CSV row at the account's MaxSendRate; re-run the same command to resume."""
    if not template and not (subject and (text or html)):
        fail("give --template NAME, or --subject with --text and/or --html")
    state = StateFile(state_path or default_state_path(csv_path))
    with guarded():
        rows = read_rows(csv_path, to_column)
        done = state.sent_rows()
        todo = [r for r in rows if r.number not in done and r.to]
        conn = open_profile(account, config)
        limit = rate or float(conn.call("ses", "GetSendQuota").get("MaxSendRate") or 1.0)
        base: dict[str, Any] = {"FromEmailAddress": sender}
        if configuration_set:
            base["ConfigurationSetName"] = configuration_set
        try:
            sent, failed = _run_bulk(conn, todo, state, base,
                                     {"template": template, "subject": subject, "text": text, "html": html}, limit)
        except (OpsError, KeyboardInterrupt) as e:
            reason = "interrupted" if isinstance(e, KeyboardInterrupt) else str(e)
            raise OpsError(f"{reason}; progress is saved in {state.path}: run the same command to resume") from None
    summary = {"rows": len(rows), "skipped": len(rows) - len(todo), "sent": sent, "failed": failed,
               "rate": limit, "state": str(state.path)}
    if as_json:
        emit_json(summary)
    else:
        console.print(f"sent {sent}, failed {failed}, already done or empty {summary['skipped']} "
                      f"(of {len(rows)} rows) at ≤ {limit:g}/s; state in {state.path}", highlight=False)
    if failed:
        err_console.print(f"{failed} row(s) failed (reasons in {state.path}); re-run to retry them", highlight=False)
        raise typer.Exit(EXIT_ERROR)


COMMANDS = {"send-test": send_test, "send-bulk": send_bulk}
