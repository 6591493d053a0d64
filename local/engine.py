"""The local execution engine: the real state machine definition, run by moto, with the real handlers.

One module shared by the workflow tests, ``make run`` and the benchmarks::

    from local.engine import LocalEngine, summarize_history

    with LocalEngine(
        parameter_overrides={"NimbleEndpointUrl": emu.url, "PollInitialWaitSeconds": "0"},
        events_file=Path(".local/events.jsonl"),
    ) as engine:
        arn = engine.start_execution({"studioId": ..., "clientToken": ..., "request": {...}}, name="req-1")
        result = engine.wait(arn)                       # DescribeExecution once it is not RUNNING
        summary = summarize_history(engine.history(arn))
        engine.events()                                  # every event delivered so far

What it does on ``start()``:

1. Reads ``template.yaml`` (short-form tags understood, see :func:`load_template`) and resolves
   what the local run needs like CloudFormation would: parameters (defaults, then
   ``parameter_overrides``), conditions, ``Ref``/``GetAtt``/``Sub``/``If``/... in the state
   machine's ``DefinitionSubstitutions`` and in the functions' ``Environment``.
2. Starts ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`` and creates,
   through ordinary boto3 clients: the custom event bus, an SQS queue with a rule that sends it
   every event of the template's ``EventSource``, and the state machine from the very ASL file
   SAM deploys (``DefinitionUri``), with ``${Name}`` substituted.
3. Answers Lambda ``Invoke`` in-process: a ``before-call.lambda.Invoke`` hook on boto3's default
   session (the one moto's ASL engine builds its clients from, see
   ``moto/stepfunctions/parser/asl/utils/boto_client.py``) maps the function ARN to the
   template's ``Handler`` and calls it with a Lambda-like context. An exception comes back as
   Lambda reports it (``FunctionError: Unhandled``, payload ``errorMessage/errorType/stackTrace``);
   moto's ``StateTaskLambda`` takes ``errorType`` as the error name, so an exception class
   ``ThrottlingException`` matches ``"ErrorEquals": ["ThrottlingException"]``.
4. Sets the handlers' environment (template ``Globals`` + per-function variables, then the
   caller's ``environment``) in ``os.environ`` and (re)imports every handler module, so the
   module-level Nimble clients are built with it (a cold start).

Nimble Studio calls from the handlers are not intercepted: moto's botocore stubber answers only
URLs that match one of its AWS services (and turns any other ``*.amazonaws.com`` into a 404), so
a request to the emulator at ``http://127.0.0.1:PORT`` goes out over real HTTP.

The engine uses process-wide state (moto's mock, ``os.environ``, boto3's default session):
one ``LocalEngine`` at a time per process; ``start()`` refuses a second one.

Differences from AWS, on purpose:

* All functions share one process and one ``os.environ``: per-function variables are merged
  (a name set to two different values is an error) and ``AWS_LAMBDA_FUNCTION_*`` are not set.
  Concurrent invocations run in parallel threads of the same process (module globals such
  as the Nimble client are shared, as they would be within one warm container).
* A function's ``Timeout`` is not enforced while the handler runs; an invocation that took
  longer is reported afterwards as Lambda does (``errorType: Sandbox.Timedout``).
  ``function_timeouts={"CreateSessionFunction": 2}`` replaces the template's value for a
  function (tests use it to make a step time out after its side effect went through).
* StartExecution: moto's name/input idempotency is made atomic and names are checked like
  AWS (see :meth:`LocalEngine._install_start_execution_shim`).
* ``events:putEvents`` with a rejected entry fails the state with ``EventBridge.FailedEntry``
  and, as on AWS, a ``Cause`` that is the PutEvents response as JSON text; moto would put the
  response object itself in the Catch's ``Cause`` (see :func:`_install_put_events_cause_shim`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import yaml

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "EngineError",
    "FunctionSpec",
    "HistorySummary",
    "LambdaContext",
    "LambdaInvocationError",
    "LocalEngine",
    "TemplateResolver",
    "load_template",
    "summarize_history",
]

LOG = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
DEFAULT_STACK_NAME = "nimble-local"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"

#: Environment every handler gets before the template's and the caller's (which win).
LOCAL_ENVIRONMENT_DEFAULTS: dict[str, str] = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    # There is no X-Ray daemon locally.
    "POWERTOOLS_TRACE_DISABLED": "true",
}

_FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
_STATE_MACHINE_TYPES = frozenset({"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"})
_EVENT_BUS_TYPE = "AWS::Events::EventBus"


class EngineError(RuntimeError):
    """The template, the definition or the engine's set-up is not usable locally."""


