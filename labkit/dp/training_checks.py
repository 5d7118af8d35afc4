"""Exercise checks of notebooks 04 (DP-SGD) and 05 (auditing), the training half of the DP track.

Each check calls the learner's answer with property tests and raises :class:`labkit.exercises.Hint`
naming what went wrong (see :mod:`labkit.exercises`). ``CHECKS`` maps exercise ids to exercises:

* 04.1 one DP-SGD step's noisy gradient, equal to :func:`labkit.dp.dpsgd.noisy_gradient` under the same
  seeds; 04.2 find the bug in four DP-SGD steps (:data:`BROKEN_STEPS`), and fix one; 04.3 a DP mean purchase
  (``04-dp-sgd``). 04.3 ``dp_mean_purchase(amounts, clip, noise_multiplier, rng)``: a public count means
  neighbouring datasets have the same size (replace-one adjacency), under which the clipped sum's
  sensitivity is ``clip`` because every clipped amount lies in [0, clip]. The check uses refunds
  (negative amounts), so clipping from above only fails.
* 05.1 TPR at a low FPR; 05.2 the loss-threshold attack's Clopper-Pearson lower bound on epsilon, equal
  to :func:`labkit.dp.audit.epsilon_lower_bound` on its counts; 05.3 which claims the audit supports
  (:data:`AUDIT_CLAIMS`) (``05-auditing``).
"""

from __future__ import annotations

import math

import numpy as np

from labkit.dp.audit import epsilon_lower_bound, roc_curve, tpr_at_fpr
from labkit.dp.dpsgd import noisy_gradient
from labkit._validate import is_bool
from labkit.exercises import Exercise, Hint, require, require_names_and_fix, require_number
from labkit.i18n import N_, tr


# --------------------------------------------------------------------------------------------
# 04-dp-sgd
# --------------------------------------------------------------------------------------------


def _gradient_cases(poisson: bool) -> list[tuple[np.ndarray, float, float, int, int]]:
    """(per_example, clip, noise_multiplier, expected_batch_size, seed): rows above and below the clip, clips
    other than 1. For a step on a drawn batch (``poisson`` False): batches of as many rows as expected, of fewer
    or more, and an empty one. For the Poisson step: every row of a dataset, sampled at rate
    expected_batch_size / n, with one seed that draws an empty batch (seeds 101 and 102 at rate 1/40)."""
    rng = np.random.default_rng(41)
    if poisson:
        shapes = [(40, 6, 10, 0.5, 0.0, 100), (30, 3, 30, 2.0, 0.0, 103), (40, 4, 1, 1.0, 0.0, 101),
                  (200, 1, 50, 1.0, 0.0, 104), (40, 6, 10, 0.5, 1.3, 105), (30, 3, 30, 2.0, 0.8, 106),
                  (40, 4, 1, 0.5, 1.0, 102), (60, 5, 12, 0.25, 2.0, 107)]
    else:
        shapes = [(32, 10, 32, 0.5, 0.0, 100), (7, 3, 10, 2.0, 0.0, 101), (50, 1, 40, 1.0, 0.0, 102),
                  (0, 4, 8, 1.0, 0.0, 103), (32, 10, 32, 0.5, 1.3, 104), (7, 3, 10, 2.0, 0.8, 105),
                  (0, 4, 8, 0.5, 1.0, 106), (12, 6, 9, 0.25, 2.0, 107)]
    out = []
    for n, d, b, clip, sigma, seed in shapes:
        grads = rng.normal(size=(n, d)) * rng.uniform(0.02, 3.0, size=(n, 1)) / math.sqrt(d) * 2 * clip
        out.append((grads, clip, sigma, b, seed))
    return out


def _clipped_sum(grads: np.ndarray, clip: float) -> np.ndarray:
    return noisy_gradient(grads, clip, 0.0, 1, 0)[0] if len(grads) else np.zeros(grads.shape[1])


