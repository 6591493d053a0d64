"""Small statistics without numpy: percentiles and medians the way the report states them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["mean", "median", "percentile"]


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks.

    The same definition as numpy's default (``method="linear"``): p0 is the minimum, p100 the
    maximum, p50 the median. ``ValueError`` for no values or ``q`` outside 0-100.
    """
    ordered = sorted(float(v) for v in values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100 or math.isnan(q):
        raise ValueError("q must be within 0 and 100")
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def median(values: Iterable[float]) -> float:
    return percentile(values, 50)


def mean(values: Sequence[float] | Iterable[float]) -> float:
    items = [float(v) for v in values]
    if not items:
        raise ValueError("mean of no values")
    return sum(items) / len(items)
