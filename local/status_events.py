"""Step Functions' "Execution Status Change" events, emitted locally as AWS sends them.

Step Functions sends an event to the account's default bus whenever a Standard execution's
status changes (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED): source ``aws.states``,
detail-type ``Step Functions Execution Status Change``, ``resources`` = [executionArn], and a
detail with executionArn, stateMachineArn, name, status, startDate, stopDate (epoch
milliseconds), input, inputDetails, output, outputDetails, error, cause.

:class:`StatusChangeEmitter` hooks moto's execution life cycle (a process-wide, class-level
patch of ``moto.stepfunctions.parser.backend.execution``: ``Execution.start`` for RUNNING and
``BaseExecutionWorkerCommunication.terminated`` for the terminal status). The hook only takes
a snapshot of the execution and puts it on a queue; a delivery thread sends it with PutEvents
to the default bus, where moto matches it against the rules (the template's, created by
:mod:`local.event_targets`). So the execution thread never waits for delivery, and delivery
is reliable and in order for an execution. AWS delivers them best effort: :func:`dropping`
loses the events a test chooses, to show what the reconciler's sweep does without them.

The hook itself is :func:`local.moto_patches.install_status_change_hook`, with the other
patches of moto's internals.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from local.moto_patches import install_status_change_hook
from local.template import REGION

__all__ = ["DETAIL_TYPE", "SOURCE", "StatusChangeEmitter", "dropping", "status_change_detail"]

LOG = logging.getLogger(__name__)

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"

_PUT_EVENTS_MAX = 10  # entries per PutEvents call
# The one emitter the class-level hook reports to (one engine per process).
_active: StatusChangeEmitter | None = None
_install_lock = threading.Lock()


def _millis(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _aborted_error_and_cause(execution: Any) -> tuple[str | None, str | None]:
    """StopExecution's error and cause, as the history's ExecutionAborted records them."""
    with contextlib.suppress(Exception):
        for event in reversed(execution.to_history_output()["events"]):
            details = event.get("executionAbortedEventDetails")
            if details is not None:
                return details.get("error") or None, details.get("cause") or None
    return None, None


def status_change_detail(execution: Any) -> dict[str, Any]:
    """The event's detail for a moto parser ``Execution``, at its current status."""
    status = execution.exec_status.value
    error, cause = execution.error, execution.cause
    if status == "ABORTED" and error is None and cause is None:
        error, cause = _aborted_error_and_cause(execution)
    succeeded = status == "SUCCEEDED"
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date) if status != "RUNNING" else None,
        "input": _json_text(execution.input_data),
        "output": _json_text(execution.output) if succeeded else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if succeeded else None,
        "error": error,
        "cause": cause,
    }


def _is_standard(execution: Any) -> bool:
    kind = getattr(execution, "sm_type", None)
    return getattr(kind, "value", kind) == "STANDARD" and type(execution).__name__ == "Execution"


def _report(execution: Any) -> None:
    emitter = _active
    if emitter is None or not _is_standard(execution):
        return
    try:
        emitter.enqueue(status_change_detail(execution))
    except Exception:  # never let our hook break moto's execution thread
        LOG.exception("status change of %s not emitted", getattr(execution, "exec_arn", "?"))


DropRule = Callable[[dict[str, Any]], bool]


@contextlib.contextmanager
def dropping(rule: DropRule) -> Iterator[list[dict[str, Any]]]:
    """While inside, the active emitter loses every status change whose detail ``rule`` picks (as
    AWS may lose one); yields the list of the details lost so far."""
    emitter = _active
    if emitter is None:
        raise RuntimeError("no StatusChangeEmitter is active: start the engine first")
    lost: list[dict[str, Any]] = []
    with emitter.lock:
        emitter.drop_rules.append((rule, lost))
    try:
        yield lost
    finally:
        with emitter.lock:
            emitter.drop_rules = [(r, found) for r, found in emitter.drop_rules if r is not rule]


class StatusChangeEmitter:
    """Queues every status change of a Standard execution; a thread puts them on the default bus."""

    def __init__(self) -> None:
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._events: Any = None
        self.published = 0
        self.lock = threading.Lock()
        self.drop_rules: list[tuple[DropRule, list[dict[str, Any]]]] = []  # see dropping()

    def start(self) -> StatusChangeEmitter:
        global _active
        import boto3

        self._events = boto3.client("events", region_name=REGION)
        install_status_change_hook(_report)
        with _install_lock:
            if _active is not None and _active is not self:
                raise RuntimeError("another StatusChangeEmitter is active in this process")
            _active = self
        self._thread = threading.Thread(target=self._deliver_loop, name="status-change-events", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops reporting; delivers what was queued before, then ends the thread."""
        global _active
        with _install_lock:
            if _active is self:
                _active = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def enqueue(self, detail: dict[str, Any]) -> None:
        with self.lock:
            for rule, lost in self.drop_rules:
                if rule(detail):
                    lost.append(detail)
                    return
        self._queue.put(detail)

    def _deliver_loop(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            # What queued meanwhile goes in the same PutEvents (at most 10 entries, as on AWS):
            # one call per event was a good part of the engine's process under a burst.
            while batch[-1] is not None and len(batch) < _PUT_EVENTS_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = batch[-1] is None
            details = [detail for detail in batch if detail is not None]
            try:
                if details:
                    self._put(details)
            except Exception:
                LOG.exception(
                    "status change events for %s not delivered", [d.get("executionArn") for d in details]
                )

    def _put(self, details: list[dict[str, Any]]) -> None:
        entries = []
        for detail in details:
            millis = detail["stopDate"] or detail["startDate"]
            entry: dict[str, Any] = {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(detail, separators=(",", ":")),
                "Resources": [detail["executionArn"]],
                "EventBusName": "default",
            }
            if millis is not None:
                entry["Time"] = datetime.fromtimestamp(millis / 1000).astimezone()
            entries.append(entry)
        response = self._events.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused events: {response['Entries']}")
        self.published += len(entries)
