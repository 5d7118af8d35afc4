"""Attacks on aggregates (labkit.dp.reconstruction, notebooks 01 and 02): the reconstruction attack at the
notebooks' setting (100 people, 400 random subset sums) by least squares and by the linear programme, the
differencing simulation, and the reconstruction widget's update time (median over slider positions)."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Comparison, Measurement, median_seconds

N_PEOPLE, N_QUERIES, NOISE = 100, 400, 3.0


def _table():
    from labkit.dp import reconstruction as R

    rng = np.random.default_rng(0)
    bits = R.hidden_bits(N_PEOPLE, 0.3, rng)
    queries = R.subset_queries(N_PEOPLE, N_QUERIES, rng)
    return queries, R.answer_queries(queries, bits, NOISE, rng)


def _clear_caches() -> None:
    from labkit.dp import reconstruction as R

    R._instance.cache_clear()
    R._curve.cache_clear()


def _moves_ms(cold: bool) -> float:
    """Median milliseconds of reconstruction_point over 11 noise scales never seen (tables cached unless ``cold``)."""
    from labkit.dp import reconstruction as R

    R.reconstruction_point(1.0)  # the widget solves its tables when it is built
    scales = np.geomspace(0.13, 77.0, 11)
    return 1000 * median_seconds([lambda b=b: R.reconstruction_point(float(b)) for b in scales],
                                 before=_clear_caches if cold else None)


def _view_moves_ms() -> float:
    """Median milliseconds of a noise-slider move in the built view (compute, blit and PNG encoding)."""
    import matplotlib

    matplotlib.use("Agg")
    from labkit.dp.widgets import reconstruction_widget

    view = reconstruction_widget()
    slider = view.controls["noise_scale"]
    return 1000 * median_seconds([lambda b=b: setattr(slider, "value", float(b)) for b in np.geomspace(0.13, 77.0, 11)])


def _png_kb(widget: str, control: str, value) -> float:
    """The size of a view's PNG after one move, in kB (what the browser receives per frame)."""
    import matplotlib

    matplotlib.use("Agg")
    from labkit.dp import widgets

    view = getattr(widgets, widget)()
    view.controls[control].value = value
    return len(view.output.value) / 1000


def rows():
    from labkit.dp import reconstruction as R

    queries, answers = _table()
    return [
        Comparison(f"reconstruction, n = {N_PEOPLE}, m = {N_QUERIES}, Laplace b = {NOISE:g}: linear programme (HiGHS)",
                   lambda: R.reconstruct_lp(queries, answers), lambda: R.reconstruct_least_squares(queries, answers),
                   "least squares (np.linalg.lstsq) on the same answers", repeats=5,
                   note="the LP is the more robust attack (notebook 02)"),
        Measurement("differencing attack, 200,000 simulated attacks (simulate_differencing)",
                    lambda: 1000 * median_seconds([lambda: R.simulate_differencing(1.0, 200_000, 0)] * 5), "ms"),
        Measurement("widget 02: reconstruction_point per slider move (median, tables cached)", lambda: _moves_ms(False), "ms",
                    "<= 100 ms, goal 50 ms"),
        Measurement("widget 02: reconstruction_point, caches cleared (5 tables solved)", lambda: _moves_ms(True), "ms",
                    "<= 100 ms, goal 50 ms", note="what the first move of a new m would cost without the build-time solve"),
        Measurement("widget 02: reconstruction view, noise-slider move (median, with the figure)", _view_moves_ms, "ms",
                    "<= 100 ms, goal 50 ms", note="marker blitted over a saved background, PNG swapped into one Image"),
        Measurement("widget 02: reconstruction view, PNG per frame", lambda: _png_kb("reconstruction_widget", "noise_scale", 30.0),
                    "kB"),
    ]
