"""labkit.population: the synthetic population, uniqueness and the linkage attack (notebook 01)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import population as P


@pytest.fixture(scope="module")
def pop():
    return P.synthetic_population(60, seed=0)


def test_population_is_seeded_and_has_the_stated_marginals(pop):
    again = P.synthetic_population(60, seed=0)
    np.testing.assert_array_equal(pop.birth_day, again.birth_day)
    assert not np.array_equal(pop.birth_day, P.synthetic_population(60, seed=1).birth_day)
    assert len(pop) == pop.zip_sizes.sum()
    assert abs(pop.sex.mean() - P.MALE_SHARE) < 0.01
    ages = pop.age
    assert ages.min() >= 0 and ages.max() <= 100
    assert abs(np.mean(ages < 18) - sum(s for lo, hi, s in P.AGE_SHARES if hi <= 15) - 0.6 * 0.072) < 0.02
    assert np.all(np.diff(pop.zip_codes) > 0)


def test_unique_share_and_group_sizes():
    assert P.unique_share([1, 2, 3]) == 1.0
    assert P.unique_share([1, 1, 2, 3]) == 0.5
    assert P.unique_share([7, 7, 7]) == 0.0
    np.testing.assert_array_equal(P.group_sizes([5, 1, 5, 2]), [2, 1, 2, 1])
    with pytest.raises(ValueError, match="keys"):
        P.unique_share([])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=60))
def test_unique_share_matches_a_python_count(keys):
    expected = sum(keys.count(k) == 1 for k in keys) / len(keys)
    assert P.unique_share(keys) == pytest.approx(expected)


def test_generalising_quasi_identifiers_lowers_uniqueness(pop):
    full = P.unique_share(P.quasi_identifier_key(pop.zip_code, pop.birth_day, pop.sex))
    zip3 = P.unique_share(P.quasi_identifier_key(pop.zip_code, pop.birth_day, pop.sex, zip_digits=3))
    year = P.unique_share(P.quasi_identifier_key(pop.zip_code, pop.birth_day, pop.sex, birth="year"))
    assert full >= zip3 > year
    assert full > 0.5 and year < 0.05


def test_expected_unique_share_predicts_the_simulation(pop):
    sizes, share = P.unique_share_by_zip(pop)
    big = sizes > 2000
    np.testing.assert_allclose(share[big], P.expected_unique_share(sizes[big]), atol=0.03)
    theory = P.expected_unique_share(np.array([100, 10_000, 100_000]))
    assert theory[0] > 0.99 and theory[2] < 0.3 and np.all(np.diff(theory) < 0)
    assert P.cell_probabilities().sum() == pytest.approx(1.0)


def test_linkage_attack_counts_are_consistent(pop):
    records, rt = P.medical_records(pop, 2000, seed=1)
    voters, vt = P.voter_list(pop, 0.6, seed=2)
    result = P.link(records, voters, rt, vt)
    assert result.unique_matches + result.ambiguous + result.unmatched == 2000
    assert 0 < result.correct <= result.unique_matches
    # With everyone on the list, a unique match is always the right person.
    everyone, et = P.voter_list(pop, 1.0, seed=2)
    adults = pop.age[rt] >= 18
    full = P.link(records, everyone, rt, et)
    assert full.correct == full.unique_matches
    assert full.correct > 0.5 * adults.sum()
    assert "re-identified" in repr(result)


def test_tables_print_zero_padded_zip_codes_and_iso_dates():
    pop = P.Population(zip_code=np.array([1029], np.int32), birth_day=np.array([0], np.int32),
                       sex=np.array([1], np.int8), zip_codes=np.array([1029], np.int32), zip_sizes=np.array([1]))
    table, _ = P.medical_records(pop, 1, seed=0)
    text = repr(table)
    assert "01029" in text and "1900-01-01" in text and " M " in text + " "
    assert "<table>" in table._repr_html_()


@pytest.mark.parametrize("call, name", [
    (lambda p: P.synthetic_population(0), "num_zip_codes"),
    (lambda p: P.medical_records(p, 0), "num_records"),
    (lambda p: P.voter_list(p, 0.0), "coverage"),
    (lambda p: P.quasi_identifier_key([1], [1], [1], zip_digits=4), "zip_digits"),
    (lambda p: P.quasi_identifier_key([1], [1], [1], birth="month"), "birth"),
])
def test_bad_input(pop, call, name):
    with pytest.raises(ValueError, match=name):
        call(pop)
