"""StartExecution failed, or only seemed to: the API must not turn a retry into a second request."""

import json

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from session_provisioning.api.errors import from_domain
from session_provisioning.logic.requests import (
    RequestOperationError,
    execution_arn,
    execution_input,
    request_id_for,
    start_request,
)
from session_provisioning.models.request import SessionRequestBody

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:provision"
BODY = SessionRequestBody.model_validate({"launchProfileId": "lp-local"})


class FlakyStepFunctions:
    """StartExecution fails as told; DescribeExecution answers from what "really" happened."""

    def __init__(self, failure: Exception, *, started: bool) -> None:
        self.failure = failure
        self.started = started
        self.inputs: dict[str, str] = {}

    def start_execution(self, stateMachineArn, name, input):
        if self.started:
            self.inputs[execution_arn(stateMachineArn, name)] = input
        raise self.failure

    def describe_execution(self, executionArn):
        if executionArn not in self.inputs:
            raise ClientError(
                {"Error": {"Code": "ExecutionDoesNotExist", "Message": "no"}}, "DescribeExecution"
            )
        return {"executionArn": executionArn, "status": "RUNNING", "input": self.inputs[executionArn]}


TIMEOUT = ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com")
SERVER_ERROR = ClientError(
    {"Error": {"Code": "InternalFailure", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
    "StartExecution",
)


@pytest.mark.parametrize("failure", [TIMEOUT, SERVER_ERROR], ids=["timeout", "5xx"])
def test_an_execution_that_did_start_is_accepted(failure):
    sfn = FlakyStepFunctions(failure, started=True)
    accepted = start_request("studio-local", "tok", BODY, sfn, STATE_MACHINE)
    assert accepted.request_id == request_id_for("studio-local", "tok")
    assert json.loads(next(iter(sfn.inputs.values()))) == json.loads(
        execution_input("studio-local", "tok", BODY)
    )


@pytest.mark.parametrize("failure", [TIMEOUT, SERVER_ERROR], ids=["timeout", "5xx"])
def test_an_execution_that_did_not_start_is_503_naming_the_generated_token(failure):
    sfn = FlakyStepFunctions(failure, started=False)
    with pytest.raises(RequestOperationError) as caught:
        start_request("studio-local", None, BODY, sfn, STATE_MACHINE)
    answer = from_domain(caught.value)
    token = answer.headers["X-Amz-Client-Token"]
    assert answer.status == 503
    assert token in answer.message
    # The retry the message asks for is a replay of the same request.
    sfn.started = True
    sfn.failure = TIMEOUT
    replay = start_request("studio-local", token, BODY, sfn, STATE_MACHINE)
    assert replay.client_token == token
