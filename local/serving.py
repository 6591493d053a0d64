"""What the local HTTP servers share (the API Gateway stand-in and the Nimble Studio emulator):
a threaded server on loopback that can drop its keep-alive connections, and a handle that
serves it in a daemon thread and stops it cleanly."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self


class LocalHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open connections, so stopping never waits on clients."""

    daemon_threads = True
    # The stock server joins every handler thread on close, which waits for idle keep-alive
    # clients; close_connections() ends those threads instead.
    block_on_close = False
    # The stock backlog of 5 resets connections when a burst of clients connects at once.
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the peer closed it already
                connection.shutdown(socket.SHUT_RDWR)


class ServingThread:
    """A LocalHTTPServer serving in a daemon thread; ``stop()`` (or leaving ``with``) ends it."""

    def __init__(self, server: LocalHTTPServer, *, name: str, poll_interval: float) -> None:
        self.server = server
        self.url: str = server.url
        self.port: int = server.server_address[1]
        self._stopped = False
        self._stop_lock = threading.Lock()
        # stop() waits up to one poll interval: a short one keeps test fixtures fast.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name=f"{name}-{self.port}",
            daemon=True,
        )
        self._thread.start()

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, stopped={self._stopped})"
