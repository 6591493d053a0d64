"""A streaming session as the emulator keeps it, and how it moves from state to state.

Sessions do not move on their own: each one holds at most one pending :class:`Transition`
with the time it is due, and :meth:`StreamingSession.settle` applies it once the clock has
reached that time. So no background thread exists, and the state seen at any moment is a
pure function of the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.emulator.exceptions import ConflictException, ResourceNotFoundException, ValidationException
from local.emulator.faults import FAILURE_MESSAGES, SessionOutcome

__all__ = [
    "BUSY_STATES",
    "LIVE_STATES",
    "StreamingSession",
    "Transition",
    "arrival",
    "format_timestamp",
    "session_not_found",
]

#: States that hold an instance (count against the per-owner quota).
LIVE_STATES = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "READY",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "STOP_IN_PROGRESS",
        "STOPPED",
        "STOP_FAILED",
        "START_IN_PROGRESS",
        "START_FAILED",
    }
)
#: States in which another operation is under way.
BUSY_STATES = frozenset({"CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "STOP_IN_PROGRESS", "START_IN_PROGRESS"})
#: Every state a session can be forced into.
FORCEABLE_STATES = frozenset({*LIVE_STATES, "DELETED", "CREATE_FAILED"})

STATUS_MESSAGES = {
    "STREAMING_SESSION_CREATE_IN_PROGRESS": "The streaming session is being created.",
    "STREAMING_SESSION_READY": "The streaming session is ready.",
    "STREAMING_SESSION_DELETE_IN_PROGRESS": "The streaming session is being deleted.",
    "STREAMING_SESSION_DELETED": "The streaming session has been deleted.",
    "STREAMING_SESSION_STOP_IN_PROGRESS": "The streaming session is stopping.",
    "STREAMING_SESSION_STOPPED": "The streaming session is stopped.",
    "STREAMING_SESSION_START_IN_PROGRESS": "The streaming session is starting.",
    "STREAMING_SESSION_STARTED": "The streaming session has started and is ready.",
}


def format_timestamp(epoch_seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-11-27T10:00:00.123Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def default_status_code(state: str) -> str:
    return {
        "CREATE_IN_PROGRESS": "STREAMING_SESSION_CREATE_IN_PROGRESS",
        "READY": "STREAMING_SESSION_READY",
        "DELETE_IN_PROGRESS": "STREAMING_SESSION_DELETE_IN_PROGRESS",
        "DELETED": "STREAMING_SESSION_DELETED",
        "STOP_IN_PROGRESS": "STREAMING_SESSION_STOP_IN_PROGRESS",
        "STOPPED": "STREAMING_SESSION_STOPPED",
        "START_IN_PROGRESS": "STREAMING_SESSION_START_IN_PROGRESS",
    }.get(state, "INTERNAL_ERROR")


def status_message_for(status_code: str) -> str:
    """The statusMessage that goes with a statusCode (the code itself when none is known)."""
    return STATUS_MESSAGES.get(status_code) or FAILURE_MESSAGES.get(status_code, status_code)


@dataclass
class Transition:
    """Where a session is heading and when it gets there (None: never)."""

    due_at: float | None
    state: str
    status_code: str
    status_message: str
    actor: str
    marks_started: bool = False
    marks_stopped: bool = False


def arrival(
    now: float, seconds: float, actor: str, state: str, status_code: str, outcome: SessionOutcome | None
) -> Transition | None:
    """The transition ending an operation: the normal one or the injected outcome.

    Arriving normally in READY marks the session started, in STOPPED stopped.
    """
    if outcome is None:
        return Transition(
            now + seconds,
            state,
            status_code,
            STATUS_MESSAGES[status_code],
            actor,
            marks_started=state == "READY",
            marks_stopped=state == "STOPPED",
        )
    if outcome.kind == "NEVER_READY":
        return None
    assert outcome.status_code is not None
    assert outcome.status_message is not None
    return Transition(now + seconds, outcome.kind, outcome.status_code, outcome.status_message, actor)


@dataclass
class StreamingSession:
    session_id: str
    studio_id: str
    sequence: int
    arn: str
    launch_profile_id: str
    streaming_image_id: str
    ec2_instance_type: str
    owned_by: str
    created_by: str
    tags: dict[str, str]
    client_token: str
    created_at: float
    state: str
    status_code: str
    status_message: str
    updated_at: float
    updated_by: str
    pending: Transition | None = None
    started_at: float | None = None
    started_by: str | None = None
    started_from_backup_id: str | None = None
    stopped_at: float | None = None
    stopped_by: str | None = None
    volume_retention_mode: str | None = None
    request_fingerprint: tuple[Any, ...] = field(default=())

    def settle(self, now: float) -> None:
        """Apply the pending transition if it is due."""
        pending = self.pending
        if pending is None or pending.due_at is None or now < pending.due_at:
            return
        self.state = pending.state
        self.status_code = pending.status_code
        self.status_message = pending.status_message
        self.updated_at = pending.due_at
        self.updated_by = pending.actor
        if pending.marks_started:
            self.started_at, self.started_by = pending.due_at, pending.actor
        if pending.marks_stopped:
            self.stopped_at, self.stopped_by = pending.due_at, pending.actor
        self.pending = None

    def begin(
        self, now: float, actor: str, state: str, status_code: str, heading_to: Transition | None
    ) -> None:
        """Enter an in-progress state now, heading for ``heading_to`` (None: stay for ever)."""
        self.force(now, actor, state, status_code, STATUS_MESSAGES[status_code])
        self.pending = heading_to

    def force(self, now: float, actor: str, state: str, status_code: str, message: str) -> None:
        """Be in this state now, whatever was pending."""
        self.state, self.status_code, self.status_message = state, status_code, message
        self.updated_at, self.updated_by = now, actor
        self.pending = None

    def require_state(self, action: str, allowed: tuple[str, ...]) -> None:
        """Refuse ``action`` unless in one of ``allowed``: a conflict while busy, else invalid."""
        if self.state in allowed:
            return
        context = {"sessionId": self.session_id, "state": self.state}
        if self.state in BUSY_STATES:
            raise ConflictException(
                f"Cannot {action} streaming session {self.session_id}: another operation is in "
                f"progress (state {self.state}).",
                context,
            )
        raise ValidationException(
            f"Cannot {action} streaming session {self.session_id} in state {self.state}; "
            f"allowed in {', '.join(allowed)}.",
            context,
        )

    def fault_attributes(self) -> dict[str, str | None]:
        return {
            "studioId": self.studio_id,
            "sessionId": self.session_id,
            "ownedBy": self.owned_by,
            "createdBy": self.created_by,
            "clientToken": self.client_token,
            "launchProfileId": self.launch_profile_id,
            "ec2InstanceType": self.ec2_instance_type,
        }

    def to_wire(self) -> dict[str, Any]:
        """The StreamingSession structure, null members omitted."""
        body: dict[str, Any] = {
            "arn": self.arn,
            "automaticTerminationMode": "DEACTIVATED",
            "backupMode": "DEACTIVATED",
            "createdAt": format_timestamp(self.created_at),
            "createdBy": self.created_by,
            "ec2InstanceType": self.ec2_instance_type,
            "launchProfileId": self.launch_profile_id,
            "maxBackupsToRetain": 0,
            "ownedBy": self.owned_by,
            "sessionId": self.session_id,
            "sessionPersistenceMode": "DEACTIVATED",
            "startedAt": self.started_at,
            "startedBy": self.started_by,
            "startedFromBackupId": self.started_from_backup_id,
            "state": self.state,
            "statusCode": self.status_code,
            "statusMessage": self.status_message,
            "stoppedAt": self.stopped_at,
            "stoppedBy": self.stopped_by,
            "streamingImageId": self.streaming_image_id,
            "tags": dict(self.tags) if self.tags else None,
            "updatedAt": format_timestamp(self.updated_at),
            "updatedBy": self.updated_by,
            "volumeRetentionMode": self.volume_retention_mode,
        }
        for key in ("startedAt", "stoppedAt"):
            if body[key] is not None:
                body[key] = format_timestamp(body[key])
        return {key: value for key, value in body.items() if value is not None}


def session_not_found(session_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"Streaming session {session_id!r} not found.",
        {"resourceType": "streamingSession", "resourceId": session_id},
    )
