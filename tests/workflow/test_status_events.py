"""Step Functions' status-change events, emitted locally, routed by the template's own rules.

The engine here runs with ``event_rules=True`` (as ``make run`` does): the template's
EventBridgeRule events are rules in moto, their functions are invoked asynchronously with the
template's retries (delays scaled down) and OnFailure queues. Nothing here calls a target.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.events.models import EventPattern

from local.engine import REGION, LocalEngine
from local.status_events import DETAIL_TYPE, SOURCE
from tests.support.waiting import wait_until
from tests.support.workflow import (
    CONSUMER,
    RECONCILER,
    STUDIO,
    events_for,
    execution_input,
    rules_engine,
    sessions_for_token,
)


@pytest.fixture(scope="module")
def engine(emulator, events_file, invocations):
    with rules_engine(emulator, events_file, invocations) as running:
        yield running


def status_events_for(engine: LocalEngine, name: str) -> list[dict[str, Any]]:
    return [event for event in engine.status_events() if event["detail"]["name"] == name]


def test_a_stopped_execution_is_reconciled_through_the_rule(engine, emulator, invocations, unique):
    token = f"stopped-{unique}"
    name = f"req-{token}"
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    arn = engine.start_execution(execution_input(token, f"owner-{unique}"), name=name)
    wait_until(lambda: sessions_for_token(emulator, token), what="the session", timeout=60)
    wait_until(
        lambda: (
            "PollSession" in [e.get("stateEnteredEventDetails", {}).get("name") for e in engine.history(arn)]
        ),
        what="PollSession",
        timeout=60,
    )
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn, cause="test")
    assert engine.wait(arn)["status"] == "ABORTED"

    [attempt] = wait_until(
        lambda: [r for r in invocations.of(RECONCILER, name) if r["lastAttempt"]],
        what="the reconciler",
        timeout=60,
    )
    assert not attempt["failed"], attempt["response"]
    assert attempt["response"]["action"] == "ANNOUNCED"
    assert attempt["event"]["detail"]["status"] == "ABORTED"
    [event] = events_for(engine.events(), name)
    assert event["detail-type"] == "Streaming Session Failed"
    detail = event["detail"]
    assert detail["error"]["code"] == "ExecutionAborted"
    assert (detail["clientToken"], detail["studioId"]) == (token, STUDIO)
    assert detail["cleanup"]["sessionDeleted"] is True
    assert sessions_for_token(emulator, token)[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")


def test_a_failed_execution_that_announced_its_end_is_left_alone(engine, invocations, unique):
    token = f"announced-{unique}"
    name = f"req-{token}"
    arn = engine.start_execution(
        execution_input(token, f"owner-{unique}", launchProfileId="lp-unknown"), name=name
    )
    assert engine.wait(arn)["status"] == "FAILED"
    [attempt] = wait_until(lambda: invocations.of(RECONCILER, name), what="the reconciler", timeout=60)
    assert not attempt["failed"], attempt["response"]
    assert attempt["response"]["action"] == "NONE"
    assert len(events_for(engine.events(), name)) == 1


def test_a_ready_event_reaches_the_consumer_through_its_rule(engine, invocations, unique):
    token = f"ready-{unique}"
    name = f"req-{token}"
    arn = engine.start_execution(execution_input(token, f"owner-{unique}"), name=name)
    assert engine.wait(arn)["status"] == "SUCCEEDED"
    [attempt] = wait_until(lambda: invocations.of(CONSUMER, name), what="the consumer", timeout=60)
    assert not attempt["failed"], attempt["response"]
    [ready] = events_for(engine.events(), name)
    assert attempt["event"]["id"] == ready["id"]
    assert attempt["response"]["sessionId"] == ready["detail"]["sessionId"]


def test_running_and_succeeded_events_are_emitted_and_the_reconcilers_rule_ignores_them(engine, unique):
    name = f"req-status-{unique}"
    arn = engine.start_execution(execution_input(f"status-{unique}", f"owner-{unique}"), name=name)
    description = engine.wait(arn)
    assert description["status"] == "SUCCEEDED"
    running, succeeded = wait_until(
        lambda: (found := status_events_for(engine, name)) and len(found) == 2 and found,
        what="two status events",
        timeout=60,
    )
    for event in (running, succeeded):
        assert (event["source"], event["detail-type"], event["resources"]) == (SOURCE, DETAIL_TYPE, [arn])
        assert event["detail"]["executionArn"] == arn
        assert event["detail"]["stateMachineArn"] == engine.state_machine_arn
        assert event["detail"]["startDate"] == int(description["startDate"].timestamp() * 1000)
        assert json.loads(event["detail"]["input"]) == json.loads(description["input"])
    assert running["detail"]["status"] == "RUNNING"
    assert running["detail"]["stopDate"] is None
    assert running["detail"]["output"] is None
    assert succeeded["detail"]["status"] == "SUCCEEDED"
    assert succeeded["detail"]["stopDate"] == int(description["stopDate"].timestamp() * 1000)
    assert json.loads(succeeded["detail"]["output"]) == json.loads(description["output"])
    assert succeeded["detail"]["error"] is None

    # The reconciler's rule, as the template created it on the default bus, matches neither
    # (moto's own matcher, the one that routes; moto has no TestEventPattern).
    pattern = boto3.client("events", region_name=REGION).describe_rule(Name=f"{RECONCILER}ExecutionClosed")
    rule = EventPattern.load(pattern["EventPattern"])
    assert not rule.matches_event(running)
    assert not rule.matches_event(succeeded)
    assert rule.matches_event({**succeeded, "detail": {**succeeded["detail"], "status": "ABORTED"}})


def test_a_failing_target_is_retried_then_lands_in_its_dead_letter_queue(engine, invocations, unique):
    """A malformed Ready event on the bus: the consumer rejects it on each of its 3 attempts."""
    request_id = f"req-malformed-{unique}"
    response = boto3.client("events", region_name=REGION).put_events(
        Entries=[
            {
                "EventBusName": engine.event_bus_name,
                "Source": engine.event_source,
                "DetailType": "Streaming Session Ready",
                "Detail": json.dumps({"requestId": request_id}),
            }
        ]
    )
    event_id = response["Entries"][0]["EventId"]
    dlq = "SessionReadyConsumerDeadLetterQueue"

    def dead_letters() -> list[dict[str, Any]]:
        return [m for m in engine.queue_messages(dlq) if m["requestPayload"]["id"] == event_id]

    [record] = wait_until(dead_letters, what="the dead letter", timeout=60)
    attempts = invocations.of(CONSUMER, request_id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert all(a["failed"] for a in attempts)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{CONSUMER}:$LATEST")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["requestPayload"]["detail"] == {"requestId": request_id}
