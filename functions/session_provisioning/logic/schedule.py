"""An account-wide call schedule: every Nimble Studio call the workflow makes on a timer (each
CreateStreamingSession, each GetStreamingSession) first reserves its own time slot.

Why: the service limits each account's request rate per operation (README, Performance: 1,000
sessions polling every 8 s would be 125 GetStreamingSession calls per second). Retrying the
throttled calls would spend the retries and fail requests the service could have served;
reserving slots keeps the workflow under the limit by construction.

How: one DynamoDB item per operation holds the next free slot (epoch milliseconds). Slots are
handed out ``1000 / callsPerSecond`` ms apart, never earlier than asked for, with at most two
atomic UpdateItem calls and no lock and no loop:

1. if the next free slot is at or before the time asked for, the call gets exactly that time
   and the next free slot becomes that time plus one spacing (a conditional update);
2. otherwise the next free slot moves on by one spacing, and the call gets the one it had.

Every slot is at least one spacing after every earlier one, so in any second at most
``callsPerSecond`` slots exist, whatever the number of executions. The workflow waits for its
slot in a Wait state (TimestampPath), so no Lambda is held waiting. Step Functions truncates a
Wait's timestamp to the second, so the calls of the slots in one second go together at its
start: still at most ``callsPerSecond`` in that second, a burst the service's token bucket
takes. ``callsPerSecond`` is set below the service's limit so that late calls find tokens left.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from session_provisioning.clock import Clock, utc_now
from session_provisioning.errors import from_sdk_error
from session_provisioning.models.schedule import CallScheduleSettings
from session_provisioning.models.workflow import ReservedSlots, WorkflowState

__all__ = [
    "CREATE",
    "GET",
    "DynamoDbCallSchedule",
    "Scheduler",
    "Unscheduled",
    "reserve_slots",
    "scheduler_from_settings",
    "slot_time",
    "wake_time",
]

CREATE = "CreateStreamingSession"
GET = "GetStreamingSession"


class Scheduler(Protocol):
    def reserve(self, operation: str, earliest: float) -> float:
        """A slot (epoch seconds, >= earliest) for one call of ``operation``."""
        ...


class Unscheduled:
    """No account-wide schedule (no table configured): every call may go when it asks."""

    def reserve(self, operation: str, earliest: float) -> float:
        return earliest


@dataclass(frozen=True)
class DynamoDbCallSchedule:
    """The schedule in a DynamoDB table (partition key ``operation``, a string).

    ``calls_per_second`` per operation; an operation without a rate is not scheduled.
    ``client`` gives the DynamoDB client, made on first use (not at a cold start's init).
    """

    client: Callable[[], Any]
    table_name: str
    calls_per_second: dict[str, float]

    def spacing_ms(self, operation: str) -> int | None:
        rate = self.calls_per_second.get(operation) or 0
        return max(1, math.ceil(1000 / rate)) if rate > 0 else None

    def reserve(self, operation: str, earliest: float) -> float:
        spacing = self.spacing_ms(operation)
        if spacing is None:
            return earliest
        wanted = math.ceil(earliest * 1000)
        key = {"operation": {"S": operation}}
        try:
            self.client().update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET nextSlotMs = :after",
                ConditionExpression="attribute_not_exists(nextSlotMs) OR nextSlotMs <= :wanted",
                ExpressionAttributeValues={
                    ":wanted": {"N": str(wanted)},
                    ":after": {"N": str(wanted + spacing)},
                },
            )
            return wanted / 1000
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        # Someone holds a slot after the time asked for: take the next free one. The item only
        # ever moves forward, so the slot got here is after the time asked for too.
        moved = self.client().update_item(
            TableName=self.table_name,
            Key=key,
            UpdateExpression="ADD nextSlotMs :spacing",
            ExpressionAttributeValues={":spacing": {"N": str(spacing)}},
            ReturnValues="UPDATED_NEW",
        )
        return (int(moved["Attributes"]["nextSlotMs"]["N"]) - spacing) / 1000


def slot_time(epoch_seconds: float) -> datetime:
    """A slot as a datetime (UTC)."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def wake_time(epoch_seconds: float) -> datetime:
    """What a Wait state waits until for a slot: the slot, rounded up to the millisecond (the
    schedule's unit). Step Functions then drops the milliseconds and wakes at the slot's second
    (local.moto_patches.seconds_until_wake does the same locally)."""
    return datetime.fromtimestamp(math.ceil(round(epoch_seconds * 1000, 3)) / 1000, tz=UTC)


def scheduler_from_settings(settings: CallScheduleSettings, client: Callable[[], Any]) -> Scheduler:
    """The table's schedule when the settings name one, else every call unscheduled."""
    if settings.table_name is None:
        return Unscheduled()
    return DynamoDbCallSchedule(client, settings.table_name, settings.rates())


def reserve_slots(state: WorkflowState, scheduler: Scheduler, *, now: Clock = utc_now) -> ReservedSlots:
    """ReserveCallSlots: CreateStreamingSession's slot, and the first poll's one initial wait later.

    Both are reserved before the create, so the first poll keeps its place in the schedule
    even when the create is retried (a poll that comes early sees CREATE_IN_PROGRESS).
    """
    if state.polling is None:
        raise ValueError("ReserveCallSlots needs the polling policy")
    try:
        create = scheduler.reserve(CREATE, now().timestamp())
        first_poll = scheduler.reserve(GET, create + state.polling.initial_wait_seconds)
    except (ClientError, BotoCoreError) as error:
        raise from_sdk_error(error, step="ReserveCallSlots") from error
    return ReservedSlots(createAt=wake_time(create), firstPollAt=wake_time(first_poll))
