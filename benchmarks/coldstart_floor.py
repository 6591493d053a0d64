"""The floor under the cold-start ratio: what a function built to this project's rules costs
before any code of ours.

The project's rules fix three things every function loads at init: Powertools' Logger, Metrics
and Tracer (tracing is on as deployed), pydantic models at every boundary, and the AWS client
the function calls (made at init, kept while warm). The floor functions below hold exactly
that and nothing of the product: the observability set-up every handler shares, a botocore
client, one pydantic model with two constrained fields (the first model with a ``Field``
constraint is what makes pydantic import its fields, types and annotated-types modules) and,
for the API, Powertools' REST resolver with one validated route and its first request.

They are measured exactly as the functions are (the same unpacked layer, environment,
interpreter flags, rounds and baseline beside each), so the table shows how much of a
function's ratio is the stack's and how much is ours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.coldstart import FunctionArtifact, measure, measure_first_request

__all__ = ["FLOOR_MODULES", "floor_artifacts", "measure_floor"]

_STEP_FLOOR = '''\
"""Floor of a workflow step: observability, its client made at init, one constrained model."""
import botocore.session
from pydantic import BaseModel, Field

from session_provisioning.nimble.client import nimble_client
from session_provisioning.observability import lambda_entry

client = nimble_client(botocore_session=botocore.session.get_session())


class Request(BaseModel):
    studio_id: str = Field(min_length=1, max_length=256)
    attempt: int = Field(ge=0)


@lambda_entry("requestId")
def lambda_handler(event, context):
    return Request.model_validate(event).model_dump()
'''

_API_FLOOR = '''\
"""Floor of the API: the REST resolver with one validated route, a Step Functions client."""
import json
import os
from typing import Annotated

import botocore.session
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, Field

from session_provisioning.observability import lambda_entry

app = APIGatewayRestResolver()
step_functions = botocore.session.get_session().create_client("stepfunctions")


class SessionRequest(BaseModel):
    launchProfileId: str = Field(min_length=1, max_length=256)


@app.post("/studios/<studioId>/streaming-sessions", status_code=202, enable_validation=True)
def create_request(
    studioId: Annotated[str, Path(min_length=1)], body: Annotated[SessionRequest, Body()]
):
    started = step_functions.start_execution(
        stateMachineArn=os.environ["STATE_MACHINE_ARN"], input=json.dumps(body.model_dump())
    )
    return {"executionArn": started["executionArn"]}, 202


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
'''

#: Floor module name -> (its source, the function whose unpacked package and environment it uses).
FLOOR_MODULES: dict[str, tuple[str, str]] = {
    "floor_step": (_STEP_FLOOR, "CreateSessionFunction"),
    "floor_api": (_API_FLOOR, "ApiFunction"),
}


def floor_artifacts(functions: list[FunctionArtifact], folder: Path) -> dict[str, FunctionArtifact]:
    """Each floor module written to ``folder`` and run with its function's package and environment
    (``folder`` first on the search path, as a function's own folder is)."""
    by_id = {function.logical_id: function for function in functions}
    found = {}
    for module, (source, function_id) in FLOOR_MODULES.items():
        (folder / f"{module}.py").write_text(source, encoding="utf-8")
        function = by_id[function_id]
        found[module] = dataclasses.replace(
            function, logical_id=module, module=module, search_path=(folder, *function.search_path)
        )
    return found


def measure_floor(
    functions: list[FunctionArtifact], folder: Path, runs: int, *, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """The floor modules' init ratios, and the API floor's init plus first request."""
    floors = floor_artifacts(functions, folder)
    log(f"  floor: the project's stack without its code, {runs} runs each")
    init = measure(floors.values(), runs, log=log)
    first_request = measure_first_request(floors["floor_api"], runs)
    log(f"    floor_api init + first request {first_request['ratio']:.2f}x")
    return {
        "what": "Powertools Logger/Metrics/Tracer as every handler sets them up, the function's botocore "
        "client made at init, one pydantic model with constrained fields; the API's adds Powertools' "
        "REST resolver with one validated route (init plus its first request)",
        "functions": init,
        "api_first_request": first_request,
        "max_ratio_vs_boto3": max(max(row["ratio"] for row in init.values()), first_request["ratio"]),
    }
