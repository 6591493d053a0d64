"""ReconcileExecution: an execution ended without running its own cleanup and event.

Triggered by EventBridge's "Step Functions Execution Status Change" (ABORTED, TIMED_OUT,
FAILED) for the provisioning state machine; see logic/reconcile.py.
"""

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.logic.reconcile import reconcile_execution
from session_provisioning.nimble.client import nimble_client
from session_provisioning.observability import logger, tracer

sfn = boto3.client("stepfunctions")
events = boto3.client("events")
client = nimble_client()


@logger.inject_lambda_context(correlation_id_path="detail.name")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = reconcile_execution(
        event["detail"],
        sfn_client=sfn,
        nimble_client=client,
        events_client=events,
        event_bus_name=os.environ["EVENT_BUS_NAME"],
        event_source=os.environ["EVENT_SOURCE"],
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    logger.info("execution reconciled", extra={"status": event["detail"].get("status"), **result})
    return result
