"""IAM enforced in the local stack, from the template (issue 12).

Every AWS call the local stack makes carries the identity it has on AWS, and is refused as
AWS would refuse it:

* :mod:`local.iam.roles` renders each function's and the state machine's role from the
  template as SAM does (policy templates, managed policies, destinations);
* :mod:`local.iam.authority` creates the roles in moto's IAM, assumes them through moto's STS
  (each principal is the assumed-role ARN with its own credentials) and decides every call
  with :mod:`local.iam.evaluator` (IAM's rules for identity policies);
* :mod:`local.iam.gate` puts the decision in front of the moto server (the workers' calls) and
  on the ASL engine's in-process calls (Lambda Invoke, events:PutEvents, as the state
  machine's role); the Nimble emulator is given the principals and decides its own calls,
  dependent actions included (:mod:`local.emulator.authorization`, :mod:`local.iam.reference`).

:class:`LocalIam` is what :class:`local.engine.LocalEngine` wires.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterable
from typing import Any

from local.iam.authority import Authority, Principal, issue_credentials, operator_principal
from local.iam.gate import AslCallsHook, iam_moto_server
from local.iam.roles import Role, render_roles
from local.template import TemplateResolver

__all__ = ["LocalIam", "Role", "render_roles"]


class LocalIam:
    """The roles of one engine: credentials, the deciding authority and its enforcement points."""

    def __init__(self, resolver: TemplateResolver, state_machine_logical_id: str) -> None:
        self.roles = render_roles(resolver)
        self.region, self.account = resolver.region, resolver.account_id
        self.state_machine_logical_id = state_machine_logical_id
        self.authority: Authority | None = None
        self._operator_key = os.environ.get("AWS_ACCESS_KEY_ID")
        self.hook: AslCallsHook | None = None

    def start(self) -> None:
        """Roles created and assumed in moto (the mock must be running); the ASL hook installed.

        This process's own access keys (before and under ``mock_aws``) are the operator's, an
        administrator: the tests' and ``make run``'s own clients are not the stack's roles.
        """
        import boto3

        principals: list[Principal] = issue_credentials(self.roles.values(), self.region)
        current = boto3.Session().get_credentials()
        keys = {self._operator_key, current.access_key if current is not None else None} - {None}
        principals += [operator_principal(str(key), self.account) for key in sorted(keys)]
        self.authority = Authority(principals)
        self.hook = AslCallsHook(self.authority, self.state_machine_logical_id, self.region, self.account)
        self.hook.install()

    def install(self) -> None:
        if self.hook is not None:
            self.hook.install()

    def remove(self) -> None:
        if self.hook is not None:
            self.hook.remove()

    def credentials(self, owner: str) -> dict[str, str]:
        assert self.authority is not None
        return self.authority.by_owner[owner].environment()

    def moto_server(self) -> Any:
        assert self.authority is not None
        return iam_moto_server(self.authority, self.region, self.account)

    def configure_emulators(self, urls: Iterable[str]) -> None:
        """Gives each Nimble emulator the principals and their policies (``POST /_emulator/iam``)."""
        assert self.authority is not None
        body = json.dumps(self.authority.emulator_config()).encode()
        for url in sorted(set(urls)):
            request = urllib.request.Request(  # noqa: S310 - the loopback emulator
                f"{url.rstrip('/')}/_emulator/iam",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback emulator
                response.read()

    @property
    def decisions(self) -> list[tuple[str, str, str, str]]:
        """Every (owner, action, resource, reason) decided in this process so far."""
        return [] if self.authority is None else list(self.authority.decisions)
