"""The largest request the API accepts stays far below Step Functions' 256 KiB in every state.

`States.DataLimitExceeded` ends an execution past every Catch (no cleanup, no event from the
workflow), so the request's members are bounded (models/request.py) and this test runs the
largest accepted request through the workflow, measuring every state's input and output as
AWS does (UTF-8 bytes of the JSON text).
"""

from __future__ import annotations

import json
from typing import Any

from session_provisioning.api.body import MAX_BODY_BYTES
from session_provisioning.models.request import MAX_IDENTIFIER_CHARS, ProvisioningInput
from tests.support.waiting import wait_until
from tests.support.workflow import LAUNCH_PROFILE, STUDIO, events_for

STATE_LIMIT_BYTES = 256 * 1024
# "Far below": half the limit leaves room for what the workflow adds later.
HEADROOM_BYTES = STATE_LIMIT_BYTES // 2
TAG_COUNT, KEY_CHARS, VALUE_CHARS = 50, 128, 256


def largest_request(token: str) -> dict[str, Any]:
    """Every member at its bound: the longest owner in 4-byte characters, 50 of the longest tags."""
    tags = {f"{index:03d}".ljust(KEY_CHARS, "k"): "v" * VALUE_CHARS for index in range(TAG_COUNT)}
    request = {
        "studioId": STUDIO,
        "clientToken": token,
        "request": {
            "launchProfileId": LAUNCH_PROFILE,
            "ec2InstanceType": "g4dn.xlarge",
            "ownedBy": "\U0001d11e" * MAX_IDENTIFIER_CHARS,
            "streamingImageId": "image-local",
            "tags": tags,
        },
    }
    ProvisioningInput.model_validate(request)  # accepted: at every bound, not past one
    assert len(json.dumps(request["request"]).encode()) <= MAX_BODY_BYTES
    return request


def state_sizes(history: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(UTF-8 bytes, event type) of every state input, output and task parameters."""
    sizes = []
    for event in history:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in ("input", "output", "parameters"):
                if isinstance(details.get(field), str):
                    sizes.append((len(details[field].encode("utf-8")), event["type"]))
    return sizes


def test_the_largest_accepted_request_stays_far_below_the_state_limit(engine, unique):
    token = f"largest-{unique}".ljust(64, "t")
    name = f"limits-{unique}"
    arn = engine.start_execution(largest_request(token), name=name)
    result = engine.wait(arn, timeout=120)
    assert result["status"] == "SUCCEEDED", result
    (event,) = wait_until(lambda: events_for(engine.events(), name), what="the Ready event")
    assert event["detail-type"] == "Streaming Session Ready"
    largest, where = max(state_sizes(engine.history(arn)))
    print(f"largest state of the largest request: {largest} bytes ({where})")  # shown with -s
    assert largest < HEADROOM_BYTES, f"{largest} bytes in {where}"
