"""local/stack.py's settings: how many ApiFunction workers `make run` starts warm."""

from __future__ import annotations

from local.stack import API_WORKERS, LocalStack, StackSettings


def test_the_api_starts_with_provisioned_workers_by_default():
    assert StackSettings().api_workers == API_WORKERS == 8
    assert StackSettings.from_environment({}).api_workers == API_WORKERS


def test_api_workers_come_from_the_environment():
    assert StackSettings.from_environment({"API_WORKERS": "3"}).api_workers == 3


def test_the_stack_starts_its_api_workers_before_it_serves(tmp_path):
    settings = StackSettings(api_port=0, nimble_port=0, events_file=tmp_path / "events.jsonl", api_workers=2)
    with LocalStack(settings) as stack:
        assert stack.engine is not None
        pids = stack.engine.worker_pids()
        assert len(pids["ApiFunction"]) == 2
        assert len(pids["ValidateRequestFunction"]) == 1
