"""Side-by-side measurements for ``make bench``.

A benchmark module ``benchmarks/bench_<topic>.py`` defines ``rows() -> list[Comparison | Measurement]``.

- :class:`Comparison`: ours vs a baseline doing the same work, run alternately in one process
  ``repeats`` times; the table shows the median of each and the ratio ours / baseline (below 1
  means ours is faster). Never a timed assertion: the machine is shared and noisy.
- :class:`Measurement`: a single quantity with a unit and an optional budget (notebook time,
  kernel peak memory, widget update latency), reported beside its budget.

``python -m benchmarks [topic ...]`` runs the named modules (all by default) and rewrites their
sections of ``benchmarks/RESULTS.md``, leaving other sections as they were.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass
class Comparison:
    name: str
    ours: Callable[[], object]
    baseline: Callable[[], object]
    baseline_name: str
    repeats: int = 5
    note: str = ""


@dataclass
class Measurement:
    name: str
    measure: Callable[[], float]
    unit: str
    budget: str = ""
    note: str = ""


def seconds(fn: Callable[[], object]) -> float:
    """Wall time of one call of ``fn``, in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(calls: Iterable[Callable[[], object]], *, warmup: bool = False,
                   before: Callable[[], object] | None = None) -> float:
    """Median wall time, in seconds, of one call of each of ``calls`` (``[fn] * 5`` repeats ``fn``).

    Args:
        calls: the calls to time, in order (one per slider position, or one function repeated).
        warmup: first call ``calls[0]`` once, untimed (imports, caches, tracing).
        before: called untimed before each timed call (for example to clear caches).
    """
    calls = list(calls)
    if warmup:
        calls[0]()
    times = []
    for call in calls:
        if before is not None:
            before()
        times.append(seconds(call))
    return statistics.median(times)


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def run_comparison(c: Comparison) -> list[str]:
    c.ours()  # warm-up: imports, caches, JIT tracing are not what is compared
    c.baseline()
    ours, base = [], []
    for _ in range(c.repeats):
        ours.append(seconds(c.ours))
        base.append(seconds(c.baseline))
    mo, mb = statistics.median(ours), statistics.median(base)
    return [c.name, fmt_seconds(mo), f"{fmt_seconds(mb)} ({c.baseline_name})", f"{mo / mb:.3g}", str(c.repeats), c.note]


def run_measurement(m: Measurement) -> list[str]:
    value = m.measure()
    return [m.name, f"{value:.3g} {m.unit}", m.budget, m.note]


def view_moves(build: Callable[[], object], control: str, values, before: Callable[[], object] | None = None) -> tuple[float, float]:
    """A widget view's control moves (compute + draw + PNG encoding + Image swap): median ms and median PNG kB.

    ``build()`` returns a view with ``controls[control]`` and an ``output`` Image whose ``value`` is the PNG.
    """
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    view = build()
    slider, sizes = view.controls[control], []

    def move(value):
        slider.value = value
        sizes.append(len(view.output.value))

    ms = 1000 * median_seconds([lambda x=x: move(x) for x in values], before=before)
    return ms, float(np.median(sizes)) / 1000
