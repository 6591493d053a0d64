"""SessionReadyConsumerFunction: a sample subscriber to Streaming Session Ready events.

What it does and why is in session_provisioning.logic.consumer.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.logic.consumer import SessionReadyEvent, ready_notice
from session_provisioning.observability import lambda_entry, logger, metrics


@lambda_entry("detail.requestId")
@event_parser(model=SessionReadyEvent)
def lambda_handler(event: SessionReadyEvent, context: LambdaContext) -> dict[str, Any]:
    notice = ready_notice(event, datetime.now(UTC))
    logger.info(
        "streaming session ready",
        extra={
            "eventId": notice.event_id,
            "sessionId": notice.session_id,
            "studioId": notice.studio_id,
            "launchProfileId": notice.launch_profile_id,
            "ownedBy": notice.owned_by,
            "secondsToReady": notice.seconds_to_ready,
            "eventAgeSeconds": notice.event_age_seconds,
            "replayName": notice.replay_name,
        },
    )
    if notice.replayed:
        metrics.add_metric(name="ReadyEventsReplayed", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="ReadyEventsConsumed", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ReadyEventAge", unit=MetricUnit.Seconds, value=notice.event_age_seconds)
    return notice.to_json()
