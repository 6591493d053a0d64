"""The local engine records histories as AWS does where our code reads them (moto patched).

* StopExecution ends the execution at once: ABORTED, ``ExecutionAborted`` with the given error
  and cause, and no event after it, even while a Lambda call is still running;
* ``States.ALL`` catches neither ``States.Runtime`` nor ``States.DataLimitExceeded``.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import boto3
import pytest

from local.engine import ACCOUNT_ID, REGION, LocalEngine
from tests.support.waiting import wait_until
from tests.support.workflow import ENVIRONMENT, PARAMETERS, execution_input, sessions_for_token

# One PollSession invocation checks 4 times, 2 s apart: a Lambda call that is still running
# when the execution is stopped.
SLOW_POLL = {
    **PARAMETERS,
    "PollChecksPerInvocation": "4",
    "PollIntervalSeconds": "2",
    "PollBudgetSeconds": "60",
}


@pytest.fixture(scope="module")
def engine(emulator):
    with LocalEngine(
        parameter_overrides={**SLOW_POLL, "NimbleEndpointUrl": emulator.url}, environment=ENVIRONMENT
    ) as running:
        yield running


def backend_execution(arn: str):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[ACCOUNT_ID][REGION].describe_execution(arn)


def test_stop_execution_ends_at_once_with_its_error_and_cause(engine, emulator, unique):
    token = f"stop-{unique}"
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    arn = engine.start_execution(execution_input(token, "me"), name=f"req-{token}")
    wait_until(lambda: sessions_for_token(emulator, token), what="the session")
    wait_until(
        lambda: [e for e in engine.history(arn) if e["type"] == "LambdaFunctionStarted"][2:], what="a poll"
    )
    sfn = boto3.client("stepfunctions", region_name=REGION)

    sfn.stop_execution(executionArn=arn, error="Operator.Stop", cause="stopped by the test")

    # At once: no waiting for the PollSession call in flight.
    description = sfn.describe_execution(executionArn=arn)
    assert description["status"] == "ABORTED"
    assert (description["error"], description["cause"]) == ("Operator.Stop", "stopped by the test")
    assert "stopDate" in description
    history = engine.history(arn)
    assert history[-1]["type"] == "ExecutionAborted"
    assert history[-1]["executionAbortedEventDetails"] == {
        "error": "Operator.Stop",
        "cause": "stopped by the test",
    }
    assert history[-2]["type"] == "LambdaFunctionStarted"  # the call in flight records no result
    # When the call returns, nothing more is recorded and the stop stands.
    wait_until(lambda: getattr(backend_execution(arn), "_local_engine_worker_done", False), what="the worker")
    assert engine.history(arn) == history
    again = sfn.describe_execution(executionArn=arn)
    assert (again["status"], again["stopDate"], again["error"]) == (
        "ABORTED",
        description["stopDate"],
        "Operator.Stop",
    )


def test_states_all_does_not_catch_a_runtime_error(engine):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {
        "StartAt": "Publish",
        "States": {
            "Publish": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {"Entries.$": "$.missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    machine = sfn.create_state_machine(
        name=f"runtime-{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/test",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    description = wait_until(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, what="the end"
    )
    assert (description["status"], description["error"]) == ("FAILED", "States.Runtime")
    names = [
        e["stateEnteredEventDetails"]["name"] for e in engine.history(arn) if "stateEnteredEventDetails" in e
    ]
    assert names == ["Publish"]


@pytest.mark.parametrize(
    ("error", "matched"),
    [("StatesStatesDataLimitExceeded", False), ("StatesRuntime", False), ("StatesTimeout", True)],
)
def test_states_all_matches_every_error_but_the_terminal_ones(engine, error, matched):
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    decl = ErrorEqualsDecl([StatesErrorName(typ=StatesErrorNameType.StatesALL)])
    env = SimpleNamespace(stack=[StatesErrorName(typ=getattr(StatesErrorNameType, error))])
    decl._eval_body(env)
    assert env.stack == [matched]