def _as_vector(got, d: int, what: str) -> np.ndarray:
    what = tr(what)
    require(got is not None, tr("return {what} as an array of shape ({d},); your function returned None").format(
                what=what, d=d),
            fix=tr("end with return noisy_sum / expected_batch_size"))
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        require(False, tr("return {what} as an array of numbers; got {type}").format(what=what, type=type(got).__name__),
                fix=tr("return a NumPy array with one entry per coordinate of the gradient"))
    require(arr.shape == (d,), tr("return {what}, one value per coordinate: shape ({d},); got shape {shape}").format(
                what=what, d=d, shape=arr.shape),
            fix=tr("sum the clipped rows over axis 0 (the examples), so that one vector of d coordinates remains"))
    require(bool(np.all(np.isfinite(arr))), tr("{what} holds NaN or inf (an empty batch has 0 rows: divide by "
                                               "expected_batch_size, never by the number of rows or a norm of "
                                               "0)").format(what=what),
            fix=tr("compute each row's clip factor as min(1, C / max(norm, 1e-12)) and divide by expected_batch_size"))
    return arr


def _compare_step(fn, what: str, *, poisson: bool) -> None:
    """Raise a Hint unless ``fn(per_example, clip, noise_multiplier, expected_batch_size, rng)`` is labkit's step.

    ``poisson``: ``per_example`` holds every row of a dataset and ``fn`` first draws the batch, row ``i`` joining
    when ``rng.random(n)[i] < expected_batch_size / n``, as ``train_dpsgd`` samples; otherwise it is the batch.
    """
    for rows, clip, sigma, b, seed in _gradient_cases(poisson):
        n, d = rows.shape
        got = _as_vector(fn(rows.copy(), clip, sigma, b, np.random.default_rng(seed)), d, what)
        rng = np.random.default_rng(seed)
        grads = rows[rng.random(n) < b / n] if poisson else rows
        want = noisy_gradient(grads, clip, sigma, b, rng)[0]
        if np.allclose(got, want, rtol=1e-5, atol=1e-9):
            continue
        m = len(grads)
        total = _clipped_sum(grads, clip)
        if poisson:
            setting = tr("{n} rows sampled at rate {b}/{n}, {m} drawn, clip {clip}, noise_multiplier {sigma}, "
                         "expected_batch_size {b}").format(n=n, b=b, m=m, clip=clip, sigma=sigma)
        else:
            setting = tr("{n} rows, clip {clip}, noise_multiplier {sigma}, expected_batch_size {b}").format(
                n=n, clip=clip, sigma=sigma, b=b)
        if sigma == 0:
            raw = grads.sum(axis=0)
            whole = raw * min(1.0, clip / max(float(np.linalg.norm(raw)), 1e-12))
            wrong = [
                (raw / b, N_("no example was clipped"), N_("scale row i by min(1, C / ||g_i||) before you sum")),
                (whole / b, N_("you clipped the sum, not each example: one example can still move the sum by more "
                               "than C"), N_("clip every row to norm C first, then sum the clipped rows")),
                (total, N_("you did not divide by expected_batch_size"),
                 N_("divide the noisy sum by expected_batch_size")),
                (total / max(m, 1), N_("you divided by the number of rows in the batch, not by expected_batch_size: "
                                       "under Poisson sampling the actual batch size is private, so the denominator "
                                       "must be the public expected one"),
                 N_("divide by expected_batch_size whatever the number of rows")),
                ((grads * clip / np.maximum(np.linalg.norm(grads, axis=1, keepdims=True), 1e-12)).sum(axis=0) / b,
                 N_("you scaled every row to norm exactly C: rows already shorter than C must stay as they are"),
                 N_("scale by min(1, C / ||g_i||), not by C / ||g_i||")),
                (np.clip(grads, -clip, clip).sum(axis=0) / b,
                 N_("you clipped each coordinate, not the L2 norm of each row"),
                 N_("compute each row's L2 norm ||g_i|| and scale the whole row by min(1, C / ||g_i||)")),
            ]
            if poisson:
                wrong.insert(0, (_clipped_sum(rows, clip) / b,
                                 N_("you used every row: a DP-SGD step trains on a Poisson batch, each row joining "
                                    "with probability q = expected_batch_size / n"),
                                 N_("draw the batch first: keep row i when rng.random(n)[i] < expected_batch_size / n")))
                joined = np.random.default_rng(seed).binomial(1, b / n, n).astype(bool)
                wrong.insert(1, (_clipped_sum(rows[joined], clip) / b,
                                 N_("you drew the batch with rng.binomial: a Poisson batch too, but not the rows the "
                                    "check replays under the same seed"),
                                 N_("draw the batch with one call, rng.random(n) < expected_batch_size / n, so that "
                                    "your batch is the one train_dpsgd draws from that seed")))
                wrong.append((total / n, N_("you divided by n, the number of rows in the whole dataset: the noisy sum "
                                            "covers one batch of about expected_batch_size rows"),
                              N_("divide by expected_batch_size")))
            for value, hint, fix in wrong:
                require(not np.allclose(got, value, rtol=1e-5, atol=1e-9),
                        tr("{hint} ({setting})").format(hint=tr(hint), setting=setting), fix=tr(fix))
            require(False, tr("with noise_multiplier 0 the step is the sum of the clipped rows divided by "
                              "expected_batch_size; yours differs ({setting})").format(setting=setting),
                    fix=tr("draw the batch with rng.random(n) < expected_batch_size / n, then scale each row by "
                           "min(1, C / ||g_i||) (rows shorter than C stay as they are), sum over the rows, divide by "
                           "expected_batch_size") if poisson else
                    tr("scale each row by min(1, C / ||g_i||) (rows shorter than C stay as they are), sum over the "
                       "rows, divide by expected_batch_size"))
        noise = want * b - total  # the noise labkit drew on the sum
        wrong = [
            (total / b, N_("you added no noise"),
             N_("add rng.normal(0, noise_multiplier * clip, size=d) to the clipped sum")),
            (total / b + noise, N_("you added the noise after averaging: noise of standard deviation sigma * C on the "
                                   "mean is expected_batch_size times the noise the accountant assumes on the sum"),
             N_("add the noise to the clipped sum, then divide the noisy sum by expected_batch_size")),
            ((total + noise / clip) / b, N_("the noise has standard deviation noise_multiplier, not noise_multiplier "
                                            "* clip: the sum's sensitivity is C, so the noise must scale with C"),
             N_("draw rng.normal(0, noise_multiplier * clip, size=d)")),
            ((total + noise * sigma * clip) / b, N_("you used the variance (sigma * C)^2 as the standard deviation"),
             N_("rng.normal's second argument is the standard deviation: noise_multiplier * clip")),
        ]
        for value, hint, fix in wrong:
            require(not np.allclose(got, value, rtol=1e-5, atol=1e-9),
                    tr("{hint} ({setting})").format(hint=tr(hint), setting=setting), fix=tr(fix))
        if poisson:
            require(False, tr("with the same seed your step differs from labkit's ({setting}). The check replays your "
                              "rng: it expects one draw of n uniforms for the batch, then one draw of d normal "
                              "values for the noise").format(setting=setting),
                    fix=tr("draw the batch first, rng.random(n) < expected_batch_size / n; then draw the noise once, "
                           "rng.normal(0, noise_multiplier * clip, size=d), add it to the clipped sum, and divide by "
                           "expected_batch_size"))
        require(False, tr("with the same seed your step differs from labkit's ({setting}). The check replays your "
                          "rng: it expects one draw of d normal values for the noise").format(setting=setting),
                fix=tr("draw the noise once, rng.normal(0, noise_multiplier * clip, size=d), add it to the clipped "
                       "sum, and divide by expected_batch_size"))