class LambdaInvocationError(Exception):
    """:meth:`LocalEngine.invoke`: the handler failed; ``payload`` is what Lambda would return."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")


# --- the template ----------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus CloudFormation's short-form tags (``!Ref``, ``!GetAtt``, ...)."""


def _construct_short_form(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # !GetAtt Resource.Attribute
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: str | Path) -> dict[str, Any]:
    """A CloudFormation/SAM YAML template as plain data; short-form tags become long form."""
    with open(path, encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise EngineError(f"{path}: not a CloudFormation template (no Resources)")
    return template


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def _cfn_string(value: Any) -> str:
    """How CloudFormation writes a scalar where a string is expected."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class TemplateResolver:
    """Resolves intrinsic functions the way CloudFormation would, for a local stack.

    Physical ids: a function's name is its logical id (its ARN
    ``arn:aws:lambda:us-east-1:123456789012:function:<LogicalId>``), an event bus is its
    ``Name``, a state machine's ``Ref`` is its ARN and its name its ``Name`` property.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameter_overrides: Mapping[str, Any] | None = None,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.template = template
        self.resources: dict[str, Any] = dict(template.get("Resources") or {})
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = self._parameters(dict(parameter_overrides or {}))
        self._conditions: dict[str, bool] = {}

    # ----- parameters and conditions ----------------------------------------------------------

    def _parameters(self, overrides: dict[str, Any]) -> dict[str, str]:
        declared: dict[str, Any] = dict(self.template.get("Parameters") or {})
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise EngineError(f"parameter_overrides names parameters the template lacks: {unknown}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in overrides:
                value = _cfn_string(overrides[name])
            elif "Default" in spec:
                value = _cfn_string(spec["Default"])
            else:
                raise EngineError(f"parameter {name} has no Default: pass it in parameter_overrides")
            allowed = spec.get("AllowedValues")
            if allowed is not None and value not in [_cfn_string(item) for item in allowed]:
                raise EngineError(f"parameter {name}={value!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern is not None and not re.fullmatch(pattern, value):
                raise EngineError(f"parameter {name}={value!r} does not match {pattern}")
            if spec.get("Type") == "Number":
                try:
                    number = float(value)
                except ValueError:
                    raise EngineError(f"parameter {name}={value!r} is not a number") from None
                if "MinValue" in spec and number < float(spec["MinValue"]):
                    raise EngineError(f"parameter {name}={value} is below MinValue {spec['MinValue']}")
                if "MaxValue" in spec and number > float(spec["MaxValue"]):
                    raise EngineError(f"parameter {name}={value} is above MaxValue {spec['MaxValue']}")
            values[name] = value
        return values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise EngineError(f"unknown condition {name}")
            self._conditions[name] = bool(self._condition_value(conditions[name]))
        return self._conditions[name]

    def _condition_value(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return _cfn_string(left) == _cfn_string(right)
            if key == "Fn::Not":
                return not self._condition_value(argument[0])
            if key == "Fn::And":
                return all(self._condition_value(item) for item in argument)
            if key == "Fn::Or":
                return any(self._condition_value(item) for item in argument)
        raise EngineError(f"not a condition: {value!r}")

    # ----- physical ids ---------------------------------------------------------------------

    def function_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("FunctionName")
        return _cfn_string(self.resolve(name)) if name is not None else logical_id

    def function_arn(self, logical_id: str) -> str:
        return f"arn:{PARTITION}:lambda:{self.region}:{self.account_id}:function:{self.function_name(logical_id)}"

    def state_machine_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("Name", properties.get("StateMachineName"))
        return _cfn_string(self.resolve(name)) if name is not None else f"{self.stack_name}-{logical_id}"

    def state_machine_arn(self, logical_id: str) -> str:
        name = self.state_machine_name(logical_id)
        return f"arn:{PARTITION}:states:{self.region}:{self.account_id}:stateMachine:{name}"

    def event_bus_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        return _cfn_string(self.resolve(properties["Name"]))

    def _resource_type(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise EngineError(f"unknown resource or parameter {logical_id}")
        return str(self.resources[logical_id].get("Type"))

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            spec = (self.template.get("Parameters") or {}).get(name) or {}
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                return [item.strip() for item in self.parameters[name].split(",")]
            return self.parameters[name]
        kind = self._resource_type(name)
        if kind in _FUNCTION_TYPES:
            return self.function_name(name)
        if kind in _STATE_MACHINE_TYPES:
            return self.state_machine_arn(name)
        if kind == _EVENT_BUS_TYPE:
            return self.event_bus_name(name)
        return name  # anything else: its logical id is a good enough local physical id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self._resource_type(logical_id)
        if kind in _FUNCTION_TYPES and attribute == "Arn":
            return self.function_arn(logical_id)
        if kind in _STATE_MACHINE_TYPES and attribute == "Arn":
            return self.state_machine_arn(logical_id)
        if kind in _STATE_MACHINE_TYPES and attribute == "Name":
            return self.state_machine_name(logical_id)
        if kind == _EVENT_BUS_TYPE and attribute == "Name":
            return self.event_bus_name(logical_id)
        if kind == _EVENT_BUS_TYPE and attribute == "Arn":
            name = self.event_bus_name(logical_id)
            return f"arn:{PARTITION}:events:{self.region}:{self.account_id}:event-bus/{name}"
        raise EngineError(f"!GetAtt {logical_id}.{attribute} ({kind}) is not supported locally")

    # ----- intrinsic functions ----------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated; ``AWS::NoValue`` members dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(logical_id, self.resolve(attribute))
        if name == "Sub":
            return self._sub(argument)
        if name == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name in {"Equals", "Not", "And", "Or"}:
            return self._condition_value({f"Fn::{name}": argument})
        if name == "Join":
            delimiter, items = argument
            return _cfn_string(self.resolve(delimiter)).join(_cfn_string(i) for i in self.resolve(items))
        if name == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            delimiter, text = argument
            return _cfn_string(self.resolve(text)).split(_cfn_string(self.resolve(delimiter)))
        if name == "FindInMap":
            mapping, first, second = (self.resolve(item) for item in argument)
            return self.template["Mappings"][mapping][first][second]
        raise EngineError(f"Fn::{name} is not supported locally")

    _SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in (argument[1] or {}).items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal}
            if name in variables:
                return _cfn_string(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _cfn_string(self.get_att(logical_id, attribute))
            resolved = self.ref(name)
            if isinstance(resolved, list) or resolved is NO_VALUE:
                raise EngineError(f"${{{name}}} in !Sub is not a string")
            return _cfn_string(resolved)

        return self._SUB_VARIABLE.sub(replace, text)

    # ----- what the engine needs --------------------------------------------------------------

    def logical_ids(self, types: Iterable[str]) -> list[str]:
        wanted = set(types)
        return [logical_id for logical_id, res in self.resources.items() if res.get("Type") in wanted]

    def function_property(self, logical_id: str, name: str, default: Any = None) -> Any:
        """A function property, falling back to ``Globals.Function`` (SAM's rule)."""
        properties = self.resources[logical_id].get("Properties") or {}
        if name in properties:
            return self.resolve(properties[name])
        globals_ = (self.template.get("Globals") or {}).get("Function") or {}
        if name in globals_:
            return self.resolve(globals_[name])
        return default

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """``Globals.Function.Environment.Variables`` merged with the function's own."""
        globals_ = (self.template.get("Globals") or {}).get("Function") or {}
        properties = self.resources[logical_id].get("Properties") or {}
        merged: dict[str, str] = {}
        for source in (globals_, properties):
            variables = self.resolve(((source.get("Environment") or {}).get("Variables")) or {})
            merged.update({key: _cfn_string(value) for key, value in variables.items()})
        return merged


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the template, as the engine runs it."""

    logical_id: str
    name: str
    arn: str
    handler: str  # "package.module.function", relative to code_dir
    code_dir: Path
    timeout: float  # seconds: the template's Timeout, or the engine's function_timeouts
    memory_size: int
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def module_name(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function_attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


# --- Lambda, in-process ------------------------------------------------------------------------


class LambdaContext:
    """What the Python runtime passes as ``context`` (the attributes handlers and Powertools read)."""

    def __init__(self, function: FunctionSpec, *, request_id: str | None = None) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        # The runtime reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE: a string.
        self.memory_limit_in_mb = str(function.memory_size)
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.timeout_seconds = function.timeout
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def _error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """The payload the Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _install_parse_cache() -> None:
    """Parse each definition once, not on every StartExecution.

    moto (5.2.5) parses the definition with ANTLR for every execution (in its thread) and every
    DescribeStateMachine: ~100 ms of CPU each, which under a burst starves the API's thread of
    the GIL. The parsed program holds no per-execution state (that lives in each execution's
    Environment: stack, heap, context), so one parse serves all. Process-wide and idempotent.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    if getattr(AmazonStateLanguageParser, "_local_engine_cached", False):
        return
    parse = AmazonStateLanguageParser.__dict__["parse"].__func__
    AmazonStateLanguageParser.parse = staticmethod(functools.lru_cache(maxsize=16)(parse))
    AmazonStateLanguageParser._local_engine_cached = True


def _install_put_events_cause_shim() -> None:
    """``EventBridge.FailedEntry``'s Cause as AWS gives it: the PutEvents response as JSON text.

    moto (5.2.5, ``state_task_service_events.SfnFailedEntryCountException``) keeps the response
    as a dict, so the history shows its Python repr and a Catch's ResultPath receives
    ``{"Error": "EventBridge.FailedEntry", "Cause": {...}}``, where Step Functions always gives
    strings. Process-wide and idempotent: it only makes moto more like AWS.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_events as events_task,
    )

    exception = events_task.SfnFailedEntryCountException
    if getattr(exception, "_local_engine_json_cause", False):
        return
    original_init = exception.__init__

    def __init__(self: Any, cause: Any) -> None:
        original_init(self, cause)
        if not isinstance(cause, str):
            self.cause = json.dumps(cause, separators=(",", ":"), default=str)

    exception.__init__ = __init__
    exception._local_engine_json_cause = True


# --- history ----------------------------------------------------------------------------------

_SCHEDULED_EVENTS = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_ATTEMPT_FAILED_EVENTS = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "ActivityScheduleFailed",
    }
)


@dataclass(frozen=True)
class HistorySummary:
    """What an execution's history says about its path and its cost.

    * ``states``: the names of the states entered, in order (a loop shows up repeatedly);
    * ``polls``: how many times the poll state was entered (not counting its retries);
    * ``retries``: per state, failed attempts that were followed by another attempt in the
      same state entry (a ``*Failed``/``*TimedOut`` event, then another ``*Scheduled``);
    * ``transitions``: the number of ``*StateEntered`` events, i.e. one per state entered;
    * ``billable_transitions``: ``transitions`` plus every retry, which is how Step Functions
      Standard counts billed state transitions (each retry counts as one).
    """

    states: tuple[str, ...]
    polls: int
    retries: dict[str, int]
    transitions: int

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())

    @property
    def billable_transitions(self) -> int:
        return self.transitions + self.total_retries


