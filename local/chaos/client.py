"""The run's client side: requests to the local API over real HTTP, as any client would send
them, retried with the same token where the API says "retry"."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local.chaos.plan import STUDIO, Planned

__all__ = ["RETRYABLE_STATUSES", "Stopper", "Submission", "http_json", "submit", "submit_all"]

#: Stops a request's execution directly (StopExecution); says what came of it.
Stopper = Callable[[str], str]

#: Answers worth the same request again (with the same token): the API says "retry".
RETRYABLE_STATUSES = frozenset({429, 502, 503})


@dataclass
class Submission:
    planned: Planned
    status: int | None = None
    body: Any = None
    attempts: int = 0
    error: str | None = None
    #: What the cancels (DELETE) answered: (HTTP status, the body's status or code), in order.
    cancels: list[tuple[int | None, str | None]] = field(default_factory=list)
    #: What the direct StopExecution did: "stopped", or why not.
    stopped: str | None = None

    @property
    def request_id(self) -> str | None:
        if self.status == 202 and isinstance(self.body, dict):
            return self.body.get("requestId")
        return None


def http_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, Any]:
    """(status, parsed JSON body or the raw text) of one request; loopback only."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http://127.0.0.1 URLs
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


_READY_BY_STAMP = threading.Lock()


def body_to_send(planned: Planned) -> dict[str, Any]:
    """The request's body; a scheduled one gets its readyBy at its first send, not at planning:
    on a busy machine the last of 200 requests leave a minute after the first, and a readyBy
    counted from the plan would be in the past (a 400). Its duplicate and its retries send the
    very same body."""
    if planned.ready_in is not None:
        with _READY_BY_STAMP:
            ready_by = datetime.now(tz=UTC) + timedelta(seconds=planned.ready_in)
            planned.body.setdefault("readyBy", ready_by.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return planned.body


def submit(
    api_url: str,
    planned: Planned,
    barrier: threading.Barrier | None = None,
    stopper: Stopper | None = None,
) -> Submission:
    """POST the request (retrying what the API says to retry, with the same token); then, if
    ``stopper`` is given (one submission of each request), cancel or stop it as planned."""
    result = Submission(planned)
    url = f"{api_url}/studios/{STUDIO}/streaming-sessions"
    if barrier is not None:
        # The original and its duplicate leave together (if the other never comes, go anyway).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=60)
    for attempt in range(6):
        result.attempts = attempt + 1
        try:
            result.status, result.body = http_json(
                "POST", url, body_to_send(planned), {"X-Amz-Client-Token": planned.token}
            )
            result.error = None
        except OSError as error:  # refused, reset, timed out
            result.status, result.body, result.error = None, None, repr(error)
        if result.status is not None and result.status not in RETRYABLE_STATUSES:
            break
        time.sleep(min(0.2 * 2**attempt, 3.0))
    if stopper is not None and result.request_id is not None and (planned.cancels or planned.stop):
        _intervene(api_url, planned, result, stopper)
    return result


def _intervene(api_url: str, planned: Planned, result: Submission, stopper: Stopper) -> None:
    time.sleep(planned.delay)
    request_id = result.request_id
    assert request_id is not None
    if planned.stop:
        result.stopped = stopper(request_id)
        return
    url = f"{api_url}/studios/{STUDIO}/streaming-sessions/requests/{request_id}"
    for _ in range(planned.cancels):
        for attempt in range(6):
            try:
                status, body = http_json("DELETE", url)
            except OSError as error:
                status, body = None, repr(error)
            if status is not None and status not in RETRYABLE_STATUSES:
                break
            time.sleep(min(0.2 * 2**attempt, 3.0))
        said = (body.get("status") or body.get("code")) if isinstance(body, dict) else str(body)[:100]
        result.cancels.append((status, said))


def submit_all(
    api_url: str, planned: list[Planned], workers: int, stopper: Stopper | None = None
) -> list[Submission]:
    with ThreadPoolExecutor(max_workers=max(workers, 2), thread_name_prefix="chaos-client") as pool:
        futures = []
        for item in planned:
            if item.duplicate:
                # Adjacent in the queue, so two threads take them and the barrier lets both go.
                barrier = threading.Barrier(2)
                futures.append(pool.submit(submit, api_url, item, barrier, stopper))
                futures.append(pool.submit(submit, api_url, item, barrier))
            else:
                futures.append(pool.submit(submit, api_url, item, None, stopper))
        return [future.result() for future in futures]
