"""The local execution engine: the real state machine definition, run by moto, with the real handlers.

One module shared by the workflow tests, ``make run`` and the benchmarks::

    from local.engine import LocalEngine

    with LocalEngine(
        parameter_overrides={"NimbleEndpointUrl": emu.url, "PollInitialWaitSeconds": "0"},
        events_file=Path(".local/events.jsonl"),
    ) as engine:
        arn = engine.start_execution({"studioId": ..., "clientToken": ..., "request": {...}}, name="req-1")
        result = engine.wait(arn)                       # DescribeExecution once it is not RUNNING
        engine.history(arn)                              # GetExecutionHistory, all pages
        engine.events()                                  # every event delivered so far

The engine only wires its parts; each lives in its own module:

* :mod:`local.template` reads ``template.yaml`` and resolves intrinsic functions like
  CloudFormation; :mod:`local.plan` turns it into the functions (:class:`FunctionSpec`) and
  the state machine (the very ASL file SAM deploys, ``${Name}`` substituted);
* ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`` holds every AWS service;
  :mod:`local.moto_patches` makes it like AWS where it matters, :mod:`local.moto_hot_paths` cheaper;
* :mod:`local.event_sink` creates the event bus and delivers every event of the workflow's
  source to a list, a JSON lines file and a callback;
* :mod:`local.lambda_runtime` runs the handlers: warm worker processes, a pool per function,
  each worker one execution environment (its function's environment variables and module
  state, one event at a time). Their own AWS calls reach this process's moto through a moto
  server on a free loopback port (``AWS_ENDPOINT_URL``). ``preload=("my.module",)`` imports
  modules in every worker before its handler (like Lambda's ``AWS_LAMBDA_EXEC_WRAPPER``; tests
  inject faults with it). Nimble Studio calls go to ``AWS_ENDPOINT_URL_NIMBLE`` (the emulator).
  ``runtime="in-process"`` calls the handlers in this process: the polling benchmark only.
* :mod:`local.status_events` sends Step Functions' "Execution Status Change" events to the
  default bus (:meth:`LocalEngine.status_events`); ``event_rules=True`` makes the template's
  ``EventBridgeRule`` rules in moto (and runs its ``Schedule`` events when ``schedule_scale`` is
  set), whose functions :mod:`local.event_targets` invokes asynchronously with the template's
  retries (``retry_delay_scale`` shrinks their delays) and dead-letter queues. ``make run`` turns
  the rules on; the engine alone leaves them off so that a test calls a target itself.
* :mod:`local.iam` (``iam=``, on with worker processes) gives each function its role's
  credentials and refuses, as AWS would, every call its role does not allow: in moto's server,
  in the ASL engine's own calls (the state machine's role) and in the Nimble emulator;
* :mod:`local.lambda_hook` answers Lambda ``Invoke`` on boto3's default session (the one
  moto's ASL engine calls through) with the runtime's result, as Lambda reports it: an
  exception's class name is the ``errorType`` that Retry and Catch match.

Each function's environment: ``LOCAL_ENVIRONMENT_DEFAULTS``, the template's (``Globals`` + its own, resolved),
the caller's ``environment`` (:meth:`LocalEngine.handler_environment`); ``os.environ`` is left alone.

The engine uses process-wide state (moto's mock, boto3's default session): one
``LocalEngine`` at a time per process; ``start()`` refuses a second one.

Differences from AWS, on purpose:

* A function's ``Timeout`` is not enforced while the handler runs; an invocation that took
  longer is reported afterwards as Lambda does (``errorType: Sandbox.Timedout``); a worker
  still silent 30 s past its deadline is ended (see :mod:`local.lambda_runtime`).
  ``function_timeouts={"CreateSessionFunction": 2}`` replaces the template's value for a
  function (tests use it to make a step time out after its side effect went through).
* Concurrency: at most ``max_workers_per_function`` workers per function; further invocations
  wait (Lambda would throttle). Init is not counted in the Timeout. ``warm_workers={"ApiFunction":
  8}`` starts 8 with the engine (provisioned concurrency; the bound grows to it if smaller).
* Where moto differs from AWS in what we rely on (StartExecution's idempotency, StopExecution,
  putEvents' FailedEntry cause, histories), :mod:`local.moto_patches` aligns it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from local.event_sink import EventSink
from local.event_targets import EventTargets, rule_targets
from local.lambda_hook import LambdaInvokeHook
from local.lambda_invoke import LambdaContext, LambdaInvocationError
from local.lambda_runtime import DEFAULT_MAX_WORKERS, WorkerRuntime
from local.plan import FunctionSpec, make_plan
from local.template import (
    ACCOUNT_ID,
    DEFAULT_STACK_NAME,
    DEFAULT_TEMPLATE,
    REGION,
    REPO_ROOT,
    EngineError,
    TemplateResolver,
    load_template,
)

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_TEMPLATE",
    "LOCAL_ENVIRONMENT_DEFAULTS",
    "REGION",
    "REPO_ROOT",
    "EngineError",
    "FunctionSpec",
    "LambdaContext",
    "LambdaInvocationError",
    "LocalEngine",
    "TemplateResolver",
    "load_template",
]

#: Environment every handler gets before the template's and the caller's (which win).
LOCAL_ENVIRONMENT_DEFAULTS: dict[str, str] = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",  # there is no X-Ray daemon locally
}

_RUNTIMES = ("process", "in-process")


class LocalEngine:
    """The SAM application's workflow, executed locally (see the module docstring)."""

    _active_lock = threading.Lock()
    _active: LocalEngine | None = None

    def __init__(
        self,
        template_path: str | Path = DEFAULT_TEMPLATE,
        parameter_overrides: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        events_file: str | Path | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        function_timeouts: Mapping[str, float] | None = None,
        runtime: str = "process",
        preload: Sequence[str] = (),
        max_workers_per_function: int = DEFAULT_MAX_WORKERS,
        warm_workers: Mapping[str, int] | None = None,
        event_rules: bool = False,
        retry_delay_scale: float = 1.0,
        schedule_scale: float | None = None,
        on_invocation: Callable[[dict[str, Any]], None] | None = None,
        iam: bool | None = None,
    ) -> None:
        self.template_path = Path(template_path).resolve()
        self.template = load_template(self.template_path)
        self.resolver = TemplateResolver(self.template, parameter_overrides, stack_name=stack_name)
        # Logical id -> seconds, replacing the template's Timeout (see the module docstring).
        self.function_timeouts = dict(function_timeouts or {})
        self.environment_overrides = dict(environment or {})
        self.events_file = Path(events_file) if events_file is not None else None
        self.on_event = on_event
        if runtime not in _RUNTIMES:
            raise EngineError(f"runtime must be one of {_RUNTIMES}, not {runtime!r}")
        self.runtime_kind = runtime
        # Modules every worker imports before its handler module (see local.lambda_worker).
        self.preload = tuple(preload)
        if self.preload and runtime != "process":
            raise EngineError("preload needs the worker runtime (runtime='process')")
        self.max_workers_per_function, self.warm_workers = max_workers_per_function, dict(warm_workers or {})
        self.event_rules, self.retry_delay_scale = event_rules, retry_delay_scale
        self.schedule_scale = schedule_scale
        self.on_invocation = on_invocation
        self._status_sink: EventSink | None = None
        self._emitter: Any = None  # local.status_events.StatusChangeEmitter
        self._targets: EventTargets | None = None

        plan = make_plan(self.resolver, self.template_path.parent, self.function_timeouts)
        self.plan = plan
        self.functions: dict[str, FunctionSpec] = plan.functions
        self.state_machine_logical_id = plan.state_machine_logical_id
        self.state_machine_arn = plan.state_machine_arn
        self.event_bus_name, self.event_source = plan.event_bus_name, plan.event_source
        self.definition = plan.definition

        self._started = False
        self._mock: Any = None
        self._sfn: Any = None
        self._sink: EventSink | None = None
        self._runtime: Any = None
        self._moto_server: Any = None
        self._invoke_hook = LambdaInvokeHook(self.functions, self._invoke_runtime)
        # IAM: each function and the state machine call AWS as their role (not in-process: one identity).
        self.iam: Any = None
        if iam or (iam is None and runtime == "process"):
            from local.iam import LocalIam

            self.iam = LocalIam(self.resolver, self.state_machine_logical_id)

    def handler_environment(self, logical_id: str) -> dict[str, str]:
        """A function's environment: local defaults, the template's (Globals + its own), the caller's."""
        spec = self.functions[logical_id]
        return {**LOCAL_ENVIRONMENT_DEFAULTS, **spec.environment, **self.environment_overrides}

    # ----- life cycle -----------------------------------------------------------------------

    def __enter__(self) -> LocalEngine:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalEngine:
        with LocalEngine._active_lock:
            if LocalEngine._active is not None:
                raise EngineError("another LocalEngine is running in this process; stop it first")
            LocalEngine._active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        import boto3
        from moto import mock_aws

        from local import moto_hot_paths, moto_patches, tables

        self._started = True
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        # mock_aws replaced boto3.DEFAULT_SESSION with None: this makes the session that moto's
        # ASL engine (boto3.client(...)) and every other default-session client will use.
        self._invoke_hook.install()
        if self.iam is not None:
            self.iam.start()  # roles assumed in moto's STS; the ASL engine's calls checked
        self._sfn = boto3.client("stepfunctions", region_name=REGION)
        self._sink = EventSink(self.event_bus_name, self.event_source, self.events_file, self.on_event)
        self._sink.start()
        tables.create_tables(self.resolver)  # the template's DynamoDB tables (schedule, announcements)
        created = self._sfn.create_state_machine(
            name=self.plan.state_machine_name,
            definition=self.definition,
            roleArn=self.plan.role_arn,
            type="STANDARD",
        )
        if created["stateMachineArn"] != self.state_machine_arn:
            raise EngineError(f"moto named the state machine {created['stateMachineArn']}")
        moto_patches.install_engine_patches(ACCOUNT_ID, REGION)
        moto_hot_paths.install_hot_path_caches()
        self._runtime = self._make_runtime()
        self._runtime.start()
        self._start_status_events()

    def _start_status_events(self) -> None:
        """Step Functions' status-change events on the default bus; the template's rules, if asked."""
        from local.status_events import SOURCE as STATUS_SOURCE
        from local.status_events import StatusChangeEmitter

        self._status_sink = EventSink("default", STATUS_SOURCE, queue_name="local-engine-status-sink")
        self._status_sink.start()
        if self.event_rules:
            self._targets = EventTargets(
                rule_targets(self.resolver),
                self.functions,
                self._invoke_runtime,
                retry_delay_scale=self.retry_delay_scale,
                schedule_scale=self.schedule_scale,
                on_invocation=self.on_invocation,
            ).start()
        self._emitter = StatusChangeEmitter().start()

    def _make_runtime(self) -> Any:
        environments = {logical_id: self.handler_environment(logical_id) for logical_id in self.functions}
        if self.iam is not None:  # each worker signs with its role's credentials
            for logical_id, environment in environments.items():
                environment.update(self.iam.credentials(logical_id))
            nimble = [
                env["AWS_ENDPOINT_URL_NIMBLE"]
                for env in environments.values()
                if env.get("AWS_ENDPOINT_URL_NIMBLE")
            ]
            self.iam.configure_emulators(nimble)
        if self.runtime_kind == "in-process":
            from local.inprocess_runtime import InProcessRuntime

            return InProcessRuntime(self.functions, environments)
        return WorkerRuntime(
            self.functions,
            environments,
            aws_endpoint_url=self._start_moto_server(),
            preload=self.preload,
            max_workers=self.max_workers_per_function,
            warm_workers=self.warm_workers,
        )

    def _start_moto_server(self) -> str:
        """moto's server on a free loopback port, answering from this process's mock backends."""
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per call
        if self.iam is not None:  # every request decided as its caller's role first
            self._moto_server = self.iam.moto_server()
        else:
            self._moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto_server.start()
        host, port = self._moto_server.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def aws_endpoint_url(self) -> str | None:
        """Where the workers' AWS calls go (the moto server), while the worker runtime runs."""
        if self._moto_server is None:
            return None
        host, port = self._moto_server.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stops running executions, delivers the last events, ends the runtime and the mock."""
        if not self._started:
            with LocalEngine._active_lock:
                if LocalEngine._active is self:
                    LocalEngine._active = None
            return
        try:
            # Executions stopped below are not announced: no reconciler runs at shutdown.
            for part in (self._emitter, self._targets, self._status_sink):
                if part is not None:
                    part.stop()
            if self._sfn is not None:
                with contextlib.suppress(Exception):
                    self._stop_running_executions()
            if self._sink is not None:
                self._sink.stop()
        finally:
            try:
                if self._runtime is not None:
                    self._runtime.stop()
                    self._runtime = None
                if self._moto_server is not None:
                    self._moto_server.stop()
                    self._moto_server = None
            finally:
                if self._mock is not None:
                    self._invoke_hook.remove()
                    if self.iam is not None:
                        self.iam.remove()
                    self._mock.stop()
                    self._mock = None
                self._started = False
                with LocalEngine._active_lock:
                    if LocalEngine._active is self:
                        LocalEngine._active = None

    def _stop_running_executions(self) -> None:
        paginator = self._sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"):
            for execution in page["executions"]:
                self._sfn.stop_execution(executionArn=execution["executionArn"], cause="engine stopped")

    # ----- executions -------------------------------------------------------------------------

    def start_execution(self, input: Mapping[str, Any], name: str | None = None) -> str:
        """StartExecution through boto3 (as the API does); returns the execution ARN.

        ``name`` defaults to a new UUID. Same name + same input while it runs returns the same
        ARN; otherwise a reused name raises ``ExecutionAlreadyExists`` (a botocore ClientError).
        """
        self._require_started()
        self._invoke_hook.install()
        if self.iam is not None:
            self.iam.install()
        response = self._sfn.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=name or str(uuid.uuid4()),
            input=json.dumps(input, separators=(",", ":")),
        )
        return response["executionArn"]

    def describe(self, execution_arn: str) -> dict[str, Any]:
        self._require_started()
        response = self._sfn.describe_execution(executionArn=execution_arn)
        response.pop("ResponseMetadata", None)
        return response

    def wait(self, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
        """DescribeExecution once the execution is no longer RUNNING; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.describe(execution_arn)
            if result["status"] != "RUNNING":
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.05)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every history event of the execution, all pages."""
        self._require_started()
        events: list[dict[str, Any]] = []
        for page in self._sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def events(self) -> list[dict[str, Any]]:
        """Every event delivered so far (EventBridge's target shape, ``detail`` an object)."""
        self._require_started()
        assert self._sink is not None
        return self._sink.events()

    def status_events(self) -> list[dict[str, Any]]:
        """Every "Step Functions Execution Status Change" event on the default bus so far."""
        self._require_started()
        assert self._status_sink is not None
        return self._status_sink.events()

    def queue_messages(self, queue_name: str) -> list[dict[str, Any]]:
        """The bodies of the messages now in a queue of the stack (e.g. a dead-letter queue)."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(message["Body"]) for message in messages.get("Messages", [])]

    # ----- Lambda ---------------------------------------------------------------------------

    def _invoke_runtime(self, spec: FunctionSpec, event: Any) -> tuple[bytes, bool] | None:
        runtime = self._runtime
        return None if runtime is None else runtime.invoke(spec, event)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invokes a function as Lambda would (RequestResponse); returns the decoded response.

        Raises :class:`LambdaInvocationError` (with Lambda's error payload) when it failed.
        """
        self._require_started()
        spec = self.functions.get(logical_id)
        if spec is None:
            raise KeyError(f"no function {logical_id} in the template")
        body, failed = self._runtime.invoke(spec, event)
        payload = json.loads(body)
        if failed:
            raise LambdaInvocationError(payload)
        return payload

    def worker_pids(self) -> dict[str, list[int]]:
        """The worker processes now running, by function (none with the in-process runtime)."""
        pools = getattr(self._runtime, "pools", {})
        return {logical_id: [worker.pid for worker in pool.workers()] for logical_id, pool in pools.items()}

    def _require_started(self) -> None:
        if not self._started or self._mock is None:
            raise EngineError("the engine is not running: call start() first")
