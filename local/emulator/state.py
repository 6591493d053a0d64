"""Everything the emulator holds, and the control surface over it.

:class:`EmulatorState` owns the sessions, the client tokens, the call counts, the fault table,
the quota, the clock and the random generator, behind one lock. Its public methods are what
tests and the ``/_emulator/`` endpoint steer the emulator with (reset, configure, faults,
quota, snapshot, forcing a session's state); the API operations live in
:class:`~local.emulator.backend.NimbleBackend`, which builds on it.

Time is ``self.clock()`` (epoch seconds; swap in a fake to control it). Every read first
settles what is due (see :mod:`local.emulator.models`).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from local.emulator.config import CAMEL_NAMES, ONE_OFFS, EmulatorConfig, StudioFixture, setting_names
from local.emulator.exceptions import (
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    validation_error,
)
from local.emulator.faults import FaultSpec, FaultTable
from local.emulator.models import (
    LIVE_STATES,
    StreamingSession,
    default_status_code,
    format_timestamp,
    session_not_found,
    status_message_for,
)
from local.emulator.ratelimit import RateLimiter
from local.emulator.validation import check_forced_state

__all__ = ["EmulatorState"]


class EmulatorState:
    """The emulator's state and its control surface. Thread-safe; one lock guards everything."""

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
        self._sessions: dict[str, StreamingSession] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._calls: Counter[str] = Counter()
        self._sequence = 0
        self._quota: int | None = None
        self._limiter = RateLimiter(self.config.rate_limits)
        self._install_one_offs(self.config)

    def reset(self) -> None:
        """Forget sessions, tokens, call counts, faults and quota; keep the configuration."""
        with self._lock:
            self._sessions.clear()
            self._tokens.clear()
            self._calls.clear()
            self._faults.clear()
            self._quota = None
            self._limiter.reset()

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
            names = setting_names()
            unknown = [key for key in changes if key not in names]
            if unknown:
                raise validation_error([(f"config.{key}", "unknown setting") for key in unknown])
            # Merge under the camelCase names so errors name settings as the JSON body does.
            merged = self.config.model_dump(by_alias=True, exclude=ONE_OFFS)
            merged.update({CAMEL_NAMES[names[key]]: value for key, value in changes.items()})
            updated = EmulatorConfig.parse(merged)
            if "seed" in {names[key] for key in changes}:
                self.rng.seed(updated.seed)
            self._install_one_offs(updated)
            if updated.rate_limits != self.config.rate_limits:
                self._limiter = RateLimiter(updated.rate_limits)  # new limits start with full buckets
            self.config = updated.one_off_free()
            return self.config.settings()

    def _install_one_offs(self, config: EmulatorConfig) -> None:
        self._faults.add_all(config.faults)
        if "live_sessions_per_owner" in config.model_fields_set:
            self._quota = config.live_sessions_per_owner

    # ----- faults and quota ---------------------------------------------------------------

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

    # ----- looking and forcing ------------------------------------------------------------

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
                "throttledCounts": dict(self._limiter.throttled),
                "rateLimits": self._limiter.limits.effective() if self._limiter.limits.enabled else None,
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
        check_forced_state(state, status_code, status_message)
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise session_not_found(session_id)
            code = status_code or default_status_code(state)
            session.force(self.clock(), actor, state, code, status_message or status_message_for(code))
            return session.to_wire()

    # ----- for the operations (call with the lock held) -----------------------------------

    def _studio(self, studio_id: str) -> StudioFixture:
        for studio in self.config.studios:
            if studio.studio_id == studio_id:
                return studio
        raise ResourceNotFoundException(
            f"Studio {studio_id!r} not found.", {"resourceType": "studio", "resourceId": studio_id}
        )

    def _ordered_sessions(self) -> list[StreamingSession]:
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

    def _admit(self, operation: str, caller: str) -> None:
        """The operation's rate limit for the caller's account (its ARN's, else the configured one)."""
        parts = caller.split(":")
        account = (
            parts[4] if caller.startswith("arn:") and len(parts) > 4 and parts[4] else self.config.account_id
        )
        self._limiter.admit(account, operation, self.clock())

    def _provisioning_duration(self) -> float:
        value = self.config.provisioning_seconds
        if isinstance(value, tuple):
            return self.rng.uniform(*value)
        return float(value)
