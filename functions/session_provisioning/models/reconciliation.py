"""What the reconciler keeps and reports: its announcement markers and the sweep's settings and tally.

An :class:`AnnouncementMarker` is one item of the announcements table, keyed by execution ARN.
It is what makes the two ways a reconciliation starts (the status-change event, the scheduled
sweep) announce an execution at most once between them: the reconciler's own putEvents is in no
execution history, so only the table can say it happened.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from session_provisioning.models.base import WireModel

#: CLAIMED: a reconciliation is publishing (``claimedBy`` until ``leaseUntil``); PUBLISHED: the
#: reconciler's terminal event went out; SETTLED: nothing was the reconciler's to publish (the
#: workflow published its own event, or READY won a cancel).
MarkerState = Literal["CLAIMED", "PUBLISHED", "SETTLED"]

#: The attributes conditions and the TTL read; the rest of the marker is one JSON attribute.
_KEY, _STATE, _CLAIMED_BY, _LEASE_UNTIL, _EXPIRES_AT, _BODY = (
    "executionArn",
    "state",
    "claimedBy",
    "leaseUntil",
    "expiresAt",
    "marker",
)


class AnnouncementMarker(WireModel):
    execution_arn: str
    state: MarkerState
    claimed_by: str | None = None  # the Lambda request id of the claiming invocation
    lease_until: int | None = None  # epoch seconds: after it, another reconciliation may claim
    expires_at: int  # epoch seconds: DynamoDB's TTL removes the item after it
    detail_type: str | None = None
    event_id: str | None = None
    code: str | None = None  # the published error code
    cleanup: dict[str, Any] | None = None  # what became of the session, as the event says it
    reason: str | None = None  # why a SETTLED execution needed nothing

    def to_item(self) -> dict[str, dict[str, str]]:
        """The DynamoDB item (attribute values), conditions' attributes at the top level."""
        item = {
            _KEY: {"S": self.execution_arn},
            _STATE: {"S": self.state},
            _EXPIRES_AT: {"N": str(self.expires_at)},
            _BODY: {"S": json.dumps(self.to_json(), separators=(",", ":"))},
        }
        if self.claimed_by is not None:
            item[_CLAIMED_BY] = {"S": self.claimed_by}
        if self.lease_until is not None:
            item[_LEASE_UNTIL] = {"N": str(self.lease_until)}
        return item

    @classmethod
    def from_item(cls, item: dict[str, dict[str, str]]) -> AnnouncementMarker:
        return cls.model_validate_json(item[_BODY]["S"])

    def held_by_another(self, claimer: str, now: datetime) -> bool:
        """A live claim of another invocation: it is publishing, or may still be."""
        return (
            self.state == "CLAIMED"
            and self.claimed_by != claimer
            and (self.lease_until or 0) > int(now.timestamp())
        )


class SweepSettings(WireModel):
    """The sweep's bounds, from the function's environment (template parameters)."""

    state_machine_arn: str
    look_back_minutes: int = Field(ge=1)
    max_reconciliations: int = Field(ge=1)  # per run; the rest waits for the next run


class SweepResult(WireModel):
    """One sweep run, for the log and the metrics."""

    swept: int = 0  # executions that ended ABORTED, TIMED_OUT or FAILED within the look-back
    settled: int = 0  # a marker said they needed nothing more
    reconciled: int = 0  # announced by this sweep: their status-change event did not (yet) do it
    left_alone: int = 0  # reconciled, nothing to publish (the history or another invocation had it)
    deferred: int = 0  # over the run's bound or out of time: the next run sees them
    failed: list[str] = Field(default_factory=list)  # execution ARNs whose reconciliation raised
