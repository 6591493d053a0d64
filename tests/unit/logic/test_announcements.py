"""The announcement markers: one publication between the event path, its duplicates and the sweep.

The table is the template's own, in moto's DynamoDB; the conditions are DynamoDB's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from session_provisioning.logic.announcements import (
    CLAIM_LEASE_SECONDS,
    claim,
    read_marker,
    record_published,
    record_settled,
    release,
)
from session_provisioning.logic.reconcile import reconcile_execution
from session_provisioning.models.reconciliation import AnnouncementMarker
from tests.support.announcements import template_announcements
from tests.support.aws_history import AwsHistory, FakeStepFunctions

ARN = "arn:aws:states:us-east-1:123456789012:execution:provision:req-1"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
INPUT = {"studioId": "studio-1", "clientToken": "tok-1", "request": {"launchProfileId": "lp-1"}}


@pytest.fixture
def table():
    with mock_aws():
        yield template_announcements()


def test_one_claim_wins_and_a_claim_is_ours_again_on_a_retry(table):
    assert claim(table, ARN, "invocation-1", NOW) is True
    assert claim(table, ARN, "invocation-2", NOW) is False
    assert claim(table, ARN, "invocation-1", NOW + timedelta(seconds=5)) is True  # Lambda's retry
    marker = read_marker(table, ARN)
    assert marker is not None
    assert (marker.state, marker.claimed_by) == ("CLAIMED", "invocation-1")
    assert marker.held_by_another("invocation-2", NOW)
    assert not marker.held_by_another("invocation-1", NOW)


def test_an_abandoned_claim_is_taken_over_after_its_lease(table):
    assert claim(table, ARN, "invocation-1", NOW)
    assert not claim(table, ARN, "sweep", NOW + timedelta(seconds=CLAIM_LEASE_SECONDS - 1))
    assert claim(table, ARN, "sweep", NOW + timedelta(seconds=CLAIM_LEASE_SECONDS + 1))


def test_a_released_claim_can_be_claimed_by_anyone_and_release_leaves_others_claims(table):
    assert claim(table, ARN, "invocation-1", NOW)
    release(table, ARN, "invocation-2")  # not its claim: nothing happens
    assert not claim(table, ARN, "invocation-2", NOW)
    release(table, ARN, "invocation-1")
    assert read_marker(table, ARN) is None
    assert claim(table, ARN, "invocation-2", NOW)


def test_published_and_settled_markers_end_every_later_claim(table):
    assert claim(table, ARN, "invocation-1", NOW)
    marker = AnnouncementMarker(
        execution_arn=ARN,
        state="PUBLISHED",
        claimed_by="invocation-1",
        expires_at=table.expiry(NOW),
        event_id="e-1",
        cleanup={"sessionDeleted": True, "action": "DELETED"},
    )
    record_published(table, marker)
    later = NOW + timedelta(seconds=CLAIM_LEASE_SECONDS * 2)
    assert not claim(table, ARN, "invocation-1", later)
    assert not claim(table, ARN, "sweep", later)
    assert read_marker(table, ARN) == marker
    record_settled(table, ARN, "ignored: a marker is there", NOW)  # never over another marker
    assert read_marker(table, ARN) == marker
    other = ARN + "-2"
    record_settled(table, other, "the workflow published", NOW)
    assert not claim(table, other, "sweep", later)


def test_markers_expire_a_retention_after_they_are_written(table):
    record_settled(table, ARN, "the workflow published", NOW)
    item = table.client.get_item(TableName=table.name, Key={"executionArn": {"S": ARN}})["Item"]
    assert int(item["expiresAt"]["N"]) == int((NOW + table.retention).timestamp())
    ttl = table.client.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiresAt"


# --- the reconciler with the table -----------------------------------------------------------


class Events:
    """putEvents that accepts, or refuses while `refuse` is set."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.refuse = False

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.refuse:
            raise ConnectionError("EventBridge unreachable")
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e-{len(self.entries)}"}]}


def stopped_history() -> list[dict[str, Any]]:
    return (
        AwsHistory(INPUT).task("ValidateRequest", result={"requestId": "req-1"}, result_path="request").events
    )


def reconcile(table, events: Events, claimer: str, history: list[dict[str, Any]] | None = None) -> dict:
    return reconcile_execution(
        {"executionArn": ARN, "name": "req-1", "status": "ABORTED", "input": json.dumps(INPUT)},
        sfn_client=FakeStepFunctions(history if history is not None else stopped_history()),
        nimble_client=None,
        events_client=events,
        announcements=table,
        claimer=claimer,
        event_bus_name="bus",
        event_source="source",
        now=NOW,
    )


def test_a_second_reconciliation_of_an_announced_execution_publishes_nothing(table):
    events = Events()
    first = reconcile(table, events, "event-path")
    second = reconcile(table, events, "sweep")
    assert first["action"] == "ANNOUNCED"
    assert second == {"action": "NONE", "reason": "the announcements table says PUBLISHED"}
    assert len(events.entries) == 1
    marker = read_marker(table, ARN)
    assert marker is not None
    assert (marker.state, marker.event_id, marker.code) == ("PUBLISHED", first["eventId"], "ExecutionAborted")


def test_a_failed_publication_gives_its_claim_back_so_that_a_retry_publishes(table):
    events = Events()
    events.refuse = True
    with pytest.raises(ConnectionError):
        reconcile(table, events, "event-path")
    assert read_marker(table, ARN) is None
    events.refuse = False
    assert reconcile(table, events, "sweep")["action"] == "ANNOUNCED"
    assert len(events.entries) == 1


def test_a_live_claim_of_another_invocation_is_left_to_it(table):
    assert claim(table, ARN, "event-path", NOW)
    events = Events()
    result = reconcile(table, events, "sweep")
    assert result == {"action": "NONE", "reason": "the announcements table says CLAIMED"}
    assert events.entries == []


def test_an_execution_that_published_its_own_event_is_settled_once(table):
    history = (
        AwsHistory(INPUT)
        .task("DescribeFailure", result={"detail": {}}, result_path="failure")
        .task("PublishFailed", integration=True, attempts=["ok"])
        .events
    )
    events = Events()
    assert (
        reconcile(table, events, "event-path", history)["reason"] == "a terminal event was already published"
    )
    marker = read_marker(table, ARN)
    assert marker is not None
    assert marker.state == "SETTLED"
    # The sweep then needs no history at all.
    assert reconcile(table, events, "sweep", history=[])["reason"] == "the announcements table says SETTLED"
    assert events.entries == []
