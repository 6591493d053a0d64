"""In-memory Nimble Studio: studios fixture, streaming sessions, idempotency, quota, faults.

No HTTP here. Every public method takes the one lock, so the backend is safe to call from
the server's request threads and from tests at the same time. Values arrive as the wire
layer parsed them (any JSON type) and are validated here, so the backend enforces the
service's rules whether it is called over HTTP or directly.

Time is ``self.clock()`` (epoch seconds; swap in a fake to control it). Sessions do not
move on their own: each one holds at most one pending transition with the time it is due,
and every read first settles what is due. So no background thread exists, and the state
seen at any moment is a pure function of the clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from local.emulator.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
    from_pydantic,
    validation_error,
)
from local.emulator.faults import FAILURE_MESSAGES, CamelModel, FaultSpec, FaultTable, SessionOutcome

__all__ = [
    "INSTANCE_TYPES",
    "LIVE_STATES",
    "EmulatorConfig",
    "NimbleBackend",
    "StudioFixture",
    "format_timestamp",
]

INSTANCE_TYPES: tuple[str, ...] = (
    "g4dn.xlarge",
    "g4dn.2xlarge",
    "g4dn.4xlarge",
    "g4dn.8xlarge",
    "g4dn.12xlarge",
    "g4dn.16xlarge",
    "g3.4xlarge",
    "g3s.xlarge",
    "g5.xlarge",
    "g5.2xlarge",
    "g5.4xlarge",
    "g5.8xlarge",
    "g5.16xlarge",
)
DEFAULT_INSTANCE_TYPE = "g4dn.xlarge"
VOLUME_RETENTION_MODES = ("RETAIN", "DELETE")
STREAMING_IMAGE_ID_PATTERN = "^[a-zA-Z0-9-_]*$"
# fullmatch, because with re.match '$' would also accept a trailing newline.
_STREAMING_IMAGE_ID_RE = re.compile(r"[a-zA-Z0-9_-]*")
STREAMING_IMAGE_ID_MAX = 22
CLIENT_TOKEN_MIN, CLIENT_TOKEN_MAX = 1, 64

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
_BUSY_STATES = frozenset(
    {"CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "STOP_IN_PROGRESS", "START_IN_PROGRESS"}
)

_STATUS_MESSAGES = {
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


# --- configuration ------------------------------------------------------------------------


class StudioFixture(CamelModel):
    """A studio the emulator knows, with its launch profiles and streaming images."""

    studio_id: str = Field(min_length=1)
    launch_profile_ids: list[str] = Field(default_factory=list)
    streaming_image_ids: list[str] = Field(default_factory=list)
    #: Used when a request names no image; the first image when unset.
    default_streaming_image_id: str | None = None

    @model_validator(mode="after")
    def _default_image(self) -> StudioFixture:
        if self.default_streaming_image_id is None and self.streaming_image_ids:
            self.default_streaming_image_id = self.streaming_image_ids[0]
        if (
            self.default_streaming_image_id is not None
            and self.default_streaming_image_id not in self.streaming_image_ids
        ):
            raise ValueError("defaultStreamingImageId must be one of streamingImageIds")
        return self


def _default_studios() -> list[StudioFixture]:
    return [
        StudioFixture(
            studio_id="studio-local",
            launch_profile_ids=["lp-local", "lp-local-2"],
            streaming_image_ids=["image-local"],
        )
    ]


class EmulatorConfig(CamelModel):
    """Everything the emulator can be started with (keys camelCase or snake_case).

    ``faults`` and ``live_sessions_per_owner`` are installed when the backend starts (or
    when posted to ``/_emulator/config``); ``reset()`` clears them like any injected fault.
    """

    studios: list[StudioFixture] = Field(default_factory=_default_studios)
    #: Seconds from create (or start) to READY; ``[min, max]`` draws one per session.
    provisioning_seconds: float | tuple[float, float] = 3.0
    #: Seconds from delete (or stop) to DELETED (or STOPPED).
    deletion_seconds: float = Field(default=1.0, ge=0)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    list_page_size: int = Field(default=50, ge=1, le=1000)
    live_sessions_per_owner: int | None = Field(default=None, ge=0)
    faults: list[FaultSpec] = Field(default_factory=list)
    #: Seed for probabilities and random durations/status codes (reproducible runs).
    seed: int | None = None

    @field_validator("provisioning_seconds")
    @classmethod
    def _check_provisioning(cls, value: float | tuple[float, float]) -> float | tuple[float, float]:
        low, high = value if isinstance(value, tuple) else (value, value)
        if low < 0 or high < low:
            raise ValueError("must be >= 0, or a [min, max] range with 0 <= min <= max")
        return value

    @model_validator(mode="after")
    def _unique_studios(self) -> EmulatorConfig:
        ids = [studio.studio_id for studio in self.studios]
        if len(ids) != len(set(ids)):
            raise ValueError("studio ids must be unique")
        return self

    @classmethod
    def parse(cls, data: EmulatorConfig | Mapping[str, Any] | None) -> EmulatorConfig:
        """A config from a config, a mapping (JSON body) or None; ValidationException if bad."""
        if data is None:
            return cls()
        if isinstance(data, EmulatorConfig):
            return data
        if not isinstance(data, Mapping):
            raise validation_error([("config", "must be a JSON object")])
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise from_pydantic(exc, prefix="config.") from None

    def settings(self) -> dict[str, Any]:
        """The configuration minus the one-off faults/quota (shown elsewhere in snapshots)."""
        return self.model_dump(by_alias=True, mode="json", exclude={"faults", "live_sessions_per_owner"})


_CAMEL: dict[str, str] = {
    name: info.alias or to_camel(name) for name, info in EmulatorConfig.model_fields.items()
}


# --- sessions ----------------------------------------------------------------------------


@dataclass
class _Transition:
    """Where a session is heading and when it gets there (None: never)."""

    due_at: float | None
    state: str
    status_code: str
    status_message: str
    actor: str
    marks_started: bool = False
    marks_stopped: bool = False


@dataclass
class _Session:
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
    pending: _Transition | None = None
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

    def begin(self, now: float, actor: str, state: str, status_code: str, heading_to: _Transition) -> None:
        self.state = state
        self.status_code = status_code
        self.status_message = _STATUS_MESSAGES[status_code]
        self.updated_at = now
        self.updated_by = actor
        self.pending = heading_to

    def fault_attributes(self) -> dict[str, str | None]:
        return {
            "studioId": self.studio_id,
            "sessionId": self.session_id,
            "ownedBy": self.owned_by,
            "createdBy": self.created_by,
            "clientToken": self.client_token,
            "launchProfileId": self.launch_profile_id,
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


class _Problems:
    """Collects constraint violations so one error names every offending field."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field_name: str, problem: str) -> None:
        self.items.append((field_name, problem))

    def string(self, field_name: str, value: object, *, required: bool = False) -> bool:
        """True when ``value`` is a string to check further; records a problem otherwise."""
        if value is None:
            if required:
                self.add(field_name, "Member must not be null")
            return False
        if not isinstance(value, str):
            self.add(field_name, f"Member must be a string, got {_json_type(value)}")
            return False
        return True

    def raise_if_any(self) -> None:
        if self.items:
            raise validation_error(self.items)


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


