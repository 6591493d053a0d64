"""IAM's evaluation of identity policies, for one request: pure, no AWS.

:func:`evaluate` answers whether a principal whose policies are ``policies`` may perform
``action`` on ``resource`` (one ARN), as IAM decides for identity-based policies:

* default deny: nothing is allowed unless a statement allows it;
* an explicit ``Deny`` that applies beats every ``Allow``;
* ``Action``/``NotAction`` match case-insensitively (``states:startexecution`` is
  ``states:StartExecution``); ``Resource``/``NotResource`` match case-sensitively, as ARNs do;
* ``*`` matches any run of characters (``/`` and ``:`` included) and ``?`` any one, in
  actions and resources alike; a statement's value may be a string or a list.

Not covered, on purpose: ``Condition``. It is not evaluated: an ``Allow`` with a Condition
grants nothing here and a ``Deny`` with a Condition always applies (the local stack refuses
what AWS might refuse; the template's roles have no conditions). ``Principal`` is ignored
(identity policies have none); resource policies, permission boundaries, session policies
and SCPs are not part of the decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY", "Decision", "evaluate", "matches"]

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True)
class Decision:
    """The outcome for one (action, resource): ``reason`` is one of the three constants."""

    action: str
    resource: str
    reason: str

    @property
    def allowed(self) -> bool:
        return self.reason == ALLOWED


@lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match of one value against one pattern (``*`` and ``?``)."""
    return _pattern(pattern, ignore_case).match(value) is not None


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        action_ok = any(matches(p, action, ignore_case=True) for p in _values(statement["Action"]))
    elif "NotAction" in statement:
        action_ok = not any(matches(p, action, ignore_case=True) for p in _values(statement["NotAction"]))
    else:
        return False  # IAM rejects such a policy; it grants nothing
    if not action_ok:
        return False
    if "Resource" in statement:
        return any(matches(p, resource) for p in _values(statement["Resource"]))
    if "NotResource" in statement:
        return not any(matches(p, resource) for p in _values(statement["NotResource"]))
    return False


def statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every statement of the policy documents (``Statement`` an object or a list)."""
    found: list[Mapping[str, Any]] = []
    for policy in policies:
        statement = policy.get("Statement", [])
        found.extend([statement] if isinstance(statement, Mapping) else statement)
    return found


def evaluate(policies: Sequence[Mapping[str, Any]], action: str, resource: str) -> Decision:
    """The decision for ``action`` on ``resource`` under the policy documents ``policies``."""
    allowed = False
    for statement in statements(policies):
        if not _statement_applies(statement, action, resource):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return Decision(action, resource, EXPLICIT_DENY)  # a Condition or not: it applies
        if effect == "Allow" and "Condition" not in statement:
            allowed = True
    return Decision(action, resource, ALLOWED if allowed else IMPLICIT_DENY)
