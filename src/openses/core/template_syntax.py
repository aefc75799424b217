"""Handlebars syntax: the tokenizer, the parser and the tree they build (see templates.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

MISSING = object()
_HELPERS = ("if", "unless", "each", "with")
_SEGMENT = re.compile(r"\[([^\]]*)\]|([^./\[\]]+)|(\.\.)")
_STANDALONE_KINDS = ("open", "close", "else", "comment", "partial")


class RenderingError(Exception):
    """The template cannot be rendered with this data; `message` is what SES reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateSyntaxError(RenderingError):
    """The template itself is malformed (SES: InvalidTemplate)."""


class MissingAttributeError(RenderingError):
    """A `{{name}}` the data does not have (SES: MissingRenderingAttribute)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Attribute '{name}' is not present in the rendering data.")
        self.name = name


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    source: str
    parts: tuple[str, ...]
    up: int = 0  # how many `../`
    data: bool = False  # @index, @key, @root…
    local: bool = False  # `this.x`, `./x`: only the current context, never the enclosing ones
    literal: Any = MISSING  # true, false, null, numbers and "strings" in argument position


@dataclass(frozen=True)
class Var:
    path: Path
    escape: bool


@dataclass
class Block:
    helper: str
    arg: Path | None
    body: list[Node] = field(default_factory=list)
    inverse: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Partial:
    name: str
    context: Path | None


Node = Union[str, Var, Block, Partial]


@dataclass(frozen=True)
class Template:
    nodes: list[Node]
    partials: dict[str, list[Node]]


# --- tokens -----------------------------------------------------------------------------------


@dataclass
class _Tag:
    kind: str  # var | raw | open | close | else | comment | partial
    body: str
    strip_before: bool
    strip_after: bool


def _tokenize(source: str) -> list[str | _Tag]:
    """Alternating text and tags, text first and last (maybe empty)."""
    out: list[str | _Tag] = []
    pos = 0
    text = ""
    while True:
        start = source.find("{{", pos)
        if start < 0:
            out.append(text + source[pos:])
            return out
        if start > 0 and source[start - 1] == "\\":  # `\{{` is a literal `{{`
            text += source[pos:start - 1] + "{{"
            pos = start + 2
            continue
        out.append(text + source[pos:start])
        text = ""
        tag, pos = _read_tag(source, start)
        out.append(tag)


_TRIPLE_END = re.compile(r"\}(~?)\}\}")
_COMMENT_END = re.compile(r"--(~?)\}\}")
_TAG_END = re.compile(r"(~?)\}\}")


def _read_tag(source: str, start: int) -> tuple[_Tag, int]:
    i = start + 2
    strip_before = source.startswith("~", i)
    i += strip_before
    if source.startswith("{", i):
        i, ender, kind = i + 1, _TRIPLE_END, "raw"
    elif source.startswith("!--", i):
        ender, kind = _COMMENT_END, "comment"
    else:
        ender, kind = _TAG_END, ""
    m = ender.search(source, i)
    if m is None:
        raise TemplateSyntaxError(f"Unclosed tag at offset {start}: {source[start:start + 30]!r}")
    inner = source[i:m.start()]
    tag = _Tag(kind, inner.strip(), strip_before, bool(m.group(1))) if kind else \
        _classify(inner.strip(), strip_before, bool(m.group(1)))
    return tag, m.end()


_SIGILS = {"!": "comment", "#": "open", "/": "close", ">": "partial", "&": "raw"}


def _classify(text: str, strip_before: bool, strip_after: bool) -> _Tag:
    if text == "^" or text == "else":
        return _Tag("else", "", strip_before, strip_after)
    if text.startswith("else "):
        return _Tag("else", text[5:].strip(), strip_before, strip_after)
    if text.startswith("^"):  # {{^name}}: an inverted section
        return _Tag("open", "^" + text[1:].strip(), strip_before, strip_after)
    kind = _SIGILS.get(text[:1])
    if kind is None:
        return _Tag("var", text, strip_before, strip_after)
    return _Tag(kind, text[1:].strip(), strip_before, strip_after)


def _strip_whitespace(tokens: list[str | _Tag]) -> None:
    """`~` control, then Handlebars' standalone rule: a block tag alone on its line takes the
    line's indentation and line break with it."""
    for i, tok in enumerate(tokens):
        if not isinstance(tok, _Tag):
            continue
        if tok.strip_before and i > 0 and isinstance(tokens[i - 1], str):
            tokens[i - 1] = str(tokens[i - 1]).rstrip()
        if tok.strip_after and i + 1 < len(tokens) and isinstance(tokens[i + 1], str):
            tokens[i + 1] = str(tokens[i + 1]).lstrip()
    original = list(tokens)
    last = len(tokens) - 1
    for i, tok in enumerate(original):
        if not (isinstance(tok, _Tag) and tok.kind in _STANDALONE_KINDS):
            continue
        head = str(original[i - 1]).rstrip(" \t")
        tail = str(original[i + 1]).lstrip(" \t")
        line_start = head.endswith("\n") or (i == 1 and head == "")
        line_end = tail.startswith(("\n", "\r\n")) or (i + 1 == last and tail == "")
        if line_start and line_end:
            tokens[i - 1] = str(tokens[i - 1]).rstrip(" \t")
            after = str(tokens[i + 1]).lstrip(" \t")
            tokens[i + 1] = after[2:] if after.startswith("\r\n") else after[1:] if after[:1] == "\n" else after


# --- parsing ----------------------------------------------------------------------------------


