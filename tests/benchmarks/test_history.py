"""benchmarks/history.py: what an execution's history says about its path and cost."""

from __future__ import annotations

from benchmarks.history import summarize_history


def test_summarize_history_counts_states_polls_retries():
    def entered(name: str, kind: str = "Task") -> dict:
        return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}

    def exited(name: str, kind: str = "Task") -> dict:
        return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name}}

    events = [
        {"type": "ExecutionStarted"},
        entered("CreateSession"),
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionFailed"},
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionTimedOut"},
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionSucceeded"},
        exited("CreateSession"),
        entered("PollSession"),
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionSucceeded"},
        exited("PollSession"),
        entered("Route", "Choice"),
        exited("Route", "Choice"),
        entered("PollSession"),
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionFailed"},  # caught: no other attempt, not a retry
        exited("PollSession"),
        entered("Publish"),
        {"type": "TaskScheduled"},
        {"type": "TaskFailed"},
        {"type": "TaskScheduled"},
        {"type": "TaskSucceeded"},
        exited("Publish"),
        entered("Done", "Succeed"),
        {"type": "ExecutionSucceeded"},
    ]
    summary = summarize_history(events)
    assert summary.states == ("CreateSession", "PollSession", "Route", "PollSession", "Publish", "Done")
    assert summary.polls == 2
    assert summary.retries == {"CreateSession": 2, "Publish": 1}
    assert summary.transitions == 6
    assert summary.billable_transitions == 9
