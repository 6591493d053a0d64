"""The sample subscriber's logic: what a Streaming Session Ready event tells its consumer.

SessionReadyConsumerFunction (template.yaml) is an example of a downstream system, such as
a notifier telling the artist that the workstation is ready. It receives the events of a rule
on the bus (`source` = the stack's EventSource, `detail-type` = Streaming Session Ready), and
for each one:

* parses it with Powertools' parser into :class:`SessionReadyEvent`, whose `detail` is the
  very model the workflow publishes (`ReadyDetail`): an event that does not match fails the
  invocation, so after Lambda's retries it lands in the dead-letter queue instead of being
  half-handled;
* logs one line naming the request, the session, its studio, launch profile and owner (ids
  only: no session object, no tags);
* emits the metrics ReadyEventsConsumed (count) and ReadyEventAge (seconds from the event's
  `time` to its handling: how late subscribers hear of a ready session), or ReadyEventsReplayed
  for an event replayed from the bus archive, which was already counted the first time.

Delivery is at least once (EventBridge and Lambda both retry): whatever a real consumer does
should be keyed on `requestId` or `sessionId`, which identify one session however many times
its event arrives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import ConfigDict, Field

from session_provisioning.models.base import WireModel
from session_provisioning.models.events import ReadyDetail

READY_EVENT_TYPE = Literal["Streaming Session Ready"]


class SessionReadyEvent(EventBridgeModel):
    """A Streaming Session Ready event as EventBridge delivers it to a Lambda target."""

    # A rejected event's values (owner, tags, the session) stay out of the error message, which
    # Lambda and Powertools log: the message names the offending members only.
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    detail_type: READY_EVENT_TYPE = Field(alias="detail-type")
    detail: ReadyDetail


class ReadyNotice(WireModel):
    """What the consumer made of one event (its log line and its answer)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    request_id: str
    session_id: str
    studio_id: str | None = None
    launch_profile_id: str | None = None
    owned_by: str | None = None
    seconds_to_ready: float = Field(description="From the request to READY.")
    event_age_seconds: float = Field(description="From the event's time to now.")
    replay_name: str | None = None

    @property
    def replayed(self) -> bool:
        return self.replay_name is not None


def ready_notice(event: SessionReadyEvent, now: datetime) -> ReadyNotice:
    """The notice for one parsed event; `now` is when it is handled (timezone-aware)."""
    detail = event.detail
    return ReadyNotice(
        eventId=event.id,
        requestId=detail.request_id,
        sessionId=detail.session_id,
        studioId=detail.studio_id,
        launchProfileId=detail.launch_profile_id,
        ownedBy=detail.owned_by,
        secondsToReady=detail.timings.seconds_elapsed,
        eventAgeSeconds=round(max((now - event.time).total_seconds(), 0.0), 3),
        replayName=event.replay_name,
    )
