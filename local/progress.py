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


def describe_event(event: dict[str, Any]) -> str | None:
    """One line for a history event worth telling a person about, else None."""
    kind = event.get("type", "")
    if kind == "ExecutionStarted":
        execution_input = _json(event["executionStartedEventDetails"].get("input"))
        request = execution_input.get("request") or {}
        return (
            f"accepted  studio={execution_input.get('studioId')} "
            f"launchProfile={request.get('launchProfileId')} token={execution_input.get('clientToken')}"
        )
    if kind == "TaskStateExited":
        details = event["stateExitedEventDetails"]
        output = _json(details.get("output"))
        name = details["name"]
        if name == "CreateSession":
            created = output.get("created") or {}
            session = created.get("session") or {}
            return f"created   {created.get('sessionId')} ({session.get('state')})"
        if name == "PollSession":
            poll = output.get("poll") or {}
            session = poll.get("session") or {}
            return f"polled    {session.get('state')} (check {poll.get('checks')}, {poll.get('outcome')})"
        if name == "DeleteSession":
            cleanup = output.get("cleanup") or {}
            return f"cleanup   {cleanup.get('action') or cleanup.get('Error')}"
        return None
    if kind == "TaskFailed":
        details = event.get("taskFailedEventDetails") or {}
        return f"error     {details.get('error')} (retried or caught by the state machine)"
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
            line = describe_event(event)
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
    elif isinstance(response, dict) and "action" in response:
        reason = response.get("reason")
        outcome = f"{response['action']} ({reason})" if reason else str(response["action"])
    else:
        outcome = "ok"
    clock = datetime.now().strftime("%H:%M:%S")
    return (
        f"{clock} {name}  target    {record['function']} ({trigger}, attempt {record['attempt']}): {outcome}"
    )
