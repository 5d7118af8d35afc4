"""labkit.dp.deid: the synthetic population, uniqueness and the linkage attack (notebook 01)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.dp import deid as P


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


@pytest.mark.parametrize("num_zip_codes", [60, 200, 1000])
def test_three_digit_prefixes_group_many_zip_codes_as_real_ones_do(num_zip_codes):
    # Erratum 5: real 3-digit prefixes cover tens of ZIP codes each (over 40,000 codes, at most 1,000
    # prefixes); the old generator drew codes uniformly and gave 182 prefixes for 200 codes.
    pop = P.synthetic_population(num_zip_codes, seed=3)
    codes = pop.zip_codes.astype(np.int64)
    assert codes.size == num_zip_codes == np.unique(codes).size
    assert codes.min() >= 1000 and codes.max() <= 99999
    prefixes, per_prefix = np.unique(codes // 100, return_counts=True)
    assert prefixes.size == -(-num_zip_codes // P.ZIP_CODES_PER_PREFIX)
    assert per_prefix.min() >= 30 and per_prefix.max() <= 40
    np.testing.assert_array_equal(P.zip_prefix_sizes(pop), per_prefix)


def test_three_digit_coarsening_merges_blocks_and_cuts_uniqueness(pop):
    # 60 ZIP codes in 2 prefixes of about 200,000 people each: almost nobody stays unique.
    full = P.unique_share(P.quasi_identifier_key(pop.zip_code, pop.birth_day, pop.sex))
    zip3 = P.unique_share(P.quasi_identifier_key(pop.zip_code, pop.birth_day, pop.sex, zip_digits=3))
    assert full > 0.6 and zip3 < 0.2 * full
    # With one ZIP code per prefix, dropping two digits merges nothing.
    flat = P.synthetic_population(60, seed=0, zip_codes_per_prefix=1)
    assert np.unique(flat.zip_codes // 100).size == 60
    flat_full = P.unique_share(P.quasi_identifier_key(flat.zip_code, flat.birth_day, flat.sex))
    flat_zip3 = P.unique_share(P.quasi_identifier_key(flat.zip_code, flat.birth_day, flat.sex, zip_digits=3))
    assert flat_zip3 == flat_full


def test_unique_share_and_group_sizes():
    assert P.unique_share([1, 2, 3]) == 1.0
    assert P.unique_share([1, 1, 2, 3]) == 0.5
    assert P.unique_share([7, 7, 7]) == 0.0
    np.testing.assert_array_equal(P.group_sizes([5, 1, 5, 2]), [2, 1, 2, 1])
    with pytest.raises(ValueError, match="keys"):
        P.unique_share([])


@settings(max_examples=30)
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


def test_reidentified_share_carries_an_exact_interval(pop):
    records, rt = P.medical_records(pop, 2000, seed=1)
    voters, vt = P.voter_list(pop, 0.6, seed=2)
    result = P.link(records, voters, rt, vt)
    low, high = result.reidentified_interval()
    assert low < result.reidentified_share < high
    half_width = 1.96 * np.sqrt(result.reidentified_share * (1 - result.reidentified_share) / 2000)
    assert high - low == pytest.approx(2 * half_width, rel=0.1)  # close to the normal interval at n = 2000
    assert f"(95% CI {low:.1%} to {high:.1%})" in repr(result)  # the notebook prints it with the share
    wider = result.reidentified_interval(0.99)
    assert wider[0] < low and wider[1] > high
    with pytest.raises(ValueError, match="confidence"):
        result.reidentified_interval(1.0)


def test_tables_print_zero_padded_zip_codes_and_iso_dates():
    pop = P.Population(zip_code=np.array([1029], np.int32), birth_day=np.array([0], np.int32),
                       sex=np.array([1], np.int8), zip_codes=np.array([1029], np.int32), zip_sizes=np.array([1]))
    table, _ = P.medical_records(pop, 1, seed=0)
    text = repr(table)
    assert "01029" in text and "1900-01-01" in text and " M " in text + " "
    assert "<table>" in table._repr_html_()


@pytest.mark.parametrize("call, name", [
    (lambda p: P.synthetic_population(0), "num_zip_codes"),
    (lambda p: P.synthetic_population(10, zip_codes_per_prefix=0), "zip_codes_per_prefix"),
    (lambda p: P.synthetic_population(10, zip_codes_per_prefix=101), "zip_codes_per_prefix"),
    (lambda p: P.synthetic_population(2000, zip_codes_per_prefix=2), "prefixes"),
    (lambda p: P.medical_records(p, 0), "num_records"),
    (lambda p: P.voter_list(p, 0.0), "coverage"),
    (lambda p: P.quasi_identifier_key([1], [1], [1], zip_digits=4), "zip_digits"),
    (lambda p: P.quasi_identifier_key([1], [1], [1], birth="month"), "birth"),
])
def test_bad_input(pop, call, name):
    with pytest.raises(ValueError, match=name):
        call(pop)


def test_notebook_01_no_longer_blames_populous_zip_codes_for_golle_vs_sweeney():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / "01-deidentification.ipynb").read_text())
    text = " ".join(" ".join("".join(c["source"]).split()) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "where ZIP codes are more populous" not in text and "barely helps" not in text
    assert "Revisiting the uniqueness of simple demographics" in text and "generally agree" in text


def test_notebook_01_prints_every_number_its_text_uses():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / "01-deidentification.ipynb").read_text())
    outputs = " ".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"])
    assert "people living in ZIP codes of more than 10,000 people: 71%" in outputs
    assert "re-identified 36.0% (95% CI" in outputs
