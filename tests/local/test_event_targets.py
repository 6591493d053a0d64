"""The template's EventBridge rules as the local stack creates them, and their progress lines."""

from __future__ import annotations

import pytest

from local.engine import DEFAULT_TEMPLATE, EngineError, TemplateResolver, load_template
from local.event_targets import rule_targets, schedule_seconds
from local.progress import describe_invocation


def test_every_eventbridge_rule_of_the_template_becomes_a_target():
    resolver = TemplateResolver(load_template(DEFAULT_TEMPLATE))
    targets = {target.function: target for target in rule_targets(resolver) if target.schedule is None}

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


def test_the_sweep_schedule_becomes_a_scheduled_target_with_the_reconcilers_retries():
    resolver = TemplateResolver(load_template(DEFAULT_TEMPLATE), {"SweepIntervalMinutes": "20"})
    [sweep] = [target for target in rule_targets(resolver) if target.schedule is not None]
    assert (sweep.function, sweep.event, sweep.schedule) == (
        "ReconcileExecutionFunction",
        "Sweep",
        "rate(20 minutes)",
    )
    assert sweep.pattern is None
    assert (sweep.max_retries, sweep.max_age, sweep.on_failure) == (
        2,
        3600,
        "ReconcileExecutionDeadLetterQueue",
    )
    every_minute = TemplateResolver(load_template(DEFAULT_TEMPLATE), {"SweepIntervalMinutes": "1"})
    assert {t.schedule for t in rule_targets(every_minute)} - {None} == {"rate(1 minute)"}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions_give_their_period(expression, seconds):
    assert schedule_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression",
    ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "cron(0 12 * * ? *)", "rate(0.5 hours)"],
)
def test_expressions_aws_refuses_or_the_local_stack_cannot_run_are_refused(expression):
    with pytest.raises(EngineError):
        schedule_seconds(expression)


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
    sweep = describe_invocation(
        {
            "function": "ReconcileExecutionFunction",
            "event": {"id": "ev-1", "detail-type": "Scheduled Event", "detail": {}},
            "attempt": 1,
            "failed": False,
            "response": {"swept": 3, "settled": 2, "reconciled": 1, "failed": []},
            "lastAttempt": True,
        }
    )
    assert sweep.endswith(
        "ev-1  target    ReconcileExecutionFunction (Scheduled Event, attempt 1): swept 3, reconciled 1"
    )
