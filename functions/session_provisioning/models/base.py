"""What every model on a wire shares: camelCase names, ISO 8601 times, JSON out, named errors.

Every boundary model (API bodies and answers, workflow state, step results, event details)
derives from :class:`WireModel`, so the spelling on the wire, the time format and what
`to_json` leaves out are decided here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel


def iso_text(value: datetime) -> str:
    """2026-01-02T03:04:05Z: UTC spelt with a Z, as AWS spells times on the wire."""
    return value.isoformat().replace("+00:00", "Z")


#: A datetime written as ISO 8601 text in JSON (and kept a datetime in Python).
IsoTime = Annotated[datetime, PlainSerializer(iso_text, when_used="json")]


class WireModel(BaseModel):
    """snake_case in Python, camelCase on the wire (a member's alias), either accepted on input."""

    # hide_input_in_errors: an error's text (logged, or in a Catch's Cause) names the field and
    # the rule, never the value, which may be an owner's name or a tag.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON value, camelCase, members that do not apply (None) left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- validation errors as the client spells the fields -----------------------------------------


def field_name(location: Iterable[str | int]) -> str:
    """A pydantic error location, dotted (tags.team, request.ownedBy); "(body)" for the whole."""
    return ".".join(str(part) for part in location) or "(body)"


def field_names(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> list[str]:
    """Each offending field once, in order; `skip` drops leading location parts (e.g. "body")."""
    names: list[str] = []
    for item in errors:
        name = field_name(tuple(item.get("loc", ()))[skip:])
        if name not in names:
            names.append(name)
    return names


def describe_errors(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> str:
    """ "field: rule; field: rule", naming fields and rules only (never the values)."""
    return "; ".join(
        f"{field_name(tuple(item.get('loc', ()))[skip:])}: {item.get('msg') or item.get('type') or 'invalid'}"
        for item in errors
    )
