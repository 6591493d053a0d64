"""ValidateRequest step: the execution input through the API's model."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.logic.steps import validate_request
from session_provisioning.observability import lambda_entry


@lambda_entry("requestId", with_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return validate_request(event)
