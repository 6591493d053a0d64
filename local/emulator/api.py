"""The streaming-session operations of Nimble Studio (API 2020-08-01) on the wire.

The emulator speaks them the way the service did, so an unmodified boto3 client built from a
Nimble model talks to it:

=========================  ======  ==============================================================
operation                  method  path
=========================  ======  ==============================================================
CreateStreamingSession     POST    ``/2020-08-01/studios/{studioId}/streaming-sessions``
ListStreamingSessions      GET     ``/2020-08-01/studios/{studioId}/streaming-sessions``
GetStreamingSession        GET     ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}``
DeleteStreamingSession     DELETE  ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}``
StartStreamingSession      POST    ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}/start``
StopStreamingSession       POST    ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}/stop``
=========================  ======  ==============================================================

Each handler reads the operation's members from the path, query, ``X-Amz-Client-Token``
header and JSON body, calls the backend, and wraps what it returns. The client token comes
from the header; the body may hold only the operation's members (see :mod:`.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.emulator.backend import NimbleBackend
from local.emulator.protocol import Reply, Request, json_members
from local.emulator.routing import Route

__all__ = ["API_PREFIX", "SessionApi"]

API_PREFIX = "/2020-08-01"

_BODY_MEMBERS: dict[str, frozenset[str]] = {
    "CreateStreamingSession": frozenset(
        {"ec2InstanceType", "launchProfileId", "ownedBy", "streamingImageId", "tags"}
    ),
    "StartStreamingSession": frozenset({"backupId"}),
    "StopStreamingSession": frozenset({"volumeRetentionMode"}),
}


def _body(request: Request, operation: str) -> dict[str, Any]:
    return json_members(request.body, _BODY_MEMBERS[operation], operation)


class SessionApi:
    """The six operations' routes and handlers over one backend."""

    def __init__(self, backend: NimbleBackend) -> None:
        self.backend = backend
        sessions = f"{API_PREFIX}/studios/{{studioId}}/streaming-sessions"
        self.routes = [
            Route.at(
                sessions,
                {
                    "POST": ("CreateStreamingSession", self._create),
                    "GET": ("ListStreamingSessions", self._list),
                },
            ),
            Route.at(
                f"{sessions}/{{sessionId}}",
                {
                    "GET": ("GetStreamingSession", self._get),
                    "DELETE": ("DeleteStreamingSession", self._delete),
                },
            ),
            Route.at(f"{sessions}/{{sessionId}}/start", {"POST": ("StartStreamingSession", self._start)}),
            Route.at(f"{sessions}/{{sessionId}}/stop", {"POST": ("StopStreamingSession", self._stop)}),
        ]

    def _create(self, request: Request, params: dict[str, str]) -> Reply:
        body = _body(request, "CreateStreamingSession")
        session = self.backend.create_streaming_session(
            params["studioId"],
            launch_profile_id=body.get("launchProfileId"),
            ec2_instance_type=body.get("ec2InstanceType"),
            owned_by=body.get("ownedBy"),
            streaming_image_id=body.get("streamingImageId"),
            tags=body.get("tags"),
            client_token=request.header("X-Amz-Client-Token"),
            caller=params["caller"],
        )
        return Reply(200, {"session": session})

    def _list(self, request: Request, params: dict[str, str]) -> Reply:
        query = request.query
        sessions, next_token = self.backend.list_streaming_sessions(
            params["studioId"],
            created_by=query.get("createdBy"),
            owned_by=query.get("ownedBy"),
            session_ids=query.get("sessionIds"),
            next_token=query.get("nextToken"),
            caller=params["caller"],
        )
        body: dict[str, Any] = {"sessions": sessions}
        if next_token is not None:
            body["nextToken"] = next_token
        return Reply(200, body)

    def _get(self, request: Request, params: dict[str, str]) -> Reply:
        session = self.backend.get_streaming_session(
            params["studioId"], params["sessionId"], caller=params["caller"]
        )
        return Reply(200, {"session": session})

    def _delete(self, request: Request, params: dict[str, str]) -> Reply:
        return self._move(self.backend.delete_streaming_session, request, params)

    def _start(self, request: Request, params: dict[str, str]) -> Reply:
        body = _body(request, "StartStreamingSession")
        return self._move(
            self.backend.start_streaming_session, request, params, backup_id=body.get("backupId")
        )

    def _stop(self, request: Request, params: dict[str, str]) -> Reply:
        body = _body(request, "StopStreamingSession")
        mode = body.get("volumeRetentionMode")
        return self._move(self.backend.stop_streaming_session, request, params, volume_retention_mode=mode)

    @staticmethod
    def _move(
        operation: Callable[..., dict[str, Any]], request: Request, params: dict[str, str], **members: Any
    ) -> Reply:
        """Delete, start or stop: the session named in the path, with the header's client token."""
        session = operation(
            params["studioId"],
            params["sessionId"],
            client_token=request.header("X-Amz-Client-Token"),
            caller=params["caller"],
            **members,
        )
        return Reply(200, {"session": session})
