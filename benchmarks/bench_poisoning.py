"""Poisoning and robust aggregation (labkit.fl.robust, notebook 07): each robust rule against the plain
mean on the same updates (20 clients' flattened updates of softmax regression on digits, 650 floats each,
two of them boosted x20; ratios are rule / mean), one Krum against the brute-force definition it replaces,
one poisoned training run at the notebook's setting (20 clients, 10 rounds, 2 attackers, boost x20, one
aggregator), the widget's first (uncached) computation of one setting off the stored grid, its first visit of a
setting the grid holds (data/sweeps/fl_poisoning.npz) against the same move trained live, and its slider move from
the cache."""

from __future__ import annotations

import contextlib
import io
import statistics

from benchmarks.harness import Comparison, Measurement, seconds


def _updates():
    """One round's 20 updates at the notebook's setting: clients 0 and 1 boost label-flipped updates x20."""
    import numpy as np

    from labkit import fl
    from labkit.fl import robust

    s = robust.POISONING_SETTINGS
    clients, _ = robust.poisoning_clients(0)
    model = fl.SoftmaxRegression(64, 10)
    w0 = model.init(np.random.default_rng(0))
    honest = fl.LocalSGD(s["lr"], s["epochs"], s["batch_size"])
    attacker = fl.PoisonedUpdate(honest, "boost", s["scale"])
    rng = np.random.default_rng(0)
    return np.stack([(attacker if k < 2 else honest)(model, w0, x, y, rng).update
                     for k, (x, y) in enumerate(clients)]).astype(np.float64)


def _rule(name: str):
    from labkit import fl
    from labkit.fl import robust

    s = robust.POISONING_SETTINGS
    u = _updates()
    return {"median": lambda: fl.coordinate_median(u), "trimmed": lambda: fl.trimmed_mean(u, s["beta"]),
            "krum": lambda: fl.krum(u, s["krum_f"]), "clipped": lambda: fl.clipped_mean(u, s["clip"]),
            "mean": lambda: u.mean(axis=0)}[name]


def _krum_brute_force():
    import numpy as np

    from labkit.fl import robust

    u, f = _updates(), robust.POISONING_SETTINGS["krum_f"]
    n = len(u)

    def run():
        scores = [sum(sorted(float(np.sum((u[i] - u[j]) ** 2)) for j in range(n) if j != i)[:n - f - 2])
                  for i in range(n)]
        return u[int(np.argmin(scores))]
    return run


def _training_run(rule: str):
    from labkit import fl
    from labkit.fl import robust

    s = robust.POISONING_SETTINGS
    clients, test = robust.poisoning_clients(0)
    agg = robust.poisoning_aggregators()
    label = next(k for k in agg if k.lower().startswith(rule))
    return lambda: fl.run_poisoned(clients, test, attackers=s["attackers"], aggregator=agg[label], attack=s["attack"],
                                   scale=s["scale"], rounds=s["rounds"], lr=s["lr"], epochs=s["epochs"],
                                   batch_size=s["batch_size"], seed=0)


def _first_setting_s() -> float:
    from labkit import fl
    from labkit.fl import robust

    times = []
    for seed in (101, 102, 103):  # seeds the notebook does not use: never cached
        robust.poisoning_clients(seed)  # the split is data loading, not the widget's training
        times.append(seconds(lambda: fl.poisoning_accuracy(2, 20.0, seed=seed)))
    return statistics.median(times)


def _first_visit(grid: bool):
    """One slider move of the poisoning widget to a setting not visited yet (the cache is cleared before
    each move): answered from ``data/sweeps/fl_poisoning.npz`` (``grid``), or trained live as before it."""
    import itertools

    from labkit.fl import robust
    from labkit.fl.widgets import poisoning_explorer
    from labkit.style import use_style

    stored = robust._read_grid(robust.POISONING_GRID_FILE) if grid else {}
    state = {}

    def move() -> None:
        if not state:
            use_style()
            with contextlib.redirect_stdout(io.StringIO()):
                state["view"] = poisoning_explorer(attackers=0, scale=50.0, attack="sign_flip")
            state["positions"] = itertools.cycle(range(1, 11))
        saved, robust._GRID = robust._GRID, stored
        robust._CACHE.clear()
        try:
            state["view"].controls["attackers"].value = next(state["positions"])
        finally:
            robust._GRID = saved
    return move


