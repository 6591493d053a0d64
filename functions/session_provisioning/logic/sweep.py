"""The backstop of the status-change events: a scheduled sweep of executions that ended unannounced.

Step Functions delivers "Execution Status Change" events best effort, and the reconciler
(logic/reconcile.py) only runs when one arrives. On a schedule, the sweep lists the executions
of the state machine that ended ABORTED, TIMED_OUT or FAILED within the look-back window and
reconciles each one the announcements table does not already settle, exactly as the event
would have. Whichever comes first publishes; the other finds the marker (or the history's
published event) and does nothing.

Bounds: ListExecutions returns the newest executions first, so the listing of each status
stops at the first execution that started before the window minus the longest an execution
can run (it cannot have ended inside the window); at most ``max_reconciliations`` executions
are reconciled per run, and none is started once the invocation's time runs short. What is
left over is counted as deferred: it stays in the window for the next runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from session_provisioning.logic.announcements import AnnouncementsTable, read_marker
from session_provisioning.models.reconciliation import SweepResult, SweepSettings

ENDED_UNANNOUNCED = ("ABORTED", "TIMED_OUT", "FAILED")
#: The definition's TimeoutSeconds (statemachine/provision_session.asl.json): no execution runs
#: longer, so one that started before the window minus this cannot have ended inside it.
MAX_EXECUTION_SECONDS = 673_200  # 7 days of readyBy wait + 6 attempts x 3 h + 1 h
#: Time a reconciliation may need (a deletion followed to DELETED): none starts with less left.
RECONCILIATION_RESERVE_SECONDS = 30.0

Reconcile = Callable[[dict[str, Any]], dict[str, Any]]


def ended_within(sfn_client: Any, state_machine_arn: str, since: datetime) -> Iterator[dict[str, Any]]:
    """ListExecutions items of the statuses the reconciler handles that stopped at or after `since`."""
    oldest_start = since - timedelta(seconds=MAX_EXECUTION_SECONDS)
    paginator = sfn_client.get_paginator("list_executions")
    for status in ENDED_UNANNOUNCED:
        for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter=status):
            items = page["executions"]
            yield from (item for item in items if _stopped_since(item, since))
            if items and items[-1]["startDate"] < oldest_start:
                break  # newest first: the next pages started even earlier


def _stopped_since(item: dict[str, Any], since: datetime) -> bool:
    stopped = item.get("stopDate")
    if stopped is None:  # AWS always names it for an ended execution; moto not for TIMED_OUT
        return item["startDate"] >= since - timedelta(seconds=MAX_EXECUTION_SECONDS)
    return stopped >= since


def status_change_detail(description: dict[str, Any]) -> dict[str, Any]:
    """DescribeExecution's answer in the shape of the status-change event's detail."""
    detail = {
        key: description.get(key)
        for key in ("executionArn", "stateMachineArn", "name", "status", "input", "error", "cause")
    }
    for key in ("startDate", "stopDate"):
        moment = description.get(key)
        detail[key] = int(moment.timestamp() * 1000) if isinstance(moment, datetime) else None
    return detail


def sweep_executions(
    settings: SweepSettings,
    *,
    sfn_client: Any,
    announcements: AnnouncementsTable,
    reconcile: Reconcile,
    now: datetime,
    time_left: Callable[[], float] = lambda: math.inf,
    on_failure: Callable[[str, Exception], None] = lambda arn, error: None,
) -> SweepResult:
    """One run of the sweep; `reconcile` is the event path's reconciliation of one detail."""
    result = SweepResult()
    since = now - timedelta(minutes=settings.look_back_minutes)
    for item in ended_within(sfn_client, settings.state_machine_arn, since):
        result.swept += 1
        execution_arn = item["executionArn"]
        marker = read_marker(announcements, execution_arn)
        if marker is not None and marker.state != "CLAIMED":
            result.settled += 1
            continue
        attempted = result.reconciled + result.left_alone + len(result.failed)
        if attempted >= settings.max_reconciliations or time_left() < RECONCILIATION_RESERVE_SECONDS:
            result.deferred += 1
            continue
        try:
            detail = status_change_detail(sfn_client.describe_execution(executionArn=execution_arn))
            outcome = reconcile(detail)
        except Exception as error:  # the others still get their turn; the run then fails (see handler)
            on_failure(execution_arn, error)
            result.failed.append(execution_arn)
            continue
        if outcome.get("action") == "ANNOUNCED":
            result.reconciled += 1
        else:
            result.left_alone += 1
    return result
