"""Production settings of template.yaml that no linter checks for us: least privilege, logs
with retention and without bodies, tracing, throttling, alarms, the archive, the consumer's
failure handling; a reason beside every linter skip (in .checkov.yaml and .cfnlintrc.yaml) and
the resources it covers; and no block the template repeats."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

FUNCTION = "AWS::Serverless::Function"
ARN_PREFIX = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:"


def functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources.items() if res["Type"] == FUNCTION}


def inline_statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    for policy in properties.get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            statements.extend(policy["Statement"])
    return statements


def sub_text(value: Any) -> str:
    """The string of a plain value or a !Sub."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
    assert isinstance(value, str), value
    return value


# --- security -------------------------------------------------------------------------------------


def test_api_requires_iam_by_default_and_is_throttled(template, resources):
    assert template["Parameters"]["ApiAuthType"]["Default"] == "AWS_IAM"
    api = resources["ProvisioningApi"]["Properties"]
    # SAM resolves a parameter Ref in Auth, and silently drops anything else (an !If included).
    assert api["Auth"]["DefaultAuthorizer"] == {"Ref": "ApiAuthType"}
    (settings,) = api["MethodSettings"]
    assert settings["ResourcePath"] == "/*"
    assert settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert settings["DataTraceEnabled"] is False  # no request/response bodies in execution logs
    assert settings["LoggingLevel"] == "OFF"
    assert "OpenApiVersion" in api  # no extra, unconfigured "Stage" stage


NIMBLE_GRANTS = {
    "CreateSessionFunction": ("nimble:CreateStreamingSession", "launch-profile/*"),
    "PollSessionFunction": ("nimble:GetStreamingSession", "streaming-session/*"),
    "DeleteSessionFunction": ("nimble:DeleteStreamingSession", "streaming-session/*"),
}


