"""IAM's documented evaluation rules for identity policies, against local.iam.evaluator."""

from __future__ import annotations

import pytest

from local.iam.evaluator import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, evaluate, matches

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:machine"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_default_deny() -> None:
    assert evaluate([], "states:StartExecution", ARN).reason == IMPLICIT_DENY
    assert (
        evaluate([policy(allow("states:DescribeExecution"))], "states:StartExecution", ARN).reason
        == IMPLICIT_DENY
    )


def test_an_allow_allows() -> None:
    assert evaluate([policy(allow("states:StartExecution", ARN))], "states:StartExecution", ARN).allowed


def test_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    policies = [policy(allow("*")), policy(deny("states:Start*", ARN))]
    assert evaluate(policies, "states:StartExecution", ARN).reason == EXPLICIT_DENY
    assert evaluate(list(reversed(policies)), "states:StartExecution", ARN).reason == EXPLICIT_DENY


def test_actions_match_case_insensitively_resources_do_not() -> None:
    assert evaluate([policy(allow("STATES:startexecution", ARN))], "states:StartExecution", ARN).allowed
    assert not evaluate(
        [policy(allow("states:StartExecution", ARN.upper()))], "states:StartExecution", ARN
    ).allowed


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:states:*:*:stateMachine:*", ARN, True),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:mach?ne", ARN, True),
        ("arn:aws:states:us-east-1:123456789012:stateMachine:mach?", ARN, False),
        (
            "arn:aws:lambda:us-east-1:1:function:Create*",
            "arn:aws:lambda:us-east-1:1:function:CreateX:$LATEST",
            True,
        ),
        ("arn:aws:nimble:*:*:streaming-session/*", "arn:aws:nimble:r:1:launch-profile/x", False),
        ("*", "anything:at/all", True),
        ("a.b", "axb", False),  # regex characters are literal
    ],
)
def test_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_action_wildcards() -> None:
    policies = [policy(allow("nimble:Get*"), allow("ec2:?eleteNetworkInterface"))]
    assert evaluate(policies, "nimble:GetStreamingSession", "*").allowed
    assert evaluate(policies, "ec2:DeleteNetworkInterface", "*").allowed
    assert not evaluate(policies, "nimble:DeleteStreamingSession", "*").allowed


def test_not_action_and_not_resource() -> None:
    everything_but = policy({"Effect": "Allow", "NotAction": "nimble:Delete*", "Resource": "*"})
    assert evaluate([everything_but], "nimble:GetStreamingSession", "x").allowed
    assert not evaluate([everything_but], "nimble:DeleteStreamingSession", "x").allowed
    elsewhere = policy({"Effect": "Allow", "Action": "*", "NotResource": ARN})
    assert not evaluate([elsewhere], "states:StartExecution", ARN).allowed
    assert evaluate([elsewhere], "states:StartExecution", ARN + "2").allowed
    deny_elsewhere = [policy(allow("*")), policy({"Effect": "Deny", "Action": "*", "NotResource": ARN})]
    assert evaluate(deny_elsewhere, "states:StartExecution", ARN).allowed
    assert evaluate(deny_elsewhere, "states:StartExecution", "other").reason == EXPLICIT_DENY


def test_lists_and_single_statement_objects() -> None:
    single = {"Statement": allow(["states:StartExecution", "states:DescribeExecution"], [ARN, "other"])}
    assert evaluate([single], "states:DescribeExecution", "other").reason == ALLOWED


def test_conditions_are_not_evaluated_allow_grants_nothing_deny_applies() -> None:
    condition = {"Bool": {"aws:SecureTransport": "true"}}
    assert not evaluate([policy(allow("*", Condition=condition))], "states:StartExecution", ARN).allowed
    policies = [policy(allow("*"), deny("*", Condition=condition))]
    assert evaluate(policies, "states:StartExecution", ARN).reason == EXPLICIT_DENY


def test_a_statement_without_action_or_resource_grants_nothing() -> None:
    assert not evaluate([policy({"Effect": "Allow", "Resource": "*"})], "states:StartExecution", ARN).allowed
    assert not evaluate([policy({"Effect": "Allow", "Action": "*"})], "states:StartExecution", ARN).allowed
