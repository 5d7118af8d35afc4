"""The white-box canary audit of one DP-SGD step (labkit.dp.canary, notebook 05): the audit at the
notebook's setting, the fast scores against full steps through labkit's DP-SGD gradient, the one-run
audit, and the canary-audit widget per slider move (its compute function alone, and the whole redraw)."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Comparison, Measurement, median_seconds, seconds

C = 10.0
SIGMA = 2.0
DELTA = 1e-5
FULL_TRIALS = 2_000


def _batch():
    g = np.random.default_rng(0)
    others = g.normal(size=(32, 650)) * g.uniform(0.5, 20, size=(32, 1))  # the notebook's shape: 32 x 650
    grad = np.zeros(650)
    grad[0] = 3 * C
    return others, grad


def _notebook_audit() -> float:
    from labkit.dp import canary

    others, grad = _batch()

    def run():
        s = canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=SIGMA, trials=4_000_000,
                                      rng=np.random.default_rng(6))
        return canary.canary_epsilon(s.inside, s.outside, DELTA, seed=0)

    return seconds(run)


def _fast(others, grad):
    from labkit.dp import canary

    return canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=SIGMA, trials=FULL_TRIALS,
                                     rng=np.random.default_rng(1))


def _full(others, grad):
    from labkit.dp import canary
    from labkit.dp.dpsgd import clip_and_sum, noisy_gradient

    known = clip_and_sum([others], C)[0][0]
    direction = clip_and_sum([np.vstack([others, grad])], C)[0][0] - known
    rng = np.random.default_rng(1)
    with_canary = np.vstack([others, grad])
    inside = [canary.step_score(noisy_gradient(with_canary, C, SIGMA, 1, rng)[0], known, direction, C)
              for _ in range(FULL_TRIALS)]
    outside = [canary.step_score(noisy_gradient(others, C, SIGMA, 1, rng)[0], known, direction, C)
               for _ in range(FULL_TRIALS)]
    return inside, outside


def _one_run() -> float:
    from labkit.dp import canary

    def run():
        scores, included = canary.one_run_gaussian_scores(100_000, SIGMA, np.random.default_rng(8), l2_norm_clip=C)
        return canary.one_run_audit(scores, included, 1000, DELTA)

    return 1000 * median_seconds([run] * 3, warmup=True)


def _widget_compute_moves() -> float:
    from labkit.dp import canary

    canary.canary_audit_point(SIGMA, 4_000_000, l2_norm_clip=C)  # the draws, made when the view is built
    sigmas = np.linspace(0.55, 4.95, 11)
    return 1000 * median_seconds([lambda s=s: canary.canary_audit_point(float(s), 4_000_000, l2_norm_clip=C)
                                  for s in sigmas])


def _widget_view_moves() -> float:
    import matplotlib

    matplotlib.use("Agg")
    from labkit.dp.widgets import canary_audit_widget

    view = canary_audit_widget(noise_multiplier=SIGMA, l2_norm_clip=C)
    slider = view.controls["noise_multiplier"]
    values = [round(float(s), 1) for s in np.linspace(0.6, 4.6, 11)]

    def move(value):
        slider.value = value

    return 1000 * median_seconds([lambda val=val: move(val) for val in values])


def _widget_png_kb() -> float:
    """The canary view's PNG after one move, in kB (what the browser receives per frame)."""
    import matplotlib

    matplotlib.use("Agg")
    from labkit.dp.widgets import canary_audit_widget

    view = canary_audit_widget(noise_multiplier=SIGMA, l2_norm_clip=C)
    view.controls["noise_multiplier"].value = 1.0
    return len(view.output.value) / 1000


def rows():
    others, grad = _batch()
    return [
        Measurement("canary audit at notebook 05's setting (4,000,000 steps each way, sigma 2, 650 parameters)",
                    _notebook_audit, "s", "notebook 05 <= 90 s in all"),
        Comparison(f"canary scores of {FULL_TRIALS:,} steps each way (projection drawn directly)",
                   lambda: _fast(others, grad), lambda: _full(others, grad),
                   "full steps through dpsgd.noisy_gradient, 650 parameters", repeats=3,
                   note="same distribution (tests/dp/test_canary_audit.py, KS test)"),
        Measurement("one-run audit (100,000 canaries, one step, 1,000 guesses)", _one_run, "ms"),
        Measurement("widget 05: canary_audit_point per slider move (median, 4,000,000 trials)",
                    _widget_compute_moves, "ms", "<= 100 ms, goal 50 ms"),
        Measurement("widget 05: whole redraw per slider move (compute + histograms moved in place + PNG, median)",
                    _widget_view_moves, "ms", "<= 100 ms", note="the axes redrawn over a blank background, PNG swapped into one Image"),
        Measurement("widget 05: PNG per frame", _widget_png_kb, "kB"),
    ]
