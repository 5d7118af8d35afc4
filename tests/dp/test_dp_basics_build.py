"""Build-then-save for notebooks 01 to 03: the functions each notebook builds in its own cells give labkit's results
on seeded property tests; labkit's references for exercises 01.1, 01.2 and 02.1 against brute force; and the answer
key of exercise 02.2 measured on the releases the notebook shows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from labkit import dp
from labkit.dp import checks
from labkit.dp import deid as P
from labkit.dp.mechanisms import laplace_histogram
from notebook_source import notebook_function

SEEDS = range(6)


# ---------------------------------------------------------------- 01: uniqueness, built in the notebook


@pytest.mark.parametrize("seed", SEEDS)
def test_notebook_01_group_sizes_and_unique_share_are_labkits(seed):
    group_sizes = notebook_function("01", "group_sizes", {"np": np})
    unique_share = notebook_function("01", "unique_share", {"np": np, "group_sizes": group_sizes})
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 3 + 40 * seed, size=1 + 50 * seed)
    assert np.array_equal(group_sizes(keys), P.group_sizes(keys))
    assert unique_share(keys) == P.unique_share(keys)


# ---------------------------------------------------------------- 01: the join and the homogeneity attack


def _brute_force_join(record_keys, voter_keys):
    out = []
    for key in record_keys:
        rows = np.flatnonzero(voter_keys == key)
        out.append(int(rows[0]) if rows.size == 1 else -1)
    return np.array(out)


@pytest.mark.parametrize("seed", SEEDS)
def test_unique_matches_is_the_brute_force_join(seed):
    rng = np.random.default_rng(seed)
    distinct = 2 + 10 * seed
    record_keys, voter_keys = rng.integers(distinct, size=1 + 30 * seed), rng.integers(distinct, size=1 + 20 * seed)
    got = P.unique_matches(record_keys, voter_keys)
    assert got.dtype == np.int64 and np.array_equal(got, _brute_force_join(record_keys, voter_keys))


def test_link_names_the_records_unique_matches_names():
    pop = P.synthetic_population(20, 0)
    records, record_truth = P.medical_records(pop, 300, 1)
    voters, voter_truth = P.voter_list(pop, 0.6, 2)
    result = P.link(records, voters, record_truth, voter_truth)
    keys = [P.quasi_identifier_key(t.columns["zip"], t.columns["birth_date"], t.columns["sex"])
            for t in (records, voters)]
    assert np.array_equal(result.match_index, P.unique_matches(*keys))
    assert result.unique_matches == int(np.sum(result.match_index >= 0))


@pytest.mark.parametrize("seed", SEEDS)
def test_homogeneous_records_is_the_brute_force_answer(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(2 + 5 * seed, size=1 + 25 * seed)
    sensitive = np.array(["flu", "asthma", "gout"])[rng.integers(1 + seed % 3, size=keys.size)]
    expected = [len(set(sensitive[keys == k].tolist())) == 1 for k in keys]
    assert P.homogeneous_records(keys, sensitive).tolist() == expected
    assert P.homogeneous_records(keys, rng.integers(4, size=keys.size)).dtype == bool  # integer values too


def test_join_and_homogeneity_name_a_bad_parameter():
    with pytest.raises(ValueError, match="^voter_keys must not be empty"):
        P.unique_matches([1, 2], [])
    with pytest.raises(TypeError, match="^record_keys must be a 1-D array of integer keys"):
        P.unique_matches(None, [1])
    with pytest.raises(ValueError, match="^keys and sensitive must have the same length"):
        P.homogeneous_records([1, 2], ["a"])
    with pytest.raises(TypeError, match="^sensitive must be a 1-D array"):
        P.homogeneous_records([1, 2], "ab")


# ---------------------------------------------------------------- 02: mechanisms built in the notebook


def _notebook_02():
    truthful = notebook_function("02", "truthful_probability", {"math": math})
    scope = {"np": np, "math": math, "truthful_probability": truthful}
    return (truthful, notebook_function("02", "randomized_response", scope),
            notebook_function("02", "estimate_proportion", scope),
            notebook_function("02", "laplace_mechanism", {"np": np}))


@pytest.mark.parametrize("seed", SEEDS)
def test_notebook_02_mechanisms_are_labkits(seed):
    truthful, randomized_response, estimate_proportion, laplace_mechanism = _notebook_02()
    rng = np.random.default_rng(seed)
    epsilon = float(rng.uniform(0.05, 8.0))
    bits = rng.integers(0, 2, size=(1 + 40 * seed,) if seed % 2 else (3, 1 + 5 * seed))
    assert truthful(epsilon) == dp.truthful_probability(epsilon)
    answers = randomized_response(bits, epsilon, np.random.default_rng(100 + seed))
    assert np.array_equal(answers, dp.randomized_response(bits, epsilon, rng=100 + seed))
    assert estimate_proportion(answers, epsilon) == dp.estimate_proportion(answers, epsilon)
    for value in (float(rng.normal() * 100), rng.normal(size=7), rng.normal(size=(2, 3)), np.zeros(0)):
        sensitivity = float(rng.uniform(0.1, 10.0))
        assert np.array_equal(laplace_mechanism(value, sensitivity, epsilon, np.random.default_rng(seed)),
                              dp.laplace_mechanism(value, sensitivity, epsilon, rng=seed))


# ---------------------------------------------------------------- 02: the Laplace histogram (exercise 02.1's reference)


@pytest.mark.parametrize("seed", SEEDS)
def test_laplace_histogram_is_the_laplace_mechanism_on_the_counts(seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 2, size=5 * seed)  # seed 0: no records
    edges = np.sort(rng.uniform(-3, 3, size=2 + seed))
    counts = np.histogram(values, bins=edges)[0]
    got = laplace_histogram(values, edges, 0.7, rng=seed)
    assert got.shape == counts.shape
    assert np.array_equal(got, dp.laplace_mechanism(counts.astype(float), 1.0, 0.7, rng=seed))


def test_laplace_histogram_noise_is_independent_laplace_of_scale_one_over_epsilon():
    rng = np.random.default_rng(0)
    values, edges = rng.integers(0, 4, size=30).astype(float), np.arange(5.0)
    draws = np.array([laplace_histogram(values, edges, 2.0, rng) for _ in range(20_000)])
    noise = draws - np.histogram(values, edges)[0]
    assert abs(np.mean(np.abs(noise)) / 0.5 - 1) < 0.02  # mean |Lap(b)| = b; s.e. about 0.4%
    assert np.max(np.abs(np.corrcoef(noise.T)[np.triu_indices(4, 1)])) < 0.03


def test_laplace_histogram_refuses_bad_edges():
    with pytest.raises(ValueError, match="^bin_edges must be at least two strictly increasing"):
        laplace_histogram([1.0], [2.0, 1.0], 1.0, rng=0)


# ---------------------------------------------------------------- 02: exercise 02.2's answer key, measured


def _releases():
    return {letter: notebook_function("02", f"release_{letter}", {"np": np}) for letter in "abcde"}


def test_the_answer_key_of_02_2_names_the_releases_the_notebook_shows():
    assert set(checks._RELEASES) == set(_releases()) and checks._BROKEN == {"b", "d", "e"}


def test_release_b_shares_its_noise_so_the_differences_between_bins_are_exact():
    release_b = _releases()["b"]
    rng = np.random.default_rng(0)
    data = np.array([0, 0, 1, 2, 2, 2])
    neighbour = np.append(data, 0)  # one more person in category 0
    gaps = {tuple(np.round(np.diff(release_b(d, 3, 1.0, rng)), 9)) for d in (data, data, neighbour, neighbour)}
    # The first gap is exact: an event with probability 1 on D and 0 on its neighbour.
    assert gaps == {(-1.0, 2.0), (-2.0, 2.0)}


@pytest.mark.parametrize("letter, epsilon", [("a", 1.0), ("c", 0.5)])
def test_releases_a_and_c_add_independent_laplace_noise_of_at_least_one_over_epsilon(letter, epsilon):
    release = _releases()[letter]
    rng = np.random.default_rng(1)
    data = np.array([0, 1, 1, 3])
    noise = np.array([release(data, 4, epsilon, rng) for _ in range(20_000)]) - np.bincount(data, minlength=4)
    scale = np.mean(np.abs(noise), axis=0) * epsilon  # 1 for a, 4 (the number of bins) for c
    assert np.all(scale > 0.95) and np.max(np.abs(np.corrcoef(noise.T)[np.triu_indices(4, 1)])) < 0.03
    kurtosis = np.mean(noise ** 4, axis=0) / np.mean(noise ** 2, axis=0) ** 2
    assert np.all(kurtosis > 5)  # Laplace: 6


def test_release_d_uses_less_noise_than_a_record_at_the_upper_bound_needs():
    release_d = _releases()["d"]
    rng = np.random.default_rng(2)
    ages, lower, upper, epsilon = np.array([30.0, 45.0, 70.0]), 18.0, 100.0, 1.0
    noise = np.array([release_d(ages, lower, upper, epsilon, rng) for _ in range(20_000)]) - ages.sum()
    scale = np.mean(np.abs(noise))  # (upper - lower) / epsilon = 82, s.e. about 0.6
    # Adding a record aged 100 moves the sum by 100: the privacy loss reaches 100 / scale, about 1.22 epsilon.
    assert 100 / scale > 1.15 * epsilon


def test_release_e_moves_without_limit_when_one_record_is_an_outlier():
    release_e = _releases()["e"]
    rng = np.random.default_rng(3)
    ages = np.array([30.0, 45.0, 70.0])
    on_d = np.median([release_e(ages, 0.0, 100.0, 1.0, rng) for _ in range(2000)])
    on_neighbour = np.median([release_e(np.append(ages, 10_000.0), 0.0, 100.0, 1.0, rng) for _ in range(2000)])
    assert on_neighbour - on_d > 9_000  # the noise scale is 100: the outlier shows through


# ---------------------------------------------------------------- 03: Gaussian calibration, built in the notebook


@pytest.mark.parametrize("seed", SEEDS)
def test_notebook_03_gaussian_delta_and_analytic_sigma_are_labkits(seed):
    gaussian_delta = notebook_function("03", "gaussian_delta", {"math": math, "norm": norm})
    analytic_sigma = notebook_function("03", "analytic_sigma", {"math": math, "gaussian_delta": gaussian_delta})
    rng = np.random.default_rng(seed)
    for _ in range(5):
        epsilon, sigma, delta = float(rng.uniform(0.05, 12.0)), float(rng.uniform(0.3, 30.0)), 10 ** rng.uniform(-9, -3)
        assert math.isclose(gaussian_delta(sigma, epsilon), dp.gaussian_delta(sigma, epsilon), rel_tol=1e-9,
                            abs_tol=1e-300)
        assert math.isclose(analytic_sigma(epsilon, delta), dp.gaussian_sigma(epsilon, delta), rel_tol=1e-6)
