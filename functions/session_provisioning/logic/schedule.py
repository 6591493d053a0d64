"""`readyBy` scheduling: when a request may be accepted, and when its provisioning starts.

The workflow waits (a Wait state on `$.schedule.provisioningStartsAt`) until readyBy minus the
lead time (template parameter ReadyByLeadSeconds), then provisions as usual; a start time that
has passed already starts at once. Waiting is free in a Standard workflow: one transition.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from session_provisioning.models.base import WireModel
from session_provisioning.models.request import READY_BY_FORMAT, ready_by_time

# How far ahead readyBy may be when a new request is accepted; the execution's time limit
# (TimeoutSeconds in the definition) allows this wait plus every attempt's poll budget.
MAX_READY_BY_AHEAD = timedelta(days=7)


def ready_by_problem(ready_by: str, now: datetime) -> str | None:
    """Why a new request's readyBy cannot be accepted at `now`, or None."""
    moment = ready_by_time(ready_by)
    if moment <= now:
        return f"{ready_by} is not in the future"
    if moment - now > MAX_READY_BY_AHEAD:
        return f"{ready_by} is more than {MAX_READY_BY_AHEAD.days} days ahead"
    return None


class Schedule(WireModel):
    """`$.schedule`, for readyBy requests only (written by ValidateRequest)."""

    ready_by: str = Field(description="UTC, whole seconds, Z.")
    provisioning_starts_at: str = Field(description="readyBy minus the lead time; what the Wait waits for.")
    lead_seconds: int = Field(ge=0)


def schedule_for(ready_by: str, lead_seconds: int) -> Schedule:
    starts = ready_by_time(ready_by) - timedelta(seconds=lead_seconds)
    return Schedule(
        readyBy=ready_by, provisioningStartsAt=starts.strftime(READY_BY_FORMAT), leadSeconds=lead_seconds
    )
