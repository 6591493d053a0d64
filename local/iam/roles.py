"""The template's execution roles as SAM renders them, every intrinsic resolved.

For each function (``AWS::Serverless::Function`` without a ``Role``) and the state machine,
:func:`render_roles` builds what ``sam deploy`` would create: a role ``<LogicalId>Role``
trusted by ``lambda.amazonaws.com`` / ``states.amazonaws.com``, with

* the managed policies SAM attaches: ``AWSLambdaBasicExecutionRole`` for every function,
  ``AWSXrayWriteOnlyAccess`` when tracing is on (``Tracing: Active``; state machine
  ``Tracing.Enabled``); their documents come from moto's copy of AWS's managed policies;
* ``EventInvokeConfig`` destinations: ``sqs:SendMessage`` / ``sns:Publish`` /
  ``lambda:InvokeFunction`` / ``events:PutEvents`` on the destination;
* each ``Policies`` entry: a managed policy name or ARN, an inline document (``Statement``),
  or one of SAM's policy templates (:data:`POLICY_TEMPLATES`, the ones the template uses,
  written as SAM's ``policy_templates.json`` defines them).

``tests/infrastructure/test_iam_roles.py`` runs the real SAM translator on the template and
checks that this rendering is the same, document for document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from local.template import FUNCTION_TYPES, PARTITION, STATE_MACHINE_TYPES, EngineError, TemplateResolver

__all__ = ["POLICY_TEMPLATES", "Role", "managed_policy_document", "render_roles", "sam_policy_documents"]

_ARN_PREFIX = "arn:${AWS::Partition}"
#: SAM policy template -> (its parameter, the SAM variable, actions, resource in Fn::Sub form).
POLICY_TEMPLATES: dict[str, tuple[str, str, str | list[str], str]] = {
    "LambdaInvokePolicy": (
        "FunctionName",
        "functionName",
        ["lambda:InvokeFunction"],
        _ARN_PREFIX + ":lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*",
    ),
    "StepFunctionsExecutionPolicy": (
        "StateMachineName",
        "stateMachineName",
        ["states:StartExecution"],
        _ARN_PREFIX + ":states:${AWS::Region}:${AWS::AccountId}:stateMachine:${stateMachineName}",
    ),
    "EventBridgePutEventsPolicy": (
        "EventBusName",
        "eventBusName",
        "events:PutEvents",  # a string in SAM's template, a list in the others
        _ARN_PREFIX + ":events:${AWS::Region}:${AWS::AccountId}:event-bus/${eventBusName}",
    ),
}
_DESTINATION_ACTIONS = {
    "SQS": "sqs:SendMessage",
    "SNS": "sns:Publish",
    "Lambda": "lambda:InvokeFunction",
    "EventBridge": "events:PutEvents",
}
_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
_XRAY_WRITE = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"


@dataclass(frozen=True)
class Role:
    """One execution role: who has it (``owner``, a logical id) and its policy documents."""

    owner: str
    logical_id: str
    name: str
    arn: str
    service: str  # the trusted service principal
    managed_policy_arns: tuple[str, ...]
    inline_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # resolved

    @property
    def trust_policy(self) -> dict[str, Any]:
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": [self.service]},
            "Action": ["sts:AssumeRole"],
        }
        return {"Version": "2012-10-17", "Statement": [statement]}

    def documents(self) -> list[dict[str, Any]]:
        """Every policy document of the role: the managed ones', then the inline ones."""
        return [managed_policy_document(arn) for arn in self.managed_policy_arns] + list(
            self.inline_policies.values()
        )


@lru_cache(maxsize=1)
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def managed_policy_document(arn: str) -> dict[str, Any]:
    """An AWS managed policy's document, from moto's copy of AWS's (by ARN)."""
    name = arn.rsplit("/", 1)[-1]
    policy = _aws_managed_policies().get(name)
    if policy is None or not arn.startswith(f"arn:{PARTITION}:iam::aws:policy/"):
        raise EngineError(f"unknown AWS managed policy {arn} (customer managed policies are not supported)")
    return policy["Document"]


