"""labkit.dp.audit: ROC against scikit-learn, LiRA on synthetic outputs, sound epsilon lower bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_softmax
from scipy.stats import binomtest, norm

from labkit.dp import audit


# ---------------------------------------------------------------------------------------------
# Losses and confidences
# ---------------------------------------------------------------------------------------------


def test_cross_entropy_and_scaled_confidence_match_direct_formulas():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 5)) * 3
    labels = rng.integers(0, 5, size=40)
    logp = log_softmax(logits, axis=1)[np.arange(40), labels]
    np.testing.assert_allclose(audit.cross_entropy(logits, labels), -logp)
    p = np.exp(logp)
    np.testing.assert_allclose(audit.scaled_confidence(logits, labels), np.log(p / (1 - p)), rtol=1e-8)
    stack = np.stack([logits, logits * 2])  # (models, n, classes)
    assert audit.cross_entropy(stack, labels).shape == (2, 40)


def test_scaled_confidence_stays_finite_where_probabilities_round_to_one():
    logits = np.array([[200.0, 0.0, -5.0], [0.0, 800.0, 1.0]])
    conf = audit.scaled_confidence(logits, np.array([0, 1]))
    assert np.all(np.isfinite(conf)) and conf[0] == pytest.approx(200.0 - math.log1p(math.exp(-5.0)), abs=1e-9)
    with pytest.raises(ValueError, match="labels must be integers from 0 to 2"):
        audit.scaled_confidence(logits, np.array([0, 3]))


# ---------------------------------------------------------------------------------------------
# ROC, AUC, TPR at low FPR
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(-5, 5), st.booleans()), min_size=2, max_size=60))
def test_roc_and_auc_match_scikit_learn(pairs):
    from sklearn.metrics import roc_auc_score, roc_curve

    scores = np.array([p[0] for p in pairs], dtype=float)  # few distinct values: many ties
    members = np.array([p[1] for p in pairs])
    if members.all() or not members.any():
        with pytest.raises(ValueError, match="both members"):
            audit.roc_curve(scores, members)
        return
    fpr, tpr, thr = audit.roc_curve(scores, members)
    sk_fpr, sk_tpr, _ = roc_curve(members, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert audit.auc(fpr, tpr) == pytest.approx(roc_auc_score(members, scores))
    assert np.all(np.diff(thr) < 0)


def test_tpr_at_fpr_reads_the_low_fpr_corner():
    fpr = np.array([0.0, 0.005, 0.02, 1.0])
    tpr = np.array([0.0, 0.3, 0.5, 1.0])
    assert audit.tpr_at_fpr(fpr, tpr, 0.01) == 0.3
    assert audit.tpr_at_fpr(fpr, tpr, 0.0) == 0.0
    with pytest.raises(ValueError, match="max_fpr must be in"):
        audit.tpr_at_fpr(fpr, tpr, 2.0)


def test_attack_result_of_a_perfect_and_a_useless_attack():
    members = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    perfect = audit.AttackResult.from_scores("perfect", members.astype(float), members)
    assert perfect.auc == 1.0 and perfect.tpr_at_1pct == 1.0
    useless = audit.AttackResult.from_scores("coin", np.zeros(200), members)
    assert useless.auc == 0.5 and useless.tpr_at_1pct == 0.0
    assert "AUC 1.000 [95% CI 1.000, 1.000]" in repr(perfect)
    assert useless.auc_interval == (0.5, 0.5)


def test_auc_ci_area_equals_scikit_learn_and_its_interval_covers_the_truth():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    members = np.r_[np.ones(60, bool), np.zeros(90, bool)]
    scores = np.round(rng.normal(size=150) + 0.4 * members, 1)  # rounded: ties must count one half
    area, low, high = audit.auc_ci(scores, members)
    assert area == pytest.approx(roc_auc_score(members, scores))
    assert low < area < high
    # Coverage: with a shift mu between two unit Gaussians the true AUC is Phi(mu / sqrt 2).
    truth = norm.cdf(0.5 / math.sqrt(2))
    covered = 0
    for _ in range(400):
        s = rng.normal(size=150) + 0.5 * members
        _, lo, hi = audit.auc_ci(s, members)
        covered += lo <= truth <= hi
    assert binomtest(covered, 400, 0.95).pvalue > 0.001, covered  # a 95% interval covers about 95% of the time


def test_auc_ci_width_shrinks_like_one_over_root_n_and_indistinguishable_reads_overlap():
    rng = np.random.default_rng(4)
    widths = []
    for n in (200, 3200):
        members = np.arange(n) < n // 2
        _, lo, hi = audit.auc_ci(rng.normal(size=n) + 0.3 * members, members)
        widths.append(hi - lo)
    assert widths[0] / widths[1] == pytest.approx(4.0, rel=0.2)
    assert audit.indistinguishable((0.49, 0.54), (0.52, 0.57))
    assert not audit.indistinguishable((0.49, 0.51), (0.52, 0.57))


def test_loss_threshold_attack_scores_low_loss_as_member():
    labels = np.zeros(4, dtype=int)
    logits = np.array([[5.0, 0.0], [4.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    result = audit.loss_threshold_attack(logits, labels, np.array([True, True, False, False]))
    assert result.auc == 1.0


# ---------------------------------------------------------------------------------------------
# LiRA
# ---------------------------------------------------------------------------------------------


def _synthetic_shadows(shift: float, k: int = 16, n: int = 400, seed: int = 0) -> audit.ShadowSet:
    """Per-example difficulty plus a membership shift: what LiRA is built to see through."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 3, size=n)
    members = rng.random((k, n)) < 0.5  # each example in each model with probability 1/2, as train_shadow_set does
    conf = difficulty + shift * members + rng.normal(0, 0.5, size=(k, n))
    return audit.ShadowSet(conf, -conf, members)


