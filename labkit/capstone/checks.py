"""Checks for the exercises in ``10-capstone-hospitals.ipynb``.

- 10.1 ``secure_sum(updates, rng) -> (messages, total)`` (build): the hospitals' own secure sum,
  plugged into the capstone federation through :class:`labkit.capstone.SecureSumAggregator`. The
  check runs it on seeded updates (2 to 6 hospitals, 1 to 31 entries, scales 1e-3 to 40): the
  server's decoded sum of the messages must equal the plain sum up to the fixed-point rounding;
  masks must be fresh in every call, differ across coordinates and hospitals; with 3 hospitals,
  every message must look uniform over Z_(2^64), and so must the differences of two coordinates
  of one message and of two hospitals' messages (over 120 rounds with the same updates: every bit
  of every entry changes, every bit is 1 about half of the time, Kolmogorov-Smirnov p >= 1e-8).
  Then it trains the federation for 2 rounds with it and compares the model with plain FedAvg's.
  A correct answer, seeded or not, fails by chance with probability below 1e-7.
- 10.2 ``coalition_reads(config, coalition, n_hospitals, threshold)`` (reason): which hospitals'
  updates a coalition of the server and hospitals can compute, in configurations (a), (b), (b')
  (threshold Paillier: the hospitals hold the key shares) and (c), for 3 to 5 hospitals and every
  threshold and coalition.
- 10.3 ``encrypted_default_risk(columns, weights, bias, sigmoid_coef)`` (finance, stretch): a bank
  scores loan applicants whose features arrive CKKS-encrypted, packed one feature per ciphertext,
  and returns encrypted default probabilities (polynomial sigmoid). The bank holds only a *public*
  TenSEAL context, so it cannot decrypt anything.
- 10.4 ``dp_category_counts(user_ids, categories, num_categories, max_per_user, epsilon, rng)``
  (e-commerce, stretch): purchases per category with user-level epsilon-DP: keep at most
  ``max_per_user`` purchases of each user, then independent Laplace noise of scale
  ``max_per_user / epsilon`` on every count. The check tests the noise's spread, its Laplace shape
  (Kolmogorov-Smirnov, p >= 1e-8 on 5,000 values) and its independence across categories; a correct
  answer fails by chance with probability below 2e-8.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises import Exercise, Hint, require
from labkit.i18n import N_, tr

_CKKS: dict[str, object] = {}
_FEDERATION: dict[str, object] = {}


def _contexts():
    """A secret-key CKKS context (for the checker) and its public copy (for the learner's code)."""
    if not _CKKS:
        from labkit.he.ckks import make_context

        secret = make_context()
        public = secret.copy()
        public.make_context_public()
        _CKKS["secret"], _CKKS["public"] = secret, public
    return _CKKS["secret"], _CKKS["public"]


# -- 10.1 the hospitals' own secure sum -----------------------------------------------------------

_FIX_TYPES = N_("encode each update with labkit.smpc.encode (round(x * 2^16) modulo 2^64, a uint64 vector), add "
                "masks drawn with labkit.smpc.random_ring(d, rng), and keep every message a uint64 vector: NumPy "
                "wraps uint64 arithmetic modulo 2^64 by itself")
_FIX_CANCEL = N_("give every pair of hospitals i < j its own mask vector m_ij = random_ring(d, rng): hospital i adds "
                 "it to its encoded update, hospital j subtracts it, so the masks cancel in the sum. (Or split each "
                 "encoded update into shares that add up to it, one for each hospital, and let each hospital send "
                 "the sum of the shares it received.)")
_FIX_UNIFORM = N_("a mask hides a value only if it is uniform over all of Z_(2^64): draw it with "
                  "labkit.smpc.random_ring(d, rng) (or rng.integers(0, 2**64, size=d, dtype=np.uint64)), not from a "
                  "smaller range such as [0, 2^63), a Gaussian or a float")
_ROUNDS = 120


def _one_round(fn, updates: list[np.ndarray], seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Call the learner's secure sum on copies of ``updates``; its messages as uint64 vectors and its total."""
    from labkit.capstone.federation import _ring_vector

    n, d = len(updates), updates[0].size
    out = fn([u.copy() for u in updates], np.random.default_rng(seed))
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            tr("return a pair (messages, total): the {count} messages the server receives and the sum it decodes; "
               "got {type}").format(count=n, type=type(out).__name__), fix=tr("end with `return messages, total`"))
    messages, total = out
    wrong = (tr("return one message per hospital: a list of {count} vectors; got {type} of length {length}")
             if hasattr(messages, "__len__") else
             tr("return one message per hospital: a list of {count} vectors; got {type}"))
    require(messages is not None and not isinstance(messages, (str, bytes)) and hasattr(messages, "__len__")
            and len(messages) == n,
            wrong.format(count=n, type=type(messages).__name__,
                         length=len(messages) if hasattr(messages, "__len__") else 0),
            fix=tr("build messages as a list with one uint64 vector of d entries for each hospital, in order"))
    ring = []
    for k, m in enumerate(messages):
        try:
            ring.append(_ring_vector(f"messages[{k}]", m, d))
        except (TypeError, ValueError) as err:
            raise Hint(f"{err}.", tr(_FIX_TYPES)) from None
    try:
        total = np.asarray(total, dtype=np.float64)
    except (TypeError, ValueError):
        raise Hint(tr("return the total as a vector of {count} floats; got {type}").format(count=d,
                                                                                         type=type(total).__name__),
                   tr("decode the sum of the messages with labkit.smpc.decode")) from None
    require(total.shape == (d,),
            tr("return the total as a vector of {count} floats; got shape {shape}").format(count=d, shape=total.shape),
            fix=tr("decode the sum of the messages with labkit.smpc.decode"))
    return ring, total


def _server_sum(ring: list[np.ndarray]) -> np.ndarray:
    from labkit.smpc import decode

    return decode(np.sum(ring, axis=0, dtype=np.uint64))


def _uniform_p(values: np.ndarray) -> float:
    """Kolmogorov-Smirnov p-value of ring elements against the uniform distribution on Z_(2^64)."""
    from scipy.stats import kstest

    return float(kstest(np.asarray(values, dtype=np.uint64).astype(np.float64).ravel() / 2.0**64, "uniform").pvalue)


def _server_views(rounds: np.ndarray):
    """What the uniformity tests of 10.1 look at: ``(values, what, fix)`` for each message, each difference of
    two coordinates of a message and each difference of two hospitals' messages (``rounds``: (rounds, n, d))."""
    n = rounds.shape[1]
    for k in range(n):
        yield rounds[:, k], tr("hospital {k}'s messages").format(k=k), tr(_FIX_UNIFORM)
        yield (rounds[:, k, 1:] - rounds[:, k, :-1],
               tr("the differences of two coordinates of hospital {k}'s message").format(k=k),
               tr("draw the masks of each coordinate independently: {fix}").format(fix=tr(_FIX_UNIFORM)))
        for j in range(k + 1, n):
            yield (rounds[:, k] - rounds[:, j],
                   tr("the differences of hospitals {k}'s and {j}'s messages").format(k=k, j=j),
                   tr("give every pair of hospitals its own independent mask vector: {fix}").format(
                       fix=tr(_FIX_UNIFORM)))


# How often the uniformity tests fail a correct answer. A correct answer whose random draws differ from the
# reference's (another order of draws, another protocol, masks from OS entropy instead of rng) is, to these
# tests, a fresh draw of uniform, independent ring elements, so it can fail only by chance, and a learner must
# essentially never see that. The 9 views of 3 hospitals x 31 coordinates x 120 rounds get three tests each:
# - Kolmogorov-Smirnov against the uniform distribution on 3,720 values: scipy computes the exact p-value, which
#   is uniform on [0, 1] for a correct answer, so p < 1e-8 happens with probability 1e-8 per view;
# - every bit of every entry takes both values over the 120 rounds: a correct answer keeps one bit constant with
#   probability 2^-119 per bit and entry (9 x 31 x 64 of them);
# - every bit is 1 in 40% to 60% of the 3,720 values: by Hoeffding, off by 0.1 with probability <= 2 e^-74 per
#   bit and view.
# Union bound over all of them: a correct answer fails with probability below 1e-7 (9 x 1e-8 + 1e-29), and the
# correlation test in the federation adds 3e-15. The wrong answers fail by far: masks below 2^16 or 2^63 give
# p < 1e-50; a mask from a float (53 significant bits) keeps the low 11 bits of the update; a mask that is even,
# or one number for all coordinates, keeps a bit constant. Erratum: the tests used p >= 1e-4 on each of 9 views
# and |r| < 0.6 in the federation, which failed a correct answer with probability about 3e-3 (13 of 4,000
# simulated correct answers; none of them fails the tests here).
_KS_ALPHA = 1e-8
_BIT_SHARE = 0.1


def _require_uniform(values: np.ndarray, what: str, fix: str) -> None:
    """Reject ``values`` (rounds x entries, elements of Z_(2^64)) unless they look uniform and fresh every round."""
    values = np.asarray(values, dtype=np.uint64).reshape(values.shape[0], -1)
    bits = ((values[..., None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(bool)  # (rounds, entries, 64)
    fixed = np.all(bits, axis=0) | ~np.any(bits, axis=0)  # (entries, 64): the same in every round
    if np.any(fixed):
        entry, bit = (int(i) for i in np.argwhere(fixed)[0])
        which = np.flatnonzero(fixed.any(axis=0))
        positions = (tr("bit {bit} stays").format(bit=which[0]) if len(which) == 1 else
                     tr("bits {first} to {last} stay").format(first=which[0], last=which[-1])
                     if which[-1] - which[0] == len(which) - 1 else
                     tr("{count} bit positions stay").format(count=len(which)))
        from_float = len(which) >= 6 and which[-1] < 12  # the low bits below a float's 53 significant bits
        raise Hint(tr("over {rounds} rounds with the same updates, bit {bit} of entry {entry} of {what} never changes "
                      "({positions} fixed in some entry): the server reads those bits of the updates through the "
                      "masks").format(rounds=values.shape[0], bit=bit, entry=entry, what=what, positions=positions),
                   tr("a float has 53 significant bits, so rng.random() * 2**64 or rng.uniform(0, 2**64) leaves the "
                      "low 11 bits of every mask zero. {fix}").format(fix=fix) if from_float else fix)
    share = bits.reshape(-1, 64).mean(axis=0)
    worst = int(np.argmax(np.abs(share - 0.5)))
    require(abs(share[worst] - 0.5) <= _BIT_SHARE,
            tr("bit {bit} of {what} is 1 in {share:.0%} of {count:,} values over {rounds} rounds; in a uniform ring "
               "element every bit is 1 half of the time").format(bit=worst, what=what, share=share[worst],
                                                                 count=values.size, rounds=values.shape[0]), fix=fix)
    p = _uniform_p(values)
    require(p >= _KS_ALPHA,
            tr("over {rounds} rounds with the same updates, {what} are not uniform over Z_(2^64) (Kolmogorov-Smirnov "
               "p = {p:.1e} on {count:,} values): the server learns something about the updates").format(
                rounds=values.shape[0], what=what, p=p, count=values.size), fix=fix)


def _federation():
    """The capstone's hospitals, local training and test split (loaded once)."""
    if not _FEDERATION:
        from labkit.capstone import LocalTraining, make_hospitals
        from labkit.data import load

        ds = load("breast_cancer")
        _FEDERATION.update(hospitals=make_hospitals(ds.x_train, ds.y_train, seed=0), x_test=ds.x_test,
                           y_test=ds.y_test, training=LocalTraining(epochs=2, batch_size=8, learning_rate=0.1))
    return _FEDERATION


def _secure_sum(fn) -> str:
    from labkit.smpc import encode

    rng = np.random.default_rng(1001)
    for n, d, scale in ((2, 1, 1.0), (3, 5, 1e-3), (4, 31, 0.05), (6, 7, 40.0)):
        updates = [rng.normal(scale=scale, size=d) for _ in range(n)]
        ring, total = _one_round(fn, updates, seed=n)
        encoded = [encode(u) for u in updates]
        for k in range(n):
            require(not np.array_equal(ring[k], encoded[k]),
                    tr("with {n} hospitals the server receives hospital {k}'s update in the clear (encoded): that "
                       "is plain FedAvg, configuration (a)").format(n=n, k=k), fix=tr(_FIX_CANCEL))
        server, want = _server_sum(ring), np.sum(updates, axis=0)
        gap = float(np.max(np.abs(server - want)))
        for bits in (b for b in range(-16, 17) if b):
            require(not np.allclose(server * 2.0**-bits, want, rtol=1e-3, atol=0.0),
                    tr("the server's decoded sum is 2^{bits} times the hospitals' sum: you encoded with "
                       "{encoded} fractional bits, the server decodes with 16").format(bits=bits, encoded=16 + bits),
                    fix=tr("encode every update with labkit.smpc.encode(u), which uses 16 fractional bits, as "
                           "labkit.smpc.decode expects"))
        require(gap <= n * 2.0**-16,
                tr("with {n} hospitals the server adds your messages modulo 2^64 and decodes a sum that is off the "
                   "hospitals' true sum by up to {gap:.3g}: your masks do not cancel").format(n=n, gap=gap),
                fix=tr(_FIX_CANCEL))
        require(bool(np.allclose(total, server, rtol=0.0, atol=1e-9)),
                tr("your total is off the sum the server decodes from the {n} messages by up to {gap:.3g}; the server "
                   "holds the messages, not the updates").format(n=n, gap=float(np.max(np.abs(total - server)))),
                fix=tr("add the messages modulo 2^64 (np.sum(messages, axis=0, dtype=np.uint64)) and decode that sum "
                       "once with labkit.smpc.decode: decoding each masked message first, in floats, loses the low "
                       "bits that make the masks cancel"))
        again, _ = _one_round(fn, updates, seed=100 + n)
        for k in range(n):
            require(not np.array_equal(ring[k], again[k]),
                    tr("called twice with two different rng, hospital {k} sent the same message: your masks do not "
                       "come from rng, so they repeat every round, and the server subtracts two rounds' messages to "
                       "read how the update changed").format(k=k),
                    fix=tr("draw every mask from the rng argument, in every call (labkit.smpc.random_ring(d, rng))"))
        masks = [r - e for r, e in zip(ring, encoded)]  # uint64: wraps modulo 2^64
        if d > 1:
            for k in range(n):
                require(not np.all(masks[k] == masks[k][0]),
                        tr("hospital {k} added the same number to every coordinate: the server subtracts two "
                           "coordinates of its message and reads the difference of two entries of its update").format(
                            k=k),
                        fix=tr("draw a whole vector of d independent masks for each pair (random_ring(d, rng)), not "
                               "one number"))
        for k in range(n):
            for j in range(k + 1, n):
                require(not np.array_equal(masks[k], masks[j]),
                        tr("hospitals {k} and {j} added the same mask: the server subtracts their messages and "
                           "reads the difference of their updates").format(k=k, j=j), fix=tr(_FIX_CANCEL))
    # What the server holds must tell it nothing but the sum. With n >= 3 hospitals, any two messages are jointly
    # uniform for a correct answer, so each message, each difference of two of its coordinates and each
    # difference of two hospitals' messages is uniform over Z_(2^64) and independent across rounds and
    # coordinates. (With n = 2 the difference m_0 - m_1 = 2 m_0 - sum is even, so it is tested with n = 3.)
    n, d = 3, 31
    updates = [rng.normal(scale=0.05, size=d) for _ in range(n)]
    rounds = np.array([_one_round(fn, updates, seed=1000 + r)[0] for r in range(_ROUNDS)])  # (rounds, n, d)
    for values, what, fix in _server_views(rounds):
        _require_uniform(values, what, fix)
    # Plug it into the capstone federation and compare with plain FedAvg.
    from labkit.capstone import CONFIGURATIONS, SecureSumAggregator, run_federation
    from labkit.smpc import decode

    fed = _federation()
    plain_config = CONFIGURATIONS[0]
    args = (fed["hospitals"], plain_config, fed["x_test"], fed["y_test"])
    plain = run_federation(*args, rounds=2, training=fed["training"], seed=0)
    aggregator = SecureSumAggregator(fn, np.random.default_rng(10))
    try:
        mine = run_federation(*args, rounds=2, training=fed["training"], seed=0, aggregator=aggregator)
    except (TypeError, ValueError) as err:
        raise Hint(tr("in the capstone federation your secure sum failed: {error}").format(error=err),
                   tr(_FIX_TYPES)) from None
    gap = float(np.max(np.abs(mine.params - plain.params)))
    require(gap < 1e-3 and mine.test_accuracy == plain.test_accuracy,
            tr("after 2 rounds in the capstone federation your model differs from plain FedAvg's by up to "
               "{gap:.3g}").format(gap=gap),
            fix=tr(_FIX_CANCEL))
    corr = max(abs(float(np.corrcoef(decode(m), u)[0, 1])) for ups, msgs in aggregator.rounds for u, m in zip(ups, msgs))
    # 31 entries: a correct answer gives |r| >= 0.95 with probability 3e-16 per message (t-distribution, 29 df).
    require(corr < 0.95, tr("in the federation a message the server received correlates with its hospital's update "
                            "(|r| = {corr:.2f})").format(corr=corr), fix=tr(_FIX_UNIFORM))
    return tr("Plugged into the capstone federation for 2 rounds, your secure sum gave plain FedAvg's model within "
              "{gap:.0e} (fixed-point rounding) and the same test accuracy, while the server received only uniform "
              "ring elements (largest |correlation| of a message with its update: {corr:.2f}).").format(gap=gap,
                                                                                                       corr=corr)


# -- 10.2 what a coalition reads -------------------------------------------------------------------

CONFIGS = ("a", "b", "b'", "c")


def _coalition_truth(config: str, coalition: set, n_hospitals: int, threshold: int) -> set[int]:
    """The hospitals outside ``coalition`` whose update it can compute (the reference answer of 10.2)."""
    members = {p for p in coalition if not isinstance(p, str)}
    outside = set(range(n_hospitals)) - members
    if len(outside) <= 1:  # everyone gets the new model, hence the sum: n - 1 hospitals subtract theirs
        return outside
    server = "server" in coalition
    if config == "a":
        reads = server
    elif config == "b'":  # t key shares decrypt; only the server holds the hospitals' ciphertexts
        reads = server and len(members) >= threshold
    else:  # (b) and (c): t shares rebuild a hospital's key; only the server holds the masked vectors
        reads = server and len(members) >= threshold
    return outside if reads else set()


def _coalition_cases():
    """Every (config, coalition, n, t): the notebook's setting (4 hospitals, t = 3) first, then 3 and 5 hospitals."""
    from itertools import combinations

    for n, thresholds in ((4, (3,)), (3, (2, 3)), (4, (2, 4)), (5, (2, 3, 4, 5))):
        for config in CONFIGS:
            parties = [N_("server"), *range(n)]  # the string "server": marked, so that _name can show it translated
            coalitions = [set(c) for size in range(1, len(parties) + 1) for c in combinations(parties, size)]
            for t in thresholds if config != "a" else thresholds[:1]:
                for coalition in coalitions:
                    yield config, coalition, n, t


def _name(coalition: set) -> str:
    named = sorted(p for p in coalition if isinstance(p, str))[::-1]
    hospitals = [tr("hospital {number}").format(number=p)
                 for p in sorted(p for p in coalition if not isinstance(p, str))]
    return "{" + ", ".join([tr(p) for p in named] + hospitals) + "}"


def _coalition_fix(config: str, coalition: set, n: int, t: int, missing: set, extra: set, fn) -> str:
    members = {p for p in coalition if not isinstance(p, str)}
    server = "server" in coalition
    if config == "c":
        try:
            same = _as_hospitals(fn("b", set(coalition), n, t), n) == _coalition_truth("b", coalition, n, t)
        except Hint:
            same = False
        if same:
            return tr("each hospital adds its DP noise before its update leaves it, and (c) aggregates exactly as "
                      "(b): the coalition computes the noisy update whenever it could in (b). DP protects the "
                      "patients inside the update; it does not hide the update.")
    if n - len(members) == 1:
        return tr("every hospital receives the new global model each round, so it knows the sum of all updates (new "
                  "model minus old). A coalition of all hospitals but one subtracts its own updates from that sum, "
                  "whatever the aggregation.")
    if config == "a":
        return tr("in plain FedAvg the server receives every update in the clear; a hospital receives only the new "
                  "model.")
    if config == "b'":
        if extra and not server:
            return tr("key shares decrypt only what their holders receive: the encrypted sum. The hospitals' "
                      "ciphertexts go to the server only.")
        if extra:
            return tr("fewer than t key shares decrypt nothing (their partial decryptions do not combine), so the "
                      "server cannot read the ciphertexts it holds.")
        return tr("t hospitals hold enough key shares to decrypt any ciphertext, and the server holds every "
                  "hospital's ciphertext: together they decrypt all.")
    if extra and not server:
        return tr("shares of a hospital's keys let t share holders rebuild them, but the masked vectors go to the "
                  "server only: without the server there is nothing to unmask.")
    if extra:
        return tr("with fewer than t shares of a hospital's key, the key is hidden (Shamir); the mask between two "
                  "hospitals outside the coalition stays uniform, so the server reads only their sum.")
    return tr("t share holders rebuild any hospital's secret key; with it the server, which holds every masked "
              "vector, recomputes that hospital's pairwise masks and removes them (its self-mask seed is revealed in "
              "the unmasking round anyway).")


def _as_hospitals(got, n: int) -> set[int]:
    require(got is not None and not isinstance(got, (str, bytes, dict)) and hasattr(got, "__iter__"),
            tr("return a set of hospital numbers; got {type}").format(type=type(got).__name__),
            fix=tr("return a Python set such as {{1, 3}}, or set() when the coalition reads no update").format())
    out = set()
    for p in got:
        require(isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)) and 0 <= int(p) < n,
                tr("return hospital numbers from 0 to {last}; got {got!r}").format(last=n - 1, got=p),
                fix=tr("list hospitals by their number, not parties such as 'server'"))
        out.add(int(p))
    return out


def _coalition_reads(fn) -> str:
    cases = 0
    for config, coalition, n, t in _coalition_cases():
        got = _as_hospitals(fn(config, set(coalition), n, t), n)
        inside = got & coalition
        require(not inside, tr("configuration ({config}), {n} hospitals: for the coalition {coalition} you listed its "
                               "own member(s) {inside}").format(config=config, n=n, coalition=_name(coalition),
                                                                 inside=sorted(inside)),
                fix=tr("return only hospitals outside the coalition; it knows its own updates anyway"))
        want = _coalition_truth(config, coalition, n, t)
        if got != want:
            missing, extra = want - got, got - want
            setting = (tr("configuration ({config}), {n} hospitals, t = {t}") if config != "a" else
                       tr("configuration ({config}), {n} hospitals")).format(config=config, n=n, t=t)
            what = (tr("it can also compute the update of hospital(s) {hospitals}").format(hospitals=sorted(missing))
                    if missing else
                    tr("it cannot compute the update of hospital(s) {hospitals}").format(hospitals=sorted(extra)))
            raise Hint(tr("{setting}: the coalition {coalition}: {what}.").format(
                           setting=setting, coalition=_name(coalition), what=what),
                       _coalition_fix(config, coalition, n, t, missing, extra, fn))
        cases += 1
    return tr("Right in all {cases:,} cases. Secure aggregation and threshold Paillier move the trust to a threshold "
              "of hospitals colluding with the server; DP protects the patients, not the update; and n - 1 hospitals "
              "always read the last one.").format(cases=cases)


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
                tr("return the encrypted probabilities as a CKKS vector (the bank cannot decrypt); got {type}").format(
                    type=type(out).__name__),
                fix=tr("work on the ciphertexts only: column * float(w) and + float(b) give CKKS vectors, and so does "
                       ".polyval"))
        got = np.asarray(ts.ckks_vector_from(secret, out.serialize()).decrypt())[: len(x)]
        z = x @ w + b
        want = np.polynomial.polynomial.polyval(z, coef)
        require(np.max(np.abs(got - z)) > 1e-2,
                tr("you returned the scores w.x + b, not probabilities"),
                fix=tr("apply the polynomial sigmoid to the encrypted scores: score.polyval(sigmoid_coef)"))
        reversed_ = np.polynomial.polynomial.polyval(z, coef[::-1])
        require(np.max(np.abs(got - reversed_) / (1 + np.abs(reversed_))) > 1e-2,
                tr("your coefficients are in the wrong order"),
                fix=tr("TenSEAL's polyval takes them from the constant term up, as fit_sigmoid_polynomial returns "
                       "them: pass sigmoid_coef as it is"))
        no_bias = np.polynomial.polynomial.polyval(x @ w, coef)
        require(np.max(np.abs(got - no_bias)) > 1e-2, tr("you forgot the bias b inside the sigmoid"),
                fix=tr("add float(bias) to the encrypted score before the polynomial"))
        require(np.max(np.abs(got - want)) < 1e-2,
                tr("the decrypted probabilities differ from sigmoid_poly(w.x + b) by up to {gap:.3f}").format(
                    gap=np.max(np.abs(got - want))),
                fix=tr("sum columns[j] * float(weights[j]) over all features j, add float(bias), then "
                       ".polyval(sigmoid_coef)"))
    return tr("The bank scored 40 applicants per ciphertext without seeing a feature or a probability.")


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
        require(out.shape == (5,), tr("return one count per category, shape (5,); got shape {shape}").format(
                    shape=out.shape),
                fix=tr("return an array of num_categories noisy counts"))
        raw = np.bincount(cats, minlength=5)
        require(not np.allclose(out, raw, atol=0.5),
                tr("with max_per_user={k} the heavy buyer's 30 purchases must be cut to {k}: keep at most "
                   "max_per_user purchases of each user before counting").format(k=k),
                fix=tr("count purchases in order, with a dict of how many you kept per user, and skip a purchase once "
                       "its user has max_per_user"))
        require(np.allclose(out, exact, atol=0.5),
                tr("with a huge epsilon the result should be the clipped counts {want}; got {got}").format(
                    want=exact.astype(int).tolist(), got=np.round(out, 1).tolist()),
                fix=tr("keep each user's first max_per_user purchases, in the given order, and count them per "
                       "category"))
    small_u, small_c = users[:60], cats[:60]
    eps, k, releases = 0.5, 3, 1000
    clipped = np.asarray(fn(small_u, small_c, 5, k, 1e6, np.random.default_rng(1)), dtype=np.float64)
    noise = np.array([np.asarray(fn(small_u, small_c, 5, k, eps, np.random.default_rng(s)), dtype=np.float64) - clipped
                      for s in range(releases)])  # (releases, categories)
    flat = noise.ravel()
    want = math.sqrt(2) * k / eps
    require(flat.std() > 0, tr("the counts are not noisy"),
            fix=tr("add Laplace noise of scale max_per_user / epsilon to every count (dp.laplace_mechanism, with rng)"))
    ratio = flat.std() / want
    require(not (0.25 < ratio * k < 1.3 and ratio < 0.6),
            tr("your noise has standard deviation {std:.2f}, about sqrt(2)/epsilon: a user changes up to "
               "max_per_user={k} counts, so the L1 sensitivity is {k}").format(std=flat.std(), k=k),
            fix=tr("the Laplace scale is sensitivity / epsilon = max_per_user / epsilon"))
    require(0.8 < ratio < 1.2,
            tr("the noise should have standard deviation sqrt(2) * max_per_user / epsilon = {want:.2f} "
               "(Laplace of scale {scale:.0f}); yours has {std:.2f}").format(want=want, scale=k / eps, std=flat.std()),
            fix=tr("use Laplace noise of scale max_per_user / epsilon, not epsilon / max_per_user"))
    # The mean of 5,000 Laplace values of scale 6 has standard deviation 0.12: |mean| >= 0.8 (6.7 standard
    # deviations) fails a correct answer with probability about 1e-11.
    require(abs(flat.mean()) < 0.8,
            tr("the noise should have mean 0; yours has mean {mean:.2f}").format(mean=flat.mean()),
            fix=tr("draw Laplace noise centred on 0"))
    # Independent noise: each of the 10 correlations has standard deviation 1/sqrt(1000) = 0.032, so |r| >= 0.2
    # (6.3 of them) fails a correct answer with probability about 3e-9.
    corr = np.corrcoef(noise, rowvar=False)
    worst = float(np.max(np.abs(corr[~np.eye(5, dtype=bool)])))
    require(worst < 0.2,
            tr("the noise on different categories is correlated (|r| up to {worst:.2f} over {releases} releases): you "
               "need independent noise for every count").format(worst=worst, releases=releases),
            fix=tr("draw one noise value per category (size=num_categories), not one draw shared by all"))
    # The spread alone does not make epsilon-DP: Gaussian noise of the same standard deviation gives only
    # (epsilon, delta)-DP. Test the shape with a Kolmogorov-Smirnov test against Laplace(0, k / eps) on all
    # 5,000 noise values. A correct answer whose draws differ from the reference's (another order, rng.exponential
    # differences, OS entropy) gets an exact p-value uniform on [0, 1], so p < 1e-8 fails it with probability 1e-8;
    # Gaussian noise of the same spread has a KS distance of 0.06 to it, which 5,000 values detect at p < 1e-14
    # (200 simulated runs). Erratum: the threshold was p >= 1e-3, which failed one correct answer in 1,000; with
    # the other tests above, a correct answer now fails with probability below 2e-8.
    from scipy.stats import kstest, laplace

    p_value = kstest(flat, laplace(scale=k / eps).cdf).pvalue
    require(p_value >= 1e-8,
            tr("your noise has the right standard deviation but not the Laplace distribution (Kolmogorov-Smirnov "
               "p = {p:.1e} on {count:,} values). Gaussian noise gives no pure epsilon-DP").format(p=p_value,
                                                                                                  count=flat.size),
            fix=tr("use Laplace noise of scale max_per_user / epsilon"))
    return tr("Bounding each user's contribution fixed the sensitivity; the noise scale follows from it.")


CHECKS = {"10.1": Exercise(_secure_sum, "build", "core", 25), "10.2": Exercise(_coalition_reads, "reason", "core", 15),
          "10.3": Exercise(_encrypted_default_risk, "build", "stretch", 15),
          "10.4": Exercise(_dp_category_counts, "build", "stretch", 15)}
