"""Unit tests of the step logic: the real Nimble client model, answered by botocore's Stubber."""

import pytest
from botocore.stub import Stubber

from session_provisioning.nimble.client import nimble_client


@pytest.fixture(scope="session")
def client():
    return nimble_client(endpoint_url="http://127.0.0.1:9", region_name="us-east-1")


@pytest.fixture
def stub(client):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