def _dpsgd_gradient(fn) -> str:
    _compare_step(fn, N_("the noisy averaged gradient"), poisson=True)
    return tr("Your step equals labkit's under the same seeds: a Poisson batch as train_dpsgd draws it, then "
              "noisy_gradient, the stages dpsgd_step runs; an empty batch included.")


# Exercise 04.2: the four steps are shown in the notebook; tests/dp/test_dpsgd_exercises.py proves that the
# notebook's definitions are broken exactly as stated here.
SUSPECT_STEPS: tuple[str, ...] = ("step_a", "step_b", "step_c", "step_d")
BROKEN_STEPS: dict[str, str] = {
    "step_a": N_("step_a adds the noise after averaging: noise of standard deviation sigma * C on the mean is "
                 "expected_batch_size times what the accountant assumes (private, but the signal drowns)"),
    "step_c": N_("step_c clips after adding the noise: the raw gradients enter the sum unclipped, so one example can "
                 "move it without bound and no noise scale is calibrated to that"),
    "step_d": N_("step_d draws noise of standard deviation sigma, not sigma * C: for C < 1 that is less noise than "
                 "the accountant assumes, so the epsilon it reports is too small"),
}


def _find_the_bugs(fn) -> str:
    names, fixed = require_names_and_fix(fn(), list(SUSPECT_STEPS), N_("step"))
    correct = sorted(names - set(BROKEN_STEPS))
    require(not correct, tr("you call {count} correct step broken: run each step and the notebook's step_gradient on "
                            "the same batch and seed").format(count=len(correct)),
            fix=tr("{step} clips each row, sums, adds N(0, (sigma C)^2) to the sum and divides by the expected batch "
                   "size: that is DP-SGD").format(step=correct[0] if correct else ''))
    missing = sorted(set(BROKEN_STEPS) - names)
    require(not missing, tr("you missed {count} broken step(s): compare each one with the stages in order (clip each "
                            "row, sum, noise of standard deviation sigma * C on the sum, divide)").format(
                count=len(missing)),
            fix=tr(BROKEN_STEPS[missing[0]]) if missing else "")
    require(callable(fixed), tr("the second thing returned must be your fixed step, a function; got {type}").format(
                type=type(fixed).__name__),
            fix=tr("define def fixed_step(per_example, clip, noise_multiplier, expected_batch_size, rng) and return it"))
    try:
        _compare_step(fixed, N_("your fixed step's gradient"), poisson=False)
    except Hint as err:
        raise Hint(tr("your fixed step is still wrong: {hint}").format(hint=err), err.fix) from None
    return tr("Right: a, c and d are broken. c and d break the privacy claim; a stays private but adds "
              "expected_batch_size times the noise DP-SGD needs, which drowns the signal.")


