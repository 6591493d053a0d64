"""The template's EventBridge rules with Lambda targets, routed by moto and invoked asynchronously.

For every function event of ``Type: EventBridgeRule`` (:func:`rule_targets` reads them from the
resolved template: bus, ``Pattern``, ``RetryPolicy``, ``DeadLetterConfig``, and the function's
``EventInvokeConfig``), :class:`EventTargets` creates in moto:

* the rule, on its bus (the template's ``EventBusName``, else the account's default bus),
  with the template's pattern: moto's events backend decides which events match;
* as its target, an SQS queue of ours standing for Lambda's internal queue of asynchronous
  invocations (moto cannot invoke our workers itself);
* the dead-letter queues the template names (the rule's ``DeadLetterConfig`` and the
  function's ``OnFailure`` destination), by name.

A thread drains the target queues and invokes each event's function as Lambda's asynchronous
invoke does: when the invocation fails (an error, a timeout) it is retried up to the
template's ``MaximumRetryAttempts``; AWS waits about 1 minute before the first retry and 2
before the second (backing off further with throttling); locally those delays are multiplied
by ``retry_delay_scale``. An event older than ``MaximumEventAgeInSeconds`` is not retried.
Then the invocation record (``requestContext.condition`` ``RetriesExhausted`` or
``EventAgeExceeded``, ``requestPayload``, ``responsePayload``) goes to the ``OnFailure``
queue. EventBridge's own ``RetryPolicy``/``DeadLetterConfig`` only apply when Lambda refuses
the event itself (throttling, a missing function, permissions): that never happens locally.

A function event of ``Type: Schedule`` (``rate(N minutes|hours|days)``) is a rule with that
``ScheduleExpression`` in moto, which never fires one: a timer thread here sends the
function EventBridge's "Scheduled Event" every period times ``schedule_scale`` (``None``: not
at all; ``make run`` takes ``SCHEDULE_SCALE``), the first one a period after the start, and
each is invoked like a routed event. The period is wall-clock time: under the benchmarks'
virtual clock (:func:`local.moto_patches.virtual_clock`) executions' dates are virtual, so
schedules are left off there.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.event_sink import delete_batch
from local.plan import FunctionSpec
from local.template import (
    ACCOUNT_ID,
    FUNCTION_TYPES,
    PARTITION,
    REGION,
    EngineError,
    TemplateResolver,
    cfn_string,
)

__all__ = [
    "AWS_RETRY_DELAYS",
    "SCHEDULED_EVENT",
    "EventTargets",
    "RuleTarget",
    "rule_targets",
    "schedule_seconds",
]

LOG = logging.getLogger(__name__)

#: Seconds Lambda waits before each retry of a failed asynchronous invocation (at least).
AWS_RETRY_DELAYS = (60.0, 120.0)
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
SCHEDULED_EVENT = "Scheduled Event"
_RATE = re.compile(r"rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

Invoke = Callable[[FunctionSpec, Any], "tuple[bytes, bool] | None"]


@dataclass(frozen=True)
class RuleTarget:
    """One ``EventBridgeRule`` event of a function, resolved."""

    function: str  # logical id
    event: str  # the event's key under the function's Events
    bus: str
    pattern: dict[str, Any] | None  # None for a schedule
    max_retries: int  # EventInvokeConfig.MaximumRetryAttempts (Lambda's default: 2)
    max_age: float  # EventInvokeConfig.MaximumEventAgeInSeconds (default: 6 hours)
    on_failure: str | None  # the OnFailure SQS queue's name
    dead_letter: str | None  # the rule's DeadLetterConfig queue's name
    schedule: str | None = None  # a Schedule event's ScheduleExpression

    @property
    def rule_name(self) -> str:
        return f"{self.function}{self.event}"

    @property
    def queue_name(self) -> str:
        return f"local-async-{self.function}-{self.event}"


def _queue_name(arn: Any) -> str | None:
    return None if arn is None else cfn_string(arn).rsplit(":", 1)[-1]


def schedule_seconds(expression: str) -> float:
    """The period of a ``rate(...)`` expression (AWS: singular unit for 1, plural otherwise)."""
    found = _RATE.fullmatch(expression.strip())
    if found is None or (found.group(1) == "1") != (not found.group(2).endswith("s")):
        raise EngineError(f"schedule {expression!r}: only rate(N minutes|hours|days) runs locally")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


def rule_targets(resolver: TemplateResolver) -> list[RuleTarget]:
    targets = []
    for logical_id in resolver.logical_ids(FUNCTION_TYPES):
        properties = resolver.resources[logical_id].get("Properties") or {}
        invoke_config = resolver.function_property(logical_id, "EventInvokeConfig") or {}
        on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        for name, event in (properties.get("Events") or {}).items():
            if event.get("Type") not in ("EventBridgeRule", "CloudWatchEvent", "Schedule"):
                continue
            spec = resolver.resolve(event.get("Properties") or {})
            schedule = cfn_string(spec["Schedule"]) if event["Type"] == "Schedule" else None
            if schedule is not None:
                schedule_seconds(schedule)  # refused now rather than when the stack runs
            targets.append(
                RuleTarget(
                    function=logical_id,
                    event=name,
                    bus=cfn_string(spec.get("EventBusName", "default")),
                    pattern=spec.get("Pattern"),
                    schedule=schedule,
                    max_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
                    max_age=float(invoke_config.get("MaximumEventAgeInSeconds", 21600)),
                    on_failure=_queue_name(on_failure),
                    dead_letter=_queue_name((spec.get("DeadLetterConfig") or {}).get("Arn")),
                )
            )
    return targets


class EventTargets:
    """Creates the rules and queues, then invokes the functions for each routed event."""

    def __init__(
        self,
        targets: list[RuleTarget],
        functions: Mapping[str, FunctionSpec],
        invoke: Invoke,
        *,
        retry_delay_scale: float = 1.0,
        schedule_scale: float | None = None,
        on_invocation: Callable[[dict[str, Any]], None] | None = None,
        max_concurrency: int = 4,
    ) -> None:
        self.targets = [target for target in targets if target.schedule is None]
        self.schedules = [target for target in targets if target.schedule is not None]
        self.schedule_scale = schedule_scale
        self.functions = functions
        self._invoke = invoke
        self.retry_delays = tuple(delay * retry_delay_scale for delay in AWS_RETRY_DELAYS)
        self._on_invocation = on_invocation
        self._max_concurrency = max_concurrency
        self._sqs: Any = None
        self._urls: dict[str, str] = {}  # queue name -> URL
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> EventTargets:
        import boto3

        events = boto3.client("events", region_name=REGION)
        self._sqs = boto3.client("sqs", region_name=REGION)
        for target in self.targets:
            for name in (target.queue_name, target.on_failure, target.dead_letter):
                if name is not None and name not in self._urls:
                    self._urls[name] = self._sqs.create_queue(QueueName=name)["QueueUrl"]
            queue_arn = self._sqs.get_queue_attributes(
                QueueUrl=self._urls[target.queue_name], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            events.put_rule(
                Name=target.rule_name,
                EventBusName=target.bus,
                EventPattern=json.dumps(target.pattern),
                State="ENABLED",
            )
            events.put_targets(
                Rule=target.rule_name,
                EventBusName=target.bus,
                Targets=[
                    {
                        "Id": target.function,
                        "Arn": queue_arn,
                        "InputTransformer": {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"},
                    }
                ],
            )
        for target in self.schedules:  # the rule as AWS has it; moto does not fire it
            events.put_rule(Name=target.rule_name, ScheduleExpression=target.schedule, State="ENABLED")
        self._pool = ThreadPoolExecutor(self._max_concurrency, thread_name_prefix="async-invoke")
        self._thread = threading.Thread(target=self._drain_loop, name="event-targets", daemon=True)
        self._thread.start()
        if self.schedule_scale is not None:
            for target in self.schedules:
                period = schedule_seconds(str(target.schedule)) * self.schedule_scale
                timer = threading.Thread(
                    target=self._schedule_loop,
                    args=(target, period),
                    name=f"schedule-{target.rule_name}",
                    daemon=True,
                )
                timer.start()
                self._timers.append(timer)
        return self

    def stop(self) -> None:
        """No new deliveries; pending retries are dropped; running invocations end first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for timer in self._timers:
            timer.join(timeout=10)
        self._timers = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def queue_url(self, name: str) -> str:
        return self._urls[name]

    def _drain_loop(self) -> None:
        while not self._stop.wait(0.1):
            for target in self.targets:
                try:
                    self._drain(target)
                except Exception:
                    LOG.exception("event targets: draining %s failed", target.queue_name)

    def _schedule_loop(self, target: RuleTarget, period: float) -> None:
        while not self._stop.wait(period):
            assert self._pool is not None
            self._pool.submit(self._deliver, target, _scheduled_event(target), time.monotonic())

    def _drain(self, target: RuleTarget) -> None:
        url = self._urls[target.queue_name]
        while not self._stop.is_set():
            messages = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=3600, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                raw = json.loads(message["Body"])
                event = {key: raw[key] for key in _EVENT_KEYS if key in raw}
                assert self._pool is not None
                self._pool.submit(self._deliver, target, event, time.monotonic())
            delete_batch(self._sqs, url, messages)

    def _deliver(self, target: RuleTarget, event: dict[str, Any], accepted: float) -> None:
        """One asynchronous invocation: the attempts, then the OnFailure record if all failed."""
        spec = self.functions[target.function]
        request_id = str(uuid.uuid4())
        attempt, payload, failed, condition = 0, None, True, "RetriesExhausted"
        while True:
            attempt += 1
            try:
                result = self._invoke(spec, event)
            except Exception as error:  # the runtime itself failed: Lambda's service fault
                LOG.exception("event targets: invoking %s failed", spec.logical_id)
                result = (
                    json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode(),
                    True,
                )
            if result is None:  # the runtime is stopping
                return
            body, failed = result
            payload = _decode(body)
            self._report(target, event, attempt, payload, failed)
            if not failed or attempt > target.max_retries:
                break
            delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)]
            if time.monotonic() + delay - accepted > target.max_age:
                condition = "EventAgeExceeded"
                break
            if self._stop.wait(delay):
                return
        if failed and target.on_failure is not None:
            self._sqs.send_message(
                QueueUrl=self._urls[target.on_failure],
                MessageBody=json.dumps(
                    _invocation_record(spec, request_id, event, payload, attempt, condition)
                ),
            )

    def _report(
        self, target: RuleTarget, event: dict[str, Any], attempt: int, payload: Any, failed: bool
    ) -> None:
        if self._on_invocation is None:
            return
        try:
            self._on_invocation(
                {
                    "function": target.function,
                    "event": event,
                    "attempt": attempt,
                    "failed": failed,
                    "response": payload,
                    "lastAttempt": not failed or attempt > target.max_retries,
                }
            )
        except Exception:
            LOG.exception("on_invocation callback failed")


def _scheduled_event(target: RuleTarget) -> dict[str, Any]:
    """What EventBridge sends a schedule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": SCHEDULED_EVENT,
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:{PARTITION}:events:{REGION}:{ACCOUNT_ID}:rule/{target.rule_name}"],
        "detail": {},
    }


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _invocation_record(
    spec: FunctionSpec, request_id: str, event: Any, payload: Any, attempts: int, condition: str
) -> dict[str, Any]:
    """What Lambda sends an OnFailure destination for an asynchronous invocation."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{spec.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": payload,
    }
