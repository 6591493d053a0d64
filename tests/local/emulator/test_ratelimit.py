"""The emulator's per-account, per-operation request-rate limits (token buckets)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulator import EmulatorConfig, NimbleBackend, NimbleError, RunningEmulator, load_config
from local.emulator.ratelimit import DEFAULT_LIMITS
from tests.support.emulator import SESSIONS_PATH, STUDIO, VALID_BODY, FakeClock, assert_error, raw_request

GET_2_PER_S_BURST_3 = {
    "enabled": True,
    "operations": {"GetStreamingSession": {"ratePerSecond": 2, "burst": 3}},
}


def limited_backend(clock: FakeClock, limits: dict[str, Any] = GET_2_PER_S_BURST_3) -> NimbleBackend:
    return NimbleBackend(EmulatorConfig(rate_limits=limits, seed=1), clock=clock)


def session_id(backend: NimbleBackend, token: str = "token-1") -> str:  # noqa: S107 - a client token
    return backend.create_streaming_session(STUDIO, launch_profile_id="lp-local", client_token=token)[
        "sessionId"
    ]


def gets_admitted(backend: NimbleBackend, sid: str, calls: int, caller: str = "local-user") -> int:
    admitted, refusals = 0, []
    for _ in range(calls):
        try:
            backend.get_streaming_session(STUDIO, sid, caller=caller)
            admitted += 1
        except NimbleError as error:
            refusals.append((error.code, error.status, error.message, error.context["operation"]))
    assert set(refusals) <= {("ThrottlingException", 429, "Rate exceeded", "GetStreamingSession")}
    return admitted


def test_off_by_default(fake_clock: FakeClock) -> None:
    backend = NimbleBackend(clock=fake_clock)
    sid = session_id(backend)
    assert gets_admitted(backend, sid, 200) == 200
    assert backend.snapshot()["throttledCounts"] == {}


def test_the_burst_then_the_sustained_rate(fake_clock: FakeClock) -> None:
    backend = limited_backend(fake_clock)
    sid = session_id(backend)
    assert gets_admitted(backend, sid, 5) == 3  # the burst
    fake_clock.advance(0.49)
    assert gets_admitted(backend, sid, 1) == 0  # 0.98 of a token
    fake_clock.advance(0.01)
    assert gets_admitted(backend, sid, 2) == 1  # one token per 0.5 s
    fake_clock.advance(60)
    assert gets_admitted(backend, sid, 5) == 3  # the bucket holds no more than the burst
    snapshot = backend.snapshot()
    assert snapshot["throttledCounts"] == {"GetStreamingSession": 6}
    assert snapshot["callCounts"]["GetStreamingSession"] == 13  # a throttled call is still a call


def test_a_throttled_call_changes_nothing(fake_clock: FakeClock) -> None:
    limits = {"enabled": True, "operations": {"CreateStreamingSession": {"ratePerSecond": 1, "burst": 1}}}
    backend = limited_backend(fake_clock, limits)
    session_id(backend, "first")
    with pytest.raises(NimbleError) as raised:
        session_id(backend, "second")
    assert raised.value.code == "ThrottlingException"
    assert [s["clientToken"] for s in backend.snapshot()["sessions"]] == ["first"]


def test_buckets_are_per_operation_and_per_account(fake_clock: FakeClock) -> None:
    backend = limited_backend(fake_clock)
    sid = session_id(backend)
    assert gets_admitted(backend, sid, 4) == 3
    # Another operation has its own bucket (the default limits).
    listed, _ = backend.list_streaming_sessions(STUDIO)
    assert len(listed) == 1
    # Another account's principal has its own bucket; the same account's other role does not.
    other_account = "arn:aws:sts::210987654321:assumed-role/Other/session"
    same_account = "arn:aws:sts::123456789012:assumed-role/Poller/session"
    assert gets_admitted(backend, sid, 4, caller=other_account) == 3
    assert gets_admitted(backend, sid, 1, caller=same_account) == 0


def test_reset_refills_and_configure_changes_the_limits(fake_clock: FakeClock) -> None:
    backend = limited_backend(fake_clock)
    sid = session_id(backend)
    assert gets_admitted(backend, sid, 4) == 3
    backend.reset()
    sid = session_id(backend)
    assert gets_admitted(backend, sid, 4) == 3
    backend.configure({"rateLimits": {"enabled": False}})
    assert gets_admitted(backend, sid, 50) == 50
    backend.configure({"rate_limits": {"enabled": True}})  # the assumed defaults
    assert gets_admitted(backend, sid, 100) == DEFAULT_LIMITS["GetStreamingSession"].burst


@pytest.mark.parametrize(
    "limits",
    [
        {"enabled": True, "operations": {"DescribeStreamingSession": {"ratePerSecond": 1, "burst": 1}}},
        {"enabled": True, "operations": {"GetStreamingSession": {"ratePerSecond": 0, "burst": 1}}},
        {"enabled": True, "operations": {"GetStreamingSession": {"ratePerSecond": 1, "burst": 0}}},
        {"enabled": True, "surprise": 1},
    ],
)
def test_bad_limits_are_refused(fake_clock: FakeClock, limits: dict[str, Any]) -> None:
    backend = limited_backend(fake_clock)
    with pytest.raises(NimbleError) as raised:
        backend.configure({"rateLimits": limits})
    assert raised.value.code == "ValidationException"
    assert "rateLimits" in raised.value.message


def test_start_up_variable_sets_the_limits() -> None:
    config = load_config(
        '{"rateLimits": {"enabled": true, "operations": {"GetStreamingSession": '
        '{"ratePerSecond": 5, "burst": 10}}}}'
    )
    assert config.rate_limits.enabled
    effective = config.rate_limits.effective()
    assert effective["GetStreamingSession"] == {"ratePerSecond": 5.0, "burst": 10}
    assert effective["CreateStreamingSession"] == DEFAULT_LIMITS["CreateStreamingSession"].model_dump(
        by_alias=True
    )


def test_control_endpoint_and_the_sdk_see_throttling(emulator: RunningEmulator, client: Any) -> None:
    def control(method: str, body: Any = None) -> Any:
        return raw_request(emulator, method, "/_emulator/rate-limits", body, signed=False)

    assert control("GET").json["enabled"] is False
    reply = control(
        "POST",
        {"enabled": True, "operations": {"CreateStreamingSession": {"ratePerSecond": 0.001, "burst": 2}}},
    )
    assert reply.status == 200, reply.raw
    assert reply.json["limits"]["CreateStreamingSession"] == {"ratePerSecond": 0.001, "burst": 2}
    for _ in range(2):
        assert raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).status == 200
    assert_error(raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY), 429, "ThrottlingException")
    with pytest.raises(ClientError) as raised:
        client.create_streaming_session(studioId=STUDIO, launchProfileId="lp-local", clientToken="sdk")
    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert control("GET").json["throttledCounts"] == {"CreateStreamingSession": 2}
    assert_error(control("POST", {"enabled": "sometimes"}), 400, "ValidationException")
    assert control("POST", {"enabled": False}).json["enabled"] is False
    assert raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).status == 200
