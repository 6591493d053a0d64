"""Execution histories in the shape AWS Step Functions records them (nimble-api-facts.md).

The facts this builder encodes, for a Standard workflow without Parallel or Map:

* every event names its cause in ``previousEventId`` (a state's ``...StateEntered`` the previous
  state's exit; a task's ``...Scheduled`` its ``...StateEntered`` or, on a retry, the failure);
* a Task whose Resource is a function ARN records ``LambdaFunctionScheduled``, ``...Started``,
  then ``LambdaFunctionSucceeded`` or ``LambdaFunctionFailed``; an integration such as
  ``events:putEvents`` records ``TaskScheduled``, ``TaskStarted``, ``TaskSucceeded``/``TaskFailed``;
* a failure a Catch handles is followed by ``TaskStateExited`` (output: the error, placed by
  ResultPath), then the Catch target's ``...StateEntered``; an uncaught one by
  ``ExecutionFailed``, with no exit;
* StopExecution ends the history with ``ExecutionAborted`` carrying the given error and cause.

``AwsHistory().task("PublishReady", integration=True, attempts=["fail", "ok"])`` and so on;
``.events`` is what GetExecutionHistory returns (with ``includeExecutionData``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

_START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class AwsHistory:
    def __init__(self, execution_input: dict[str, Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.state: dict[str, Any] = dict(execution_input or {})
        self._add("ExecutionStarted", 0, executionStartedEventDetails={"input": json.dumps(self.state)})

    @property
    def last_id(self) -> int:
        return self.events[-1]["id"]

    def _add(self, kind: str, previous: int, **details: Any) -> int:
        event_id = len(self.events) + 1
        event = {
            "id": event_id,
            "previousEventId": previous,
            "type": kind,
            "timestamp": _START + timedelta(milliseconds=10 * event_id),
            **details,
        }
        self.events.append(event)
        return event_id

    def _enter(self, name: str, kind: str) -> int:
        return self._add(
            f"{kind}StateEntered",
            self.last_id,
            stateEnteredEventDetails={"name": name, "input": json.dumps(self.state)},
        )

    def _exit(self, name: str, kind: str, previous: int) -> None:
        self._add(
            f"{kind}StateExited",
            previous,
            stateExitedEventDetails={"name": name, "output": json.dumps(self.state)},
        )

    def task(
        self,
        name: str,
        *,
        attempts: list[str] = ("ok",),  # type: ignore[assignment]
        result: Any = None,
        result_path: str | None = None,
        error: str = "States.TaskFailed",
        cause: str = "{}",
        caught_path: str | None = None,
        integration: bool = False,
    ) -> AwsHistory:
        """One entry of a Task state: each attempt "ok" or "fail"; the last decides how it ends.

        A last "fail" is caught when ``caught_path`` is given (the error goes there), else the
        execution fails (``ExecutionFailed``, no exit)."""
        prefix, family = ("Task", "task") if integration else ("LambdaFunction", "lambdaFunction")
        previous = self._enter(name, "Task")
        for attempt in attempts:
            scheduled = self._add(f"{prefix}Scheduled", previous, **{f"{family}ScheduledEventDetails": {}})
            started = self._add(f"{prefix}Started", scheduled)
            if attempt == "ok":
                output = json.dumps(result)
                previous = self._add(
                    f"{prefix}Succeeded", started, **{f"{family}SucceededEventDetails": {"output": output}}
                )
                if result_path:
                    self.state[result_path] = result
                self._exit(name, "Task", previous)
                return self
            previous = self._add(
                f"{prefix}Failed",
                started,
                **{f"{family}FailedEventDetails": {"error": error, "cause": cause}},
            )
        if caught_path is not None:
            self.state.setdefault("caught", {})[caught_path] = {"Error": error, "Cause": cause}
            self._exit(name, "Task", previous)
        else:
            self._add(
                "ExecutionFailed", previous, executionFailedEventDetails={"error": error, "cause": cause}
            )
        return self

    def passing(self, name: str, kind: str = "Pass") -> AwsHistory:
        self._exit(name, kind, self._enter(name, kind))
        return self

    def aborted(self, error: str = "", cause: str = "") -> AwsHistory:
        self._add(
            "ExecutionAborted", self.last_id, executionAbortedEventDetails={"error": error, "cause": cause}
        )
        return self

    def failed_state(self, name: str, error: str, cause: str) -> AwsHistory:
        entered = self._enter(name, "Fail")
        self._add("ExecutionFailed", entered, executionFailedEventDetails={"error": error, "cause": cause})
        return self

    def succeeded(self, name: str = "SessionReady") -> AwsHistory:
        self.passing(name, "Succeed")
        self._add("ExecutionSucceeded", self.last_id, executionSucceededEventDetails={"output": "{}"})
        return self


class FakeStepFunctions:
    """Enough of a Step Functions client for the reconciler: one history, paginated."""

    def __init__(self, events: list[dict[str, Any]], page_size: int = 7) -> None:
        self._events = events
        self._page_size = page_size

    def get_paginator(self, name: str) -> FakeStepFunctions:
        assert name == "get_execution_history"
        return self

    def paginate(self, **_kwargs: Any):
        for start in range(0, len(self._events), self._page_size):
            yield {"events": self._events[start : start + self._page_size]}
