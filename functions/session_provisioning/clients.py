"""The AWS clients of one execution environment, made one way for every function.

A handler module holds one :class:`Clients` at module level (module state lives as long as the
execution environment). Each client is made on first use from one shared botocore session (one
model loader, one endpoints table) and kept for the warm invocations that follow. botocore
directly, not boto3: importing boto3 (and s3transfer) costs ~25 ms of every cold start for
nothing these functions use.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import botocore.session
from botocore.config import Config

from session_provisioning.nimble.client import nimble_client

# Step Functions and DynamoDB: a few SDK retries, bounded timeouts.
STEP_FUNCTIONS_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=10,  # well inside API Gateway's 29 s integration timeout
)


class Clients:
    """Nimble Studio, Step Functions, DynamoDB and EventBridge clients, each made on first use.

    `nimble_attempts`: HTTP attempts per Nimble Studio call. 1 for the workflow's steps, whose
    retries the state machine owns (see nimble_client); a function outside the state machine
    (the reconciler) retries transient errors in the SDK instead.
    """

    def __init__(self, *, nimble_attempts: int = 1) -> None:
        self.nimble_attempts = nimble_attempts

    @cached_property
    def session(self) -> botocore.session.Session:
        return botocore.session.get_session()

    @cached_property
    def nimble(self) -> Any:
        return nimble_client(botocore_session=self.session, max_attempts=self.nimble_attempts)

    @cached_property
    def step_functions(self) -> Any:
        return self.session.create_client("stepfunctions", config=STEP_FUNCTIONS_CONFIG)

    @cached_property
    def dynamodb(self) -> Any:
        """The call schedule's table (logic.schedule) and the reconciler's announcements table."""
        return self.session.create_client("dynamodb", config=STEP_FUNCTIONS_CONFIG)

    @cached_property
    def events(self) -> Any:
        return self.session.create_client("events")
