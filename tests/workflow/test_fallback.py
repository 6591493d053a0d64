"""Capacity fallback on the real definition: the next instance type after INSUFFICIENT_CAPACITY or
ServiceQuotaExceededException, every attempt listed, nothing else retried on another type.

Faults are aimed by owner and instance type, so the scenarios run side by side.
"""

from __future__ import annotations

import pytest

from session_provisioning.models.attempts import attempt_client_token
from tests.support.reliability import FAILED, READY
from tests.support.workflow import events_for, execution_input, sessions_for_token

FIRST, SECOND, THIRD = "g4dn.xlarge", "g5.xlarge", "g5.2xlarge"


def no_capacity(owner: str, instance_type: str) -> dict:
    return {
        "sessionOutcome": "CREATE_FAILED",
        "statusCode": "INSUFFICIENT_CAPACITY",
        "match": {"ownedBy": owner, "ec2InstanceType": instance_type},
    }


def over_quota(owner: str, instance_type: str) -> dict:
    return {
        "operation": "CreateStreamingSession",
        "error": "ServiceQuotaExceededException",
        "match": {"ownedBy": owner, "ec2InstanceType": instance_type},
    }


def run(engine, emulator, name: str, faults: list[dict], **request) -> tuple[dict, dict]:
    """Starts a request named `name` (also its token), waits for it; (its execution, its one terminal event)."""
    from tests.support.waiting import wait_until

    emulator.backend.add_faults(faults)
    arn = engine.start_execution(execution_input(name, f"artist-{name}", **request), name=name)
    result = engine.wait(arn, timeout=120)
    events = wait_until(lambda: events_for(engine.events(), name), timeout=30, what="the terminal event")
    assert len(events) == 1, events
    return result, events[0]


def test_no_capacity_on_the_first_type_ends_ready_on_the_fallback(engine, emulator, unique):
    name = f"fb-ready-{unique}"
    owner = f"artist-{name}"
    result, event = run(
        engine,
        emulator,
        name,
        [no_capacity(owner, FIRST)],
        ec2InstanceType=FIRST,
        fallbackInstanceTypes=[SECOND, THIRD],
    )
    assert result["status"] == "SUCCEEDED"
    assert event["detail-type"] == READY
    detail = event["detail"]
    assert detail["ec2InstanceType"] == SECOND
    assert detail["session"]["ec2InstanceType"] == SECOND
    first, second = detail["attempts"]
    assert first == {
        "index": 0,
        "ec2InstanceType": FIRST,
        "clientToken": name,
        "sessionId": first["sessionId"],
        "outcome": "CREATE_FAILED",
        "code": "INSUFFICIENT_CAPACITY",
    }
    assert first["sessionId"] is not None
    assert second == {
        "index": 1,
        "ec2InstanceType": SECOND,
        "clientToken": attempt_client_token(name, 1),
        "sessionId": detail["sessionId"],
        "outcome": "READY",
        "code": None,
    }
    # The CREATE_FAILED session holds nothing: it is left as it is, not deleted.
    (failed,) = sessions_for_token(emulator, name)
    assert failed["state"] == "CREATE_FAILED"
    (ready,) = sessions_for_token(emulator, attempt_client_token(name, 1))
    assert ready["state"] == "READY"


def test_every_type_without_capacity_fails_with_every_attempt_listed(engine, emulator, unique):
    name = f"fb-none-{unique}"
    owner = f"artist-{name}"
    result, event = run(
        engine,
        emulator,
        name,
        [no_capacity(owner, FIRST), over_quota(owner, SECOND), no_capacity(owner, THIRD)],
        ec2InstanceType=FIRST,
        fallbackInstanceTypes=[SECOND, THIRD],
    )
    assert result["status"] == "FAILED"
    assert event["detail-type"] == FAILED
    detail = event["detail"]
    assert detail["error"]["code"] == "INSUFFICIENT_CAPACITY"
    outcomes = [(a["index"], a["ec2InstanceType"], a["outcome"], a["code"]) for a in detail["attempts"]]
    assert outcomes == [
        (0, FIRST, "CREATE_FAILED", "INSUFFICIENT_CAPACITY"),
        (1, SECOND, "ERROR", "ServiceQuotaExceededException"),
        (2, THIRD, "CREATE_FAILED", "INSUFFICIENT_CAPACITY"),
    ]
    assert detail["attempts"][1]["sessionId"] is None
    assert [a["clientToken"] for a in detail["attempts"]] == [attempt_client_token(name, n) for n in range(3)]
    assert "cleanup" not in detail  # nothing to delete: no attempt left a session holding anything


def test_quota_on_the_first_type_moves_on_without_a_session(engine, emulator, unique):
    name = f"fb-quota-{unique}"
    owner = f"artist-{name}"
    result, event = run(
        engine,
        emulator,
        name,
        [over_quota(owner, FIRST)],
        ec2InstanceType=FIRST,
        fallbackInstanceTypes=[SECOND],
    )
    assert result["status"] == "SUCCEEDED"
    first, second = event["detail"]["attempts"]
    assert (first["outcome"], first["code"], first["sessionId"]) == (
        "ERROR",
        "ServiceQuotaExceededException",
        None,
    )
    assert second["outcome"] == "READY"
    assert sessions_for_token(emulator, name) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"sessionOutcome": "CREATE_FAILED", "statusCode": "NETWORK_CONNECTION_ERROR"},
        {"operation": "CreateStreamingSession", "error": "ValidationException"},
    ],
    ids=["create-failed-otherwise", "refused-otherwise"],
)
def test_any_other_failure_ends_the_request_without_a_fallback(engine, emulator, unique, fault):
    name = f"fb-other-{fault.get('error', 'cf')[:4]}-{unique}"
    owner = f"artist-{name}"
    result, event = run(
        engine,
        emulator,
        name,
        [{**fault, "match": {"ownedBy": owner}}],
        ec2InstanceType=FIRST,
        fallbackInstanceTypes=[SECOND],
    )
    assert result["status"] == "FAILED"
    (only,) = event["detail"]["attempts"]
    assert (only["index"], only["ec2InstanceType"], only["clientToken"]) == (0, FIRST, name)
    assert sessions_for_token(emulator, attempt_client_token(name, 1)) == []


def test_a_request_without_fallbacks_lists_its_one_attempt(engine, emulator, unique):
    name = f"fb-plain-{unique}"
    owner = f"artist-{name}"
    result, event = run(engine, emulator, name, [no_capacity(owner, FIRST)], ec2InstanceType=FIRST)
    assert result["status"] == "FAILED"
    assert event["detail"]["attempts"] == [
        {
            "index": 0,
            "ec2InstanceType": FIRST,
            "clientToken": name,
            "sessionId": event["detail"]["sessionId"],
            "outcome": "CREATE_FAILED",
            "code": "INSUFFICIENT_CAPACITY",
        }
    ]
