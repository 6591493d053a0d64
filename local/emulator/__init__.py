"""A local Nimble Studio: the streaming-session API over HTTP, with steerable faults.

Usage::

    from local.emulator import start_emulator, EmulatorConfig, NimbleBackend

    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=1)) as emu:
        client = nimble_client(endpoint_url=emu.url, region_name="us-east-1")
        emu.backend.add_fault(operation="CreateStreamingSession", error="ThrottlingException", count=1)
        ...

``python -m local.emulator`` runs it in the foreground; the control endpoint is described
in :mod:`local.emulator.server`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from local.emulator.backend import EmulatorConfig, NimbleBackend, StudioFixture
from local.emulator.exceptions import NimbleError
from local.emulator.faults import FaultSpec
from local.emulator.server import EmulatorServer, load_config

__all__ = [
    "EmulatorConfig",
    "FaultSpec",
    "NimbleBackend",
    "NimbleError",
    "RunningEmulator",
    "StudioFixture",
    "load_config",
    "start_emulator",
]

DEFAULT_HOST = "127.0.0.1"


class RunningEmulator:
    """An emulator serving in a daemon thread; ``stop()`` (or leaving ``with``) ends it."""

    def __init__(self, server: EmulatorServer, thread: threading.Thread, backend: NimbleBackend) -> None:
        self.server = server
        self.backend = backend
        self.url: str = server.url
        self.port: int = server.server_address[1]
        self._thread = thread
        self._stopped = False
        self._stop_lock = threading.Lock()

    def stop(self) -> None:
        """Stop serving, close open connections and the socket, and join the thread."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningEmulator(url={self.url!r}, stopped={self._stopped})"


def start_emulator(
    port: int = 0,
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    *,
    host: str = DEFAULT_HOST,
    backend: NimbleBackend | None = None,
    quiet: bool = True,
) -> RunningEmulator:
    """Start the emulator on ``host:port`` (port 0: a free one) in a daemon thread.

    ``config`` builds a fresh backend; pass ``backend`` instead to serve an existing one.
    ``quiet=False`` logs one line per request to stderr.
    """
    if backend is not None and config is not None:
        raise TypeError("give config or backend, not both")
    backend = backend if backend is not None else NimbleBackend(config)
    server = EmulatorServer((host, port), backend, quiet=quiet)
    thread = threading.Thread(
        target=server.serve_forever,
        # stop() waits up to one poll interval; a short one keeps test fixtures fast.
        kwargs={"poll_interval": 0.02},
        name=f"nimble-emulator-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return RunningEmulator(server, thread, backend)