def test_lira_sees_a_shift_that_the_global_threshold_misses():
    results = audit.leave_one_out_attacks(_synthetic_shadows(shift=1.0))
    assert results["LiRA"].auc > 0.85
    assert results["loss threshold"].auc < 0.65  # difficulty dominates the raw score
    assert results["LiRA"].tpr_at_1pct > 5 * results["loss threshold"].tpr_at_1pct


def test_lira_is_guessing_when_membership_changes_nothing():
    results = audit.leave_one_out_attacks(_synthetic_shadows(shift=0.0))
    assert abs(results["LiRA"].auc - 0.5) < 0.03


def test_lira_handles_examples_no_shadow_included():
    conf = np.array([[1.0, 2.0, 0.0], [1.2, 2.1, 0.2]])
    inn = np.array([[True, False, False], [False, True, False]])
    scores = audit.lira_scores(np.array([1.1, 2.0, 0.1]), conf, inn)
    assert np.all(np.isfinite(scores))
    with pytest.raises(ValueError, match="shadow_in must have the shape"):
        audit.lira_scores(np.zeros(3), conf, inn[:, :2])


def _memorising_trainer(labels, seen):
    """A fake ``train_logits`` that "memorises" exactly its training examples, recording what it got."""
    def train(idx, seed):
        seen.append(np.asarray(idx))
        logits = np.zeros((len(labels), 2))
        logits[idx, labels[idx]] = 3.0
        return logits
    return train


def test_train_shadow_set_calls_the_trainer_on_its_members():
    labels = np.arange(10) % 2
    seen = []
    shadows = audit.train_shadow_set(labels, _memorising_trainer(labels, seen), num_models=4, seed=0)
    assert len(seen) == 4
    for idx, row in zip(seen, shadows.members):
        assert sorted(idx.tolist()) == np.flatnonzero(row).tolist()
    assert audit.leave_one_out_attacks(shadows)["loss threshold"].auc == 1.0