def parse_path(text: str) -> Path:
    text = text.strip()
    literal = _literal(text)
    if literal is not MISSING:
        return Path(text, (), literal=literal)
    data = text.startswith("@")
    rest = text[1:] if data else text
    up = 0
    while rest.startswith("../"):
        up, rest = up + 1, rest[3:]
    if rest in ("this", ".", ""):
        return Path(text, (), up, data, local=True)
    local = rest.startswith(("this.", "this/", "./"))
    if local:
        rest = rest[5:] if rest.startswith("this") else rest[2:]
    parts = []
    for m in _SEGMENT.finditer(rest):
        if m.group(3):
            raise TemplateSyntaxError(f"Invalid path: {text}")
        parts.append(m.group(1) if m.group(1) is not None else m.group(2))
    if not parts or re.search(r"\s", re.sub(r"\[[^\]]*\]", "", rest)):
        raise TemplateSyntaxError(f"Invalid expression: {text}")
    return Path(text, tuple(parts), up, data, local)


def _literal(text: str) -> Any:
    if text in ("true", "false", "null", "undefined"):
        return {"true": True, "false": False}.get(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return json.loads(text)
    return MISSING


def parse(source: str) -> Template:
    """Parse a template; TemplateSyntaxError says what is wrong."""
    tokens = _tokenize(source)
    _strip_whitespace(tokens)
    partials: dict[str, list[Node]] = {}
    nodes, stop, _ = _parse_nodes(tokens, 0, partials, closing=None)
    return Template(nodes, partials)


def _parse_nodes(tokens: Sequence[str | _Tag], i: int, partials: dict[str, list[Node]],
                 closing: str | None) -> tuple[list[Node], int, _Tag | None]:
    """Nodes until `{{/closing}}` or `{{else}}`; (nodes, next index, the tag that stopped us)."""
    nodes: list[Node] = []
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if isinstance(tok, str):
            if tok:
                nodes.append(tok)
        elif tok.kind in ("close", "else"):
            if closing is None:
                raise TemplateSyntaxError(f"Unexpected {{{{{'/' if tok.kind == 'close' else ''}{tok.body or 'else'}}}}}")
            if tok.kind == "close" and tok.body != closing:
                raise TemplateSyntaxError(f"{closing} doesn't match {tok.body}")
            return nodes, i, tok
        elif tok.kind == "comment":
            continue
        elif tok.kind == "open":
            node, i = _parse_block(tokens, i, tok.body, partials)
            if node is not None:
                nodes.append(node)
        else:
            nodes.append(_leaf(tok))
    if closing is not None:
        raise TemplateSyntaxError(f"Unclosed block: {{{{#{closing}}}}} has no {{{{/{closing}}}}}")
    return nodes, i, None


def _leaf(tok: _Tag) -> Node:
    if tok.kind == "partial":
        name, _, ctx = tok.body.partition(" ")
        return Partial(name.strip("\"'"), parse_path(ctx) if ctx.strip() else None)
    if re.search(r"\s", re.sub(r"\[[^\]]*\]", "", tok.body)):
        raise TemplateSyntaxError(f"Unsupported helper: {tok.body.split()[0]}")
    return Var(parse_path(tok.body), escape=tok.kind == "var")


def _parse_block(tokens: Sequence[str | _Tag], i: int, body: str,
                 partials: dict[str, list[Node]]) -> tuple[Block | None, int]:
    if body.startswith("*"):
        return _parse_inline(tokens, i, body, partials)
    if body.startswith("^"):  # Mustache inverted section: the block when the value is falsy
        arg = body[1:].strip()
        inner, i, _ = _parse_nodes(tokens, i, partials, closing=arg)
        return Block("unless", parse_path(arg), inner), i
    helper, _, arg = body.partition(" ")
    if helper not in _HELPERS:
        if arg.strip():
            raise TemplateSyntaxError(f"Unsupported helper: {helper}")
        helper, arg = "section", helper  # {{#name}}…{{/name}}, Mustache's section
    if "|" in arg:
        raise TemplateSyntaxError("Block parameters (as |x|) are not supported")
    if not arg.strip():
        raise TemplateSyntaxError(f"{{{{#{helper}}}}} needs an argument")
    return _parse_block_body(tokens, i, helper, parse_path(arg), partials, closing=body.partition(" ")[0])


def _parse_block_body(tokens: Sequence[str | _Tag], i: int, helper: str, arg: Path,
                      partials: dict[str, list[Node]], closing: str) -> tuple[Block, int]:
    block = Block(helper, arg)
    block.body, i, stop = _parse_nodes(tokens, i, partials, closing=closing)
    if stop is not None and stop.kind == "else":
        if stop.body:  # {{else if cond}}: a nested block that shares our closing tag
            helper2, _, arg2 = stop.body.partition(" ")
            if helper2 not in ("if", "unless") or not arg2.strip():
                raise TemplateSyntaxError(f"Unsupported else: {stop.body}")
            nested, i = _parse_block_body(tokens, i, helper2, parse_path(arg2), partials, closing)
            block.inverse = [nested]
            return block, i
        block.inverse, i, stop = _parse_nodes(tokens, i, partials, closing=closing)
        if stop is not None and stop.kind == "else":
            raise TemplateSyntaxError(f"A second {{{{else}}}} in {{{{#{closing}}}}}")
    return block, i


def _parse_inline(tokens: Sequence[str | _Tag], i: int, body: str,
                  partials: dict[str, list[Node]]) -> tuple[None, int]:
    m = re.fullmatch(r"\*\s*inline\s+([\"'])(.+?)\1\s*", body)
    if m is None:
        raise TemplateSyntaxError(f"Unsupported decorator: {body}")
    inner, i, stop = _parse_nodes(tokens, i, partials, closing="inline")
    if stop is not None and stop.kind == "else":
        raise TemplateSyntaxError("{{else}} is not allowed in an inline partial")
    partials[m.group(2)] = inner
    return None, i
