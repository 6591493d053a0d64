"""The trade-off picture's SVG writer."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from benchmarks.svg import Marker, Series, nice_ticks, tradeoff_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("low", "high"), [(0, 1.05), (0, 10.92), (0, 16.2), (0, 0.5), (3, 3), (0, 1234)])
def test_ticks_are_round_and_cover_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low
    assert ticks[-1] >= high
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    assert 3 <= len(ticks) <= 12


def test_ticks_reject_bad_ranges():
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(2, 1)
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, float("inf"))


def test_picture_is_well_formed_with_every_point():
    svg = tradeoff_svg(
        [
            Series("1 check/poll", [(8.4, 0.9, "8 s"), (15.4, 0.5, "15 s")]),
            Series("6 checks/poll", [(8.4, 0.48, "8 s")]),
        ],
        [Marker("SDK waiter", 10.4, 1.0, "square"), Marker("recommended", 8.4, 0.42, "star")],
        title="Polling <trade-off> & cost",
        x_label="delay (s)",
        y_label="cost",
        goal=(10, 0.5),
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == f"{SVG}svg"
    # 3 points + 2 legend dots; markers drawn twice (plot and legend)
    assert len(root.findall(f"{SVG}circle")) == 5
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "Polling <trade-off> & cost" in texts
    assert any(t.startswith("goal: delay") for t in texts)
    assert "recommended" in texts