def test_train_shadow_set_includes_each_example_independently_with_probability_half():
    """Erratum 1: the audit game must be add/remove-one, like the accountant's epsilon. Each example joins
    each model's training set independently with probability 1/2 (Steinke et al. 2023), so training-set
    sizes follow Binomial(n, 1/2). Exactly-half sampling (every size n / 2: replace-one) fails here."""
    from scipy.stats import binom, chi2, chisquare

    n, k = 40, 1500
    labels = np.arange(n) % 2
    seen = []
    shadows = audit.train_shadow_set(labels, _memorising_trainer(labels, seen), num_models=k, seed=1)
    m = shadows.members
    sizes = np.array([len(idx) for idx in seen])  # the sizes the trainer really received
    np.testing.assert_array_equal(sizes, m.sum(axis=1))
    # Sizes: goodness of fit to Binomial(n, 1/2), bins with enough expected counts, tails pooled.
    edges = np.arange(14, 27)  # 14..26; the rest go to the two tails
    expected = np.r_[binom.cdf(13, n, 0.5), binom.pmf(edges, n, 0.5), binom.sf(26, n, 0.5)] * k
    observed = np.r_[np.sum(sizes <= 13), [np.sum(sizes == e) for e in edges], np.sum(sizes >= 27)]
    assert chisquare(observed, expected).pvalue > 1e-3, observed
    # Their variance is n / 4 (independent examples); exactly half would give 0, and any negative
    # correlation between examples of one model would push it below n / 4.
    stat = (k - 1) * sizes.var(ddof=1) / (n / 4)
    assert chi2.sf(stat, k - 1) > 1e-3 and chi2.cdf(stat, k - 1) > 1e-3, sizes.var(ddof=1)
    # Each example is in about half of the models (two-sided z at 1e-3 / n, Bonferroni over examples).
    z = (m.mean(axis=0) - 0.5) / math.sqrt(0.25 / k)
    assert np.all(np.abs(z) < norm.isf(5e-4 / n)), z
    # Independence across models: disjoint pairs of models (0 and 1, 2 and 3, ...) share an example a
    # quarter of the time; (k / 2) * n independent trials, two-sided z at 1e-3.
    both = np.mean(m[0::2] & m[1::2])
    assert abs(both - 0.25) / math.sqrt(0.25 * 0.75 / (k // 2 * n)) < norm.isf(5e-4), both


def test_train_shadow_set_is_reproducible_from_its_seed():
    labels = np.arange(30) % 2
    a = audit.train_shadow_set(labels, _memorising_trainer(labels, []), num_models=3, seed=7)
    b = audit.train_shadow_set(labels, _memorising_trainer(labels, []), num_models=3, seed=7)
    np.testing.assert_array_equal(a.members, b.members)


def test_dpsgd_trainer_gives_every_model_the_schedule_of_the_public_nominal_size(monkeypatch):
    """Under add/remove adjacency the training-set size is private, and with coin-flip membership it
    varies by model: every model must get the rate and the step count of the nominal size n // 2."""
    from labkit.dp import dpsgd

    runs = []
    original = dpsgd.train_dpsgd

    def spy(model, x, y, **kwargs):
        result = original(model, x, y, **kwargs)
        runs.append((len(x), result))
        return result

    monkeypatch.setattr(dpsgd, "train_dpsgd", spy)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(101, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    trainer = audit.dpsgd_trainer(x, y, num_classes=2, hidden=(4,), epochs=2, batch_size=10, l2_norm_clip=1.0,
                                  noise_multiplier=1.0, learning_rate=0.1)
    for size in (40, 50, 61):
        assert trainer(np.arange(size), 3).shape == (101, 2)
    assert [rows for rows, _ in runs] == [40, 50, 61]
    for _, result in runs:  # 101 // 2 = 50: q = 10 / 50 and ceil(2 * 50 / 10) = 10 steps, whatever the rows
        assert result.num_examples == 50 and result.sampling_probability == 0.2 and result.steps == 10
    audit.dpsgd_trainer(x, y, num_classes=2, hidden=(4,), epochs=2, batch_size=10, l2_norm_clip=1.0,
                        noise_multiplier=1.0, learning_rate=0.1, num_examples=80)(np.arange(30), 0)
    assert runs[-1][1].num_examples == 80 and runs[-1][1].steps == 16
    for bad, error, match in ((0, ValueError, "num_examples must be an integer >= 1; got 0"),
                              (2.5, TypeError, "num_examples must be an integer; got 2.5"),
                              (5, ValueError, "batch_size must be an integer from 1 to 5")):
        with pytest.raises(error, match=match):
            audit.dpsgd_trainer(x, y, num_classes=2, hidden=(4,), epochs=2, batch_size=10, l2_norm_clip=1.0,
                                noise_multiplier=1.0, learning_rate=0.1, num_examples=bad)


# ---------------------------------------------------------------------------------------------
# Empirical epsilon
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (37, 200)])
def test_clopper_pearson_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert audit.clopper_pearson(k, n, 0.05) == pytest.approx((ci.low, ci.high))


def _gaussian_dp_epsilon(mu: float, delta: float) -> float:
    """Exact epsilon of a mu-GDP test at delta (Dong, Roth & Su 2019, Corollary 2.13), by bisection."""
    def d(eps):
        return norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * norm.cdf(-eps / mu - mu / 2)
    lo, hi = 0.0, 50.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if d(mid) > delta else (lo, mid)
    return hi


@pytest.mark.parametrize("mu", [1.0, 3.0])
def test_empirical_epsilon_is_a_sound_lower_bound(mu):
    rng = np.random.default_rng(2)
    members = rng.random(20000) < 0.5
    scores = rng.normal(size=20000) + mu * members  # the optimal test against a mu-GDP mechanism
    bound = audit.empirical_epsilon(scores, members, delta=1e-5)
    true_eps = _gaussian_dp_epsilon(mu, 1e-5)
    assert 0 < bound.epsilon <= true_eps
    assert bound.epsilon <= bound.point
    assert bound.epsilon > 0.25 * true_eps  # and not vacuous
    assert "95% confidence" in repr(bound)


def test_every_printed_epsilon_lower_bound_says_its_guesses_are_not_independent_trials():
    """Erratum 1: the Clopper-Pearson confidence assumes independent guesses; guesses about the examples of
    one model share that model, so the printed bound must carry the caveat, whatever its value."""
    rng = np.random.default_rng(6)
    members = rng.random(4000) < 0.5
    for shift in (0.0, 3.0):  # a bound of 0 and a positive bound
        text = repr(audit.empirical_epsilon(rng.normal(size=4000) + shift * members, members, delta=1e-5))
        assert "if the guesses were independent trials, which guesses about the examples of one model are not" in text


def test_empirical_epsilon_is_zero_for_a_useless_attack():
    rng = np.random.default_rng(3)
    bound = audit.empirical_epsilon(rng.normal(size=4000), rng.random(4000) < 0.5, delta=1e-5)
    assert bound.epsilon == 0.0


def test_dp_tpr_bound_region():
    fpr = np.linspace(0, 1, 11)
    np.testing.assert_allclose(audit.dp_tpr_bound(fpr, 0.0, 0.0), fpr)
    b = audit.dp_tpr_bound(fpr, 1.0, 1e-5)
    assert np.all(b >= fpr) and b[-1] == 1.0 and b[1] == pytest.approx(math.e * 0.1 + 1e-5)
    assert np.all(audit.dp_tpr_bound(fpr, math.inf, 0.0) == 1.0)
    with pytest.raises(ValueError, match="delta must be in"):
        audit.dp_tpr_bound(fpr, 1.0, 1.5)


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def test_roc_legend_gives_each_auc_with_its_95_percent_interval():
    """Erratum 3: every AUC the lab prints carries its confidence interval, the ROC legend included."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.dp.plots import plot_roc

    rng = np.random.default_rng(8)
    members = rng.random(500) < 0.5
    results = [audit.AttackResult.from_scores(name, rng.normal(size=500) + shift * members, members)
               for name, shift in (("weak", 0.1), ("strong", 1.0))]
    fig, ax = plt.subplots()
    try:
        plot_roc(ax, results)
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)
    for r in results:
        want = f"AUC {r.auc:.3f}, 95% CI [{r.auc_low:.3f}, {r.auc_high:.3f}]"
        assert any(t.startswith(r.name) and want in t for t in texts), (want, texts)


# ---------------------------------------------------------------------------------------------
# epsilon_lower_bound: the bound of one threshold's counts (the reference of exercise 05.2)
# ---------------------------------------------------------------------------------------------


def test_epsilon_lower_bound_is_sound_at_its_confidence():
    """Randomized response at epsilon = 1 is an attack at the DP limit: the bound exceeds 1 in at most ~alpha of runs."""
    rng = np.random.default_rng(0)
    p = math.e / (1 + math.e)  # members answer "in" with probability p, non-members with 1 - p: TPR/FPR = e
    runs = 400
    tp = rng.binomial(500, p, size=runs)
    fp = rng.binomial(500, 1 - p, size=runs)
    bounds = np.array([audit.epsilon_lower_bound(int(a), 500, int(b), 500, 0.0, 0.05) for a, b in zip(tp, fp)])
    assert np.mean(bounds > 1.0) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / runs)
    assert np.median(bounds) > 0.5  # and it is not vacuous


def test_epsilon_lower_bound_is_the_kairouz_bound_of_the_clopper_pearson_ends():
    lo, _ = audit.clopper_pearson(90, 100, 0.1)
    _, hi = audit.clopper_pearson(5, 100, 0.1)
    want = max(0.0, math.log((lo - 1e-3) / hi), math.log((1 - hi - 1e-3) / (1 - lo)))
    assert audit.epsilon_lower_bound(90, 100, 5, 100, 1e-3, 0.1) == pytest.approx(want)
    assert audit.epsilon_lower_bound(0, 100, 100, 100, 1e-5) == 0.0  # an attack that catches nobody proves nothing
    assert math.isfinite(audit.epsilon_lower_bound(100, 100, 0, 100, 1e-5))  # no false alarm: still finite
