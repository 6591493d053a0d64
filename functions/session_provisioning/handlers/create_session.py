"""CreateSession step: CreateStreamingSession with the request's client token."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.logic.steps import create_session
from session_provisioning.models.workflow import WorkflowState
from session_provisioning.nimble.client import nimble_client
from session_provisioning.observability import logger, metrics, tracer

# Created once per execution environment and reused by warm invocations.
client = nimble_client()


@logger.inject_lambda_context(correlation_id_path="request.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = WorkflowState.model_validate(event)
    created = create_session(state, client)
    logger.info("session created", extra={"sessionId": created.session_id, "state": created.session.state})
    metrics.add_metric(name="SessionsRequested", unit=MetricUnit.Count, value=1)
    return created.to_json()
