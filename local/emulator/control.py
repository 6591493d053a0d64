"""The ``/_emulator/`` control endpoint: steering the emulator over HTTP.

Everything under ``/_emulator/`` steers the emulator; it needs no ``Authorization``. Bodies
are JSON objects; keys are camelCase (snake_case is accepted too). Examples assume the
default port::

    E=http://127.0.0.1:8081/_emulator

``GET  $E/health``
    ``{"status": "ok"}`` once the emulator serves requests.
``GET  $E/state``
    Sessions (each with ``studioId`` and the ``clientToken`` that created it), client tokens
    per studio → session ids, per-operation call counts, active faults with their
    ``remaining`` count and ``fired`` tally, the quota, and the settings. A call counts once
    it reaches its operation: signed, with a readable JSON body; calls answered with an
    injected error or a ValidationException of the operation count too.
``POST $E/faults``
    Add a fault rule (or a JSON array of rules); answers ``{"fault": {"id": "fault-1", ...}}``.
``GET  $E/faults`` / ``DELETE $E/faults`` / ``DELETE $E/faults/{id}``
    List, clear all, remove one.
``POST $E/quota``
    ``{"liveSessionsPerOwner": 2}``: at most 2 live sessions (any state but DELETED and
    CREATE_FAILED) per ``ownedBy``; one more is 402 ``ServiceQuotaExceededException``.
    ``null`` removes the limit.
``GET  $E/config`` / ``POST $E/config``
    Read or change settings: ``provisioningSeconds`` (number, or ``[min, max]`` for a random
    duration per session), ``deletionSeconds`` (also the duration of a stop),
    ``listPageSize``, ``seed``, ``region``, ``accountId``, ``studios``. New timings apply to
    transitions that begin afterwards. ``faults`` and ``liveSessionsPerOwner`` may be given
    here as well (added / set as above); this is also the body format of the
    ``NIMBLE_EMULATOR_CONFIG`` start-up variable.
``GET  $E/rate-limits`` / ``POST $E/rate-limits``
    Per-account, per-operation request-rate limits (:mod:`local.emulator.ratelimit`), off by
    default: ``{"enabled": true}`` turns on the assumed defaults, ``{"enabled": true,
    "operations": {"GetStreamingSession": {"ratePerSecond": 5, "burst": 10}}}`` sets one. A
    call over its limit is 429 ``ThrottlingException`` and changes nothing. GET answers the
    limits in force and the throttled calls per operation. Also the ``rateLimits`` setting of
    ``POST $E/config`` and ``NIMBLE_EMULATOR_CONFIG``; ``reset`` refills the buckets.
``GET  $E/iam`` / ``POST $E/iam``
    Roles and policies (:mod:`local.emulator.authorization`): with them, every API call is
    decided by IAM's rules (403 ``AccessDeniedException`` / ``UnrecognizedClientException``);
    ``null`` turns enforcement off (any signed request accepted). Also the ``iam`` setting of
    ``POST $E/config`` and ``NIMBLE_EMULATOR_CONFIG``; ``reset`` keeps it.
``POST $E/reset``
    Forget sessions, client tokens, call counts, faults and the quota; keep the studios
    fixture and the settings.
``POST $E/sessions/{sessionId}/delete``
    Someone else deleted the session: it is ``DELETED`` at once.
``POST $E/sessions/{sessionId}/state``
    Force any state now, e.g. ``{"state": "START_FAILED", "statusCode": "INTERNAL_ERROR"}``
    (``statusCode``/``statusMessage`` optional).

A fault rule has exactly one of ``error`` and ``sessionOutcome``:

* ``{"operation": "CreateStreamingSession", "error": "ThrottlingException", "count": 2}``:
  the next two matching calls get that error with its real status (429) and change nothing.
  ``error`` is one of the seven modeled errors; ``operation`` is an operation name or
  ``"*"`` (default); ``message`` replaces the default message.
* ``{"sessionOutcome": "CREATE_FAILED", "statusCode": "INSUFFICIENT_CAPACITY"}``: the next
  session created goes CREATE_IN_PROGRESS → CREATE_FAILED (with that statusCode and a
  statusMessage) instead of READY. Without ``statusCode`` (or with ``"random": true``) a
  failure code is drawn from the model's list. ``{"sessionOutcome": "NEVER_READY"}``: it
  stays CREATE_IN_PROGRESS for ever (delete still works). ``START_FAILED``,
  ``STOP_FAILED`` and ``DELETE_FAILED`` end the start, stop or delete transition likewise.
* ``count`` (≥ 1): fire that many times, then the rule is gone; omitted: no limit.
  ``probability`` (0.0 to 1.0, default 1.0): chance that a matching call fires the rule.
* ``match``: fire only for requests with these attributes: ``ownedBy``, ``clientToken``,
  ``launchProfileId``, ``sessionId``, ``studioId``, ``createdBy``, ``ec2InstanceType`` (the
  type asked for, Nimble Studio's default when none was). Create matches the
  request (``ownedBy`` after defaulting to the caller); Get/Delete/Start/Stop match the
  stored session; List matches its ``ownedBy``/``createdBy`` query.

Examples::

    curl -s -X POST $E/faults -d '{"operation": "CreateStreamingSession",
        "error": "ThrottlingException", "count": 2}'
    curl -s -X POST $E/faults -d '{"operation": "*",
        "error": "InternalServerErrorException", "probability": 0.05}'
    curl -s -X POST $E/faults -d '{"sessionOutcome": "CREATE_FAILED",
        "statusCode": "INSUFFICIENT_CAPACITY", "match": {"ownedBy": "artist-7"}, "count": 1}'
    curl -s -X POST $E/faults -d '{"sessionOutcome": "NEVER_READY",
        "match": {"clientToken": "req-42"}}'
    curl -s -X POST $E/quota -d '{"liveSessionsPerOwner": 1}'
    curl -s -X POST $E/config -d '{"provisioningSeconds": [2, 6], "deletionSeconds": 1}'
    curl -s -X POST $E/sessions/session-0123456789abcdef0123/delete
    curl -s $E/state | python -m json.tool
    curl -s -X DELETE $E/faults
    curl -s -X POST $E/reset
"""

