"""labkit.fl.robust: the robust aggregators against references, the poisoning attack and the defences.

The attack tests run notebook 07's setting (``POISONING_SETTINGS``: 20 clients on digits, 10 rounds,
boost x20 with label flipping) over three seeds, with margins well away from the measured values
(FedAvg under 2 attackers: 0.19 +- 0.05; the defences: 0.87 to 0.90).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import fl
from labkit.fl import robust

SEEDS = (0, 1, 2)
FEDAVG, CLIP, MEDIAN, TRIM, KRUM = list(robust.poisoning_aggregators())


def _mean_accuracy(attackers: int, scale: float, attack: str = "boost") -> dict[str, float]:
    runs = [fl.poisoning_accuracy(attackers, scale, attack=attack, seed=s) for s in SEEDS]
    return {label: float(np.mean([r[label] for r in runs])) for label in runs[0]}


# ---------------------------------------------------------------------------- references


def _krum_brute_force(u: np.ndarray, f: int) -> int:
    """Blanchard et al. (2017)'s definition, written out: for each i, the n - f - 2 closest j != i."""
    n = len(u)
    scores = []
    for i in range(n):
        dists = sorted(float(np.sum((u[i] - u[j]) ** 2)) for j in range(n) if j != i)
        scores.append(sum(dists[:n - f - 2]))
    return int(np.argmin(scores))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 15), d=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_median_and_trimmed_mean_agree_with_numpy_and_scipy(n, d, seed):
    u = np.random.default_rng(seed).normal(size=(n, d)) * 10
    np.testing.assert_allclose(fl.coordinate_median(u), np.median(u, axis=0), rtol=0, atol=1e-12)
    for beta in (0.0, 0.1, 0.2, 0.25, 0.4, 0.49):
        np.testing.assert_allclose(fl.trimmed_mean(u, beta), scipy.stats.trim_mean(u, beta, axis=0),
                                   rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 14), d=st.integers(1, 8), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_krum_agrees_with_the_brute_force_definition(n, d, seed, data):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, d))
    outliers = data.draw(st.integers(0, n - 1))
    u[:outliers] *= rng.uniform(1, 100)  # some rows far away, as boosted updates are
    f = data.draw(st.integers(0, (n - 3) // 2))
    i = _krum_brute_force(u, f)
    assert np.argmin(fl.krum_scores(u, f)) == i
    np.testing.assert_array_equal(fl.krum(u, f), u[i])


def test_krum_scores_are_the_sums_of_nearest_squared_distances():
    u = np.array([[0.0], [1.0], [3.0], [10.0]])  # n = 4, f = 0: the 2 nearest others
    np.testing.assert_allclose(fl.krum_scores(u, 0), [1 + 9, 1 + 4, 4 + 9, 49 + 81])
    np.testing.assert_array_equal(fl.krum(u, 0), [1.0])


def test_clipped_mean_agrees_with_clip_update():
    u = np.random.default_rng(0).normal(size=(6, 5)) * np.array([[0.1], [1], [3], [10], [0.5], [2]])
    want = np.mean([fl.clip_update([row], 1.5)[0] for row in u], axis=0)
    np.testing.assert_allclose(fl.clipped_mean(u, 1.5), want, rtol=1e-12)


def test_robust_aggregator_is_the_rule_on_the_stacked_updates():
    u = np.random.default_rng(1).normal(size=(9, 7))
    rows = list(u)
    np.testing.assert_allclose(fl.RobustAggregator("mean")(rows, np.zeros(7)).total, u.mean(axis=0))
    np.testing.assert_allclose(fl.RobustAggregator("median")(rows).total, np.median(u, axis=0))
    np.testing.assert_allclose(fl.RobustAggregator("trimmed_mean", beta=0.2)(rows).total,
                               scipy.stats.trim_mean(u, 0.2, axis=0))
    np.testing.assert_array_equal(fl.RobustAggregator("krum", f=3)(rows).total, u[_krum_brute_force(u, 3)])
    np.testing.assert_allclose(fl.RobustAggregator("clipped_mean", clip=0.5)(rows).total, fl.clipped_mean(u, 0.5))
    assert "in the clear" in fl.RobustAggregator("median")(rows).server_held


def test_one_outlier_moves_the_mean_but_not_the_robust_rules():
    honest = np.random.default_rng(2).normal(size=(10, 4))
    u = np.vstack([honest, [[1e6] * 4]])
    centre = honest.mean(axis=0)
    assert np.linalg.norm(u.mean(axis=0) - centre) > 1e4
    for est in (fl.coordinate_median(u), fl.trimmed_mean(u, 0.1), fl.krum(u, 1), fl.clipped_mean(u, 1.0)):
        assert np.linalg.norm(est - centre) < 2.0


# ---------------------------------------------------------------------------- bad input


def test_krum_names_f_and_its_valid_range():
    u = np.zeros((10, 3))
    with pytest.raises(ValueError, match=r"f must satisfy n > 2 f \+ 2.*n = 10.*from 0 to 3; got 4"):
        fl.krum(u, 4)
    with pytest.raises(ValueError, match="f must"):
        fl.krum_scores(np.zeros((2, 3)), 0)
    with pytest.raises(ValueError, match="f must be an integer >= 0"):
        fl.krum(u, -1)
    with pytest.raises(TypeError, match="f must be an integer"):
        fl.krum(u, 1.5)


def test_bad_updates_and_parameters_are_named():
    with pytest.raises(ValueError, match="updates must be a 2-D array"):
        fl.coordinate_median(np.zeros(5))
    with pytest.raises(ValueError, match="updates must hold only finite"):
        fl.trimmed_mean(np.array([[1.0, np.nan]]), 0.1)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 0.5\)"):
        fl.trimmed_mean(np.zeros((4, 2)), 0.5)
    with pytest.raises(ValueError, match="clip must be in"):
        fl.clipped_mean(np.zeros((4, 2)), 0.0)
    with pytest.raises(ValueError, match="rule must be one of"):
        fl.RobustAggregator("mode")
    with pytest.raises(ValueError, match="attack must be one of"):
        fl.PoisonedUpdate(fl.LocalSGD(0.1), "noise")
    with pytest.raises(ValueError, match=r"attackers must be an integer from 0 to 20"):
        fl.poisoning_accuracy(21, 20.0)
    with pytest.raises(ValueError, match="scale must be in"):
        fl.poisoning_accuracy(2, 1e4)


# ---------------------------------------------------------------------------- the attack


def test_poisoned_update_boosts_label_flipped_training_and_flips_signs():
    model = fl.SoftmaxRegression(3, 3)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    params = model.init(np.random.default_rng(1))
    honest = fl.LocalSGD(0.1, 1, 3, shuffle=False)
    flipped = honest(model, params, x, 2 - y).update
    np.testing.assert_allclose(fl.PoisonedUpdate(honest, "boost", 5.0, 3)(model, params, x, y).update, 5 * flipped,
                               rtol=1e-6)
    np.testing.assert_allclose(fl.PoisonedUpdate(honest, "sign_flip", 2.0, 3)(model, params, x, y).update,
                               -2 * honest(model, params, x, y).update, rtol=1e-6)


def test_fedavg_breaks_under_the_notebook_attack():
    clean = _mean_accuracy(0, 20.0)
    attacked = _mean_accuracy(2, 20.0)
    assert clean[FEDAVG] > 0.85          # measured 0.91
    assert attacked[FEDAVG] < 0.35       # measured 0.19 +- 0.05
    for s in SEEDS:
        assert fl.poisoning_accuracy(2, 20.0, seed=s)[FEDAVG] < 0.45


@pytest.mark.parametrize("label,attackers", [(CLIP, 2), (MEDIAN, 2), (TRIM, 2), (KRUM, 2),
                                             (TRIM, 4), (MEDIAN, 8), (KRUM, 8)])
def test_each_defence_holds_below_its_breakdown_point(label, attackers):
    # trimmed mean: f <= floor(beta n) = 4; median: f < n / 2 = 10; Krum: n > 2 f + 2, f <= 8
    assert _mean_accuracy(attackers, 20.0)[label] > 0.75  # measured 0.83 to 0.90


def test_trimmed_mean_breaks_beyond_its_trim():
    assert _mean_accuracy(6, 20.0)[TRIM] < 0.4  # measured 0.17 +- 0.02 (6 > floor(0.2 * 20) = 4)


def test_clipping_stops_boosting_but_not_many_sign_flippers():
    flip = _mean_accuracy(8, 1.0, "sign_flip")
    assert abs(flip[CLIP] - flip[FEDAVG]) < 0.05           # measured 0.41 both: clipping changes nothing
    assert flip[CLIP] < 0.6 and flip[KRUM] > 0.75           # measured 0.41 and 0.84
    assert _mean_accuracy(2, 20.0)[CLIP] > 0.8              # while boosting is stopped (measured 0.89)


def test_krum_survives_uncoordinated_attackers_but_not_colluding_ones():
    """Notebook 07's explanation of Krum at 10 of 20: the first round's updates, seed 0."""
    S = robust.POISONING_SETTINGS
    clients, _ = robust.poisoning_clients(seed=0)
    model = fl.SoftmaxRegression(64, 10)
    w0 = model.init(np.random.default_rng(0))
    honest = fl.LocalSGD(S["lr"], S["epochs"], S["batch_size"])
    attacker = fl.PoisonedUpdate(honest, "boost", 20.0)
    rng = np.random.default_rng(0)
    u = np.stack([(attacker if k < 10 else honest)(model, w0, x, y, rng).update
                  for k, (x, y) in enumerate(clients)]).astype(np.float64)
    scores = fl.krum_scores(u, S["krum_f"])
    assert np.argmin(scores) >= 10 and scores[:10].min() > 5 * scores[10:].min()  # measured 1418 vs 158
    colluding = u.copy()
    colluding[:10] = u[0]
    assert np.argmin(fl.krum_scores(colluding, S["krum_f"])) < 10


def test_run_poisoned_uses_federated_round_unchanged_without_attackers():
    clients, test = robust.poisoning_clients(0)
    s = robust.POISONING_SETTINGS
    hist = fl.run_poisoned(clients, test, attackers=0, aggregator=fl.RobustAggregator("mean"), rounds=2, lr=s["lr"],
                           epochs=1, batch_size=s["batch_size"], seed=0)
    model = fl.SoftmaxRegression(64, 10)
    rng = np.random.default_rng(0)
    params = model.init(rng)
    local = fl.LocalSGD(s["lr"], 1, s["batch_size"])
    for _ in range(2):  # FedAvg with equal client weights = the mean aggregator
        params = fl.federated_round(model, params, clients, list(range(20)), local, rng=rng,
                                    client_weights=[1.0] * 20).params
    np.testing.assert_allclose(hist.weights, params, atol=1e-6)


def test_poisoning_accuracy_trains_once_per_setting(monkeypatch):
    calls = []
    real = robust.run_poisoned
    monkeypatch.setattr(robust, "run_poisoned", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = fl.poisoning_accuracy(3, 7.0, seed=5)
    assert len(calls) == 5  # one run per aggregator
    assert fl.poisoning_accuracy(3, 7.0, seed=5) == first and len(calls) == 5  # then a lookup
    fl.poisoning_accuracy(0, 7.0, seed=5)
    fl.poisoning_accuracy(0, 3.0, attack="sign_flip", seed=5)  # no attacker: one setting whatever the attack
    assert len(calls) == 10


def test_poisoning_curve_reports_mean_and_standard_error():
    curves = fl.poisoning_curve([0, 2], seeds=SEEDS)
    for label, (mean, err) in curves.items():
        runs = np.array([[fl.poisoning_accuracy(a, 20.0, seed=s)[label] for s in SEEDS] for a in (0, 2)])
        np.testing.assert_allclose(mean, runs.mean(axis=1))
        np.testing.assert_allclose(err, runs.std(axis=1, ddof=1) / np.sqrt(3))
    with pytest.raises(ValueError, match="seeds must hold at least 2"):
        fl.poisoning_curve([0], seeds=[0])


def test_poisoning_plots_and_widget_build():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.fl.plots import plot_poisoning_bars, plot_poisoning_curves
    from labkit.fl.widgets import poisoning_explorer

    fig, ax = plt.subplots()
    assert plot_poisoning_curves(ax, [0, 2], fl.poisoning_curve([0, 2]), clean=0.9) is ax
    assert plot_poisoning_bars(ax, fl.poisoning_accuracy(2, 20.0), clean=0.9) is ax
    plt.close(fig)
    view = poisoning_explorer()
    assert set(view.controls) == {"attackers", "scale", "attack"}
    view.controls["attackers"].value = 4
    assert "Poisoning explorer" in repr(view)
    with pytest.raises(ValueError, match="scale must be one of"):
        poisoning_explorer(scale=7.0)


def test_breakdown_ranges_are_the_documented_ones():
    # Krum's valid f for n updates is 0 .. (n - 3) // 2; check the boundary on both sides for several n
    for n in range(3, 12):
        u = np.random.default_rng(n).normal(size=(n, 2))
        fl.krum(u, (n - 3) // 2)
        with pytest.raises(ValueError, match="f must"):
            fl.krum(u, (n - 3) // 2 + 1)
