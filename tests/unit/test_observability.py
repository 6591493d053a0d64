"""The handlers' shared observability (session_provisioning.observability)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

# In a clean interpreter, as in Lambda: pytest installs its own warning filters around each test.
INVOCATION_THAT_COUNTS_NOTHING = """
from session_provisioning.observability import metrics
metrics.log_metrics(lambda event, context: None)({}, None)
"""


def test_an_invocation_that_counts_nothing_leaves_no_warning_in_the_log():
    # A GET on the API or a failed create adds no metric; Powertools would warn at each flush.
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("POWERTOOLS_", "PYTHONWARN"))
    }
    environment |= {"POWERTOOLS_METRICS_NAMESPACE": "Test", "PYTHONPATH": str(FUNCTIONS)}
    result = subprocess.run(
        [sys.executable, "-c", INVOCATION_THAT_COUNTS_NOTHING],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Warning" not in result.stderr, result.stderr
