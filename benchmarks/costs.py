"""List prices and the cost of one provisioning request, from counted transitions and invocations.

Only arithmetic lives here; the counts come from executing the state machine (see
:mod:`benchmarks.polling`). Prices are the public list prices (us-east-1) without free tiers:

* Step Functions Standard: $0.025 per 1,000 state transitions; each retry counts as one.
* Lambda requests: $0.20 per 1M.
* Lambda compute, arm64: $0.0000133334 per GB-second, the duration of each invocation rounded
  up to the next millisecond, GB = MemorySize / 1024.

Left out because they do not depend on the polling policy: the one EventBridge PutEvents per
request ($1.00 per 1M events), Nimble Studio calls (no charge), CloudWatch Logs and X-Ray.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["LIST_PRICES", "CostBreakdown", "Invocation", "Prices", "billed_ms", "request_cost"]


@dataclass(frozen=True)
class Prices:
    per_transition_usd: float = 0.025 / 1_000
    per_lambda_request_usd: float = 0.20 / 1_000_000
    per_gb_second_usd: float = 0.0000133334  # arm64

    def to_json(self) -> dict[str, float]:
        return {
            "step_functions_per_1000_transitions_usd": round(self.per_transition_usd * 1_000, 6),
            "lambda_per_1m_requests_usd": round(self.per_lambda_request_usd * 1_000_000, 6),
            "lambda_arm64_per_gb_second_usd": self.per_gb_second_usd,
        }


LIST_PRICES = Prices()


@dataclass(frozen=True)
class Invocation:
    """One Lambda invocation: which function, how long it ran (seconds) and its MemorySize."""

    function: str
    duration_s: float
    memory_mb: int


def billed_ms(duration_s: float) -> int:
    """Lambda's billed duration: rounded up to the next millisecond (at least 1 ms)."""
    if duration_s < 0:
        raise ValueError("a duration cannot be negative")
    # round() first: 0.1 s must bill 100 ms, not 101 because of 100.00000000000001.
    return max(1, math.ceil(round(duration_s * 1000, 6)))


@dataclass(frozen=True)
class CostBreakdown:
    transitions: int
    invocations: int
    gb_seconds: float
    transitions_usd: float
    requests_usd: float
    compute_usd: float

    @property
    def lambda_usd(self) -> float:
        return self.requests_usd + self.compute_usd

    @property
    def total_usd(self) -> float:
        return self.transitions_usd + self.requests_usd + self.compute_usd

    def per_1000(self) -> dict[str, float]:
        """USD per 1,000 requests, by component."""
        return {
            "step_functions_usd": round(self.transitions_usd * 1000, 6),
            "lambda_requests_usd": round(self.requests_usd * 1000, 6),
            "lambda_compute_usd": round(self.compute_usd * 1000, 6),
            "total_usd": round(self.total_usd * 1000, 6),
        }

    def to_json(self) -> dict[str, float | int]:
        return {**asdict(self), "total_usd": self.total_usd}


def request_cost(
    transitions: int, invocations: Iterable[Invocation], prices: Prices = LIST_PRICES
) -> CostBreakdown:
    """What one request costs: its billable transitions and every Lambda invocation it made."""
    if transitions < 0:
        raise ValueError("transitions cannot be negative")
    items = list(invocations)
    gb_seconds = sum(billed_ms(item.duration_s) / 1000 * item.memory_mb / 1024 for item in items)
    return CostBreakdown(
        transitions=transitions,
        invocations=len(items),
        gb_seconds=gb_seconds,
        transitions_usd=transitions * prices.per_transition_usd,
        requests_usd=len(items) * prices.per_lambda_request_usd,
        compute_usd=gb_seconds * prices.per_gb_second_usd,
    )
