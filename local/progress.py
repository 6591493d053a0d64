"""Workflow progress for `make run`: reads each execution's history as it grows.

It watches the state machine from the outside, through ListExecutions and
GetExecutionHistory, as one would watch a deployed workflow; nothing in the handlers or in
the engine knows it is there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

Printer = Callable[[str], None]


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


#: What a task's call did, as AWS records it. A ``TaskStateExited`` says only that the state
#: ended: Step Functions records it also after a failure that a Catch handled.
_SUCCEEDED = {"LambdaFunctionSucceeded": "lambdaFunction", "TaskSucceeded": "task"}
_FAILED = {
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
}


def describe_event(event: dict[str, Any], state: str | None = None) -> str | None:
    """One line for a history event worth telling a person about, else None.

    ``state``: the name of the state the event belongs to (the last one entered).
    """
    kind = event.get("type", "")
    if kind == "ExecutionStarted":
        execution_input = _json(event["executionStartedEventDetails"].get("input"))
        request = execution_input.get("request") or {}
        return (
            f"accepted  studio={execution_input.get('studioId')} "
            f"launchProfile={request.get('launchProfileId')} token={execution_input.get('clientToken')}"
        )
    if kind in _SUCCEEDED:
        result = _json((event.get(f"{_SUCCEEDED[kind]}SucceededEventDetails") or {}).get("output"))
        if state in ("CreateSession", "FindCreatedSession"):
            session = result.get("session") or {}
            return f"created   {result.get('sessionId')} ({session.get('state')})"
        if state == "PollSession":
            session = result.get("session") or {}
            return f"polled    {session.get('state')} (check {result.get('checks')}, {result.get('outcome')})"
        if state == "DeleteSession":
            return f"cleanup   {result.get('action')}"
        return None
    if kind in _FAILED:
        details = event.get(_FAILED[kind]) or {}
        where = f" in {state}" if state else ""
        return f"error     {details.get('error')}{where} (retried or caught by the state machine)"
    if kind == "ExecutionSucceeded":
        return "READY"
    if kind == "ExecutionFailed":
        details = event.get("executionFailedEventDetails") or {}
        return f"FAILED    {details.get('error')}"
    if kind in {"ExecutionAborted", "ExecutionTimedOut"}:
        return kind.removeprefix("Execution").upper()
    return None


class ProgressWatcher:
    """Prints new history events of every execution, one line each, until stopped."""

    def __init__(
        self, sfn_client: Any, state_machine_arn: str, printer: Printer, interval: float = 0.25
    ) -> None:
        self._sfn = sfn_client
        self._state_machine_arn = state_machine_arn
        self._print = printer
        self._interval = interval
        self._seen: dict[str, int] = {}  # execution ARN -> history events already read
        self._state: dict[str, str] = {}  # execution ARN -> the state entered last
        self._finished: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> ProgressWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll_once()
            except Exception as error:  # the watcher must never take the stack down
                self._print(f"(progress unavailable: {error})")

    def poll_once(self) -> None:
        paginator = self._sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self._state_machine_arn):
            for execution in page["executions"]:
                arn = execution["executionArn"]
                if arn in self._finished:
                    continue
                # Read after listing: a closed execution's history is complete when read.
                self._read(arn, execution["name"])
                if execution["status"] != "RUNNING":
                    self._finished.add(arn)

    def _read(self, arn: str, name: str) -> None:
        events = []
        paginator = self._sfn.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=arn):
            events.extend(page["events"])
        for event in events[self._seen.get(arn, 0) :]:
            entered = event.get("stateEnteredEventDetails")
            if entered:
                self._state[arn] = entered["name"]
            line = describe_event(event, self._state.get(arn))
            if line:
                stamp = event["timestamp"]
                clock = stamp.strftime("%H:%M:%S") if isinstance(stamp, datetime) else str(stamp)
                self._print(f"{clock} {name}  {line}")
        self._seen[arn] = len(events)


def describe_invocation(record: dict[str, Any]) -> str:
    """One line for an asynchronous invocation of a rule's target (see local.event_targets)."""
    event = record["event"]
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    name = detail.get("name") or detail.get("requestId") or event.get("id")
    trigger = detail.get("status") or event.get("detail-type")
    response = record["response"]
    if record["failed"]:
        error = (
            response
            if not isinstance(response, dict)
            else f"{response.get('errorType')}: {response.get('errorMessage')}"
        )
        then = "to its dead-letter queue" if record["lastAttempt"] else "retried"
        outcome = f"error {str(error)[:160]} ({then})"
    elif isinstance(response, dict) and "swept" in response:  # the reconciler's sweep
        outcome = f"swept {response['swept']}, reconciled {response.get('reconciled', 0)}"
    elif isinstance(response, dict) and "action" in response:
        reason = response.get("reason")
        outcome = f"{response['action']} ({reason})" if reason else str(response["action"])
    else:
        outcome = "ok"
    clock = datetime.now().strftime("%H:%M:%S")
    return (
        f"{clock} {name}  target    {record['function']} ({trigger}, attempt {record['attempt']}): {outcome}"
    )
