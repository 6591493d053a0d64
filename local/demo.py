"""`make demo`: the README's first minute in one command.

Starts a private local stack on free ports, posts the sample request of
events/api_create_request.json, follows its status URL until it is no longer IN_PROGRESS,
prints the terminal event and exits 0 for READY, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from local.stack import LocalStack, StackSettings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "events" / "api_create_request.json"
TIMEOUT_SECONDS = 120
# EventBridge delivers to its targets asynchronously: the event may land a little after GET
# already says READY.
EVENT_WAIT_SECONDS = 30


def main() -> int:
    sample = json.loads(SAMPLE.read_text())
    body = json.loads(sample["body"])
    studio = sample["pathParameters"]["studioId"]
    with tempfile.TemporaryDirectory() as scratch:
        settings = StackSettings(api_port=0, nimble_port=0, events_file=Path(scratch) / "events.jsonl")
        settings.provisioning_seconds = 3.0
        with LocalStack(settings) as stack:
            url = f"{stack.api_url}/studios/{studio}/streaming-sessions"
            token = f"demo-{uuid.uuid4()}"  # a new request each run
            print(f"POST {url}\n     {json.dumps(body)}")
            accepted = requests.post(url, json=body, headers={"X-Amz-Client-Token": token}, timeout=10)
            print(f"  -> {accepted.status_code} {accepted.text}")
            if accepted.status_code != 202:
                return 1
            status_url = stack.api_url + accepted.headers["Location"]
            deadline = time.monotonic() + TIMEOUT_SECONDS
            status = accepted.json()
            while status["status"] == "IN_PROGRESS" and time.monotonic() < deadline:
                time.sleep(1)
                status = requests.get(status_url, timeout=10).json()
                session = status.get("session") or {}
                print(f"GET  {status_url}\n  -> {status['status']} {session.get('state', '')}")
            events = _delivered_events(settings.events_file, deadline=time.monotonic() + EVENT_WAIT_SECONDS)
            for event in events:
                print(f"event {event['detail-type']}:\n{json.dumps(event, indent=2)}")
            ready = status["status"] == "READY" and [e["detail-type"] for e in events] == [
                "Streaming Session Ready"
            ]
            print("demo: READY, one event" if ready else f"demo: failed ({status})")
            return 0 if ready else 1


def _delivered_events(events_file: Path, *, deadline: float) -> list[dict]:
    """The events delivered so far, once there is at least one (or the deadline passed)."""
    while True:
        text = events_file.read_text() if events_file.exists() else ""
        if text.strip() or time.monotonic() >= deadline:
            return [json.loads(line) for line in text.splitlines()]
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
