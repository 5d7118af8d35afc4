"""White-box canary audits of one DP-SGD step: a tight audit, a one-run audit and a broken DP-SGD.

Introduced in ``05-auditing.ipynb`` (section "A tight audit, and catching a buggy DP-SGD").

The black-box audits of :mod:`labkit.dp.audit` see only the final model and stay far below the
accountant's epsilon. Here the adversary is the strongest one DP-SGD's proof allows for a single
step (Nasr et al. 2021, "Adversary instantiation", section 4; Nasr et al. 2023, "Tight auditing of
differentially private machine learning"): it knows every other example's gradient, inserts a
*canary* gradient of norm at least ``C``, sees the noisy update and projects it on the canary's
direction. "Canary in" and "canary out" then give two Gaussians ``C`` apart with standard deviation
``noise_multiplier * C``: the worst case the accountant's bound for one Gaussian step is computed for.

* :func:`canary_step_scores`: many independent DP-SGD steps with and without the canary, and the
  adversary's score (the update's projection on the canary direction, in units of ``C``) for each.
  ``implementation="broken"`` runs :func:`broken_noisy_gradient` instead, whose noise is not
  multiplied by ``C``.
* :func:`broken_noisy_gradient`: :func:`labkit.dp.dpsgd.noisy_gradient` with that bug, for the
  notebook to run side by side with the correct step.
* :func:`canary_epsilon`: a lower bound on epsilon from the two score samples: the threshold is
  chosen on 10% of the trials and tested on the other 90% with Clopper-Pearson bounds
  (:func:`labkit.dp.audit.epsilon_lower_bound`). Every trial is an independent run of the step, so
  the stated confidence is not nominal here.
* :func:`one_run_p_value` and :func:`one_run_epsilon`: the analysis of Steinke, Nasr and Jagielski
  (2023, "Privacy auditing with one (1) training run"): ``m`` canaries each included with
  probability 1/2 in a single run; the auditor guesses the most confident ones; the number of
  correct guesses bounds epsilon. :func:`one_run_gaussian_scores` plays that game with one DP-SGD
  step whose ``m`` canaries are gradients along distinct coordinates.
* :func:`canary_audit_point`: the widget's compute function (noise multiplier, trials,
  implementation -> the audit's bound beside the accountant's epsilon), on cached draws.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr

IMPLEMENTATIONS: tuple[str, ...] = ("correct", "broken")
MAX_TRIALS = 10_000_000


# --------------------------------------------------------------------------------------------
# The step, correct and broken
# --------------------------------------------------------------------------------------------


def broken_noisy_gradient(per_example: Sequence[np.ndarray] | np.ndarray, l2_norm_clip: float, noise_multiplier: float,
                          expected_batch_size: int, rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """A DP-SGD gradient with a real bug: the noise is N(0, noise_multiplier^2), not N(0, (noise_multiplier * C)^2).

    Everything else is :func:`labkit.dp.dpsgd.noisy_gradient`: clip each example to ``C`` (``l2_norm_clip``),
    sum, add noise, divide by the expected batch size. The accountant still reports the epsilon of
    ``noise_multiplier``, but with ``C > 1`` the noise is ``C`` times too small relative to the
    sensitivity ``C``: the step really has the epsilon of noise multiplier ``noise_multiplier / C``.
    Do not use it: it exists so that ``05-auditing.ipynb`` can catch it.

    Introduced in ``05-auditing.ipynb``.
    """
    from labkit.dp.dpsgd import noisy_gradient

    clip = v.positive("l2_norm_clip", l2_norm_clip)
    sigma = v.nonnegative("noise_multiplier", noise_multiplier)
    # The bug: the noise's scale is sigma, as if C were 1. noisy_gradient(sigma / C) adds exactly that.
    return noisy_gradient(per_example, clip, sigma / clip, expected_batch_size, rng)


def _flat_gradients(per_example) -> np.ndarray:
    from labkit.dp.dpsgd import _gradient_arrays

    if isinstance(per_example, (list, tuple)) and not per_example:
        raise ValueError("per_example must hold at least one gradient array; got an empty sequence")
    arrays = _gradient_arrays("per_example", per_example)
    if arrays[0].ndim == 0:
        raise ValueError("per_example must hold arrays shaped (examples, ...); per_example[0] is a scalar")
    arrays = _gradient_arrays("per_example", per_example, leading=len(arrays[0]))
    n = len(arrays[0])
    if n == 0 or any(a.size == 0 for a in arrays):
        raise ValueError("per_example must hold at least one example with at least one parameter; got an empty array")
    return np.concatenate([np.reshape(a, (n, -1)).astype(np.float64) for a in arrays], axis=1)


@dataclass(frozen=True)
class CanaryScores:
    """The adversary's scores over independent steps with the canary (``inside``) and without (``outside``).

    Scores are the noisy update's projection on the canary direction, minus the known part, in units
    of the clipping norm ``C``: ``outside`` is N(0, s^2) and ``inside`` N(shift, s^2), with ``s`` the
    noise standard deviation in units of ``C`` (the noise multiplier for the correct step) and
    ``shift`` the clipped canary's norm over ``C`` (1 for a canary of norm at least ``C``).

    Introduced in ``05-auditing.ipynb``.
    """

    inside: np.ndarray
    outside: np.ndarray
    shift: float
    noise_std: float
    implementation: str

    @property
    def trials(self) -> int:
        return int(self.inside.size)


def canary_step_scores(per_example: Sequence[np.ndarray] | np.ndarray, canary: np.ndarray, *, l2_norm_clip: float,
                       noise_multiplier: float, trials: int, rng: np.random.Generator | int | None = None,
                       implementation: str = "correct") -> CanaryScores:
    """Run ``trials`` independent DP-SGD steps on a batch with the canary and ``trials`` without; score each.

    The white-box adversary knows the other examples' gradients (``per_example``, fixed across
    trials) and its own ``canary`` gradient. Both batches go through labkit's clipping
    (:func:`labkit.dp.dpsgd.clip_and_sum`), so the canary counts for at most ``C``. The score of an
    update is its projection on the unit direction ``u`` of the clipped canary, minus the known
    projection of the other examples' clipped sum, divided by ``C``. The Gaussian noise is isotropic,
    so its projection on ``u`` is N(0, std^2), independent of the coordinates the test ignores; the
    function draws that projection directly (one number per step, instead of one per parameter).
    ``tests/dp/test_canary_audit.py`` checks that the scores of full steps run through
    :func:`labkit.dp.dpsgd.noisy_gradient` have the same distribution.

    Args:
        per_example: the other examples' gradients, one array per variable shaped ``(examples, ...)``,
            or one matrix with a flattened gradient per row.
        canary: the canary's gradient, flattened to the same number of parameters (non-zero).
        implementation: ``"correct"`` (noise std ``noise_multiplier * C``) or ``"broken"``
            (:func:`broken_noisy_gradient`: noise std ``noise_multiplier``).
        rng: where the noise comes from (a seed makes the audit reproducible).

    Introduced in ``05-auditing.ipynb``.
    """
    from labkit.dp.dpsgd import clip_and_sum

    clip = v.positive("l2_norm_clip", l2_norm_clip)
    sigma = v.positive("noise_multiplier", noise_multiplier)
    trials = v.count("trials", trials, maximum=MAX_TRIALS)
    implementation = v.choice("implementation", implementation, IMPLEMENTATIONS)
    rng = v.generator(rng)
    others = _flat_gradients(per_example)
    canary = v.finite_array("canary", canary, ndim=1)
    if canary.size != others.shape[1]:
        raise ValueError(f"canary must have one entry per parameter of per_example ({others.shape[1]}); "
                         f"got {canary.size}")
    if not np.any(canary):
        raise ValueError("canary must be a non-zero gradient")
    out_sum = clip_and_sum([others], clip)[0][0]
    in_sum = clip_and_sum([np.vstack([others, canary])], clip)[0][0]
    direction = in_sum - out_sum
    shift = float(np.linalg.norm(direction)) / clip
    noise_std = sigma if implementation == "correct" else sigma / clip  # in units of C
    inside = shift + noise_std * rng.standard_normal(trials)
    outside = noise_std * rng.standard_normal(trials)
    return CanaryScores(inside, outside, shift, noise_std, implementation)


def step_score(update: np.ndarray, known_sum: np.ndarray, canary_direction: np.ndarray, l2_norm_clip: float) -> float:
    """The adversary's score of one noisy summed update: ``<update - known_sum, u> / C``, ``u`` the canary's unit direction.

    Introduced in ``05-auditing.ipynb`` (the score :func:`canary_step_scores` draws in bulk).
    """
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    update = v.finite_array("update", update, ndim=1)
    known_sum = v.finite_array("known_sum", known_sum, ndim=1)
    direction = v.finite_array("canary_direction", canary_direction, ndim=1)
    v.same_length(update=update, known_sum=known_sum, canary_direction=direction)
    norm = float(np.linalg.norm(direction))
    if norm == 0:
        raise ValueError("canary_direction must be non-zero")
    return float(np.dot(update - known_sum, direction / norm)) / clip


# --------------------------------------------------------------------------------------------
# From two score samples to a lower bound on epsilon
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanaryAudit:
    """The epsilon a canary audit proves, with what it was computed from.

    ``epsilon`` holds with confidence ``1 - alpha``: each trial is an independent run of the step,
    the threshold was chosen on other trials, and TPR / FPR are replaced by Clopper-Pearson bounds.
    ``point`` is the same bound from the raw rates. ``true_positives`` of ``positives`` steps with
    the canary and ``false_positives`` of ``negatives`` without scored at least ``threshold``.

    Introduced in ``05-auditing.ipynb``.
    """

    epsilon: float
    point: float
    threshold: float
    true_positives: int
    positives: int
    false_positives: int
    negatives: int
    delta: float
    alpha: float

    @property
    def tpr(self) -> float:
        return self.true_positives / self.positives

    @property
    def fpr(self) -> float:
        return self.false_positives / self.negatives

    def __repr__(self) -> str:
        return tr("CanaryAudit(epsilon >= {epsilon:.2f} at {confidence:.0f}% confidence, delta = {delta:g}; "
                  "threshold {threshold:.2f}: {tp} of {positives} held-out steps with the canary and {fp} of "
                  "{negatives} without scored above it)").format(
            epsilon=self.epsilon, confidence=100 * (1 - self.alpha), delta=self.delta, threshold=self.threshold,
            tp=self.true_positives, positives=self.positives, fp=self.false_positives, negatives=self.negatives)


def _predicted_bounds(tp: np.ndarray, n_in: int, fp: np.ndarray, n_out: int, delta: float, alpha: float) -> np.ndarray:
    """:func:`labkit.dp.audit.epsilon_lower_bound` for many (tp, fp) pairs at once (used to choose a threshold)."""
    from scipy.stats import beta

    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.where(tp > 0, beta.ppf(alpha / 2, np.maximum(tp, 1), n_in - tp + 1), 0.0)
        fpr = np.where(fp < n_out, beta.ppf(1 - alpha / 2, fp + 1, np.maximum(n_out - fp, 1)), 1.0)
        first = np.where((tpr > delta) & (fpr > 0), np.log(np.maximum(tpr - delta, 1e-300) / np.maximum(fpr, 1e-300)), 0.0)
        second = np.where((1 - fpr > delta) & (tpr < 1),
                          np.log(np.maximum(1 - fpr - delta, 1e-300) / np.maximum(1 - tpr, 1e-300)), 0.0)
    return np.maximum(0.0, np.maximum(first, second))


def _bound_sorted(sel_in: np.ndarray, sel_out: np.ndarray, ev_in: np.ndarray, ev_out: np.ndarray,
                  delta: float, alpha: float, shift: float = 0.0, scale: float = 1.0) -> CanaryAudit:
    """The audit from a selection sample (any order) and a sorted evaluation sample of each side.

    The scores are ``shift + scale * x`` for the "in" arrays ``x`` and ``scale * x`` for the "out"
    arrays (``scale > 0``), so that cached standard draws serve every setting without a copy.

    The threshold is chosen from the selection samples alone: a Gaussian (mean, standard deviation)
    is fitted to each, and the threshold maximises the bound those Gaussians predict for the
    evaluation samples' sizes. The fit only chooses the threshold; a poor fit costs tightness, never
    validity, because the bound itself is computed on the evaluation samples.
    """
    from scipy.stats import norm

    from labkit.dp.audit import _eps_from_rates, epsilon_lower_bound

    n_in, n_out = ev_in.size, ev_out.size
    mu_in, sd_in = shift + scale * float(np.mean(sel_in)), max(scale * float(np.std(sel_in)), 1e-12)
    mu_out, sd_out = scale * float(np.mean(sel_out)), max(scale * float(np.std(sel_out)), 1e-12)
    # Candidate thresholds: predicted false-positive rates from 1/2 down to 1 / (10 n).
    z = norm.isf(np.logspace(math.log10(0.5), math.log10(0.1 / n_out), 120))
    candidates = mu_out + sd_out * z
    tp_pred = np.round(n_in * norm.sf((candidates - mu_in) / sd_in)).astype(int)
    fp_pred = np.round(n_out * norm.sf(z)).astype(int)
    threshold = float(candidates[int(np.argmax(_predicted_bounds(tp_pred, n_in, fp_pred, n_out, delta, alpha)))])
    tp_ev = int(n_in - np.searchsorted(ev_in, (threshold - shift) / scale, side="left"))
    fp_ev = int(n_out - np.searchsorted(ev_out, threshold / scale, side="left"))
    eps = epsilon_lower_bound(tp_ev, n_in, fp_ev, n_out, delta, alpha)
    point = _eps_from_rates(tp_ev / n_in, fp_ev / n_out, delta)
    return CanaryAudit(eps, point, threshold, tp_ev, int(n_in), fp_ev, int(n_out), delta, alpha)


def canary_epsilon(scores_in: np.ndarray, scores_out: np.ndarray, delta: float, *, alpha: float = 0.05,
                   selection: float = 0.1, seed: int = 0) -> CanaryAudit:
    """A lower bound on epsilon from scores of independent runs with the canary (``scores_in``) and without.

    The test is "canary in if score >= t". A random share ``selection`` of each sample chooses ``t``:
    a Gaussian is fitted to each selection sample and ``t`` maximises the bound the two Gaussians
    predict for the rest. On the rest (the evaluation samples), the TPR is replaced by its
    Clopper-Pearson lower bound and the FPR by its upper bound and the pair goes through both
    inequalities of an (epsilon, delta)-DP test (:func:`labkit.dp.audit.epsilon_lower_bound`,
    Kairouz et al. 2015). The Gaussian fit only picks ``t``: if the scores are not Gaussian the
    bound is looser, not wrong.

    The bound holds with confidence ``1 - alpha`` when every score comes from an independent run,
    as with :func:`canary_step_scores`. It comes close to the true epsilon only if the score is a
    likelihood-ratio-monotone statistic (for two Gaussians of one variance, the score itself is) and
    the runs are many: at delta = 1e-5 the best threshold has a false-positive rate near 1e-6 to
    1e-5, which fewer than about 10^6 runs cannot measure.

    Introduced in ``05-auditing.ipynb``.
    """
    s_in = v.finite_array("scores_in", scores_in, ndim=1)
    s_out = v.finite_array("scores_out", scores_out, ndim=1)
    for name, arr in (("scores_in", s_in), ("scores_out", s_out)):
        if arr.size < 20:
            raise ValueError(f"{name} must hold at least 20 scores (for a selection and an evaluation sample); got {arr.size}")
    delta = v.probability("delta", delta, zero=True)
    alpha = v.probability("alpha", alpha)
    selection = v.real("selection", selection, low=0.01, high=0.5)
    rng = v.generator(seed, "seed")
    parts = []
    for arr in (s_in, s_out):
        pick = rng.random(arr.size) < selection
        if pick.sum() < 2 or (~pick).sum() < 2:
            raise ValueError("scores_in and scores_out must leave at least 2 scores on each side of the split; pass more")
        parts.append((arr[pick], np.sort(arr[~pick])))
    (sel_in, ev_in), (sel_out, ev_out) = parts
    return _bound_sorted(sel_in, sel_out, ev_in, ev_out, delta, alpha)


def gaussian_step_epsilon(noise_multiplier: float, delta: float, *, l2_norm_clip: float = 1.0,
                          implementation: str = "correct") -> float:
    """The exact epsilon of one DP-SGD step without subsampling (the Gaussian mechanism, Balle and Wang 2018).

    For the correct step the noise is ``noise_multiplier * C`` for sensitivity ``C``: the accountant's
    epsilon, :func:`labkit.dp.calibration.gaussian_epsilon` of ``noise_multiplier``. For the broken
    step the noise is ``noise_multiplier`` for sensitivity ``C``: the true epsilon is that of
    ``noise_multiplier / C``, while its accountant still reports the correct one.

    Introduced in ``05-auditing.ipynb``.
    """
    from labkit.dp.calibration import gaussian_epsilon

    sigma = v.positive("noise_multiplier", noise_multiplier)
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    implementation = v.choice("implementation", implementation, IMPLEMENTATIONS)
    std = sigma if implementation == "correct" else sigma / clip
    if std < 1e-6:
        raise ValueError(f"noise_multiplier / l2_norm_clip must be at least 1e-6 for the broken step (its noise in "
                         f"units of C); got {sigma:g} / {clip:g}")
    return gaussian_epsilon(std, delta)


# --------------------------------------------------------------------------------------------
# One run, many canaries (Steinke, Nasr and Jagielski 2023)
# --------------------------------------------------------------------------------------------


def _guess_counts(num_canaries, guesses, correct) -> tuple[int, int, int]:
    m = v.count("num_canaries", num_canaries)
    r = v.integer("guesses", guesses, minimum=0, maximum=m)
    c = v.integer("correct", correct, minimum=0)
    if c > r:
        raise ValueError(f"correct must be at most guesses ({r}); got correct={c}")
    return m, r, c


def one_run_p_value(num_canaries: int, guesses: int, correct: int, epsilon: float, delta: float) -> float:
    """Probability of at least ``correct`` right guesses out of ``guesses`` if the algorithm were (epsilon, delta)-DP.

    Steinke, Nasr and Jagielski (2023): each of ``num_canaries`` canaries is included independently
    with probability 1/2; the auditor guesses in/out for ``guesses`` of them and abstains on the rest.
    Under epsilon-DP the number of correct guesses is stochastically dominated by
    Binomial(guesses, e^eps / (1 + e^eps)), each guess no better than randomised response (their main
    theorem for pure DP). For delta > 0 their approximate-DP version adds ``2 * num_canaries * delta * a``
    with ``a = max over i of P[correct - i <= Binomial < correct] / i``; this follows the p-value
    computation the paper publishes with it.

    Introduced in ``05-auditing.ipynb``.
    """
    from scipy.stats import binom

    m, r, c = _guess_counts(num_canaries, guesses, correct)
    eps = v.nonnegative("epsilon", epsilon)
    delta = v.probability("delta", delta, zero=True)
    q = 1.0 / (1.0 + math.exp(-eps))
    tail = float(binom.sf(c - 1, r, q))  # P[Binomial(r, q) >= c]
    if delta == 0 or c == 0:
        return min(1.0, tail)
    pmf = binom.pmf(np.arange(c - 1, -1, -1), r, q)  # P[B = c - i] for i = 1 .. c
    a = float(np.max(np.cumsum(pmf) / np.arange(1, c + 1)))
    return min(1.0, tail + 2 * m * delta * a)


def one_run_epsilon(num_canaries: int, guesses: int, correct: int, delta: float, alpha: float = 0.05) -> float:
    """The largest epsilon that ``correct`` right guesses out of ``guesses`` reject at level ``alpha`` (0 if none).

    Bisection on :func:`one_run_p_value`, which decreases as epsilon grows: the algorithm is not
    (epsilon, delta)-DP for any epsilon below the returned value, with confidence ``1 - alpha``.

    Introduced in ``05-auditing.ipynb``.
    """
    m, r, c = _guess_counts(num_canaries, guesses, correct)
    delta = v.probability("delta", delta, zero=True)
    alpha = v.probability("alpha", alpha)
    if one_run_p_value(m, r, c, 0.0, delta) >= alpha:
        return 0.0
    lo, hi = 0.0, 1.0
    while one_run_p_value(m, r, c, hi, delta) < alpha:
        lo, hi = hi, 2 * hi
        if hi > 100:
            return lo
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if one_run_p_value(m, r, c, mid, delta) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class OneRunAudit:
    """A one-run audit: ``correct`` right guesses out of ``guesses`` among ``num_canaries`` canaries, and the epsilon they prove.

    Introduced in ``05-auditing.ipynb``.
    """

    epsilon: float
    correct: int
    guesses: int
    num_canaries: int
    delta: float
    alpha: float

    def __repr__(self) -> str:
        return tr("OneRunAudit(epsilon >= {epsilon:.2f} at {confidence:.0f}% confidence, delta = {delta:g}: "
                  "{correct} of {guesses} guesses right among {canaries} canaries, one run)").format(
            epsilon=self.epsilon, confidence=100 * (1 - self.alpha), delta=self.delta, correct=self.correct,
            guesses=self.guesses, canaries=self.num_canaries)


def one_run_audit(scores: np.ndarray, included: np.ndarray, guesses: int, delta: float, *,
                  alpha: float = 0.05) -> OneRunAudit:
    """Guess "in" for the ``guesses // 2`` highest scores and "out" for the ``guesses - guesses // 2`` lowest; bound epsilon.

    ``guesses`` must be fixed before looking at the scores (choosing it afterwards is a multiple test).

    Introduced in ``05-auditing.ipynb``.
    """
    s = v.finite_array("scores", scores, ndim=1)
    if included is None or isinstance(included, (str, bytes)) or np.shape(included) != s.shape:
        raise ValueError(f"included must be booleans shaped like scores {s.shape}; got {v._got(included)}")
    inc = np.asarray(included)
    if inc.dtype != bool:
        if not np.all(np.isin(inc, (0, 1))):
            raise ValueError("included must hold booleans (True = the canary was in the run)")
        inc = inc.astype(bool)
    m = s.size
    r = v.count("guesses", guesses, maximum=m)
    order = np.argsort(-s, kind="stable")
    k_plus = r // 2
    top, bottom = order[:k_plus], order[m - (r - k_plus):]
    correct = int(inc[top].sum() + (~inc[bottom]).sum())
    return OneRunAudit(one_run_epsilon(m, r, correct, delta, alpha), correct, r, m, float(delta), float(alpha))


def one_run_gaussian_scores(num_canaries: int, noise_multiplier: float, rng: np.random.Generator | int | None = None, *,
                            l2_norm_clip: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """One DP-SGD step with ``num_canaries`` gradient canaries, each included with probability 1/2.

    Canary ``i``'s gradient is ``C`` times the ``i``-th unit vector (a "Dirac canary", Nasr et al.
    2023): the canaries are orthogonal, so each sees the Gaussian mechanism of sensitivity ``C``. Each
    has norm ``C``, so clipping leaves it unchanged and the clipped sum is ``C`` on the included
    coordinates; :func:`labkit.dp.dpsgd.add_gaussian_noise` adds the step's noise. Canary ``i``'s
    score is coordinate ``i`` of the noisy sum over ``C``.

    Returns:
        ``(scores, included)``, each of length ``num_canaries``.

    Introduced in ``05-auditing.ipynb``.
    """
    from labkit.dp.dpsgd import add_gaussian_noise

    m = v.count("num_canaries", num_canaries, minimum=2, maximum=1_000_000)
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    sigma = v.positive("noise_multiplier", noise_multiplier)
    rng = v.generator(rng)
    included = rng.random(m) < 0.5
    # Each included canary is C e_i, of norm C: clipping leaves it as it is, so the clipped sum is C * included.
    summed = clip * included.astype(np.float64)
    update = add_gaussian_noise([summed], clip, sigma, rng)[0]
    return update / clip, included


# --------------------------------------------------------------------------------------------
# The widget's compute function
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _standard_draws(trials: int, seed: int) -> tuple[np.ndarray, ...]:
    """Standard normal draws for selection (10%) and evaluation (90%, sorted), in and out; cached."""
    rng = np.random.default_rng(seed)
    n_sel = trials // 10
    sel_in, sel_out = rng.standard_normal(n_sel), rng.standard_normal(n_sel)
    ev_in, ev_out = np.sort(rng.standard_normal(trials - n_sel)), np.sort(rng.standard_normal(trials - n_sel))
    return sel_in, sel_out, ev_in, ev_out


@dataclass(frozen=True)
class CanaryAuditPoint:
    """One setting of the canary-audit widget: the audit's bound beside the accountant's and the true epsilon.

    ``sample_in`` / ``sample_out`` hold 20,000 of the scores (or all of the selection trials, if fewer)
    for a histogram.

    Introduced in ``05-auditing.ipynb``.
    """

    noise_multiplier: float
    trials: int
    implementation: str
    audit: CanaryAudit
    claimed_epsilon: float
    true_epsilon: float
    noise_std: float
    sample_in: np.ndarray
    sample_out: np.ndarray


def canary_audit_point(noise_multiplier: float = 2.0, trials: int = 4_000_000, implementation: str = "correct", *,
                       l2_norm_clip: float = 10.0, delta: float = 1e-5, alpha: float = 0.05,
                       seed: int = 0) -> CanaryAuditPoint:
    """The canary audit of one step at one setting, fast enough for a slider.

    Same test as :func:`canary_epsilon` on scores from :func:`canary_step_scores` with a canary of
    norm ``C``: ``trials`` steps with the canary and ``trials`` without, 10% for choosing the
    threshold and 90% for the bound. The standard normal draws are cached per ``(trials, seed)``
    and sorted once; a score is ``shift + std * z`` with ``std > 0``, which keeps the order, so a
    slider move costs a few binary searches. ``claimed_epsilon`` is what the accountant reports for
    ``noise_multiplier``; ``true_epsilon`` is the step's exact epsilon (equal for the correct step).

    Introduced in ``05-auditing.ipynb``.
    """
    sigma = v.positive("noise_multiplier", noise_multiplier)
    if sigma > 1e3:
        raise ValueError(f"noise_multiplier must be at most 1000; got {sigma:g}")
    trials = v.count("trials", trials, minimum=100, maximum=MAX_TRIALS)
    implementation = v.choice("implementation", implementation, IMPLEMENTATIONS)
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    delta = v.probability("delta", delta)
    alpha = v.probability("alpha", alpha)
    seed = v.integer("seed", seed, minimum=0)
    std = sigma if implementation == "correct" else sigma / clip
    sel_in, sel_out, ev_in, ev_out = _standard_draws(trials, seed)
    audit = _bound_sorted(sel_in, sel_out, ev_in, ev_out, delta, alpha, shift=1.0, scale=std)
    claimed = gaussian_step_epsilon(sigma, delta)
    true = gaussian_step_epsilon(sigma, delta, l2_norm_clip=clip, implementation=implementation)
    k = min(20_000, sel_in.size)  # a sample of the scores for the widget's histogram
    return CanaryAuditPoint(sigma, trials, implementation, audit, claimed, true, std,
                            1.0 + std * sel_in[:k], std * sel_out[:k])
