"""The white-box canary audit of one DP-SGD step (labkit.dp.canary, notebook 05's section "A tight audit").

* the audit of a correct step is within 30% of the accountant's epsilon at the notebook's setting, and
  above it no more often than its 95% confidence allows;
* the broken step (noise not multiplied by C) claimed at epsilon 1 is proven far above 1;
* the fast scores have the distribution of scores of full steps run through labkit's DP-SGD gradient;
* the one-run audit (Steinke, Nasr and Jagielski 2023) is positive and below the true epsilon;
* bad input raises clear errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, ks_2samp

from labkit.dp import canary
from labkit.dp.calibration import gaussian_epsilon, gaussian_sigma
from labkit.dp.dpsgd import clip_and_sum, noisy_gradient

DELTA = 1e-5
C = 10.0


def _batch(seed=0, n=32, d=40):
    g = np.random.default_rng(seed)
    others = g.normal(size=(n, d)) * g.uniform(0.5, 20, size=(n, 1))  # some clipped, some not
    grad = np.zeros(d)
    grad[0] = 3 * C  # a Dirac canary of norm 3C
    return others, grad


# --------------------------------------------------------------------------------------------
# The tight audit
# --------------------------------------------------------------------------------------------


def test_audit_is_within_30_percent_of_the_accountant_at_the_notebooks_setting():
    others, grad = _batch()
    scores = canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=2.0, trials=4_000_000,
                                       rng=np.random.default_rng(6))
    assert scores.shift == pytest.approx(1.0)  # the canary is clipped to norm C
    bound = canary.canary_epsilon(scores.inside, scores.outside, DELTA, seed=0)
    eps = canary.gaussian_step_epsilon(2.0, DELTA)
    assert eps == pytest.approx(gaussian_epsilon(2.0, DELTA))
    assert 0.7 * eps <= bound.epsilon <= eps, (bound, eps)
    assert bound.point >= bound.epsilon  # the confidence correction only lowers the bound


@pytest.mark.parametrize("seed", range(4))
def test_widget_point_is_within_30_percent_for_several_seeds(seed):
    p = canary.canary_audit_point(2.0, 4_000_000, seed=seed)
    assert p.claimed_epsilon == p.true_epsilon
    # Over 10 seeds the ratio was 0.82 to 0.91 when written; 0.7 is the requirement.
    assert 0.7 * p.true_epsilon <= p.audit.epsilon <= p.true_epsilon


def test_correct_step_is_refuted_no_more_often_than_the_confidence_allows():
    # 40 independent audits with few trials (so that the Clopper-Pearson correction matters) at
    # three noise levels: each exceeds the true epsilon with probability at most 5%.
    exceed, runs = 0, 0
    for sigma in (0.75, 1.5, 3.0):
        eps = gaussian_epsilon(sigma, DELTA)
        for seed in range(40):
            g = np.random.default_rng(1000 + seed)
            inside, outside = 1 + sigma * g.standard_normal(2000), sigma * g.standard_normal(2000)
            exceed += canary.canary_epsilon(inside, outside, DELTA, seed=seed).epsilon > eps
            runs += 1
    # P[Binomial(120, 0.05) > 14] < 0.5%: a correct audit fails this with negligible probability.
    assert binom.sf(14, runs, 0.05) < 0.005
    assert exceed <= 14


def test_more_trials_give_a_tighter_bound():
    few = canary.canary_audit_point(2.0, 10_000, seed=0).audit.epsilon
    many = canary.canary_audit_point(2.0, 4_000_000, seed=0).audit.epsilon
    assert many > few + 0.3


def test_broken_step_is_proven_far_above_its_claim():
    sigma = gaussian_sigma(1.0, DELTA)  # what the accountant gives for epsilon 1 in one step
    assert canary.gaussian_step_epsilon(sigma, DELTA) == pytest.approx(1.0, abs=1e-3)
    others, grad = _batch(1)
    scores = canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=sigma, trials=1_000_000,
                                       rng=np.random.default_rng(7), implementation="broken")
    bound = canary.canary_epsilon(scores.inside, scores.outside, DELTA, seed=0)
    true = canary.gaussian_step_epsilon(sigma, DELTA, l2_norm_clip=C, implementation="broken")
    assert bound.epsilon > 5.0  # five times the claim, at 95% confidence
    assert bound.epsilon <= true
    # The same audit of the correct step at that sigma stays below 1.
    ok = canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=sigma, trials=1_000_000,
                                   rng=np.random.default_rng(7))
    assert canary.canary_epsilon(ok.inside, ok.outside, DELTA, seed=0).epsilon <= 1.0


def test_broken_step_is_invisible_when_c_is_1():
    assert canary.gaussian_step_epsilon(2.0, DELTA, l2_norm_clip=1.0, implementation="broken") == \
        pytest.approx(canary.gaussian_step_epsilon(2.0, DELTA))


# --------------------------------------------------------------------------------------------
# The fast scores match full steps through labkit's DP-SGD gradient
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("implementation", ["correct", "broken"])
def test_fast_scores_have_the_distribution_of_full_steps(implementation):
    others, grad = _batch(2, n=16, d=30)
    sigma = 1.5
    known = clip_and_sum([others], C)[0][0]
    direction = clip_and_sum([np.vstack([others, grad])], C)[0][0] - known
    step = noisy_gradient if implementation == "correct" else canary.broken_noisy_gradient
    rng = np.random.default_rng(3)
    full_in = [canary.step_score(step(np.vstack([others, grad]), C, sigma, 1, rng)[0], known, direction, C)
               for _ in range(1500)]
    full_out = [canary.step_score(step(others, C, sigma, 1, rng)[0], known, direction, C) for _ in range(1500)]
    fast = canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=sigma, trials=1500,
                                     rng=np.random.default_rng(4), implementation=implementation)
    assert ks_2samp(full_in, fast.inside).pvalue > 1e-3
    assert ks_2samp(full_out, fast.outside).pvalue > 1e-3
    expected_std = sigma if implementation == "correct" else sigma / C
    assert np.std(full_out) == pytest.approx(expected_std, rel=0.08)


def test_broken_gradient_is_the_correct_one_with_noise_divided_by_c():
    others, _ = _batch(3)
    a = canary.broken_noisy_gradient(others, C, 2.0, 8, np.random.default_rng(0))
    b = noisy_gradient(others, C, 2.0 / C, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(a[0], b[0])


def test_a_canary_below_c_moves_the_score_by_its_norm():
    others, _ = _batch(4, d=10)
    grad = np.zeros(10)
    grad[3] = 0.25 * C
    scores = canary.canary_step_scores(others, grad, l2_norm_clip=C, noise_multiplier=1.0, trials=10, rng=0)
    assert scores.shift == pytest.approx(0.25)


# --------------------------------------------------------------------------------------------
# One run (Steinke, Nasr and Jagielski 2023)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_one_run_bound_is_positive_and_below_the_true_epsilon(seed):
    scores, included = canary.one_run_gaussian_scores(100_000, 2.0, np.random.default_rng(seed), l2_norm_clip=C)
    assert 0.4 < included.mean() < 0.6
    result = canary.one_run_audit(scores, included, 1000, DELTA)
    assert 0.8 < result.epsilon < gaussian_epsilon(2.0, DELTA)
    assert result.correct > 700


def test_one_run_finds_nothing_when_the_noise_drowns_the_canaries():
    scores, included = canary.one_run_gaussian_scores(10_000, 200.0, np.random.default_rng(0))
    assert canary.one_run_audit(scores, included, 1000, DELTA).epsilon < 0.3


def test_one_run_p_value_is_the_binomial_tail_for_pure_dp_and_grows_with_delta():
    q = 1 / (1 + math.exp(-1.0))
    assert canary.one_run_p_value(1000, 100, 70, 1.0, 0.0) == pytest.approx(binom.sf(69, 100, q))
    assert canary.one_run_p_value(1000, 100, 70, 1.0, 1e-5) > canary.one_run_p_value(1000, 100, 70, 1.0, 0.0)
    ps = [canary.one_run_p_value(1000, 100, 70, e, 1e-6) for e in (0.0, 0.5, 1.0, 2.0)]
    assert all(a <= b for a, b in zip(ps, ps[1:]))  # a larger epsilon explains more right guesses


def test_one_run_epsilon_is_where_the_p_value_crosses_alpha():
    eps = canary.one_run_epsilon(10_000, 200, 170, 1e-5, 0.05)
    assert eps > 0
    assert canary.one_run_p_value(10_000, 200, 170, eps * 0.999, 1e-5) < 0.05
    assert canary.one_run_p_value(10_000, 200, 170, eps * 1.01 + 1e-9, 1e-5) >= 0.05
    assert canary.one_run_epsilon(10_000, 200, 100, 1e-5) == 0.0  # coin-flip accuracy proves nothing


# --------------------------------------------------------------------------------------------
# The widget's compute function, plots and view
# --------------------------------------------------------------------------------------------


def test_widget_point_reports_the_claim_and_the_truth():
    p = canary.canary_audit_point(1.0, 100_000, "broken", l2_norm_clip=C)
    assert p.claimed_epsilon == pytest.approx(gaussian_epsilon(1.0, DELTA))
    assert p.true_epsilon == pytest.approx(gaussian_epsilon(0.1, DELTA))
    assert p.audit.epsilon > p.claimed_epsilon
    assert p.sample_in.size == p.sample_out.size == 10_000


def test_plots_and_view(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from labkit.dp.plots import plot_canary_bounds, plot_canary_scores
    from labkit.dp.widgets import canary_audit_widget
    from labkit.style import new_axes

    fig, axes = new_axes(ncols=2)
    p = canary.canary_audit_point(2.0, 100_000)
    assert plot_canary_scores(axes[0], p.sample_in, p.sample_out, p.audit.threshold) is axes[0]
    assert plot_canary_bounds(axes[1], [1.0, 2.0], [4.4, 2.0], [3.5, 1.6], broken_lower=[9.0, 8.0],
                              broken_true=[90.0, 30.0], claimed=1.0) is axes[1]
    # Called again on the same ax, the plot moves its artists instead of adding new ones (the widget's redraw).
    n_artists = len(axes[0].patches) + len(axes[0].lines)
    q = canary.canary_audit_point(2.0, 100_000, "broken", l2_norm_clip=C)
    plot_canary_scores(axes[0], q.sample_in, q.sample_out, q.audit.threshold)
    assert len(axes[0].patches) + len(axes[0].lines) == n_artists
    line = next(a for a in axes[0].lines if a.get_gid() == "canary-threshold")
    assert line.get_xdata()[0] == pytest.approx(q.audit.threshold)
    assert axes[0].get_xlim()[1] < 3  # the broken step's scores spread 0.2, not 2
    view = canary_audit_widget()
    assert "accountant claims <b>1.99</b>" in view.status.value
    image = view.output
    first = image.value
    view.controls["implementation"].value = "broken"
    assert "refutes" in view.status.value
    assert view.output is image and image.value != first  # the same Image widget, a new PNG
    assert repr(view) == "canary audit widget (noise multiplier, trials, step)"


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    (dict(trials=0), "trials"),
    (dict(noise_multiplier=0.0), "noise_multiplier"),
    (dict(implementation="buggy"), "implementation"),
    (dict(canary=np.zeros(40)), "canary"),
    (dict(canary=np.ones(39)), "canary"),
    (dict(l2_norm_clip=-1.0), "l2_norm_clip"),
])
def test_canary_step_scores_rejects_bad_input(kwargs, match):
    others, grad = _batch()
    args = dict(per_example=others, canary=grad, l2_norm_clip=C, noise_multiplier=1.0, trials=10, rng=0)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        canary.canary_step_scores(**args)


def test_other_functions_reject_bad_input():
    with pytest.raises(ValueError, match="scores_in"):
        canary.canary_epsilon(np.ones(5), np.zeros(100), DELTA)
    with pytest.raises(ValueError, match="selection"):
        canary.canary_epsilon(np.ones(100), np.zeros(100), DELTA, selection=0.9)
    with pytest.raises(ValueError, match="correct"):
        canary.one_run_p_value(100, 10, 11, 1.0, DELTA)
    with pytest.raises(ValueError, match="guesses"):
        canary.one_run_audit(np.zeros(10), np.ones(10, bool), 11, DELTA)
    with pytest.raises(ValueError, match="included"):
        canary.one_run_audit(np.zeros(10), np.ones(9, bool), 4, DELTA)
    with pytest.raises(ValueError, match="trials"):
        canary.canary_audit_point(2.0, 10)
    with pytest.raises(ValueError, match="noise_multiplier"):
        canary.canary_audit_point(-2.0)
