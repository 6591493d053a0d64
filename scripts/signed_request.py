"""Call the deployed HTTP API with SigV4-signed requests (ApiAuthType=AWS_IAM), print the answer.

    python scripts/signed_request.py create --url https://abc123.execute-api.us-east-1.amazonaws.com/v1 \\
        --studio studio-1234 --launch-profile lp-5678 [--instance-type g4dn.xlarge] \\
        [--owned-by artist] [--streaming-image image-1] [--tag project=demo] [--client-token T]
    python scripts/signed_request.py status --url https://.../v1 --studio studio-1234 --request-id req-...
    python scripts/signed_request.py cancel --url https://.../v1 --studio studio-1234 --request-id req-...

--url is the stack's ApiUrl output (stage included). The credentials are the caller's, found
the way the AWS CLI finds them (environment, --profile, SSO, instance role...); the region is
read from the execute-api host name unless --region says otherwise. The caller needs
execute-api:Invoke on the API. Prints the status line, the interesting headers and the JSON
body; exits 0 for a 2xx answer, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SERVICE = "execute-api"
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
SHOWN_HEADERS = ("Location", "Retry-After", "Allow", "x-amzn-RequestId", "x-amzn-ErrorType")


def build_request(args: argparse.Namespace) -> tuple[str, str, bytes | None, dict[str, str]]:
    """(method, url, body, headers) of the call the command line asks for."""
    base = args.url.rstrip("/")
    studio = quote(args.studio, safe="")
    if args.command == "create":
        body: dict[str, Any] = {"launchProfileId": args.launch_profile}
        optional = {
            "ec2InstanceType": args.instance_type,
            "ownedBy": args.owned_by,
            "streamingImageId": args.streaming_image,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        if args.tag:
            body["tags"] = dict(args.tag)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if args.client_token is not None:
            headers["X-Amz-Client-Token"] = args.client_token
        data = json.dumps(body).encode("utf-8")
        return "POST", f"{base}/studios/{studio}/streaming-sessions", data, headers
    request_id = quote(args.request_id, safe="")
    url = f"{base}/studios/{studio}/streaming-sessions/requests/{request_id}"
    return ("DELETE" if args.command == "cancel" else "GET"), url, None, {"Accept": "application/json"}


def region_for(url: str, explicit: str | None, session: botocore.session.Session) -> str:
    if explicit:
        return explicit
    match = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    if match:
        return match["region"]
    region = session.get_config_variable("region")
    if not region:
        raise SystemExit("cannot tell the region from the URL: pass --region")
    return region


def sign(
    method: str, url: str, body: bytes | None, headers: dict[str, str], *, region: str, profile: str | None
) -> dict[str, str]:
    """The headers to send: ours plus X-Amz-Date, X-Amz-Security-Token (if any) and Authorization."""
    session = botocore.session.Session(profile=profile)
    credentials = session.get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials found (environment, --profile, SSO, instance role ...)")
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(request)
    return dict(request.headers.items())


def send(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float):
    """(status, headers, body bytes); HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - https/http URL from the user
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--url", required=True, help="the stack's ApiUrl, e.g. https://...amazonaws.com/v1"
        )
        command.add_argument("--studio", required=True, help="studio id")
        command.add_argument("--region", help="default: from the URL, else the profile's region")
        command.add_argument("--profile", help="AWS profile for the credentials")
        command.add_argument("--timeout", type=float, default=30, help="seconds (default %(default)s)")

    create = commands.add_parser("create", help="POST /studios/{studio}/streaming-sessions")
    common(create)
    create.add_argument("--launch-profile", required=True, help="launchProfileId")
    create.add_argument("--instance-type", help="ec2InstanceType, e.g. g4dn.xlarge")
    create.add_argument("--owned-by", help="ownedBy")
    create.add_argument("--streaming-image", help="streamingImageId")
    create.add_argument("--tag", type=_tag, action="append", metavar="KEY=VALUE", help="repeatable")
    create.add_argument("--client-token", help="X-Amz-Client-Token (1-64 chars); default: the API makes one")

    status = commands.add_parser("status", help="GET /studios/{studio}/streaming-sessions/requests/{id}")
    common(status)
    status.add_argument("--request-id", required=True, help="requestId from the create answer")
    cancel = commands.add_parser("cancel", help="DELETE /studios/{studio}/streaming-sessions/requests/{id}")
    common(cancel)
    cancel.add_argument("--request-id", required=True, help="requestId from the create answer")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    method, url, body, headers = build_request(args)
    region = region_for(url, args.region, botocore.session.Session(profile=args.profile))
    signed = sign(method, url, body, headers, region=region, profile=args.profile)
    status, response_headers, payload = send(method, url, body, signed, args.timeout)
    print(f"HTTP {status}")
    for name in SHOWN_HEADERS:
        if response_headers.get(name):
            print(f"{name}: {response_headers.get(name)}")
    try:
        print(json.dumps(json.loads(payload), indent=2, ensure_ascii=False))
    except ValueError:
        print(payload.decode("utf-8", "replace"))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
