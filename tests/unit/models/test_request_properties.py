"""Property-based tests of the request model against the seed's constraints.

An oracle written from the constraints (nimble-api-facts.md, plus the model's own MAX_IDENTIFIER_CHARS
cap on free text) says which members of a generated body are invalid; the model must accept
exactly the bodies the oracle accepts, and name exactly the offending members (through
``field_names``, the names the API's 400 and the ValidateRequest step report). Bodies mix
valid values, boundary lengths, wrong types, nulls and unknown members.

Deterministic for CI: ``derandomize=True`` (examples derived from the test itself), no
example database, bounded ``max_examples``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from session_provisioning.errors import ValidationException
from session_provisioning.logic.requests import execution_input
from session_provisioning.logic.steps import validate_request
from session_provisioning.models.base import field_names
from session_provisioning.models.request import (
    EC2_INSTANCE_TYPES,
    MAX_IDENTIFIER_CHARS,
    ProvisioningInput,
    SessionRequestBody,
)

SETTINGS = settings(
    derandomize=True,
    database=None,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
BODY_MEMBERS = ("launchProfileId", "ec2InstanceType", "ownedBy", "streamingImageId", "tags")
TEXT_MAX = MAX_IDENTIFIER_CHARS
IMAGE_MAX = 22
IMAGE_PATTERN = re.compile(r"[A-Za-z0-9_-]*")
TOKEN_MAX = 64
STUDIO_MAX = 256

# --- the oracle: the constraints, written out ---------------------------------------------------


def text_ok(value: Any, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def body_violations(body: Any) -> set[str]:
    """The members of a CreateStreamingSession body that break a constraint."""
    if not isinstance(body, dict):
        return {"(body)"}
    bad = {name for name in body if name not in BODY_MEMBERS}
    if not text_ok(body.get("launchProfileId"), 1, TEXT_MAX):  # required: absent or null is bad too
        bad.add("launchProfileId")
    optional_checks = {
        "ec2InstanceType": lambda v: isinstance(v, str) and v in EC2_INSTANCE_TYPES,
        "ownedBy": lambda v: text_ok(v, 1, TEXT_MAX),
        "streamingImageId": lambda v: text_ok(v, 0, IMAGE_MAX) and IMAGE_PATTERN.fullmatch(v) is not None,
        "tags": lambda v: (
            isinstance(v, dict)
            and len(v) <= 50  # AWS's general tag limits
            and all(1 <= len(k) <= 128 and not k.lower().startswith("aws:") for k in v)
            and all(isinstance(x, str) and len(x) <= 256 for x in v.values())
            and len(json.dumps(v, separators=(",", ":"))) <= 20 * 1024
        ),
    }
    for name, check in optional_checks.items():
        if body.get(name) is not None and not check(body[name]):  # null means absent
            bad.add(name)
    return bad


def input_violations(execution: dict[str, Any]) -> set[str]:
    """The members of the execution input (studioId, clientToken, request) that break one."""
    bad = {name for name in execution if name not in ("studioId", "clientToken", "request")}
    if not text_ok(execution.get("studioId"), 1, STUDIO_MAX):
        bad.add("studioId")
    if not text_ok(execution.get("clientToken"), 1, TOKEN_MAX):
        bad.add("clientToken")
    request = execution.get("request")
    if not isinstance(request, dict):
        bad.add("request")
    else:
        bad |= {f"request.{name}" for name in body_violations(request)}
    return bad


def names_exactly(reported: list[str], expected: set[str]) -> None:
    """Every offending member is named, and nothing else is (a tags.key names tags)."""

    def owner(name: str) -> str | None:
        return next((e for e in expected if name == e or name.startswith(e + ".")), None)

    assert {owner(name) for name in reported} == expected, (reported, expected)


# --- generators --------------------------------------------------------------------------------

LETTERS = st.characters(codec="utf-8", exclude_categories=("Cs",))
IMAGE_CHARS = st.sampled_from("abcXYZ019-_")


def sized_text(low: int, high: int, alphabet: st.SearchStrategy[str] = LETTERS) -> st.SearchStrategy[str]:
    """Text of a length in [low, high], the bounds and their neighbours likely."""
    lengths = st.one_of(
        st.sampled_from(sorted({low, high, max(low - 1, 0), high + 1})), st.integers(low, high)
    )
    return lengths.flatmap(
        lambda n: (
            st.text(alphabet, min_size=n, max_size=n)
            if n <= 64
            else st.builds(lambda ch, n=n: ch * n, alphabet)
        )
    )


WRONG_TYPES = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
NULL = st.none()


VALID_MEMBERS: dict[str, st.SearchStrategy[Any]] = {
    "launchProfileId": st.one_of(st.text(LETTERS, min_size=1, max_size=40), sized_text(1, TEXT_MAX)).filter(
        lambda v: 1 <= len(v) <= TEXT_MAX
    ),
    "ec2InstanceType": st.sampled_from(EC2_INSTANCE_TYPES),
    "ownedBy": st.one_of(st.emails(), sized_text(1, TEXT_MAX)).filter(lambda v: 1 <= len(v) <= TEXT_MAX),
    "streamingImageId": st.text(IMAGE_CHARS, max_size=IMAGE_MAX),
    "tags": st.dictionaries(
        st.text(min_size=1, max_size=16).filter(lambda k: not k.lower().startswith("aws:")),
        st.text(max_size=16),
        max_size=4,
    ),
}
#: Values just outside the constraints (and just inside: the oracle decides).
EDGE_MEMBERS: dict[str, st.SearchStrategy[Any]] = {
    "launchProfileId": st.one_of(sized_text(1, TEXT_MAX), st.just("")),
    "ec2InstanceType": st.one_of(
        st.sampled_from(["m5.large", "G4DN.XLARGE", "g4dn.xlarge ", ""]), st.text(max_size=12)
    ),
    "ownedBy": st.one_of(sized_text(1, TEXT_MAX), st.just("")),
    "streamingImageId": st.one_of(
        sized_text(0, IMAGE_MAX, IMAGE_CHARS),
        st.text(max_size=24),
        st.sampled_from(["bad image", "img\n", "ïmage", "a" * 22 + "\n", "a" * 23]),
    ),
    "tags": st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), WRONG_TYPES), max_size=3),
}


def member_values(name: str) -> st.SearchStrategy[Any]:
    """Mostly valid, often at or past an edge, sometimes the wrong type or null."""
    valid = VALID_MEMBERS[name]
    kinds = [valid] * 6 + [EDGE_MEMBERS[name], EDGE_MEMBERS[name], WRONG_TYPES, NULL]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)


UNKNOWN_MEMBERS = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(lambda key: key not in BODY_MEMBERS),
    st.one_of(st.text(max_size=5), st.integers()),
    min_size=1,
    max_size=2,
)


#: True 7 times in 8 (hypothesis favours the edges of integers and booleans).
MOSTLY = st.sampled_from([True] * 7 + [False])


@st.composite
def bodies(draw: st.DrawFn, unknown: bool = True) -> dict[str, Any]:
    optional = {name: member_values(name) for name in BODY_MEMBERS if name != "launchProfileId"}
    body = draw(st.fixed_dictionaries({}, optional=optional))
    if draw(MOSTLY):  # required, so mostly there
        body["launchProfileId"] = draw(member_values("launchProfileId"))
    if unknown and not draw(MOSTLY):
        body.update(draw(UNKNOWN_MEMBERS))
    return body


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = {"launchProfileId": draw(VALID_MEMBERS["launchProfileId"])}
    optional = {name: VALID_MEMBERS[name] for name in BODY_MEMBERS if name != "launchProfileId"}
    body.update(draw(st.fixed_dictionaries({}, optional=optional)))
    return body


# --- properties -----------------------------------------------------------------------------------


@SETTINGS
@given(valid_bodies())
def test_every_body_within_the_constraints_is_accepted_as_sent(body):
    assert body_violations(body) == set()
    model = SessionRequestBody.model_validate(body)
    assert model.to_wire() == body  # nothing added, nothing dropped, nothing coerced


@SETTINGS
@given(bodies())
def test_the_model_accepts_exactly_what_the_constraints_allow_and_names_each_violation(body):
    expected = body_violations(body)
    if not expected:
        model = SessionRequestBody.model_validate(body)
        assert model.to_wire() == {key: value for key, value in body.items() if value is not None}
        return
    with pytest.raises(ValidationError) as caught:
        SessionRequestBody.model_validate(body)
    names_exactly(field_names(caught.value.errors()), expected)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "studioId": st.one_of(sized_text(1, STUDIO_MAX), st.just(""), WRONG_TYPES, NULL),
            "clientToken": st.one_of(sized_text(1, TOKEN_MAX), st.just(""), WRONG_TYPES, NULL),
            "request": st.one_of(bodies(unknown=False), WRONG_TYPES, NULL),
        },
    )
)
def test_the_execution_input_names_each_violation_with_its_path(execution):
    expected = input_violations(execution)
    if not expected:
        assert ProvisioningInput.model_validate(execution).request.to_wire() == {
            key: value for key, value in execution["request"].items() if value is not None
        }
        return
    with pytest.raises(ValidationError) as caught:
        ProvisioningInput.model_validate(execution)
    names_exactly(field_names(caught.value.errors()), expected)


@SETTINGS
@given(bodies(), st.text(min_size=1, max_size=TOKEN_MAX))
def test_the_workflow_step_accepts_exactly_what_the_api_accepts(body, token):
    """ValidateRequest re-checks the execution input with the same model: same verdict, same names."""
    execution = {"studioId": "studio-local", "clientToken": token, "request": body}
    event = {
        "execution": execution,
        "requestId": "req-1",
        "requestedAt": "2026-11-27T10:00:00Z",
        "polling": {"initialWaitSeconds": 0, "intervalSeconds": 1, "checksPerPoll": 1, "budgetSeconds": 3},
    }
    expected = body_violations(body)
    if expected:
        with pytest.raises(ValidationException) as caught:
            validate_request(event)
        names_exactly(caught.value.detail["fields"], {f"request.{name}" for name in expected})
        return
    state = validate_request(event)
    request = state["request"]
    assert request["clientToken"] == token
    for name, value in body.items():
        if value is not None:
            assert request[name] == value
    # What the API sends is what the step reads back: one canonical text per request.
    model = SessionRequestBody.model_validate(body)
    assert (
        ProvisioningInput.model_validate_json(execution_input("studio-local", token, model)).request == model
    )
