"""What CloudFormation really gets: template.yaml through the SAM transform (aws-sam-translator
of the SAM CLI's environment, .venv-sam, which `make test` always has).

Some SAM properties are dropped without a word when they hold something SAM cannot resolve at
transform time: the API's DefaultAuthorizer held an !If once, and every method was open.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from typing import Any

import pytest

from .conftest import ROOT

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
SCRIPT = ROOT / "tests" / "infrastructure" / "sam_transform.py"
#: What Step Functions needs to deliver logs: these actions take no resource ARN.
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}

pytestmark = pytest.mark.skipif(not SAM_PYTHON.exists(), reason=".venv-sam is missing (make test creates it)")


@functools.cache
def transformed(parameters: str = "{}") -> dict[str, Any]:
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    completed = subprocess.run(
        [str(SAM_PYTHON), str(SCRIPT), str(ROOT / "template.yaml"), parameters],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=environment,
        cwd=ROOT,
    )
    return json.loads(completed.stdout)["Resources"]


def methods(resources: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    body = resources["ProvisioningApi"]["Properties"]["Body"]
    return {
        (path, method): operation
        for path, item in body["paths"].items()
        for method, operation in item.items()
    }


def test_every_method_requires_sigv4_by_default():
    resources = transformed()
    operations = methods(resources)
    assert len(operations) == 5  # POST, GET, DELETE and the two ANY (JSON 405) methods
    for key, operation in operations.items():
        assert operation.get("security") == [{"AWS_IAM": []}], key
    scheme = resources["ProvisioningApi"]["Properties"]["Body"]["components"]["securitySchemes"]["AWS_IAM"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_api_auth_none_opens_every_method():
    for key, operation in methods(transformed(json.dumps({"ApiAuthType": "NONE"}))).items():
        assert "security" not in operation, key


def test_one_stage_with_access_log_tracing_and_throttling():
    resources = transformed()
    stages = {name: res for name, res in resources.items() if res["Type"] == "AWS::ApiGateway::Stage"}
    assert list(stages) == ["ProvisioningApiStage"]
    for deployment in (res for res in resources.values() if res["Type"] == "AWS::ApiGateway::Deployment"):
        assert "StageName" not in deployment["Properties"]  # no extra "Stage" stage
    stage = stages["ProvisioningApiStage"]["Properties"]
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}


def test_functions_log_to_their_groups_and_trace():
    resources = transformed()
    functions = {name: res for name, res in resources.items() if res["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 9
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["LoggingConfig"] == {"LogGroup": {"Ref": f"{name}LogGroup"}}, name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name


def test_state_machine_traces_and_logs_without_execution_data():
    properties = transformed()["ProvisioningStateMachine"]["Properties"]
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False


def test_consumer_rule_target_has_retries_and_dead_letters():
    resources = transformed()
    (target,) = resources["SessionReadyConsumerFunctionSessionReady"]["Properties"]["Targets"]
    queue = {"Fn::GetAtt": ["SessionReadyConsumerDeadLetterQueue", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": queue}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    invoke_config = resources["SessionReadyConsumerFunctionEventInvokeConfig"]["Properties"]
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == queue
    # SAM grants the function sqs:SendMessage on that queue only, for the on-failure destination.
    role = resources["SessionReadyConsumerFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": queue}]


def test_no_generated_role_grants_a_wildcard_but_log_delivery():
    for name, resource in transformed().items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert not any(action == "*" or action.endswith(":*") for action in actions), (name, actions)
                if statement["Resource"] == "*":
                    assert name == "ProvisioningStateMachineRole", name
                    assert set(actions) <= LOG_DELIVERY, actions
