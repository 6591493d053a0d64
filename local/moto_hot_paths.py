"""Work moto's ASL engine repeats on every state, done once (moto 5.2.5, like local.moto_patches).

Under a burst, the engine's process runs the moto server (every worker's AWS call, the API's
StartExecution among them), the ASL engine's executions and the event plumbing under one GIL.
Sampled with ``py-spy record --gil`` during the 200-request burst of
``benchmarks/throughput.py`` (main process at 100% of one core), two pure computations took
over 40% of the time the GIL was held (and per-request costs of the moto server, below):

* ``boto_client_for`` (``moto/stepfunctions/parser/asl/utils/boto_client.py``) builds a new
  boto3 client (client class, endpoint rules, a copy of the session's event handlers) for each
  Lambda task and each ``events:putEvents`` task: ~25%;
* ``jsonpath_ng`` parses every path again (``extract_json``, ``ResultPath``, EventBridge's input
  templates), building a yacc parser each time: ~18%.

:func:`install_hot_path_caches` keeps one client per (session, region, service), rebuilt as
soon as a handler is registered on or removed from the session (the engine's Lambda hook, the
IAM gate's, a benchmark's: a client copies the session's handlers when it is made), and one
parsed expression per path text. Nothing moto decides changes: the same client calls, the same
expressions; only the repeated construction is gone. Process-wide and idempotent.

:class:`NameLocks` is the lock of local.moto_patches' StartExecution shim, one per execution
name, so that StartExecution calls with different names no longer wait for each other.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["NameLocks", "cached_boto_client_for", "install_hot_path_caches"]

#: The modules that imported ``boto_client_for`` by name (moto 5.2.5).
_CLIENT_USERS = (
    "moto.stepfunctions.parser.asl.utils.boto_client",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_{name}"
        for name in (
            "unsupported",
            "glue",
            "events",
            "ecs",
            "sqs",
            "sfn",
            "dynamodb",
            "batch",
            "sns",
            "aws_sdk",
        )
    ),
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
)
#: The modules that imported jsonpath_ng's ``parse`` by name.
_JSONPATH_USERS = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)

_clients: dict[tuple[str, str, bool, int], tuple[Any, Any]] = {}
_session: list[Any] = [None]  # the session the cached clients belong to
_clients_lock = threading.Lock()
_original_boto_client_for: list[Any] = []


def _handlers_version(session: Any) -> Any:
    """An object replaced whenever a handler is registered on or removed from the session:
    botocore's HierarchicalEmitter drops its lookup cache (a new dict) on every change."""
    emitter = session.events
    return getattr(getattr(emitter, "_emitter", emitter), "_lookup_cache", None)


def cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's ``boto_client_for``, built once per session, region, service and set of handlers.

    boto3's low-level clients are thread-safe; moto's ASL engine registers nothing on them."""
    import boto3
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    session = boto3._get_default_session()
    version = _handlers_version(session)
    port = 0 if botocore_stubber.enabled else int(moto_server_port())
    key = (region, service, botocore_stubber.enabled, port)
    with _clients_lock:
        if _session[0] is not session:  # a new mock_aws: the last engine's clients are dropped
            _clients.clear()
            _session[0] = session
        cached = _clients.get(key)
        if cached is not None and cached[0] is version and version is not None:
            return cached[1]
    client = _original_boto_client_for[0](region=region, service=service, state_credentials=state_credentials)
    with _clients_lock:
        if _session[0] is session:
            _clients[key] = (version, client)
    return client


@functools.lru_cache(maxsize=1024)
def _parse_extended(path: str) -> Any:
    from jsonpath_ng.ext.parser import parse

    return parse(path)


@functools.lru_cache(maxsize=1024)
def _parse_basic(path: str) -> Any:
    from jsonpath_ng.parser import parse

    return parse(path)


def install_hot_path_caches() -> None:
    """Cached ASL clients and JSONPath expressions in moto's engine (idempotent)."""
    import jsonpath_ng
    import jsonpath_ng.ext

    boto_client = importlib.import_module(_CLIENT_USERS[0])
    if getattr(boto_client, "_local_engine_cached", False):
        return
    original = boto_client.boto_client_for
    _original_boto_client_for[:] = [original]
    for name in _CLIENT_USERS:
        module = importlib.import_module(name)
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = cached_boto_client_for
    # Which parser each user imported: jsonpath_ng.parse (basic) or jsonpath_ng.ext.parse.
    basic, extended = jsonpath_ng.parse, jsonpath_ng.ext.parse
    for name in _JSONPATH_USERS:
        module = importlib.import_module(name)
        if module.parse is extended:
            module.parse = _parse_extended
        elif module.parse is basic:
            module.parse = _parse_basic
    # EventBridge's input templates (moto.events.utils) import jsonpath_ng.ext.parse at each call.
    jsonpath_ng.ext.parse = _parse_extended
    _install_server_paths()
    boto_client._local_engine_cached = True


def _install_server_paths() -> None:
    """Two per-request costs of every call any client makes (the API's StartExecution too):

    * ``BaseResponse.call_action`` lists the response class's methods with ``inspect.getmembers``
      (``moto.core.utils.method_names_from_class``) on every request: a class's methods do not
      change, so once per class;
    * every backend lookup (``BackendDict.__getitem__``) takes moto's process-wide backend lock
      and searches the list of backends in use, comparing each (``_create_account_specific_backend``):
      once the account's backend exists, there is nothing to create or register. moto's reset
      empties every backend it registered, so a reset account takes the original path again.
    """
    from moto.core import base_backend, responses, utils

    responses.method_names_from_class = functools.cache(utils.method_names_from_class)
    create = base_backend.BackendDict._create_account_specific_backend

    def create_once(self: Any, account_id: str) -> None:
        if account_id not in self:  # dict membership: the account's backend is missing
            create(self, account_id)

    base_backend.BackendDict._create_account_specific_backend = create_once


class NameLocks:
    """One lock per name, held only while someone uses it (StartExecution's shim in
    local.moto_patches): calls with one name stay serialised, which is what makes the
    name/input idempotency atomic, while calls with different names no longer wait for each
    other. Measured in the burst: the shim's single lock was held 14 s of a 28 s submit, 32 ms
    per call (p50) and 0.7 s (p99), almost all of it ``Execution.start`` waiting for its new
    thread to be scheduled; every other POST queued behind it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def held(self, name: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(name) or (threading.Lock(), 0)
            self._locks[name] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[name]
                if users == 1:
                    del self._locks[name]
                else:
                    self._locks[name] = (lock, users - 1)
