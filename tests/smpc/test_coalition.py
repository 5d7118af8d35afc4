"""The coalition widget of notebook 09: candidate secrets' curves through the colluders' Shamir points.

Counts of consistent secrets are checked against a brute force over every polynomial of a small field;
the curves against the definition (through (0, s), through the colluders' points, degree <= t - 1).
"""

import collections
import itertools

import numpy as np
import pytest

from labkit import smpc
from labkit.smpc.coalition import MAX_ENUMERATED_PRIME, SMALL_PRIME


def _fitting_polynomials(points, t, p):
    """For each secret f(0): how many polynomials f of degree < t over Z_p pass through ``points``."""
    return collections.Counter(c[0] for c in itertools.product(range(p), repeat=t)
                               if all(sum(a * pow(x, k, p) for k, a in enumerate(c)) % p == y for x, y in points))


def _fitting_secrets(points, t, p):
    """Secrets f(0) over every polynomial f of degree < t over Z_p that passes through ``points``."""
    return set(_fitting_polynomials(points, t, p))


@pytest.mark.parametrize("p", [7, 11])
@pytest.mark.parametrize("t", [1, 2, 3, 4])
def test_consistent_secrets_matches_every_polynomial(p, t):
    rng = np.random.default_rng(p * 10 + t)
    shares = smpc.shamir_share(int(rng.integers(p)), 5, t, rng, prime=p)
    for c in range(0, 6):
        chosen = [shares[i] for i in sorted(rng.choice(5, size=c, replace=False))]
        got = smpc.consistent_secrets(chosen, t, p)
        assert set(got) == _fitting_secrets(chosen, t, p) and len(got) == len(set(got))
        assert len(got) == (p if c < t else 1)
        # below the threshold each secret is fitted by exactly p^(t-1-c) polynomials (one at c = t - 1)
        per_secret = _fitting_polynomials(chosen, t, p)
        assert set(per_secret.values()) == {p ** (t - 1 - c) if c < t else 1}


def test_consistent_secrets_sees_points_of_no_low_degree_polynomial():
    """Three points on no line: with t = 2 no secret fits (the check is real, not a formula)."""
    assert smpc.consistent_secrets([(1, 0), (2, 0), (3, 5)], 2, 7) == ()
    assert smpc.consistent_secrets([(1, 0), (2, 0), (3, 5)], 3, 7) == tuple(_fitting_secrets([(1, 0), (2, 0), (3, 5)], 3, 7))


@pytest.mark.parametrize("n, t", [(5, 3), (4, 1), (6, 6), (8, 4)])
def test_candidate_curves_cross_the_threshold(n, t):
    for c in range(n + 1):
        cc = smpc.candidate_curves(42, n, t, range(c), np.random.default_rng(0))
        assert cc.prime == SMALL_PRIME and cc.candidates[0] == 42 and len(set(cc.candidates)) == 5
        assert cc.shamir_points == tuple(smpc.shamir_share(42, n, t, np.random.default_rng(0), prime=SMALL_PRIME))
        for s, values, fits in zip(cc.candidates, cc.curves, cc.fits):
            assert len(values) == n + 1 and values[0] == s and all(0 <= v < SMALL_PRIME for v in values)
            through = all(values[x] == y for x, y in (cc.shamir_points[i] for i in cc.coalition))
            assert fits == through
            # each curve has degree <= t - 1: any t of its points rebuild its value at 0
            assert smpc.shamir_reconstruct([(x, values[x]) for x in range(1, t + 1)], prime=SMALL_PRIME) == s
        true_curve = cc.curves[0]
        assert c < t - 1 or true_curve[1:] == tuple(y for _, y in cc.shamir_points)  # t - 1 colluders fix it
        assert cc.fits == ((True,) * 5 if c < t else (True, False, False, False, False))
        assert len(cc.consistent) == (SMALL_PRIME if c < t else 1)
        assert ("learn nothing" in cc.summary()) == (c < t)


def test_coalition_view_count_comes_from_the_enumeration():
    view = smpc.coalition_view(42, 5, 3, [0, 1], np.random.default_rng(0))
    assert view.consistent_secrets == SMALL_PRIME and "all 97 secrets" in view.lines()[1]
    nobody = smpc.coalition_view(42, 5, 3, [], np.random.default_rng(0))
    assert "uniformly random" not in nobody.lines()[0] and nobody.consistent_secrets == SMALL_PRIME
    assert smpc.coalition_view(42, 5, 3, [0, 1, 4], np.random.default_rng(0)).consistent_secrets == 1


def test_coalition_functions_refuse_bad_input():
    with pytest.raises(ValueError, match=f"prime must be at most {MAX_ENUMERATED_PRIME}"):
        smpc.candidate_curves(1, 5, 3, [0], 0, prime=2**61 - 1)
    with pytest.raises(ValueError, match="distinct x"):
        smpc.consistent_secrets([(1, 2), (1, 3)], 2, 97)
    with pytest.raises(ValueError, match=r"colluder_points\[0\]\[0\] must be an integer from 1 to 96"):
        smpc.consistent_secrets([(0, 2)], 2, 97)
    with pytest.raises(TypeError, match=r"colluder_points\[1\]"):
        smpc.consistent_secrets([(1, 2), 3], 2, 97)
    with pytest.raises(ValueError, match="n_candidates"):
        smpc.candidate_curves(1, 5, 3, [0], 0, n_candidates=7)


def test_plot_candidate_curves_draws_every_candidate():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    cc = smpc.candidate_curves(42, 5, 3, [0, 1, 2], np.random.default_rng(0))
    from labkit.smpc.plots import plot_candidate_curves

    assert plot_candidate_curves(ax, cc) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0] == "s = 42 (true)" and sum("misses" in lab for lab in labels) == 4
    assert "1 of 97 secrets fit" in ax.get_title()
    with pytest.raises(TypeError, match="curves must be a CandidateCurves"):
        plot_candidate_curves(ax, smpc.coalition_view(42, 5, 3, [0], 0))
    plt.close(fig)


def test_colluders_slider_crosses_the_threshold_and_follows_the_list(capsys):
    pytest.importorskip("ipywidgets")
    from labkit.smpc.widgets import coalition_widget

    w = coalition_widget()
    k, who, n = w.controls["n_colluders"], w.controls["coalition"], w.controls["n_parties"]
    assert (k.value, who.value) == (2, (0, 1)) and "97 of the 97 secrets" in w.output.outputs[1]["text"]
    k.value = 3
    assert who.value == (0, 1, 2) and "1 of the 97 secrets mod 97 fits their points, 42" in w.output.outputs[1]["text"]
    who.value = (4,)
    assert k.value == 1 and "97 of the 97" in w.output.outputs[1]["text"]
    k.value = 2
    assert who.value == (0, 4)
    n.value = 3
    assert (k.value, k.max, who.value) == (1, 3, (0,))
    assert capsys.readouterr().out == ""

