"""The sample consumer of Streaming Session Ready events: its parsing, its notice, its log line
and its metrics (handler called directly, as Lambda would with the events/ sample)."""

from __future__ import annotations

import copy
import json
import logging
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from session_provisioning.handlers import session_ready_consumer
from session_provisioning.logic.consumer import SessionReadyEvent, ready_notice
from session_provisioning.observability import logger, metrics
from tests.support.events import sample

SESSION_ID = "session-7a220ba83d3f4fb5a74d"
REQUEST_ID = "req-rpgddaa4m4thjfqcrh4wyoqxuycm5dee"
EVENT_TIME = datetime(2026, 11, 27, 10, 47, 52, tzinfo=UTC)


class Context:
    function_name = "SessionReadyConsumerFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:SessionReadyConsumerFunction"
    memory_limit_in_mb = "256"
    aws_request_id = "0f8e6c3a-consumer-test"
    log_group_name = "/aws/lambda/SessionReadyConsumerFunction"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def event() -> dict[str, Any]:
    return sample("session_ready_consumer.json")


@pytest.fixture
def log_lines():
    """The JSON log lines the consumer writes, formatted by Powertools as in Lambda."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger._logger.removeHandler(handler)


@pytest.fixture
def metric_calls(monkeypatch):
    calls: list[dict[str, Any]] = []
    original = metrics.add_metric

    def add_metric(**kwargs: Any) -> None:
        calls.append(kwargs)
        original(**kwargs)

    monkeypatch.setattr(metrics, "add_metric", add_metric)
    return calls


# --- logic ----------------------------------------------------------------------------------------


def test_notice_names_the_session_and_how_late_the_event_is(event):
    parsed = SessionReadyEvent.model_validate(event)
    notice = ready_notice(parsed, EVENT_TIME.replace(second=54, microsecond=500_000))
    assert notice.to_json() == {
        "eventId": event["id"],
        "requestId": REQUEST_ID,
        "sessionId": SESSION_ID,
        "studioId": "studio-local",
        "launchProfileId": "lp-local",
        "ownedBy": "artist@example.com",
        "secondsToReady": 5.297,
        "eventAgeSeconds": 2.5,
    }
    assert not notice.replayed


def test_event_age_is_never_negative(event):
    parsed = SessionReadyEvent.model_validate(event)
    assert ready_notice(parsed, EVENT_TIME.replace(second=0)).event_age_seconds == 0.0


def test_replayed_event_is_told_apart(event):
    event["replay-name"] = "after-outage"
    notice = ready_notice(SessionReadyEvent.model_validate(event), EVENT_TIME)
    assert notice.replayed
    assert notice.to_json()["replayName"] == "after-outage"


def test_detail_is_the_published_model(event):
    parsed = SessionReadyEvent.model_validate(event)
    assert parsed.detail.session["state"] == "READY"
    assert parsed.detail.timings.ready_at == datetime(2026, 11, 27, 10, 47, 52, 487150, tzinfo=UTC)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda e: e.update({"detail-type": "Streaming Session Failed"}),
        lambda e: e["detail"].pop("sessionId"),
        lambda e: e["detail"].update({"surprise": True}),
        lambda e: e.pop("time"),
    ],
    ids=["failed-detail-type", "no-session-id", "unknown-member", "no-time"],
)
def test_events_that_are_not_ready_events_are_rejected(event, spoil):
    spoil(event)
    with pytest.raises(ValidationError):
        SessionReadyEvent.model_validate(event)


def test_a_failed_event_is_rejected():
    with pytest.raises(ValidationError):
        SessionReadyEvent.model_validate(sample("eventbridge_session_failed.json"))


# --- handler --------------------------------------------------------------------------------------


def test_handler_logs_ids_only_and_counts_the_event(event, log_lines, metric_calls):
    result = session_ready_consumer.lambda_handler(copy.deepcopy(event), Context())
    assert result["sessionId"] == SESSION_ID
    assert result["requestId"] == REQUEST_ID

    records = [json.loads(line) for line in log_lines]
    ready = [record for record in records if record["message"] == "streaming session ready"]
    assert len(ready) == 1
    record = ready[0]
    assert record["sessionId"] == SESSION_ID
    assert record["ownedBy"] == "artist@example.com"
    assert record["correlation_id"] == REQUEST_ID
    text = json.dumps(records)
    assert "tags" not in text
    assert '"session":' not in text  # the session object stays out of the logs
    assert event["detail"]["session"]["statusMessage"] not in text

    assert [call["name"] for call in metric_calls] == ["ReadyEventsConsumed", "ReadyEventAge"]
    assert metric_calls[0]["value"] == 1
    assert metric_calls[1]["value"] >= 0


def test_handler_counts_a_replay_apart(event, metric_calls):
    event["replay-name"] = "after-outage"
    result = session_ready_consumer.lambda_handler(event, Context())
    assert result["replayName"] == "after-outage"
    assert [call["name"] for call in metric_calls] == ["ReadyEventsReplayed"]


def test_handler_fails_on_an_event_it_cannot_parse_without_echoing_it(event):
    # The invocation fails, so Lambda retries it and then sends it to the dead-letter queue.
    # Its error message (logged by Lambda and by Powertools) names members, not their values.
    del event["detail"]["timings"]
    event["detail"]["tags"] = {"project": "secret-project"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no metric for an event it could not read
        with pytest.raises(ValidationError) as raised:
            session_ready_consumer.lambda_handler(event, Context())
    message = str(raised.value)
    assert "detail.timings" in message
    assert "detail.tags" in message
    assert "secret-project" not in message
    assert "artist@example.com" not in message
