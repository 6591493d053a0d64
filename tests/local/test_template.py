"""local/template.py and local/plan.py: the template read and resolved like CloudFormation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local.engine import REPO_ROOT, EngineError, LocalEngine, TemplateResolver, load_template

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
ASL_FILE = REPO_ROOT / "statemachine" / "provision_session.asl.json"


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
        "ReserveCallSlotsFunctionArn": LAMBDA_ARN.format("ReserveCallSlotsFunction"),
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
        "ReadyByLeadSeconds": "900",
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
