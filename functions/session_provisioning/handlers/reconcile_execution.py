"""ReconcileExecution: an execution ended without running its own cleanup and event.

Triggered by EventBridge's "Step Functions Execution Status Change" (ABORTED, TIMED_OUT,
FAILED) for the provisioning state machine; see logic/reconcile.py.
"""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.clients import Clients
from session_provisioning.logic.outcome import CANCELLED_CODE
from session_provisioning.logic.reconcile import reconcile_execution
from session_provisioning.observability import count_once, lambda_entry, logger

# Made on the first invocation rather than during init: this function runs asynchronously, so no
# caller waits on either. No state machine retries its Nimble calls: the SDK does (standard mode,
# throttling and 5xx with backoff), so that one throttled call of the several a reconciliation
# makes does not fail it whole (Lambda's two async retries would not cover a busy service).
aws = Clients(nimble_attempts=5)


@lambda_entry("detail.name", with_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = reconcile_execution(
        event["detail"],
        sfn_client=aws.step_functions,
        nimble_client=aws.nimble,
        events_client=aws.events,
        event_bus_name=os.environ["EVENT_BUS_NAME"],
        event_source=os.environ["EVENT_SOURCE"],
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    logger.info("execution reconciled", extra={"status": event["detail"].get("status"), **result})
    if result.get("code") == CANCELLED_CODE:
        # A cancel is the caller's choice, not a failure: never SessionsFailed.
        count_once(name="SessionsCancelled")
    return result
