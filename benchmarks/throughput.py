"""Local throughput: N concurrent requests through the `make run` stack, over real HTTP.

Starts :class:`local.stack.LocalStack` (emulator, engine, local API Gateway) on free ports of
127.0.0.1 with ``make run``'s local polling (first check after 2 s, then every second) and a
5 s emulator provisioning time, sends N ``POST /studios/studio-local/streaming-sessions`` with
bounded concurrency, waits (bounded) until every request has its terminal event, then reads
every request's status with ``GET``. Reported: time from the first POST to the last terminal
event, sessions per second, API latency percentiles (POST and GET), and the process's peak RSS.

Run in a process of its own (``python -m benchmarks.throughput --out FILE``), so the peak RSS
is the local stack's and the engine is the only one in the process.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import resource
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.stats import percentile

__all__ = ["run_throughput"]

STUDIO = "studio-local"
BODY = {"launchProfileId": "lp-local", "ec2InstanceType": "g4dn.xlarge"}
READY = "Streaming Session Ready"


@dataclass
class _Seen:
    lock: threading.Lock = field(default_factory=threading.Lock)
    events: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # requestId -> [(type, t)]

    def add(self, event: dict[str, Any]) -> None:
        request_id = (event.get("detail") or {}).get("requestId")
        with self.lock:
            self.events.setdefault(str(request_id), []).append((event["detail-type"], time.monotonic()))

    def terminal(self, request_ids: list[str]) -> int:
        with self.lock:
            return sum(1 for r in request_ids if self.events.get(r))


def rss_mb(pid: int) -> float:
    """A process's resident set now (VmRSS); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). ``ru_maxrss`` would report the parent's peak
    when the parent was bigger: a child started through vfork inherits its high-water mark."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _call(host: str, port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]):
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        start = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, payload, (time.perf_counter() - start) * 1000
    finally:
        connection.close()


def run_throughput(
    requests: int = 200,
    concurrency: int = 50,
    provisioning_s: float = 5.0,
    deadline_s: float = 240.0,
) -> dict[str, Any]:
    from local.stack import LOCAL_POLLING, LocalStack, StackSettings

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    seen = _Seen()
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as scratch:
        settings = StackSettings(
            api_port=0,
            nimble_port=0,
            events_file=Path(scratch) / "events.jsonl",
            provisioning_seconds=provisioning_s,
            parameter_overrides=dict(LOCAL_POLLING),
            log_level="WARNING",
        )
        rss_before = peak_rss_mb()
        with LocalStack(settings, on_event=seen.add) as stack:
            url = urlsplit(stack.api_url)
            host, port = url.hostname or "127.0.0.1", int(url.port or 80)
            path = f"/studios/{STUDIO}/streaming-sessions"
            body = json.dumps(BODY).encode()
            run = uuid.uuid4().hex[:8]

            def post(index: int) -> tuple[int, str | None, float]:
                headers = {"Content-Type": "application/json", "X-Amz-Client-Token": f"bench-{run}-{index}"}
                status, payload, ms = _call(host, port, "POST", path, body, headers)
                request_id = json.loads(payload).get("requestId") if status == 202 else None
                return status, request_id, ms

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                posted = list(pool.map(post, range(requests)))
            submitted = time.monotonic()
            request_ids = [r for status, r, _ in posted if status == 202 and r]
            while seen.terminal(request_ids) < len(request_ids) and time.monotonic() - started < deadline_s:
                time.sleep(0.1)
            with seen.lock:
                finish_times = [t for r in request_ids for _, t in seen.events.get(r, [])]
            all_terminal = seen.terminal(request_ids) == len(request_ids) == requests
            elapsed = (max(finish_times) if finish_times else time.monotonic()) - started

            def get(request_id: str) -> tuple[int, str | None, float]:
                status, payload, ms = _call(host, port, "GET", f"{path}/requests/{request_id}", None, {})
                return status, json.loads(payload).get("status") if status == 200 else None, ms

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                read = list(pool.map(get, request_ids))
            assert stack.engine is not None
            worker_pids = [pid for pids in stack.engine.worker_pids().values() for pid in pids]
            workers_rss = sum(rss_mb(pid) for pid in worker_pids)
        peak_rss = peak_rss_mb()

    with seen.lock:
        per_request = [seen.events.get(r, []) for r in request_ids]
    exactly_one_ready = all(len(items) == 1 and items[0][0] == READY for items in per_request)
    statuses_ready = all(status == 200 and value == "READY" for status, value, _ in read)
    post_ms = [ms for _, _, ms in posted]
    get_ms = [ms for _, _, ms in read]
    all_ms = post_ms + get_ms
    return {
        "sessions": requests,
        "accepted": len(request_ids),
        "concurrency": concurrency,
        "provisioning_s": provisioning_s,
        "polling": dict(LOCAL_POLLING),
        "all_terminal": all_terminal,
        "all_ready": bool(all_terminal and exactly_one_ready and statuses_ready),
        "submit_s": round(submitted - started, 3),
        "time_to_all_terminal_s": round(elapsed, 3),
        "sessions_per_s": round(len(request_ids) / elapsed, 3) if elapsed > 0 else None,
        "api_p50_ms": round(percentile(all_ms, 50), 2),
        "api_p99_ms": round(percentile(all_ms, 99), 2),
        "post_p50_ms": round(percentile(post_ms, 50), 2),
        "post_p99_ms": round(percentile(post_ms, 99), 2),
        # How evenly the burst is served: near 1 when every request waits about as long.
        "post_p99_to_p50": round(percentile(post_ms, 99) / percentile(post_ms, 50), 2),
        "get_p50_ms": round(percentile(get_ms, 50), 2) if get_ms else None,
        "get_p99_ms": round(percentile(get_ms, 99), 2) if get_ms else None,
        "peak_rss_mb": round(peak_rss, 1),
        "rss_before_stack_mb": round(rss_before, 1),
        # The Lambda workers are processes of their own: peak_rss_mb is the parent's only.
        "lambda_workers": len(worker_pids),
        "lambda_workers_rss_mb": round(workers_rss, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--provisioning-seconds", type=float, default=5.0)
    parser.add_argument("--deadline-seconds", type=float, default=240.0)
    parser.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    args = parser.parse_args(argv)
    result = run_throughput(args.requests, args.concurrency, args.provisioning_seconds, args.deadline_seconds)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
