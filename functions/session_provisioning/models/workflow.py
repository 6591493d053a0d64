"""The state machine's data: what each step reads from the execution state and what it returns.

The state grows as the execution goes (ResultPath in the ASL names where each piece lands):
    request   <- ValidateRequest   (ProvisioningRequest)
    polling   <- ValidateRequest   (PollingPolicy, from DefinitionSubstitutions)
    schedule  <- ValidateRequest   (Schedule for a readyBy request, null otherwise;
                                    MarkDelayedPublished sets its delayedPublished)
    attempt   <- ValidateRequest, then StartNextAttempt (Attempt: the token and type to send)
    attempts  <- StartNextAttempt  (the finished attempts, AttemptRecord; absent before a fallback)
    slots     <- ReserveCallSlots  (ReservedSlots: when CreateSession and the first poll may call)
    created   <- CreateSession     (CreatedSession)
    poll      <- PollSession       (PollResult)
    caught    <- any Catch         ({StateName: {"Error", "Cause"}})
    cleanup   <- DeleteSession     (CleanupResult, or the caught error)
    failure   <- DescribeFailure   (FailureDescription)
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, computed_field, field_validator, model_validator

from session_provisioning.models.attempts import Attempt, AttemptRecord, attempt_client_token
from session_provisioning.models.base import IsoTime, WireModel
from session_provisioning.models.request import ClientToken, SessionRequestBody, StudioId
from session_provisioning.models.session import StreamingSession


class StateModel(WireModel):
    # ignore: each step reads its part of the state and leaves the rest to the others.
    model_config = ConfigDict(extra="ignore")


class ProvisioningRequest(SessionRequestBody):
    """A validated request with its identity; what every later step and both events carry.

    The body's members (and their constraints) come from SessionRequestBody; the state is read
    back from JSON by every step, hence lax (times as text) and tolerant of other members.
    """

    model_config = ConfigDict(strict=False, extra="ignore", frozen=False)

    request_id: str
    requested_at: IsoTime
    studio_id: StudioId
    client_token: ClientToken

    def identifiers(self) -> dict[str, Any]:
        """What both events (and the Fail cause) name the request by."""
        return {
            "clientToken": self.client_token,
            "studioId": self.studio_id,
            "launchProfileId": self.launch_profile_id,
            "ownedBy": self.owned_by,
        }

    def first_attempt(self) -> Attempt:
        """Attempt 0: the request's own token and type, so a request without fallbacks sends
        exactly what it always did."""
        return Attempt(index=0, ec2InstanceType=self.ec2_instance_type, clientToken=self.client_token)

    def attempt_at(self, index: int) -> Attempt | None:
        """Attempt `index` (0: ec2InstanceType, then each fallback in order), None past the last."""
        if index == 0:
            return self.first_attempt()
        fallbacks = self.fallback_instance_types or []
        if index > len(fallbacks):
            return None
        return Attempt(
            index=index,
            ec2InstanceType=fallbacks[index - 1],
            clientToken=attempt_client_token(self.client_token, index),
        )

    def create_parameters(self, attempt: Attempt | None = None) -> dict[str, Any]:
        """CreateStreamingSession's parameters for `attempt` (its own client token and type)."""
        attempt = attempt or self.first_attempt()
        parameters = {"studioId": self.studio_id, "clientToken": attempt.client_token, **self.to_nimble()}
        if attempt.ec2_instance_type is not None:
            parameters["ec2InstanceType"] = attempt.ec2_instance_type
        return parameters


# Step Functions Standard: at most 25,000 events in one execution's history. One poll cycle
# writes 9 (Wait entered/exited; Task entered/scheduled/started/succeeded/exited; Choice
# entered/exited); the rest of the workflow, retries included, stays well under 500.
MAX_HISTORY_EVENTS = 25_000
HISTORY_EVENTS_PER_POLL = 9
HISTORY_EVENTS_OUTSIDE_POLLING = 500
# A capacity fallback adds, per attempt, its poll loop and what surrounds it: CreateSession
# (with its retries), the first Wait, DescribeFailure, the Choice and the Pass that start the next
# attempt; 100 leaves room for every retry the definition allows.
HISTORY_EVENTS_PER_ATTEMPT = 100


