"""The stack's event sink: every event the workflow publishes, kept, written and handed on.

:class:`EventSink` creates the custom event bus, an SQS queue and a rule that sends the queue
every event of the workflow's ``source`` (all through ordinary boto3 clients, in moto), then
drains the queue in a thread: each event once, into a list (:meth:`EventSink.events`), a JSON
lines file and a callback. The engine runs a second one (``queue_name``) on the default bus
for the ``aws.states`` status-change events, kept only in its list.

moto delivers rule targets synchronously inside PutEvents (log groups, SQS, archives, other
buses). The target's input transformer ``<aws.events.event.json>`` asks for the whole event:
moto's default target input leaves out ``account``.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.template import REGION

__all__ = ["SINK_QUEUE", "EventSink", "delete_batch"]

LOG = logging.getLogger(__name__)

SINK_QUEUE = "local-engine-event-sink"
#: Delivered to targets as EventBridge does: the whole event, in this order.
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


class EventSink:
    def __init__(
        self,
        event_bus_name: str,
        event_source: str,
        events_file: Path | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        *,
        queue_name: str = SINK_QUEUE,
    ) -> None:
        self.queue_name = queue_name
        self.event_bus_name = event_bus_name
        self.event_source = event_source
        self.events_file = events_file
        self.on_event = on_event
        self._sqs: Any = None
        self._queue_url: str | None = None
        self._events: list[dict[str, Any]] = []
        self._event_ids: set[str] = set()
        # Re-entrant: an on_event callback may call events().
        self._lock = threading.RLock()
        self._stream: io.TextIOWrapper | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EventSink:
        """The bus, the queue, the rule and its target; then the draining thread."""
        import boto3

        events = boto3.client("events", region_name=REGION)
        self._sqs = boto3.client("sqs", region_name=REGION)
        if self.event_bus_name != "default":  # the account's default bus always exists
            events.create_event_bus(Name=self.event_bus_name)
        self._queue_url = self._sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=self.queue_name,
            EventBusName=self.event_bus_name,
            EventPattern=json.dumps({"source": [self.event_source]}),
            State="ENABLED",
        )
        events.put_targets(
            Rule=self.queue_name,
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
            self._stream = open(self.events_file, "a", encoding="utf-8")  # noqa: SIM115
        self._stop.clear()
        self._thread = threading.Thread(target=self._drain_loop, name=self.queue_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops the thread, delivers what is left, closes the file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._queue_url is not None:
            try:
                self._drain()
            except Exception:
                LOG.exception("event sink: the last drain failed")
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def events(self) -> list[dict[str, Any]]:
        """Every event delivered so far (EventBridge's target shape, ``detail`` an object)."""
        self._drain()
        with self._lock:
            return list(self._events)

    def _drain_loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._drain()
            except Exception:  # keep draining; the next round retries
                LOG.exception("event sink: draining the queue failed")

    def _drain(self) -> None:
        """Moves every queued event to the list, the file and the callback (each exactly once)."""
        with self._lock:
            while True:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    return
                for message in messages:
                    self._deliver(json.loads(message["Body"]))
                delete_batch(self._sqs, self._queue_url, messages)

    def _deliver(self, raw: dict[str, Any]) -> None:
        event = {key: raw[key] for key in _EVENT_KEYS if key in raw}
        if event.get("id") in self._event_ids:
            return
        self._event_ids.add(event.get("id", ""))
        self._events.append(event)
        if self._stream is not None:
            self._stream.write(json.dumps(event, separators=(",", ":")) + "\n")
            self._stream.flush()
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                LOG.exception("on_event callback failed")


def delete_batch(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Deletes received messages in one call (up to 10, as one receive returns): one call per
    message was a third of the sinks' share of the engine's process under a burst."""
    entries = [{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)]
    failed = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed") or []
    if failed:
        raise RuntimeError(f"DeleteMessageBatch failed for {failed}")
