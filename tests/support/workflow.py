"""Constants and helpers of the workflow tests (fixtures live in conftest.py)."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STUDIO = "studio-local"
LAUNCH_PROFILE = "lp-local"

# Short polling so a scenario takes seconds: first check right after creation, then one a
# second, at most 4 checks (1 + 3 s / 1 s). The emulator makes a session READY after 1 s.
PARAMETERS = {
    "PollInitialWaitSeconds": "0",
    "PollIntervalSeconds": "1",
    # One check per PollSession invocation, so the history shows every check as a loop turn.
    "PollChecksPerInvocation": "1",
    "PollBudgetSeconds": "3",
}
MAX_CHECKS = 4
ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
PROVISIONING_SECONDS = 1.0


def execution_input(client_token: str, owned_by: str, **request: Any) -> dict[str, Any]:
    """The execution input the API starts the state machine with."""
    return {
        "studioId": STUDIO,
        "clientToken": client_token,
        "request": {"launchProfileId": LAUNCH_PROFILE, "ownedBy": owned_by, **request},
    }


def sessions_for_token(emulator: Any, client_token: str) -> list[dict[str, Any]]:
    """The emulator's sessions created with this client token."""
    return [s for s in emulator.backend.snapshot()["sessions"] if s["clientToken"] == client_token]


def events_for(events: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [event for event in events if event["detail"].get("requestId") == request_id]


@dataclass
class Case:
    """One execution of a scenario: its name, token and owner, and the faults aimed at it."""

    id: str
    suffix: str
    faults: list[dict[str, Any]] = field(default_factory=list)
    input: dict[str, Any] | None = None

    @property
    def token(self) -> str:
        return f"{self.id}-{self.suffix}"

    @property
    def name(self) -> str:
        return f"req-{self.id}-{self.suffix}"

    @property
    def owner(self) -> str:
        return f"artist-{self.id}"

    def execution_input(self) -> dict[str, Any]:
        return self.input if self.input is not None else execution_input(self.token, self.owner)

    def fault(self, **spec: Any) -> dict[str, Any]:
        return {**spec, "match": {"clientToken": self.token}}


def run_request(engine: Any, owner: str, **request: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Starts one request (its name is its client token), waits for it; (DescribeExecution, its events).

    The events of a SUCCEEDED execution are waited for (the sink delivers them asynchronously).
    """
    from tests.support.waiting import wait_until

    name = f"req-{owner}-{uuid.uuid4().hex[:10]}"
    arn = engine.start_execution(execution_input(name, owner, **request), name=name)
    result = engine.wait(arn, timeout=90)
    if result["status"] != "SUCCEEDED":
        return result, events_for(engine.events(), name)
    return result, wait_until(lambda: events_for(engine.events(), name), timeout=30, what="the events")


def race(threads_count: int, call: Callable[[], Any]) -> tuple[list[Any], list[str]]:
    """Calls `call` from `threads_count` threads released at once; returns (results, errors).

    Threads switch very often meanwhile, which widens any check-then-act window under test.
    """
    barrier = threading.Barrier(threads_count)
    results: list[Any] = []
    errors: list[str] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(call())
        except Exception as error:  # reported to the caller, who asserts on it
            errors.append(repr(error))

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=run) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    return results, errors


RECONCILER = "ReconcileExecutionFunction"
CONSUMER = "SessionReadyConsumerFunction"


class Invocations:
    """Every asynchronous invocation attempt an engine reports (its ``on_invocation``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    def of(self, function: str, name: str | None = None) -> list[dict[str, Any]]:
        """The attempts of ``function``; with ``name``, those about that execution or request."""
        with self._lock:
            records = list(self._records)
        return [
            r
            for r in records
            if r["function"] == function
            and (
                name is None
                or name in (r["event"]["detail"].get("name"), r["event"]["detail"].get("requestId"))
            )
        ]


def rules_engine(
    emulator: Any, events_file: Any, invocations: Invocations | None = None, **options: Any
) -> Any:
    """A LocalEngine as `make run` runs one: the template's rules route status changes and READY
    events to their functions (retry delays scaled down). ``parameters`` add to the tests' own
    polling; other options go to LocalEngine as they are."""
    from local.engine import LocalEngine

    parameters = {**PARAMETERS, "NimbleEndpointUrl": emulator.url, **options.pop("parameters", {})}
    return LocalEngine(
        parameter_overrides=parameters,
        environment=ENVIRONMENT,
        events_file=events_file,
        event_rules=True,
        retry_delay_scale=0.01,
        on_invocation=invocations,
        **options,
    )
