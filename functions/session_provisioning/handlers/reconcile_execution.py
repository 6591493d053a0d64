"""ReconcileExecution: an execution ended without running its own cleanup and event.

Triggered by EventBridge's "Step Functions Execution Status Change" (ABORTED, TIMED_OUT,
FAILED) for the provisioning state machine; see logic/reconcile.py.
"""

import os
import threading
from collections.abc import Callable
from typing import Any

import botocore.session
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.logic.reconcile import reconcile_execution
from session_provisioning.nimble.client import nimble_client
from session_provisioning.observability import logger, tracer


class _OnFirstUse:
    """A client made on first use. This function runs asynchronously (no caller waits on its
    cold start), and most invocations (a Failed execution whose own event went out) only read
    the history, never needing Nimble Studio or EventBridge."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
        return getattr(self._client, name)


# One botocore session for the three clients (one model loader, one endpoints table) and no
# boto3 import: boto3, a second session for Nimble Studio and clients made up front cost
# ~100 ms of every cold start.
_session = botocore.session.get_session()
sfn = _OnFirstUse(lambda: _session.create_client("stepfunctions"))
events = _OnFirstUse(lambda: _session.create_client("events"))
client = _OnFirstUse(lambda: nimble_client(botocore_session=_session))


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
