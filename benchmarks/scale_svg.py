"""The scale scenario's picture: GetStreamingSession calls per second over the burst, against
the service's limit and the schedule's rate (an SVG written by hand, like benchmarks/svg.py)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from benchmarks.svg import nice_ticks

__all__ = ["calls_per_second_svg"]

WIDTH, HEIGHT = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 40, 50


def calls_per_second_svg(
    with_schedule: Sequence[int],
    without_schedule: Sequence[int],
    *,
    limit: float,
    schedule: float,
    title: str,
) -> str:
    """Two step lines (calls in each second, with and without the schedule) and two levels."""
    seconds = max(len(with_schedule), len(without_schedule), 1)
    # The scale is the limit's: the run without a schedule goes far above it, and is clipped.
    y_ticks = nice_ticks(0, max([limit, schedule, *with_schedule, 1]) * 2.2, 6)
    unscheduled_peak = max(without_schedule, default=0)
    without_schedule = [min(count, y_ticks[-1]) for count in without_schedule]
    x_ticks = nice_ticks(0, seconds, 8)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(second: float) -> float:
        return LEFT + plot_w * second / x_ticks[-1]

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_ticks[-1])

    def steps(counts: Sequence[int]) -> str:
        points = []
        for second, count in enumerate(counts):
            points += [f"{x(second):.1f},{y(count):.1f}", f"{x(second + 1):.1f},{y(count):.1f}"]
        return " ".join(points)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    for tick in y_ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for tick in x_ticks:
        parts.append(
            f'<text x="{x(tick):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{tick:g}</text>'
        )
    parts += [
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">seconds since the burst</text>',
        f'<text x="16" y="{TOP + plot_h / 2}" text-anchor="middle" transform="rotate(-90 16 {TOP + plot_h / 2})">'
        "GetStreamingSession calls per second</text>",
        f'<polyline fill="none" stroke="#bbbbbb" stroke-width="1" points="{steps(without_schedule)}"/>',
        f'<polyline fill="none" stroke="#1b6ca8" stroke-width="1.5" points="{steps(with_schedule)}"/>',
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" stroke="#d1495b" '
        'stroke-width="2" stroke-dasharray="6 4"/>',
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(schedule):.1f}" y2="{y(schedule):.1f}" stroke="#2e933c" '
        'stroke-dasharray="2 3"/>',
    ]
    legend = [
        ("#1b6ca8", "with the call schedule (the template's defaults)"),
        ("#bbbbbb", f"the same run without limits or schedule (up to {unscheduled_peak}/s, clipped)"),
        ("#d1495b", f"the service's limit ({limit:g}/s, assumed)"),
        ("#2e933c", f"the schedule's rate ({schedule:g}/s)"),
    ]
    for index, (colour, text) in enumerate(legend):
        top_y = TOP + 8 + index * 16
        parts.append(f'<rect x="{WIDTH - RIGHT - 300}" y="{top_y}" width="12" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{WIDTH - RIGHT - 282}" y="{top_y + 5}">{escape(text)}</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
