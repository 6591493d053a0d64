"""Unit tests of the step logic: the real Nimble client model, answered by botocore's Stubber."""

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from session_provisioning.nimble.client import nimble_client

REQUESTED_AT = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def client():
    return nimble_client(endpoint_url="http://127.0.0.1:9", region_name="us-east-1")


@pytest.fixture
def stub(client):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


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
