"""local/moto_hot_paths.py: moto's ASL engine builds its clients and JSONPath expressions once."""

from __future__ import annotations

import threading

import boto3
import pytest

from local import moto_hot_paths
from tests.support.waiting import wait_until


@pytest.fixture
def fresh_session(monkeypatch):
    """A default session of this test's own (the cache keys on the session)."""
    moto_hot_paths.install_hot_path_caches()
    session = boto3.Session(region_name="us-east-1")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    return session


def test_moto_asl_modules_use_the_cached_client_factory():
    moto_hot_paths.install_hot_path_caches()
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_events,
    )

    assert lambda_eval_utils.boto_client_for is moto_hot_paths.cached_boto_client_for
    assert state_task_service_events.boto_client_for is moto_hot_paths.cached_boto_client_for


def test_one_client_per_service_while_the_session_handlers_stay_the_same(fresh_session):
    first = moto_hot_paths.cached_boto_client_for(region="us-east-1", service="lambda")
    assert moto_hot_paths.cached_boto_client_for(region="us-east-1", service="lambda") is first
    other = moto_hot_paths.cached_boto_client_for(region="us-east-1", service="events")
    assert other is not first
    assert other.meta.service_model.service_name == "events"
    # moto's own settings for the engine's clients are kept.
    assert first._request_signer._credentials.access_key == "ak"


def test_a_handler_registered_later_reaches_the_next_client(fresh_session):
    """A client copies the session's handlers when it is made: the engine's Lambda hook, the IAM
    gate's and a benchmark's must reach the ASL engine's calls even when registered late."""
    before = moto_hot_paths.cached_boto_client_for(region="us-east-1", service="lambda")
    seen: list[str] = []

    def refuse(model, **_):
        seen.append(model.name)
        raise RuntimeError("refused by the test's handler")

    fresh_session.events.register("before-call.lambda.Invoke", refuse, unique_id="hot-paths-test")
    after = moto_hot_paths.cached_boto_client_for(region="us-east-1", service="lambda")
    assert after is not before
    with pytest.raises(RuntimeError, match="refused by the test's handler"):
        after.invoke(FunctionName="anything", Payload=b"{}")
    assert seen == ["Invoke"]
    fresh_session.events.unregister("before-call.lambda.Invoke", unique_id="hot-paths-test")
    assert moto_hot_paths.cached_boto_client_for(region="us-east-1", service="lambda") is not after


def test_jsonpath_expressions_are_parsed_once_and_still_find_values():
    moto_hot_paths.install_hot_path_caches()
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse("$.request.studioId") is json_path.parse("$.request.studioId")
    assert json_path.extract_json("$.request.studioId", {"request": {"studioId": "s-1"}}) == "s-1"
    assert json_path.extract_json("$.items[1]", {"items": ["a", "b"]}) == "b"


def test_name_locks_serialise_one_name_and_let_other_names_through():
    """StartExecution's idempotency needs calls with one name in turn; other names need not wait."""
    locks = moto_hot_paths.NameLocks()
    release = threading.Event()
    entered: list[str] = []

    def hold(name: str, until: threading.Event | None) -> None:
        with locks.held(name):
            entered.append(name)
            if until is not None:
                until.wait(timeout=60)

    first = threading.Thread(target=hold, args=("request-1", release))
    first.start()
    wait_until(lambda: entered == ["request-1"], timeout=30)
    hold("request-2", None)  # another name: in and out while request-1 is held
    assert entered == ["request-1", "request-2"]
    same = threading.Thread(target=hold, args=("request-1", None))
    same.start()
    wait_until(lambda: locks._locks["request-1"][1] == 2, timeout=30)  # waiting for the holder
    assert entered == ["request-1", "request-2"]
    release.set()
    first.join(timeout=60)
    same.join(timeout=60)
    assert entered == ["request-1", "request-2", "request-1"]
    assert locks._locks == {}  # nothing kept for names no longer in use
