"""Workflow states and Nimble sessions as the step logic's unit tests build them."""

from datetime import UTC, datetime

REQUESTED_AT = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def session(state="CREATE_IN_PROGRESS", status_code=None, **extra):
    value = {
        "sessionId": "session-1",
        "state": state,
        "statusCode": status_code or f"STREAMING_SESSION_{state}",
        "launchProfileId": "lp-local",
        "ownedBy": "artist",
        "ec2InstanceType": "g4dn.xlarge",
        "createdAt": REQUESTED_AT,
        "arn": "arn:aws:nimble:us-east-1:123456789012:streaming-session/session-1",
    }
    value.update(extra)
    return value


def workflow_state(**parts):
    state = {
        "request": {
            "requestId": "req-1",
            "requestedAt": REQUESTED_AT.isoformat(),
            "studioId": "studio-local",
            "clientToken": "token-1",
            "launchProfileId": "lp-local",
            "ownedBy": "artist",
        },
        "polling": {
            "initialWaitSeconds": 60,
            "intervalSeconds": 10,
            "checksPerPoll": 1,
            "budgetSeconds": 1800,
        },
    }
    state.update(parts)
    return state
