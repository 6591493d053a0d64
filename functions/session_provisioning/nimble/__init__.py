"""Amazon Nimble Studio: our own botocore service model and the client factory."""

from session_provisioning.nimble.client import NIMBLE_DATA_PATH, nimble_client

__all__ = ["NIMBLE_DATA_PATH", "nimble_client"]
