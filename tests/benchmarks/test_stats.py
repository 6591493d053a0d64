"""Percentiles as the report states them (numpy's default, linear interpolation)."""

from __future__ import annotations

import pytest

from benchmarks.stats import mean, median, percentile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 0, 1),
        ([1, 2, 3, 4], 100, 4),
        ([1, 2, 3, 4], 99, 3.97),
        ([4, 1, 3, 2], 25, 1.75),
        ([7], 99, 7),
        (list(range(1, 201)), 99, 198.01),
        (list(range(1, 201)), 50, 100.5),
    ],
)
def test_percentile(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_does_not_reorder_its_input_and_accepts_iterators():
    values = [3, 1, 2]
    assert percentile(iter(values), 50) == 2
    assert values == [3, 1, 2]


@pytest.mark.parametrize("q", [-1, 100.5, float("nan")])
def test_percentile_rejects_q_outside_0_to_100(q):
    with pytest.raises(ValueError, match="q must be"):
        percentile([1, 2], q)


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="no values"):
        mean([])


def test_median_and_mean():
    assert median([5, 1, 3]) == 3
    assert median([1, 2, 3, 10]) == 2.5
    assert mean([1, 2, 3, 10]) == 4
