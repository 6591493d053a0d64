"""The account-wide call schedule on a real (moto) DynamoDB table, and the steps that use it."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.tables import make_item_writes_atomic
from session_provisioning.logic.schedule import (
    CREATE,
    GET,
    DynamoDbCallSchedule,
    Unscheduled,
    reserve_slots,
    scheduler_from_settings,
    wake_time,
)
from session_provisioning.logic.steps import poll_session
from session_provisioning.models.schedule import CallScheduleSettings
from session_provisioning.models.workflow import PollOutcome, WorkflowState
from tests.support.workflow_state import session, workflow_state

TABLE = "call-schedule"
START = 1_900_000_000.0


@pytest.fixture
def dynamodb() -> Any:
    make_item_writes_atomic()  # as DynamoDB applies a conditional write (moto does not lock)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "operation", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "operation", "KeyType": "HASH"}],
        )
        yield client


def schedule(client: Any, get_per_s: float = 4, create_per_s: float = 2) -> DynamoDbCallSchedule:
    return DynamoDbCallSchedule(lambda: client, TABLE, {GET: get_per_s, CREATE: create_per_s})


def test_an_idle_schedule_gives_the_time_asked_for(dynamodb: Any) -> None:
    slots = schedule(dynamodb)
    assert slots.reserve(GET, START) == START
    assert slots.reserve(GET, START + 10) == START + 10  # the earlier slot is long past
    assert slots.reserve(CREATE, START) == START  # each operation has its own schedule


def test_a_busy_schedule_hands_out_slots_one_spacing_apart(dynamodb: Any) -> None:
    slots = schedule(dynamodb, get_per_s=4)
    got = [slots.reserve(GET, START) for _ in range(6)]
    assert got == [START, START + 0.25, START + 0.5, START + 0.75, START + 1.0, START + 1.25]
    # Asked for a time inside the busy stretch: the next free slot, never earlier than asked.
    assert slots.reserve(GET, START + 0.3) == START + 1.5
    # Asked for a time after it: that time.
    assert slots.reserve(GET, START + 5) == START + 5


def test_concurrent_reservations_never_exceed_the_rate(dynamodb: Any) -> None:
    slots = schedule(dynamodb, get_per_s=16)
    got: list[float] = []
    lock = threading.Lock()

    def reserve(offset: float) -> None:
        for index in range(25):
            slot = slots.reserve(GET, START + offset + (index % 3))
            with lock:
                got.append(slot)

    threads = [threading.Thread(target=reserve, args=(i * 0.01,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(got) == 200
    assert len(set(got)) == 200  # no slot handed out twice
    ordered = sorted(got)
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 1 / 16 - 1e-9
    per_second = Counter(int(slot) for slot in got)
    assert max(per_second.values()) <= 16


def test_unscheduled_and_rate_zero_give_the_time_asked_for(dynamodb: Any) -> None:
    assert Unscheduled().reserve(GET, START) == START
    no_get = DynamoDbCallSchedule(lambda: dynamodb, TABLE, {GET: 0})
    assert [no_get.reserve(GET, START) for _ in range(3)] == [START] * 3
    settings = CallScheduleSettings.from_environment({})
    assert isinstance(scheduler_from_settings(settings, lambda: dynamodb), Unscheduled)
    settings = CallScheduleSettings.from_environment(
        {"CALL_SCHEDULE_TABLE": TABLE, "GET_STREAMING_SESSION_CALLS_PER_SECOND": "16"}
    )
    scheduled = scheduler_from_settings(settings, lambda: dynamodb)
    assert isinstance(scheduled, DynamoDbCallSchedule)
    assert scheduled.calls_per_second == {CREATE: 0, GET: 16}


def test_wake_time_never_before_the_slot() -> None:
    assert wake_time(START + 0.25) == datetime.fromtimestamp(START + 0.25, tz=UTC)
    assert wake_time(START) == datetime.fromtimestamp(START, tz=UTC)
    assert wake_time(START + 0.0001).timestamp() == pytest.approx(START + 0.001)


def state_with(initial_wait: int = 60, interval: int = 8, checks_per_poll: int = 1) -> WorkflowState:
    polling = {
        "initialWaitSeconds": initial_wait,
        "intervalSeconds": interval,
        "checksPerPoll": checks_per_poll,
        "budgetSeconds": 1800,
    }
    created = {"sessionId": "session-1", "session": session()}
    return WorkflowState.model_validate(workflow_state(polling=polling, created=created))


def test_reserve_slots_puts_the_first_poll_an_initial_wait_after_the_create(dynamodb: Any) -> None:
    state = state_with(initial_wait=60)
    slots = schedule(dynamodb, get_per_s=1, create_per_s=1)
    now = datetime.fromtimestamp(START, tz=UTC)
    first = reserve_slots(state, slots, now=lambda: now)
    second = reserve_slots(state, slots, now=lambda: now)
    assert first.create_at.timestamp() == START
    assert first.first_poll_at.timestamp() == START + 60
    assert second.create_at.timestamp() == START + 1  # one create per second
    assert second.first_poll_at.timestamp() == START + 61
    assert set(first.to_json()) == {"createAt", "firstPollAt"}


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)


class PendingClient:
    """GetStreamingSession answering CREATE_IN_PROGRESS, the times of the calls kept."""

    def __init__(self, clock: FakeTime, session: dict[str, Any]) -> None:
        self.clock, self.session, self.calls = clock, session, []

    def get_streaming_session(self, **_: Any) -> dict[str, Any]:
        self.calls.append(self.clock.now)
        return {"session": {**self.session, "state": "CREATE_IN_PROGRESS"}}


def test_poll_checks_in_lambda_while_the_account_is_quiet(dynamodb: Any) -> None:
    state = state_with(interval=8, checks_per_poll=3)
    clock = FakeTime()
    client = PendingClient(clock, state.created.session.to_json())
    result = poll_session(
        state, client, sleep=clock.sleep, now=clock.datetime, scheduler=schedule(dynamodb, get_per_s=16)
    )
    assert result.outcome is PollOutcome.PENDING
    assert client.calls == [START, START + 8, START + 16]
    assert result.next_poll_at.timestamp() == START + 24
    assert result.to_json()["nextPollAt"].endswith("Z")


def test_poll_hands_the_wait_to_the_state_machine_when_the_schedule_is_full(dynamodb: Any) -> None:
    state = state_with(interval=8, checks_per_poll=3)
    slots = schedule(dynamodb, get_per_s=1)
    for _ in range(30):  # 30 other sessions' checks hold the next 30 seconds' slots
        slots.reserve(GET, START + 8)
    clock = FakeTime()
    client = PendingClient(clock, state.created.session.to_json())
    result = poll_session(state, client, sleep=clock.sleep, now=clock.datetime, scheduler=slots)
    assert client.calls == [START]  # one check, no Lambda held for the 30 s
    assert result.outcome is PollOutcome.PENDING
    assert result.next_poll_at.timestamp() == START + 38
