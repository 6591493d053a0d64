"""Who is calling, and may they: the roles' credentials and one place that decides.

:func:`issue_credentials` creates each role in moto's IAM and assumes it through moto's STS
(the in-process mock must be running), as Lambda and Step Functions do with an execution
role; each :class:`Principal` is the assumed role (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/
SESSION``) with its credentials. :class:`Authority` knows every principal by access key id and
decides each request with :func:`local.iam.evaluator.evaluate`; it keeps every decision
(:attr:`Authority.decisions`) so tests can check what a run needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from local.iam.evaluator import EXPLICIT_DENY, Decision, evaluate
from local.iam.roles import Role

__all__ = [
    "AccessDenied",
    "Authority",
    "Principal",
    "UnknownAccessKey",
    "denial_message",
    "issue_credentials",
]


@dataclass(frozen=True)
class Principal:
    role: Role
    arn: str  # the assumed-role ARN: what AWS names as the caller
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """The credentials as Lambda's runtime gives them to a function."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


#: Who runs the local stack (tests, make run's operator): an administrator of the account.
OPERATOR_ARN = "arn:aws:iam::{account}:user/local-operator"


def operator_principal(access_key_id: str, account: str) -> Principal:
    """The operator's own credentials (this process's): allowed everything, like an admin user."""
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    role = Role(
        owner=f"operator:{access_key_id}",
        logical_id="LocalOperator",
        name="local-operator",
        arn=OPERATOR_ARN.format(account=account),
        service="",
        managed_policy_arns=(),
        inline_policies={"AdministratorAccess": admin},
    )
    return Principal(role, role.arn, access_key_id, "", "")


class UnknownAccessKey(Exception):
    """A request signed with an access key no role was issued (AWS: UnrecognizedClientException)."""


class AccessDenied(Exception):
    def __init__(self, principal: Principal, decision: Decision) -> None:
        super().__init__(denial_message(principal.arn, decision))
        self.principal = principal
        self.decision = decision


def denial_message(principal_arn: str, decision: Decision) -> str:
    """AWS's wording of a refusal by identity policies."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.reason == EXPLICIT_DENY
        else ("because no identity-based policy allows the " + decision.action + " action")
    )
    return (
        f"User: {principal_arn} is not authorized to perform: {decision.action} "
        f"on resource: {decision.resource} {why}"
    )


def issue_credentials(roles: Iterable[Role], region: str) -> list[Principal]:
    """Creates each role in moto's IAM and assumes it through moto's STS (mock running)."""
    import boto3

    iam = boto3.client("iam", region_name=region)
    sts = boto3.client("sts", region_name=region)
    principals = []
    for role in roles:
        iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))
        for name, document in role.inline_policies.items():
            iam.put_role_policy(
                RoleName=role.name,
                PolicyName=name,
                PolicyDocument=json.dumps({"Version": "2012-10-17", **document}),
            )
        assumed = sts.assume_role(RoleArn=role.arn, RoleSessionName=role.owner)
        credentials = assumed["Credentials"]
        principals.append(
            Principal(
                role=role,
                arn=assumed["AssumedRoleUser"]["Arn"],
                access_key_id=credentials["AccessKeyId"],
                secret_access_key=credentials["SecretAccessKey"],
                session_token=credentials["SessionToken"],
            )
        )
    return principals


class Authority:
    """Every principal by access key; decides and records each (principal, action, resource)."""

    def __init__(self, principals: Iterable[Principal]) -> None:
        self.by_key = {principal.access_key_id: principal for principal in principals}
        self.by_owner = {principal.role.owner: principal for principal in self.by_key.values()}
        self._documents = {key: p.role.documents() for key, p in self.by_key.items()}
        self._lock = threading.Lock()
        self.decisions: list[tuple[str, str, str, str]] = []  # (owner, action, resource, reason)

    def principal(self, access_key_id: str) -> Principal:
        principal = self.by_key.get(access_key_id)
        if principal is None:
            raise UnknownAccessKey(access_key_id)
        return principal

    def authorize(self, access_key_id: str, requests: Sequence[tuple[str, str]]) -> Principal:
        """The caller, when every (action, resource) is allowed; AccessDenied on the first not."""
        principal = self.principal(access_key_id)
        documents = self._documents[access_key_id]
        for action, resource in requests:
            decision = evaluate(documents, action, resource)
            with self._lock:
                self.decisions.append((principal.role.owner, action, resource, decision.reason))
            if not decision.allowed:
                raise AccessDenied(principal, decision)
        return principal

    def emulator_config(self) -> dict[str, Any]:
        """The principals as the Nimble emulator is given them (``iam`` of its config)."""
        return {
            "principals": [
                {"accessKeyId": key, "arn": p.arn, "policies": self._documents[key]}
                for key, p in self.by_key.items()
            ]
        }