def _dp_mean_purchase(fn) -> str:
    # Purchases and two refunds (negative amounts): the answer must clip to [0, clip], both sides.
    amounts = np.array([12.0, 30.0, 5.0, 2500.0, 18.0, -80.0, 0.0, 75.0, -5.0, 22.0])
    clip = 50.0
    n = len(amounts)
    clipped_mean = np.clip(amounts, 0.0, clip).mean()
    out = fn(amounts.copy(), clip, 0.0, np.random.default_rng(0))
    require(out is not None, tr("return the noisy mean (one number); your function returned None"),
            fix=tr("end with return (clipped_sum + noise) / len(amounts)"))
    require(np.ndim(out) == 0 and isinstance(np.asarray(out).item(), (int, float)),
            tr("return one number, the noisy mean; got {type} of shape {shape}").format(type=type(out).__name__,
                                                                                       shape=np.shape(out)),
            fix=tr("sum the clipped amounts to one number before adding one noise draw"))
    exact = float(out)
    wrong = {
        "no clipping": (amounts.mean(), N_("no amount was clipped: one 2500 purchase moves the mean by more than "
                                           "clip / n"),
                        N_("clip each amount to [0, clip] before you sum")),
        "from above only": (np.minimum(amounts, clip).mean(), N_("you clipped from above only: a refund of -80 moves "
                                                                 "the mean by more than clip / n"),
                            N_("clip from below too, so that a refund counts as 0")),
        "symmetric": (np.clip(amounts, -clip, clip).mean(), N_("you clipped to [-clip, clip]: with both signs allowed, "
                                                               "replacing one amount moves the sum by up to 2 * clip, "
                                                               "twice the sensitivity the noise is calibrated to"),
                      N_("clip to [0, clip], not [-clip, clip]")),
    }
    for value, hint, fix in wrong.values():
        require(bool(np.isclose(exact, clipped_mean)) or not np.isclose(exact, value), tr(hint), fix=tr(fix))
    require(bool(np.isclose(exact, clipped_mean)),
            tr("with noise_multiplier 0 the answer is the mean of the amounts clipped to [0, clip], divided by all "
               "{n} customers ({mean:.3f}); got {got:.3f}").format(n=n, mean=clipped_mean, got=exact),
            fix=tr("divide the clipped sum by the number of customers, len(amounts), refunds included"))
    rng = np.random.default_rng(1)
    draws = np.array([float(fn(amounts.copy(), clip, 2.0, rng)) for _ in range(4000)])
    sd = draws.std()
    want = 2.0 * clip / n
    require(sd > 1e-6 * want, tr("with noise_multiplier 2 your answer is not noisy"),
            fix=tr("add rng.normal(0, noise_multiplier * clip) to the clipped sum"))
    require(abs(sd / want - 1) < 0.08,
            tr("the noise on the mean should have standard deviation noise_multiplier * clip / n = {want:.2f}; yours "
               "has {sd:.2f}").format(want=want, sd=sd),
            fix=tr("add N(0, (noise_multiplier * clip)^2) to the sum (the standard deviation is noise_multiplier * "
                   "clip), then divide by n"))
    require(abs(draws.mean() - clipped_mean) < 4 * want / np.sqrt(4000), tr("the noise must have mean 0"),
            fix=tr("draw the noise with rng.normal(0, noise_multiplier * clip)"))
    return tr("Same recipe as DP-SGD: bound each customer's contribution to [0, clip], add noise scaled to that bound. "
              "With n public this is replace-one DP, for one amount per customer.")


