"""`make run` and `make demo` as a user runs them: real processes, real HTTP, real signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'functions'}:{ROOT}", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class Output:
    """Collects a process's output lines in a thread, so waiting for one never blocks forever."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            if self._process.poll() is not None and not self._thread.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; output:\n" + "\n".join(self.lines))

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "\n".join(self.lines)


@contextlib.contextmanager
def make_run(tmp_path: Path, start_timeout: float = 60, **variables: str):
    """`make run` (python -m local.stack) on free ports with ``variables``: the process, its
    output, the API's and the emulator's URLs and the events file; stopped with Ctrl-C after."""
    api_port, nimble_port = free_port(), free_port()
    events_file = tmp_path / "events.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack"],
        cwd=ROOT,
        env=environment(
            API_PORT=str(api_port), NIMBLE_PORT=str(nimble_port), EVENTS_FILE=str(events_file), **variables
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        output.wait_for("API ready", timeout=start_timeout)
        yield process, output, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{nimble_port}", events_file
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def stack(tmp_path):
    with make_run(tmp_path, NIMBLE_PROVISIONING_SECONDS="2", POLL_INITIAL_WAIT_SECONDS="1") as (
        process,
        output,
        url,
        _,
        events_file,
    ):
        yield process, output, url, events_file


def test_make_run_serves_the_api_streams_progress_and_stops_cleanly(stack):
    process, output, url, events_file = stack
    output.wait_for(f"API ready         {url}")
    assert "curl -s -X POST" in output.wait_for("curl")

    body = {"launchProfileId": "lp-local", "ownedBy": "e2e-artist"}
    accepted = requests.post(
        f"{url}/studios/studio-local/streaming-sessions",
        json=body,
        headers={"X-Amz-Client-Token": "e2e-token"},
        timeout=10,
    )
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["requestId"]

    output.wait_for(f"{request_id}  READY")
    status = requests.get(url + accepted.headers["Location"], timeout=10).json()
    assert status["status"] == "READY"
    assert status["session"]["state"] == "READY"
    assert status["session"]["ownedBy"] == "e2e-artist"

    output.wait_for("event     Streaming Session Ready")
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [(e["detail-type"], e["detail"]["requestId"]) for e in events] == [
        ("Streaming Session Ready", request_id)
    ]
    for step in ("accepted", "created", "polled"):
        output.wait_for(f"{request_id}  {step}")
    # The sample consumer ran through its rule (the template's EventBridgeRule).
    output.wait_for(
        f"{request_id}  target    SessionReadyConsumerFunction (Streaming Session Ready, attempt 1): ok"
    )

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in output.text()
    # moto's own error log of states that were handled (RouteOnSessionState asks IsPresent of
    # $.poll.delayed on every poll) is not the user's business: the progress lines tell it.
    assert "Exception=" not in output.text()


def test_make_run_explains_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "local.stack"],
            cwd=ROOT,
            env=environment(
                API_PORT=str(port), NIMBLE_PORT=str(free_port()), EVENTS_FILE=str(tmp_path / "e")
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert "port is in use" in result.stdout
    assert "API_PORT" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_make_demo_prints_the_ready_event_and_exits_zero():
    result = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"detail-type": "Streaming Session Ready"' in result.stdout
    assert result.stdout.rstrip().endswith("demo: READY, one event")


# --- cancel, through `make run` as a user runs it --------------------------------------------------


@pytest.fixture
def slow_stack(tmp_path):
    """`make run` whose sessions take 10 minutes to provision (and whose poll budget outlasts
    that), so a request stays in provisioning until the test cancels it or forces it READY."""
    with make_run(
        tmp_path,
        start_timeout=120,
        NIMBLE_PROVISIONING_SECONDS="600",
        POLL_INITIAL_WAIT_SECONDS="1",
        POLL_BUDGET_SECONDS="900",
    ) as running:
        yield running


def test_make_run_cancels_a_request_once_and_deletes_its_session(slow_stack):
    process, output, url, nimble, events_file = slow_stack
    collection = f"{url}/studios/studio-local/streaming-sessions"

    def post(token: str) -> str:
        reply = requests.post(
            collection,
            json={"launchProfileId": "lp-local"},
            headers={"X-Amz-Client-Token": token},
            timeout=30,
        )
        assert reply.status_code == 202, reply.text
        return reply.json()["requestId"]

    def delete(request_id: str) -> requests.Response:
        return requests.delete(f"{collection}/requests/{request_id}", timeout=30)

    def sessions(token: str) -> list[dict]:
        state = requests.get(f"{nimble}/_emulator/state", timeout=10).json()
        return [s for s in state["sessions"] if s["clientToken"] == token]

    def events(request_id: str) -> list[dict]:
        lines = events_file.read_text().splitlines() if events_file.exists() else []
        found = [json.loads(line) for line in lines if line.strip()]
        return [e for e in found if e["detail"].get("requestId") == request_id]

    # While provisioning: the session exists and is CREATE_IN_PROGRESS.
    provisioning = post("e2e-cancel-provisioning")
    [session] = wait_until(lambda: sessions("e2e-cancel-provisioning"), timeout=90, what="the session")
    assert session["state"] == "CREATE_IN_PROGRESS"
    cancelled = delete(provisioning)
    assert cancelled.status_code == 202, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["error"]["code"]) == (
        "CANCELLED",
        "RequestCancelled",
    )
    [event] = wait_until(lambda: events(provisioning), timeout=90, what="the Failed event")
    assert event["detail-type"] == "Streaming Session Failed"
    assert event["detail"]["error"]["code"] == "RequestCancelled"
    assert event["detail"]["cancelledBy"] == "anonymous"
    assert event["detail"]["sessionId"] == session["sessionId"]
    assert event["detail"]["cleanup"]["sessionDeleted"] is True
    assert [s["state"] for s in sessions("e2e-cancel-provisioning")] == ["DELETED"]
    status = requests.get(f"{collection}/requests/{provisioning}", timeout=30).json()
    assert (status["status"], status["error"]["code"]) == ("CANCELLED", "RequestCancelled")

    # Right after the POST, before any session exists (or while the create is in flight).
    early = post("e2e-cancel-early")
    assert delete(early).status_code == 202
    [event] = wait_until(lambda: events(early), timeout=90, what="the early cancel's Failed event")
    assert event["detail"]["error"]["code"] == "RequestCancelled"
    made = sessions("e2e-cancel-early")
    assert all(s["state"] == "DELETED" for s in made), made
    if made:
        assert event["detail"]["cleanup"]["sessionDeleted"] is True

    # Again: 202 with the status, and nothing else (checked once a later event went out).
    again = delete(provisioning)
    assert (again.status_code, again.json()["status"]) == (202, "CANCELLED")

    # A READY request: forced READY through the emulator's control endpoint.
    ready = post("e2e-cancel-ready")
    [session] = wait_until(
        lambda: sessions("e2e-cancel-ready"), timeout=90, what="the READY request's session"
    )
    forced = requests.post(
        f"{nimble}/_emulator/sessions/{session['sessionId']}/state", json={"state": "READY"}, timeout=10
    )
    assert forced.status_code == 200, forced.text
    [event] = wait_until(lambda: events(ready), timeout=90, what="the Ready event")
    assert event["detail-type"] == "Streaming Session Ready"
    refused = delete(ready)
    assert (refused.status_code, refused.json()["code"]) == (409, "ConflictException")
    assert [s["state"] for s in sessions("e2e-cancel-ready")] == ["READY"]

    assert len(events(provisioning)) == 1  # the second DELETE published nothing
    unknown = delete("req-" + "a" * 32)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "ResourceNotFoundException")

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert "Traceback" not in output.text()
