"""The template's EventBridge rules as the local stack creates them, and their progress lines."""

from __future__ import annotations

from local.engine import DEFAULT_TEMPLATE, TemplateResolver, load_template
from local.event_targets import rule_targets
from local.progress import describe_invocation


def test_every_eventbridge_rule_of_the_template_becomes_a_target():
    resolver = TemplateResolver(load_template(DEFAULT_TEMPLATE))
    targets = {target.function: target for target in rule_targets(resolver)}

    assert set(targets) == {"ReconcileExecutionFunction", "SessionReadyConsumerFunction"}
    for target in targets.values():
        declared = resolver.resources[target.function]["Properties"]["Events"][target.event]["Properties"]
        assert target.pattern == resolver.resolve(declared["Pattern"])
        assert (target.max_retries, target.max_age) == (2, 3600)
    reconciler, consumer = targets["ReconcileExecutionFunction"], targets["SessionReadyConsumerFunction"]
    assert reconciler.bus == "default"
    assert reconciler.pattern["detail"]["stateMachineArn"] == [
        resolver.state_machine_arn("ProvisioningStateMachine")
    ]
    assert reconciler.on_failure == reconciler.dead_letter == "ReconcileExecutionDeadLetterQueue"
    assert consumer.bus == resolver.event_bus_name("EventBus")
    assert consumer.on_failure == consumer.dead_letter == "SessionReadyConsumerDeadLetterQueue"


def test_queue_arns_resolve_like_cloudformation():
    resolver = TemplateResolver(load_template(DEFAULT_TEMPLATE))
    assert resolver.resolve({"Fn::GetAtt": ["ReconcileExecutionDeadLetterQueue", "Arn"]}) == (
        "arn:aws:sqs:us-east-1:123456789012:ReconcileExecutionDeadLetterQueue"
    )
    assert resolver.resolve({"Fn::GetAtt": ["ReconcileExecutionDeadLetterQueue", "QueueName"]}) == (
        "ReconcileExecutionDeadLetterQueue"
    )


def test_invocation_lines():
    status_change = {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"name": "req-1", "status": "ABORTED"},
    }
    line = describe_invocation(
        {
            "function": "ReconcileExecutionFunction",
            "event": status_change,
            "attempt": 1,
            "failed": False,
            "response": {"action": "ANNOUNCED", "reason": "stopped"},
            "lastAttempt": True,
        }
    )
    assert line.endswith(
        "req-1  target    ReconcileExecutionFunction (ABORTED, attempt 1): ANNOUNCED (stopped)"
    )
    failed = describe_invocation(
        {
            "function": "SessionReadyConsumerFunction",
            "event": {"detail-type": "Streaming Session Ready", "detail": {"requestId": "req-2"}},
            "attempt": 3,
            "failed": True,
            "response": {"errorType": "ValidationError", "errorMessage": "bad"},
            "lastAttempt": True,
        }
    )
    assert failed.endswith(
        "(Streaming Session Ready, attempt 3): error ValidationError: bad (to its dead-letter queue)"
    )
