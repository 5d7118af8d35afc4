"""Attacks on aggregates (labkit.dp.reconstruction; notebooks 01 and 02).

The attacks succeed where notebook 01 says they do (exact answers) and fail where notebook 02's
defence is on (large Laplace noise), on seeds other than the notebooks' (10 to 14), with margins:

* exact answers, n = 100 people, m = 200 or 400 random subsets: every seed recovers at least 95%
  of the bits, by least squares and by the linear programme (they recover 100%);
* Laplace scale b = 50 on every answer (m = 400): the mean share recovered over 5 seeds is at most
  5 points above the majority-guess baseline, for both attacks;
* the differencing attack's exact success probability matches a simulation of 200,000 attacks within
  4 standard errors, and stays under the epsilon-DP bound e^eps / (1 + e^eps);
* least squares, the linear programme and a brute-force search over all 2^n columns agree on tiny
  tables (n = 8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit import dp
from labkit.dp import reconstruction as R

SEEDS = range(10, 15)


def _table(seed: int, n: int, m: int, b: float = 0.0, prevalence: float = 0.3):
    rng = np.random.default_rng(seed)
    bits = R.hidden_bits(n, prevalence, rng)
    queries = R.subset_queries(n, m, rng)
    return bits, queries, R.answer_queries(queries, bits, b, rng)


# --------------------------------------------------------------------------------------------
# The attack succeeds on exact answers, and fails against large Laplace noise
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [200, 400])
@pytest.mark.parametrize("attack", [R.reconstruct_least_squares, R.reconstruct_lp])
def test_exact_answers_give_back_at_least_95_percent_of_the_bits_on_every_seed(attack, m):
    for seed in SEEDS:
        bits, queries, answers = _table(seed, 100, m)
        assert R.recovered_share(attack(queries, answers), bits) >= 0.95, (seed, m)


@pytest.mark.parametrize("attack", [R.reconstruct_least_squares, R.reconstruct_lp])
def test_large_laplace_noise_leaves_no_more_than_5_points_over_the_majority_guess(attack):
    recovered, majority = [], []
    for seed in SEEDS:
        bits, queries, answers = _table(seed, 100, 400, b=50.0)
        recovered.append(R.recovered_share(attack(queries, answers), bits))
        majority.append(R.majority_share(bits))
    assert np.mean(recovered) <= np.mean(majority) + 0.05, (recovered, majority)


def test_small_noise_well_below_sqrt_n_still_recovers_everything():
    # b = 0.5: noise sd sqrt(2) * 0.5 = 0.7, far below sqrt(n) = 10 (Dinur and Nissim's o(sqrt(n)) regime).
    for seed in SEEDS:
        bits, queries, answers = _table(seed, 100, 400, b=0.5)
        assert R.recovered_share(R.reconstruct_lp(queries, answers), bits) == 1.0


def test_the_widget_compute_is_the_least_squares_attack_on_the_same_draws():
    for b in (0.0, 2.0, 7.0):
        point = R.reconstruction_point(b, 60, 150, 3)
        direct = []
        for seed in range(3):
            bits, queries, answers = _table(seed, 60, 150, b)
            direct.append(R.recovered_share(R.reconstruct_least_squares(queries, answers), bits))
            assert point.majority[seed] == R.majority_share(bits)
        np.testing.assert_allclose(point.recovered, direct)


def test_the_curve_matches_the_points_and_falls_with_noise():
    grid = np.array([0.1, 1.0, 5.0, 50.0])
    curve = R.reconstruction_curve(grid, 100, 400, 5)
    for j, b in enumerate(grid):
        np.testing.assert_allclose(curve.recovered[:, j], R.reconstruction_point(float(b), 100, 400, 5).recovered)
    means = curve.recovered.mean(axis=0)
    assert means[0] == 1.0 and means[-1] < curve.majority.mean() and np.all(np.diff(means) <= 0.02)


def test_the_epsilon_beside_each_setting_is_basic_composition_and_advanced_when_smaller():
    point = R.reconstruction_point(20.0, 100, 400, 2)
    assert point.epsilon == pytest.approx(400 / 20.0)
    expected, _ = dp.advanced_composition(1 / 20.0, 0.0, 400, 1e-5)
    assert point.epsilon_advanced == pytest.approx(expected)
    assert "epsilon = m / b = 20.0" in point.describe() and "advanced composition at delta" in point.describe()
    exact = R.reconstruction_point(0.0, 100, 400, 2)
    assert math.isinf(exact.epsilon) and exact.recovered.min() == 1.0 and "infinity" in exact.describe()
    assert "gives no less" in R.reconstruction_point(0.5, 100, 400, 2).describe()  # 1/b = 2: advanced is worse


# --------------------------------------------------------------------------------------------
# Brute force on tiny tables
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_least_squares_and_lp_agree_with_brute_force_on_a_tiny_table(seed):
    bits, queries, answers = _table(seed, 8, 24)
    brute = R.reconstruct_brute_force(queries, answers, "l1")
    np.testing.assert_array_equal(brute, bits)
    np.testing.assert_array_equal(R.reconstruct_brute_force(queries, answers, "l2"), bits)
    np.testing.assert_array_equal(R.reconstruct_least_squares(queries, answers), brute)
    np.testing.assert_array_equal(R.reconstruct_lp(queries, answers), brute)


@pytest.mark.parametrize("seed", range(4))
def test_with_small_noise_the_lp_finds_the_brute_force_l1_optimum(seed):
    bits, queries, answers = _table(seed, 8, 32, b=0.05)
    brute = R.reconstruct_brute_force(queries, answers, "l1")
    np.testing.assert_array_equal(brute, bits)
    np.testing.assert_array_equal(R.reconstruct_lp(queries, answers), brute)


def test_brute_force_returns_the_column_of_least_error():
    queries = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    answers = np.array([1.0, 1.0, 2.0])  # x = (1, 0, 1) fits exactly
    np.testing.assert_array_equal(R.reconstruct_brute_force(queries, answers), [1, 0, 1])


# --------------------------------------------------------------------------------------------
# The differencing attack
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.2, 1.0, 3.0, 8.0])
def test_differencing_formula_matches_simulation_within_4_standard_errors(epsilon):
    share, se = R.simulate_differencing(epsilon, 200_000, np.random.default_rng(int(epsilon * 100)))
    assert abs(share - R.differencing_success(epsilon)) < 4 * se


def test_differencing_formula_matches_the_density_of_a_laplace_difference():
    from scipy import integrate

    for b in (0.3, 1.0, 4.0):
        density = lambda z, b=b: (1 + abs(z) / b) * math.exp(-abs(z) / b) / (4 * b)  # noqa: E731
        total = integrate.quad(density, -np.inf, np.inf)[0]
        below = integrate.quad(density, -np.inf, 0.5)[0]
        assert total == pytest.approx(1.0, abs=1e-8)
        assert R.differencing_success(1 / b) == pytest.approx(below, abs=1e-8)


def test_differencing_is_certain_on_exact_counts_and_under_the_dp_bound_otherwise():
    assert R.differencing_success(math.inf) == 1.0
    assert R.simulate_differencing(math.inf, 1000, 0) == (1.0, 0.0)
    eps = np.geomspace(0.01, 30, 40)
    success = np.array([R.differencing_success(e) for e in eps])
    bound = np.array([dp.truthful_probability(e) for e in eps])
    assert np.all(success <= bound) and np.all(success > 0.5) and np.all(np.diff(success) > 0)
    assert R.differencing_success(1.0) == pytest.approx(0.6209, abs=1e-4)


# --------------------------------------------------------------------------------------------
# Bad input, the figures and the widget
# --------------------------------------------------------------------------------------------


def test_bad_input_names_the_parameter_and_the_range():
    q = np.array([[1, 0], [0, 1], [1, 1]])
    with pytest.raises(ValueError, match="queries must hold only 0 and 1"):
        R.reconstruct_least_squares(np.array([[2, 0], [0, 1]]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"answers must hold one value per query \(3\)"):
        R.reconstruct_lp(q, np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="at most 16 columns"):
        R.reconstruct_brute_force(np.ones((3, 17)), np.ones(3))
    with pytest.raises(ValueError, match="norm must be one of"):
        R.reconstruct_brute_force(q, np.ones(3), "l3")
    with pytest.raises(ValueError, match=r"noise_scale must be in \[0, 1e\+06\]"):
        R.answer_queries(q, np.array([1, 0]), -1.0)
    with pytest.raises(ValueError, match="bits must hold one value per person"):
        R.answer_queries(q, np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="epsilon must be in"):
        R.differencing_success(0.0)
    with pytest.raises(TypeError, match="rng must be"):
        R.simulate_differencing(1.0, 10, "seed")
    with pytest.raises(ValueError, match="num_seeds must be an integer from 2"):
        R.reconstruction_point(1.0, 10, 20, 1)
    with pytest.raises(ValueError, match="prevalence must be in"):
        R.hidden_bits(10, 1.0)
    with pytest.raises(ValueError, match="guess must hold one value per person"):
        R.recovered_share(np.array([1, 0]), np.array([1, 0, 1]))


def test_the_figures_draw_and_return_their_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.dp.plots import plot_differencing, plot_reconstruction, plot_recovery_vs_queries

    fig, axes = plt.subplots(1, 3)
    eps = np.array([0.5, 1.0, 2.0])
    assert plot_differencing(axes[0], eps, [R.differencing_success(e) for e in eps],
                             [dp.truthful_probability(e) for e in eps], [1.0], [0.62], [0.01]) is axes[0]
    assert plot_recovery_vs_queries(axes[1], [10, 20], {"lp": np.array([[0.7, 1.0], [0.8, 1.0]])}, [0.7, 0.6], 10) is axes[1]
    curve = R.reconstruction_curve(np.array([0.5, 5.0]), 20, 40, 2)
    assert plot_reconstruction(axes[2], curve, R.reconstruction_point(1.0, 20, 40, 2)) is axes[2]
    assert any(line.get_gid() == "selected" for line in axes[2].lines)
    with pytest.raises(ValueError, match="must be given together"):
        plot_differencing(axes[0], eps, eps, eps, simulated=[0.6])
    plt.close(fig)


def test_the_widget_redraws_on_a_slider_move():
    from labkit.dp.widgets import reconstruction_widget

    view = reconstruction_widget(noise_scale=3.0, num_queries=100, num_people=20, num_seeds=2)
    before, image = view.status.value, view.output.value
    assert "m = 100 subset sums" in before and "b = 3 per answer" in before
    view.controls["noise_scale"].value = 30.0
    assert view.status.value != before and "b = 30 per answer" in view.status.value
    assert view.output.value != image
    view.controls["num_queries"].value = 400
    assert "m = 400 subset sums" in view.status.value
    far = reconstruction_widget(noise_scale=1e4, num_people=20, num_seeds=2)
    assert "outside this slider's range" in far.status.value
