"""Stored email templates (SES v1 Template and v2 EmailTemplate are the same resource) and
rendering one with TemplateData into a subject, a text part and an HTML part."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openses.core import ids, mime, templates
from openses.errors import (
    AlreadyExists,
    InvalidParameterValue,
    InvalidRenderingParameter,
    InvalidTemplate,
    LimitExceeded,
    MissingRenderingAttribute,
    TemplateDoesNotExist,
)
from openses.store import templates_repo as repo
from openses.store.store import Store

MAX_TEMPLATES = 20_000  # SES: 20,000 templates per Region
MAX_TEMPLATE_BYTES = 500 * 1024  # SES: 500 KB, text and HTML parts together
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_ARN = re.compile(r"arn:aws:ses:([^:]+):(\d{12}):template/(.+)\Z")


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    subject: str | None
    text: str | None
    html: str | None
    tags: list[dict[str, str]]
    created_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EmailTemplate:
        return cls(row["name"], row["subject"], row["text"], row["html"], row["tags"] or [], row["created_at"])


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str | None
    html: str | None


def check_parts(name: str, subject: str | None, text: str | None, html: str | None) -> None:
    """Size and syntax of a template's parts; InvalidTemplate names what does not parse."""
    size = sum(len((p or "").encode()) for p in (subject, text, html))
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidParameterValue(f"Template {name} is larger than {MAX_TEMPLATE_BYTES} bytes.")
    for part in (subject, text, html):
        if part:
            try:
                templates.parse(part)
            except templates.TemplateSyntaxError as e:
                raise InvalidTemplate(f"Template {name} is invalid: {e.message}") from None


def decode_data(text: str | None) -> dict[str, Any]:
    """TemplateData: a JSON object (SES answers InvalidRenderingParameter otherwise)."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        raise InvalidRenderingParameter("Template data must be a valid JSON object.") from None
    if not isinstance(data, dict):
        raise InvalidRenderingParameter("Template data must be a valid JSON object.")
    return data


def render(template: EmailTemplate, data: Any) -> Rendered:
    """Raises templates.RenderingError (missing attribute, bad syntax, unknown partial)."""
    def part(source: str | None) -> str | None:
        return templates.render_source(source, data) if source is not None else None

    return Rendered(part(template.subject) or "", part(template.text), part(template.html))


def render_for_test(template: EmailTemplate, data_text: str) -> str:
    """TestRenderTemplate: the rendered message as MIME text, or SES's rendering errors."""
    data = decode_data(data_text)
    try:
        parts = render(template, data)
    except templates.MissingAttributeError as e:
        raise MissingRenderingAttribute(e.message) from None
    except templates.RenderingError as e:
        raise InvalidTemplate(f"Template {template.name} is invalid: {e.message}") from None
    now = time.time()
    raw = mime.build_simple(
        from_header="", to=[], cc=[], reply_to=[], message_id=f"{ids.message_id(now)}@email.amazonses.com",
        date=mime.format_date(now), content=mime.SimpleContent(subject=parts.subject, text=parts.text,
                                                                html=parts.html))
    return mime.split_raw(raw).rebuilt(drop=("from",)).decode("utf-8", "replace")


class TemplateService:
    def __init__(self, store: Store, *, region: str, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._region = region
        self._clock = clock

    async def create(self, account_id: str, name: str, subject: str | None, text: str | None,
                     html: str | None, tags: list[dict[str, str]] | None = None) -> None:
        if not _NAME.match(name or ""):
            raise InvalidParameterValue(
                "Template name must be 1 to 64 letters, numbers, underscores or dashes.")
        check_parts(name, subject, text, html)
        now = self._clock()
        row = {"account_id": account_id, "name": name, "subject": subject, "text": text, "html": html,
               "tags": tags or [], "created_at": now, "updated_at": now}

        def write(conn: Any) -> None:
            if repo.get_template(conn, account_id, name) is not None:
                raise AlreadyExists(f"Template {name} already exists.")
            if repo.count_templates(conn, account_id) >= MAX_TEMPLATES:
                raise LimitExceeded(f"You can have at most {MAX_TEMPLATES} templates.")
            repo.insert_template(conn, row)

        await self._store.write(write)

    async def update(self, account_id: str, name: str, subject: str | None, text: str | None,
                     html: str | None) -> None:
        check_parts(name, subject, text, html)
        values = {"subject": subject, "text": text, "html": html, "updated_at": self._clock()}
        changed = await self._store.write(lambda c: repo.update_template(c, account_id, name, **values))
        if not changed:
            raise TemplateDoesNotExist(f"Template {name} does not exist.")

    async def get(self, account_id: str, name: str) -> EmailTemplate:
        row = await self._store.read(lambda c: repo.get_template(c, account_id, name))
        if row is None:
            raise TemplateDoesNotExist(f"Template {name} does not exist.")
        return EmailTemplate.from_row(row)

    async def find(self, account_id: str, name: str | None, arn: str | None) -> EmailTemplate:
        """A template by name or by ARN (an ARN wins, as SES documents for TemplateArn)."""
        if arn:
            m = _ARN.match(arn)
            if m is None or m.group(1) != self._region or m.group(2) != account_id:
                raise TemplateDoesNotExist(f"Template {arn} does not exist.")
            name = m.group(3)
        if not name:
            raise InvalidParameterValue("A template name or ARN is required.")
        return await self.get(account_id, name)

    async def delete(self, account_id: str, name: str) -> bool:
        return await self._store.write(lambda c: repo.delete_template(c, account_id, name)) > 0

    async def list(self, account_id: str) -> list[dict[str, Any]]:
        return await self._store.read(lambda c: repo.list_templates(c, account_id))
