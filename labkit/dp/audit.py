"""Privacy auditing: membership-inference attacks and an empirical lower bound on epsilon.

Introduced in ``05-auditing.ipynb`` (the loss-threshold attack is previewed in ``04-dp-sgd.ipynb``); its
intervals are used in ``09-secure-computation.ipynb`` and ``10-capstone-hospitals.ipynb``.
tensorflow-privacy 0.9.0's wheel ships no ``privacy_tests`` package, so the attacks are written
here, on NumPy arrays of model outputs; the models themselves come from :mod:`labkit.dp.dpsgd`.

* :func:`loss_threshold_attack`: guess "member" when the loss is low (Yeom et al. 2018).
* :func:`lira_scores`: the likelihood-ratio attack of Carlini et al. (2022, "Membership inference
  attacks from first principles", section IV): shadow models trained with and without each
  example give two Gaussians of its scaled confidence; the score is the log-likelihood ratio.
* :func:`roc_curve`, :func:`auc`, :func:`tpr_at_fpr`: how to read an attack; :func:`auc_ci` puts a
  DeLong (1988) confidence interval on the AUC, and :func:`indistinguishable` says when two overlap.
* :func:`epsilon_lower_bound`: the bound one threshold's counts prove, with Clopper-Pearson confidence.
* :func:`empirical_epsilon`: an attack with true-positive rate TPR at false-positive rate FPR
  proves epsilon >= log((TPR - delta) / FPR) for the training algorithm (Kairouz et al. 2015;
  Jagielski et al. 2020), here with Clopper-Pearson confidence bounds on both rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr


# --------------------------------------------------------------------------------------------
# What an attack sees: per-example losses and scaled confidences
# --------------------------------------------------------------------------------------------


def _rates(fpr, tpr) -> tuple[np.ndarray, np.ndarray]:
    """A ROC curve: two 1-D arrays of rates in [0, 1], of one length (at least one point)."""
    fpr = v.finite_array("fpr", fpr, ndim=1)
    tpr = v.finite_array("tpr", tpr, ndim=1)
    v.same_length(fpr=fpr, tpr=tpr)
    for name, arr in (("fpr", fpr), ("tpr", tpr)):
        if np.any(arr < 0) or np.any(arr > 1):
            raise ValueError(f"{name} must hold rates in [0, 1]; got values from {arr.min():g} to {arr.max():g}")
    return fpr, tpr


def _interval(name: str, value) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a confidence interval (low, high); got {v._got(value)}")
    low, high = v.real(f"{name}[0]", value[0]), v.real(f"{name}[1]", value[1])
    if low > high:
        raise ValueError(f"{name} must be an interval (low, high) with low <= high; got {v._got(value)}")
    return low, high


def _logits_labels(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = v.finite_array("logits", logits)
    if labels is None or isinstance(labels, (str, bytes)):
        raise TypeError(f"labels must be an array of integer class labels; got {v._got(labels)}")
    labels = np.asarray(labels)
    if logits.ndim < 2:
        raise ValueError(f"logits must have shape (..., examples, classes); got shape {logits.shape}")
    if labels.shape != logits.shape[-2:-1]:
        raise ValueError(f"labels must have one entry per example ({logits.shape[-2]}); got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= logits.shape[-1]:
        raise ValueError(f"labels must be integers from 0 to {logits.shape[-1] - 1}")
    return logits, labels.astype(np.int64)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-example softmax cross-entropy ``-log p(label)`` (works for stacks ``(models, n, classes)``).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    logits, labels = _logits_labels(logits, labels)
    top = logits.max(axis=-1, keepdims=True)
    lse = top[..., 0] + np.log(np.sum(np.exp(logits - top), axis=-1))
    true = np.take_along_axis(logits, np.broadcast_to(labels[:, None], logits.shape[:-1] + (1,)), axis=-1)[..., 0]
    return lse - true


def scaled_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """LiRA's statistic ``log(p / (1 - p))`` for the true class's probability ``p``.

    Computed as ``logit_true - logsumexp(other logits)``, which is exact and never overflows.
    Unlike ``p`` itself, it is close to Gaussian over training runs (Carlini et al. 2022, IV-B).

    Introduced in ``05-auditing.ipynb``.
    """
    logits, labels = _logits_labels(logits, labels)
    true = np.take_along_axis(logits, np.broadcast_to(labels[:, None], logits.shape[:-1] + (1,)), axis=-1)[..., 0]
    masked = logits.copy()
    np.put_along_axis(masked, np.broadcast_to(labels[:, None], logits.shape[:-1] + (1,)), -np.inf, axis=-1)
    top = masked.max(axis=-1, keepdims=True)
    rest = top[..., 0] + np.log(np.sum(np.exp(masked - top), axis=-1))
    return true - rest


# --------------------------------------------------------------------------------------------
# Reading an attack: ROC, AUC, TPR at low FPR
# --------------------------------------------------------------------------------------------


def _scores_members(scores: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = v.finite_array("scores", scores)
    if members is None or isinstance(members, (str, bytes)):
        raise TypeError(f"members must be an array of booleans, one per score; got {v._got(members)}")
    members = np.asarray(members)
    if members.shape != scores.shape:
        raise ValueError(f"members must have the shape of scores {scores.shape}; got {members.shape}")
    scores, members = scores.ravel(), members.ravel()
    if members.dtype != bool:
        if not np.all(np.isin(members, (0, 1))):
            raise ValueError("members must be booleans (True = the example was in the training set)")
        members = members.astype(bool)
    if members.all() or not members.any():
        raise ValueError("members must hold both members (True) and non-members (False)")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite numbers")
    return scores, members


def roc_curve(scores: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of the attack "member if score >= threshold" (higher score = more likely member).

    Returns:
        ``(fpr, tpr, thresholds)``, starting at (0, 0) with threshold ``inf`` and ending at (1, 1);
        one point per distinct score.

    Introduced in ``05-auditing.ipynb``.
    """
    scores, members = _scores_members(scores, members)
    order = np.argsort(-scores, kind="stable")
    s, m = scores[order], members[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last index of each run of equal scores
    tp = np.cumsum(m)[last]
    fp = np.cumsum(~m)[last]
    tpr = np.r_[0.0, tp / m.sum()]
    fpr = np.r_[0.0, fp / (~m).sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under a ROC curve (trapezoids); 0.5 is guessing, 1 is a perfect attack.

    Introduced in ``05-auditing.ipynb``.
    """
    fpr, tpr = _rates(fpr, tpr)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def auc_ci(scores: np.ndarray, members: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """AUC of the attack "member if score is high", its standard error and a ``1 - alpha`` interval.

    The AUC equals the Mann-Whitney probability that a random member scores above a random
    non-member (ties count one half). Its standard error comes from DeLong, DeLong and
    Clarke-Pearson (1988): the variance of the members' and the non-members' placement values.
    The interval is the normal one, ``auc +- z * se``, clipped to [0, 1].

    It treats the guesses as independent. Guesses pooled over several models that share training
    data are not quite independent, so read such intervals as somewhat optimistic.

    Returns:
        ``(auc, low, high)``.

    Introduced in ``04-dp-sgd.ipynb``; used in ``05-auditing.ipynb`` and ``10-capstone-hospitals.ipynb``.
    """
    from scipy.stats import norm, rankdata

    scores, members = _scores_members(scores, members)
    v.probability("alpha", alpha)
    pos, neg = scores[members], scores[~members]
    m, n = pos.size, neg.size
    rank_all = rankdata(np.r_[pos, neg])  # average ranks: ties count one half
    # Placement values: V10[i] = share of non-members below member i; V01[j] = share of members above non-member j.
    v10 = (rank_all[:m] - rankdata(pos)) / n
    v01 = 1.0 - (rank_all[m:] - rankdata(neg)) / m
    area = float(np.mean(v10))
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    half = float(norm.ppf(1 - alpha / 2)) * math.sqrt(var)
    return area, max(0.0, area - half), min(1.0, area + half)


def indistinguishable(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True when two confidence intervals ``(low, high)`` overlap: the data cannot order the two values.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    a, b = _interval("a", a), _interval("b", b)
    return max(a[0], b[0]) <= min(a[1], b[1])


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, max_fpr: float = 0.01) -> float:
    """The highest true-positive rate among thresholds whose false-positive rate is at most ``max_fpr``.

    Carlini et al. (2022, section III) argue this, not AUC or accuracy, is what matters: an attack
    that confidently identifies a few members is a privacy failure even when its AUC is near 0.5.

    Introduced in ``05-auditing.ipynb``.
    """
    v.probability("max_fpr", max_fpr, zero=True, one=True)
    fpr, tpr = _rates(fpr, tpr)
    ok = fpr <= max_fpr
    if not ok.any():
        raise ValueError(f"fpr must reach down to max_fpr={max_fpr:g} (a ROC curve starts at 0); got min {fpr.min():g}")
    return float(np.max(tpr[ok]))


@dataclass(frozen=True)
class AttackResult:
    """An attack's scores and how well they separate members from non-members.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    name: str
    scores: np.ndarray
    members: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    tpr_at_1pct: float
    auc_low: float
    auc_high: float

    @classmethod
    def from_scores(cls, name: str, scores: np.ndarray, members: np.ndarray) -> "AttackResult":
        scores, members = _scores_members(scores, members)
        fpr, tpr, _ = roc_curve(scores, members)
        _, low, high = auc_ci(scores, members)
        return cls(name, scores, members, fpr, tpr, auc(fpr, tpr), tpr_at_fpr(fpr, tpr, 0.01), low, high)

    @property
    def auc_interval(self) -> tuple[float, float]:
        """The 95% DeLong interval ``(low, high)`` on :attr:`auc` (see :func:`auc_ci`)."""
        return self.auc_low, self.auc_high

    def __repr__(self) -> str:
        return tr("AttackResult({name!r}: AUC {auc:.3f} [95% CI {low:.3f}, {high:.3f}], TPR at 1% FPR {tpr:.3f}, "
                  "{members} members / {non_members} non-members)").format(
            name=tr(self.name) if isinstance(self.name, str) else self.name, auc=self.auc, low=self.auc_low,
            high=self.auc_high, tpr=self.tpr_at_1pct, members=int(self.members.sum()),
            non_members=int((~self.members).sum()))


def loss_threshold_attack(logits: np.ndarray, labels: np.ndarray, members: np.ndarray,
                          name: str = "loss threshold") -> AttackResult:
    """Yeom et al. (2018): score each example by minus its loss; members tend to have lower loss.

    Needs no shadow models: only the target model's outputs on the examples.

    Introduced in ``04-dp-sgd.ipynb``; studied in ``05-auditing.ipynb``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string (the attack's label); got {v._got(name)}")
    scores = -cross_entropy(logits, labels)
    if members is not None and not isinstance(members, (str, bytes)) and np.shape(members) != scores.shape:
        raise ValueError(f"members must have one entry per example of logits {scores.shape}; got shape {np.shape(members)}")
    return AttackResult.from_scores(name, scores, members)


# --------------------------------------------------------------------------------------------
# LiRA with shadow models
# --------------------------------------------------------------------------------------------


def _log_normal_pdf(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi)


def lira_scores(target_conf: np.ndarray, shadow_conf: np.ndarray, shadow_in: np.ndarray, *,
                global_variance: bool = True) -> np.ndarray:
    """Online LiRA scores: log N(c; mu_in, s_in) - log N(c; mu_out, s_out) for each example.

    For each example, ``mu_in`` / ``mu_out`` are the mean scaled confidence over the shadow
    models trained with / without it. With few shadow models the per-example variance is
    unreliable, so by default one variance is pooled over all examples for "in" and one for
    "out" (Carlini et al. 2022, section IV-C, "fixed variance"). An example that no shadow
    model included (or excluded) borrows the average in-minus-out shift of the others.

    Args:
        target_conf: shape ``(n,)``, the target model's :func:`scaled_confidence` on each example.
        shadow_conf: shape ``(k, n)``, the same for ``k`` shadow models (``k >= 2``).
        shadow_in: booleans ``(k, n)``: was example ``j`` in shadow model ``i``'s training set?
        global_variance: pool the variances over examples (recommended below ~64 shadows).

    Returns:
        Shape ``(n,)``: higher means more likely a member.

    Introduced in ``05-auditing.ipynb``.
    """
    c = v.finite_array("target_conf", target_conf)
    s = v.finite_array("shadow_conf", shadow_conf)
    if shadow_in is None or isinstance(shadow_in, (str, bytes)):
        raise TypeError(f"shadow_in must be an array of booleans shaped like shadow_conf; got {v._got(shadow_in)}")
    inn = np.asarray(shadow_in)
    if inn.dtype != bool:
        if not np.all(np.isin(inn, (0, 1))):
            raise ValueError("shadow_in must hold booleans (True = the example was in that shadow model's training set)")
        inn = inn.astype(bool)
    global_variance = v.flag("global_variance", global_variance)
    if c.ndim != 1:
        raise ValueError(f"target_conf must be 1-D (one value per example); got shape {c.shape}")
    if s.ndim != 2 or s.shape[1] != c.size or s.shape[0] < 2:
        raise ValueError(f"shadow_conf must have shape (k >= 2, {c.size}); got {s.shape}")
    if inn.shape != s.shape:
        raise ValueError(f"shadow_in must have the shape of shadow_conf {s.shape}; got {inn.shape}")
    n_in, n_out = inn.sum(0), (~inn).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_in = np.where(inn, s, 0).sum(0) / n_in
        mu_out = np.where(~inn, s, 0).sum(0) / n_out
    both = (n_in > 0) & (n_out > 0)
    shift = float(np.mean(mu_in[both] - mu_out[both])) if both.any() else 0.0
    mu_in = np.where(n_in > 0, mu_in, mu_out + shift)
    mu_out = np.where(n_out > 0, mu_out, mu_in - shift)
    if global_variance:
        sd_in = np.full(c.shape, np.std((s - mu_in)[inn]) + 1e-6)
        sd_out = np.full(c.shape, np.std((s - mu_out)[~inn]) + 1e-6)
    else:
        sd_in = np.sqrt(np.where(inn, (s - mu_in) ** 2, 0).sum(0) / np.maximum(n_in, 1)) + 1e-6
        sd_out = np.sqrt(np.where(~inn, (s - mu_out) ** 2, 0).sum(0) / np.maximum(n_out, 1)) + 1e-6
    return _log_normal_pdf(c, mu_in, sd_in) - _log_normal_pdf(c, mu_out, sd_out)


@dataclass(frozen=True)
class ShadowSet:
    """``k`` models, each trained on a random subset of one pool of ``n`` examples.

    Attributes:
        conf: ``(k, n)`` scaled confidence of every model on every pool example.
        loss: ``(k, n)`` cross-entropy of every model on every pool example.
        members: ``(k, n)`` booleans: example ``j`` was in model ``i``'s training set.

    Introduced in ``05-auditing.ipynb``.
    """

    conf: np.ndarray
    loss: np.ndarray
    members: np.ndarray

    @property
    def num_models(self) -> int:
        return int(self.conf.shape[0])


def train_shadow_set(labels: np.ndarray, train_logits: Callable[[np.ndarray, int], np.ndarray], *,
                     num_models: int, seed: int = 0,
                     progress: Callable[[int, int], None] | None = None) -> ShadowSet:
    """Train ``num_models`` models, each on a random subset of the pool, and record their outputs.

    Every pool example joins every model's training set independently with probability 1/2, as in
    Steinke, Nasr and Jagielski (2023, "Privacy auditing with one (1) training run", Algorithm 1).
    So a training set holds Binomial(n, 1/2) examples, not exactly ``n // 2``. This matters:
    with the rest of the training set drawn the same way either way, "x in" and "x out" differ by
    adding or removing x alone, the add-or-remove-one adjacency that the accountant's epsilon is
    stated for. Exactly-half sampling would compare datasets that differ by *replacing* one example;
    a replace-one epsilon can be larger (by group privacy, at most twice the add/remove epsilon,
    with a larger delta), so such an audit could exceed a correct accountant's number.

    Model ``i`` trains on the indices ``members[i]`` by calling ``train_logits(train_indices, seed_i)``,
    which must return the trained model's logits on *every* pool example, shape ``(n, classes)``.
    ``seed`` makes the whole experiment (memberships and training seeds) reproducible.

    Introduced in ``05-auditing.ipynb``.
    """
    if labels is None or isinstance(labels, (str, bytes)) or np.ndim(labels) != 1 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array of class labels; got {v._got(labels)}")
    labels = np.asarray(labels)
    n = len(labels)
    num_models = v.count("num_models", num_models, minimum=2, maximum=10_000)  # one target and at least one shadow
    if not callable(train_logits):
        raise TypeError(f"train_logits must be a callable train_logits(indices, seed); got {v._got(train_logits)}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable progress(done, total) or None; got {v._got(progress)}")
    rng = v.generator(seed, "seed")
    members = np.zeros((num_models, n), dtype=bool)
    conf = np.zeros((num_models, n))
    loss = np.zeros((num_models, n))
    for i in range(num_models):
        members[i] = rng.random(n) < 0.5
        logits = np.asarray(train_logits(np.flatnonzero(members[i]), int(rng.integers(2**31 - 1))))
        conf[i] = scaled_confidence(logits, labels)
        loss[i] = cross_entropy(logits, labels)
        if progress is not None:
            progress(i + 1, num_models)
    return ShadowSet(conf, loss, members)


def leave_one_out_attacks(shadows: ShadowSet, *, global_variance: bool = True) -> dict[str, AttackResult]:
    """Attack each model of ``shadows`` in turn, the others serving as its shadow models.

    Returns the loss-threshold attack and LiRA, each pooled over all ``k`` targets (``k * n``
    guesses, about half of them members), as :class:`AttackResult`.

    Introduced in ``05-auditing.ipynb``.
    """
    if not isinstance(shadows, ShadowSet):
        raise TypeError(f"shadows must be a ShadowSet (train_shadow_set()); got {v._got(shadows)}")
    global_variance = v.flag("global_variance", global_variance)
    k = shadows.num_models
    lira = np.zeros_like(shadows.conf)
    for i in range(k):
        others = np.arange(k) != i
        lira[i] = lira_scores(shadows.conf[i], shadows.conf[others], shadows.members[others],
                              global_variance=global_variance)
    return {
        "loss threshold": AttackResult.from_scores("loss threshold", -shadows.loss, shadows.members),
        "LiRA": AttackResult.from_scores("LiRA", lira, shadows.members),
    }


# --------------------------------------------------------------------------------------------
# From attack success to a lower bound on epsilon
# --------------------------------------------------------------------------------------------


def clopper_pearson(successes: int, trials: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson, 1934) two-sided ``1 - alpha`` confidence interval for a binomial rate.

    Introduced in ``05-auditing.ipynb``.
    """
    from scipy.stats import beta

    trials = v.count("trials", trials)
    successes = v.integer("successes", successes, minimum=0, maximum=trials)
    v.probability("alpha", alpha)
    lo = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    hi = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return lo, hi


def _eps_from_rates(tpr: float, fpr: float, delta: float) -> float:
    """Largest epsilon lower bound implied by one (TPR, FPR) point of an (epsilon, delta)-DP test."""
    best = 0.0
    if tpr - delta > 0 and fpr > 0:
        best = max(best, math.log((tpr - delta) / fpr))
    if 1 - fpr - delta > 0 and tpr < 1:
        best = max(best, math.log((1 - fpr - delta) / (1 - tpr)))
    if (tpr - delta > 0 and fpr == 0) or (1 - fpr - delta > 0 and tpr == 1):
        return math.inf
    return best


def epsilon_lower_bound(true_positives: int, positives: int, false_positives: int, negatives: int, delta: float,
                        alpha: float = 0.05) -> float:
    """The epsilon lower bound one attack threshold proves, with Clopper-Pearson confidence on both rates.

    The attack caught ``true_positives`` of ``positives`` members and wrongly accused
    ``false_positives`` of ``negatives`` non-members. The TPR is replaced by its Clopper-Pearson lower
    bound and the FPR by its upper bound, each one-sided at ``alpha / 2`` (the two ends of
    :func:`clopper_pearson`'s two-sided ``1 - alpha`` intervals), and the pair goes through both
    inequalities of an (epsilon, delta)-DP test (Kairouz et al. 2015):
    ``max(0, log((TPR - delta) / FPR), log((1 - FPR - delta) / (1 - TPR)))``. It holds with
    confidence ``1 - alpha`` if the guesses are independent trials (see :func:`empirical_epsilon`).

    Introduced in ``05-auditing.ipynb`` (the reference of exercise 05.2).
    """
    positives = v.count("positives", positives)
    negatives = v.count("negatives", negatives)
    tp = v.integer("true_positives", true_positives, minimum=0, maximum=positives)
    fp = v.integer("false_positives", false_positives, minimum=0, maximum=negatives)
    delta = v.probability("delta", delta, zero=True)
    alpha = v.probability("alpha", alpha)
    tpr_lo = clopper_pearson(tp, positives, alpha)[0]
    fpr_hi = clopper_pearson(fp, negatives, alpha)[1]
    return _eps_from_rates(tpr_lo, fpr_hi, delta)


@dataclass(frozen=True)
class EpsilonLowerBound:
    """An empirical lower bound on epsilon, with what it was computed from.

    ``epsilon`` would hold with confidence ``1 - alpha`` if the guesses were independent trials.
    Guesses about different examples of one model are not (they share the model), so the stated
    confidence is nominal; the printed form says so. ``point`` is the same bound from the raw
    rates, without the confidence correction.

    Introduced in ``05-auditing.ipynb``.
    """

    epsilon: float
    point: float
    threshold: float
    tpr: float
    fpr: float
    positives: int
    negatives: int
    alpha: float

    def __repr__(self) -> str:
        return tr("EpsilonLowerBound(epsilon >= {epsilon:.2f} at {confidence:.0f}% confidence if the guesses were "
                  "independent trials, which guesses about the examples of one model are not; point estimate "
                  "{point:.2f}; TPR {tpr:.3f}, FPR {fpr:.3f} on {positives} + {negatives} held-out guesses)").format(
            epsilon=self.epsilon, confidence=100 * (1 - self.alpha), point=self.point, tpr=self.tpr, fpr=self.fpr,
            positives=self.positives, negatives=self.negatives)


def empirical_epsilon(scores: np.ndarray, members: np.ndarray, delta: float, *, alpha: float = 0.05,
                      seed: int = 0) -> EpsilonLowerBound:
    """A lower bound on the epsilon of the training algorithm from an attack's success.

    If training is (epsilon, delta)-DP, any test telling "in" from "out" has
    ``TPR <= e^epsilon * FPR + delta`` and ``1 - FPR <= e^epsilon * (1 - TPR) + delta``
    (Kairouz et al. 2015). So a measured (TPR, FPR) proves ``epsilon >= log((TPR - delta) / FPR)``.
    To make the bound honest: the guesses are split at random in two halves; the threshold is
    chosen on the first half, and on the second half the TPR is replaced by its Clopper-Pearson
    lower bound and the FPR by its upper bound (each one-sided at ``alpha / 2``).

    The guarantee assumes the guesses are independent trials. Membership guesses about different
    examples of the same model are not quite independent; a rigorous audit trains one model per
    guess (Jagielski et al. 2020) or uses the one-run analysis of Steinke et al. (2023).

    Introduced in ``05-auditing.ipynb``.
    """
    scores, members = _scores_members(scores, members)
    v.probability("delta", delta)
    v.probability("alpha", alpha)
    rng = v.generator(seed, "seed")
    pick = rng.random(scores.size) < 0.5
    sel_s, sel_m, ev_s, ev_m = scores[pick], members[pick], scores[~pick], members[~pick]
    if sel_m.all() or not sel_m.any() or ev_m.all() or not ev_m.any():
        raise ValueError("members must hold enough members and non-members to split them in two halves")

    def bounded(s: np.ndarray, m: np.ndarray, threshold: float) -> tuple[float, float, float, int, int]:
        guess = s >= threshold
        tp, fp = int(np.sum(guess & m)), int(np.sum(guess & ~m))
        pos, neg = int(m.sum()), int((~m).sum())
        return epsilon_lower_bound(tp, pos, fp, neg, delta, alpha), tp / pos, fp / neg, pos, neg

    candidates = np.unique(np.quantile(sel_s, np.linspace(0.5, 0.999, 200)))
    best = max(candidates, key=lambda t: bounded(sel_s, sel_m, t)[0])
    eps_lo, tpr, fpr, pos, neg = bounded(ev_s, ev_m, best)
    return EpsilonLowerBound(eps_lo, _eps_from_rates(tpr, fpr, delta), float(best), tpr, fpr, pos, neg, alpha)


def dp_tpr_bound(fpr: np.ndarray, epsilon: float, delta: float) -> np.ndarray:
    """The highest TPR any attack can reach at each FPR against an (epsilon, delta)-DP algorithm.

    ``min(1, e^eps * fpr + delta, 1 - e^-eps * (1 - delta - fpr))``: the region a ROC curve must
    stay under (Kairouz et al. 2015, Theorem 2.1). ``epsilon`` may be ``math.inf`` (no guarantee: the
    bound is 1 everywhere); a large finite epsilon gives the same bound without overflow.

    Introduced in ``05-auditing.ipynb``.
    """
    epsilon = v.nonnegative("epsilon", epsilon, finite=False)
    delta = v.probability("delta", delta, zero=True)
    scalar = np.ndim(fpr) == 0 and not isinstance(fpr, np.ndarray)
    if scalar:
        fpr = np.float64(v.probability("fpr", fpr, zero=True, one=True))
    else:
        fpr = v.finite_array("fpr", fpr, allow_empty=True)
        if np.any(fpr < 0) or np.any(fpr > 1):
            raise ValueError(f"fpr must hold rates in [0, 1]; got values from {fpr.min():g} to {fpr.max():g}")
    if math.isinf(epsilon):
        return np.ones_like(fpr)
    with np.errstate(over="ignore"):
        a = np.where(fpr > 0, np.exp(epsilon) * np.maximum(fpr, 0.0), 0.0) + delta  # e^eps * 0 is 0, not NaN
    b = 1 - np.exp(-epsilon) * (1 - delta - fpr)
    return np.clip(np.minimum(a, b), 0, 1)


def dpsgd_trainer(x: np.ndarray, y: np.ndarray, *, num_classes: int, hidden: tuple[int, ...], epochs: int,
                  batch_size: int, l2_norm_clip: float | None, noise_multiplier: float, learning_rate: float,
                  sampling: str = "poisson",
                  num_examples: int | None = None) -> Callable[[np.ndarray, int], np.ndarray]:
    """A ``train_logits(indices, seed)`` for :func:`train_shadow_set`, built on :func:`labkit.dp.dpsgd.train_dpsgd`.

    Each call trains a fresh MLP (``labkit.dp.dpsgd.make_mlp`` weights for ``seed``) on the rows
    ``indices`` of ``(x, y)`` and returns its logits on every row of ``x``. One Keras model is
    reused across calls (re-initialised each time), so TensorFlow traces the training loop once.

    Every model gets the same schedule, fixed from a public nominal training-set size
    ``num_examples`` (default ``len(x) // 2``, the expected size when each example joins with
    probability 1/2): the Poisson rate ``batch_size / num_examples`` and the number of steps are
    passed to :func:`labkit.dp.dpsgd.train_dpsgd` as that size, not read from ``len(indices)``. Under
    add/remove-one adjacency the true size is private, and with :func:`train_shadow_set` it varies
    from model to model (Binomial(n, 1/2)); with the nominal size, "x in" and "x out" change the
    data and nothing else, as the accountant assumes.

    Introduced in ``05-auditing.ipynb``.
    """
    from labkit.dp import dpsgd

    x, y = dpsgd._features_labels(x, y)
    num_classes = v.count("num_classes", num_classes, minimum=2)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold class labels from 0 to {num_classes - 1}; got labels from {y.min()} to {y.max()}")
    v.count("epochs", epochs)
    dpsgd._at_most_1e6("noise_multiplier", v.nonnegative("noise_multiplier", noise_multiplier))
    dpsgd._at_most_1e6("learning_rate", v.positive("learning_rate", learning_rate))
    if l2_norm_clip is not None:
        dpsgd._at_most_1e6("l2_norm_clip", v.positive("l2_norm_clip", l2_norm_clip))
    elif noise_multiplier != 0:
        raise ValueError(f"noise_multiplier must be 0 when l2_norm_clip is None (no clipping); got {noise_multiplier!r}")
    v.choice("sampling", sampling, dpsgd.SAMPLING)
    nominal = max(1, len(x) // 2) if num_examples is None else v.count("num_examples", num_examples)
    v.count("batch_size", batch_size, maximum=nominal)
    from labkit.dp.accounting import dpsgd_steps

    if sampling == "poisson":
        dpsgd_steps(nominal, batch_size, epochs)  # refuses schedules of more than MAX_STEPS steps
    elif epochs * math.ceil(nominal / batch_size) > 10**7:
        raise ValueError(f"epochs must give at most 10,000,000 steps; got {epochs} epochs of "
                         f"{math.ceil(nominal / batch_size):,} batches")
    model = dpsgd.make_mlp(x.shape[1], num_classes, hidden, seed=0)

    def train_logits(indices: np.ndarray, seed: int) -> np.ndarray:
        dpsgd.reinitialize(model, int(seed) % (2**31 // 1000))
        dpsgd.train_dpsgd(model, x[indices], y[indices], epochs=epochs, batch_size=batch_size,
                          l2_norm_clip=l2_norm_clip, noise_multiplier=noise_multiplier,
                          learning_rate=learning_rate, sampling=sampling, seed=int(seed), num_examples=nominal)
        return dpsgd.predict_logits(model, x)

    return train_logits
