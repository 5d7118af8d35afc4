"""labkit.dp's group privacy and user-level epsilon (notebook 04), cross-checked against tensorflow-privacy.

tensorflow-privacy 0.9.0's ``compute_dp_sgd_privacy_statement(..., max_examples_per_user=k)`` prints a
user-level epsilon from group privacy (Vadhan 2017, Lemma 2.2, with a search over the record-level
delta); ``dp.user_level_epsilon_by_group_privacy`` must give the same number.
"""

from __future__ import annotations

import math
import re

import pytest

from labkit import dp

# Notebook 04's run: 1347 digits, Poisson batches of 128, 20 epochs, delta = 1e-5, epsilon 2 (RDP).
N, BATCH, EPOCHS, DELTA = 1347, 128, 20, 1e-5
Q, STEPS = BATCH / N, 211
SIGMA = 3.1641344312000323  # dp.dpsgd_noise_multiplier(2.0, N, BATCH, EPOCHS, DELTA)


def _tf_privacy_user_epsilon(n, batch, epochs, sigma, delta, k):
    from labkit.runtime import quiet_environment, silence_python_noise

    quiet_environment()
    silence_python_noise()
    from tensorflow_privacy.privacy.analysis.compute_dp_sgd_privacy_lib import compute_dp_sgd_privacy_statement

    text = compute_dp_sgd_privacy_statement(number_of_examples=n, batch_size=batch, num_epochs=epochs,
                                            noise_multiplier=sigma, delta=delta, used_microbatching=False,
                                            max_examples_per_user=k)
    example, user = re.findall(r"Poisson sampling \(\*\):\s+([0-9.]+|inf)", text)
    return float(example), float(user)


def test_notebook_sigma_is_current():
    assert dp.dpsgd_noise_multiplier(2.0, N, BATCH, EPOCHS, DELTA) == pytest.approx(SIGMA, rel=1e-9)
    assert dp.dpsgd_steps(N, BATCH, EPOCHS) == STEPS


@pytest.mark.slow  # imports tensorflow-privacy
@pytest.mark.parametrize("n, batch, epochs, sigma, delta, k", [
    (N, BATCH, EPOCHS, SIGMA, DELTA, 2),
    (N, BATCH, EPOCHS, SIGMA, DELTA, 5),
    (N, BATCH, EPOCHS, SIGMA, DELTA, 10),
    (60000, 256, 60, 1.1, 1e-5, 3),
    (10000, 100, 5, 0.8, 1e-6, 4),
])
def test_matches_tensorflow_privacy_statement(n, batch, epochs, sigma, delta, k):
    example, user = _tf_privacy_user_epsilon(n, batch, epochs, sigma, delta, k)
    steps = dp.dpsgd_steps(n, batch, epochs)
    ours = dp.user_level_epsilon_by_group_privacy(batch / n, sigma, steps, delta, k)
    assert round(ours, 3) == pytest.approx(user, abs=1.5e-3)
    assert round(dp.poisson_gaussian_epsilon(batch / n, sigma, steps, delta), 3) == pytest.approx(example, abs=1.5e-3)


@pytest.mark.slow  # imports tensorflow-privacy
def test_matches_tensorflow_privacy_to_many_digits():
    # The statement prints 3 decimals; its internal function gives the full number.
    _tf_privacy_user_epsilon(N, BATCH, EPOCHS, SIGMA, DELTA, 2)  # quiets TensorFlow's logs before the import
    from tensorflow_privacy.privacy.analysis import compute_dp_sgd_privacy_lib as lib

    # k = 29 needs a record-level delta below 1e-300 (epsilon 745); from k = 30 neither finds a finite bound.
    for k in (2, 5, 10, 29, 30):
        theirs = lib._compute_dp_sgd_user_privacy(EPOCHS, SIGMA, DELTA, k, used_microbatching=False,
                                                  poisson_subsampling_probability=Q)
        ours = dp.user_level_epsilon_by_group_privacy(Q, SIGMA, STEPS, DELTA, k)
        if k == 30:
            assert ours == theirs == math.inf
        else:
            assert ours == pytest.approx(theirs, rel=1e-9)


