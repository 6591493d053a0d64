"""Same studio + token + body: one workflow and the same answer, running or finished, however
many times and however concurrently it is sent. Same token, another body: 409."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3

from session_provisioning.logic.requests import is_request_id, request_id_for, start_request
from session_provisioning.models.request import SessionRequestBody
from tests.support.api import STUDIO, valid_body


def test_accepted_request_names_its_status_resource(api, token):
    reply = api.create(valid_body(), token=token)
    assert reply.status == 202
    request_id = reply.body["requestId"]
    assert reply.body == {
        "requestId": request_id,
        "clientToken": token,
        "studioId": STUDIO,
        "status": "IN_PROGRESS",
    }
    assert is_request_id(request_id)
    assert request_id == request_id_for(STUDIO, token)
    assert reply.header("Location") == f"/studios/{STUDIO}/streaming-sessions/requests/{request_id}"
    [execution] = api.executions(request_id)
    assert json.loads(api.engine.describe(execution["executionArn"])["input"]) == {
        "studioId": STUDIO,
        "clientToken": token,
        "request": valid_body(),
    }


def test_replay_while_running_gives_the_same_request(api, token):
    first = api.create(valid_body(), token=token)
    again = api.create(valid_body(), token=token)
    assert first.status == again.status == 202
    assert again.body == first.body
    assert again.header("Location") == first.header("Location")
    assert len(api.executions(first.body["requestId"])) == 1


def test_replay_after_completion_gives_the_same_request(api, token):
    first = api.create(valid_body(), token=token)
    assert api.wait_until_done(first.body["requestId"])[-1].body["status"] == "READY"
    again = api.create(valid_body(), token=token)
    assert again.status == 202
    assert again.body == first.body
    assert len(api.executions(first.body["requestId"])) == 1
    assert api.status(first.body["requestId"]).body["status"] == "READY"


def test_replay_is_recognised_whatever_the_member_order_and_spacing(api, token):
    first = api.create(raw_body='{"launchProfileId":"lp-local","tags":{"b":"2","a":"1"}}', token=token)
    again = api.create(
        raw_body='{ "tags": {"a": "1", "b": "2"},\n "launchProfileId": "lp-local" }', token=token
    )
    assert first.status == again.status == 202
    assert again.body["requestId"] == first.body["requestId"]
    assert len(api.executions(first.body["requestId"])) == 1


def test_same_token_with_another_body_is_a_conflict_while_running(api, token):
    first = api.create(valid_body(), token=token)
    reply = api.create(valid_body(ownedBy="someone-else"), token=token)
    assert reply.status == 409
    assert reply.body["code"] == "ConflictException"
    assert token in reply.body["message"]
    assert len(api.executions(first.body["requestId"])) == 1


def test_same_token_with_another_body_is_a_conflict_after_completion(api, token):
    first = api.create(valid_body(), token=token)
    api.wait_until_done(first.body["requestId"])
    reply = api.create(valid_body(launchProfileId="lp-local-2"), token=token)
    assert reply.status == 409
    assert reply.body["code"] == "ConflictException"
    # The original request is untouched.
    assert api.status(first.body["requestId"]).body["status"] == "READY"


def test_a_member_left_out_is_another_body(api, token):
    api.create(valid_body(), token=token)
    assert api.create(valid_body(streamingImageId=None), token=token).status == 409


def test_without_a_token_each_request_is_new_and_gets_a_generated_token(api):
    first = api.create(valid_body())
    second = api.create(valid_body())
    assert first.status == second.status == 202
    assert first.body["clientToken"] != second.body["clientToken"]
    assert 1 <= len(first.body["clientToken"]) <= 64
    assert first.body["requestId"] != second.body["requestId"]
    assert first.body["requestId"] == request_id_for(STUDIO, first.body["clientToken"])
    # The generated token works like a client's own: a replay with it is the same request.
    again = api.create(valid_body(), token=first.body["clientToken"])
    assert again.body["requestId"] == first.body["requestId"]


def test_same_token_in_two_studios_is_two_requests(api, token):
    here = api.create(valid_body(), token=token)
    there = api.create(valid_body(), token=token, studio="studio-elsewhere")
    assert here.status == there.status == 202
    assert here.body["requestId"] != there.body["requestId"]


def test_concurrent_duplicates_through_the_api_start_one_workflow(api, token):
    barrier = threading.Barrier(20)

    def send(_: int):
        barrier.wait()
        return api.create(valid_body(), token=token)

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(send, range(20)))
    assert {reply.status for reply in replies} == {202}
    assert len({reply.body["requestId"] for reply in replies}) == 1
    assert len(api.executions(replies[0].body["requestId"])) == 1


def test_concurrent_duplicates_racing_in_step_functions_start_one_workflow(api, token):
    """start_request itself from 20 threads: the StartExecution calls really do race."""
    body = SessionRequestBody.model_validate(valid_body())
    client = boto3.client("stepfunctions", region_name="us-east-1")
    barrier = threading.Barrier(20)

    def send(_: int):
        barrier.wait()
        return start_request(STUDIO, token, body, client, api.engine.state_machine_arn)

    with ThreadPoolExecutor(max_workers=20) as pool:
        accepted = list(pool.map(send, range(20)))
    assert len({item.request_id for item in accepted}) == 1
    assert len(api.executions(accepted[0].request_id)) == 1
