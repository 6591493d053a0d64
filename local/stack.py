"""`make run`: the whole system on one machine, in the foreground, with no AWS account.

    API  http://127.0.0.1:$API_PORT   local API Gateway -> the real API handler
    ENG  moto's ASL engine            the very statemachine/ definition, real step handlers
    NIM  http://127.0.0.1:$NIMBLE_PORT  the Nimble Studio emulator
    EVT  $EVENTS_FILE                 every EventBridge event, one JSON line each
    RUL  the template's EventBridge rules  reconciler, sample consumer: async, retried, DLQs

`LocalStack` is also what the end-to-end tests, `make demo`, `make chaos` and the
benchmarks start, so they exercise exactly what a user runs.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from local.api_gateway import RunningApi, serve_api
from local.emulator import EmulatorConfig, RunningEmulator, start_emulator
from local.engine import REGION, LocalEngine
from local.progress import ProgressWatcher, describe_invocation

# Local pacing: the deployed defaults (60 s initial wait, 10 s interval) are for real GPU
# instances; the emulator provisions in seconds, so the loop runs in seconds too.
LOCAL_POLLING = {
    "PollInitialWaitSeconds": "2",
    "PollIntervalSeconds": "1",
    "PollChecksPerInvocation": "1",
    "PollBudgetSeconds": "120",
    # The emulator provisions in seconds: a readyBy request starts 30 s ahead.
    "ReadyByLeadSeconds": "30",
}
# Environment variables that override LOCAL_POLLING, named after the template parameters.
POLLING_ENVIRONMENT = {
    "POLL_INITIAL_WAIT_SECONDS": "PollInitialWaitSeconds",
    "POLL_INTERVAL_SECONDS": "PollIntervalSeconds",
    "POLL_CHECKS_PER_INVOCATION": "PollChecksPerInvocation",
    "POLL_BUDGET_SECONDS": "PollBudgetSeconds",
    "READY_BY_LEAD_SECONDS": "ReadyByLeadSeconds",
}
#: ApiFunction workers warm from the start (see StackSettings.api_workers).
API_WORKERS = 8
EXAMPLE_BODY = {
    "launchProfileId": "lp-local",
    "ec2InstanceType": "g4dn.xlarge",
    "ownedBy": "artist@example.com",
}


@dataclass
class StackSettings:
    api_port: int = 3000
    nimble_port: int = 8081
    events_file: Path = Path(".local/events.jsonl")
    provisioning_seconds: float | tuple[float, float] = 5.0
    parameter_overrides: dict[str, str] = field(default_factory=lambda: dict(LOCAL_POLLING))
    log_level: str = "WARNING"
    # Lambda waits 1 and 2 minutes before retrying a failed asynchronous invocation; locally less.
    async_retry_delay_scale: float = 0.1
    # The reconciler's sweep runs every SweepIntervalMinutes (15) times this: 45 s locally.
    schedule_scale: float = 0.05
    # ApiFunction workers started with the stack (provisioned concurrency): a burst of requests
    # finds them warm instead of paying for cold starts on the machine its executions share.
    api_workers: int = API_WORKERS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> StackSettings:
        settings = cls(
            api_port=int(environ.get("API_PORT", "3000")),
            nimble_port=int(environ.get("NIMBLE_PORT", "8081")),
            events_file=Path(environ.get("EVENTS_FILE", ".local/events.jsonl")),
            provisioning_seconds=float(environ.get("NIMBLE_PROVISIONING_SECONDS", "5")),
            log_level=environ.get("LOG_LEVEL", "WARNING"),
            async_retry_delay_scale=float(environ.get("ASYNC_RETRY_DELAY_SCALE", "0.1")),
            schedule_scale=float(environ.get("SCHEDULE_SCALE", "0.05")),
            api_workers=int(environ.get("API_WORKERS", str(API_WORKERS))),
        )
        for variable, parameter in POLLING_ENVIRONMENT.items():
            if variable in environ:
                settings.parameter_overrides[parameter] = environ[variable]
        return settings


class LocalStack:
    """Emulator, engine and API, started in that order and stopped in reverse."""

    def __init__(
        self,
        settings: StackSettings,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_event = on_event
        self._progress = progress
        self.emulator: RunningEmulator | None = None
        self.engine: LocalEngine | None = None
        self.api: RunningApi | None = None
        self._watcher: ProgressWatcher | None = None

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return self.api.url

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        settings = self.settings
        try:
            # The engine takes seconds to start: a taken API port is reported before, not after.
            _require_free_port(settings.api_port)
            self.emulator = start_emulator(
                port=settings.nimble_port,
                config=EmulatorConfig(provisioning_seconds=settings.provisioning_seconds),
            )
            settings.events_file.parent.mkdir(parents=True, exist_ok=True)
            self.engine = LocalEngine(
                parameter_overrides=settings.parameter_overrides,
                environment={
                    "AWS_ENDPOINT_URL_NIMBLE": self.emulator.url,
                    "POWERTOOLS_LOG_LEVEL": settings.log_level,
                    # EMF lines are for CloudWatch; locally they would drown the progress lines.
                    "POWERTOOLS_METRICS_DISABLED": "true",
                    "POWERTOOLS_TRACE_DISABLED": "true",
                },
                events_file=settings.events_file,
                on_event=self._on_event,
                # The template's EventBridge rules and their functions (reconciler, consumer).
                event_rules=True,
                retry_delay_scale=settings.async_retry_delay_scale,
                schedule_scale=settings.schedule_scale,
                on_invocation=self._print_invocation if self._progress is not None else None,
                warm_workers={"ApiFunction": settings.api_workers},
            ).start()
            self.api = serve_api(
                lambda event: self.engine.invoke("ApiFunction", event), port=settings.api_port
            )
            if self._progress is not None:
                # An outside observer with its own client, as one would watch a deployed workflow
                # (moto's mock is process-wide, so this client talks to the engine's backend).
                sfn = boto3.client("stepfunctions", region_name=REGION)
                self._watcher = ProgressWatcher(sfn, self.engine.state_machine_arn, self._progress).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _print_invocation(self, record: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress(describe_invocation(record))

    def stop(self) -> None:
        for part in (self._watcher, self.api, self.engine, self.emulator):
            if part is not None:
                part.stop()
        self._watcher = self.api = self.engine = self.emulator = None


def _require_free_port(port: int) -> None:
    """OSError (EADDRINUSE) now if `port` is taken on loopback; 0 (any free port) always passes."""
    if port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


def _port_in_use(error: OSError) -> bool:
    return error.errno == errno.EADDRINUSE


def _print(line: str) -> None:
    print(line, flush=True)


def _print_event(event: dict[str, Any]) -> None:
    _print(f"event     {event['detail-type']}: {json.dumps(event, separators=(',', ':'))}")


#: moto's ASL engine logs every error a state meets at ERROR, caught ones too (a Choice asking
#: IsPresent of a missing path, a fault a Catch handles); the progress lines already say what
#: each request does, so the console keeps only what would be lost otherwise.
MOTO_EVAL_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


def main() -> int:
    logging.getLogger(MOTO_EVAL_LOGGER).setLevel(logging.CRITICAL)
    settings = StackSettings.from_environment()
    stopping = threading.Event()
    # Ctrl-C and `kill` both end the loop below; the stack is stopped in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stack = LocalStack(settings, on_event=_print_event, progress=_print)
    try:
        stack.start()
    except OSError as error:
        if _port_in_use(error):
            _print(
                f"error: a port is in use ({error}). Set API_PORT / NIMBLE_PORT to free ports, "
                f"e.g. API_PORT=3001 NIMBLE_PORT=8082 make run"
            )
            return 1
        raise
    url = stack.api_url
    _print(f"nimble emulator   {stack.emulator.url}  (studio-local, lp-local, lp-local-2, image-local)")
    _print(f"events file       {settings.events_file}")
    _print(f"API ready         {url}")
    _print("try:")
    _print(
        f"  curl -s -X POST {url}/studios/studio-local/streaming-sessions "
        f"-H 'Content-Type: application/json' -H 'X-Amz-Client-Token: my-first-session' "
        f"-d '{json.dumps(EXAMPLE_BODY)}'"
    )
    _print("Ctrl-C stops everything.")
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        _print("stopping...")
        stack.stop()
    return 0


if __name__ == "__main__":
    # No stack trace on Ctrl-C during start-up either.
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
