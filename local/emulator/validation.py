"""The service's input rules, checked on values as the wire layer parsed them (any JSON type).

Checks collect into :class:`Problems`, so one ValidationException names every offending
field, in the service's wording. Also here: the list operation's page tokens, which a caller
can only hand back, never make up.
"""

from __future__ import annotations

import base64
import binascii
import re

from local.emulator.exceptions import validation_error
from local.emulator.models import FORCEABLE_STATES

__all__ = [
    "DEFAULT_INSTANCE_TYPE",
    "INSTANCE_TYPES",
    "VOLUME_RETENTION_MODES",
    "Problems",
    "check_create",
    "check_forced_state",
    "check_list",
    "decode_page_token",
    "encode_page_token",
]

INSTANCE_TYPES: tuple[str, ...] = (
    "g4dn.xlarge",
    "g4dn.2xlarge",
    "g4dn.4xlarge",
    "g4dn.8xlarge",
    "g4dn.12xlarge",
    "g4dn.16xlarge",
    "g3.4xlarge",
    "g3s.xlarge",
    "g5.xlarge",
    "g5.2xlarge",
    "g5.4xlarge",
    "g5.8xlarge",
    "g5.16xlarge",
)
DEFAULT_INSTANCE_TYPE = "g4dn.xlarge"
VOLUME_RETENTION_MODES = ("RETAIN", "DELETE")
STREAMING_IMAGE_ID_PATTERN = "^[a-zA-Z0-9-_]*$"
# fullmatch, because with re.match '$' would also accept a trailing newline.
_STREAMING_IMAGE_ID_RE = re.compile(r"[a-zA-Z0-9_-]*")
STREAMING_IMAGE_ID_MAX = 22
CLIENT_TOKEN_MIN, CLIENT_TOKEN_MAX = 1, 64


class Problems:
    """Collects constraint violations so one error names every offending field."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field_name: str, problem: str) -> None:
        self.items.append((field_name, problem))

    def string(self, field_name: str, value: object, *, required: bool = False) -> bool:
        """True when ``value`` is a string to check further; records a problem otherwise."""
        if value is None:
            if required:
                self.add(field_name, "Member must not be null")
            return False
        if not isinstance(value, str):
            self.add(field_name, f"Member must be a string, got {json_type(value)}")
            return False
        return True

    def raise_if_any(self) -> None:
        if self.items:
            raise validation_error(self.items)


def json_type(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


# --- one member each ---------------------------------------------------------------------------


def check_streaming_image_id(problems: Problems, value: object) -> None:
    if not problems.string("streamingImageId", value):
        return
    assert isinstance(value, str)
    if len(value) > STREAMING_IMAGE_ID_MAX:
        problems.add(
            "streamingImageId",
            f"Value {_shown(value)} failed to satisfy constraint: Member must have length less than "
            f"or equal to {STREAMING_IMAGE_ID_MAX}",
        )
    if not _STREAMING_IMAGE_ID_RE.fullmatch(value):
        problems.add(
            "streamingImageId",
            f"Value {_shown(value)} failed to satisfy constraint: Member must satisfy regular "
            f"expression pattern: {STREAMING_IMAGE_ID_PATTERN}",
        )


def check_client_token(problems: Problems, value: object) -> None:
    if not problems.string("clientToken", value):
        return
    assert isinstance(value, str)
    if not CLIENT_TOKEN_MIN <= len(value) <= CLIENT_TOKEN_MAX:
        problems.add(
            "clientToken",
            f"Value {_shown(value)} failed to satisfy constraint: Member must have length between "
            f"{CLIENT_TOKEN_MIN} and {CLIENT_TOKEN_MAX}",
        )


def check_tags(problems: Problems, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        problems.add("tags", f"Member must be a map of string to string, got {json_type(value)}")
        return
    # AWS's general tag limits (Nimble Studio published none of its own).
    if len(value) > 50:
        problems.add("tags", f"Member must have at most 50 tags, got {len(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            problems.add(f"tags.{key}", f"Member must be a string, got {json_type(item)}")
        elif not 1 <= len(key) <= 128:
            problems.add(f"tags.{key}", "Tag keys must have 1 to 128 characters")
        elif key.lower().startswith("aws:"):
            problems.add(f"tags.{key}", "The tag key prefix 'aws:' is reserved")
        elif len(item) > 256:
            problems.add(f"tags.{key}", "Tag values must have at most 256 characters")


def check_enum(problems: Problems, field_name: str, value: object, allowed: tuple[str, ...]) -> None:
    if problems.string(field_name, value) and value not in allowed:
        problems.add(
            field_name,
            f"Value {_shown(str(value))} failed to satisfy constraint: Member must satisfy enum value "
            f"set: [{', '.join(allowed)}]",
        )


# --- whole requests ----------------------------------------------------------------------------


def check_create(
    *,
    launch_profile_id: object,
    ec2_instance_type: object,
    owned_by: object,
    streaming_image_id: object,
    tags: object,
    client_token: object,
) -> None:
    """The members of CreateStreamingSession; one ValidationException for all problems."""
    problems = Problems()
    problems.string("launchProfileId", launch_profile_id, required=True)
    check_enum(problems, "ec2InstanceType", ec2_instance_type, INSTANCE_TYPES)
    problems.string("ownedBy", owned_by)
    check_streaming_image_id(problems, streaming_image_id)
    check_client_token(problems, client_token)
    check_tags(problems, tags)
    problems.raise_if_any()


def check_list(
    *, created_by: object, owned_by: object, session_ids: object, next_token: object
) -> tuple[set[str] | None, int]:
    """The query of ListStreamingSessions → (the session ids asked for or None, the sequence
    number the page starts after)."""
    problems = Problems()
    problems.string("createdBy", created_by)
    problems.string("ownedBy", owned_by)
    wanted_ids: set[str] | None = None
    if isinstance(session_ids, list | tuple):
        if all(isinstance(item, str) for item in session_ids):
            wanted_ids = set(session_ids)
        else:
            problems.add("sessionIds", "Member must be a list of strings")
    elif problems.string("sessionIds", session_ids):
        assert isinstance(session_ids, str)
        wanted_ids = {item.strip() for item in session_ids.split(",") if item.strip()}
    after = 0
    if problems.string("nextToken", next_token):
        assert isinstance(next_token, str)
        decoded = decode_page_token(next_token)
        if decoded is None:
            problems.add("nextToken", "Member is not a token this API returned")
        else:
            after = decoded
    problems.raise_if_any()
    return wanted_ids, after


def check_forced_state(state: object, status_code: object, status_message: object) -> None:
    """The body of ``POST /_emulator/sessions/{id}/state``."""
    problems = Problems()
    if problems.string("state", state, required=True) and state not in FORCEABLE_STATES:
        problems.add("state", f"Member must satisfy enum value set: {sorted(FORCEABLE_STATES)}")
    if problems.string("statusCode", status_code) and not status_code:
        problems.add("statusCode", "Member must not be empty")
    problems.string("statusMessage", status_message)
    problems.raise_if_any()


def encode_page_token(after_sequence: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after_sequence}".encode()).decode().rstrip("=")


def decode_page_token(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "after" or not number.isdigit():
        return None
    return int(number)
