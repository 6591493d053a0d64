"""The reconciler's announcements table in tests: the template's own table, in moto."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3

from local.engine import DEFAULT_TEMPLATE, REGION, TemplateResolver, load_template
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