# --- the backend ------------------------------------------------------------------------


class NimbleBackend:
    """The emulated service. Thread-safe; one lock guards everything below."""

    def __init__(
        self,
        config: EmulatorConfig | Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.config = EmulatorConfig.parse(config)
        #: Epoch seconds; tests replace it with a fake they advance.
        self.clock: Callable[[], float] = clock or time.time
        self.rng = random.Random(self.config.seed)
        self._faults = FaultTable()
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._calls: Counter[str] = Counter()
        self._sequence = 0
        self._quota: int | None = None
        self._install_one_offs(self.config)

    # ----- control (tests, the /_emulator/ endpoint, start-up configuration) -------------

    def reset(self) -> None:
        """Forget sessions, tokens, call counts, faults and quota; keep the configuration."""
        with self._lock:
            self._sessions.clear()
            self._tokens.clear()
            self._calls.clear()
            self._faults.clear()
            self._quota = None

    def configure(self, changes: EmulatorConfig | Mapping[str, Any]) -> dict[str, Any]:
        """Change settings at run time (partial; keys camelCase or snake_case).

        New timings apply to transitions that begin afterwards. ``faults`` in ``changes``
        are added to the active ones; ``liveSessionsPerOwner`` sets the quota.
        """
        if isinstance(changes, EmulatorConfig):
            changes = changes.model_dump(exclude_unset=True)
        if not isinstance(changes, Mapping):
            raise validation_error([("config", "must be a JSON object")])
        with self._lock:
            names = self._config_field_names()
            unknown = [key for key in changes if key not in names]
            if unknown:
                raise validation_error([(f"config.{key}", "unknown setting") for key in unknown])
            # Merge under the camelCase names so errors name settings as the JSON body does.
            merged = self.config.model_dump(by_alias=True, exclude={"faults", "live_sessions_per_owner"})
            merged.update({_CAMEL[names[key]]: value for key, value in changes.items()})
            updated = EmulatorConfig.parse(merged)
            if "seed" in {names[key] for key in changes}:
                self.rng.seed(updated.seed)
            self._install_one_offs(updated)
            self.config = updated.model_copy(update={"faults": [], "live_sessions_per_owner": None})
            return self.config.settings()

    @staticmethod
    def _config_field_names() -> dict[str, str]:
        """Every accepted key (snake_case or camelCase) → the field name."""
        return {**{name: name for name in _CAMEL}, **{alias: name for name, alias in _CAMEL.items()}}

    def _install_one_offs(self, config: EmulatorConfig) -> None:
        self._faults.add_all(config.faults)
        if "live_sessions_per_owner" in config.model_fields_set:
            self._quota = config.live_sessions_per_owner

    def add_fault(self, spec: FaultSpec | Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Add a fault rule (a spec, a mapping, or keyword fields); returns it with its id."""
        data: FaultSpec | Mapping[str, Any] = spec if spec is not None else fields
        if spec is not None and fields:
            raise TypeError("give a spec or keyword fields, not both")
        with self._lock:
            return self._faults.add(data).describe()

    def add_faults(self, specs: Iterable[FaultSpec | Mapping[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._faults.add_all(specs)]

    def remove_fault(self, fault_id: str) -> None:
        with self._lock:
            if not self._faults.remove(fault_id):
                raise ResourceNotFoundException(
                    f"No active fault {fault_id!r}", {"resourceType": "fault", "resourceId": fault_id}
                )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._faults.active()]

    def set_quota(self, live_sessions_per_owner: int | None) -> None:
        """At most this many live sessions per ownedBy (None: unlimited)."""
        if live_sessions_per_owner is not None and (
            isinstance(live_sessions_per_owner, bool)
            or not isinstance(live_sessions_per_owner, int)
            or live_sessions_per_owner < 0
        ):
            raise validation_error([("liveSessionsPerOwner", "must be a non-negative integer or null")])
        with self._lock:
            self._quota = live_sessions_per_owner

    @property
    def quota(self) -> int | None:
        with self._lock:
            return self._quota

    @property
    def call_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def snapshot(self) -> dict[str, Any]:
        """Everything observable, JSON-ready (what ``GET /_emulator/state`` returns)."""
        with self._lock:
            now = self.clock()
            sessions = []
            for session in self._ordered_sessions():
                session.settle(now)
                sessions.append(
                    {**session.to_wire(), "studioId": session.studio_id, "clientToken": session.client_token}
                )
            tokens: dict[str, dict[str, str]] = {}
            for (studio_id, token), session_id in self._tokens.items():
                tokens.setdefault(studio_id, {})[token] = session_id
            return {
                "now": format_timestamp(now),
                "config": self.config.settings(),
                "quota": {"liveSessionsPerOwner": self._quota},
                "sessions": sessions,
                "tokens": tokens,
                "callCounts": dict(self._calls),
                "faults": [rule.describe() for rule in self._faults.active()],
            }

    def force_delete(self, session_id: str, *, actor: str = "emulator") -> dict[str, Any]:
        """Someone else deleted the session: DELETED now, whatever it was doing."""
        return self.force_state(session_id, "DELETED", "STREAMING_SESSION_DELETED", actor=actor)

    def force_state(
        self,
        session_id: str,
        state: str,
        status_code: str | None = None,
        status_message: str | None = None,
        *,
        actor: str = "emulator",
    ) -> dict[str, Any]:
        """Put a session into any state now (cancels its pending transition)."""
        states = {*LIVE_STATES, "DELETED", "CREATE_FAILED"}
        problems = _Problems()
        if problems.string("state", state, required=True) and state not in states:
            problems.add("state", f"Member must satisfy enum value set: {sorted(states)}")
        if problems.string("statusCode", status_code) and not status_code:
            problems.add("statusCode", "Member must not be empty")
        problems.string("statusMessage", status_message)
        problems.raise_if_any()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise _session_not_found(session_id)
            now = self.clock()
            code = status_code or _default_status_code(state)
            message = status_message or _STATUS_MESSAGES.get(code) or FAILURE_MESSAGES.get(code, code)
            session.pending = None
            session.state, session.status_code, session.status_message = state, code, message
            session.updated_at, session.updated_by = now, actor
            return session.to_wire()

    # ----- the API operations ------------------------------------------------------------

    def create_streaming_session(
        self,
        studio_id: str,
        *,
        launch_profile_id: object = None,
        ec2_instance_type: object = None,
        owned_by: object = None,
        streaming_image_id: object = None,
        tags: object = None,
        client_token: object = None,
        caller: str = "local-user",
    ) -> dict[str, Any]:
        operation = "CreateStreamingSession"
        with self._lock:
            self._calls[operation] += 1
            self._raise_injected(
                operation,
                {
                    "studioId": studio_id,
                    "ownedBy": owned_by if isinstance(owned_by, str) else caller,
                    "createdBy": caller,
                    "clientToken": client_token if isinstance(client_token, str) else None,
                    "launchProfileId": launch_profile_id if isinstance(launch_profile_id, str) else None,
                },
            )
            problems = _Problems()
            problems.string("launchProfileId", launch_profile_id, required=True)
            if (
                problems.string("ec2InstanceType", ec2_instance_type)
                and ec2_instance_type not in INSTANCE_TYPES
            ):
                problems.add(
                    "ec2InstanceType",
                    f"Value {_shown(ec2_instance_type)} failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(INSTANCE_TYPES)}]",
                )
            problems.string("ownedBy", owned_by)
            if problems.string("streamingImageId", streaming_image_id):
                _check_streaming_image_id(problems, streaming_image_id)
            _check_client_token(problems, client_token)
            _check_tags(problems, tags)
            problems.raise_if_any()
            assert isinstance(launch_profile_id, str)

            studio = self._studio(studio_id)
            token = client_token if isinstance(client_token, str) else str(uuid.uuid4())
            request = (
                launch_profile_id,
                ec2_instance_type,
                owned_by,
                streaming_image_id or None,
                tuple(sorted((tags or {}).items())),  # type: ignore[union-attr]
            )
            existing_id = self._tokens.get((studio_id, token))
            if existing_id is not None:
                existing = self._sessions[existing_id]
                if existing.request_fingerprint != request:
                    raise ConflictException(
                        "The client token was already used with different parameters "
                        f"(it created {existing_id}).",
                        {"clientToken": token, "sessionId": existing_id},
                    )
                existing.settle(self.clock())
                return existing.to_wire()

            if launch_profile_id not in studio.launch_profile_ids:
                raise ResourceNotFoundException(
                    f"Launch profile {launch_profile_id!r} not found in studio {studio_id!r}.",
                    {"resourceType": "launchProfile", "resourceId": launch_profile_id},
                )
            image_id = streaming_image_id or studio.default_streaming_image_id
            if image_id is None or image_id not in studio.streaming_image_ids:
                raise ResourceNotFoundException(
                    f"Streaming image {image_id!r} not found in studio {studio_id!r}.",
                    {"resourceType": "streamingImage", "resourceId": str(image_id)},
                )
            owner = owned_by if isinstance(owned_by, str) else caller
            now = self.clock()
            self._check_quota(owner, now)

            outcome = self._faults.take_outcome(
                operation,
                {
                    "studioId": studio_id,
                    "ownedBy": owner,
                    "createdBy": caller,
                    "clientToken": token,
                    "launchProfileId": launch_profile_id,
                },
                self.rng,
            )
            self._sequence += 1
            # Derived from (studio, token), which already names one session: ids repeat across
            # runs, so the events/ samples can name the session the create sample makes.
            session_id = "session-" + hashlib.sha256(f"{studio_id}\n{token}".encode()).hexdigest()[:20]
            session = _Session(
                session_id=session_id,
                studio_id=studio_id,
                sequence=self._sequence,
                arn=f"arn:aws:nimble:{self.config.region}:{self.config.account_id}:streaming-session/{session_id}",
                launch_profile_id=launch_profile_id,
                streaming_image_id=image_id,
                ec2_instance_type=ec2_instance_type
                if isinstance(ec2_instance_type, str)
                else DEFAULT_INSTANCE_TYPE,
                owned_by=owner,
                created_by=caller,
                tags=dict(tags or {}),  # type: ignore[call-overload]
                client_token=token,
                created_at=now,
                state="CREATE_IN_PROGRESS",
                status_code="STREAMING_SESSION_CREATE_IN_PROGRESS",
                status_message=_STATUS_MESSAGES["STREAMING_SESSION_CREATE_IN_PROGRESS"],
                updated_at=now,
                updated_by=caller,
                request_fingerprint=request,
            )
            session.pending = self._arrival(
                now, self._provisioning_duration(), caller, "READY", "STREAMING_SESSION_READY", outcome
            )
            if session.pending is not None:
                session.pending.marks_started = session.pending.state == "READY"
            self._sessions[session_id] = session
            self._tokens[(studio_id, token)] = session_id
            return session.to_wire()

    def get_streaming_session(
        self, studio_id: str, session_id: str, *, caller: str = "local-user"
    ) -> dict[str, Any]:
        with self._lock:
            session = self._enter_session_operation("GetStreamingSession", studio_id, session_id)
            return session.to_wire()

    def list_streaming_sessions(
        self,
        studio_id: str,
        *,
        created_by: object = None,
        owned_by: object = None,
        session_ids: object = None,
        next_token: object = None,
        caller: str = "local-user",
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the studio's sessions, oldest first, and the token of the next page."""
        operation = "ListStreamingSessions"
        with self._lock:
            self._calls[operation] += 1
            self._raise_injected(
                operation,
                {
                    "studioId": studio_id,
                    "ownedBy": owned_by if isinstance(owned_by, str) else None,
                    "createdBy": created_by if isinstance(created_by, str) else None,
                },
            )
            problems = _Problems()
            problems.string("createdBy", created_by)
            problems.string("ownedBy", owned_by)
            wanted_ids: set[str] | None = None
            if isinstance(session_ids, list | tuple):
                if all(isinstance(item, str) for item in session_ids):
                    wanted_ids = set(session_ids)
                else:
                    problems.add("sessionIds", "Member must be a list of strings")
            elif problems.string("sessionIds", session_ids):
                assert isinstance(session_ids, str)
                wanted_ids = {item.strip() for item in session_ids.split(",") if item.strip()}
            after = 0
            if problems.string("nextToken", next_token):
                assert isinstance(next_token, str)
                decoded = _decode_page_token(next_token)
                if decoded is None:
                    problems.add("nextToken", "Member is not a token this API returned")
                else:
                    after = decoded
            problems.raise_if_any()
            self._studio(studio_id)

            now = self.clock()
            page_size = self.config.list_page_size
            selected: list[_Session] = []
            more = False
            for session in self._ordered_sessions():
                if session.studio_id != studio_id or session.sequence <= after:
                    continue
                if created_by is not None and session.created_by != created_by:
                    continue
                if owned_by is not None and session.owned_by != owned_by:
                    continue
                if wanted_ids is not None and session.session_id not in wanted_ids:
                    continue
                if len(selected) == page_size:
                    more = True
                    break
                session.settle(now)
                selected.append(session)
            token = _encode_page_token(selected[-1].sequence) if more else None
            return [session.to_wire() for session in selected], token

    def delete_streaming_session(
        self, studio_id: str, session_id: str, *, client_token: object = None, caller: str = "local-user"
    ) -> dict[str, Any]:
        operation = "DeleteStreamingSession"
        with self._lock:
            session = self._enter_session_operation(
                operation, studio_id, session_id, client_token=client_token
            )
            if session.state in ("DELETED", "DELETE_IN_PROGRESS"):
                return session.to_wire()
            now = self.clock()
            outcome = self._faults.take_outcome(operation, session.fault_attributes(), self.rng)
            heading_to = self._arrival(
                now, self.config.deletion_seconds, caller, "DELETED", "STREAMING_SESSION_DELETED", outcome
            )
            session.begin(
                now, caller, "DELETE_IN_PROGRESS", "STREAMING_SESSION_DELETE_IN_PROGRESS", heading_to
            )
            return session.to_wire()

    def stop_streaming_session(
        self,
        studio_id: str,
        session_id: str,
        *,
        volume_retention_mode: object = None,
        client_token: object = None,
        caller: str = "local-user",
    ) -> dict[str, Any]:
        operation = "StopStreamingSession"
        with self._lock:
            session = self._enter_session_operation(
                operation,
                studio_id,
                session_id,
                client_token=client_token,
                extra_checks=lambda problems: _check_enum(
                    problems, "volumeRetentionMode", volume_retention_mode, VOLUME_RETENTION_MODES
                ),
            )
            if session.state in ("STOP_IN_PROGRESS", "STOPPED"):
                return session.to_wire()
            self._require_state(session, "stop", ("READY", "STOP_FAILED"))
            now = self.clock()
            outcome = self._faults.take_outcome(operation, session.fault_attributes(), self.rng)
            heading_to = self._arrival(
                now, self.config.deletion_seconds, caller, "STOPPED", "STREAMING_SESSION_STOPPED", outcome
            )
            if heading_to is not None:
                heading_to.marks_stopped = heading_to.state == "STOPPED"
            session.begin(now, caller, "STOP_IN_PROGRESS", "STREAMING_SESSION_STOP_IN_PROGRESS", heading_to)
            if isinstance(volume_retention_mode, str):
                session.volume_retention_mode = volume_retention_mode
            return session.to_wire()

    def start_streaming_session(
        self,
        studio_id: str,
        session_id: str,
        *,
        backup_id: object = None,
        client_token: object = None,
        caller: str = "local-user",
    ) -> dict[str, Any]:
        operation = "StartStreamingSession"
        with self._lock:
            session = self._enter_session_operation(
                operation,
                studio_id,
                session_id,
                client_token=client_token,
                extra_checks=lambda problems: problems.string("backupId", backup_id),
            )
            if session.state in ("START_IN_PROGRESS", "READY"):
                return session.to_wire()
            self._require_state(session, "start", ("STOPPED", "START_FAILED"))
            now = self.clock()
            outcome = self._faults.take_outcome(operation, session.fault_attributes(), self.rng)
            heading_to = self._arrival(
                now, self._provisioning_duration(), caller, "READY", "STREAMING_SESSION_STARTED", outcome
            )
            if heading_to is not None:
                heading_to.marks_started = heading_to.state == "READY"
            session.begin(now, caller, "START_IN_PROGRESS", "STREAMING_SESSION_START_IN_PROGRESS", heading_to)
            if isinstance(backup_id, str):
                session.started_from_backup_id = backup_id
            return session.to_wire()

    # ----- helpers (call with the lock held) ---------------------------------------------

    def _raise_injected(self, operation: str, attributes: Mapping[str, str | None]) -> None:
        error = self._faults.take_error(operation, attributes, self.rng)
        if error is not None:
            raise error

    def _enter_session_operation(
        self,
        operation: str,
        studio_id: str,
        session_id: str,
        *,
        client_token: object = None,
        extra_checks: Callable[[_Problems], object] | None = None,
    ) -> _Session:
        """Count the call, apply faults, validate, and find and settle the session."""
        self._calls[operation] += 1
        stored = self._sessions.get(session_id)
        if stored is not None and stored.studio_id == studio_id:
            attributes = stored.fault_attributes()
        else:
            attributes = {"studioId": studio_id, "sessionId": session_id}
        self._raise_injected(operation, attributes)
        problems = _Problems()
        _check_client_token(problems, client_token)
        if extra_checks is not None:
            extra_checks(problems)
        problems.raise_if_any()
        self._studio(studio_id)
        if stored is None or stored.studio_id != studio_id:
            raise _session_not_found(session_id)
        stored.settle(self.clock())
        return stored

    def _studio(self, studio_id: str) -> StudioFixture:
        for studio in self.config.studios:
            if studio.studio_id == studio_id:
                return studio
        raise ResourceNotFoundException(
            f"Studio {studio_id!r} not found.", {"resourceType": "studio", "resourceId": studio_id}
        )

    def _ordered_sessions(self) -> list[_Session]:
        return sorted(self._sessions.values(), key=lambda session: session.sequence)

    def _check_quota(self, owner: str, now: float) -> None:
        if self._quota is None:
            return
        live = 0
        for session in self._sessions.values():
            if session.owned_by == owner:
                session.settle(now)
                live += session.state in LIVE_STATES
        if live >= self._quota:
            raise ServiceQuotaExceededException(
                f"{owner!r} already has {live} live streaming session(s); the limit is {self._quota}.",
                {"ownedBy": owner, "liveSessions": str(live), "limit": str(self._quota)},
            )

    def _provisioning_duration(self) -> float:
        value = self.config.provisioning_seconds
        if isinstance(value, tuple):
            return self.rng.uniform(*value)
        return float(value)

    @staticmethod
    def _arrival(
        now: float,
        seconds: float,
        actor: str,
        state: str,
        status_code: str,
        outcome: SessionOutcome | None,
    ) -> _Transition | None:
        """The transition ending this operation: the normal one or the injected outcome."""
        if outcome is None:
            return _Transition(now + seconds, state, status_code, _STATUS_MESSAGES[status_code], actor)
        if outcome.kind == "NEVER_READY":
            return None
        assert outcome.status_code is not None
        assert outcome.status_message is not None
        return _Transition(now + seconds, outcome.kind, outcome.status_code, outcome.status_message, actor)

    @staticmethod
    def _require_state(session: _Session, action: str, allowed: tuple[str, ...]) -> None:
        if session.state in allowed:
            return
        context = {"sessionId": session.session_id, "state": session.state}
        if session.state in _BUSY_STATES:
            raise ConflictException(
                f"Cannot {action} streaming session {session.session_id}: another operation is in "
                f"progress (state {session.state}).",
                context,
            )
        raise ValidationException(
            f"Cannot {action} streaming session {session.session_id} in state {session.state}; "
            f"allowed in {', '.join(allowed)}.",
            context,
        )


# --- validation helpers ------------------------------------------------------------------


def _check_streaming_image_id(problems: _Problems, value: str) -> None:
    if len(value) > STREAMING_IMAGE_ID_MAX:
        problems.add(
            "streamingImageId",
            f"Value {_shown(value)} failed to satisfy constraint: Member must have length less than "
            f"or equal to {STREAMING_IMAGE_ID_MAX}",
        )
    if not _STREAMING_IMAGE_ID_RE.fullmatch(value):
        problems.add(
            "streamingImageId",
            f"Value {_shown(value)} failed to satisfy constraint: Member must satisfy regular "
            f"expression pattern: {STREAMING_IMAGE_ID_PATTERN}",
        )


def _check_client_token(problems: _Problems, value: object) -> None:
    if not problems.string("clientToken", value):
        return
    assert isinstance(value, str)
    if not CLIENT_TOKEN_MIN <= len(value) <= CLIENT_TOKEN_MAX:
        problems.add(
            "clientToken",
            f"Value {_shown(value)} failed to satisfy constraint: Member must have length between "
            f"{CLIENT_TOKEN_MIN} and {CLIENT_TOKEN_MAX}",
        )


def _check_tags(problems: _Problems, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        problems.add("tags", f"Member must be a map of string to string, got {_json_type(value)}")
        return
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            problems.add(f"tags.{key}", f"Member must be a string, got {_json_type(item)}")


def _check_enum(problems: _Problems, field_name: str, value: object, allowed: tuple[str, ...]) -> None:
    if problems.string(field_name, value) and value not in allowed:
        problems.add(
            field_name,
            f"Value {_shown(str(value))} failed to satisfy constraint: Member must satisfy enum value "
            f"set: [{', '.join(allowed)}]",
        )


def _session_not_found(session_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"Streaming session {session_id!r} not found.",
        {"resourceType": "streamingSession", "resourceId": session_id},
    )


def _default_status_code(state: str) -> str:
    return {
        "CREATE_IN_PROGRESS": "STREAMING_SESSION_CREATE_IN_PROGRESS",
        "READY": "STREAMING_SESSION_READY",
        "DELETE_IN_PROGRESS": "STREAMING_SESSION_DELETE_IN_PROGRESS",
        "DELETED": "STREAMING_SESSION_DELETED",
        "STOP_IN_PROGRESS": "STREAMING_SESSION_STOP_IN_PROGRESS",
        "STOPPED": "STREAMING_SESSION_STOPPED",
        "START_IN_PROGRESS": "STREAMING_SESSION_START_IN_PROGRESS",
    }.get(state, "INTERNAL_ERROR")


def _encode_page_token(after_sequence: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after_sequence}".encode()).decode().rstrip("=")


def _decode_page_token(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "after" or not number.isdigit():
        return None
    return int(number)
