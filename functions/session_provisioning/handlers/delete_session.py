"""DeleteSession step: delete a session that will never be announced READY."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.clients import Clients
from session_provisioning.logic.steps import delete_session
from session_provisioning.models.workflow import WorkflowState
from session_provisioning.observability import lambda_entry, logger

client = Clients().nimble  # made during init, before the first event, and kept while warm


@lambda_entry("request.requestId", with_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = WorkflowState.model_validate(event)
    result = delete_session(state, client, time_left=lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("session cleaned up", extra={"action": result.action})
    return result.to_json()