def summarize_history(
    events: Iterable[Mapping[str, Any]], *, poll_state: str = "PollSession"
) -> HistorySummary:
    """Summarises GetExecutionHistory events (see :class:`HistorySummary` for the counting rules)."""
    states: list[str] = []
    retries: dict[str, int] = {}
    current: str | None = None
    attempt_failed = False
    for event in events:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
            states.append(current)
            attempt_failed = False
        elif kind.endswith("StateExited"):
            current, attempt_failed = None, False
        elif kind in _ATTEMPT_FAILED_EVENTS:
            attempt_failed = True
        elif kind in _SCHEDULED_EVENTS and attempt_failed and current is not None:
            retries[current] = retries.get(current, 0) + 1
            attempt_failed = False
    return HistorySummary(
        states=tuple(states),
        polls=states.count(poll_state),
        retries=retries,
        transitions=len(states),
    )


# --- the engine -------------------------------------------------------------------------------

# AWS: 1-80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / or
# control characters.
_EXECUTION_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}")
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations")
_SINK_QUEUE = "local-engine-event-sink"
_SINK_RULE = "local-engine-event-sink"
#: Delivered to targets as EventBridge does: the whole event, in this order.
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


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
    ) -> None:
        self.template_path = Path(template_path).resolve()
        self.template = load_template(self.template_path)
        self.resolver = TemplateResolver(self.template, parameter_overrides, stack_name=stack_name)
        # Logical id -> seconds, replacing the template's Timeout (see the module docstring).
        self.function_timeouts = dict(function_timeouts or {})
        if any(not seconds > 0 for seconds in self.function_timeouts.values()):
            raise EngineError(f"function_timeouts must be positive seconds: {self.function_timeouts}")
        self.environment_overrides = dict(environment or {})
        self.events_file = Path(events_file) if events_file is not None else None
        self.on_event = on_event

        machines = self.resolver.logical_ids(_STATE_MACHINE_TYPES)
        if len(machines) != 1:
            raise EngineError(f"expected one state machine in the template, found {machines}")
        self.state_machine_logical_id = machines[0]
        self.state_machine_arn = self.resolver.state_machine_arn(self.state_machine_logical_id)
        self.functions: dict[str, FunctionSpec] = {
            logical_id: self._function_spec(logical_id)
            for logical_id in self.resolver.logical_ids(_FUNCTION_TYPES)
        }
        unknown = sorted(set(self.function_timeouts) - set(self.functions))
        if unknown:
            raise EngineError(f"function_timeouts names functions the template lacks: {unknown}")
        self._by_name = {spec.name: spec for spec in self.functions.values()}
        substitutions = self._substitutions()
        self.event_bus_name, self.event_source = self._event_target(substitutions)
        self.definition = self._definition(substitutions)

        self._started = False
        self._mock: Any = None
        self._sfn: Any = None
        self._sqs: Any = None
        self._queue_url: str | None = None
        self._saved_environ: dict[str, str | None] = {}
        self._added_sys_path: list[str] = []
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._handler_lock = threading.Lock()
        self._hooked_session: Any = None
        self._events: list[dict[str, Any]] = []
        self._event_ids: set[str] = set()
        # Re-entrant: an on_event callback may call events().
        self._events_lock = threading.RLock()
        self._events_stream: io.TextIOWrapper | None = None
        self._stop_drain = threading.Event()
        self._drain_thread: threading.Thread | None = None

    # ----- template ----------------------------------------------------------------------

    def _function_spec(self, logical_id: str) -> FunctionSpec:
        resolver = self.resolver
        handler = resolver.function_property(logical_id, "Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise EngineError(f"{logical_id}: Handler must be 'module.function', got {handler!r}")
        code_uri = resolver.function_property(logical_id, "CodeUri", ".")
        if not isinstance(code_uri, str):
            raise EngineError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        return FunctionSpec(
            logical_id=logical_id,
            name=resolver.function_name(logical_id),
            arn=resolver.function_arn(logical_id),
            handler=handler,
            code_dir=(self.template_path.parent / code_uri).resolve(),
            timeout=self.function_timeouts[logical_id]
            if logical_id in self.function_timeouts
            else int(resolver.function_property(logical_id, "Timeout", 3)),
            memory_size=int(resolver.function_property(logical_id, "MemorySize", 128)),
            environment=resolver.function_environment(logical_id),
        )

    def _event_target(self, substitutions: dict[str, str]) -> tuple[str, str]:
        bus = substitutions.get("EventBusName")
        source = substitutions.get("EventSource")
        if bus is None or source is None:
            raise EngineError("DefinitionSubstitutions must name EventBusName and EventSource")
        return bus, source

    def _substitutions(self) -> dict[str, str]:
        properties = self.resolver.resources[self.state_machine_logical_id].get("Properties") or {}
        values = self.resolver.resolve(properties.get("DefinitionSubstitutions") or {})
        return {key: _cfn_string(value) for key, value in values.items()}

    def _definition(self, substitutions: dict[str, str]) -> str:
        """The ASL SAM deploys, with ``${Name}`` replaced by the resolved DefinitionSubstitutions."""
        properties = self.resolver.resources[self.state_machine_logical_id].get("Properties") or {}
        if "DefinitionUri" in properties:
            uri = properties["DefinitionUri"]
            if not isinstance(uri, str):
                raise EngineError("DefinitionUri must be a path to a local file")
            text = (self.template_path.parent / uri).read_text(encoding="utf-8")
        elif "Definition" in properties:
            text = json.dumps(properties["Definition"])
        else:
            raise EngineError("the state machine has neither DefinitionUri nor Definition")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in substitutions:
                raise EngineError(f"${{{name}}} in the definition is not in DefinitionSubstitutions")
            return substitutions[name]

        text = re.sub(r"\$\{([^}]*)\}", replace, text)
        try:
            json.loads(text)
        except ValueError as error:
            raise EngineError(f"the substituted definition is not JSON: {error}") from error
        return text

    def handler_environment(self) -> dict[str, str]:
        """What os.environ gets: defaults, the template's variables (all functions), the caller's."""
        merged: dict[str, str] = dict(LOCAL_ENVIRONMENT_DEFAULTS)
        owners: dict[str, str] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                if key in owners and merged[key] != value:
                    raise EngineError(
                        f"{key} is {merged[key]!r} for {owners[key]} but {value!r} for {spec.logical_id}: "
                        "functions share one process locally"
                    )
                merged[key], owners[key] = value, spec.logical_id
        merged.update(self.environment_overrides)
        return merged

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

        self._started = True
        self._apply_environment(self.handler_environment())
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        # mock_aws replaced boto3.DEFAULT_SESSION with None: this makes the session that moto's
        # ASL engine (boto3.client(...)) and every other default-session client will use.
        self._hook_default_session()

        self._sfn = boto3.client("stepfunctions", region_name=REGION)
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._create_event_sink()
        created = self._sfn.create_state_machine(
            name=self.resolver.state_machine_name(self.state_machine_logical_id),
            definition=self.definition,
            roleArn=f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{self.resolver.stack_name}-state-machine",
            type="STANDARD",
        )
        if created["stateMachineArn"] != self.state_machine_arn:
            raise EngineError(f"moto named the state machine {created['stateMachineArn']}")
        self._install_start_execution_shim()
        _install_put_events_cause_shim()
        _install_parse_cache()
        self._load_handlers()
        self._stop_drain.clear()
        self._drain_thread = threading.Thread(
            target=self._drain_loop, name="local-engine-events", daemon=True
        )
        self._drain_thread.start()

    def stop(self) -> None:
        """Stops running executions, delivers the last events, ends the mock, restores os.environ."""
        if not self._started:
            with LocalEngine._active_lock:
                if LocalEngine._active is self:
                    LocalEngine._active = None
            return
        try:
            if self._sfn is not None:
                with contextlib.suppress(Exception):
                    self._stop_running_executions()
            self._stop_drain.set()
            if self._drain_thread is not None:
                self._drain_thread.join()
            if self._queue_url is not None:
                with contextlib.suppress(Exception):
                    self._drain()
            if self._events_stream is not None:
                self._events_stream.close()
                self._events_stream = None
            if self._mock is not None:
                self._unhook_default_session()
                self._mock.stop()
                self._mock = None
        finally:
            self._restore_environment()
            for path in self._added_sys_path:
                with contextlib.suppress(ValueError):
                    sys.path.remove(path)
            self._added_sys_path.clear()
            self._started = False
            with LocalEngine._active_lock:
                if LocalEngine._active is self:
                    LocalEngine._active = None

    def _stop_running_executions(self) -> None:
        paginator = self._sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"):
            for execution in page["executions"]:
                self._sfn.stop_execution(executionArn=execution["executionArn"], cause="engine stopped")

    def _apply_environment(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_environment(self) -> None:
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ.clear()

    # ----- executions -------------------------------------------------------------------------

    def start_execution(self, input: Mapping[str, Any], name: str | None = None) -> str:
        """StartExecution through boto3 (as the API does); returns the execution ARN.

        ``name`` defaults to a new UUID. Same name + same input while it runs returns the same
        ARN; otherwise a reused name raises ``ExecutionAlreadyExists`` (a botocore ClientError).
        """
        self._require_started()
        self._hook_default_session()
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

    def _install_start_execution_shim(self) -> None:
        """Make moto's StartExecution behave like AWS Standard workflows under concurrency.

        moto (5.2.5, ``StateMachine._handle_name_input_idempotency``) already returns the running
        execution for the same name and input, and raises ExecutionAlreadyExists for a different
        input or a closed execution, like AWS. But the check and the append of the new execution
        are not atomic: two concurrent StartExecution calls with one name can both start a
        workflow (same ARN, two executions), and a call that lands between the append and
        ``Execution.start()`` reads ``status`` of ``None`` and fails with AttributeError. The shim
        serialises StartExecution with a lock on the engine's backend instance, and rejects
        names AWS rejects (InvalidName; moto does not validate them). Nothing else changes.
        """
        from moto.stepfunctions.exceptions import InvalidName
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[ACCOUNT_ID][REGION]
        original = backend.start_execution
        lock = threading.Lock()

        def start_execution(
            state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
        ) -> Any:
            if name is None:
                name = str(uuid.uuid4())  # AWS generates one; moto would use "None"
            if not _EXECUTION_NAME.fullmatch(name):
                raise InvalidName(f"Invalid Name: '{name}'")
            with lock:
                return original(state_machine_arn, name, *args, **kwargs)

        backend.start_execution = start_execution

    # ----- Lambda ---------------------------------------------------------------------------

    def _load_handlers(self) -> None:
        """Imports every handler module afresh (a cold start), after os.environ is set."""
        for spec in self.functions.values():
            code_dir = str(spec.code_dir)
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
                self._added_sys_path.append(code_dir)
        reloaded: set[str] = set()
        for spec in self.functions.values():
            try:
                self._handler_for(spec, reload=spec.module_name not in reloaded)
            except ModuleNotFoundError as error:
                # Reported at invocation, like Lambda's Runtime.ImportModuleError.
                LOG.warning("%s: cannot import %s (%s)", spec.logical_id, spec.module_name, error)
            reloaded.add(spec.module_name)

    def _handler_for(self, spec: FunctionSpec, *, reload: bool = False) -> Callable[..., Any]:
        with self._handler_lock:
            if not reload and spec.logical_id in self._handlers:
                return self._handlers[spec.logical_id]
            module = sys.modules.get(spec.module_name)
            if module is not None and reload:
                module = importlib.reload(module)
            elif module is None:
                module = importlib.import_module(spec.module_name)
            handler = getattr(module, spec.function_attribute)
            self._handlers[spec.logical_id] = handler
            return handler

    def _run_handler(self, spec: FunctionSpec, event: Any) -> tuple[bytes, bool]:
        """Calls the handler as the Lambda runtime would: (response payload, failed?)."""
        context = LambdaContext(spec)
        try:
            handler = self._handler_for(spec)
        except Exception as error:
            payload = _error_payload(error, context.aws_request_id)
            payload["errorType"] = "Runtime.ImportModuleError"
            payload["errorMessage"] = f"Unable to import module '{spec.module_name}': {error}"
            return json.dumps(payload).encode(), True
        failure: dict[str, Any] | None = None
        try:
            body = json.dumps(handler(event, context)).encode()
        except Exception as error:
            failure = _error_payload(error, context.aws_request_id)
            if isinstance(error, TypeError) and "JSON serializable" in str(error):
                failure["errorType"] = "Runtime.MarshalError"
        if context.get_remaining_time_in_millis() <= 0:
            # Lambda would have stopped the handler at its deadline, whatever it did next.
            message = f"Task timed out after {spec.timeout:.2f} seconds"
            failure = {
                "errorMessage": f"RequestId: {context.aws_request_id} Error: {message}",
                "errorType": "Sandbox.Timedout",
            }
        if failure is not None:
            return json.dumps(failure).encode(), True
        return body, False

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Calls a function's handler in-process as Lambda would; returns the decoded response.

        Raises :class:`LambdaInvocationError` (with Lambda's error payload) when it failed.
        """
        self._require_started()
        spec = self.functions.get(logical_id)
        if spec is None:
            raise KeyError(f"no function {logical_id} in the template")
        body, failed = self._run_handler(spec, event)
        payload = json.loads(body)
        if failed:
            raise LambdaInvocationError(payload)
        return payload

    def _function_for_name(self, name: str) -> FunctionSpec | None:
        """A function by name, ARN or partial ARN (``$LATEST`` qualifier allowed)."""
        if name.startswith("arn:"):
            parts = name.split(":")
            if len(parts) < 7 or parts[5] != "function":
                return None
            if len(parts) == 8 and parts[7] != "$LATEST":
                return None
            spec = self._by_name.get(parts[6])
            return spec if spec is not None and spec.arn == ":".join(parts[:7]) else None
        return self._by_name.get(name.split(":", 1)[0])

    def _on_lambda_invoke(self, params: dict[str, Any], **_: Any) -> Any:
        """``before-call.lambda.Invoke``: answer in-process for the template's functions."""
        from botocore.awsrequest import AWSResponse
        from botocore.response import StreamingBody

        match = _INVOKE_PATH.match(params.get("url_path", ""))
        spec = self._function_for_name(unquote(match.group("name"))) if match else None
        if spec is None:
            return None  # not ours: moto's Lambda answers
        body = params.get("body") or b"{}"
        if hasattr(body, "read"):
            body = body.read()
        event = json.loads(body)
        invocation_type = (params.get("headers") or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "Event":
            threading.Thread(target=self._run_handler, args=(spec, event), daemon=True).start()
            status, payload, failed = 202, b"", False
        elif invocation_type == "DryRun":
            status, payload, failed = 204, b"", False
        else:
            payload, failed = self._run_handler(spec, event)
            status = 200
        headers = {"x-amz-executed-version": "$LATEST", "x-amzn-requestid": str(uuid.uuid4())}
        parsed: dict[str, Any] = {
            "StatusCode": status,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {
                "RequestId": headers["x-amzn-requestid"],
                "HTTPStatusCode": status,
                "HTTPHeaders": headers,
                "RetryAttempts": 0,
            },
        }
        if failed:
            parsed["FunctionError"] = "Unhandled"
        return AWSResponse(params.get("url", ""), status, headers, None), parsed

    def _hook_default_session(self) -> None:
        """(Re-)register the Invoke hook on boto3's current default session."""
        import boto3

        session = boto3._get_default_session()
        if session is self._hooked_session:
            return
        session.events.register(
            "before-call.lambda.Invoke", self._on_lambda_invoke, unique_id="local-engine-lambda-invoke"
        )
        self._hooked_session = session

    def _unhook_default_session(self) -> None:
        if self._hooked_session is not None:
            self._hooked_session.events.unregister(
                "before-call.lambda.Invoke", unique_id="local-engine-lambda-invoke"
            )
            self._hooked_session = None

    # ----- events -------------------------------------------------------------------------

    def _create_event_sink(self) -> None:
        """The bus, and a rule that delivers every event of our source to an SQS queue we drain.

        moto delivers rule targets synchronously inside PutEvents (log groups, SQS, archives,
        other buses). The target's input transformer ``<aws.events.event.json>`` asks for the
        whole event: moto's default target input leaves out ``account``.
        """
        import boto3

        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=self.event_bus_name)
        self._queue_url = self._sqs.create_queue(QueueName=_SINK_QUEUE)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=_SINK_RULE,
            EventBusName=self.event_bus_name,
            EventPattern=json.dumps({"source": [self.event_source]}),
            State="ENABLED",
        )
        events.put_targets(
            Rule=_SINK_RULE,
            EventBusName=self.event_bus_name,
            Targets=[
                {
                    "Id": "local-sink",
                    "Arn": queue_arn,
                    "InputTransformer": {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"},
                }
            ],
        )
        if self.events_file is not None:
            self.events_file.parent.mkdir(parents=True, exist_ok=True)
            self._events_stream = open(self.events_file, "a", encoding="utf-8")  # noqa: SIM115

    def _drain_loop(self) -> None:
        while not self._stop_drain.wait(0.2):
            try:
                self._drain()
            except Exception:  # keep draining; the next round retries
                LOG.exception("event sink: draining the queue failed")

    def _drain(self) -> None:
        """Moves every queued event to the list, the file and the callback (each exactly once)."""
        with self._events_lock:
            while True:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    return
                for message in messages:
                    self._deliver(json.loads(message["Body"]))
                    self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, raw: dict[str, Any]) -> None:
        event = {key: raw[key] for key in _EVENT_KEYS if key in raw}
        if event.get("id") in self._event_ids:
            return
        self._event_ids.add(event.get("id", ""))
        self._events.append(event)
        if self._events_stream is not None:
            self._events_stream.write(json.dumps(event, separators=(",", ":")) + "\n")
            self._events_stream.flush()
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                LOG.exception("on_event callback failed")

    def events(self) -> list[dict[str, Any]]:
        """Every event delivered so far (EventBridge's target shape, ``detail`` an object)."""
        self._require_started()
        self._drain()
        with self._events_lock:
            return list(self._events)

    def _require_started(self) -> None:
        if not self._started or self._mock is None:
            raise EngineError("the engine is not running: call start() first")
