"""A small SVG writer for the cost / detection-delay trade-off picture (no plotting library)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["Marker", "Series", "nice_ticks", "tradeoff_svg"]

PALETTE = ("#1b6ca8", "#d1495b", "#2e933c", "#7b2cbf", "#00798c", "#edae49")


@dataclass(frozen=True)
class Series:
    """Points joined by a line, e.g. one checks-per-poll value across intervals."""

    name: str
    points: Sequence[tuple[float, float, str]]  # (x, y, label)


@dataclass(frozen=True)
class Marker:
    """A single highlighted point (baseline, current default, recommendation)."""

    name: str
    x: float
    y: float
    shape: str = "diamond"  # diamond, square or star


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError("need finite low <= high")
    if high == low:
        high = low + 1
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:g}"


def tradeoff_svg(
    series: Sequence[Series],
    markers: Sequence[Marker] = (),
    *,
    title: str,
    x_label: str,
    y_label: str,
    goal: tuple[float, float] | None = None,
    width: int = 760,
    height: int = 470,
) -> str:
    """A scatter/line chart as an SVG document. ``goal`` = (max x, max y) is shaded."""
    xs = [p[0] for s in series for p in s.points] + [m.x for m in markers]
    ys = [p[1] for s in series for p in s.points] + [m.y for m in markers]
    if goal:
        xs.append(goal[0])
        ys.append(goal[1])
    x_ticks = nice_ticks(0, max(xs) * 1.05)
    y_ticks = nice_ticks(0, max(ys) * 1.05)
    left, right, top, bottom = 70, 190, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x_ticks[0]) / (x_ticks[-1] - x_ticks[0]) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="24" text-anchor="middle" font-size="15" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    if goal:
        gx, gy = px(min(goal[0], x_ticks[-1])), py(min(goal[1], y_ticks[-1]))
        out.append(
            f'<rect x="{left}" y="{gy:.1f}" width="{gx - left:.1f}" height="{top + plot_h - gy:.1f}" '
            'fill="#2e933c" fill-opacity="0.10" stroke="#2e933c" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{left + 6}" y="{gy + 15:.1f}" fill="#2e933c">goal: delay &#8804; {_fmt(goal[0])} s, '
            f"cost &#8804; {_fmt(goal[1])}&#215;</text>"
        )
    for tick in x_ticks:
        x = px(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#e6e6e6"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{_fmt(tick)}</text>')
    for tick in y_ticks:
        y = py(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333333"/>'
    )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 18}" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text transform="translate(20 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    legend_y = top + 10
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        ordered = sorted(item.points)
        if len(ordered) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in ordered)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for x, y, label in ordered:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{colour}"/>')
            if label:
                out.append(
                    f'<text x="{px(x) + 6:.1f}" y="{py(y) - 6:.1f}" fill="{colour}" font-size="10">'
                    f"{escape(label)}</text>"
                )
        lx = left + plot_w + 16
        out.append(f'<circle cx="{lx}" cy="{legend_y}" r="4" fill="{colour}"/>')
        out.append(f'<text x="{lx + 10}" y="{legend_y + 4}">{escape(item.name)}</text>')
        legend_y += 20
    for marker in markers:
        x, y = px(marker.x), py(marker.y)
        out.append(_marker(marker.shape, x, y))
        lx = left + plot_w + 16
        out.append(_marker(marker.shape, lx, legend_y))
        out.append(f'<text x="{lx + 10}" y="{legend_y + 4}">{escape(marker.name)}</text>')
        legend_y += 20
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _marker(shape: str, x: float, y: float) -> str:
    if shape == "square":
        return f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="#333333"/>'
    if shape == "star":
        points = []
        for i in range(10):
            radius = 8 if i % 2 == 0 else 3.5
            angle = math.pi / 2 + i * math.pi / 5
            points.append(f"{x + radius * math.cos(angle):.1f},{y - radius * math.sin(angle):.1f}")
        return f'<polygon points="{" ".join(points)}" fill="#f4c430" stroke="#000000" stroke-width="0.8"/>'
    return (
        f'<polygon points="{x:.1f},{y - 7:.1f} {x + 7:.1f},{y:.1f} {x:.1f},{y + 7:.1f} {x - 7:.1f},{y:.1f}" '
        'fill="#ffffff" stroke="#000000" stroke-width="1.5"/>'
    )
