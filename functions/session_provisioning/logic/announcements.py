"""The announcements table: whether the reconciler published an execution's terminal event.

The reconciler can be started twice for one execution: by the status-change event (which AWS
may also deliver twice) and by the scheduled sweep that backs it up. Its putEvents is in no
execution history, so the history cannot tell the second start that the first one published.
A conditional write can:

1. before any work, the marker is read: PUBLISHED or SETTLED ends the reconciliation; a live
   CLAIMED of another invocation too (it is publishing);
2. after the (idempotent) session cleanup, the reconciliation **claims** the execution:
   ``attribute_not_exists`` or a claim of its own, or one whose lease ran out. Losing the claim
   ends it: another invocation publishes;
3. it publishes; if that raises, it **releases** its claim, so its retry (or the next sweep)
   claims and publishes again;
4. it records PUBLISHED with the event's id and the cleanup.

The lease covers a claimer that dies between 2 and 4 (a timeout, a crash): after
:data:`CLAIM_LEASE_SECONDS`, longer than any Lambda invocation can run, the next reconciliation
takes the claim over. The one window left: an invocation that published and died before 4 is
taken over after its lease and the event goes out twice (consumers dedupe on ``requestId``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from session_provisioning.models.reconciliation import AnnouncementMarker

#: Lambda's longest timeout (15 minutes): a claim older than this has no live claimer.
CLAIM_LEASE_SECONDS = 900
#: Markers outlive the sweep's look-back by this much (then the TTL removes them).
RETENTION_MARGIN = timedelta(days=1)
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class AnnouncementsTable:
    """The table (a DynamoDB client and the table's name) and how long markers are kept."""

    client: Any
    name: str
    retention: timedelta  # the sweep's look-back plus RETENTION_MARGIN

    def expiry(self, now: datetime) -> int:
        return int((now + self.retention).timestamp())


def read_marker(table: AnnouncementsTable, execution_arn: str) -> AnnouncementMarker | None:
    response = table.client.get_item(
        TableName=table.name, Key={"executionArn": {"S": execution_arn}}, ConsistentRead=True
    )
    item = response.get("Item")
    return AnnouncementMarker.from_item(item) if item else None


def claim(table: AnnouncementsTable, execution_arn: str, claimer: str, now: datetime) -> bool:
    """Whether this invocation may publish: no marker, its own claim, or an expired one."""
    marker = AnnouncementMarker(
        execution_arn=execution_arn,
        state="CLAIMED",
        claimed_by=claimer,
        lease_until=int(now.timestamp()) + CLAIM_LEASE_SECONDS,
        expires_at=table.expiry(now),
    )
    return _put(
        table,
        marker,
        "attribute_not_exists(executionArn) OR "
        "(#state = :claimed AND (claimedBy = :claimer OR leaseUntil < :now))",
        {
            ":claimed": {"S": "CLAIMED"},
            ":claimer": {"S": claimer},
            ":now": {"N": str(int(now.timestamp()))},
        },
    )


def release(table: AnnouncementsTable, execution_arn: str, claimer: str) -> None:
    """Gives a claim back (its publication failed); a claim no longer ours is left as it is."""
    try:
        table.client.delete_item(
            TableName=table.name,
            Key={"executionArn": {"S": execution_arn}},
            ConditionExpression="#state = :claimed AND claimedBy = :claimer",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":claimed": {"S": "CLAIMED"}, ":claimer": {"S": claimer}},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
            raise


def record_published(table: AnnouncementsTable, marker: AnnouncementMarker) -> None:
    """PUBLISHED, over this invocation's own claim. If the claim was taken over meanwhile (this
    invocation outlived its lease), the other claimer's record stands."""
    _put(
        table,
        marker,
        "attribute_not_exists(executionArn) OR (#state = :claimed AND claimedBy = :claimer)",
        {":claimed": {"S": "CLAIMED"}, ":claimer": {"S": marker.claimed_by or ""}},
    )


def record_settled(table: AnnouncementsTable, execution_arn: str, reason: str, now: datetime) -> None:
    """Nothing was the reconciler's to publish; never over another marker."""
    marker = AnnouncementMarker(
        execution_arn=execution_arn, state="SETTLED", reason=reason, expires_at=table.expiry(now)
    )
    _put(table, marker, "attribute_not_exists(executionArn)", None)


def _put(
    table: AnnouncementsTable,
    marker: AnnouncementMarker,
    condition: str,
    values: dict[str, dict[str, str]] | None,
) -> bool:
    request: dict[str, Any] = {
        "TableName": table.name,
        "Item": marker.to_item(),
        "ConditionExpression": condition,
    }
    if "#state" in condition:
        request["ExpressionAttributeNames"] = {"#state": "state"}  # a reserved word
    if values:
        request["ExpressionAttributeValues"] = values
    try:
        table.client.put_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
            return False
        raise
    return True
