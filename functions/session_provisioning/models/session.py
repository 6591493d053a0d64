"""Nimble Studio's StreamingSession, as our steps read it from the SDK and pass it on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

# States a session passes through on the way to READY: keep polling while in one of these.
PENDING_STATES = frozenset({"CREATE_IN_PROGRESS", "START_IN_PROGRESS"})
# The waiter StreamingSessionReady's failure states: the session will never be READY.
FAILED_STATES = frozenset({"CREATE_FAILED", "START_FAILED"})
READY_STATE = "READY"


class VolumeConfiguration(BaseModel):
    model_config = ConfigDict(extra="allow", hide_input_in_errors=True)
    iops: int | None = None
    size: int | None = None
    throughput: int | None = None


class StreamingSession(BaseModel):
    """Every member of the service's StreamingSession; timestamps as ISO 8601 strings on output."""

    # allow: a member the service adds later is carried through, not dropped.
    model_config = ConfigDict(extra="allow", populate_by_name=True, hide_input_in_errors=True)

    session_id: str = Field(alias="sessionId")
    state: str = Field(alias="state")
    arn: str | None = None
    automatic_termination_mode: str | None = Field(default=None, alias="automaticTerminationMode")
    backup_mode: str | None = Field(default=None, alias="backupMode")
    created_at: datetime | None = Field(default=None, alias="createdAt")
    created_by: str | None = Field(default=None, alias="createdBy")
    ec2_instance_type: str | None = Field(default=None, alias="ec2InstanceType")
    launch_profile_id: str | None = Field(default=None, alias="launchProfileId")
    max_backups_to_retain: int | None = Field(default=None, alias="maxBackupsToRetain")
    owned_by: str | None = Field(default=None, alias="ownedBy")
    session_persistence_mode: str | None = Field(default=None, alias="sessionPersistenceMode")
    started_at: datetime | None = Field(default=None, alias="startedAt")
    started_by: str | None = Field(default=None, alias="startedBy")
    started_from_backup_id: str | None = Field(default=None, alias="startedFromBackupId")
    status_code: str | None = Field(default=None, alias="statusCode")
    status_message: str | None = Field(default=None, alias="statusMessage")
    stop_at: datetime | None = Field(default=None, alias="stopAt")
    stopped_at: datetime | None = Field(default=None, alias="stoppedAt")
    stopped_by: str | None = Field(default=None, alias="stoppedBy")
    streaming_image_id: str | None = Field(default=None, alias="streamingImageId")
    tags: dict[str, str] | None = None
    terminate_at: datetime | None = Field(default=None, alias="terminateAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")
    updated_by: str | None = Field(default=None, alias="updatedBy")
    volume_configuration: VolumeConfiguration | None = Field(default=None, alias="volumeConfiguration")
    volume_retention_mode: str | None = Field(default=None, alias="volumeRetentionMode")

    @field_serializer(
        "created_at", "started_at", "stop_at", "stopped_at", "terminate_at", "updated_at", when_used="json"
    )
    def _iso(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    @classmethod
    def from_sdk(cls, session: dict[str, Any]) -> StreamingSession:
        return cls.model_validate(session)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
