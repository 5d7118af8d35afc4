"""Checks for the exercises in ``10-capstone-hospitals.ipynb``: the source document's other applications.

- 10.1 ``encrypted_default_risk(columns, weights, bias, sigmoid_coef)`` (finance): a bank scores
  loan applicants whose features arrive CKKS-encrypted, packed one feature per ciphertext, and
  returns encrypted default probabilities (polynomial sigmoid). The bank holds only a *public*
  TenSEAL context, so it cannot decrypt anything.
- 10.2 ``dp_category_counts(user_ids, categories, num_categories, max_per_user, epsilon, rng)``
  (e-commerce): purchases per category with user-level epsilon-DP: keep at most ``max_per_user``
  purchases of each user, then independent Laplace noise of scale ``max_per_user / epsilon`` on
  every count. The check tests the noise's spread, its Laplace shape (Kolmogorov-Smirnov, p >= 1e-3
  on 5,000 values) and its independence across categories.
- 10.3 ``worst_patient_epsilon(sizes, batch_size, noise_multipliers, epochs, delta)`` (the
  capstone's accounting): each hospital runs DP-SGD on its own records; a patient's epsilon is
  their hospital's, so the federation's guarantee is the largest of them.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from labkit.exercises import Exercise, require

_CKKS: dict[str, object] = {}


def _contexts():
    """A secret-key CKKS context (for the checker) and its public copy (for the learner's code)."""
    if not _CKKS:
        from labkit.he.ckks import make_context

        secret = make_context()
        public = secret.copy()
        public.make_context_public()
        _CKKS["secret"], _CKKS["public"] = secret, public
    return _CKKS["secret"], _CKKS["public"]


def _encrypted_default_risk(fn) -> str:
    import tenseal as ts

    from labkit.he.ckks import encrypt_columns, fit_sigmoid_polynomial

    secret, public = _contexts()
    rng = np.random.default_rng(10)
    coef = fit_sigmoid_polynomial(3, 8.0)
    for trial in range(2):
        x = rng.normal(size=(40, 4))
        w = rng.normal(scale=0.6, size=4).round(2)
        b = -0.5 if trial == 0 else 0.8
        cols = [ts.ckks_vector_from(public, c.serialize()) for c in encrypt_columns(secret, x)]
        out = fn(cols, w, b, coef)
        require(isinstance(out, ts.CKKSVector),
                f"return the encrypted probabilities as a CKKS vector (the bank cannot decrypt); got {type(out).__name__}")
        got = np.asarray(ts.ckks_vector_from(secret, out.serialize()).decrypt())[: len(x)]
        z = x @ w + b
        want = np.polynomial.polynomial.polyval(z, coef)
        require(np.max(np.abs(got - z)) > 1e-2,
                "you returned the scores w.x + b; apply the polynomial sigmoid with .polyval(sigmoid_coef)")
        reversed_ = np.polynomial.polynomial.polyval(z, coef[::-1])
        require(np.max(np.abs(got - reversed_) / (1 + np.abs(reversed_))) > 1e-2,
                "your coefficients are in the wrong order: TenSEAL's polyval takes them from the constant term up")
        no_bias = np.polynomial.polynomial.polyval(x @ w, coef)
        require(np.max(np.abs(got - no_bias)) > 1e-2, "you forgot the bias b inside the sigmoid")
        require(np.max(np.abs(got - want)) < 1e-2,
                f"the decrypted probabilities differ from sigmoid_poly(w.x + b) by up to {np.max(np.abs(got - want)):.3f}")
    return "The bank scored 40 applicants per ciphertext without seeing a feature or a probability."


def _dp_category_counts(fn) -> str:
    rng = np.random.default_rng(11)
    users = rng.integers(0, 40, size=300)
    cats = rng.integers(0, 5, size=300)
    users[:30], cats[:30] = 7, 2  # one heavy buyer: 30 purchases in one category
    for k in (1, 3):
        seen: dict[int, int] = {}
        exact = np.zeros(5)
        for u, c in zip(users.tolist(), cats.tolist()):
            if seen.get(u, 0) < k:
                exact[c] += 1
                seen[u] = seen.get(u, 0) + 1
        out = np.asarray(fn(users, cats, 5, k, 1e6, np.random.default_rng(0)), dtype=np.float64)
        require(out.shape == (5,), f"return one count per category, shape (5,); got shape {out.shape}")
        raw = np.bincount(cats, minlength=5)
        require(not np.allclose(out, raw, atol=0.5),
                f"with max_per_user={k} the heavy buyer's 30 purchases must be cut to {k}: keep at most max_per_user "
                "purchases of each user before counting")
        require(np.allclose(out, exact, atol=0.5),
                f"with a huge epsilon the result should be the clipped counts {exact.astype(int).tolist()}; "
                f"got {np.round(out, 1).tolist()}. Keep each user's first max_per_user purchases, in the given order")
    small_u, small_c = users[:60], cats[:60]
    eps, k, releases = 0.5, 3, 1000
    clipped = np.asarray(fn(small_u, small_c, 5, k, 1e6, np.random.default_rng(1)), dtype=np.float64)
    noise = np.array([np.asarray(fn(small_u, small_c, 5, k, eps, np.random.default_rng(s)), dtype=np.float64) - clipped
                      for s in range(releases)])  # (releases, categories)
    flat = noise.ravel()
    want = math.sqrt(2) * k / eps
    require(flat.std() > 0, "the counts must be noisy: add Laplace noise")
    ratio = flat.std() / want
    require(not (0.25 < ratio * k < 1.3 and ratio < 0.6),
            f"your noise has standard deviation {flat.std():.2f}, about sqrt(2)/epsilon: a user changes up to "
            f"max_per_user={k} counts, so the L1 sensitivity is {k} and the Laplace scale must be {k}/epsilon")
    require(0.8 < ratio < 1.2,
            f"the noise should have standard deviation sqrt(2) * max_per_user / epsilon = {want:.2f} "
            f"(Laplace of scale {k / eps:.0f}); yours has {flat.std():.2f}")
    require(abs(flat.mean()) < 0.5, f"the noise should have mean 0; yours has mean {flat.mean():.2f}")
    corr = np.corrcoef(noise, rowvar=False)
    worst = float(np.max(np.abs(corr[~np.eye(5, dtype=bool)])))
    require(worst < 0.2,
            f"the noise on different categories is correlated (|r| up to {worst:.2f} over {releases} releases): draw "
            "independent noise for every count, one draw per category, not one draw shared by all")
    # The spread alone does not make epsilon-DP: Gaussian noise of the same standard deviation gives only
    # (epsilon, delta)-DP. Test the shape with a Kolmogorov-Smirnov test against Laplace(0, k / eps) on all
    # 5,000 noise values: a correct answer fails it with probability 1e-3; Gaussian noise of the same spread
    # has a KS distance of 0.062 to it, which 5,000 samples detect at p < 1e-10.
    from scipy.stats import kstest, laplace

    p_value = kstest(flat, laplace(scale=k / eps).cdf).pvalue
    require(p_value >= 1e-3,
            f"your noise has the right standard deviation but not the Laplace distribution (Kolmogorov-Smirnov "
            f"p = {p_value:.1e} on {flat.size:,} values). Gaussian noise gives no pure epsilon-DP: use Laplace noise "
            f"of scale max_per_user / epsilon")
    return "Bounding each user's contribution fixed the sensitivity; the noise scale follows from it."


def _worst_patient_epsilon(fn) -> str:
    from labkit.dp import dpsgd_epsilon

    cases = [((172, 119, 85, 50), 8, (1.7, 2.0, 2.3, 2.9), 20, 1e-5),
             ((300, 60, 140), 10, (1.2, 1.2, 1.2), 10, 1e-5),
             ((100, 100), 20, (1.0, 1.5), 5, 1e-6)]
    for sizes, b, sigmas, epochs, delta in cases:
        per = [dpsgd_epsilon(n, b, s, epochs, delta) for n, s in zip(sizes, sigmas)]
        want = max(per)
        got = fn(sizes, b, sigmas, epochs, delta)
        require(isinstance(got, numbers.Real), f"return a number; got {type(got).__name__}")
        got = float(got)
        pooled = dpsgd_epsilon(sum(sizes), b, min(sigmas), epochs, delta)
        require(abs(got - pooled) > 1e-6 or abs(pooled - want) < 1e-6,
                "you accounted as if all records were pooled (q = batch / all records): a patient's records are "
                "sampled with q = batch_size / n_k of their own hospital")
        require(abs(got - float(np.mean(per))) > 1e-6 or abs(want - float(np.mean(per))) < 1e-6,
                "the average hides the worst-off patients: report the largest epsilon")
        require(abs(got - sum(per)) > 1e-6, "a patient sits in one hospital only: do not add the hospitals' epsilons")
        require(abs(got - want) < 1e-6 * max(1.0, want),
                f"for sizes {sizes} the worst patient's epsilon is {want:.3f}; you returned {got:.3f}")
    return ("A patient's epsilon is their own hospital's. At equal noise, small hospitals sample each record more often, "
            "so their patients set the federation's epsilon.")


CHECKS = {"10.1": Exercise(_encrypted_default_risk, "build", "core", 15), "10.2": Exercise(_dp_category_counts, "build", "core", 15),
          "10.3": Exercise(_worst_patient_epsilon, "reason", "core", 10)}
