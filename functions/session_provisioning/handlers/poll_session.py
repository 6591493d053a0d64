"""PollSession step: GetStreamingSession and classify the session's state."""

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.clients import Clients
from session_provisioning.logic.ready_by import provisioning_seconds
from session_provisioning.logic.schedule import scheduler_from_settings
from session_provisioning.logic.steps import poll_session
from session_provisioning.models.schedule import CallScheduleSettings
from session_provisioning.models.workflow import PollOutcome, WorkflowState
from session_provisioning.observability import lambda_entry, logger, metrics

clients = Clients()
client = clients.nimble  # made during init, before the first event, and kept while warm
scheduler = scheduler_from_settings(
    CallScheduleSettings.from_environment(os.environ), lambda: clients.dynamodb
)


@lambda_entry("request.requestId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = WorkflowState.model_validate(event)
    result = poll_session(
        state,
        client,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        scheduler=scheduler,
    )
    checks_before = state.poll.checks if state.poll else 0
    metrics.add_metric(name="SessionChecks", unit=MetricUnit.Count, value=result.checks - checks_before)
    logger.info(
        "session polled",
        extra={
            "sessionId": result.session.session_id,
            "state": result.session.state,
            "outcome": result.outcome.value,
            "checks": result.checks,
            "nextPollAt": result.to_json().get("nextPollAt"),
        },
    )
    if result.outcome is PollOutcome.READY:
        metrics.add_metric(name="SessionsReady", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="PollsPerSession", unit=MetricUnit.Count, value=result.checks)
        metrics.add_metric(
            name="TimeToReady", unit=MetricUnit.Seconds, value=result.detail["timings"]["secondsElapsed"]
        )
        # By instance type, for choosing ReadyByLeadSeconds from its p95 (README, readyBy). A
        # dimension of this one metric only: single_metric flushes it by itself.
        seconds = provisioning_seconds(result.session, result.detail["timings"]["readyAt"])
        if seconds is not None and not is_metrics_disabled():
            with single_metric(
                name="ProvisioningSeconds",
                unit=MetricUnit.Seconds,
                value=seconds,
                namespace=metrics.namespace,
            ) as metric:
                metric.add_dimension(
                    name="Ec2InstanceType", value=result.session.ec2_instance_type or "default"
                )
    return result.to_json()
