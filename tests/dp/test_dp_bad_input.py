"""Issue 21 for labkit.dp: bad input is refused clearly at the privacy code's entry, nothing hangs."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import dp
from labkit.dp import deid, dpsgd


# --------------------------------------------------------------------------------------------
# dpsgd_steps and the accountants: counts, and an upper bound on steps
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name, error", [
    (dict(num_examples=0), "num_examples", ValueError),
    (dict(num_examples=-5), "num_examples", ValueError),
    (dict(num_examples=1000.5), "num_examples", TypeError),
    (dict(num_examples=True), "num_examples", TypeError),
    (dict(batch_size=0), "batch_size", ValueError),
    (dict(batch_size=-1), "batch_size", ValueError),
    (dict(batch_size=2.5), "batch_size", TypeError),
    (dict(batch_size=2000), "batch_size", ValueError),  # larger than num_examples
    (dict(epochs=0.0), "epochs", ValueError),
    (dict(epochs=-1.0), "epochs", ValueError),
    (dict(epochs=math.nan), "epochs", ValueError),
    (dict(epochs=math.inf), "epochs", ValueError),
    (dict(epochs=True), "epochs", TypeError),
    (dict(epochs=1e9), "epochs", ValueError),  # 10^10 steps: more than MAX_STEPS
])
def test_dpsgd_steps_refuses_bad_counts(kwargs, name, error):
    args = dict(num_examples=1000, batch_size=100, epochs=2.0) | kwargs
    with pytest.raises(error, match=name):
        dp.dpsgd_steps(**args)


def test_dpsgd_steps_unchanged_for_valid_input():
    assert dp.dpsgd_steps(60000, 256, 60) == 14063
    assert dp.dpsgd_steps(1000, 100, 2.0) == 20
    assert dp.dpsgd_steps(1000, 100, 0.05) == 1


@pytest.mark.parametrize("call", [
    lambda: dp.poisson_gaussian_epsilon(0.01, 1.1, 10**9, 1e-5, "pld"),
    lambda: dp.poisson_gaussian_epsilon(0.01, 1.1, 10**9, 1e-5, "rdp"),
    lambda: dp.noise_multiplier_for_epsilon(1.0, 0.01, 10**9, 1e-5),
    lambda: dp.rdp_epsilon_old_conversion(0.01, 1.1, 10**9, 1e-5),
    lambda: dp.accountant_dashboard(0.01, 1.1, 10**9, 1e-5),
    lambda: dp.rdp_epsilon_curve(0.01, 1.1, np.array([1, 10**9]), 1e-5),
    lambda: dp.dpsgd_epsilon(10**9, 1, 1.1, 1.0, 1e-5, "pld"),
])
def test_accountants_refuse_a_billion_steps_quickly(call):
    start = time.perf_counter()
    with pytest.raises(ValueError, match="steps|epochs"):
        call()
    assert time.perf_counter() - start < 2.0


def test_accountants_refuse_bool_steps():
    with pytest.raises(TypeError, match="steps"):
        dp.poisson_gaussian_epsilon(0.01, 1.1, True, 1e-5)


# --------------------------------------------------------------------------------------------
# Clipping and noise: non-finite input never passes
# --------------------------------------------------------------------------------------------

def test_clip_and_sum_refuses_nan_and_inf():
    good = [np.ones((3, 2)), np.ones(3)]
    for bad in (math.nan, math.inf, -math.inf):
        arrays = [a.copy() for a in good]
        arrays[0][1, 1] = bad
        with pytest.raises(ValueError, match=r"per_example\[0\]"):
            dpsgd.clip_and_sum(arrays, 1.0)


def test_clip_and_sum_refuses_mismatched_example_counts():
    with pytest.raises(ValueError, match="per_example"):
        dpsgd.clip_and_sum([np.ones((3, 2)), np.ones(4)], 1.0)


def test_add_gaussian_noise_refuses_nan_and_bad_seeds():
    with pytest.raises(ValueError, match=r"summed\[1\]"):
        dpsgd.add_gaussian_noise([np.ones(2), np.array([1.0, math.nan])], 1.0, 1.1, rng=0)
    with pytest.raises(ValueError, match="noise_multiplier"):
        dpsgd.add_gaussian_noise([np.ones(2)], 1.0, math.inf, rng=0)
    with pytest.raises(ValueError, match="rng"):
        dpsgd.add_gaussian_noise([np.ones(2)], 1.0, 1.1, rng=-1)
    for seed in ("seed", 2.5, math.nan, True):
        with pytest.raises(TypeError, match="rng"):
            dpsgd.add_gaussian_noise([np.ones(2)], 1.0, 1.1, rng=seed)


def test_add_gaussian_noise_seed_is_reproducible():
    a = dpsgd.add_gaussian_noise([np.zeros(3)], 1.0, 1.0, rng=7)
    b = dpsgd.add_gaussian_noise([np.zeros(3)], 1.0, 1.0, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])


_POSITION = st.floats(0, 1, exclude_max=True)
_BAD = st.sampled_from([math.nan, math.inf, -math.inf])


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 4), which=st.integers(0, 1), position=_POSITION, bad=_BAD)
def test_property_nonfinite_gradients_are_refused(rows, cols, which, position, bad):
    """A NaN or inf anywhere in the clipping or noise inputs: a ValueError naming the argument."""
    arrays = [np.ones((rows, cols)), np.ones(rows)]
    target = arrays[which]
    target.flat[int(position * target.size)] = bad
    with pytest.raises(ValueError, match=rf"per_example\[{which}\]"):
        dpsgd.clip_and_sum(arrays, 1.0)
    summed = [a.sum(axis=0) for a in arrays]  # keeps the non-finite value
    with pytest.raises(ValueError, match=rf"summed\[{which}\]"):
        dpsgd.add_gaussian_noise(summed, 1.0, 1.1, rng=0)


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(["l2_norm_clip", "noise_multiplier"]), bad=_BAD)
def test_property_nonfinite_hyperparameters_are_refused(name, bad):
    args = dict(l2_norm_clip=1.0, noise_multiplier=1.1) | {name: bad}
    with pytest.raises(ValueError, match=name):
        dpsgd.add_gaussian_noise([np.ones(2)], args["l2_norm_clip"], args["noise_multiplier"], rng=0)
    if name == "l2_norm_clip":
        with pytest.raises(ValueError, match=name):
            dpsgd.clip_and_sum([np.ones((2, 2))], bad)


# --------------------------------------------------------------------------------------------
# train_dpsgd: no NaN in, no NaN weights out
# --------------------------------------------------------------------------------------------

@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    y = np.arange(24) % 2
    return dpsgd.make_mlp(4, 2, (4,), seed=0), x, y


def _train(model, x, y, **kw):
    args = dict(epochs=1, batch_size=8, l2_norm_clip=1.0, noise_multiplier=1.1, learning_rate=0.1, seed=0) | kw
    return dpsgd.train_dpsgd(model, x, y, **args)


def test_train_dpsgd_refuses_nonfinite_features(small):
    model, x, y = small
    x[3, 2] = math.nan
    with pytest.raises(ValueError, match="x must hold only finite"):
        _train(model, x, y)


def test_train_dpsgd_refuses_bad_labels_and_seeds(small):
    model, x, y = small
    with pytest.raises(ValueError, match="y must hold class labels"):
        _train(model, x, y + 5)
    for seed, error in ((-1, ValueError), (2.5, TypeError), ("0", TypeError), (True, TypeError)):
        with pytest.raises(error, match="seed"):
            _train(model, x, y, seed=seed)
    for name in ("noise_multiplier", "l2_norm_clip", "learning_rate"):
        with pytest.raises(ValueError, match=name):
            _train(model, x, y, **{name: math.inf})


def test_train_dpsgd_refuses_to_return_nan_weights(small):
    model, x, y = small
    with pytest.raises(ValueError, match="learning_rate"):
        _train(model, x * 1e30, y, l2_norm_clip=None, noise_multiplier=0.0, learning_rate=1e30)


# --------------------------------------------------------------------------------------------
# De-identification: keys never collide through out-of-range fields
# --------------------------------------------------------------------------------------------

def test_quasi_identifier_key_refuses_out_of_range_fields():
    zips, days = np.array([12345, 12345]), np.array([100, 100])
    with pytest.raises(ValueError, match="sex"):
        deid.quasi_identifier_key(zips, days, np.array([0, 2]))
    with pytest.raises(ValueError, match="zip_code"):
        deid.quasi_identifier_key(np.array([12345, 123456]), days, np.array([0, 1]))
    with pytest.raises(ValueError, match="birth_day"):
        deid.quasi_identifier_key(zips, np.array([100, -1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="same length"):
        deid.quasi_identifier_key(zips, days, np.array([0]))
    with pytest.raises(ValueError, match="sex"):
        deid.quasi_identifier_key(zips, days, np.array([0.0, math.nan]))


def test_quasi_identifier_key_unchanged_for_valid_input():
    k = deid.quasi_identifier_key(np.array([12345, 12345, 12399]), np.array([100, 100, 100]), np.array([0, 1, 0]),
                                  zip_digits=3)
    assert k[0] != k[1] and k[0] == k[2]


# --------------------------------------------------------------------------------------------
# Widgets say when they move a value into a slider's range; plots refuse NaN
# --------------------------------------------------------------------------------------------

def test_accountant_widget_says_when_it_clamps():
    from labkit.dp.widgets import accountant_widget

    view = accountant_widget(0.01, 1.1, 10**6, 1e-5)
    assert "steps = 1e+06 is outside this slider's range [1, 50000]; showing steps = 50000" in view.status.value
    assert "outside" not in accountant_widget(0.01, 1.1, 100, 1e-5).status.value
    with pytest.raises(TypeError, match="steps"):
        accountant_widget(0.01, 1.1, True, 1e-5)


def test_plots_refuse_nan_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.dp import plots

    ax = plt.figure().add_subplot()
    with pytest.raises(ValueError, match="norms"):
        plots.plot_gradient_norms(ax, np.array([0.5, math.nan]), 1.0)
    with pytest.raises(ValueError, match="log_ratios"):
        plots.plot_log_ratio(ax, np.array([0.1, 0.2]), np.array([0.1, math.inf]), 1.0)
    with pytest.raises(ValueError, match="centres"):
        plots.plot_log_ratio(ax, np.array([0.1, math.nan]), np.array([0.1, 0.2]), 1.0)
    plt.close("all")
