"""What an execution's history says about its path and its cost (the benchmarks' measure).

from benchmarks.history import summarize_history

summary = summarize_history(engine.history(arn))
summary.states, summary.polls, summary.retries, summary.billable_transitions
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HistorySummary", "summarize_history"]

_SCHEDULED_EVENTS = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_ATTEMPT_FAILED_EVENTS = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "ActivityScheduleFailed",
    }
)


@dataclass(frozen=True)
class HistorySummary:
    """What an execution's history says about its path and its cost.

    * ``states``: the names of the states entered, in order (a loop shows up repeatedly);
    * ``polls``: how many times the poll state was entered (not counting its retries);
    * ``retries``: per state, failed attempts that were followed by another attempt in the
      same state entry (a ``*Failed``/``*TimedOut`` event, then another ``*Scheduled``);
    * ``transitions``: the number of ``*StateEntered`` events, i.e. one per state entered;
    * ``billable_transitions``: ``transitions`` plus every retry, which is how Step Functions
      Standard counts billed state transitions (each retry counts as one).
    """

    states: tuple[str, ...]
    polls: int
    retries: dict[str, int]
    transitions: int

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())

    @property
    def billable_transitions(self) -> int:
        return self.transitions + self.total_retries


def summarize_history(
    events: Iterable[Mapping[str, Any]], *, poll_state: str = "PollSession"
) -> HistorySummary:
    """Summarises GetExecutionHistory events (see :class:`HistorySummary` for the counting rules)."""
    states: list[str] = []
    retries: dict[str, int] = {}
    current: str | None = None
    attempt_failed = False
    for event in events:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
            states.append(current)
            attempt_failed = False
        elif kind.endswith("StateExited"):
            current, attempt_failed = None, False
        elif kind in _ATTEMPT_FAILED_EVENTS:
            attempt_failed = True
        elif kind in _SCHEDULED_EVENTS and attempt_failed and current is not None:
            retries[current] = retries.get(current, 0) + 1
            attempt_failed = False
    return HistorySummary(
        states=tuple(states),
        polls=states.count(poll_state),
        retries=retries,
        transitions=len(states),
    )
