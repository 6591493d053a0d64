"""ReserveCallSlots step: CreateStreamingSession's and the first poll's slots in the account-wide schedule."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.clients import Clients
from session_provisioning.logic.schedule import reserve_slots, scheduler_from_settings
from session_provisioning.models.schedule import CallScheduleSettings
from session_provisioning.models.workflow import WorkflowState
from session_provisioning.observability import lambda_entry, logger

clients = Clients()
scheduler = scheduler_from_settings(
    CallScheduleSettings.from_environment(os.environ), lambda: clients.dynamodb
)


@lambda_entry("request.requestId", with_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    slots = reserve_slots(WorkflowState.model_validate(event), scheduler).to_json()
    logger.info(
        "call slots reserved", extra={"createAt": slots["createAt"], "firstPollAt": slots["firstPollAt"]}
    )
    return slots
