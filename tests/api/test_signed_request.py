"""scripts/signed_request.py signs with SigV4 for execute-api: checked against a stub server on
127.0.0.1 by recomputing the signature from what arrived."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("signed_request", ROOT / "scripts" / "signed_request.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Stub(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: tuple[int, dict[str, Any], dict[str, str]] = (202, {"requestId": "req-x"}, {})
        super().__init__(("127.0.0.1", 0), _StubHandler)


class _StubHandler(BaseHTTPRequestHandler):
    server: Stub

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": self.rfile.read(length) if length else b"",
            }
        )
        status, body, headers = self.server.answer
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _any

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def base_url(stub: Stub) -> str:
    return f"http://127.0.0.1:{stub.server_address[1]}/v1"


def assert_signed(received: dict[str, Any], *, host: str, region: str = "us-east-1") -> None:
    """The Authorization header is the SigV4 signature of exactly what arrived."""
    headers = received["headers"]
    authorization = headers["authorization"]
    date = headers["x-amz-date"]
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential=testing/{date[:8]}/{region}/execute-api/aws4_request"
    )
    assert headers["x-amz-security-token"] == "testing"  # tests/conftest.py's session token
    signed_names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed_names)

    request = AWSRequest(
        method=received["method"],
        url=f"http://{host}{received['path']}",
        data=received["body"],
        headers={name: headers[name] for name in signed_names if name in headers},
    )
    request.context["timestamp"] = date
    signer = SigV4Auth(Credentials("testing", "testing", "testing"), "execute-api", region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert authorization.endswith(f"Signature={expected}")


def test_create_is_signed_and_printed(script, stub, capsys):
    exit_code = script.main(
        [
            "create",
            "--url",
            base_url(stub),
            "--region",
            "us-east-1",
            "--studio",
            "studio-local",
            "--launch-profile",
            "lp-local",
            "--instance-type",
            "g4dn.xlarge",
            "--streaming-image",
            "image-local",
            "--tag",
            "project=demo",
            "--client-token",
            "token-1",
        ]
    )
    assert exit_code == 0
    [received] = stub.received
    assert received["method"] == "POST"
    assert received["path"] == "/v1/studios/studio-local/streaming-sessions"
    assert json.loads(received["body"]) == {
        "launchProfileId": "lp-local",
        "ec2InstanceType": "g4dn.xlarge",
        "streamingImageId": "image-local",
        "tags": {"project": "demo"},
    }
    assert received["headers"]["x-amz-client-token"] == "token-1"
    assert received["headers"]["content-type"] == "application/json"
    assert_signed(received, host=f"127.0.0.1:{stub.server_address[1]}")
    out = capsys.readouterr().out
    assert out.startswith("HTTP 202\n")
    assert '"requestId": "req-x"' in out


def test_status_is_signed_and_an_error_answer_exits_1(script, stub, capsys):
    stub.answer = (404, {"code": "ResourceNotFoundException", "message": "no"}, {"x-amzn-RequestId": "abc"})
    exit_code = script.main(
        [
            "status",
            "--url",
            base_url(stub) + "/",
            "--region",
            "eu-west-1",
            "--studio",
            "studio local",
            "--request-id",
            "req-abc",
        ]
    )
    assert exit_code == 1
    [received] = stub.received
    assert received["method"] == "GET"
    assert received["path"] == "/v1/studios/studio%20local/streaming-sessions/requests/req-abc"
    assert_signed(received, host=f"127.0.0.1:{stub.server_address[1]}", region="eu-west-1")
    out = capsys.readouterr().out
    assert "HTTP 404" in out
    assert "x-amzn-RequestId: abc" in out
    assert "ResourceNotFoundException" in out


def test_region_comes_from_the_execute_api_host(script):
    import botocore.session

    url = "https://abc123.execute-api.eu-central-1.amazonaws.com/v1/studios/s/streaming-sessions"
    assert script.region_for(url, None, botocore.session.Session()) == "eu-central-1"
    assert script.region_for(url, "us-west-2", botocore.session.Session()) == "us-west-2"


def test_bad_tag_is_a_usage_error(script):
    with pytest.raises(SystemExit):
        script.main(
            ["create", "--url", "http://127.0.0.1:9", "--studio", "s", "--launch-profile", "l", "--tag", "x"]
        )