def _first_visit_ms() -> float:
    """Median wall time of 19 first visits (from the grid), in ms; the first, untimed, builds the widget."""
    move = _first_visit(True)
    move()
    return 1e3 * statistics.median(seconds(move) for _ in range(19))


def _slider_ms(clock=None) -> float:
    """Median time of a slider move between cached settings: lookup plus the figure redraw.

    ``clock`` is ``time.perf_counter`` (wall) by default; ``time.process_time`` gives the CPU time,
    which other jobs on the shared machine do not inflate."""
    import time
    from labkit.fl.widgets import poisoning_explorer
    from labkit.style import use_style

    use_style()
    with contextlib.redirect_stdout(io.StringIO()):  # Output.clear_output prints escapes outside a kernel
        view = poisoning_explorer()
        f = view.controls["attackers"]
        for a in range(0, 7):
            f.value = a  # untimed: fills the cache
        f.value = 0
        clock = clock or time.perf_counter
        times = []
        for a in (1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1):
            start = clock()
            f.value = a
            times.append(clock() - start)
    return 1e3 * statistics.median(times)


def rows() -> list:
    note = "20 updates x 650 floats, 2 boosted x20"
    return [
        Comparison("coordinate-wise median vs mean", _rule("median"), _rule("mean"), "mean", repeats=21, note=note),
        Comparison("trimmed mean (beta 0.2) vs mean", _rule("trimmed"), _rule("mean"), "mean", repeats=21, note=note),
        Comparison("Krum (f = 8) vs mean", _rule("krum"), _rule("mean"), "mean", repeats=21, note=note),
        Comparison("clipped mean (C = 1) vs mean", _rule("clipped"), _rule("mean"), "mean", repeats=21, note=note),
        Comparison("Krum (f = 8), vectorised vs brute-force definition", _rule("krum"), _krum_brute_force(),
                   "Python loops over pairs", repeats=11, note=note),
        Comparison("poisoned training run: median vs FedAvg aggregation", _training_run("median"),
                   _training_run("fedavg"), "FedAvg run", repeats=5,
                   note="20 clients, 10 rounds, 2 attackers boost x20"),
        Measurement("poisoned training run, FedAvg, notebook setting, median of 5",
                    lambda: statistics.median(seconds(_training_run("fedavg")) for _ in range(5)), "s",
                    note="20 clients, 10 rounds, E=1, B=20"),
        Measurement("poisoning widget: first computation of a setting (5 aggregators)", _first_setting_s, "s",
                    note="median of 3 uncached settings; then cached"),
        Comparison("poisoning widget: first visit of a setting, stored grid vs live training", _first_visit(True),
                   _first_visit(False), "trained live (no grid)", repeats=7,
                   note="slider move to an unvisited setting: lookup or 5 trainings, + redraw"),
        Measurement("poisoning widget: first visit of a setting, from the stored grid, median (wall)", _first_visit_ms,
                    "ms", "<= 100 ms", note="19 moves, cache cleared before each; data/sweeps/fl_poisoning.npz"),
        Measurement("poisoning widget: slider move between cached settings, median (wall)", _slider_ms, "ms",
                    "<= 100 ms", note="lookup + in-place bar redraw + PNG"),
        Measurement("poisoning widget: slider move between cached settings, median (CPU time)",
                    lambda: _slider_ms(__import__("time").process_time), "ms", "<= 100 ms",
                    note="not inflated by other jobs on the machine"),
    ]
