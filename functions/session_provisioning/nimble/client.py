"""Client factory for Amazon Nimble Studio, whose model no longer ships with botocore.

botocore dropped the ``nimble`` service in 1.35.48. We keep our own model under ``data/`` and
put that folder on the search path of the session's data loader; botocore then signs,
serializes, parses errors and runs waiters/paginators for ``nimble`` like any other client.

This module runs on every Lambda cold start, so it imports nothing heavy at import time:
botocore is imported inside :func:`nimble_client`, and boto3 not at all unless a boto3 session
is passed in (importing boto3 and building a boto3 session cost ~25 ms of every cold start of
the functions that call Nimble Studio, for nothing they use).
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3
    import botocore.session
    from botocore.client import BaseClient

__all__ = ["NIMBLE_DATA_PATH", "SERVICE_NAME", "USER_AGENT_EXTRA", "nimble_client"]

#: Folder holding ``nimble/2020-08-01/{service-2,waiters-2,paginators-1}.json``.
NIMBLE_DATA_PATH: pathlib.Path = pathlib.Path(__file__).resolve().parent / "data"

SERVICE_NAME = "nimble"
USER_AGENT_EXTRA = "nimble-session-provisioning"


def _add_model_path(session: botocore.session.Session) -> None:
    """Make ``NIMBLE_DATA_PATH`` the first place the session's loader looks (idempotent)."""
    loader = session.get_component("data_loader")
    path = str(NIMBLE_DATA_PATH)
    if path in loader.search_paths:
        return
    # First, so our model wins over a botocore old enough to still carry its own copy.
    loader.search_paths.insert(0, path)
    # The loader memoises lookups such as list_available_services(); a session that already
    # answered "which services exist?" would otherwise keep answering without nimble.
    cache = getattr(loader, "_cache", None)
    if isinstance(cache, dict):
        cache.clear()


def nimble_client(
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    max_attempts: int = 1,
    connect_timeout: float = 2,
    read_timeout: float = 10,
    boto3_session: boto3.Session | None = None,
    botocore_session: botocore.session.Session | None = None,
) -> BaseClient:
    """Return a botocore client for the ``nimble`` service.

    ``endpoint_url=None`` leaves endpoint resolution to botocore, which honours
    ``AWS_ENDPOINT_URL_NIMBLE`` (then ``AWS_ENDPOINT_URL`` and the shared config file).

    By default a fresh botocore session is used (the one a ``boto3.Session()`` would wrap), so
    the model path is never added to ``boto3.DEFAULT_SESSION`` (where other code registers event
    hooks) and boto3 is not imported. A session passed in as ``boto3_session`` or
    ``botocore_session`` (e.g. one shared with the function's other clients, so they share one
    loader and one endpoints table) gets the model path added to its loader, and makes the client.

    Build the client once per container (e.g. lazily at module level), not per invocation.
    """
    from botocore.config import Config

    if boto3_session is not None and botocore_session is not None:
        raise TypeError("give boto3_session or botocore_session, not both")
    if boto3_session is not None:
        _add_model_path(boto3_session._session)
        make_client = boto3_session.client
    else:
        if botocore_session is None:
            import botocore.session

            botocore_session = botocore.session.get_session()
        _add_model_path(botocore_session)
        make_client = botocore_session.create_client
    config = Config(
        # The Step Functions state machine owns retries (backoff, jitter, budget, and the
        # one retry policy per error in the workflow). SDK retries inside the Lambda would
        # multiply attempts and hide time from the state machine's Task timeout, so the
        # default is a single HTTP attempt.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra=USER_AGENT_EXTRA,
    )
    return make_client(SERVICE_NAME, endpoint_url=endpoint_url, region_name=region_name, config=config)
