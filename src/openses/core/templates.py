"""Handlebars, as SES renders its email templates: a small parser and renderer, sans I/O.

Why our own and not a library (PyPI checked): pybars3 (last release 2019) and pybars4 (2021) are
unmaintained and build on PyMeta3, a parser generator from 2015; `handlebars` is handlebars.js run
through js2py; pyhandlebars and dotprompt-handlebars are young bindings to Rust with no way to
make a missing variable an error. SES needs exactly that: a plain `{{name}}` that the data lacks
fails the rendering ("Attribute 'name' is not present in the rendering data."), while a block's
condition that is missing is simply false. The subset SES documents is small, so we own it:

- `{{path}}` HTML-escaped, `{{{path}}}` and `{{& path}}` raw; paths `a.b.c`, `a/b`, `[odd key]`,
  `this`, `.`, `../x`, `@index`, `@key`, `@first`, `@last`, `@root.x`;
- blocks `{{#if}}`, `{{#unless}}`, `{{#each}}` (lists and objects), `{{#with}}`, each with
  `{{else}}` (also `{{^}}` and `{{else if …}}` chains), and `{{^x}}` inverted sections;
- inline partials `{{#*inline "name"}}…{{/inline}}` used as `{{> name}}`;
- comments `{{! … }}` and `{{!-- … --}}`, `\\{{` for a literal `{{`, `~` whitespace control,
  and Handlebars' rule that a block tag alone on its line takes the line with it.

A name not found in the current context is looked for in the enclosing ones (SES's Java
Handlebars resolves names through the context stack, as Mustache does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openses.core.template_syntax import (
    MISSING as _MISSING,
    Block,
    MissingAttributeError,
    Node,
    Partial,
    Path,
    RenderingError,
    Template,
    TemplateSyntaxError,
    Var,
    parse,
)

__all__ = ["MissingAttributeError", "RenderingError", "Template", "TemplateSyntaxError", "escape_html", "parse",
           "render", "render_source", "to_text", "truthy"]

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
_ESCAPE_RE = re.compile("[&<>\"'`=]")


# --- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    value: Any
    data: Mapping[str, Any]


def render(template: Template, data: Any) -> str:
    """Render with `data` (the decoded TemplateData); RenderingError says what went wrong."""
    out: list[str] = []
    _render_nodes(template.nodes, [_Frame(data, {"root": data})], template, out)
    return "".join(out)


def render_source(source: str, data: Any) -> str:
    return render(parse(source), data)


def _render_nodes(nodes: Sequence[Node], stack: list[_Frame], template: Template, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Var):
            value = _lookup(node.path, stack)
            if value is _MISSING:
                raise MissingAttributeError(node.path.source)
            text = to_text(value)
            out.append(escape_html(text) if node.escape else text)
        elif isinstance(node, Block):
            _render_block(node, stack, template, out)
        else:
            _render_partial(node, stack, template, out)


def _render_partial(node: Partial, stack: list[_Frame], template: Template, out: list[str]) -> None:
    body = template.partials.get(node.name)
    if body is None:
        raise TemplateSyntaxError(f"The partial {node.name} could not be found")
    if node.context is not None:
        value = _lookup(node.context, stack)
        stack = [*stack, _Frame(None if value is _MISSING else value, stack[-1].data)]
    _render_nodes(body, stack, template, out)


def _render_block(block: Block, stack: list[_Frame], template: Template, out: list[str]) -> None:
    value = _lookup(block.arg, stack) if block.arg is not None else _MISSING
    value = None if value is _MISSING else value
    if block.helper == "each" and truthy(value) and isinstance(value, (list, dict)):
        _render_each(block, value, stack, template, out)
        return
    if block.helper == "section" and isinstance(value, list):
        for item in value:
            _render_nodes(block.body, [*stack, _Frame(item, stack[-1].data)], template, out)
        if value:
            return
    chosen = truthy(value) if block.helper != "unless" else not truthy(value)
    if block.helper == "each":
        chosen = False
    nodes = block.body if chosen else block.inverse
    if chosen and block.helper in ("with", "section") and not isinstance(value, bool):
        stack = [*stack, _Frame(value, stack[-1].data)]
    _render_nodes(nodes, stack, template, out)


def _render_each(block: Block, value: list[Any] | dict[str, Any], stack: list[_Frame],
                 template: Template, out: list[str]) -> None:
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    for n, (key, item) in enumerate(items):
        data = {**stack[-1].data, "index": n, "first": n == 0, "last": n == len(items) - 1}
        if isinstance(value, dict):
            data["key"] = key
        _render_nodes(block.body, [*stack, _Frame(item, data)], template, out)


def _lookup(path: Path, stack: list[_Frame]) -> Any:
    if path.literal is not _MISSING:
        return path.literal
    if path.data:
        return _walk(stack[-1].data, path.parts)
    if path.up:
        frames = stack[:len(stack) - path.up] or stack[:1]
        return _walk(frames[-1].value, path.parts)
    if path.local:
        return _walk(stack[-1].value, path.parts)
    for frame in reversed(stack):  # the context stack, innermost first
        found = _walk(frame.value, path.parts)
        if found is not _MISSING:
            return found
    return _MISSING


def _walk(value: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, list) and part == "length":
            value = len(value)
        else:
            return _MISSING
    return value


def truthy(value: Any) -> bool:
    """Handlebars' falsy values: false, null/undefined, "", 0 and the empty list."""
    if value is None or value is False or value == "" or value == []:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return False
    return True


def to_text(value: Any) -> str:
    """A value as JavaScript would print it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return ",".join(to_text(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def escape_html(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
