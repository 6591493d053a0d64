"""NimbleBackend alone: no HTTP, a fake clock, the one lock."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from local.emulator import EmulatorConfig, NimbleBackend
from local.emulator.exceptions import (
    ConflictException,
    InternalServerErrorException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ThrottlingException,
    ValidationException,
)
from local.emulator.faults import FAILURE_STATUS_CODES
from local.emulator.models import format_timestamp
from local.emulator.validation import INSTANCE_TYPES
from tests.support.emulator import LAUNCH_PROFILE, STUDIO, FakeClock


def create(backend: NimbleBackend, **kwargs: object) -> dict:
    kwargs.setdefault("launch_profile_id", LAUNCH_PROFILE)
    return backend.create_streaming_session(STUDIO, **kwargs)


def state_of(backend: NimbleBackend, session_id: str) -> str:
    return backend.get_streaming_session(STUDIO, session_id)["state"]


# ----- create and the lifecycle ------------------------------------------------------------


def test_create_fills_defaults_and_starts_in_progress(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    session = create(backend, caller="AKIDCALLER")

    assert session["sessionId"].startswith("session-")
    assert session["arn"] == f"arn:aws:nimble:us-east-1:123456789012:streaming-session/{session['sessionId']}"
    assert session["state"] == "CREATE_IN_PROGRESS"
    assert session["statusCode"] == "STREAMING_SESSION_CREATE_IN_PROGRESS"
    assert session["statusMessage"]
    assert session["ec2InstanceType"] == "g4dn.xlarge"
    assert session["streamingImageId"] == "image-local"
    assert session["launchProfileId"] == LAUNCH_PROFILE
    assert session["createdBy"] == session["ownedBy"] == session["updatedBy"] == "AKIDCALLER"
    assert session["createdAt"] == session["updatedAt"] == format_timestamp(fake_clock.now)
    # Null members are omitted, not sent as null.
    assert "startedAt" not in session
    assert "tags" not in session
    assert None not in session.values()


def test_timestamps_are_iso8601_utc_with_milliseconds() -> None:
    assert format_timestamp(1_795_000_000.1234) == "2026-11-18T11:06:40.123Z"
    assert format_timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_session_becomes_ready_after_provisioning_seconds(
    backend: NimbleBackend, fake_clock: FakeClock
) -> None:
    created_at = fake_clock.now
    session_id = create(backend)["sessionId"]

    fake_clock.advance(2.999)
    assert state_of(backend, session_id) == "CREATE_IN_PROGRESS"
    fake_clock.advance(0.001)
    session = backend.get_streaming_session(STUDIO, session_id)
    assert session["state"] == "READY"
    assert session["statusCode"] == "STREAMING_SESSION_READY"
    # The transition is dated when it was due, not when it was observed.
    fake_clock.advance(100)
    session = backend.get_streaming_session(STUDIO, session_id)
    assert session["startedAt"] == session["updatedAt"] == format_timestamp(created_at + 3)


def test_provisioning_range_draws_a_duration_per_session(fake_clock: FakeClock) -> None:
    backend = NimbleBackend(EmulatorConfig(provisioning_seconds=[2, 4], seed=3), clock=fake_clock)
    ids = [create(backend)["sessionId"] for _ in range(30)]

    fake_clock.advance(1.999)
    assert {state_of(backend, i) for i in ids} == {"CREATE_IN_PROGRESS"}
    fake_clock.advance(1.5)  # t = 3.499: some are ready, some are not
    assert {state_of(backend, i) for i in ids} == {"CREATE_IN_PROGRESS", "READY"}
    fake_clock.advance(0.501)
    assert {state_of(backend, i) for i in ids} == {"READY"}


def test_delete_goes_through_delete_in_progress_to_deleted_and_stays_visible(
    backend: NimbleBackend, fake_clock: FakeClock
) -> None:
    session_id = create(backend)["sessionId"]
    fake_clock.advance(3)

    deleting = backend.delete_streaming_session(STUDIO, session_id, caller="AKIDOTHER")
    assert deleting["state"] == "DELETE_IN_PROGRESS"
    assert deleting["statusCode"] == "STREAMING_SESSION_DELETE_IN_PROGRESS"
    assert deleting["updatedBy"] == "AKIDOTHER"
    fake_clock.advance(0.5)
    assert state_of(backend, session_id) == "DELETE_IN_PROGRESS"
    fake_clock.advance(0.5)
    deleted = backend.get_streaming_session(STUDIO, session_id)
    assert (deleted["state"], deleted["statusCode"]) == ("DELETED", "STREAMING_SESSION_DELETED")

    # Idempotent: deleting again answers the deleted session; it stays listed.
    assert backend.delete_streaming_session(STUDIO, session_id)["state"] == "DELETED"
    sessions, _ = backend.list_streaming_sessions(STUDIO)
    assert [s["state"] for s in sessions] == ["DELETED"]


def test_delete_while_creating_cancels_the_creation(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    session_id = create(backend)["sessionId"]
    assert backend.delete_streaming_session(STUDIO, session_id)["state"] == "DELETE_IN_PROGRESS"
    fake_clock.advance(10)
    assert state_of(backend, session_id) == "DELETED"


def test_stop_and_start(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    session_id = create(backend)["sessionId"]
    fake_clock.advance(3)

    stopping = backend.stop_streaming_session(STUDIO, session_id, volume_retention_mode="RETAIN")
    assert (stopping["state"], stopping["statusCode"]) == (
        "STOP_IN_PROGRESS",
        "STREAMING_SESSION_STOP_IN_PROGRESS",
    )
    assert stopping["volumeRetentionMode"] == "RETAIN"
    # Idempotent while stopping.
    assert backend.stop_streaming_session(STUDIO, session_id)["state"] == "STOP_IN_PROGRESS"
    fake_clock.advance(1)
    stopped = backend.get_streaming_session(STUDIO, session_id)
    assert (stopped["state"], stopped["statusCode"]) == ("STOPPED", "STREAMING_SESSION_STOPPED")
    assert stopped["stoppedAt"] == format_timestamp(fake_clock.now)

    starting = backend.start_streaming_session(STUDIO, session_id, backup_id="backup-1")
    assert starting["state"] == "START_IN_PROGRESS"
    assert starting["startedFromBackupId"] == "backup-1"
    fake_clock.advance(3)
    ready = backend.get_streaming_session(STUDIO, session_id)
    assert (ready["state"], ready["statusCode"]) == ("READY", "STREAMING_SESSION_STARTED")
    assert ready["startedAt"] == format_timestamp(fake_clock.now)
    assert backend.start_streaming_session(STUDIO, session_id)["state"] == "READY"


def test_stop_or_start_while_creating_is_a_conflict_and_after_delete_a_validation_error(
    backend: NimbleBackend,
) -> None:
    session_id = create(backend)["sessionId"]
    with pytest.raises(ConflictException, match="another operation is in progress"):
        backend.stop_streaming_session(STUDIO, session_id)
    with pytest.raises(ConflictException, match="CREATE_IN_PROGRESS"):
        backend.start_streaming_session(STUDIO, session_id)
    backend.force_delete(session_id)
    with pytest.raises(ValidationException, match="in state DELETED"):
        backend.stop_streaming_session(STUDIO, session_id)
    with pytest.raises(ValidationException, match="in state DELETED"):
        backend.start_streaming_session(STUDIO, session_id)


def test_force_delete_and_force_state(backend: NimbleBackend) -> None:
    session_id = create(backend)["sessionId"]
    forced = backend.force_state(session_id, "START_FAILED", "INTERNAL_ERROR")
    assert (forced["state"], forced["statusCode"]) == ("START_FAILED", "INTERNAL_ERROR")
    assert forced["statusMessage"]
    deleted = backend.force_delete(session_id)
    assert (deleted["state"], deleted["statusCode"]) == ("DELETED", "STREAMING_SESSION_DELETED")
    with pytest.raises(ValidationException, match="state"):
        backend.force_state(session_id, "SLEEPING")
    with pytest.raises(ResourceNotFoundException):
        backend.force_delete("session-missing")


# ----- validation ------------------------------------------------------------------------


@pytest.mark.parametrize("instance_type", INSTANCE_TYPES)
def test_every_instance_type_of_the_enum_is_accepted(backend: NimbleBackend, instance_type: str) -> None:
    assert create(backend, ec2_instance_type=instance_type)["ec2InstanceType"] == instance_type


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"launch_profile_id": None}, "launchProfileId"),
        ({"launch_profile_id": 7}, "launchProfileId"),
        ({"ec2_instance_type": "g4dn.huge"}, "ec2InstanceType"),
        ({"ec2_instance_type": "G4DN.XLARGE"}, "ec2InstanceType"),
        ({"streaming_image_id": "i" * 23}, "streamingImageId"),
        ({"streaming_image_id": "image.local"}, "streamingImageId"),
        ({"streaming_image_id": "image local"}, "streamingImageId"),
        ({"streaming_image_id": "image-local\n"}, "streamingImageId"),
        ({"client_token": ""}, "clientToken"),
        ({"client_token": "t" * 65}, "clientToken"),
        ({"tags": ["a"]}, "tags"),
        ({"tags": {"team": 1}}, "tags.team"),
        ({"owned_by": 5}, "ownedBy"),
    ],
)
def test_each_constraint_violation_is_a_validation_error_naming_the_field(
    backend: NimbleBackend, kwargs: dict, field: str
) -> None:
    with pytest.raises(ValidationException) as caught:
        create(backend, **kwargs)
    assert field in caught.value.message
    assert field in caught.value.context["fields"].split(",")
    assert backend.snapshot()["sessions"] == []


def test_all_violations_are_reported_together(backend: NimbleBackend) -> None:
    with pytest.raises(ValidationException) as caught:
        create(
            backend, launch_profile_id=None, ec2_instance_type="x", streaming_image_id="!", client_token=""
        )
    assert caught.value.message.startswith("4 validation errors detected")
    assert caught.value.context["fields"] == "launchProfileId,ec2InstanceType,streamingImageId,clientToken"


def test_boundary_values_are_accepted(fake_clock: FakeClock) -> None:
    image_22 = "Image_22-chars-0123456"
    assert len(image_22) == 22
    config = EmulatorConfig(
        studios=[
            {"studioId": STUDIO, "launchProfileIds": [LAUNCH_PROFILE], "streamingImageIds": ["img", image_22]}
        ]
    )
    backend = NimbleBackend(config, clock=fake_clock)
    assert create(backend, streaming_image_id=image_22)["streamingImageId"] == image_22
    # An empty image id is within 0..22 and means "the studio's default".
    assert create(backend, streaming_image_id="")["streamingImageId"] == "img"
    assert create(backend, client_token="t")["sessionId"]
    assert create(backend, client_token="t" * 64)["sessionId"]


# ----- fixture lookups -------------------------------------------------------------------


def test_unknown_studio_launch_profile_image_and_session_are_not_found(backend: NimbleBackend) -> None:
    with pytest.raises(ResourceNotFoundException, match="Studio"):
        backend.create_streaming_session("studio-nope", launch_profile_id=LAUNCH_PROFILE)
    with pytest.raises(ResourceNotFoundException, match="Launch profile") as caught:
        create(backend, launch_profile_id="lp-nope")
    assert caught.value.context == {"resourceType": "launchProfile", "resourceId": "lp-nope"}
    with pytest.raises(ResourceNotFoundException, match="Streaming image"):
        create(backend, streaming_image_id="image-nope")
    with pytest.raises(ResourceNotFoundException, match="Streaming session"):
        backend.get_streaming_session(STUDIO, "session-nope")
    with pytest.raises(ResourceNotFoundException, match="Studio"):
        backend.list_streaming_sessions("studio-nope")
    assert create(backend, launch_profile_id="lp-local-2")["launchProfileId"] == "lp-local-2"


def test_a_session_is_not_found_through_another_studio(fake_clock: FakeClock) -> None:
    config = EmulatorConfig(
        studios=[
            {"studioId": "studio-a", "launchProfileIds": ["lp"], "streamingImageIds": ["img"]},
            {"studioId": "studio-b", "launchProfileIds": ["lp"], "streamingImageIds": ["img"]},
        ]
    )
    backend = NimbleBackend(config, clock=fake_clock)
    session_id = backend.create_streaming_session("studio-a", launch_profile_id="lp")["sessionId"]
    with pytest.raises(ResourceNotFoundException):
        backend.get_streaming_session("studio-b", session_id)
    with pytest.raises(ResourceNotFoundException):
        backend.delete_streaming_session("studio-b", session_id)


# ----- idempotency -------------------------------------------------------------------------


def test_same_token_same_parameters_returns_the_same_session(
    backend: NimbleBackend, fake_clock: FakeClock
) -> None:
    first = create(backend, client_token="tok-1", owned_by="artist", tags={"a": "1"})
    fake_clock.advance(5)
    again = create(backend, client_token="tok-1", owned_by="artist", tags={"a": "1"})
    assert again["sessionId"] == first["sessionId"]
    assert again["state"] == "READY"  # the replay shows the session as it is now
    assert len(backend.snapshot()["sessions"]) == 1


def test_same_token_different_parameters_is_a_conflict(backend: NimbleBackend) -> None:
    create(backend, client_token="tok-1", owned_by="artist")
    for change in ({"owned_by": "other"}, {"launch_profile_id": "lp-local-2"}, {"tags": {"x": "y"}}):
        with pytest.raises(ConflictException) as caught:
            create(backend, client_token="tok-1", **{"owned_by": "artist", **change})
        assert caught.value.context["clientToken"] == "tok-1"


def test_tokens_are_scoped_per_studio(fake_clock: FakeClock) -> None:
    config = EmulatorConfig(
        studios=[
            {"studioId": "studio-a", "launchProfileIds": ["lp"], "streamingImageIds": ["img"]},
            {"studioId": "studio-b", "launchProfileIds": ["lp"], "streamingImageIds": ["img"]},
        ]
    )
    backend = NimbleBackend(config, clock=fake_clock)
    a = backend.create_streaming_session("studio-a", launch_profile_id="lp", client_token="tok")
    b = backend.create_streaming_session("studio-b", launch_profile_id="lp", client_token="tok")
    assert a["sessionId"] != b["sessionId"]
    assert backend.snapshot()["tokens"] == {
        "studio-a": {"tok": a["sessionId"]},
        "studio-b": {"tok": b["sessionId"]},
    }


def test_without_a_token_every_create_makes_a_session(backend: NimbleBackend) -> None:
    ids = {create(backend)["sessionId"] for _ in range(3)}
    assert len(ids) == 3
    sessions = backend.snapshot()["sessions"]
    assert len({s["clientToken"] for s in sessions}) == 3


def test_concurrent_identical_creates_make_exactly_one_session(backend: NimbleBackend) -> None:
    barrier = threading.Barrier(20)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(create(backend, client_token="same-token", owned_by="artist")["sessionId"])

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert len(set(results)) == 1
    assert len(backend.snapshot()["sessions"]) == 1
    assert backend.call_counts["CreateStreamingSession"] == 20


# ----- listing -----------------------------------------------------------------------------


def test_list_filters_by_creator_owner_and_ids(backend: NimbleBackend) -> None:
    a = create(backend, caller="alice")["sessionId"]
    b = create(backend, caller="bob")["sessionId"]
    c = create(backend, caller="alice", owned_by="carol")["sessionId"]

    def ids(**filters: object) -> list[str]:
        return [s["sessionId"] for s in backend.list_streaming_sessions(STUDIO, **filters)[0]]

    assert ids() == [a, b, c]
    assert ids(created_by="alice") == [a, c]
    assert ids(owned_by="carol") == [c]
    assert ids(session_ids=f"{c}, {a}") == [a, c]
    assert ids(session_ids=f"{b},session-nope", created_by="alice") == []


def test_list_paginates_in_creation_order_without_gaps(backend: NimbleBackend) -> None:
    created = [create(backend)["sessionId"] for _ in range(120)]
    pages: list[list[str]] = []
    token = None
    while True:
        sessions, token = backend.list_streaming_sessions(STUDIO, next_token=token)
        pages.append([s["sessionId"] for s in sessions])
        if token is None:
            break
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [i for page in pages for i in page] == created


def test_list_page_is_full_then_exact_end(backend: NimbleBackend) -> None:
    for _ in range(50):
        create(backend)
    sessions, token = backend.list_streaming_sessions(STUDIO)
    assert len(sessions) == 50
    assert token is None


@pytest.mark.parametrize("token", ["garbage!", "YWZ0ZXI6eA", ""])
def test_list_rejects_a_token_it_did_not_issue(backend: NimbleBackend, token: str) -> None:
    with pytest.raises(ValidationException, match="nextToken"):
        backend.list_streaming_sessions(STUDIO, next_token=token)


# ----- quota -------------------------------------------------------------------------------


def test_quota_counts_live_sessions_per_owner(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    backend.set_quota(2)
    first = create(backend, owned_by="artist")["sessionId"]
    create(backend, owned_by="artist")
    with pytest.raises(ServiceQuotaExceededException) as caught:
        create(backend, owned_by="artist")
    assert caught.value.status == 402
    assert caught.value.context["limit"] == "2"
    create(backend, owned_by="someone-else")  # other owners are unaffected

    backend.delete_streaming_session(STUDIO, first)
    with pytest.raises(ServiceQuotaExceededException):  # DELETE_IN_PROGRESS still holds the slot
        create(backend, owned_by="artist")
    fake_clock.advance(1)
    create(backend, owned_by="artist")

    backend.set_quota(None)
    create(backend, owned_by="artist")


def test_quota_frees_the_slot_of_a_failed_creation(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    backend.set_quota(1)
    backend.add_fault(session_outcome="CREATE_FAILED", status_code="INSUFFICIENT_CAPACITY", count=1)
    create(backend, owned_by="artist")
    fake_clock.advance(3)
    create(backend, owned_by="artist")


def test_idempotent_replay_is_not_refused_by_the_quota(backend: NimbleBackend) -> None:
    backend.set_quota(1)
    first = create(backend, owned_by="artist", client_token="tok")
    assert create(backend, owned_by="artist", client_token="tok")["sessionId"] == first["sessionId"]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_quota_must_be_a_non_negative_integer(backend: NimbleBackend, bad: object) -> None:
    with pytest.raises(ValidationException):
        backend.set_quota(bad)  # type: ignore[arg-type]


# ----- faults --------------------------------------------------------------------------------


def test_error_fault_with_count_fires_that_often_and_changes_nothing(backend: NimbleBackend) -> None:
    fault = backend.add_fault(operation="CreateStreamingSession", error="ThrottlingException", count=2)
    assert fault["remaining"] == 2

    for remaining in (1, 0):
        with pytest.raises(ThrottlingException) as caught:
            create(backend, client_token="tok")
        assert caught.value.context == {"faultId": fault["id"], "injected": "true"}
        assert [f["remaining"] for f in backend.faults()] == ([remaining] if remaining else [])
    snapshot = backend.snapshot()
    assert snapshot["sessions"] == []
    assert snapshot["tokens"] == {}
    create(backend, client_token="tok")
    assert backend.call_counts == {"CreateStreamingSession": 3}


def test_probability_one_always_fires_and_zero_never(backend: NimbleBackend) -> None:
    session_id = create(backend)["sessionId"]
    backend.add_fault(operation="GetStreamingSession", error="InternalServerErrorException", probability=1.0)
    for _ in range(5):
        with pytest.raises(InternalServerErrorException):
            backend.get_streaming_session(STUDIO, session_id)
    backend.clear_faults()
    never = backend.add_fault(operation="*", error="InternalServerErrorException", probability=0.0)
    for _ in range(5):
        backend.get_streaming_session(STUDIO, session_id)
    assert backend.faults() == [never]


def test_partial_probability_fires_some_of_the_time(backend: NimbleBackend) -> None:
    backend.add_fault(operation="ListStreamingSessions", error="ThrottlingException", probability=0.3)
    outcomes = Counter()
    for _ in range(400):
        try:
            backend.list_streaming_sessions(STUDIO)
            outcomes["ok"] += 1
        except ThrottlingException:
            outcomes["throttled"] += 1
    assert 60 < outcomes["throttled"] < 180


def test_match_aims_a_fault_at_one_request(backend: NimbleBackend) -> None:
    backend.add_fault(
        operation="CreateStreamingSession", error="ConflictException", match={"ownedBy": "target"}
    )
    create(backend, owned_by="bystander")
    with pytest.raises(ConflictException):
        create(backend, owned_by="target")

    victim = create(backend, client_token="victim-token")["sessionId"]
    other = create(backend)["sessionId"]
    backend.add_fault(operation="*", error="ThrottlingException", match={"clientToken": "victim-token"})
    # Get/Delete match the stored session's attributes.
    backend.get_streaming_session(STUDIO, other)
    with pytest.raises(ThrottlingException):
        backend.get_streaming_session(STUDIO, victim)
    with pytest.raises(ThrottlingException):
        backend.delete_streaming_session(STUDIO, victim)
    assert state_of(backend, other) == "CREATE_IN_PROGRESS"


def test_match_on_session_id_of_an_unknown_session(backend: NimbleBackend) -> None:
    backend.add_fault(
        operation="GetStreamingSession", error="AccessDeniedException", match={"sessionId": "s-x"}
    )
    with pytest.raises(ResourceNotFoundException):
        backend.get_streaming_session(STUDIO, "s-y")
    with pytest.raises(Exception, match="Injected AccessDeniedException"):
        backend.get_streaming_session(STUDIO, "s-x")


def test_faults_are_tried_before_validation_and_lookups(backend: NimbleBackend) -> None:
    backend.add_fault(error="ThrottlingException", count=1)
    with pytest.raises(ThrottlingException):
        backend.create_streaming_session("studio-nope", launch_profile_id=None)


def test_create_failed_outcome_with_a_status_code(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    backend.add_fault(session_outcome="CREATE_FAILED", status_code="INSUFFICIENT_CAPACITY", count=1)
    failing = create(backend)
    assert failing["state"] == "CREATE_IN_PROGRESS"
    healthy = create(backend)["sessionId"]
    fake_clock.advance(3)
    failed = backend.get_streaming_session(STUDIO, failing["sessionId"])
    assert (failed["state"], failed["statusCode"]) == ("CREATE_FAILED", "INSUFFICIENT_CAPACITY")
    assert "capacity" in failed["statusMessage"]
    assert "startedAt" not in failed
    assert state_of(backend, healthy) == "READY"


def test_create_failed_outcome_with_a_random_status_code(
    backend: NimbleBackend, fake_clock: FakeClock
) -> None:
    backend.add_fault(session_outcome="CREATE_FAILED", random=True)
    ids = [create(backend)["sessionId"] for _ in range(40)]
    fake_clock.advance(3)
    codes = {backend.get_streaming_session(STUDIO, i)["statusCode"] for i in ids}
    assert codes <= set(FAILURE_STATUS_CODES)
    assert len(codes) > 3


def test_never_ready_stays_in_progress_until_deleted(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    backend.add_fault({"sessionOutcome": "NEVER_READY", "match": {"ownedBy": "stuck"}})
    stuck = create(backend, owned_by="stuck")["sessionId"]
    fake_clock.advance(10_000_000)
    assert state_of(backend, stuck) == "CREATE_IN_PROGRESS"
    backend.delete_streaming_session(STUDIO, stuck)
    fake_clock.advance(1)
    assert state_of(backend, stuck) == "DELETED"


@pytest.mark.parametrize(
    ("outcome", "prepare", "act", "expected"),
    [
        ("START_FAILED", "stopped", "start", "START_FAILED"),
        ("STOP_FAILED", "ready", "stop", "STOP_FAILED"),
        ("DELETE_FAILED", "ready", "delete", "DELETE_FAILED"),
    ],
)
def test_failed_outcomes_of_start_stop_delete(
    backend: NimbleBackend, fake_clock: FakeClock, outcome: str, prepare: str, act: str, expected: str
) -> None:
    session_id = create(backend)["sessionId"]
    fake_clock.advance(3)
    if prepare == "stopped":
        backend.stop_streaming_session(STUDIO, session_id)
        fake_clock.advance(1)
    backend.add_fault(session_outcome=outcome, status_code="INTERNAL_ERROR")
    getattr(backend, f"{act}_streaming_session")(STUDIO, session_id)
    fake_clock.advance(3)
    session = backend.get_streaming_session(STUDIO, session_id)
    assert (session["state"], session["statusCode"]) == (expected, "INTERNAL_ERROR")


def test_outcome_faults_do_not_apply_to_idempotent_replays(
    backend: NimbleBackend, fake_clock: FakeClock
) -> None:
    create(backend, client_token="tok")
    backend.add_fault(session_outcome="CREATE_FAILED", status_code="INTERNAL_ERROR")
    create(backend, client_token="tok")
    fake_clock.advance(3)
    assert backend.faults()[0]["fired"] == 0


# ----- configuration, snapshot, reset ----------------------------------------------------------


def test_snapshot_shows_sessions_tokens_counts_and_faults(backend: NimbleBackend) -> None:
    session = create(backend, client_token="tok-a")
    backend.get_streaming_session(STUDIO, session["sessionId"])
    fault = backend.add_fault(operation="DeleteStreamingSession", error="ThrottlingException", count=3)

    snapshot = backend.snapshot()
    assert snapshot["sessions"][0]["clientToken"] == "tok-a"
    assert snapshot["sessions"][0]["studioId"] == STUDIO
    assert snapshot["tokens"] == {STUDIO: {"tok-a": session["sessionId"]}}
    assert snapshot["callCounts"] == {"CreateStreamingSession": 1, "GetStreamingSession": 1}
    assert snapshot["faults"] == [fault]
    assert fault["remaining"] == 3
    assert snapshot["quota"] == {"liveSessionsPerOwner": None}
    assert snapshot["config"]["provisioningSeconds"] == 3.0


def test_reset_clears_runtime_state_and_keeps_the_configuration(backend: NimbleBackend) -> None:
    create(backend, client_token="tok")
    backend.add_fault(error="ThrottlingException", operation="GetStreamingSession")
    backend.set_quota(1)
    backend.configure({"provisioningSeconds": 9})
    backend.reset()
    snapshot = backend.snapshot()
    assert (snapshot["sessions"], snapshot["tokens"], snapshot["callCounts"], snapshot["faults"]) == (
        [],
        {},
        {},
        [],
    )
    assert snapshot["quota"]["liveSessionsPerOwner"] is None
    assert snapshot["config"]["provisioningSeconds"] == 9
    assert create(backend, client_token="tok")["sessionId"]


def test_configure_changes_timings_for_new_transitions(backend: NimbleBackend, fake_clock: FakeClock) -> None:
    old = create(backend)["sessionId"]
    settings = backend.configure({"provisioning_seconds": 10, "deletionSeconds": 0})
    assert (settings["provisioningSeconds"], settings["deletionSeconds"]) == (10, 0)
    new = create(backend)["sessionId"]
    fake_clock.advance(3)
    assert (state_of(backend, old), state_of(backend, new)) == ("READY", "CREATE_IN_PROGRESS")
    assert backend.delete_streaming_session(STUDIO, old)["state"] == "DELETE_IN_PROGRESS"
    assert state_of(backend, old) == "DELETED"


def test_configure_rejects_unknown_and_invalid_settings_and_changes_nothing(backend: NimbleBackend) -> None:
    before = backend.snapshot()["config"]
    with pytest.raises(ValidationException, match="provisioningSecs"):
        backend.configure({"provisioningSecs": 1})
    with pytest.raises(ValidationException, match="provisioningSeconds"):
        backend.configure({"provisioningSeconds": [5, 1]})
    with pytest.raises(ValidationException, match="deletionSeconds"):
        backend.configure({"deletionSeconds": -1})
    assert backend.snapshot()["config"] == before


def test_configure_adds_faults_and_sets_the_quota(backend: NimbleBackend) -> None:
    backend.configure({"faults": [{"error": "ThrottlingException"}], "liveSessionsPerOwner": 0})
    assert backend.quota == 0
    assert [f["error"] for f in backend.faults()] == ["ThrottlingException"]


def test_start_up_config_installs_faults_and_quota(fake_clock: FakeClock) -> None:
    config = EmulatorConfig.model_validate(
        {
            "faults": [{"operation": "GetStreamingSession", "error": "ThrottlingException"}],
            "liveSessionsPerOwner": 4,
        }
    )
    backend = NimbleBackend(config, clock=fake_clock)
    assert backend.quota == 4
    assert backend.faults()[0]["operation"] == "GetStreamingSession"


def test_default_config_matches_the_product_fixture() -> None:
    config = EmulatorConfig()
    assert [s.studio_id for s in config.studios] == ["studio-local"]
    assert config.studios[0].launch_profile_ids == ["lp-local", "lp-local-2"]
    assert config.studios[0].streaming_image_ids == ["image-local"]
    assert (config.provisioning_seconds, config.deletion_seconds) == (3.0, 1.0)
    assert (config.region, config.account_id) == ("us-east-1", "123456789012")


def test_invalid_fixture_is_rejected() -> None:
    with pytest.raises(ValidationException, match="defaultStreamingImageId"):
        EmulatorConfig.parse(
            {"studios": [{"studioId": "s", "streamingImageIds": ["a"], "defaultStreamingImageId": "b"}]}
        )
    with pytest.raises(ValidationException, match="unique"):
        EmulatorConfig.parse({"studios": [{"studioId": "s"}, {"studioId": "s"}]})
