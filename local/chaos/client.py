"""The run's client side: requests to the local API over real HTTP, as any client would send
them, retried with the same token where the API says "retry"."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from local.chaos.plan import STUDIO, Planned

__all__ = ["RETRYABLE_STATUSES", "Submission", "http_json", "submit", "submit_all"]

#: Answers worth the same request again (with the same token): the API says "retry".
RETRYABLE_STATUSES = frozenset({429, 502, 503})


@dataclass
class Submission:
    planned: Planned
    status: int | None = None
    body: Any = None
    attempts: int = 0
    error: str | None = None

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


def submit(api_url: str, planned: Planned, barrier: threading.Barrier | None = None) -> Submission:
    """POST the request (retrying what the API says to retry, with the same token)."""
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
                "POST", url, planned.body, {"X-Amz-Client-Token": planned.token}
            )
            result.error = None
        except OSError as error:  # refused, reset, timed out
            result.status, result.body, result.error = None, None, repr(error)
        if result.status is not None and result.status not in RETRYABLE_STATUSES:
            return result
        time.sleep(min(0.2 * 2**attempt, 3.0))
    return result


def submit_all(api_url: str, planned: list[Planned], workers: int) -> list[Submission]:
    with ThreadPoolExecutor(max_workers=max(workers, 2), thread_name_prefix="chaos-client") as pool:
        futures = []
        for item in planned:
            if item.duplicate:
                # Adjacent in the queue, so two threads take them and the barrier lets both go.
                barrier = threading.Barrier(2)
                futures.append(pool.submit(submit, api_url, item, barrier))
                futures.append(pool.submit(submit, api_url, item, barrier))
            else:
                futures.append(pool.submit(submit, api_url, item))
        return [future.result() for future in futures]
