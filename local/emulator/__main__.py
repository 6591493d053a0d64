"""``python -m local.emulator``: the Nimble Studio emulator in the foreground.

Environment: ``NIMBLE_PORT`` (default 8081), ``NIMBLE_HOST`` (default 127.0.0.1; a container
reaching the emulator needs another address), ``NIMBLE_EMULATOR_CONFIG`` (JSON text, or the
path of a JSON file, in the body format of ``POST /_emulator/config``). Ctrl-C or SIGTERM
stops it.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from local.emulator import DEFAULT_HOST
from local.emulator.backend import NimbleBackend
from local.emulator.config import load_config
from local.emulator.server import EmulatorServer

DEFAULT_PORT = 8081


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (e.g. from a supervising `make run`) ends the loop exactly like Ctrl-C.
    raise KeyboardInterrupt


def main() -> int:
    raw_port = os.environ.get("NIMBLE_PORT", str(DEFAULT_PORT))
    host = os.environ.get("NIMBLE_HOST", DEFAULT_HOST)
    try:
        port = int(raw_port)
        if not 0 <= port <= 65535:
            raise ValueError(raw_port)
    except ValueError:
        print(f"nimble emulator: NIMBLE_PORT must be a port number, got {raw_port!r}", file=sys.stderr)
        return 2
    try:
        config = load_config(os.environ.get("NIMBLE_EMULATOR_CONFIG"))
    except ValueError as exc:
        print(f"nimble emulator: {exc}", file=sys.stderr)
        return 2
    try:
        server = EmulatorServer((host, port), NimbleBackend(config), quiet=False)
    except OSError as exc:
        print(f"nimble emulator: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print(f"nimble emulator listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
    print("nimble emulator stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C before the server loop started (e.g. while reading the config).
        sys.exit(130)
