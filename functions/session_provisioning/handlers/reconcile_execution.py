"""ReconcileExecution: an execution ended without running its own cleanup and event.

Two triggers, one function (one role, one dead-letter queue, one alarm):

* EventBridge's "Step Functions Execution Status Change" (ABORTED, TIMED_OUT, FAILED) for the
  provisioning state machine: that execution is reconciled (logic/reconcile.py);
* the schedule's "Scheduled Event": the sweep (logic/sweep.py) reconciles every execution that
  ended within the look-back window and that no status-change event has reconciled.
"""

import os
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.clients import Clients
from session_provisioning.clock import utc_now
from session_provisioning.logic.announcements import RETENTION_MARGIN, AnnouncementsTable
from session_provisioning.logic.outcome import CANCELLED_CODE
from session_provisioning.logic.reconcile import reconcile_execution
from session_provisioning.logic.sweep import RECONCILIATION_RESERVE_SECONDS, sweep_executions
from session_provisioning.models.reconciliation import SweepSettings
from session_provisioning.observability import count_once, lambda_entry, logger

SCHEDULED_EVENT = "Scheduled Event"

# Made on the first invocation rather than during init: this function runs asynchronously, so no
# caller waits on either. No state machine retries its Nimble calls: the SDK does (standard mode,
# throttling and 5xx with backoff), so that one throttled call of the several a reconciliation
# makes does not fail it whole (Lambda's two async retries would not cover a busy service).
aws = Clients(nimble_attempts=5)


class SweepIncomplete(RuntimeError):
    """Some reconciliations of a sweep raised: the run fails, so Lambda retries it, then its record
    lands in the dead-letter queue (alarmed). The others were done; markers make the rerun cheap."""


@lambda_entry("detail.name", with_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = SweepSettings(
        state_machine_arn=os.environ["STATE_MACHINE_ARN"],
        look_back_minutes=int(os.environ["SWEEP_LOOK_BACK_MINUTES"]),
        max_reconciliations=int(os.environ["SWEEP_MAX_RECONCILIATIONS"]),
    )
    announcements = AnnouncementsTable(
        client=aws.dynamodb,
        name=os.environ["ANNOUNCEMENTS_TABLE"],
        retention=timedelta(minutes=settings.look_back_minutes) + RETENTION_MARGIN,
    )

    def reconcile(detail: dict[str, Any], *, reserve: float = 0.0) -> dict[str, Any]:
        result = reconcile_execution(
            detail,
            sfn_client=aws.step_functions,
            nimble_client=aws.nimble,
            events_client=aws.events,
            announcements=announcements,
            claimer=context.aws_request_id,  # the same on Lambda's retries of this invocation
            event_bus_name=os.environ["EVENT_BUS_NAME"],
            event_source=os.environ["EVENT_SOURCE"],
            time_left=lambda: context.get_remaining_time_in_millis() / 1000 - reserve,
        )
        logger.info("execution reconciled", extra={"status": detail.get("status"), **result})
        if result.get("code") == CANCELLED_CODE:
            # A cancel is the caller's choice, not a failure: never SessionsFailed.
            count_once(name="SessionsCancelled")
        return result

    if event.get("detail-type") != SCHEDULED_EVENT:
        return reconcile(event["detail"])

    swept = sweep_executions(
        settings,
        sfn_client=aws.step_functions,
        announcements=announcements,
        # Each reconciliation leaves the time the next one needs to start.
        reconcile=lambda detail: reconcile(detail, reserve=RECONCILIATION_RESERVE_SECONDS),
        now=utc_now(),
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        on_failure=lambda arn, error: logger.exception("reconciliation failed", extra={"executionArn": arn}),
    )
    logger.info(
        "sweep done",
        extra={
            "swept": swept.swept,
            "settled": swept.settled,
            "reconciled": swept.reconciled,
            "leftAlone": swept.left_alone,
            "deferred": swept.deferred,
            "failed": swept.failed,
        },
    )
    count_once(name="ExecutionsSwept", value=swept.swept)
    # Non-zero: executions whose status-change event was lost (or late): the backstop worked.
    count_once(name="ExecutionsReconciledBySweep", value=swept.reconciled)
    if swept.failed:
        raise SweepIncomplete(f"{len(swept.failed)} reconciliations failed: {swept.failed}")
    return swept.to_json()
