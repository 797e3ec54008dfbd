"""Shared measuring and reporting for the benchmarks.

Each benchmark module ``bench/bench_<name>.py`` has ``run(quick: bool) -> list[Result]``.
A result is printed as one JSON object per line:
``{"name", "unit", "p50", "p95", "floor_p50", "floor_p95", "ratio", "goal", "direction", "size"}``
where ``size`` says what it ran at ("1000000 submissions", "3 agencies x 400 entries").
For costs (``direction: "max"``) ratio = p50 / floor_p50, lower is better; for throughputs
(``direction: "min"``) ratio = rate / floor rate, higher is better.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Result:
    name: str
    unit: str
    p50: float
    p95: float
    floor_p50: float
    floor_p95: float
    ratio: float
    goal: float
    direction: str  # "max": ratio must stay <= goal; "min": ratio must stay >= goal
    extra: dict | None = None
    size: str | None = None  # what it ran at, e.g. "1000000 submissions"

    def as_dict(self) -> dict:
        data = asdict(self)
        if data["extra"] is None:
            del data["extra"]
        return data

    @property
    def met(self) -> bool:
        return self.ratio <= self.goal if self.direction == "max" else self.ratio >= self.goal


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 1) -> list[float]:
    """Seconds per call, one sample a call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def cost_result(
    name: str,
    samples: list[float],
    floor: list[float],
    goal: float,
    unit: str = "ms",
    extra: dict | None = None,
    *,
    size: str | None = None,
) -> Result:
    scale = 1000.0 if unit == "ms" else 1.0
    p50, p95 = statistics.median(samples) * scale, percentile(samples, 95) * scale
    f50, f95 = statistics.median(floor) * scale, percentile(floor, 95) * scale
    ratio = p50 / f50 if f50 else float("inf")
    return Result(name, unit, p50, p95, f50, f95, ratio, goal, "max", extra, size)


def rate_result(
    name: str,
    rates: list[float],
    floor_rates: list[float],
    goal: float,
    unit: str = "per_s",
    extra: dict | None = None,
    *,
    size: str | None = None,
) -> Result:
    p50, f50 = statistics.median(rates), statistics.median(floor_rates)
    # For a rate the slow tail is the low percentile.
    p95, f95 = percentile(rates, 5), percentile(floor_rates, 5)
    return Result(name, unit, p50, p95, f50, f95, p50 / f50 if f50 else 0.0, goal, "min", extra, size)