class PollingPolicy(StateModel):
    """How the Wait/PollSession loop paces itself; template parameters, never code."""

    initial_wait_seconds: int = Field(ge=0)
    interval_seconds: int = Field(ge=0)
    checks_per_poll: int = Field(default=1, ge=1)
    budget_seconds: int = Field(ge=0)

    @model_validator(mode="after")
    def _fits_in_one_execution(self) -> PollingPolicy:
        # A Standard execution stops at 25,000 history events, with no event published and the
        # session left running: refuse a policy whose poll loop could get there.
        polls = math.ceil(self.max_checks / self.checks_per_poll)
        if polls * HISTORY_EVENTS_PER_POLL + HISTORY_EVENTS_OUTSIDE_POLLING > MAX_HISTORY_EVENTS:
            raise ValueError(
                f"{polls} poll cycles would exceed the {MAX_HISTORY_EVENTS:,} history events of one "
                "execution: raise intervalSeconds or checksPerPoll, or lower budgetSeconds"
            )
        return self

    @property
    def polls(self) -> int:
        """PollSession invocations one attempt's budget allows at most."""
        return math.ceil(self.max_checks / self.checks_per_poll)

    def attempts_that_fit(self) -> int:
        """Attempts (each with its own poll budget) one execution's history has room for."""
        per_attempt = self.polls * HISTORY_EVENTS_PER_POLL + HISTORY_EVENTS_PER_ATTEMPT
        return (MAX_HISTORY_EVENTS - HISTORY_EVENTS_OUTSIDE_POLLING) // per_attempt

    @computed_field(alias="maxChecks")
    @property
    def max_checks(self) -> int:
        """GetStreamingSession calls the budget allows: one after the initial wait, then one per interval."""
        after_first = max(self.budget_seconds - self.initial_wait_seconds, 0)
        if self.interval_seconds == 0:
            return 1 + after_first
        return 1 + math.floor(after_first / self.interval_seconds)


class CreatedSession(StateModel):
    session_id: str
    session: StreamingSession


class PollOutcome(StrEnum):
    READY = "READY"
    PENDING = "PENDING"
    FAILED = "FAILED"  # CREATE_FAILED or START_FAILED: the service said no
    UNEXPECTED = "UNEXPECTED"  # any other state (DELETED, STOPPED, ...): someone else acted
    TIMED_OUT = "TIMED_OUT"  # the poll budget ran out while still pending


class ReservedSlots(StateModel):
    """Slots of the account-wide call schedule (logic.schedule), as the Wait states read them."""

    create_at: IsoTime = Field(description="CreateStreamingSession's slot (WaitForCreateSlot)")
    first_poll_at: IsoTime = Field(description="The first GetStreamingSession's slot (WaitBeforeFirstPoll)")


class Schedule(StateModel):
    """`$.schedule`, for readyBy requests only."""

    ready_by: str = Field(description="UTC, whole seconds, Z.")
    provisioning_starts_at: str = Field(description="readyBy minus the lead time: what the Wait waits for.")
    lead_seconds: int = Field(ge=0)
    delayed_published: bool = Field(default=False, description="Set by MarkDelayedPublished.")


class PollResult(StateModel):
    outcome: PollOutcome
    checks: int = Field(ge=0, description="GetStreamingSession calls made so far, over all polls")
    session: StreamingSession
    next_poll_at: IsoTime | None = Field(
        default=None, description="PENDING: the next GetStreamingSession's reserved slot (WaitBetweenPolls)"
    )
    detail: dict[str, Any] | None = Field(
        default=None, description="The Streaming Session Ready event's detail, when READY"
    )
    delayed: dict[str, Any] | None = Field(
        default=None,
        description="The Streaming Session Delayed event's detail, once readyBy passed while pending",
    )


class CleanupResult(StateModel):
    """What DeleteSession did to a session that will never be READY."""

    action: str = Field(description="DELETED, ALREADY_GONE, DELETE_REQUESTED or NOT_CREATED")
    state: str | None = None


class CaughtError(StateModel):
    """What a Catch puts at its ResultPath: Step Functions' error name and cause."""

    error: str = Field(alias="Error")
    cause: str | None = Field(default=None, alias="Cause")

    @field_validator("cause", mode="before")
    @classmethod
    def _cause_as_text(cls, value: Any) -> Any:
        # Step Functions gives text; anything else is kept, as JSON text, rather than refused
        # (a refusal here would stop the cleanup that reads this state).
        return value if value is None or isinstance(value, str) else json.dumps(value, default=str)


class WorkflowState(StateModel):
    """The execution state; each member is written by the step its description names."""

    request: ProvisioningRequest = Field(description="ValidateRequest")
    polling: PollingPolicy | None = Field(default=None, description="ValidateRequest")
    slots: ReservedSlots | None = Field(default=None, description="ReserveCallSlots")
    schedule: Schedule | None = Field(default=None, description="ValidateRequest (readyBy requests)")
    attempt: Attempt | None = Field(default=None, description="ValidateRequest or StartNextAttempt")
    attempts: list[AttemptRecord] = Field(default_factory=list, description="StartNextAttempt")
    created: CreatedSession | None = Field(default=None, description="CreateSession or FindCreatedSession")
    poll: PollResult | None = Field(default=None, description="PollSession")
    caught: dict[str, CaughtError] | None = Field(default=None, description="any Catch, by state name")
    cleanup: CleanupResult | CaughtError | None = Field(
        default=None, description="DeleteSession (or its Catch)"
    )

    def current_attempt(self) -> Attempt:
        """The attempt being made (attempt 0 for a state written before attempts existed)."""
        return self.attempt or self.request.first_attempt()