_CHECKS_04 = {"04.1": Exercise(_dpsgd_gradient, "build", "core", 15),
              "04.2": Exercise(_find_the_bugs, "reason", "core", 15),
              "04.3": Exercise(_dp_mean_purchase, "build", "stretch", 15)}


# --------------------------------------------------------------------------------------------
# 05-auditing
# --------------------------------------------------------------------------------------------


def _tpr_cases():
    """(scores, members, max_fpr): continuous scores with exactly 1000 non-members, so that an FPR of
    exactly 1% is reachable; at 1.75% a quantile threshold of the non-members lets 18 of them through
    (1.8%); and scores rounded to one decimal, so that many examples tie."""
    rng = np.random.default_rng(5)
    members = rng.permutation(np.r_[np.ones(1000, bool), np.zeros(1000, bool)])
    scores = rng.normal(size=2000) + 1.5 * members
    tied = np.round(rng.normal(size=600) + 1.0 * members[:600], 1)
    return [(scores, members, 0.01), (scores, members, 0.0175), (scores, members, 0.1), (tied, members[:600], 0.05)]


def _tpr_at_low_fpr(fn) -> str:
    for scores, members, max_fpr in _tpr_cases():
        fpr, tpr, _ = roc_curve(scores, members)
        want = tpr_at_fpr(fpr, tpr, max_fpr)
        got = require_number(fn(scores.copy(), members.copy(), max_fpr), N_("the true-positive rate"))
        require(0 <= got <= 1, tr("a rate lies in [0, 1]; got {got}").format(got=got),
                fix=tr("divide the number of members caught by the number of members"))
        if abs(got - want) > 1e-6:  # TPRs are multiples of 1 / (number of members): far apart
            neg = scores[~members]
            t = np.quantile(neg, 1 - max_fpr)
            over = float(np.mean(neg >= t))
            require(False, tr("at max_fpr = {max_fpr} expected TPR {want:.4f}, got {got:.4f}. A threshold t is allowed "
                              "when its false-positive rate (the share of non-members with score >= t) is at most "
                              "max_fpr, including exactly max_fpr. A quantile of the non-members' scores is not such a "
                              "threshold when scores tie or interpolate (here it gives FPR {over:.4f})").format(
                                  max_fpr=max_fpr, want=want, got=got, over=over),
                    fix=tr("try every distinct score as a threshold t; keep those whose FPR (non-members with score "
                           ">= t, divided by the number of non-members) is <= max_fpr, and return the best TPR among "
                           "them"))
    return tr("At 1% FPR the attack names members with few false alarms: the regime that matters (Carlini et al. 2022).")


