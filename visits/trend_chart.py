"""Trend charts: each target's share at the end of each month, drawn on the server as inline SVG (no chart library).

The geometry is worked out here and the template only writes it out, so a test can read the points back.
"""
from collections import Counter
from dataclasses import dataclass
from datetime import date

from .month_end import sums_at_month_ends, training_at_month_ends

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 36, 10, 10, 24  # room for the axis labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass
class Point:
    month: date
    num: int
    den: int
    x: float
    y: float | None  # None: nothing to count yet (no denominator)

    @property
    def percent(self) -> int | None:
        return None if not self.den else int(self.num * 100 / self.den + 0.5)


@dataclass
class Chart:
    number: int
    short: str
    threshold: float
    strive: bool
    points: list[Point]

    @property
    def line(self) -> str:
        """The polyline through the months that have a figure."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points if p.y is not None)

    @property
    def threshold_y(self) -> float:
        return y_of(min(self.threshold, 1.0))

    @property
    def grid(self) -> list[tuple[int, float]]:
        return [(percent, y_of(percent / 100)) for percent in (0, 50, 100)]

    @property
    def latest(self) -> Point | None:
        shown = [p for p in self.points if p.y is not None]
        return shown[-1] if shown else None


def y_of(share: float) -> float:
    return TOP + PLOT_H * (1 - min(max(share, 0.0), 1.0))


def x_of(index: int, count: int) -> float:
    return LEFT + (PLOT_W * index / (count - 1) if count > 1 else PLOT_W / 2)


def charts(plan, targets, months: list[date], khu_pho_ids: list[int], main_key: dict, training_target: int):
    """One chart per target: the sums of these khu phố at each month's end."""
    sums = sums_at_month_ends(plan, months, khu_pho_ids)
    trained = training_at_month_ends(months, khu_pho_ids)
    result = []
    for target in targets:
        key = main_key.get(target.number)
        if key is None and target.number != training_target:
            continue
        points = []
        for i, month in enumerate(months):
            if key:
                total = sum(sums[month].values(), Counter())
                num, den = total[f"{key}:num"], total[f"{key}:den"]
            else:
                num = sum(n for n, _d in trained[month].values())
                den = sum(d for _n, d in trained[month].values())
            points.append(Point(month, num, den, x_of(i, len(months)), y_of(num / den) if den else None))
        result.append(Chart(target.number, target.short, target.threshold, target.strive, points))
    return result
