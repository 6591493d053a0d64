"""Per-account, per-operation request-rate limits: the service's throttling, as token buckets.

Nimble Studio never published its API rate limits. AWS control planes throttle each account's
calls per operation with a token bucket: a bucket holds at most ``burst`` tokens, refills at
``ratePerSecond``, and every call takes one; a call that finds the bucket empty is answered 429
``ThrottlingException`` ("Rate exceeded") and changes nothing. The defaults below are an
assumption in the range AWS control planes use (EC2's own: reads ~20/s, mutations ~5-10/s);
the README's emulator section states them, and a user sets their own.

Off by default (a plain ``make run`` behaves as before); on in ``make chaos`` and in the scale
scenario of ``make bench``. Set through ``rateLimits`` in ``POST /_emulator/config`` or
``NIMBLE_EMULATOR_CONFIG``; ``GET /_emulator/state`` shows the throttled calls per operation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pydantic import Field, field_validator

from local.emulator.exceptions import ThrottlingException
from local.emulator.faults import OPERATIONS, CamelModel

__all__ = ["DEFAULT_LIMITS", "RateLimit", "RateLimiter", "RateLimits"]


class RateLimit(CamelModel):
    """One operation's bucket: sustained calls per second and the burst it may save up."""

    rate_per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


#: The assumed limits (per account): reads twice the rate of mutations, bursts of two seconds.
DEFAULT_LIMITS: dict[str, RateLimit] = {
    "GetStreamingSession": RateLimit(rate_per_second=20, burst=40),
    "ListStreamingSessions": RateLimit(rate_per_second=10, burst=20),
    "CreateStreamingSession": RateLimit(rate_per_second=10, burst=20),
    "DeleteStreamingSession": RateLimit(rate_per_second=10, burst=20),
    "StartStreamingSession": RateLimit(rate_per_second=10, burst=20),
    "StopStreamingSession": RateLimit(rate_per_second=10, burst=20),
}


class RateLimits(CamelModel):
    """``rateLimits``: on or off, and the operations whose limits differ from the defaults."""

    enabled: bool = False
    operations: dict[str, RateLimit] = Field(default_factory=dict)

    @field_validator("operations")
    @classmethod
    def _known_operations(cls, value: dict[str, RateLimit]) -> dict[str, RateLimit]:
        unknown = sorted(set(value) - set(OPERATIONS))
        if unknown:
            raise ValueError(
                f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(sorted(OPERATIONS))}"
            )
        return value

    def limit_for(self, operation: str) -> RateLimit:
        return self.operations.get(operation) or DEFAULT_LIMITS[operation]

    def effective(self) -> dict[str, dict[str, float]]:
        """Every operation's limit in force (what a user reads back)."""
        return {
            name: self.limit_for(name).model_dump(by_alias=True, mode="json")
            for name in sorted(DEFAULT_LIMITS)
        }


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """The buckets, keyed by (account, operation). Not locked: the backend calls it under its lock."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.throttled: Counter[str] = Counter()

    def reset(self) -> None:
        """Full buckets again, throttle tally cleared."""
        self._buckets.clear()
        self.throttled.clear()

    def admit(self, account: str, operation: str, now: float) -> None:
        """Take a token for this call, or raise ThrottlingException (the call does nothing)."""
        if not self.limits.enabled or operation not in DEFAULT_LIMITS:
            return
        limit = self.limits.limit_for(operation)
        bucket = self._buckets.get((account, operation))
        if bucket is None:
            bucket = self._buckets[(account, operation)] = _Bucket(tokens=float(limit.burst), updated=now)
        # A clock that steps back (a test's fake) refills nothing rather than draining the bucket.
        refill = max(now - bucket.updated, 0.0) * limit.rate_per_second
        bucket.tokens = min(float(limit.burst), bucket.tokens + refill)
        bucket.updated = max(now, bucket.updated)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        self.throttled[operation] += 1
        raise ThrottlingException(
            "Rate exceeded",
            {
                "operation": operation,
                "ratePerSecond": f"{limit.rate_per_second:g}",
                "burst": str(limit.burst),
            },
        )
