"""local/moto_patches.py: moto made like AWS where the workflow depends on it (moto 5.2.5)."""

from __future__ import annotations

import uuid

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from local.engine import LocalEngine
from local.moto_patches import MOTO_VERSION, seconds_until_wake
from tests.support.workflow import ENVIRONMENT, PARAMETERS, STUDIO, execution_input, race


@pytest.fixture(scope="module")
def engine(emulator):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url}, environment=ENVIRONMENT
    ) as running:
        yield running


def test_the_patches_are_for_the_installed_moto():
    assert moto.__version__ == MOTO_VERSION


TEN = 1_900_000_000.0  # 2030-03-17T17:46:40Z: a whole second


@pytest.mark.parametrize(
    ("timestamp", "now", "exact", "seconds"),
    [
        # AWS truncates the timestamp's milliseconds: it wakes at 17:46:45, not 45.9.
        ("2030-03-17T17:46:45.900Z", TEN, True, 5.0),
        ("2030-03-17T17:46:45Z", TEN + 0.25, True, 4.75),
        # Real time: whole seconds (moto's Wait counts them), never before AWS would wake.
        ("2030-03-17T17:46:45.900Z", TEN + 0.3, False, 5),
        ("2030-03-17T17:46:45.000Z", TEN, False, 5),
        # A moment already past (or within the current second, once truncated) waits nothing.
        ("2030-03-17T17:46:40.500Z", TEN + 0.2, True, 0.0),
        ("2030-03-17T17:46:39Z", TEN, False, 0),
    ],
)
def test_a_timestamp_wait_wakes_when_step_functions_would(timestamp, now, exact, seconds):
    assert seconds_until_wake(timestamp, now, exact=exact) == pytest.approx(seconds)


@pytest.mark.parametrize("name", ["has space", "a:b", "x" * 81, "semi;colon", "slash/"])
def test_execution_names_are_checked_like_aws(engine, name):
    with pytest.raises(ClientError) as error:
        engine.start_execution(execution_input("tok", "me"), name=name)
    assert error.value.response["Error"]["Code"] == "InvalidName"


def test_concurrent_start_execution_with_one_name_starts_one_execution(engine):
    """Without the engine's shim, moto 5.2.5 starts duplicates or fails here in ~1 round of 4."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    invalid = {"studioId": STUDIO}  # fails in ValidateRequest: cheap, and no Nimble call
    threads_count, rounds = 12, 20
    for round_ in range(rounds):
        name = f"concurrent-{round_}-{uuid.uuid4().hex[:8]}"
        arns, errors = race(threads_count, lambda name=name: engine.start_execution(invalid, name=name))
        results = arns + errors
        executions = sfn.list_executions(stateMachineArn=engine.state_machine_arn)["executions"]
        same_name = [e["executionArn"] for e in executions if e["name"] == name]
        assert len(same_name) == 1, f"round {round_}: {len(same_name)} executions named {name}"
        # Every call got that execution, or (as on AWS) ExecutionAlreadyExists naming it once it
        # had closed: this input fails in milliseconds, so a call the machine delayed may come
        # after the end. Never a second execution, never another error.
        assert set(arns) == set(same_name), f"round {round_}: {set(results)}"
        for error in errors:
            assert error.startswith("ExecutionAlreadyExists("), error
            assert same_name[0] in error, error
        assert len(results) == threads_count
