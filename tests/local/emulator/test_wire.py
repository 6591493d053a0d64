"""The emulator through the project's own boto3 client: what an unmodified SDK sees."""

from __future__ import annotations

import threading
import time
import types
from typing import Any

import botocore.waiter
import pytest
from botocore.exceptions import ClientError, ParamValidationError, WaiterError

from local.emulator import RunningEmulator
from local.emulator.validation import INSTANCE_TYPES
from tests.support.emulator import ACCESS_KEY_ID, LAUNCH_PROFILE, SEVEN, STUDIO, FakeClock


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def create(client: Any, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("studioId", STUDIO)
    kwargs.setdefault("launchProfileId", LAUNCH_PROFILE)
    return client.create_streaming_session(**kwargs)["session"]


@pytest.fixture
def frozen(emulator: RunningEmulator, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The emulator on a fake clock, and waiters that 'sleep' by advancing it."""
    emulator.backend.clock = fake_clock
    monkeypatch.setattr(botocore.waiter, "time", types.SimpleNamespace(sleep=fake_clock.advance))
    return fake_clock


# ----- the operations --------------------------------------------------------------------


def test_create_get_list_delete_round_trip(client: Any, frozen: FakeClock) -> None:
    session = create(client, ec2InstanceType="g5.xlarge", ownedBy="artist-1", tags={"project": "x"})
    assert session["state"] == "CREATE_IN_PROGRESS"
    assert session["createdBy"] == ACCESS_KEY_ID  # from the SigV4 credential
    assert session["ownedBy"] == "artist-1"
    assert session["tags"] == {"project": "x"}
    # botocore parsed the ISO 8601 timestamp into an aware datetime.
    assert session["createdAt"].timestamp() == pytest.approx(frozen.now, abs=0.001)

    got = client.get_streaming_session(studioId=STUDIO, sessionId=session["sessionId"])["session"]
    assert got["sessionId"] == session["sessionId"]
    listed = client.list_streaming_sessions(studioId=STUDIO)["sessions"]
    assert [s["sessionId"] for s in listed] == [session["sessionId"]]

    deleted = client.delete_streaming_session(studioId=STUDIO, sessionId=session["sessionId"])["session"]
    assert deleted["state"] == "DELETE_IN_PROGRESS"


def test_list_filters_travel_as_query_parameters(client: Any, emulator: RunningEmulator) -> None:
    a = create(client, ownedBy="a")["sessionId"]
    b = create(client, ownedBy="b")["sessionId"]
    assert [
        s["sessionId"] for s in client.list_streaming_sessions(studioId=STUDIO, ownedBy="b")["sessions"]
    ] == [b]
    assert len(client.list_streaming_sessions(studioId=STUDIO, createdBy=ACCESS_KEY_ID)["sessions"]) == 2
    assert client.list_streaming_sessions(studioId=STUDIO, createdBy="nobody")["sessions"] == []
    by_ids = client.list_streaming_sessions(studioId=STUDIO, sessionIds=f"{a},{b}")["sessions"]
    assert {s["sessionId"] for s in by_ids} == {a, b}


def test_list_pages_with_next_token_and_the_model_paginator(client: Any, emulator: RunningEmulator) -> None:
    created = [
        emulator.backend.create_streaming_session(STUDIO, launch_profile_id=LAUNCH_PROFILE)["sessionId"]
        for _ in range(120)
    ]
    first = client.list_streaming_sessions(studioId=STUDIO)
    assert len(first["sessions"]) == 50
    second = client.list_streaming_sessions(studioId=STUDIO, nextToken=first["nextToken"])
    assert second["sessions"][0]["sessionId"] == created[50]

    pages = list(client.get_paginator("list_streaming_sessions").paginate(studioId=STUDIO))
    assert [len(page["sessions"]) for page in pages] == [50, 50, 20]
    assert "nextToken" not in pages[-1]
    assert [s["sessionId"] for page in pages for s in page["sessions"]] == created

    with pytest.raises(ClientError) as caught:
        client.list_streaming_sessions(studioId=STUDIO, nextToken="not-a-token")
    assert error_of(caught) == ("ValidationException", 400)


def test_stop_and_start_through_the_client(client: Any, frozen: FakeClock) -> None:
    session_id = create(client)["sessionId"]
    frozen.advance(1)
    stopping = client.stop_streaming_session(
        studioId=STUDIO, sessionId=session_id, volumeRetentionMode="DELETE"
    )
    assert stopping["session"]["state"] == "STOP_IN_PROGRESS"
    client.get_waiter("streaming_session_stopped").wait(
        studioId=STUDIO, sessionId=session_id, WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    starting = client.start_streaming_session(studioId=STUDIO, sessionId=session_id)
    assert starting["session"]["state"] == "START_IN_PROGRESS"
    client.get_waiter("streaming_session_ready").wait(
        studioId=STUDIO, sessionId=session_id, WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )

    with pytest.raises(ClientError) as caught:
        client.stop_streaming_session(studioId=STUDIO, sessionId=session_id, volumeRetentionMode="KEEP")
    assert error_of(caught) == ("ValidationException", 400)
    assert "volumeRetentionMode" in caught.value.response["Error"]["Message"]


# ----- waiters ---------------------------------------------------------------------------


def test_ready_waiter_in_real_time(
    client: Any, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the real clock, no fake: provisioning (0.5 s) is over before the waiter's first delay
    # (1 s) is, so it needs at most two polls and sleeps at most once, however slow the machine.
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(botocore.waiter, "time", types.SimpleNamespace(sleep=sleep))
    session_id = create(client)["sessionId"]
    client.get_waiter("streaming_session_ready").wait(
        studioId=STUDIO, sessionId=session_id, WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    polls = emulator.backend.call_counts["GetStreamingSession"]
    assert 1 <= polls <= 2
    assert sleeps == [1] * (polls - 1)
    session = client.get_streaming_session(studioId=STUDIO, sessionId=session_id)["session"]
    assert (session["state"], session["statusCode"]) == ("READY", "STREAMING_SESSION_READY")
    # READY came from the real clock, exactly the configured provisioning time after creation.
    assert (session["startedAt"] - session["createdAt"]).total_seconds() == pytest.approx(0.5)


def test_deleted_waiter(client: Any, frozen: FakeClock) -> None:
    session_id = create(client)["sessionId"]
    client.get_waiter("streaming_session_ready").wait(studioId=STUDIO, sessionId=session_id)
    client.delete_streaming_session(studioId=STUDIO, sessionId=session_id)
    client.get_waiter("streaming_session_deleted").wait(
        studioId=STUDIO, sessionId=session_id, WaiterConfig={"Delay": 1, "MaxAttempts": 3}
    )
    # Deleted sessions stay visible, and deleting again is fine.
    again = client.delete_streaming_session(studioId=STUDIO, sessionId=session_id)["session"]
    assert (again["state"], again["statusCode"]) == ("DELETED", "STREAMING_SESSION_DELETED")


def test_ready_waiter_fails_on_create_failed(
    client: Any, emulator: RunningEmulator, frozen: FakeClock
) -> None:
    emulator.backend.add_fault(session_outcome="CREATE_FAILED", status_code="INSUFFICIENT_CAPACITY", count=1)
    session_id = create(client)["sessionId"]
    with pytest.raises(WaiterError, match="terminal failure") as caught:
        client.get_waiter("streaming_session_ready").wait(
            studioId=STUDIO, sessionId=session_id, WaiterConfig={"Delay": 1, "MaxAttempts": 5}
        )
    session = caught.value.last_response["session"]
    assert (session["state"], session["statusCode"]) == ("CREATE_FAILED", "INSUFFICIENT_CAPACITY")


def test_ready_waiter_runs_out_on_never_ready(
    client: Any, emulator: RunningEmulator, frozen: FakeClock
) -> None:
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"ownedBy": "stuck"})
    session_id = create(client, ownedBy="stuck")["sessionId"]
    started = frozen.now
    with pytest.raises(WaiterError, match="Max attempts exceeded"):
        client.get_waiter("streaming_session_ready").wait(
            studioId=STUDIO, sessionId=session_id, WaiterConfig={"Delay": 60, "MaxAttempts": 30}
        )
    assert frozen.now - started == 29 * 60  # half an hour of (fake) polling
    state = client.get_streaming_session(studioId=STUDIO, sessionId=session_id)["session"]["state"]
    assert state == "CREATE_IN_PROGRESS"


# ----- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "status"), SEVEN.items())
def test_each_injected_error_reaches_botocore_with_its_code_and_status(
    client: Any, emulator: RunningEmulator, code: str, status: int
) -> None:
    emulator.backend.add_fault(operation="CreateStreamingSession", error=code, count=1)
    with pytest.raises(ClientError) as caught:
        create(client, clientToken="tok-injected")
    assert error_of(caught) == (code, status)
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    # botocore maps modeled errors onto the client's exception classes.
    assert isinstance(caught.value, getattr(client.exceptions, code))
    assert caught.value.response["context"]["injected"] == "true"
    snapshot = emulator.backend.snapshot()
    assert (snapshot["sessions"], snapshot["tokens"]) == ([], {})
    # The fault is spent: the same request now succeeds.
    assert create(client, clientToken="tok-injected")["state"] == "CREATE_IN_PROGRESS"


@pytest.mark.parametrize(
    "operation",
    [
        "GetStreamingSession",
        "ListStreamingSessions",
        "DeleteStreamingSession",
        "StartStreamingSession",
        "StopStreamingSession",
    ],
)
def test_faults_reach_every_operation(client: Any, emulator: RunningEmulator, operation: str) -> None:
    session_id = create(client)["sessionId"]
    emulator.backend.add_fault(operation=operation, error="ThrottlingException", count=1)
    call = {
        "GetStreamingSession": lambda: client.get_streaming_session(studioId=STUDIO, sessionId=session_id),
        "ListStreamingSessions": lambda: client.list_streaming_sessions(studioId=STUDIO),
        "DeleteStreamingSession": lambda: client.delete_streaming_session(
            studioId=STUDIO, sessionId=session_id
        ),
        "StartStreamingSession": lambda: client.start_streaming_session(
            studioId=STUDIO, sessionId=session_id
        ),
        "StopStreamingSession": lambda: client.stop_streaming_session(studioId=STUDIO, sessionId=session_id),
    }[operation]
    with pytest.raises(ClientError) as caught:
        call()
    assert error_of(caught) == ("ThrottlingException", 429)
    assert emulator.backend.call_counts[operation] == 1
    assert emulator.backend.snapshot()["sessions"][0]["state"] == "CREATE_IN_PROGRESS"


def test_fault_count_probability_and_match_over_the_wire(client: Any, emulator: RunningEmulator) -> None:
    backend = emulator.backend
    backend.add_fault(operation="CreateStreamingSession", error="InternalServerErrorException", count=2)
    for _ in range(2):
        with pytest.raises(ClientError):
            create(client, clientToken="tok")
    create(client, clientToken="tok")
    assert backend.call_counts["CreateStreamingSession"] == 3

    backend.add_fault(operation="ListStreamingSessions", error="ThrottlingException", probability=0.0)
    for _ in range(3):
        client.list_streaming_sessions(studioId=STUDIO)
    backend.clear_faults()
    backend.add_fault(operation="ListStreamingSessions", error="ThrottlingException", probability=1.0)
    for _ in range(3):
        with pytest.raises(ClientError):
            client.list_streaming_sessions(studioId=STUDIO)
    backend.clear_faults()

    backend.add_fault(error="AccessDeniedException", match={"ownedBy": "intruder"})
    create(client, ownedBy="artist")
    with pytest.raises(ClientError) as caught:
        create(client, ownedBy="intruder")
    assert error_of(caught) == ("AccessDeniedException", 403)


def test_quota_over_the_wire(client: Any, emulator: RunningEmulator) -> None:
    emulator.backend.set_quota(1)
    create(client, ownedBy="artist")
    with pytest.raises(ClientError) as caught:
        create(client, ownedBy="artist")
    assert error_of(caught) == ("ServiceQuotaExceededException", 402)
    assert caught.value.response["context"]["limit"] == "1"


def test_not_found_over_the_wire(client: Any) -> None:
    cases = [
        lambda: client.get_streaming_session(studioId=STUDIO, sessionId="session-nope"),
        lambda: client.delete_streaming_session(studioId=STUDIO, sessionId="session-nope"),
        lambda: client.list_streaming_sessions(studioId="studio-nope"),
        lambda: create(client, studioId="studio-nope"),
        lambda: create(client, launchProfileId="lp-nope"),
        lambda: create(client, streamingImageId="image-nope"),
    ]
    for call in cases:
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            call()
        assert error_of(caught) == ("ResourceNotFoundException", 404)


# ----- validation, bound by bound ---------------------------------------------------------


@pytest.mark.parametrize("instance_type", INSTANCE_TYPES)
def test_every_instance_type_is_accepted(client: Any, instance_type: str) -> None:
    assert create(client, ec2InstanceType=instance_type)["ec2InstanceType"] == instance_type


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ec2InstanceType": "g4dn.huge"}, "ec2InstanceType"),  # botocore does not check enums
        ({"streamingImageId": "i" * 23}, "streamingImageId"),  # ...nor max lengths
        ({"streamingImageId": "image.local"}, "streamingImageId"),  # ...nor patterns
        ({"streamingImageId": "image/local"}, "streamingImageId"),
        ({"clientToken": "t" * 65}, "clientToken"),
    ],
)
def test_server_side_validation_through_the_client(
    client: Any, emulator: RunningEmulator, kwargs: dict, field: str
) -> None:
    with pytest.raises(ClientError) as caught:
        create(client, **kwargs)
    assert error_of(caught) == ("ValidationException", 400)
    assert field in caught.value.response["Error"]["Message"]
    assert caught.value.response["context"]["fields"] == field
    assert emulator.backend.snapshot()["sessions"] == []


def test_valid_bounds_through_the_client(client: Any, emulator: RunningEmulator) -> None:
    image_22 = "i" * 22
    emulator.backend.configure(
        {
            "studios": [
                {
                    "studioId": STUDIO,
                    "launchProfileIds": [LAUNCH_PROFILE],
                    "streamingImageIds": ["image-local", image_22],
                }
            ]
        }
    )
    assert create(client, streamingImageId=image_22)["streamingImageId"] == image_22
    assert create(client, streamingImageId="")["streamingImageId"] == "image-local"
    assert create(client, clientToken="t")["sessionId"]
    assert create(client, clientToken="t" * 64)["sessionId"]


def test_botocore_itself_rejects_some_violations_before_sending(
    client: Any, emulator: RunningEmulator
) -> None:
    # These never reach the emulator; the raw-HTTP tests cover the server's answer.
    with pytest.raises(ParamValidationError, match="clientToken"):
        create(client, clientToken="")
    with pytest.raises(ParamValidationError, match="launchProfileId"):
        client.create_streaming_session(studioId=STUDIO)
    with pytest.raises(ParamValidationError, match="tags"):
        create(client, tags={"a": 1})
    assert emulator.backend.call_counts == {}


# ----- idempotency and concurrency --------------------------------------------------------


def test_client_token_idempotency_over_the_wire(client: Any) -> None:
    first = create(client, clientToken="req-1", ownedBy="artist")
    again = create(client, clientToken="req-1", ownedBy="artist")
    assert again["sessionId"] == first["sessionId"]
    with pytest.raises(client.exceptions.ConflictException) as caught:
        create(client, clientToken="req-1", ownedBy="someone-else")
    assert error_of(caught) == ("ConflictException", 409)


def test_the_sdk_fills_a_client_token_when_none_is_given(client: Any, emulator: RunningEmulator) -> None:
    create(client)
    token = emulator.backend.snapshot()["sessions"][0]["clientToken"]
    assert len(token) == 36  # botocore's uuid4


def run_in_threads(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def test_twenty_concurrent_identical_creates_make_one_session(client: Any, emulator: RunningEmulator) -> None:
    ids = run_in_threads(20, lambda _: create(client, clientToken="same", ownedBy="artist")["sessionId"])
    assert len(set(ids)) == 1
    assert len(emulator.backend.snapshot()["sessions"]) == 1
    assert emulator.backend.call_counts["CreateStreamingSession"] == 20


def test_concurrent_distinct_creates_each_make_a_session(client: Any, emulator: RunningEmulator) -> None:
    ids = run_in_threads(
        40, lambda i: create(client, clientToken=f"tok-{i}", ownedBy=f"artist-{i % 5}")["sessionId"]
    )
    assert len(set(ids)) == 40
    snapshot = emulator.backend.snapshot()
    assert len(snapshot["sessions"]) == 40
    assert len(snapshot["tokens"][STUDIO]) == 40
