"""The reconciler's announcements table in tests: the template's own table, in moto."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3

from local.engine import DEFAULT_TEMPLATE, REGION, REPO_ROOT, TemplateResolver, load_template
from local.tables import create_tables, table_names
from session_provisioning.logic.announcements import AnnouncementsTable
from session_provisioning.logic.sweep import status_change_detail

TABLE = "AnnouncementsTable"  # the template's logical id, the local table's name
RETENTION = timedelta(days=1)


def template_announcements() -> AnnouncementsTable:
    """Creates the template's tables in the running mock (``mock_aws``); returns the markers'."""
    client = boto3.client("dynamodb", region_name=REGION)
    resolver = TemplateResolver(load_template(DEFAULT_TEMPLATE))
    create_tables(resolver, client)
    return AnnouncementsTable(client=client, name=table_names(resolver)[TABLE], retention=RETENTION)


def engine_announcements(engine: Any) -> AnnouncementsTable:
    """The table a running engine created from the template."""
    client = boto3.client("dynamodb", region_name=REGION)
    return AnnouncementsTable(client=client, name=table_names(engine.resolver)[TABLE], retention=RETENTION)


def status_change(description: dict[str, Any]) -> dict[str, Any]:
    """The detail of the "Step Functions Execution Status Change" event for a DescribeExecution."""
    return status_change_detail(description)


def scheduled_event() -> dict[str, Any]:
    """The sweep's trigger, as EventBridge sends it (the events/ sample)."""
    return json.loads((REPO_ROOT / "events" / "sweep_executions.json").read_text(encoding="utf-8"))


def stop_while_polling(engine: Any, emulator: Any, name: str, owner: str) -> str:
    """Starts a request (name = client token) whose session never becomes READY, stops its
    execution once PollSession runs (the session exists), waits for ABORTED; its ARN."""
    from tests.support.waiting import wait_until
    from tests.support.workflow import execution_input

    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": name})
    arn = engine.start_execution(execution_input(name, owner), name=name)
    wait_until(
        lambda: (
            "PollSession" in [e.get("stateEnteredEventDetails", {}).get("name") for e in engine.history(arn)]
        ),
        what="PollSession",
    )
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn, cause="test")
    assert engine.wait(arn)["status"] == "ABORTED"
    return arn
