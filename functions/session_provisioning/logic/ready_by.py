"""`readyBy` scheduling: when a request may be accepted, when its provisioning starts, whether
it is late, and how the events say so.

The workflow waits (a Wait state on `$.schedule.provisioningStartsAt`) until readyBy minus the
lead time (template parameter ReadyByLeadSeconds), then provisions as usual; a start time that
has passed already starts at once. Waiting is free in a Standard workflow: one transition.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from session_provisioning.logic.attempts import all_records, record
from session_provisioning.models.attempts import AttemptOutcome
from session_provisioning.models.request import READY_BY_FORMAT, ready_by_time
from session_provisioning.models.session import StreamingSession
from session_provisioning.models.workflow import Schedule, WorkflowState

# How far ahead readyBy may be when a new request is accepted; the execution's time limit
# (TimeoutSeconds in the definition) allows this wait plus every attempt's poll budget.
MAX_READY_BY_AHEAD = timedelta(days=7)


def ready_by_problem(ready_by: str | None, now: datetime) -> str | None:
    """Why a new request's readyBy cannot be accepted at `now`, or None (also without readyBy)."""
    if ready_by is None:
        return None
    moment = ready_by_time(ready_by)
    if moment <= now:
        return f"{ready_by} is not in the future"
    if moment - now > MAX_READY_BY_AHEAD:
        return f"{ready_by} is more than {MAX_READY_BY_AHEAD.days} days ahead"
    return None


def schedule_for(ready_by: str, lead_seconds: int) -> Schedule:
    starts = ready_by_time(ready_by) - timedelta(seconds=lead_seconds)
    return Schedule(
        readyBy=ready_by, provisioningStartsAt=starts.strftime(READY_BY_FORMAT), leadSeconds=lead_seconds
    )


def ready_by_timings(ready_by: str | None, ended_at: datetime, *, ready: bool) -> dict[str, Any]:
    """The terminal event's `timings.readyBy` and `readyByMet` (nothing without readyBy)."""
    if ready_by is None:
        return {}
    return {"readyBy": ready_by, "readyByMet": ready and ended_at <= ready_by_time(ready_by)}


def delayed_detail(state: WorkflowState, session: StreamingSession, now: datetime) -> dict[str, Any] | None:
    """The Delayed event's detail when readyBy has passed and none was published yet, else None."""
    schedule = state.schedule
    if schedule is None or schedule.delayed_published or now < ready_by_time(schedule.ready_by):
        return None
    request = state.request
    current = record(state, AttemptOutcome.IN_PROGRESS, session_id=session.session_id)
    # Imported here: the event models are built only when an event is (PollSession's cold start).
    from session_provisioning.models.events import DelayedDetail

    return DelayedDetail.model_validate(
        {
            **request.identifiers(),
            "requestId": request.request_id,
            "sessionId": session.session_id,
            "readyBy": schedule.ready_by,
            "state": session.state,
            "attempts": all_records(state, current),
            "checkedAt": now,
        }
    ).to_json()


def provisioning_seconds(session: StreamingSession, ready_at: str) -> float | None:
    """From the session's createdAt to when READY was seen: what a lead time must cover."""
    if session.created_at is None:
        return None
    seen = datetime.fromisoformat(ready_at.replace("Z", "+00:00"))
    return max((seen - session.created_at).total_seconds(), 0.0)
