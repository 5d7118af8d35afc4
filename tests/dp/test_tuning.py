"""labkit.dp.tuning: the fixed-epsilon tuning grid, checked against a fresh computation and dp-accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.dp import tuning


@pytest.fixture(scope="module")
def grid():
    return tuning.load_tuning_grid()


def _dp_accounting_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """Epsilon of Poisson-subsampled Gaussian DP-SGD straight from dp-accounting (default RDP orders)."""
    import dp_accounting
    from dp_accounting import rdp

    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    return rdp.RdpAccountant().compose(event).get_epsilon(delta)


def test_grid_has_the_config_axes_and_shapes(grid):
    cfg = tuning.GridConfig()
    assert grid["target_epsilon"].tolist() == list(cfg.targets)
    assert grid["batch_size"].tolist() == list(cfg.batch_sizes)
    assert grid["l2_norm_clip"].tolist() == list(cfg.clips)
    assert grid["epochs"].tolist() == list(cfg.epochs)
    assert grid["step_size"].tolist() == list(cfg.step_sizes)
    assert grid["seeds"].tolist() == list(cfg.seeds) and len(cfg.seeds) >= 3
    e, b, c, k, s, r = (len(cfg.targets), len(cfg.batch_sizes), len(cfg.clips), len(cfg.epochs),
                        len(cfg.step_sizes), len(cfg.seeds))
    assert grid["accuracy"].shape == (e, b, c, k, s, r)
    assert grid["noise_multiplier"].shape == (e, b, k)
    assert grid["nonprivate_accuracy"].shape == (b, k, s, r)
    assert float(grid["delta"]) == cfg.delta
    finite = grid["accuracy"][np.isfinite(grid["accuracy"])]
    assert finite.size > 0.9 * grid["accuracy"].size  # divergence is the exception
    assert np.all((finite >= 0) & (finite <= 1))
    # accuracies are counts over the test split
    n_test = int(grid["num_test"])
    assert np.allclose(finite * n_test, np.round(finite * n_test), atol=1e-3)


def test_every_noise_multiplier_gives_its_target_epsilon_by_dp_accounting(grid):
    """For every (epsilon, batch, epochs) point, dp-accounting's RDP accountant, called directly, gives the
    target epsilon to 1% for the stored sigma; 3% less noise would overshoot by more than 1% (so the
    check can fail)."""
    n, delta = int(grid["num_examples"]), float(grid["delta"])
    for ie, eps in enumerate(grid["target_epsilon"]):
        for ib, batch in enumerate(grid["batch_size"]):
            for ik, epochs in enumerate(grid["epochs"]):
                sigma = float(grid["noise_multiplier"][ie, ib, ik])
                q, steps = int(batch) / n, math.ceil(int(epochs) * n / int(batch))
                got = _dp_accounting_epsilon(q, sigma, steps, delta)
                assert got == pytest.approx(float(eps), rel=0.01), (eps, batch, epochs, sigma, got)
                assert _dp_accounting_epsilon(q, 0.97 * sigma, steps, delta) > 1.01 * float(eps)


def test_grid_matches_a_fresh_computation(grid):
    """Two grid entries retrained now from their seed give the stored accuracy (float rounding aside) and the
    stored noise multiplier; a different seed does not reproduce both."""
    cases = [(1.0, 256, 1.0, 10, 1.0, 0), (4.0, 128, 0.1, 5, 0.5, 1)]
    fresh = []
    for eps, batch, clip, epochs, step, seed in cases:
        sigma, acc = tuning.train_tuning_point(eps, batch, clip, epochs, step, seed)
        ie, ib, ic, ik, i_s, ir = (list(grid[k]).index(x) for k, x in (
            ("target_epsilon", eps), ("batch_size", batch), ("l2_norm_clip", clip), ("epochs", epochs),
            ("step_size", step), ("seeds", seed)))
        assert sigma == pytest.approx(float(grid["noise_multiplier"][ie, ib, ik]), rel=1e-5)
        assert acc == pytest.approx(float(grid["accuracy"][ie, ib, ic, ik, i_s, ir]), abs=2.5 / 450)
        fresh.append(acc)
    other = [tuning.train_tuning_point(eps, batch, clip, epochs, step, seed + 7)[1]
             for eps, batch, clip, epochs, step, seed in cases]
    assert other != fresh


def test_build_grid_on_a_tiny_config_matches_train_tuning_point():
    cfg = tuning.GridConfig(targets=(2.0,), batch_sizes=(256,), clips=(1.0,), epochs=(2,), step_sizes=(1.0,),
                            seeds=(3,))
    calls = []
    g = tuning.build_grid(cfg, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    sigma, acc = tuning.train_tuning_point(2.0, 256, 1.0, 2, 1.0, 3, cfg)
    assert g["noise_multiplier"][0, 0, 0] == pytest.approx(sigma, rel=1e-9)
    assert g["accuracy"][0, 0, 0, 0, 0, 0] == pytest.approx(acc, abs=2.5 / 450)
    assert 0 < g["nonprivate_accuracy"][0, 0, 0, 0] <= 1


def test_tuning_at_returns_the_grid_values(grid):
    n = int(grid["num_examples"])
    acc = np.asarray(grid["accuracy"], dtype=float)
    for ie, ib, ic, ik in [(0, 0, 0, 0), (1, 2, 1, 2), (4, 4, 2, 3), (2, 1, 1, 1)]:
        args = (float(grid["target_epsilon"][ie]), int(grid["batch_size"][ib]), float(grid["l2_norm_clip"][ic]),
                int(grid["epochs"][ik]))
        runs = acc[ie, ib, ic, ik]
        for i_s, step in enumerate(grid["step_size"]):
            p = tuning.tuning_at(grid, *args, float(step))
            row = runs[i_s][np.isfinite(runs[i_s])]
            assert p.accuracy == pytest.approx(row.mean())
            assert p.stderr == pytest.approx(row.std(ddof=1) / math.sqrt(row.size))
            assert p.num_seeds == row.size and not p.best_step
            assert p.noise_multiplier == float(grid["noise_multiplier"][ie, ib, ik])
            assert p.steps == math.ceil(args[3] * n / args[1])
            assert p.learning_rate == pytest.approx(float(step) / args[2])
        best = tuning.tuning_at(grid, *args)
        means = [r[np.isfinite(r)].mean() if np.isfinite(r).any() else -1 for r in runs]
        assert best.best_step and best.step_size == float(grid["step_size"][int(np.argmax(means))])
        assert best.accuracy == pytest.approx(max(means))
        ref = np.asarray(grid["nonprivate_accuracy"], dtype=float)[ib, ik]
        assert best.nonprivate_accuracy == pytest.approx(max(r[np.isfinite(r)].mean() for r in ref))
    sl = tuning.tuning_slice(grid, 1.0, 1.0, None)
    for ik, ep in enumerate(sl.epochs):
        for ib, b in enumerate(sl.batch_sizes):
            assert sl.accuracy[ik, ib] == tuning.tuning_at(grid, 1.0, b, 1.0, ep).accuracy


def test_accuracy_difference_is_welchs_interval():
    from scipy import stats

    def point(values):
        return tuning.TuningPoint(1.0, 32, 1.0, 5, 1.0, 1.0, 1.0, 1, float(np.mean(values)), 0.0, len(values),
                                  tuple(values), 1.0, False)

    a, b = [0.91, 0.93, 0.92, 0.95], [0.88, 0.86, 0.9]
    d = tuning.accuracy_difference(point(a), point(b))
    assert d.difference == pytest.approx(np.mean(a) - np.mean(b))
    # scipy's Welch test puts each end of a 95% interval exactly at p = 0.05 (a shifted by the end).
    for end in (d.low, d.high):
        assert stats.ttest_ind(np.array(a) - end, b, equal_var=False).pvalue == pytest.approx(0.05, rel=1e-6)
    assert stats.ttest_ind(a, b, equal_var=False).pvalue < 0.05
    assert d.significant and "separate" in d.describe()
    same = tuning.accuracy_difference(point([0.9, 0.92, 0.91]), point([0.91, 0.9, 0.93]))
    assert not same.significant and "indistinguishable" in same.describe()


def test_bad_input_to_the_lookup(grid):
    with pytest.raises(ValueError, match=r"batch_size must be one of the grid's values 32, 128.*got 100"):
        tuning.tuning_at(grid, 1.0, 100, 1.0, 10)
    with pytest.raises(ValueError, match="target_epsilon must be one of"):
        tuning.tuning_at(grid, 3.0, 128, 1.0, 10)
    with pytest.raises(ValueError, match="step_size must be one of"):
        tuning.tuning_at(grid, 1.0, 128, 1.0, 10, 0.3)
    with pytest.raises(TypeError, match="epochs must be one of"):
        tuning.tuning_at(grid, 1.0, 128, 1.0, "10")
    with pytest.raises(TypeError, match="grid must be the dict"):
        tuning.tuning_at({"accuracy": 1}, 1.0, 128, 1.0, 10)
    with pytest.raises(TypeError, match="a must be a TuningPoint"):
        tuning.accuracy_difference(None, tuning.tuning_at(grid, 1.0, 128, 1.0, 10))
    with pytest.raises(ValueError, match="batch_size"):
        tuning.train_tuning_point(1.0, 0, 1.0, 1, 1.0, 0)
    with pytest.raises(TypeError, match="config must be a GridConfig"):
        tuning.build_grid(config={"targets": (1.0,)})
