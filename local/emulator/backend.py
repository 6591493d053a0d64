"""In-memory Nimble Studio: the six streaming-session operations.

No HTTP here. Every operation takes the one lock of :class:`~local.emulator.state.EmulatorState`,
so the backend is safe to call from the server's request threads and from tests at the same
time. Values arrive as the wire layer parsed them (any JSON type) and are validated here
(:mod:`local.emulator.validation`), so the backend enforces the service's rules whether it is
called over HTTP or directly. Each operation counts the call, then tries the injected faults,
then validates, then looks things up: the order the service's front end used.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.emulator.config import EmulatorConfig, StudioFixture
from local.emulator.exceptions import ConflictException, ResourceNotFoundException
from local.emulator.models import LIVE_STATES, STATUS_MESSAGES, StreamingSession, arrival, session_not_found
from local.emulator.state import EmulatorState
from local.emulator.validation import (
    DEFAULT_INSTANCE_TYPE,
    VOLUME_RETENTION_MODES,
    Problems,
    check_client_token,
    check_create,
    check_enum,
    check_list,
    encode_page_token,
)

__all__ = ["LIVE_STATES", "EmulatorConfig", "NimbleBackend", "StudioFixture"]


@dataclass(frozen=True)
class _Move:
    """An operation that moves an existing session: delete, stop or start."""

    operation: str
    action: str
    #: States it may begin in (None: any); in ``replays`` it answers without doing anything.
    allowed: tuple[str, ...] | None
    replays: tuple[str, ...]
    through: tuple[str, str]  # (state, statusCode) while under way
    to: tuple[str, str]  # (state, statusCode) when done
    provisions: bool = False  # takes the provisioning time, else the deletion time
    #: Its one optional string member: (wire name, session attribute), and the values allowed.
    member: tuple[str, str] | None = None
    choices: tuple[str, ...] | None = None

    def check_member(self, problems: Problems, value: object) -> None:
        if self.member is None:
            return
        if self.choices is not None:
            check_enum(problems, self.member[0], value, self.choices)
        else:
            problems.string(self.member[0], value)


_DELETE = _Move(
    "DeleteStreamingSession",
    "delete",
    None,
    ("DELETED", "DELETE_IN_PROGRESS"),
    ("DELETE_IN_PROGRESS", "STREAMING_SESSION_DELETE_IN_PROGRESS"),
    ("DELETED", "STREAMING_SESSION_DELETED"),
)
_STOP = _Move(
    "StopStreamingSession",
    "stop",
    ("READY", "STOP_FAILED"),
    ("STOP_IN_PROGRESS", "STOPPED"),
    ("STOP_IN_PROGRESS", "STREAMING_SESSION_STOP_IN_PROGRESS"),
    ("STOPPED", "STREAMING_SESSION_STOPPED"),
    member=("volumeRetentionMode", "volume_retention_mode"),
    choices=VOLUME_RETENTION_MODES,
)
_START = _Move(
    "StartStreamingSession",
    "start",
    ("STOPPED", "START_FAILED"),
    ("START_IN_PROGRESS", "READY"),
    ("START_IN_PROGRESS", "STREAMING_SESSION_START_IN_PROGRESS"),
    ("READY", "STREAMING_SESSION_STARTED"),
    provisions=True,
    member=("backupId", "started_from_backup_id"),
)


class NimbleBackend(EmulatorState):
    """The emulated service: its state (see :class:`EmulatorState`) and its API operations."""

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
            self._admit(operation, caller)
            owner = owned_by if isinstance(owned_by, str) else caller
            self._raise_injected(
                operation,
                {
                    "studioId": studio_id,
                    "ownedBy": owner,
                    "createdBy": caller,
                    "clientToken": client_token if isinstance(client_token, str) else None,
                    "launchProfileId": launch_profile_id if isinstance(launch_profile_id, str) else None,
                    "ec2InstanceType": ec2_instance_type
                    if isinstance(ec2_instance_type, str)
                    else DEFAULT_INSTANCE_TYPE,
                },
            )
            check_create(
                launch_profile_id=launch_profile_id,
                ec2_instance_type=ec2_instance_type,
                owned_by=owned_by,
                streaming_image_id=streaming_image_id,
                tags=tags,
                client_token=client_token,
            )
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

            image_id = self._image_for(studio, launch_profile_id, streaming_image_id)
            now = self.clock()
            self._check_quota(owner, now)
            attributes = {
                "studioId": studio_id,
                "ownedBy": owner,
                "createdBy": caller,
                "clientToken": token,
                "launchProfileId": launch_profile_id,
                "ec2InstanceType": ec2_instance_type
                if isinstance(ec2_instance_type, str)
                else DEFAULT_INSTANCE_TYPE,
            }
            outcome = self._faults.take_outcome(operation, attributes, self.rng)
            self._sequence += 1
            # Derived from (studio, token), which already names one session: ids repeat across
            # runs, so the events/ samples can name the session the create sample makes.
            session_id = "session-" + hashlib.sha256(f"{studio_id}\n{token}".encode()).hexdigest()[:20]
            session = StreamingSession(
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
                status_message=STATUS_MESSAGES["STREAMING_SESSION_CREATE_IN_PROGRESS"],
                updated_at=now,
                updated_by=caller,
                request_fingerprint=request,
            )
            session.pending = arrival(
                now, self._provisioning_duration(), caller, "READY", "STREAMING_SESSION_READY", outcome
            )
            self._sessions[session_id] = session
            self._tokens[(studio_id, token)] = session_id
            return session.to_wire()

    def get_streaming_session(
        self, studio_id: str, session_id: str, *, caller: str = "local-user"
    ) -> dict[str, Any]:
        with self._lock:
            session = self._enter_session_operation(
                "GetStreamingSession", studio_id, session_id, caller=caller
            )
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
            self._admit(operation, caller)
            self._raise_injected(
                operation,
                {
                    "studioId": studio_id,
                    "ownedBy": owned_by if isinstance(owned_by, str) else None,
                    "createdBy": created_by if isinstance(created_by, str) else None,
                },
            )
            wanted_ids, after = check_list(
                created_by=created_by, owned_by=owned_by, session_ids=session_ids, next_token=next_token
            )
            self._studio(studio_id)

            now = self.clock()
            page_size = self.config.list_page_size
            selected: list[StreamingSession] = []
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
            token = encode_page_token(selected[-1].sequence) if more else None
            return [session.to_wire() for session in selected], token

    def delete_streaming_session(
        self, studio_id: str, session_id: str, *, client_token: object = None, caller: str = "local-user"
    ) -> dict[str, Any]:
        return self._move(_DELETE, studio_id, session_id, client_token=client_token, caller=caller)

    def stop_streaming_session(
        self,
        studio_id: str,
        session_id: str,
        *,
        volume_retention_mode: object = None,
        client_token: object = None,
        caller: str = "local-user",
    ) -> dict[str, Any]:
        return self._move(
            _STOP, studio_id, session_id, volume_retention_mode, client_token=client_token, caller=caller
        )

    def start_streaming_session(
        self,
        studio_id: str,
        session_id: str,
        *,
        backup_id: object = None,
        client_token: object = None,
        caller: str = "local-user",
    ) -> dict[str, Any]:
        return self._move(_START, studio_id, session_id, backup_id, client_token=client_token, caller=caller)

    # ----- helpers -----------------------------------------------------------------------

    def _move(
        self,
        move: _Move,
        studio_id: str,
        session_id: str,
        member: object = None,
        *,
        client_token: object,
        caller: str,
    ) -> dict[str, Any]:
        """Start ``move`` on a session (a replay while it is under way or done changes nothing).

        ``member`` is the value of the move's one optional member, kept on the session once
        the move begins.
        """
        with self._lock:
            session = self._enter_session_operation(
                move.operation,
                studio_id,
                session_id,
                client_token=client_token,
                extra_checks=lambda problems: move.check_member(problems, member),
                caller=caller,
            )
            if session.state in move.replays:
                return session.to_wire()
            if move.allowed is not None:
                session.require_state(move.action, move.allowed)
            now = self.clock()
            outcome = self._faults.take_outcome(move.operation, session.fault_attributes(), self.rng)
            seconds = self._provisioning_duration() if move.provisions else self.config.deletion_seconds
            heading_to = arrival(now, seconds, caller, *move.to, outcome)
            session.begin(now, caller, *move.through, heading_to)
            if move.member is not None and isinstance(member, str):
                setattr(session, move.member[1], member)
            return session.to_wire()

    def _raise_injected(self, operation: str, attributes: dict[str, str | None]) -> None:
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
        extra_checks: Callable[[Problems], object] | None = None,
        caller: str = "local-user",
    ) -> StreamingSession:
        """Count the call, apply the rate limit and faults, validate, find and settle the session."""
        self._calls[operation] += 1
        self._admit(operation, caller)
        stored = self._sessions.get(session_id)
        if stored is not None and stored.studio_id == studio_id:
            attributes = stored.fault_attributes()
        else:
            attributes = {"studioId": studio_id, "sessionId": session_id}
        self._raise_injected(operation, attributes)
        problems = Problems()
        check_client_token(problems, client_token)
        if extra_checks is not None:
            extra_checks(problems)
        problems.raise_if_any()
        self._studio(studio_id)
        if stored is None or stored.studio_id != studio_id:
            raise session_not_found(session_id)
        stored.settle(self.clock())
        return stored

    @staticmethod
    def _image_for(studio: StudioFixture, launch_profile_id: str, streaming_image_id: object) -> str:
        """The image a create gets, once its launch profile and image are found in the studio."""
        if launch_profile_id not in studio.launch_profile_ids:
            raise ResourceNotFoundException(
                f"Launch profile {launch_profile_id!r} not found in studio {studio.studio_id!r}.",
                {"resourceType": "launchProfile", "resourceId": launch_profile_id},
            )
        image_id = streaming_image_id or studio.default_streaming_image_id
        if image_id is None or image_id not in studio.streaming_image_ids:
            raise ResourceNotFoundException(
                f"Streaming image {image_id!r} not found in studio {studio.studio_id!r}.",
                {"resourceType": "streamingImage", "resourceId": str(image_id)},
            )
        return str(image_id)
