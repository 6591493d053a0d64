"""Fault rules: what to break, for which requests, how often.

A rule is either

* an **error** rule: a matching call is answered with one of the seven modeled errors and
  changes nothing, or
* a **session outcome** rule: a matching call succeeds, but the session it starts a
  transition for ends badly (``CREATE_FAILED`` with a status code, ``NEVER_READY``, or the
  failed end of start/stop/delete).

``count`` bounds how many times a rule fires (then it is gone); ``probability`` is the chance
that a matching call fires it. ``match`` narrows a rule to requests whose attributes equal
the given values, so parallel tests can each aim at their own request.

This module holds no lock: :class:`~local.emulator.state.EmulatorState` owns the one lock
and calls in here while holding it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from local.emulator.exceptions import (
    MODELED_ERRORS,
    NimbleError,
    error_class,
    from_pydantic,
    validation_error,
)

__all__ = [
    "ANY_OPERATION",
    "FAILURE_STATUS_CODES",
    "OPERATIONS",
    "OUTCOME_OPERATIONS",
    "FaultMatch",
    "FaultRule",
    "FaultSpec",
    "FaultTable",
    "SessionOutcome",
    "parse_fault_spec",
]

OPERATIONS: tuple[str, ...] = (
    "CreateStreamingSession",
    "GetStreamingSession",
    "ListStreamingSessions",
    "DeleteStreamingSession",
    "StartStreamingSession",
    "StopStreamingSession",
)
ANY_OPERATION = "*"

#: The statusCode values that describe a failure (the rest describe progress or success).
FAILURE_STATUS_CODES: tuple[str, ...] = (
    "INTERNAL_ERROR",
    "INSUFFICIENT_CAPACITY",
    "ACTIVE_DIRECTORY_DOMAIN_JOIN_ERROR",
    "NETWORK_CONNECTION_ERROR",
    "INITIALIZATION_SCRIPT_ERROR",
    "DECRYPT_STREAMING_IMAGE_ERROR",
    "NETWORK_INTERFACE_ERROR",
    "AMI_VALIDATION_ERROR",
)

FAILURE_MESSAGES: dict[str, str] = {
    "INTERNAL_ERROR": "An internal error occurred while provisioning the streaming session.",
    "INSUFFICIENT_CAPACITY": "There is not enough capacity for the requested instance type.",
    "ACTIVE_DIRECTORY_DOMAIN_JOIN_ERROR": "The instance could not join the Active Directory domain.",
    "NETWORK_CONNECTION_ERROR": "The instance could not reach the studio network.",
    "INITIALIZATION_SCRIPT_ERROR": "A launch profile initialization script failed.",
    "DECRYPT_STREAMING_IMAGE_ERROR": "The streaming image could not be decrypted.",
    "NETWORK_INTERFACE_ERROR": "The network interface of the instance could not be created.",
    "AMI_VALIDATION_ERROR": "The streaming image's AMI failed validation.",
}

SessionOutcomeName = Literal["CREATE_FAILED", "NEVER_READY", "START_FAILED", "STOP_FAILED", "DELETE_FAILED"]

#: The operation whose transition each outcome replaces.
OUTCOME_OPERATIONS: dict[str, str] = {
    "CREATE_FAILED": "CreateStreamingSession",
    "NEVER_READY": "CreateStreamingSession",
    "START_FAILED": "StartStreamingSession",
    "STOP_FAILED": "StopStreamingSession",
    "DELETE_FAILED": "DeleteStreamingSession",
}


class CamelModel(BaseModel):
    """The control endpoint's bodies (faults, settings): camelCase like the API, snake_case for
    Python callers, unknown members refused. allow_inf_nan=False: a duration or probability of
    NaN or infinity (1e999 parses as one) is a client's mistake, refused with a 400, not a value
    that later breaks a timestamp (a 500)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        allow_inf_nan=False,
    )

    @classmethod
    def from_body(cls, data: object, name: str) -> Self:
        """One from an instance or a JSON object; a ValidationException naming ``name.field``."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise validation_error([(name, "must be a JSON object")])
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise from_pydantic(exc, prefix=f"{name}.") from None


class FaultMatch(CamelModel):
    """Attributes a request must have for a rule to apply; unset ones match anything.

    For Get/Delete/Start/Stop the attributes are those of the stored session; for Create
    those of the request (``ownedBy`` after defaulting to the caller); for List the query.
    """

    studio_id: str | None = None
    session_id: str | None = None
    owned_by: str | None = None
    created_by: str | None = None
    client_token: str | None = None
    launch_profile_id: str | None = None
    # The type asked for (Create) or the session's type: capacity faults aim at one type.
    ec2_instance_type: str | None = None

    def matches(self, attributes: Mapping[str, str | None]) -> bool:
        wanted = self.model_dump(by_alias=True, exclude_none=True)
        return all(attributes.get(name) == value for name, value in wanted.items())


class FaultSpec(CamelModel):
    """What a user asks for; validated on the way in."""

    operation: str = ANY_OPERATION
    error: str | None = None
    message: str | None = None
    session_outcome: SessionOutcomeName | None = None
    status_code: str | None = None
    status_message: str | None = None
    random: bool = False
    count: int | None = Field(default=None, ge=1)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    match: FaultMatch = Field(default_factory=FaultMatch)

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        if (self.error is None) == (self.session_outcome is None):
            raise ValueError("give exactly one of 'error' and 'sessionOutcome'")
        if self.operation != ANY_OPERATION and self.operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {self.operation!r}; expected '*' or one of {list(OPERATIONS)}"
            )
        if self.error is not None:
            if self.error not in MODELED_ERRORS:
                raise ValueError(f"unknown error {self.error!r}; expected one of {list(MODELED_ERRORS)}")
            if self.status_code is not None or self.random:
                raise ValueError("'statusCode' and 'random' belong to sessionOutcome rules")
            return self
        implied = OUTCOME_OPERATIONS[self.session_outcome]  # type: ignore[index]
        if self.operation not in (ANY_OPERATION, implied):
            raise ValueError(f"sessionOutcome {self.session_outcome} applies to {implied} only")
        self.operation = implied
        if self.session_outcome == "NEVER_READY":
            if self.status_code is not None or self.random:
                raise ValueError("NEVER_READY takes no 'statusCode' or 'random'")
        elif self.status_code is not None:
            if self.random:
                raise ValueError("give 'statusCode' or 'random', not both")
            if self.status_code not in FAILURE_STATUS_CODES:
                raise ValueError(
                    f"statusCode {self.status_code!r} is not a failure code; expected one of "
                    f"{list(FAILURE_STATUS_CODES)}"
                )
        return self


def parse_fault_spec(data: FaultSpec | Mapping[str, Any]) -> FaultSpec:
    """A :class:`FaultSpec` from a spec or a mapping; a ValidationException when invalid."""
    return FaultSpec.from_body(data, "fault")


@dataclass(frozen=True)
class SessionOutcome:
    """How a transition ends instead of normally (chosen when the transition begins)."""

    kind: str
    status_code: str | None
    status_message: str | None
    fault_id: str


@dataclass
class FaultRule:
    """An active rule and its bookkeeping."""

    id: str
    spec: FaultSpec
    remaining: int | None
    fired: int = 0

    def applies_to(self, operation: str, attributes: Mapping[str, str | None]) -> bool:
        return self.spec.operation in (ANY_OPERATION, operation) and self.spec.match.matches(attributes)

    def describe(self) -> dict[str, Any]:
        body = self.spec.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
        body["operation"] = self.spec.operation
        body["probability"] = self.spec.probability
        return {"id": self.id, **body, "remaining": self.remaining, "fired": self.fired}


class FaultTable:
    """The active rules, first added first tried."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: FaultSpec | Mapping[str, Any]) -> FaultRule:
        parsed = parse_fault_spec(spec)
        rule = FaultRule(id=f"fault-{next(self._ids)}", spec=parsed, remaining=parsed.count)
        self._rules.append(rule)
        return rule

    def add_all(self, specs: Iterable[FaultSpec | Mapping[str, Any]]) -> list[FaultRule]:
        # Validate every spec before adding any, so a bad list changes nothing.
        parsed = [parse_fault_spec(spec) for spec in specs]
        return [self.add(spec) for spec in parsed]

    def remove(self, fault_id: str) -> bool:
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != fault_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def active(self) -> list[FaultRule]:
        return list(self._rules)

    def take_error(
        self, operation: str, attributes: Mapping[str, str | None], rng: random.Random
    ) -> NimbleError | None:
        """The error to answer this call with, consuming one firing of its rule; or None."""
        rule = self._fire(operation, attributes, rng, outcome=False)
        if rule is None:
            return None
        code = rule.spec.error
        assert code is not None
        message = rule.spec.message or f"Injected {code} ({rule.id}) for {operation}"
        return error_class(code)(message, {"faultId": rule.id, "injected": "true"})

    def take_outcome(
        self, operation: str, attributes: Mapping[str, str | None], rng: random.Random
    ) -> SessionOutcome | None:
        """The bad ending for the transition this call starts, consuming a firing; or None."""
        rule = self._fire(operation, attributes, rng, outcome=True)
        if rule is None:
            return None
        spec = rule.spec
        kind = spec.session_outcome
        assert kind is not None
        if kind == "NEVER_READY":
            return SessionOutcome(kind, None, None, rule.id)
        status_code = spec.status_code or rng.choice(FAILURE_STATUS_CODES)
        status_message = spec.status_message or FAILURE_MESSAGES[status_code]
        return SessionOutcome(kind, status_code, status_message, rule.id)

    def _fire(
        self, operation: str, attributes: Mapping[str, str | None], rng: random.Random, *, outcome: bool
    ) -> FaultRule | None:
        for rule in self._rules:
            if (rule.spec.session_outcome is not None) != outcome:
                continue
            if not rule.applies_to(operation, attributes):
                continue
            # probability 1.0 must fire without consuming randomness, 0.0 must never fire.
            if rule.spec.probability < 1.0 and not rng.random() < rule.spec.probability:
                continue
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
            return rule
        return None