@pytest.mark.parametrize("name", NIMBLE_GRANTS)
def test_nimble_grants_name_their_resource_type_in_this_account_and_region(resources, name):
    action, resource = NIMBLE_GRANTS[name]
    # The called action's statement (the dependent actions' grants are checked against the
    # reference in test_iam_roles.py).
    (statement,) = [
        statement
        for statement in inline_statements(resources[name]["Properties"])
        if action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert statement["Effect"] == "Allow"
    assert sub_text(statement["Resource"]) == ARN_PREFIX.replace("{service}", "nimble") + resource


def test_no_wildcard_resource_but_the_log_delivery_actions(resources):
    wildcard = []
    for name, resource in resources.items():
        if resource["Type"] not in (FUNCTION, "AWS::Serverless::StateMachine"):
            continue
        for statement in inline_statements(resource["Properties"]):
            targets = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for target in targets:
                if isinstance(target, dict) and "Fn::GetAtt" in target:
                    # One of this stack's own resources (the call schedule's table).
                    assert target["Fn::GetAtt"][0] in resources, (name, target)
                    continue
                text = target if isinstance(target, str) else sub_text(target)
                if text == "*":
                    wildcard.append((name, tuple(sorted(statement["Action"]))))
                else:
                    assert ":${AWS::AccountId}:" in text, (name, text)
    # Step Functions' log delivery actions have no resource-level permissions.
    assert wildcard == [
        (
            "ProvisioningStateMachine",
            tuple(
                sorted(
                    f"logs:{action}"
                    for action in (
                        "CreateLogDelivery",
                        "GetLogDelivery",
                        "UpdateLogDelivery",
                        "DeleteLogDelivery",
                        "ListLogDeliveries",
                        "PutResourcePolicy",
                        "DescribeResourcePolicies",
                        "DescribeLogGroups",
                    )
                )
            ),
        )
    ]


def test_api_function_starts_and_reads_executions_of_its_state_machine_only(resources):
    properties = resources["ApiFunction"]["Properties"]
    templates = [policy for policy in properties["Policies"] if "StepFunctionsExecutionPolicy" in policy]
    assert templates == [
        {
            "StepFunctionsExecutionPolicy": {
                "StateMachineName": {"Fn::GetAtt": ["ProvisioningStateMachine", "Name"]}
            }
        }
    ]
    describe, cancel = inline_statements(properties)
    assert describe["Action"] == "states:DescribeExecution"
    assert sub_text(describe["Resource"]).endswith(":execution:${ProvisioningStateMachine.Name}:*")
    # The cancel: stop an execution of this machine, and read its history to tell CANCELLED from READY.
    assert sorted(cancel["Action"]) == ["states:GetExecutionHistory", "states:StopExecution"]
    assert sub_text(cancel["Resource"]).endswith(":execution:${ProvisioningStateMachine.Name}:*")


def test_state_machine_puts_events_on_its_bus_only(resources):
    policies = resources["ProvisioningStateMachine"]["Properties"]["Policies"]
    event_policies = [policy for policy in policies if "EventBridgePutEventsPolicy" in policy]
    assert event_policies == [{"EventBridgePutEventsPolicy": {"EventBusName": {"Ref": "EventBus"}}}]


def test_dead_letter_queue_takes_messages_from_rules_of_our_bus_over_tls(resources):
    statements = resources["SessionReadyConsumerDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    allow, deny = statements
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert sub_text(allow["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":rule/${EventBus}/*")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- logs -----------------------------------------------------------------------------------------


def test_every_function_writes_to_its_own_log_group_with_retention(resources):
    for name, resource in functions(resources).items():
        reference = resource["Properties"]["LoggingConfig"]["LogGroup"]
        assert reference == {"Ref": f"{name}LogGroup"}, name
        group = resources[f"{name}LogGroup"]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        assert sub_text(group["Properties"]["LogGroupName"]) == f"/aws/lambda/${{AWS::StackName}}/{name}"


def test_every_log_group_has_the_retention_parameter(resources):
    groups = {name: res for name, res in resources.items() if res["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == len(functions(resources)) + 2  # + API access log + state machine
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, name


def test_access_log_is_json_with_who_what_and_how_long_but_no_body(resources):
    setting = resources["ProvisioningApi"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    text = setting["Format"]
    # $context.error.messageString is already quoted; API Gateway writes "-" for a missing value.
    record = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "0", text))
    assert {"requestId", "ip", "caller", "method", "path", "status", "latency"} <= record.keys()
    variables = set(re.findall(r"\$context\.([A-Za-z.]+)", text))
    assert {"requestId", "identity.sourceIp", "identity.caller", "httpMethod", "path", "status"} <= variables
    assert not any("body" in v.lower() or "header" in v.lower() for v in variables)
    assert "$input" not in text
    assert "$method" not in text


def test_state_machine_logs_without_execution_data(template, resources):
    logging_ = resources["ProvisioningStateMachine"]["Properties"]["Logging"]
    assert logging_["IncludeExecutionData"] is False
    assert logging_["Level"] == {"Ref": "StateMachineLogLevel"}
    assert template["Parameters"]["StateMachineLogLevel"]["Default"] == "ERROR"
    (destination,) = logging_["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["StateMachineLogGroup", "Arn"]
    }
    name = sub_text(resources["StateMachineLogGroup"]["Properties"]["LogGroupName"])
    assert name.startswith("/aws/vendedlogs/states/")


#: What handlers may name in a log line: identifiers, states and outcomes, never a body, the
#: request's tags or owner-supplied values other than ids, nor a whole session.
LOGGABLE = {
    "requestId", "studioId", "sessionId", "launchProfileId", "ownedBy", "eventId", "replayName",
    "state", "outcome", "checks", "action", "code", "step", "status", "statusCode", "httpMethod",
    "resource", "tokenGenerated", "stateMachineArn", "cause", "secondsToReady", "eventAgeSeconds",
    "executionArn", "swept", "settled", "reconciled", "leftAlone", "deferred", "failed",
    "createAt", "firstPollAt", "nextPollAt",  # slots of the call schedule: times, nobody's data
    "attempt", "ec2InstanceType",
}  # fmt: skip
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def log_calls(path: Path) -> list[tuple[int, set[str] | None, list[ast.expr]]]:
    """(line, keys of extra= or None when not a dict literal, positional args) of logger.* calls."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "logger"
        ):
            extra = next((kw.value for kw in node.keywords if kw.arg == "extra"), None)
            keys = None
            if isinstance(extra, ast.Dict):
                keys = {k.value for k in extra.keys if isinstance(k, ast.Constant)}
            elif extra is None:
                keys = set()
            calls.append((node.lineno, keys, node.args))
    return calls


HANDLER_SOURCES = sorted((ROOT / "functions" / "session_provisioning").rglob("*.py"))


@pytest.mark.parametrize("path", HANDLER_SOURCES, ids=lambda p: str(p.relative_to(ROOT / "functions")))
def test_log_calls_name_ids_not_bodies(path):
    for line, keys, args in log_calls(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        assert keys is not None, f"{where}: extra= must be a dict literal, so its keys can be reviewed"
        assert keys <= LOGGABLE, (
            f"{where} logs {sorted(keys - LOGGABLE)}: logs carry ids, never bodies or tags. "
            "If the new key is an id, add it to LOGGABLE in tests/infrastructure/test_template.py."
        )
        assert len(args) == 1, f"{where}: one message, the values go in extra="
        assert isinstance(args[0], ast.Constant), f"{where}: the message must be a constant"


def test_no_handler_logs_its_event(template, resources):
    source = "\n".join(path.read_text(encoding="utf-8") for path in HANDLER_SOURCES)
    assert "log_event=True" not in source
    variables = json.dumps(template["Globals"]) + json.dumps(resources)
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in variables


# --- observability ----------------------------------------------------------------------------------


def test_tracing_everywhere(template, resources):
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    for name, resource in functions(resources).items():
        assert resource["Properties"].get("Tracing", "Active") == "Active", name
    assert resources["ProvisioningApi"]["Properties"]["TracingEnabled"] is True
    assert resources["ProvisioningStateMachine"]["Properties"]["Tracing"] == {"Enabled": True}


def test_handlers_emit_the_documented_metrics():
    handlers = ROOT / "functions" / "session_provisioning" / "handlers"
    source = "\n".join(path.read_text(encoding="utf-8") for path in handlers.glob("*.py"))
    names = set(re.findall(r"""name=["'](\w+)["']""", source))
    assert {
        "RequestsAccepted",
        "SessionsRequested",
        "SessionChecks",
        "SessionsReady",
        "PollsPerSession",
        "TimeToReady",
        "SessionsFailed",
        "ReadyEventsConsumed",
        "ReadyEventAge",
        "ReadyEventsReplayed",
        "SessionsCancelled",
        "ExecutionsSwept",
        "ExecutionsReconciledBySweep",
    } <= names
    assert 'add_dimension(name="ErrorCode"' in source


# --- operations -------------------------------------------------------------------------------------


def alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_alarms_watch_executions_the_api_throttles_and_dead_letters(resources):
    watched = {}
    for name, alarm in alarms(resources).items():
        if "MetricName" in alarm:
            watched[(alarm["Namespace"], alarm["MetricName"])] = name
        else:
            metrics = {q["MetricStat"]["Metric"]["MetricName"] for q in alarm["Metrics"] if "MetricStat" in q}
            watched.update({("AWS/Lambda", metric): name for metric in metrics})
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]
        }
        assert alarm["TreatMissingData"] == "notBreaching"
    assert {
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= watched.keys()
    api_alarm = alarms(resources)[watched[("AWS/ApiGateway", "5XXError")]]
    assert {d["Name"]: d["Value"] for d in api_alarm["Dimensions"]} == {
        "ApiName": resources["ProvisioningApi"]["Properties"]["Name"],
        "Stage": {"Ref": "StageName"},
    }


def test_throttle_alarm_sums_every_function(resources):
    alarm = alarms(resources)["LambdaThrottlesAlarm"]
    watched = {
        q["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for q in alarm["Metrics"]
        if "MetricStat" in q
    }
    assert watched == set(functions(resources))
    (expression,) = [q for q in alarm["Metrics"] if "Expression" in q]
    ids = {q["Id"] for q in alarm["Metrics"] if "MetricStat" in q}
    assert set(re.findall(r"\w+", expression["Expression"])) - {"SUM"} == ids


def test_alarm_email_is_optional(template, resources):
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert resources["AlarmTopic"]["Condition"] == "HasAlarmEmail"
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_bus_is_archived_for_replay(resources):
    archive = resources["EventArchive"]["Properties"]
    assert archive["SourceArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert archive["RetentionDays"] == {"Ref": "EventArchiveRetentionDays"}


def test_consumer_rule_matches_ready_events_of_our_source_with_retries_and_dead_letters(resources):
    properties = resources["SessionReadyConsumerFunction"]["Properties"]
    rule = properties["Events"]["SessionReady"]
    assert rule["Type"] == "EventBridgeRule"
    rule = rule["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["Pattern"] == {"source": [{"Ref": "EventSource"}], "detail-type": ["Streaming Session Ready"]}
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue = {"Fn::GetAtt": ["SessionReadyConsumerDeadLetterQueue", "Arn"]}
    assert rule["DeadLetterConfig"] == {"Arn": queue}
    on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": queue}
    handler = properties["Handler"]
    assert handler == "session_provisioning.handlers.session_ready_consumer.lambda_handler"


def test_api_gateway_account_settings_are_optional_kept_and_made_before_the_stage(resources):
    for name in ("ApiGatewayCloudWatchRole", "ApiGatewayAccount"):
        assert resources[name]["Condition"] == "CreateApiGatewayAccount"
        assert resources[name]["DeletionPolicy"] == "Retain"
    # stage -> (AccessLogSetting GetAtt) access log group -> (tag Ref) account settings
    tags = resources["ApiAccessLogGroup"]["Properties"]["Tags"]
    assert {"Fn::If": ["CreateApiGatewayAccount", {"Ref": "ApiGatewayAccount"}, "existing"]} in [
        tag["Value"] for tag in tags
    ]


# --- linter skips -----------------------------------------------------------------------------------

CHECKOV_CONFIG = ROOT / ".checkov.yaml"
CFN_LINT_CONFIG = ROOT / ".cfnlintrc.yaml"
STACK_FUNCTIONS = (
    "ApiFunction",
    "ValidateRequestFunction",
    "ReserveCallSlotsFunction",
    "CreateSessionFunction",
    "PollSessionFunction",
    "DeleteSessionFunction",
    "DescribeFailureFunction",
    "SessionReadyConsumerFunction",
    "ReconcileExecutionFunction",
)
#: The linter configs skip a check for every resource it looks at. Per resource type: the skips
#: that cover it, and the resources their reasons were written for. A new resource of one of
#: these types fails test_skips_cover_the_resources_their_reasons_name: read the reasons in
#: .checkov.yaml / .cfnlintrc.yaml, and add it here only if they hold for it too.
SKIPPED = {
    FUNCTION: ({"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "WS1004"}, set(STACK_FUNCTIONS)),
    "AWS::Logs::LogGroup": (
        {"CKV_AWS_158"},
        {f"{name}LogGroup" for name in STACK_FUNCTIONS} | {"ApiAccessLogGroup", "StateMachineLogGroup"},
    ),
    "AWS::Serverless::Api": ({"CKV_AWS_120"}, {"ProvisioningApi"}),
    "AWS::SQS::Queue": (
        {"CKV_AWS_27", "ES6000"},
        {"SessionReadyConsumerDeadLetterQueue", "ReconcileExecutionDeadLetterQueue"},
    ),
    "AWS::SNS::Topic": ({"CKV_AWS_26"}, {"AlarmTopic"}),
    "AWS::SNS::Subscription": ({"ES7000"}, {"AlarmEmailSubscription"}),
    "AWS::DynamoDB::Table": ({"CKV_AWS_28", "CKV_AWS_119"}, {"AnnouncementsTable", "CallScheduleTable"}),
}


def config_skips(path: Path, key: str) -> dict[str, str]:
    """The ids listed under `key:` in a linter config, each with the comment lines above it."""
    skips, comment, inside = {}, [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not line.startswith(" ") and text:
            inside, comment = line == f"{key}:", []
        elif inside and text.startswith("#"):
            comment.append(text.lstrip("# "))
        elif inside and text.startswith("- "):
            skips[text[2:].strip()] = " ".join(comment)
            comment = []
    return skips


def test_every_checkov_skip_has_a_reason(resources):
    for name, resource in resources.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
            assert len(skip.get("comment", "")) > 40, f"{name}: skip {skip['id']} needs its reason"
    skips = config_skips(CHECKOV_CONFIG, "skip-check")
    assert skips, ".checkov.yaml lists no skip-check"
    for check, reason in skips.items():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), check
        assert len(reason) > 40, f".checkov.yaml: say why above the skip of {check}"


def test_every_cfn_lint_ignore_has_a_reason_beside_it():
    lines = (ROOT / "template.yaml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "ignore_checks:" in line:
            nearby = "\n".join(lines[max(number - 3, 0) : number + 4])
            assert "#" in nearby, f"template.yaml:{number + 1}: say why beside the ignore_checks"
    ignores = config_skips(CFN_LINT_CONFIG, "ignore_checks")
    assert ignores, ".cfnlintrc.yaml lists no ignore_checks"
    for rule, reason in ignores.items():
        assert re.fullmatch(r"[EWI][A-Z]?\d{4}", rule), rule
        assert len(reason) > 40, f".cfnlintrc.yaml: say why above the ignore of {rule}"


def test_config_parser_reads_ids_and_reasons(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "# about\nframework: x\nskip-check:\n  # why one\n  # and more\n  - A\n  - B\nother:\n  - C\n"
    )
    assert config_skips(config, "skip-check") == {"A": "why one and more", "B": ""}


def test_skips_cover_the_resources_their_reasons_name(resources):
    configured = set(config_skips(CHECKOV_CONFIG, "skip-check")) | set(
        config_skips(CFN_LINT_CONFIG, "ignore_checks")
    )
    assert configured == set().union(*(skips for skips, _ in SKIPPED.values())), (
        "every skip of .checkov.yaml and .cfnlintrc.yaml says in SKIPPED which resources it covers"
    )
    for kind, (skips, names) in SKIPPED.items():
        present = {name for name, res in resources.items() if res["Type"] == kind}
        assert present == names, (
            f"{kind}: {sorted(present ^ names)} - {sorted(skips)} are skipped for every {kind}; "
            "check their reasons hold for it, then update SKIPPED"
        )


def test_every_function_is_built_by_the_makefile_and_no_resource_carries_linter_metadata(resources):
    # Skips live in the linters' config files. Every function has the same Metadata: the
    # makefile build (functions/Makefile), which ships unchecked-hash bytecode (README,
    # Performance); a function left to SAM's Python builder would compile at every cold start.
    metadata = {json.dumps(res.get("Metadata"), sort_keys=True) for res in functions(resources).values()}
    assert metadata == {json.dumps({"BuildMethod": "makefile"})}
    assert [
        name for name, res in resources.items() if {"checkov", "cfn-lint"} & set(res.get("Metadata", {}))
    ] == []


# --- no repeated blocks ---------------------------------------------------------------------------

REPEAT = 10


def repeated_runs(text: str, size: int = REPEAT) -> list[tuple[int, int, str]]:
    """Runs of `size` non-blank lines (indentation stripped) that occur twice, without overlap:
    (line of the first, line of the repeat, the run's first line), lines numbered from 1."""
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    first: dict[tuple[str, ...], int] = {}
    repeats = []
    for index in range(len(lines) - size + 1):
        run = tuple(line for _, line in lines[index : index + size])
        seen = first.setdefault(run, index)
        if index - seen >= size:
            repeats.append((lines[seen][0], lines[index][0], run[0]))
    return repeats


def test_repeated_runs_finds_a_repeat_whatever_its_indentation():
    block = "\n".join(f"line {i}" for i in range(REPEAT))
    indented = "\n".join(f"    line {i}" for i in range(REPEAT))
    assert repeated_runs(f"{block}\n\nother\n{indented}\n") == [(1, 13, "line 0")]
    assert repeated_runs(f"{block}\nother\n" + "\n".join(f"line {i}" for i in range(REPEAT - 1))) == []
    # A run that repeats itself right away (eleven equal lines) is not a block repeated twice.
    assert repeated_runs("\n".join(["same"] * (REPEAT + 1))) == []


def test_template_repeats_no_block_of_ten_lines():
    repeats = repeated_runs((ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert repeats == [], (
        f"template.yaml repeats {len(repeats)} runs of {REPEAT} lines, first at lines {repeats[:3]}: "
        "state it once (Globals, the linter configs, a generated block), not per resource"
    )


def test_api_gateways_own_errors_have_the_apis_error_shape(resources):
    responses = resources["ProvisioningApi"]["Properties"]["GatewayResponses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[kind]["ResponseTemplates"]["application/json"]
        # Filled by API Gateway; the shape must be the API's {"code", "message"}.
        rendered = template.replace("$context.error.responseType", "THROTTLED").replace(
            "$context.error.messageString", '"Too Many Requests"'
        )
        assert json.loads(rendered) == {"code": "THROTTLED", "message": "Too Many Requests"}