def test_notebook_numbers():
    got = [round(dp.user_level_epsilon_by_group_privacy(Q, SIGMA, STEPS, DELTA, k), 2) for k in (1, 2, 5, 10)]
    assert got == [2.00, 4.51, 15.85, 53.77]


def test_one_record_per_user_is_record_level():
    for q, sigma, steps, delta in [(Q, SIGMA, STEPS, DELTA), (0.01, 1.1, 1000, 1e-6), (1.0, 5.0, 10, 1e-5)]:
        assert dp.user_level_epsilon_by_group_privacy(q, sigma, steps, delta, 1) == \
            dp.poisson_gaussian_epsilon(q, sigma, steps, delta)


def test_grows_with_k_faster_than_k_times():
    eps1 = dp.poisson_gaussian_epsilon(Q, SIGMA, STEPS, DELTA)
    eps = [dp.user_level_epsilon_by_group_privacy(Q, SIGMA, STEPS, DELTA, k) for k in (1, 2, 3, 5, 8, 10)]
    assert all(a < b for a, b in zip(eps, eps[1:]))
    assert all(e >= k * eps1 for e, k in zip(eps, (1, 2, 3, 5, 8, 10)))


def test_no_finite_bound_is_inf():
    assert math.isfinite(dp.user_level_epsilon_by_group_privacy(Q, SIGMA, STEPS, DELTA, 29))
    for k in (30, 100, dp.accounting.MAX_GROUP_SIZE):
        assert dp.user_level_epsilon_by_group_privacy(Q, SIGMA, STEPS, DELTA, k) == math.inf
    assert dp.user_level_epsilon_by_group_privacy(1.0, 0.5, 1000, DELTA, 2) == math.inf  # no finite bound at k = 2


def test_group_privacy_lemma():
    assert dp.group_privacy(2.0, 1e-5, 1) == (2.0, 1e-5)
    eps, delta = dp.group_privacy(2.0, 1e-5, 2)
    assert eps == 4.0 and delta == pytest.approx(1e-5 * (1 + math.e ** 2), rel=1e-12)
    eps, delta = dp.group_privacy(0.5, 1e-6, 5)
    assert delta == pytest.approx(1e-6 * sum(math.exp(0.5 * i) for i in range(5)), rel=1e-12)
    assert delta <= 5 * math.exp(4 * 0.5) * 1e-6  # the sum is at most k e^((k-1) eps) delta
    assert dp.group_privacy(2.0, 1e-5, 10) == (20.0, 1.0)  # delta_k capped at 1: no guarantee
    assert dp.group_privacy(0.0, 1e-5, 3) == (0.0, pytest.approx(3e-5))
    assert dp.group_privacy(1.0, 0.0, 3) == (3.0, 0.0)  # pure DP


@pytest.mark.parametrize("kwargs, name", [
    (dict(records_per_user=0), "records_per_user"),
    (dict(records_per_user=2.5), "records_per_user"),
    (dict(records_per_user=10**9), "records_per_user"),
    (dict(delta=0.0), "delta"),
    (dict(delta=1.0), "delta"),
    (dict(sampling_probability=0.0), "sampling_probability"),
    (dict(noise_multiplier=-1.0), "noise_multiplier"),
    (dict(steps=0), "steps"),
    (dict(steps=float("nan")), "steps"),
])
def test_bad_input_names_the_argument(kwargs, name):
    args = dict(sampling_probability=Q, noise_multiplier=SIGMA, steps=STEPS, delta=DELTA, records_per_user=2)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=name):
        dp.user_level_epsilon_by_group_privacy(**args)


@pytest.mark.parametrize("kwargs, name", [
    (dict(epsilon=-1.0), "epsilon"), (dict(epsilon=math.inf), "epsilon"), (dict(delta=1.0), "delta"),
    (dict(delta=-1e-5), "delta"), (dict(group_size=0), "group_size"), (dict(group_size=10**9), "group_size"),
])
def test_group_privacy_bad_input(kwargs, name):
    args = dict(epsilon=1.0, delta=1e-5, group_size=2)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=name):
        dp.group_privacy(**args)
