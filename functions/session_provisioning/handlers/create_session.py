"""CreateSession step: CreateStreamingSession with the request's client token."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.clients import Clients
from session_provisioning.logic.steps import create_session
from session_provisioning.models.workflow import WorkflowState
from session_provisioning.observability import lambda_entry, logger, metrics

client = Clients().nimble  # made during init, before the first event, and kept while warm


@lambda_entry("request.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = WorkflowState.model_validate(event)
    created = create_session(state, client)
    logger.info("session created", extra={"sessionId": created.session_id, "state": created.session.state})
    metrics.add_metric(name="SessionsRequested", unit=MetricUnit.Count, value=1)
    return created.to_json()
