"""Fault rules and their matching; no backend, no HTTP."""

from __future__ import annotations

import random

import pytest

from local.emulator.exceptions import ValidationException
from local.emulator.faults import FAILURE_STATUS_CODES, FaultTable, parse_fault_spec


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({}, "exactly one of"),
        ({"error": "ThrottlingException", "sessionOutcome": "NEVER_READY"}, "exactly one of"),
        ({"error": "Throttled"}, "unknown error"),
        ({"error": "ThrottlingException", "operation": "CreateSession"}, "unknown operation"),
        ({"error": "ThrottlingException", "count": 0}, "count"),
        ({"error": "ThrottlingException", "probability": 1.5}, "probability"),
        ({"error": "ThrottlingException", "statusCode": "INTERNAL_ERROR"}, "sessionOutcome rules"),
        ({"error": "ThrottlingException", "match": {"owner": "x"}}, "owner"),
        ({"error": "ThrottlingException", "colour": "red"}, "colour"),
        ({"sessionOutcome": "EXPLODED"}, "sessionOutcome"),
        ({"sessionOutcome": "CREATE_FAILED", "statusCode": "STREAMING_SESSION_READY"}, "not a failure code"),
        ({"sessionOutcome": "CREATE_FAILED", "statusCode": "INTERNAL_ERROR", "random": True}, "not both"),
        ({"sessionOutcome": "NEVER_READY", "statusCode": "INTERNAL_ERROR"}, "NEVER_READY"),
        ({"sessionOutcome": "CREATE_FAILED", "operation": "GetStreamingSession"}, "applies to"),
    ],
)
def test_invalid_specs_are_validation_errors(spec: dict, complaint: str) -> None:
    with pytest.raises(ValidationException, match=complaint):
        parse_fault_spec(spec)


def test_a_non_object_spec_is_a_validation_error() -> None:
    with pytest.raises(ValidationException, match="JSON object"):
        parse_fault_spec(["ThrottlingException"])  # type: ignore[arg-type]


def test_outcome_specs_take_their_operation_from_the_outcome() -> None:
    assert parse_fault_spec({"sessionOutcome": "NEVER_READY"}).operation == "CreateStreamingSession"
    assert (
        parse_fault_spec({"sessionOutcome": "STOP_FAILED", "operation": "*"}).operation
        == "StopStreamingSession"
    )


def test_snake_case_names_are_accepted_like_camel_case() -> None:
    spec = parse_fault_spec({"session_outcome": "CREATE_FAILED", "status_code": "INTERNAL_ERROR"})
    assert (spec.session_outcome, spec.status_code) == ("CREATE_FAILED", "INTERNAL_ERROR")


def test_rules_are_tried_in_order_and_count_down() -> None:
    table = FaultTable()
    rng = random.Random(0)
    first = table.add({"operation": "GetStreamingSession", "error": "ThrottlingException", "count": 1})
    table.add({"error": "InternalServerErrorException", "count": 2})

    assert table.take_error("GetStreamingSession", {}, rng).code == "ThrottlingException"  # type: ignore[union-attr]
    assert first not in table.active()
    assert table.take_error("GetStreamingSession", {}, rng).code == "InternalServerErrorException"  # type: ignore[union-attr]
    assert table.active()[0].remaining == 1
    assert table.take_error("ListStreamingSessions", {}, rng).code == "InternalServerErrorException"  # type: ignore[union-attr]
    assert table.active() == []
    assert table.take_error("GetStreamingSession", {}, rng) is None


def test_injected_errors_say_they_were_injected() -> None:
    table = FaultTable()
    rule = table.add({"error": "ConflictException", "message": "busy, try later"})
    error = table.take_error("CreateStreamingSession", {}, random.Random(0))
    assert error is not None
    assert (error.code, error.status, error.message) == ("ConflictException", 409, "busy, try later")
    assert error.context == {"faultId": rule.id, "injected": "true"}


def test_match_requires_every_given_attribute() -> None:
    table = FaultTable()
    table.add({"error": "ThrottlingException", "match": {"ownedBy": "a", "launchProfileId": "lp"}})
    rng = random.Random(0)
    assert table.take_error("CreateStreamingSession", {"ownedBy": "a"}, rng) is None
    assert table.take_error("CreateStreamingSession", {"ownedBy": "a", "launchProfileId": "x"}, rng) is None
    assert (
        table.take_error("CreateStreamingSession", {"ownedBy": "a", "launchProfileId": "lp"}, rng) is not None
    )


def test_error_rules_and_outcome_rules_do_not_mix() -> None:
    table = FaultTable()
    table.add({"sessionOutcome": "NEVER_READY"})
    rng = random.Random(0)
    assert table.take_error("CreateStreamingSession", {}, rng) is None
    outcome = table.take_outcome("CreateStreamingSession", {}, rng)
    assert outcome is not None
    assert (outcome.kind, outcome.status_code) == ("NEVER_READY", None)
    assert table.take_outcome("StartStreamingSession", {}, rng) is None


def test_random_failure_codes_come_from_the_model_list() -> None:
    table = FaultTable()
    table.add({"sessionOutcome": "CREATE_FAILED"})
    rng = random.Random(1)
    codes = {table.take_outcome("CreateStreamingSession", {}, rng).status_code for _ in range(200)}  # type: ignore[union-attr]
    assert codes == set(FAILURE_STATUS_CODES)


def test_add_all_adds_nothing_when_one_spec_is_bad() -> None:
    table = FaultTable()
    with pytest.raises(ValidationException):
        table.add_all([{"error": "ThrottlingException"}, {"error": "Nope"}])
    assert table.active() == []


def test_describe_shows_what_was_asked_and_the_bookkeeping() -> None:
    table = FaultTable()
    rule = table.add({"operation": "CreateStreamingSession", "error": "ThrottlingException", "count": 2})
    table.take_error("CreateStreamingSession", {}, random.Random(0))
    assert rule.describe() == {
        "id": rule.id,
        "operation": "CreateStreamingSession",
        "error": "ThrottlingException",
        "count": 2,
        "probability": 1.0,
        "remaining": 1,
        "fired": 1,
    }
