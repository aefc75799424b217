"""IAM-style key policies: Allow/Deny statements over `ses:` (and `sns:`) actions, resources and conditions.

Evaluation follows IAM: an explicit Deny wins, otherwise some Allow must match, otherwise deny.
Actions and resources take `*` and `?` wildcards (actions case-insensitively). `sesv2:` is read as
`ses:` because SES v2 is authorized under the `ses` prefix. Supported conditions: StringEquals,
StringNotEquals, StringLike, StringNotLike (with ForAllValues:/ForAnyValue: and IfExists) on keys
such as `ses:FromAddress`, `ses:FromDisplayName`, `ses:Recipients`, `ses:ApiVersion`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# A key made without a policy is its account's full-access key: all of SES and of the SNS API that
# manages the account's own topics (an account's topics are its event destinations).
ALLOW_ALL: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ses:*", "sns:*"], "Resource": "*"}],
}

_OPERATORS = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike",
              "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}


class PolicyError(ValueError):
    """The policy document is not one we can evaluate; the message says why."""


@lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(glob), re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _normalize_action(action: str) -> str:
    prefix, _, name = action.partition(":")
    return f"ses:{name}" if prefix.lower() == "sesv2" else action


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)

    def matches(self, action: str, resource: str, context: Mapping[str, Sequence[str]]) -> bool:
        if self.actions and not any(_pattern(a, True).match(action) for a in self.actions):
            return False
        if self.not_actions and any(_pattern(a, True).match(action) for a in self.not_actions):
            return False
        if not any(_pattern(r, False).match(resource) for r in self.resources):
            return False
        return all(_condition_holds(op, key, values, context) for op, key, values in self.conditions)


def _condition_holds(op: str, key: str, values: tuple[str, ...],
                     context: Mapping[str, Sequence[str]]) -> bool:
    qualifier, _, base = op.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    actual = context.get(key) or context.get(key.lower())
    if actual is None:
        return if_exists or base.startswith("StringNot")
    negate = "Not" in base
    ignore_case = base.endswith("IgnoreCase")
    like = "Like" in base

    def one(v: str) -> bool:
        if like:
            hit = any(_pattern(p, False).match(v) for p in values)
        elif ignore_case:
            hit = v.lower() in {p.lower() for p in values}
        else:
            hit = v in values
        return not hit if negate else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    # Decisions of a policy without conditions depend on (action, resource) only: a key's policy
    # decides every request, so they are remembered (a few hundred of them at most).
    _decided: dict[tuple[str, str], bool] = field(default_factory=dict, compare=False, repr=False)
    _conditional: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_conditional", any(st.conditions for st in self.statements))

    def decide(self, action: str, resource: str = "*",
               context: Mapping[str, Sequence[str]] | None = None) -> bool:
        """True when `action` on `resource` is allowed (explicit deny wins)."""
        if self._conditional:
            return self._decide(action, resource, context or {})
        decided = self._decided.get((action, resource))
        if decided is None:
            if len(self._decided) >= _DECISIONS_KEPT:
                self._decided.clear()
            decided = self._decided[(action, resource)] = self._decide(action, resource, {})
        return decided

    def _decide(self, action: str, resource: str, ctx: Mapping[str, Sequence[str]]) -> bool:
        allowed = False
        for st in self.statements:
            if st.matches(action, resource, ctx):
                if not st.allow:
                    return False
                allowed = True
        return allowed


_DECISIONS_KEPT = 1024


def parse_policy(document: str | Mapping[str, Any] | None) -> Policy:
    """Compile a policy document (JSON text or dict); None means allow all of ses:* and sns:*."""
    if document is None:
        document = ALLOW_ALL
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as e:
            raise PolicyError(f"policy is not valid JSON: {e}") from None
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise PolicyError("policy must be an object with a Statement")
    statements = []
    for raw in _as_list(document["Statement"]):
        statements.append(_parse_statement(raw))
    return Policy(tuple(statements))


def _parse_statement(raw: Any) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError("each Statement must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError("Effect must be Allow or Deny")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError("a Statement needs Action or NotAction")
    actions = tuple(_normalize_action(a) for a in _as_list(raw.get("Action", [])))
    not_actions = tuple(_normalize_action(a) for a in _as_list(raw.get("NotAction", [])))
    resources = tuple(_as_list(raw.get("Resource", "*")))
    conditions = []
    for op, clauses in (raw.get("Condition") or {}).items():
        base = op.rpartition(":")[2].removesuffix("IfExists")
        if base not in _OPERATORS:
            raise PolicyError(f"condition operator {op} is not supported")
        for key, values in clauses.items():
            conditions.append((op, key, tuple(str(v) for v in _as_list(values))))
    return Statement(effect == "Allow", actions, not_actions, resources, tuple(conditions))
