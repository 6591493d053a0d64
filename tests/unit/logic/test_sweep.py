"""The sweep's window, bounds and tally (logic/sweep.py), on a fake ListExecutions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from local.engine import REPO_ROOT
from session_provisioning.logic.announcements import claim, record_settled
from session_provisioning.logic.sweep import (
    MAX_EXECUTION_SECONDS,
    RECONCILIATION_RESERVE_SECONDS,
    sweep_executions,
)
from session_provisioning.models.reconciliation import SweepSettings
from tests.support.announcements import template_announcements

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:provision"
SETTINGS = SweepSettings(state_machine_arn=MACHINE, look_back_minutes=60, max_reconciliations=10)


def execution(
    name: str, status: str, started_min_ago: float, stopped_min_ago: float | None
) -> dict[str, Any]:
    item = {
        "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:provision:{name}",
        "stateMachineArn": MACHINE,
        "name": name,
        "status": status,
        "startDate": NOW - timedelta(minutes=started_min_ago),
    }
    if stopped_min_ago is not None:
        item["stopDate"] = NOW - timedelta(minutes=stopped_min_ago)
    return item


class FakeStepFunctions:
    """ListExecutions (newest first, `page_size` a page, one status) and DescribeExecution."""

    def __init__(self, executions: list[dict[str, Any]], page_size: int = 2) -> None:
        self.executions = sorted(executions, key=lambda e: e["startDate"], reverse=True)
        self.page_size = page_size
        self.pages_read: dict[str, int] = {}

    def get_paginator(self, name: str) -> FakeStepFunctions:
        assert name == "list_executions"
        return self

    def paginate(self, *, stateMachineArn: str, statusFilter: str):
        assert stateMachineArn == MACHINE
        matching = [e for e in self.executions if e["status"] == statusFilter]
        for start in range(0, len(matching), self.page_size):
            self.pages_read[statusFilter] = self.pages_read.get(statusFilter, 0) + 1
            yield {"executions": matching[start : start + self.page_size]}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        [item] = [e for e in self.executions if e["executionArn"] == executionArn]
        return {**item, "input": json.dumps({"studioId": "s"}), "error": "E", "cause": "C"}


@pytest.fixture
def table():
    with mock_aws():
        yield template_announcements()


def run(table, sfn, *, settings=SETTINGS, time_left=lambda: 300.0, outcome="ANNOUNCED"):
    seen: list[dict[str, Any]] = []

    def reconcile(detail: dict[str, Any]) -> dict[str, Any]:
        seen.append(detail)
        if detail["name"].startswith("broken"):
            raise RuntimeError("Nimble Studio unavailable")
        return {"action": outcome}

    result = sweep_executions(
        settings, sfn_client=sfn, announcements=table, reconcile=reconcile, now=NOW, time_left=time_left
    )
    return result, seen


def test_it_reconciles_executions_that_ended_within_the_window_in_the_statuses_the_rule_matches(table):
    sfn = FakeStepFunctions(
        [
            execution("aborted-recently", "ABORTED", 10, 5),
            execution("timed-out", "TIMED_OUT", 250, 10),
            execution("failed-recently", "FAILED", 30, 29),
            execution("failed-before-the-window", "FAILED", 120, 61),
            execution("succeeded", "SUCCEEDED", 10, 5),
            execution("running", "RUNNING", 10, None),
        ]
    )
    result, seen = run(table, sfn)
    assert sorted(d["name"] for d in seen) == ["aborted-recently", "failed-recently", "timed-out"]
    assert (result.swept, result.reconciled, result.deferred, result.failed) == (3, 3, 0, [])
    [detail] = [d for d in seen if d["name"] == "aborted-recently"]
    # The status-change event's detail, from DescribeExecution.
    assert detail["status"] == "ABORTED"
    assert detail["startDate"] == int((NOW - timedelta(minutes=10)).timestamp() * 1000)
    assert detail["stopDate"] == int((NOW - timedelta(minutes=5)).timestamp() * 1000)
    assert (detail["input"], detail["error"], detail["cause"]) == ('{"studioId": "s"}', "E", "C")


def test_the_listing_stops_once_executions_started_too_early_to_end_in_the_window(table):
    too_old = 60 + MAX_EXECUTION_SECONDS / 60 + 1
    sfn = FakeStepFunctions(
        [execution("recent", "FAILED", 5, 1)]
        + [execution(f"old-{i}", "FAILED", too_old + i, too_old + i - 1) for i in range(10)]
    )
    result, _ = run(table, sfn)
    assert result.swept == 1
    assert sfn.pages_read["FAILED"] == 1  # of 6 pages


def test_settled_executions_cost_no_reconciliation_and_claimed_ones_are_retried(table):
    settled, claimed = execution("settled", "FAILED", 5, 1), execution("claimed", "ABORTED", 5, 1)
    record_settled(table, settled["executionArn"], "the workflow published", NOW)
    claim(table, claimed["executionArn"], "someone", NOW)
    result, seen = run(table, FakeStepFunctions([settled, claimed]), outcome="NONE")
    assert [d["name"] for d in seen] == ["claimed"]  # the reconciler decides on a claim's lease
    assert (result.swept, result.settled, result.left_alone, result.reconciled) == (2, 1, 1, 0)


def test_a_run_reconciles_at_most_its_bound_and_defers_the_rest(table):
    sfn = FakeStepFunctions([execution(f"stopped-{i}", "ABORTED", 5, 1) for i in range(5)])
    settings = SETTINGS.model_copy(update={"max_reconciliations": 2})
    result, seen = run(table, sfn, settings=settings)
    assert (len(seen), result.reconciled, result.deferred) == (2, 2, 3)


def test_no_reconciliation_starts_without_the_time_one_needs(table):
    sfn = FakeStepFunctions([execution(f"stopped-{i}", "ABORTED", 5, 1) for i in range(3)])
    left = iter([300.0, RECONCILIATION_RESERVE_SECONDS - 1, RECONCILIATION_RESERVE_SECONDS - 1])
    result, seen = run(table, sfn, time_left=lambda: next(left))
    assert (len(seen), result.deferred) == (1, 2)


def test_a_failing_reconciliation_does_not_stop_the_others(table):
    sfn = FakeStepFunctions([execution("broken", "ABORTED", 5, 2), execution("fine", "ABORTED", 4, 1)])
    result, seen = run(table, sfn)
    assert [d["name"] for d in seen] == ["fine", "broken"]
    assert result.reconciled == 1
    assert result.failed == [sfn.executions[1]["executionArn"]]


def test_the_longest_execution_is_the_definitions_timeout():
    definition = json.loads((REPO_ROOT / "statemachine" / "provision_session.asl.json").read_text())
    assert definition["TimeoutSeconds"] == MAX_EXECUTION_SECONDS
