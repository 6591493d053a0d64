"""``python -m local.emulator`` as a user runs it: a foreground process, stopped by a signal."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
LISTENING = "nimble emulator listening on http://127.0.0.1:"


def launch(env_extra: dict[str, str]) -> subprocess.Popen[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("NIMBLE_")}
    env = {**inherited, "PYTHONPATH": str(REPO_ROOT), "NIMBLE_PORT": "0", **env_extra}
    return subprocess.Popen(
        [sys.executable, "-m", "local.emulator"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process: subprocess.Popen[str], timeout: float = 10) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the emulator printed nothing"
    return process.stdout.readline().rstrip("\n")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local http URL)
        return json.load(response)


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = launch({"NIMBLE_EMULATOR_CONFIG": '{"provisioningSeconds": 0.25, "listPageSize": 7}'})
    try:
        line = first_line(process)
        assert line.startswith(LISTENING), line
        yield process, line.removeprefix("nimble emulator listening on ")
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_a_signal_then_exits_cleanly(stop_signal: int) -> None:
    process = launch({})
    line = first_line(process)
    assert line.startswith(LISTENING)
    port = int(line.rsplit(":", 1)[1])
    assert get_json(f"http://127.0.0.1:{port}/_emulator/health") == {"status": "ok"}

    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    assert stdout == ""  # exactly one line on stdout, read above
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_start_up_config_from_a_json_string(running: tuple[subprocess.Popen[str], str]) -> None:
    _, url = running
    config = get_json(f"{url}/_emulator/config")["config"]
    assert (config["provisioningSeconds"], config["listPageSize"]) == (0.25, 7)


def test_start_up_config_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "emulator.json"
    path.write_text(
        json.dumps({"faults": [{"error": "ThrottlingException", "count": 1}], "liveSessionsPerOwner": 2})
    )
    process = launch({"NIMBLE_EMULATOR_CONFIG": str(path)})
    try:
        url = first_line(process).removeprefix("nimble emulator listening on ")
        state = get_json(f"{url}/_emulator/state")
        assert state["quota"] == {"liveSessionsPerOwner": 2}
        assert [f["error"] for f in state["faults"]] == ["ThrottlingException"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_requests_are_logged_to_stderr(running: tuple[subprocess.Popen[str], str]) -> None:
    process, url = running
    get_json(f"{url}/_emulator/health")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    assert "GET /_emulator/health -> 200 control:health" in stderr


@pytest.mark.parametrize(
    ("env", "message", "code"),
    [
        ({"NIMBLE_EMULATOR_CONFIG": '{"provisioningSeconds": -1}'}, "config.provisioningSeconds", 2),
        ({"NIMBLE_EMULATOR_CONFIG": "{not json"}, "not valid JSON", 2),
        ({"NIMBLE_EMULATOR_CONFIG": "/nonexistent/emulator.json"}, "cannot read emulator config file", 2),
        ({"NIMBLE_PORT": "eighty"}, "NIMBLE_PORT must be a port number", 2),
    ],
)
def test_bad_settings_exit_with_a_message_not_a_traceback(
    env: dict[str, str], message: str, code: int
) -> None:
    process = launch(env)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == code
    assert message in stderr
    assert "Traceback" not in stderr
    assert stdout == ""


def test_a_busy_port_exits_with_a_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = launch({"NIMBLE_PORT": str(taken.getsockname()[1])})
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 1
    assert "cannot listen on 127.0.0.1:" in stderr
    assert "Traceback" not in stderr
