"""Lambda for the local stack: warm worker processes, a pool per function.

Each function has its own :class:`FunctionPool` of :mod:`local.lambda_worker` processes. A
worker is one execution environment: its own environment variables (the function's, as the
template resolves them, plus Lambda's reserved ones), its own module state, one event at a
time. An invocation takes an idle worker, or starts a new one while the pool has fewer than
``max_workers``, or else waits in line for one to come back (Lambda would throttle at its
concurrency limit; a local stack would rather wait). One worker per function is started with
the runtime (which returns once they are initialised, as a deployed stack is ready before it
is called); the others on demand, and they stay warm until the runtime stops.

Workers talk to the parent over pipes, one JSON line per request and per response. Their own
AWS calls go to the parent's moto through ``AWS_ENDPOINT_URL`` (a moto server sharing the
in-process backends) with fake credentials; ``AWS_ENDPOINT_URL_NIMBLE``, when the function's
environment has it, wins for Nimble Studio.

Timeouts: as before the workers, a handler that returns after its function's Timeout is
reported as ``Sandbox.Timedout`` (its side effects went through). A worker that has not
answered ``hang_grace_s`` after its deadline is ended and the invocation reported
``Sandbox.Timedout`` too; a worker that dies is reported ``Runtime.ExitError``. Either way the
pool replaces it on demand.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from local.lambda_invoke import timed_out_payload
from local.lambda_worker import PRELOAD_VARIABLE
from local.plan import FunctionSpec
from local.template import REPO_ROOT, EngineError

__all__ = ["DEFAULT_MAX_WORKERS", "FunctionPool", "WorkerRuntime"]

LOG = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS = 4
#: How long an invocation waits for a warm worker before one more is started for it.
DEFAULT_SCALE_AFTER_S = 0.5
#: What a worker keeps of the parent's environment: where programs are, locale, Python's own.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONDONTWRITEBYTECODE")
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


class WorkerError(EngineError):
    """The worker died or did not answer in time."""


class Worker:
    """One ``local.lambda_worker`` process and its two pipes."""

    _ids = itertools.count(1)

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str]) -> None:
        self.spec = spec
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, our interpreter
                [sys.executable, "-m", "local.lambda_worker", str(write_fd)],
                stdin=subprocess.PIPE,
                env=dict(environment),
                pass_fds=(write_fd,),
                cwd=str(spec.code_dir),
            )
        finally:
            os.close(write_fd)
        self._responses = read_fd
        self._buffer = b""
        self._ready = False
        self.invocations = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_line(self, deadline: float | None) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(deadline - time.monotonic(), 0)
            ready, _, _ = select.select([self._responses], [], [], wait)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._responses, 65536)
            if not chunk:
                status = self.process.wait()
                raise WorkerError(f"Runtime exited with error: exit status {status}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self) -> None:
        """Waits for the end of the init phase (imports), which no Timeout counts."""
        if not self._ready:
            self._read_line(None)
            self._ready = True

    def invoke(self, event: Any, request_id: str, hang_grace_s: float) -> tuple[bytes, bool]:
        """Sends one event, waits for its answer (init first, when the worker is new)."""
        self.wait_ready()
        request_number = next(self._ids)
        assert self.process.stdin is not None
        try:
            line = json.dumps({"id": request_number, "requestId": request_id, "event": event})
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            status = self.process.wait()
            raise WorkerError(f"Runtime exited with error: exit status {status}") from None
        self.invocations += 1
        answer = self._read_line(time.monotonic() + self.spec.timeout + hang_grace_s)
        return answer["payload"].encode(), bool(answer["failed"])

    def close_input(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()  # EOF: the worker's loop ends

    def stop(self, wait_s: float = 5) -> None:
        self.close_input()
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._responses)

    def kill(self) -> None:
        self.process.kill()
        self.stop()


class FunctionPool:
    """The warm workers of one function: at most ``max_workers``, each busy with one event."""

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        max_workers: int,
        hang_grace_s: float,
        scale_after_s: float = DEFAULT_SCALE_AFTER_S,
    ) -> None:
        self.spec = spec
        self.scale_after_s = scale_after_s
        self.environment = dict(environment)
        self.max_workers = max_workers
        self.hang_grace_s = hang_grace_s
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        # Invocations waiting for a worker, in arrival order: the first in line takes the next
        # idle worker. Without the line, whichever waiter the condition woke first won, and in a
        # burst some invocations waited many times longer than the rest (POST p99 40 s, p50 4 s).
        self._line: collections.deque[object] = collections.deque()
        self._condition = threading.Condition()
        self._closed = False
        self._starting = 0  # workers being started for them
        self._start_error: Exception | None = None

    def workers(self) -> list[Worker]:
        with self._condition:
            return list(self._all)

    def prewarm(self, count: int = 1) -> list[Worker]:
        """Starts workers until the pool has ``count`` (none once closed); returns the new ones."""
        with self._condition:
            started: list[Worker] = []
            while len(self._all) < min(count, self.max_workers) and not self._closed:
                worker = Worker(self.spec, self.environment)
                self._all.add(worker)
                self._idle.append(worker)
                started.append(worker)
            return started

    def _acquire(self) -> Worker:
        """An idle worker. An invocation that found none, and still has none ``scale_after_s``
        later (at once when the pool is empty), has one more started for it (up to the bound),
        then takes whichever worker is idle first: a warm one coming back, or the new one once
        initialised. Short invocations in a burst thus share the warm workers rather than pay
        for cold starts; long ones (PollSession's checks) get workers of their own. Waiting
        invocations are served in the order they came."""
        with self._condition:
            asked = False
            scale_at = time.monotonic() + (self.scale_after_s if self._all else 0)
            place = object()
            self._line.append(place)
            try:
                while True:
                    if self._closed:
                        raise WorkerError("the runtime is stopped")
                    if self._idle and self._line[0] is place:
                        return self._idle.pop()
                    if self._start_error is not None and not self._all and not self._starting:
                        error, self._start_error = self._start_error, None
                        raise WorkerError(str(error))
                    wait = scale_at - time.monotonic()
                    if not asked and wait <= 0 and len(self._all) + self._starting < self.max_workers:
                        asked = True
                        self._starting += 1
                        threading.Thread(target=self._start_worker, daemon=True).start()
                    self._condition.wait(timeout=None if asked or wait <= 0 else wait)
            finally:
                self._line.remove(place)
                self._condition.notify_all()  # the next in line may take another idle worker

    def _start_worker(self) -> None:
        worker: Worker | None = None
        try:
            worker = Worker(self.spec, self.environment)
            worker.wait_ready()
        except Exception as error:
            LOG.warning("%s: a new worker did not start: %s", self.spec.logical_id, error)
            with self._condition:
                self._starting -= 1
                self._start_error = error
                self._condition.notify_all()
            if worker is not None:
                worker.kill()
            return
        with self._condition:
            self._starting -= 1
            if self._closed:
                closed = True
            else:
                closed = False
                self._all.add(worker)
                self._idle.append(worker)
                self._condition.notify_all()
        if closed:
            worker.stop()

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._condition:
            if healthy and not self._closed:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
            self._condition.notify_all()
        if not healthy:
            worker.kill()

    def invoke(self, event: Any) -> tuple[bytes, bool]:
        request_id = str(uuid.uuid4())
        worker = self._acquire()
        try:
            result = worker.invoke(event, request_id, self.hang_grace_s)
        except TimeoutError:
            LOG.warning("%s: worker %s did not answer in time: ended", self.spec.logical_id, worker.pid)
            self._release(worker, healthy=False)
            return json.dumps(timed_out_payload(self.spec.timeout, request_id)).encode(), True
        except (WorkerError, json.JSONDecodeError) as error:
            self._release(worker, healthy=False)
            message = f"RequestId: {request_id} Error: {error}"
            return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode(), True
        except BaseException:
            self._release(worker, healthy=False)
            raise
        self._release(worker, healthy=True)
        return result

    def close(self) -> list[Worker]:
        """No more invocations; every worker told to exit (returned, to be waited for)."""
        with self._condition:
            self._closed = True
            workers, self._idle, self._all = list(self._all), [], set()
            self._condition.notify_all()
        for worker in workers:
            worker.close_input()
        return workers


class WorkerRuntime:
    """Every function's pool; what :class:`local.engine.LocalEngine` invokes."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        environments: Mapping[str, Mapping[str, str]],
        *,
        aws_endpoint_url: str,
        preload: Sequence[str] = (),
        max_workers: int = DEFAULT_MAX_WORKERS,
        hang_grace_s: float = 30.0,
        warm_workers: Mapping[str, int] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        # Workers started with the runtime, by function (1 for the others): Lambda's provisioned
        # concurrency. A function's bound is the larger of max_workers and its warm count.
        self.warm_workers = {logical_id: 1 for logical_id in functions} | dict(warm_workers or {})
        self.pools = {
            logical_id: FunctionPool(
                spec,
                worker_environment(spec, environments[logical_id], aws_endpoint_url, preload),
                max(max_workers, self.warm_workers[logical_id]),
                hang_grace_s,
            )
            for logical_id, spec in functions.items()
        }

    def start(self) -> None:
        """The warm workers of every function, started side by side; returns once all are initialised."""
        started = [
            (pool, worker)
            for logical_id, pool in self.pools.items()
            for worker in pool.prewarm(self.warm_workers[logical_id])
        ]
        for pool, worker in started:
            try:
                worker.wait_ready()
            except WorkerError as error:
                raise WorkerError(f"{pool.spec.logical_id}: the worker did not start ({error})") from None

    def invoke(self, spec: FunctionSpec, event: Any) -> tuple[bytes, bool]:
        return self.pools[spec.logical_id].invoke(event)

    def stop(self) -> None:
        workers = [worker for pool in self.pools.values() for worker in pool.close()]
        deadline = time.monotonic() + 1.0  # all told first: they exit side by side, or are ended
        for worker in workers:
            worker.stop(wait_s=max(deadline - time.monotonic(), 0.01))


def worker_environment(
    spec: FunctionSpec, environment: Mapping[str, str], aws_endpoint_url: str, preload: Sequence[str] = ()
) -> dict[str, str]:
    """What a worker process gets: a few of the parent's, Lambda's reserved ones, the function's."""
    inherited = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "LOCAL_LAMBDA_LOGICAL_ID": spec.logical_id,
        "LOCAL_LAMBDA_FUNCTION_ARN": spec.arn,
        "LOCAL_LAMBDA_TIMEOUT": str(spec.timeout),
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        # The worker imports local.lambda_worker (and the preload modules) from the repository.
        "PYTHONPATH": str(REPO_ROOT),
        **_FAKE_CREDENTIALS,
    }
    if preload:
        reserved[PRELOAD_VARIABLE] = ",".join(preload)
    return {**inherited, **reserved, **environment}