from __future__ import annotations

from typing import Any

from local.emulator.exceptions import validation_error
from local.emulator.protocol import Reply, Request, json_object, json_value
from local.emulator.routing import Route
from local.emulator.state import EmulatorState

__all__ = ["CONTROL_PREFIX", "ControlEndpoint"]

CONTROL_PREFIX = "/_emulator"


def _only(body: dict[str, Any], members: set[str]) -> dict[str, Any]:
    unknown = sorted(set(body) - members)
    if unknown:
        raise validation_error([(key, "unknown member") for key in unknown])
    return body


class ControlEndpoint:
    """The control routes and handlers over the emulator's state (no signature needed)."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        control = CONTROL_PREFIX
        self.routes = [
            Route.at(f"{control}/?", {"GET": ("control:index", self._index)}),
            Route.at(f"{control}/health", {"GET": ("control:health", self._health)}),
            Route.at(f"{control}/state", {"GET": ("control:state", self._state)}),
            Route.at(
                f"{control}/faults",
                {
                    "GET": ("control:faults", self._list_faults),
                    "POST": ("control:add-fault", self._add_fault),
                    "DELETE": ("control:clear-faults", self._clear_faults),
                },
            ),
            Route.at(
                f"{control}/faults/{{faultId}}", {"DELETE": ("control:remove-fault", self._remove_fault)}
            ),
            Route.at(f"{control}/quota", {"POST": ("control:quota", self._quota)}),
            Route.at(
                f"{control}/config",
                {"GET": ("control:config", self._get_config), "POST": ("control:configure", self._configure)},
            ),
            Route.at(f"{control}/reset", {"POST": ("control:reset", self._reset)}),
            Route.at(
                f"{control}/rate-limits",
                {
                    "GET": ("control:rate-limits", self._get_rate_limits),
                    "POST": ("control:set-rate-limits", self._set_rate_limits),
                },
            ),
            Route.at(
                f"{control}/iam",
                {"GET": ("control:iam", self._get_iam), "POST": ("control:set-iam", self._set_iam)},
            ),
            Route.at(
                f"{control}/sessions/{{sessionId}}/delete",
                {"POST": ("control:delete-session", self._delete_session)},
            ),
            Route.at(
                f"{control}/sessions/{{sessionId}}/state",
                {"POST": ("control:session-state", self._session_state)},
            ),
        ]

    @staticmethod
    def owns(path: str) -> bool:
        return path == CONTROL_PREFIX or path.startswith(f"{CONTROL_PREFIX}/")

    def _index(self, request: Request, params: dict[str, str]) -> Reply:
        endpoints = sorted(f"{method} {route.template}" for route in self.routes for method in route.methods)
        return Reply(200, {"endpoints": endpoints})

    def _health(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"status": "ok"})

    def _state(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, self.state.snapshot())

    def _list_faults(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"faults": self.state.faults()})

    def _add_fault(self, request: Request, params: dict[str, str]) -> Reply:
        body = json_value(request.body)
        if isinstance(body, list):
            return Reply(200, {"faults": self.state.add_faults(body)})
        if not isinstance(body, dict):
            raise validation_error([("", "Body must be a fault rule (JSON object) or an array of them")])
        return Reply(200, {"fault": self.state.add_fault(body)})

    def _clear_faults(self, request: Request, params: dict[str, str]) -> Reply:
        self.state.clear_faults()
        return Reply(200, {"faults": []})

    def _remove_fault(self, request: Request, params: dict[str, str]) -> Reply:
        self.state.remove_fault(params["faultId"])
        return Reply(200, {"removed": params["faultId"]})

    def _quota(self, request: Request, params: dict[str, str]) -> Reply:
        body = _only(json_object(request.body), {"liveSessionsPerOwner"})
        if "liveSessionsPerOwner" not in body:
            raise validation_error([("liveSessionsPerOwner", "required (null removes the limit)")])
        self.state.set_quota(body["liveSessionsPerOwner"])
        return Reply(200, {"quota": {"liveSessionsPerOwner": self.state.quota}})

    def _get_config(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"config": self.state.snapshot()["config"]})

    def _configure(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"config": self.state.configure(json_object(request.body))})

    def _get_iam(self, request: Request, params: dict[str, str]) -> Reply:
        iam = self.state.config.iam
        return Reply(200, {"iam": None if iam is None else iam.model_dump(by_alias=True, mode="json")})

    def _set_iam(self, request: Request, params: dict[str, str]) -> Reply:
        body = json_value(request.body)
        self.state.configure({"iam": body})
        return Reply(200, {"enforced": body is not None})

    def _get_rate_limits(self, request: Request, params: dict[str, str]) -> Reply:
        snapshot = self.state.snapshot()
        limits = self.state.config.rate_limits
        return Reply(
            200,
            {
                "enabled": limits.enabled,
                "limits": limits.effective(),
                "throttledCounts": snapshot["throttledCounts"],
            },
        )

    def _set_rate_limits(self, request: Request, params: dict[str, str]) -> Reply:
        self.state.configure({"rateLimits": json_object(request.body)})
        return self._get_rate_limits(request, params)

    def _reset(self, request: Request, params: dict[str, str]) -> Reply:
        self.state.reset()
        return Reply(200, {"reset": True})

    def _delete_session(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"session": self.state.force_delete(params["sessionId"])})

    def _session_state(self, request: Request, params: dict[str, str]) -> Reply:
        body = _only(json_object(request.body), {"state", "statusCode", "statusMessage"})
        session = self.state.force_state(
            params["sessionId"], body.get("state"), body.get("statusCode"), body.get("statusMessage")
        )
        return Reply(200, {"session": session})
