"""The local engine itself: template resolution, Lambda workers, passthrough, history summary."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from benchmarks.history import summarize_history
from local.engine import (
    REPO_ROOT,
    EngineError,
    LambdaContext,
    LambdaInvocationError,
    LocalEngine,
    TemplateResolver,
    load_template,
)
from local.lambda_invoke import call_handler
from session_provisioning.nimble.client import nimble_client
from tests.workflow.support import ENVIRONMENT, PARAMETERS, STUDIO, execution_input, race

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
ASL_FILE = REPO_ROOT / "statemachine" / "provision_session.asl.json"


def validate_event(execution: dict) -> dict:
    return {
        "execution": execution,
        "requestId": "req-1",
        "requestedAt": "2026-11-27T10:00:00Z",
        "polling": {"initialWaitSeconds": 0, "intervalSeconds": 1, "checksPerPoll": 1, "budgetSeconds": 3},
    }


# --- the template, without starting anything --------------------------------------------------


def test_loader_turns_short_forms_into_long_forms(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Thing:\n"
        "    Type: AWS::SNS::Topic\n"
        "    Properties:\n"
        "      A: !Ref Param\n"
        "      B: !GetAtt Fn.Arn\n"
        "      C: !Sub '${AWS::Region}-x'\n"
        "      D: !If [Cond, !Ref AWS::NoValue, [1, 2]]\n"
        "      E: !Not [!Equals [!Ref Param, '']]\n"
        "      F: !Join [',', [a, b]]\n"
        "      G: !Condition Cond\n"
    )
    properties = load_template(path)["Resources"]["Thing"]["Properties"]
    assert properties == {
        "A": {"Ref": "Param"},
        "B": {"Fn::GetAtt": ["Fn", "Arn"]},
        "C": {"Fn::Sub": "${AWS::Region}-x"},
        "D": {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, [1, 2]]},
        "E": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Param"}, ""]}]},
        "F": {"Fn::Join": [",", ["a", "b"]]},
        "G": {"Condition": "Cond"},
    }


def test_definition_is_the_deployed_file_with_the_substitutions():
    engine = LocalEngine(parameter_overrides={"PollIntervalSeconds": "7", "EventBusName": "bus-x"})
    text = ASL_FILE.read_text()
    expected = {
        "ValidateRequestFunctionArn": LAMBDA_ARN.format("ValidateRequestFunction"),
        "CreateSessionFunctionArn": LAMBDA_ARN.format("CreateSessionFunction"),
        "PollSessionFunctionArn": LAMBDA_ARN.format("PollSessionFunction"),
        "DeleteSessionFunctionArn": LAMBDA_ARN.format("DeleteSessionFunction"),
        "DescribeFailureFunctionArn": LAMBDA_ARN.format("DescribeFailureFunction"),
        "EventBusName": "bus-x",
        "EventSource": "nimble.streaming-sessions",
        "PollInitialWaitSeconds": "60",
        "PollIntervalSeconds": "7",
        "PollChecksPerInvocation": "12",
        "PollBudgetSeconds": "1800",
    }
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == set(expected)
    for name, value in expected.items():
        text = text.replace("${" + name + "}", value)
    assert engine.definition == text
    states = json.loads(engine.definition)["States"]
    assert states["CreateSession"]["Resource"] == LAMBDA_ARN.format("CreateSessionFunction")
    assert states["PublishReady"]["Parameters"]["Entries"][0]["EventBusName"] == "bus-x"
    assert engine.event_bus_name == "bus-x"
    assert engine.state_machine_arn == (
        "arn:aws:states:us-east-1:123456789012:stateMachine:nimble-local-provision-session"
    )


def test_environment_resolves_globals_conditions_and_overrides():
    engine = LocalEngine()
    environment = engine.handler_environment("ApiFunction")
    assert "AWS_ENDPOINT_URL_NIMBLE" not in environment  # !If [HasNimbleEndpoint, ..., AWS::NoValue]
    assert environment["POWERTOOLS_SERVICE_NAME"] == "nimble-session-provisioning"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert environment["STATE_MACHINE_ARN"] == engine.state_machine_arn  # ApiFunction's !Ref
    assert environment["AWS_REGION"] == "us-east-1"

    engine = LocalEngine(
        parameter_overrides={"NimbleEndpointUrl": "http://127.0.0.1:9", "LogLevel": "DEBUG"},
        environment={"POWERTOOLS_LOG_LEVEL": "ERROR", "EXTRA": "1"},
    )
    environment = engine.handler_environment("ApiFunction")
    assert environment["AWS_ENDPOINT_URL_NIMBLE"] == "http://127.0.0.1:9"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "ERROR"  # the caller wins
    assert environment["EXTRA"] == "1"


def test_functions_come_from_the_template():
    engine = LocalEngine()
    poll = engine.functions["PollSessionFunction"]
    assert poll.handler == "session_provisioning.handlers.poll_session.lambda_handler"
    assert poll.arn == LAMBDA_ARN.format("PollSessionFunction")
    assert poll.timeout == 330  # its own
    assert poll.memory_size == 256  # from Globals
    assert poll.code_dir == REPO_ROOT / "functions"
    assert engine.functions["CreateSessionFunction"].timeout == 30


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"NoSuchParameter": "1"}, "lacks"),
        ({"PollIntervalSeconds": "-1"}, "MinValue"),
        ({"PollChecksPerInvocation": "31"}, "MaxValue"),
        ({"LogLevel": "LOUD"}, "not one of"),
        ({"EventSource": "has space"}, "does not match"),
        ({"PollBudgetSeconds": "soon"}, "not a number"),
    ],
)
def test_parameters_are_checked_like_cloudformation(overrides, message):
    with pytest.raises(EngineError, match=message):
        LocalEngine(parameter_overrides=overrides)


def test_resolver_intrinsics():
    template = {
        "Parameters": {"Name": {"Type": "String", "Default": "x"}, "List": {"Type": "CommaDelimitedList", "Default": "a,b"}},
        "Conditions": {"IsX": {"Fn::Equals": [{"Ref": "Name"}, "x"]}, "NotX": {"Fn::Not": [{"Condition": "IsX"}]}},
        "Resources": {"Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": {"Ref": "Name"}}}},
    }  # fmt: skip
    resolver = TemplateResolver(template, stack_name="stack")
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Name}-${!Literal}"}) == "stack-x-${Literal}"
    assert resolver.resolve({"Fn::Sub": ["${A}/${Bus.Arn}", {"A": {"Ref": "Name"}}]}) == (
        "x/arn:aws:events:us-east-1:123456789012:event-bus/x"
    )
    assert resolver.resolve({"Ref": "List"}) == ["a", "b"]
    assert resolver.resolve({"K": {"Fn::If": ["NotX", "yes", {"Ref": "AWS::NoValue"}]}, "L": [1]}) == {
        "L": [1]
    }
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "p,q"]}]}) == "q"
    with pytest.raises(EngineError):
        resolver.resolve({"Fn::GetAtt": ["Bus", "Nope"]})


def test_summarize_history_counts_states_polls_retries():
    def entered(name: str, kind: str = "Task") -> dict:
        return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}

    def exited(name: str, kind: str = "Task") -> dict:
        return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name}}

    events = [
        {"type": "ExecutionStarted"},
        entered("CreateSession"),
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionFailed"},
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionTimedOut"},
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionSucceeded"},
        exited("CreateSession"),
        entered("PollSession"),
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionSucceeded"},
        exited("PollSession"),
        entered("Route", "Choice"),
        exited("Route", "Choice"),
        entered("PollSession"),
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionFailed"},  # caught: no other attempt, not a retry
        exited("PollSession"),
        entered("Publish"),
        {"type": "TaskScheduled"},
        {"type": "TaskFailed"},
        {"type": "TaskScheduled"},
        {"type": "TaskSucceeded"},
        exited("Publish"),
        entered("Done", "Succeed"),
        {"type": "ExecutionSucceeded"},
    ]
    summary = summarize_history(events)
    assert summary.states == ("CreateSession", "PollSession", "Route", "PollSession", "Publish", "Done")
    assert summary.polls == 2
    assert summary.retries == {"CreateSession": 2, "Publish": 1}
    assert summary.transitions == 6
    assert summary.billable_transitions == 9


def test_lambda_context_looks_like_the_runtime():
    spec = LocalEngine().functions["CreateSessionFunction"]
    context = LambdaContext(spec)
    assert context.function_name == "CreateSessionFunction"
    assert context.function_version == "$LATEST"
    assert context.invoked_function_arn == LAMBDA_ARN.format("CreateSessionFunction")
    assert context.memory_limit_in_mb == "256"
    assert context.log_group_name == "/aws/lambda/CreateSessionFunction"
    assert "[$LATEST]" in context.log_stream_name
    assert context.aws_request_id != LambdaContext(spec).aws_request_id
    assert 29_000 < context.get_remaining_time_in_millis() <= 30_000


# --- with the engine running --------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(emulator):
    """The workers import tests.local.probe first: an event {"probe": ...} looks inside them."""
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url},
        environment=ENVIRONMENT,
        preload=("tests.local.probe",),
    ) as running:
        yield running


def test_moto_runs_the_substituted_definition(engine):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    described = sfn.describe_state_machine(stateMachineArn=engine.state_machine_arn)
    assert described["definition"] == engine.definition
    assert described["type"] == "STANDARD"


def test_handlers_are_loaded_with_the_environment(engine, emulator):
    for logical_id in ("CreateSessionFunction", "PollSessionFunction", "DeleteSessionFunction"):
        state = engine.invoke(logical_id, {"probe": "state"})
        assert state["environ"]["AWS_ENDPOINT_URL_NIMBLE"] == emulator.url
        assert state["client_endpoint"] == emulator.url  # the module's client, built at import
    api = engine.invoke("ApiFunction", {"probe": "state"})["environ"]
    assert api["STATE_MACHINE_ARN"] == engine.state_machine_arn
    # The parent's own environment is left alone.
    assert "AWS_ENDPOINT_URL_NIMBLE" not in os.environ
    assert "STATE_MACHINE_ARN" not in os.environ


def test_invoke_returns_the_payload_or_the_lambda_error(engine):
    ok = engine.invoke("ValidateRequestFunction", validate_event(execution_input("tok", "me")))
    assert ok["request"]["clientToken"] == "tok"
    assert ok["polling"]["maxChecks"] == 4

    with pytest.raises(LambdaInvocationError) as failed:
        engine.invoke("ValidateRequestFunction", validate_event({"studioId": STUDIO}))
    payload = failed.value.payload
    assert payload["errorType"] == "ValidationException"
    assert json.loads(payload["errorMessage"])["fields"] == ["clientToken", "request"]
    assert payload["stackTrace"]
    assert all(isinstance(line, str) for line in payload["stackTrace"])
    with pytest.raises(KeyError):
        engine.invoke("NoSuchFunction", {})


def test_lambda_invoke_through_boto3_is_answered_by_the_workers(engine):
    lam = boto3.client("lambda", region_name="us-east-1")
    good = lam.invoke(
        FunctionName=LAMBDA_ARN.format("ValidateRequestFunction"),
        Payload=json.dumps(validate_event(execution_input("tok", "me"))),
    )
    assert good["StatusCode"] == 200
    assert "FunctionError" not in good
    assert json.load(good["Payload"])["request"]["studioId"] == STUDIO

    bad = lam.invoke(FunctionName="ValidateRequestFunction", Payload=json.dumps(validate_event({})))
    assert bad["FunctionError"] == "Unhandled"
    payload = json.load(bad["Payload"])
    assert set(payload) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert payload["errorType"] == "ValidationException"

    # A function the template does not define is left to moto's Lambda.
    with pytest.raises(ClientError) as unknown:
        lam.invoke(FunctionName=LAMBDA_ARN.format("Elsewhere"), Payload=b"{}")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_handler_slower_than_its_timeout_is_reported_as_lambda_does(engine):
    spec = dataclasses.replace(engine.functions["ValidateRequestFunction"], timeout=0)
    body, failed = call_handler(spec, lambda: lambda event, context: {"ok": True}, {})
    assert failed
    assert json.loads(body)["errorType"] == "Sandbox.Timedout"


def test_nimble_calls_reach_the_emulator_while_aws_is_mocked(engine, emulator):
    before = emulator.backend.call_counts.get("ListStreamingSessions", 0)
    nimble = nimble_client(endpoint_url=emulator.url, region_name="us-east-1")
    assert nimble.list_streaming_sessions(studioId=STUDIO)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert emulator.backend.call_counts["ListStreamingSessions"] == before + 1
    # ... and AWS services are still moto's (the engine's own sink queue is there).
    queues = boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"]
    assert any(url.endswith("/local-engine-event-sink") for url in queues)


@pytest.mark.parametrize("name", ["has space", "a:b", "x" * 81, "semi;colon", "slash/"])
def test_execution_names_are_checked_like_aws(engine, name):
    with pytest.raises(ClientError) as error:
        engine.start_execution(execution_input("tok", "me"), name=name)
    assert error.value.response["Error"]["Code"] == "InvalidName"


def test_only_one_engine_per_process(engine):
    with pytest.raises(EngineError, match="another LocalEngine"):
        LocalEngine().start()
    assert engine.events() is not None  # the running one is untouched


def test_concurrent_start_execution_with_one_name_starts_one_execution(engine):
    """Without the engine's shim, moto 5.2.5 starts duplicates or fails here in ~1 round of 4."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    invalid = {"studioId": STUDIO}  # fails in ValidateRequest: cheap, and no Nimble call
    threads_count, rounds = 12, 20
    for round_ in range(rounds):
        name = f"concurrent-{round_}-{uuid.uuid4().hex[:8]}"
        arns, errors = race(threads_count, lambda name=name: engine.start_execution(invalid, name=name))
        results = arns + errors
        executions = sfn.list_executions(stateMachineArn=engine.state_machine_arn)["executions"]
        same_name = [e["executionArn"] for e in executions if e["name"] == name]
        assert len(same_name) == 1, f"round {round_}: {len(same_name)} executions named {name}"
        assert results == same_name * threads_count, f"round {round_}: {set(results)}"
