"""A local Nimble Studio: the streaming-session API over HTTP, with steerable faults.

Usage::

    from local.emulator import start_emulator, EmulatorConfig, NimbleBackend

    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=1)) as emu:
        client = nimble_client(endpoint_url=emu.url, region_name="us-east-1")
        emu.backend.add_fault(operation="CreateStreamingSession", error="ThrottlingException", count=1)
        ...

``python -m local.emulator`` runs it in the foreground; the control endpoint is described
in :mod:`local.emulator.control`, the operations in :mod:`local.emulator.api`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.emulator.backend import NimbleBackend
from local.emulator.config import EmulatorConfig, StudioFixture, load_config
from local.emulator.exceptions import NimbleError
from local.emulator.faults import FaultSpec
from local.emulator.server import EmulatorServer
from local.serving import ServingThread

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


class RunningEmulator(ServingThread):
    """An emulator serving in a daemon thread; ``stop()`` (or leaving ``with``) ends it."""

    server: EmulatorServer

    def __init__(self, server: EmulatorServer, backend: NimbleBackend) -> None:
        super().__init__(server, name="nimble-emulator", poll_interval=0.02)
        self.backend = backend


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
    return RunningEmulator(EmulatorServer((host, port), backend, quiet=quiet), backend)
