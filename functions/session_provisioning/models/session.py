"""Nimble Studio's StreamingSession, as our steps read it from the SDK and pass it on."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from session_provisioning.models.base import IsoTime, WireModel

# States a session passes through on the way to READY: keep polling while in one of these.
PENDING_STATES = frozenset({"CREATE_IN_PROGRESS", "START_IN_PROGRESS"})
# The waiter StreamingSessionReady's failure states: the session will never be READY.
FAILED_STATES = frozenset({"CREATE_FAILED", "START_FAILED"})
READY_STATE = "READY"


class VolumeConfiguration(WireModel):
    model_config = ConfigDict(extra="allow")
    iops: int | None = None
    size: int | None = None
    throughput: int | None = None


class StreamingSession(WireModel):
    """Every member of the service's StreamingSession; timestamps as ISO 8601 strings on output."""

    # allow: a member the service adds later is carried through, not dropped.
    model_config = ConfigDict(extra="allow")

    session_id: str
    state: str
    arn: str | None = None
    automatic_termination_mode: str | None = None
    backup_mode: str | None = None
    created_at: IsoTime | None = None
    created_by: str | None = None
    ec2_instance_type: str | None = None
    launch_profile_id: str | None = None
    max_backups_to_retain: int | None = None
    owned_by: str | None = None
    session_persistence_mode: str | None = None
    started_at: IsoTime | None = None
    started_by: str | None = None
    started_from_backup_id: str | None = None
    status_code: str | None = None
    status_message: str | None = None
    stop_at: IsoTime | None = None
    stopped_at: IsoTime | None = None
    stopped_by: str | None = None
    streaming_image_id: str | None = None
    tags: dict[str, str] | None = None
    terminate_at: IsoTime | None = None
    updated_at: IsoTime | None = None
    updated_by: str | None = None
    volume_configuration: VolumeConfiguration | None = None
    volume_retention_mode: str | None = None

    @classmethod
    def from_sdk(cls, session: dict[str, Any]) -> StreamingSession:
        return cls.model_validate(session)