def _tracing_on(resolver: TemplateResolver, logical_id: str, kind: str) -> bool:
    if kind in FUNCTION_TYPES:
        return resolver.function_property(logical_id, "Tracing") == "Active"
    tracing = (resolver.resources[logical_id].get("Properties") or {}).get("Tracing") or {}
    return bool(resolver.resolve(tracing.get("Enabled", False)))


def sam_policy_documents(logical_id: str, properties: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """SAM's rendering of a function's or state machine's policies, intrinsics unresolved:
    (managed policy ARNs or names, {policy name: document})."""
    managed: list[Any] = []
    inline: dict[str, Any] = {}
    destinations = ((properties.get("EventInvokeConfig") or {}).get("DestinationConfig")) or {}
    for when in ("OnSuccess", "OnFailure"):
        destination = destinations.get(when)
        if destination and destination.get("Type") in _DESTINATION_ACTIONS:
            statement = {
                "Action": _DESTINATION_ACTIONS[destination["Type"]],
                "Effect": "Allow",
                "Resource": destination["Destination"],
            }
            kind = destination["Type"]
            inline[f"{logical_id}EventInvokeConfig{when}{kind}Policy"] = {"Statement": [statement]}
    policies = properties.get("Policies") or []
    if isinstance(policies, (str, dict)):
        policies = [policies]
    for index, policy in enumerate(policies):
        name = f"{logical_id}RolePolicy{index}"
        if isinstance(policy, str):
            managed.append(policy if policy.startswith("arn:") else f"arn:aws:iam::aws:policy/{policy}")
        elif isinstance(policy, dict) and "Statement" in policy:
            inline[name] = policy
        elif isinstance(policy, dict) and len(policy) == 1 and next(iter(policy)) in POLICY_TEMPLATES:
            template, arguments = next(iter(policy.items()))
            parameter, variable, actions, resource = POLICY_TEMPLATES[template]
            statement = {
                "Action": actions,
                "Effect": "Allow",
                "Resource": {"Fn::Sub": [resource, {variable: (arguments or {})[parameter]}]},
            }
            inline[name] = {"Statement": [statement]}
        else:
            raise EngineError(f"{logical_id}: policy {policy!r} is not supported locally")
    return managed, inline


class _RoleResolver(TemplateResolver):
    """The template's resolver, plus the ARNs of the resources roles point at (queues, topics)."""

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self._resource_type(logical_id)
        service = {"AWS::SQS::Queue": "sqs", "AWS::SNS::Topic": "sns"}.get(kind)
        if service and attribute == "Arn":
            return f"arn:{PARTITION}:{service}:{self.region}:{self.account_id}:{logical_id}"
        return super().get_att(logical_id, attribute)


def render_roles(resolver: TemplateResolver) -> dict[str, Role]:
    """Each function's and state machine's role, by the owner's logical id."""
    roles_resolver = _RoleResolver(resolver.template, resolver.parameters, stack_name=resolver.stack_name)
    roles: dict[str, Role] = {}
    for owner in resolver.logical_ids(FUNCTION_TYPES | STATE_MACHINE_TYPES):
        resource = resolver.resources[owner]
        kind = str(resource.get("Type"))
        properties = resource.get("Properties") or {}
        if "Role" in properties or not kind.startswith("AWS::Serverless::"):
            raise EngineError(f"{owner}: only SAM-made roles are supported locally")
        managed, inline = sam_policy_documents(owner, properties)
        is_function = kind in FUNCTION_TYPES
        arns = ([_BASIC_EXECUTION] if is_function else []) + managed
        if _tracing_on(resolver, owner, kind):
            arns.append(_XRAY_WRITE)
        logical_id = f"{owner}Role"
        name = f"{resolver.stack_name}-{logical_id}"[:64]
        roles[owner] = Role(
            owner=owner,
            logical_id=logical_id,
            name=name,
            arn=f"arn:{PARTITION}:iam::{resolver.account_id}:role/{name}",
            service="lambda.amazonaws.com" if is_function else "states.amazonaws.com",
            managed_policy_arns=tuple(roles_resolver.resolve(arns)),
            inline_policies={key: roles_resolver.resolve(doc) for key, doc in inline.items()},
        )
    return roles