def _attack_cases() -> list[tuple[np.ndarray, np.ndarray, float, float, float]]:
    """(losses, members, threshold, delta, alpha): members have lower losses; thresholds equal to a loss (ties
    with <= matter), one below every non-member's loss (no false positive at all), one above every loss."""
    rng = np.random.default_rng(52)
    out = []
    for n, shift, q, delta, alpha in [(400, 3.0, 0.1, 1e-5, 0.05), (1000, 1.5, 0.3, 0.0, 0.05),
                                      (300, 6.0, None, 1e-3, 0.1), (200, 1.0, 0.5, 0.01, 0.05),
                                      (60, 0.5, 0.9, 1e-5, 0.2), (2000, 8.0, 0.7, 1e-5, 0.05)]:
        members = rng.permutation(np.arange(n) < n // 2)
        losses = np.round(rng.exponential(1.0, n) * np.where(members, 1.0, shift), 2)
        if q is None:  # below every non-member: FPR 0, so only a confidence bound keeps the answer finite
            threshold = float(np.min(losses[~members]) - 0.005)
        else:
            threshold = float(np.quantile(losses, q, method="lower"))  # a loss value itself: ties matter
        out.append((losses, members, threshold, delta, alpha))
    return out


def _attack_epsilon(losses, members, threshold, delta, alpha, *, member_if=np.less_equal, side=None, swap=False,
                    use_delta=True, both=True, floor=True, confidence=True) -> float:
    """The reference (all keyword defaults) and the typical wrong answers, for the check's hints."""
    from scipy.stats import beta

    guess = member_if(losses, threshold)
    tp, fp = int(np.sum(guess & members)), int(np.sum(guess & ~members))
    pos, neg = int(members.sum()), int((~members).sum())
    if side is None and not swap and use_delta and both and floor and confidence:
        return epsilon_lower_bound(tp, pos, fp, neg, delta, alpha)
    a = alpha / 2 if side is None else side
    if confidence and swap:  # the optimistic ends: TPR's upper bound, FPR's lower bound
        tpr = 1.0 if tp == pos else float(beta.ppf(1 - a, tp + 1, pos - tp))
        fpr = 0.0 if fp == 0 else float(beta.ppf(a, fp, neg - fp + 1))
    elif confidence:
        tpr = 0.0 if tp == 0 else float(beta.ppf(a, tp, pos - tp + 1))
        fpr = 1.0 if fp == neg else float(beta.ppf(1 - a, fp + 1, neg - fp))
    else:
        tpr, fpr = tp / pos, fp / neg
    d = delta if use_delta else 0.0
    bounds = [0.0] if floor else []
    with np.errstate(divide="ignore"):
        if tpr - d > 0 and fpr > 0:
            bounds.append(math.log((tpr - d) / fpr))
        elif tpr - d > 0:
            bounds.append(math.inf)
        if both and 1 - fpr - d > 0 and tpr < 1:
            bounds.append(math.log((1 - fpr - d) / (1 - tpr)))
    return max(bounds) if bounds else 0.0


def _loss_attack_epsilon(fn) -> str:
    for losses, members, threshold, delta, alpha in _attack_cases():
        want = _attack_epsilon(losses, members, threshold, delta, alpha)
        got = fn(losses.copy(), members.copy(), threshold, delta, alpha)
        setting = tr("{members} members, {non_members} non-members, threshold {threshold:g}, delta {delta:g}, "
                     "alpha {alpha:g}").format(members=int(members.sum()), non_members=int((~members).sum()),
                                               threshold=threshold, delta=delta, alpha=alpha)
        require(not (isinstance(got, float) and math.isinf(got)),
                tr("you returned infinity ({setting}): with no false positive the measured FPR is 0, and a point "
                   "estimate proves epsilon = infinity from a finite sample").format(setting=setting),
                fix=tr("replace the FPR by its Clopper-Pearson upper bound (never 0) and the TPR by its lower bound"))
        got = require_number(got, N_("the epsilon lower bound"))
        if abs(got - want) <= 1e-6 * max(1.0, abs(want)):
            continue
        wrong = [
            (dict(member_if=np.less), N_("you guessed 'member' only when the loss is strictly below the threshold"),
             N_("guess 'member' when loss <= threshold")),
            (dict(member_if=np.greater_equal), N_("you guessed 'member' for high losses: members are the examples the "
                                                  "model fits, with low loss"),
             N_("guess 'member' when loss <= threshold")),
            (dict(confidence=False), N_("you used the measured rates: a bound from them holds only on this sample"),
             N_("replace the TPR by its Clopper-Pearson lower bound and the FPR by its upper bound")),
            (dict(swap=True), N_("you took the optimistic ends of the intervals: a lower bound on epsilon needs the "
                                 "pessimistic ones"),
             N_("use the lower end for the TPR and the upper end for the FPR")),
            (dict(side=alpha), N_("each rate's bound is one-sided at alpha: together they then hold with confidence "
                                  "1 - 2 alpha only"),
             N_("bound each rate one-sided at alpha / 2 (the ends of the two-sided 1 - alpha Clopper-Pearson "
                "interval), so that both hold with 1 - alpha")),
            (dict(side=alpha / 4), N_("each rate's bound is one-sided at alpha / 4: clopper_pearson(k, n, alpha) "
                                      "already puts alpha / 2 on each side, so passing it alpha / 2 halves that again "
                                      "and the bound comes out too low"),
             N_("call clopper_pearson(k, n, alpha) and take the lower end for the TPR and the upper end for the FPR")),
            (dict(use_delta=False), N_("you ignored delta: TPR <= e^eps FPR + delta allows delta of slack"),
             N_("subtract delta in both inequalities")),
            (dict(both=False), N_("you used one inequality only: 1 - FPR <= e^eps (1 - TPR) + delta can prove more"),
             N_("take the larger of log((TPR - delta) / FPR) and log((1 - FPR - delta) / (1 - TPR))")),
            (dict(floor=False), N_("your bound is below 0: an attack that proves nothing proves epsilon >= 0"),
             N_("return max(0, ...)")),
        ]
        for kwargs, hint, fix in wrong:
            other = _attack_epsilon(losses, members, threshold, delta, alpha, **kwargs)
            if math.isfinite(other) and abs(got - other) <= 1e-6 * max(1.0, abs(other)):
                require(False, tr("{hint} ({setting}; expected {want:.4f}, got {got:.4f})").format(
                            hint=tr(hint), setting=setting, want=want, got=got), fix=tr(fix))
        require(False, tr("expected {want:.4f}, got {got:.4f} ({setting})").format(want=want, got=got, setting=setting),
                fix=tr("count TP and FP at loss <= threshold; TPR's Clopper-Pearson lower bound and FPR's upper bound, "
                       "each one-sided at alpha / 2; then max(0, log((TPR - delta) / FPR), log((1 - FPR - delta) / "
                       "(1 - TPR)))"))
    return tr("Your bound equals labkit.dp.audit.epsilon_lower_bound on these counts. It is a lower bound: it can "
              "refute a claimed epsilon, never confirm one.")


# Exercise 05.3: the statements are in the notebook, keyed by letter; True = the audit supports it.
AUDIT_CLAIMS: dict[str, bool] = {"a": False, "b": True, "c": False, "d": False, "e": False, "f": True}
_CLAIM_REASONS: dict[str, str] = {
    "a": N_("a is not supported: a lower bound near 0 says only that this attack found next to nothing; the "
            "guarantee comes from the accountant's proof, never from a failed attack"),
    "b": N_("b is supported: 4.14 > 1, so these rates are impossible under (1, 1e-5)-DP, at the stated (nominal) "
            "confidence"),
    "c": N_("c is not supported: the eps = 16 models themselves got a lower bound of 0.04, below 1, so a model "
            "claiming eps = 1 while really at eps = 16 would pass"),
    "d": N_("d is not supported: a lower bound below the accountant's epsilon is consistent with it; it says nothing "
            "about how tight the accountant is"),
    "e": N_("e is not supported: the guesses about one model's examples share that model, so they are not "
            "independent trials and the 95% is nominal; even for independent trials, Clopper-Pearson guarantees at "
            "least 95%, not exactly 95%"),
    "f": N_("f is supported: (1, 1e-5)-DP caps any attack's TPR at e^1 * FPR + delta, 2.7% at 1% FPR, whatever the "
            "attack"),
}


def _audit_claims(fn) -> str:
    out = fn()
    require(isinstance(out, dict), tr("return a dict from each statement's letter to True or False; got {type}").format(
                type=type(out).__name__),
            fix=tr('return {{"a": ..., "b": ..., ...}} with one bool each').format())
    keys = {str(k).strip().lower(): val for k, val in out.items()}
    require(set(keys) == set(AUDIT_CLAIMS), tr("answer every statement once, keys {want}; got {got}").format(
                want=sorted(AUDIT_CLAIMS), got=sorted(keys)),
            fix=tr("one key per letter a to f"))
    require(all(is_bool(val) for val in keys.values()), tr("each answer must be True (supported) or False"),
            fix=tr("write True or False for each letter"))
    wrong = [k for k in sorted(AUDIT_CLAIMS) if bool(keys[k]) != AUDIT_CLAIMS[k]]
    # Say how many are wrong and on which side (marked supported or not), never which letter: the fix does that.
    said_yes = sum(bool(keys[k]) for k in wrong)
    said_no = len(wrong) - said_yes
    if said_yes and said_no:
        sides = tr("{yes} you marked True (supported) and {no} you marked False").format(yes=said_yes, no=said_no)
    elif said_yes:
        sides = tr("{yes} you marked True (supported)").format(yes=said_yes)
    else:
        sides = tr("{no} you marked False").format(no=said_no)
    if len(wrong) == 1:
        message = tr("{wrong} of your {total} answers is wrong: {sides}. Ask of each statement: does the definition of "
                     "(epsilon, delta)-DP imply it, or do this notebook's numbers show it (a lower bound, from one "
                     "attack, on guesses that share their models)?")
    else:
        message = tr("{wrong} of your {total} answers are wrong: {sides}. Ask of each statement: does the definition "
                     "of (epsilon, delta)-DP imply it, or do this notebook's numbers show it (a lower bound, from one "
                     "attack, on guesses that share their models)?")
    require(not wrong, message.format(wrong=len(wrong), total=len(AUDIT_CLAIMS), sides=sides),
            fix=tr(_CLAIM_REASONS[wrong[0]]) if wrong else "")
    return tr("An audit can refute a claim (b) and DP caps every attack (f); a failed attack proves nothing about "
              "privacy, and the audit's confidence is nominal.")


_CHECKS_05 = {"05.1": Exercise(_tpr_at_low_fpr, "build", "core", 15),
              "05.2": Exercise(_loss_attack_epsilon, "build", "core", 20),
              "05.3": Exercise(_audit_claims, "reason", "core", 10)}


CHECKS = {**_CHECKS_04, **_CHECKS_05}
