"""Checks for the exercises in ``09-secure-computation.ipynb``.

- 09.1 (build): Beaver multiplication from a triple, compared share by share with
  :func:`labkit.smpc.beaver_mul` (same triple, no truncation) and with the plaintext product; the
  check records every value the answer opens and accepts only d = x - a and e = y - b.
- 09.2 (build): the server's unmasking round of secure aggregation: rebuild each survivor's
  self-mask seed and each dropped client's masking key from Shamir shares, remove every mask, decode
  the sum; compared with :func:`labkit.smpc.secure_aggregate_run` on the same round.
- 09.3 (reason): which of the six variants of :mod:`labkit.smpc.variants` are broken, and what the
  server reads from the one that reuses its pairwise masks across rounds.
"""

from __future__ import annotations

import numpy as np

from labkit.exercises import Exercise, Hint, require
from labkit.i18n import tr

# ------------------------------------------------------------------ 09.1 Beaver multiplication


def _ring(value, what: str) -> np.ndarray:
    """``value`` as a ``uint64`` array, or a hint saying that ``what`` must hold ring elements."""
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - whatever the learner passed, say what is expected
        arr = None
    if arr is None or arr.dtype.kind not in "iu":
        kind = "None" if value is None else (arr.dtype if arr is not None else type(value).__name__)
        raise Hint(tr("{what} must hold ring elements (uint64 integers); got {kind}").format(what=what, kind=kind),
                   fix=tr("Keep every step in NumPy uint64: subtraction, products and sums wrap around modulo 2^64 by "
                          "themselves. Do not decode, and do not convert to float."))
    return arr.astype(np.uint64)


def _total(shares) -> np.ndarray:
    """The sum of ``uint64`` shares modulo 2^64."""
    out = np.zeros(np.shape(shares[0]), dtype=np.uint64)
    for s in shares:
        out = out + s
    return out


def _split_openings(opened: list[np.ndarray], shape: tuple[int, ...]) -> list[np.ndarray]:
    """The opened values, with a combined opening of two values (``np.stack([d, e])`` or a concatenation
    along the first axis: one round of communication) split into its two halves."""
    size = int(np.prod(shape, dtype=np.int64))
    out = []
    for o in opened:
        if o.size == 2 * size and o.shape != shape:
            flat = o.ravel()
            out.extend([flat[:size].reshape(shape), flat[size:].reshape(shape)])
        else:
            out.append(o)
    return out


def _beaver(fn) -> str:
    from labkit.smpc import TrustedDealer, beaver_mul, encode, share

    rng = np.random.default_rng(39)
    fix_formula = tr("Split x y = c + d b + e a + d e among the parties: each party's share of c, d times its share "
                     "of b, and e times its share of a add up to the first three terms, so party i returns "
                     "z_i = c_i + d * b_i + e * a_i; the public d * e must appear once in the sum, so exactly one "
                     "party (party 0) also adds it")
    same_as_labkit = True
    for n, shape in ((2, (5,)), (3, (2, 3)), (5, (1,)), (4, (6,))):
        x, y = rng.uniform(-50, 50, size=shape), rng.uniform(-50, 50, size=shape)
        x_sh, y_sh = share(x, n, rng), share(y, n, rng)
        seed = int(rng.integers(2**32))
        want = beaver_mul(x_sh, y_sh, TrustedDealer(n, seed), truncate_result=False)  # same triple as below
        a, b, c = TrustedDealer(n, seed).triple(shape)
        d, e = np.zeros(shape, dtype=np.uint64), np.zeros(shape, dtype=np.uint64)
        for xi, yi, ai, bi in zip(x_sh, y_sh, a, b):
            d, e = d + (xi - ai), e + (yi - bi)
        opened: list[np.ndarray] = []

        def open_shares(shares, opened=opened):
            parts = [_ring(s, tr("each share you open")) for s in shares]
            require(len(parts) == n, tr("open_shares takes one share per party ({n}); got {got}").format(n=n, got=len(parts)),
                    fix=tr("Pass a list with every party's share of the value to open, e.g. [x_i - a_i for each "
                           "party i]."))
            value = np.zeros(np.shape(parts[0]), dtype=np.uint64)
            for p in parts:
                value = value + p
            opened.append(value.copy())
            return value

        got = fn([s.copy() for s in x_sh], [s.copy() for s in y_sh],
                 ([s.copy() for s in a], [s.copy() for s in b], [s.copy() for s in c]), open_shares)
        if isinstance(got, np.ndarray) and got.shape == (n, *shape):
            got = list(got)  # the shares stacked into one array, party i in row i
        if isinstance(got, np.ndarray):
            wrong_kind = tr("return the product as a list of {n} shares, one per party; got {kind} of shape {shape}")
        elif hasattr(got, "__len__"):
            wrong_kind = tr("return the product as a list of {n} shares, one per party; got {kind} of length {length}")
        else:
            wrong_kind = tr("return the product as a list of {n} shares, one per party; got {kind}")
        require(got is not None and not isinstance(got, (str, bytes, np.ndarray)) and hasattr(got, "__len__")
                and len(got) == n, wrong_kind.format(n=n, kind=type(got).__name__, shape=getattr(got, "shape", None),
                                                     length=None if isinstance(got, np.ndarray) or not
                                                     hasattr(got, "__len__") else len(got)),
                fix=tr("Return [z_0, ..., z_(n-1)], where z_i is party i's share of x * y."))
        z = [_ring(zi, tr("your product shares")) for zi in got]
        require(all(zi.shape == shape for zi in z), tr("each product share must have the inputs' shape {shape}; "
                "got {shapes}").format(shape=shape, shapes=[zi.shape for zi in z]),
                fix=tr("Work elementwise: d, e and every share have the shape of x."))
        opened = _split_openings(opened, shape)
        secrets = {"x": encode(x), "y": encode(y)}
        for name, value in secrets.items():
            require(not any(np.array_equal(o, value) for o in opened) or np.array_equal(value, d) or
                    np.array_equal(value, e),
                    tr("you opened {name} itself: every party now knows the secret {name}").format(name=name),
                    fix=tr("Open only the masked differences d = x - a and e = y - b: each party subtracts its share "
                           "of a (or b) from its share of x (or y), and open_shares adds those differences."))
        require(len(opened) > 0, tr("you never called open_shares: a value the parties compute together must be "
                                    "opened, so that the check sees what everybody learns"),
                fix=tr("Compute d and e with open_shares([x_i - a_i ...]) and open_shares([y_i - b_i ...])."))
        known = [o for o in opened if np.array_equal(o, d) or np.array_equal(o, e)]
        twice = len(known) == 2 and np.array_equal(known[0], known[1])
        require(len(opened) == 2 and len(known) == 2 and not np.array_equal(known[0], known[1]) or
                (len(opened) == 2 and np.array_equal(d, e)),
                (tr("you opened {opened} value(s); {known} of them are d = x - a or e = y - b (the same one twice). "
                    "Beaver's protocol opens exactly these two, and nothing else") if twice else
                 tr("you opened {opened} value(s); {known} of them are d = x - a or e = y - b. "
                    "Beaver's protocol opens exactly these two, and nothing else")).format(opened=len(opened),
                                                                                         known=len(known)),
                fix=tr("Open d = x - a and e = y - b once each; everything else each party computes locally from "
                       "its own shares."))
        total = np.zeros(shape, dtype=np.uint64)
        for zi in z:
            total = total + zi
        product = encode(x) * encode(y)  # the encoded product, 32 fractional bits, modulo 2^64
        if not np.array_equal(total, product):
            off = total - product
            for wrong, fix in (((n - 1) * d * e, tr("Add d * e on one party only, not on every party; then the "
                                                    "shares add up to c + d b + e a + d e = x y.")),
                               (-(d * e), tr("One party must also add d * e; then the shares add up to "
                                             "c + d b + e a + d e = x y.")),
                               (-_total(c), tr("Each party starts from its share c_i of c = a * b; then the shares add "
                                               "up to c + d b + e a + d e = x y."))):
                if np.array_equal(off, np.asarray(wrong, dtype=np.uint64)):
                    raise Hint(tr("with {n} parties your shares add up to x * y plus a multiple of a triple value, "
                                  "not to x * y").format(n=n), fix=fix)
            # Truncated, or shifted share by share: the total is the product / 2^16, up to a few units and up to
            # multiples of 2^48 (the carries that shifting each share separately loses).
            scaled = (total - (product.view(np.int64) >> np.int64(16)).view(np.uint64)).view(np.int64)
            centred = (scaled + np.int64(2**47)) % np.int64(2**48) - np.int64(2**47)
            if np.all(np.abs(centred) <= n + 1):
                raise Hint(tr("with {n} parties your shares add up to x * y divided by 2^16: you truncated (or "
                              "shifted the shares), but the exercise asks for the untruncated product").format(n=n),
                           fix=tr("Do not shift or rescale anything. The shares of x and y each carry the scale 2^16, "
                                  "so the shares of their product carry 2^32: return them as they are (beaver_mul "
                                  "with truncate_result=False)."))
            raise Hint(tr("with {n} parties your product shares do not add up to x * y (read with 32 fractional bits "
                          "they give an error up to {error:.3g})").format(
                           n=n, error=float(np.max(np.abs(off.view(np.int64).astype(np.float64) / 2**32)))),
                       fix=tr("{formula}; check which opened value multiplies which share: d goes with b, e with a. "
                              "Stay in uint64 and do not rescale any term: the product keeps the scale 2^32.").format(
                           formula=fix_formula))
        # Every share must be one party's own computation: Beaver's c_i + d b_i + e a_i, plus a term that the
        # party computes from its own shares and d, e. Since y_i - b_i and x_i - a_i are party i's shares of e
        # and d, the textbook forms c_i + d y_i + e a_i, c_i + d b_i + e x_i and c_i + d y_i + e x_i - d e (on one
        # party) are all such shares.
        de = d * e
        base = [wi - de if i == 0 else wi for i, wi in enumerate(want)]  # labkit adds d * e on party 0
        local = True
        for i, (zi, bi_, xi, yi, ai, bi) in enumerate(zip(z, base, x_sh, y_sh, a, b)):
            dy, ex = d * (yi - bi), e * (xi - ai)
            allowed = [k0 * de + k1 * dy + k2 * ex for k0 in (np.uint64(0), np.uint64(1), np.uint64(2**64 - 1))
                       for k1 in (np.uint64(0), np.uint64(1)) for k2 in (np.uint64(0), np.uint64(1))]
            local = local and any(np.array_equal(zi - bi_, w) for w in allowed)
        require(local, tr("your shares add up to x * y, but some party's share is not what it can compute from its "
                          "own shares of x, y, a, b, c and the opened d and e: the product was not computed by "
                          "Beaver's formula"),
                fix=tr("{formula}.").format(formula=fix_formula))
        same_as_labkit = same_as_labkit and all(np.array_equal(zi, wi) for zi, wi in zip(z, want))
    if same_as_labkit:
        return tr("Only d = x - a and e = y - b were opened, and each party computed its share of x * y (32 fractional "
                  "bits) from its own shares, equal to labkit's beaver_mul with the same triple.")
    return tr("Only d = x - a and e = y - b were opened, and each party computed its share of x * y (32 fractional "
              "bits) from its own shares; your shares add up to labkit's beaver_mul product with the same triple.")


# ------------------------------------------------------------------ 09.2 unmasking a round with dropouts


def _server_round(rng: np.random.Generator, n: int, d: int, dropped: tuple[int, ...]):
    """A real round (:func:`labkit.smpc.secure_aggregate_run`) and what its server holds before unmasking."""
    from labkit.smpc import secure_aggregate_run

    x = rng.normal(size=(n, d))
    run = secure_aggregate_run(x, dropped=list(dropped), rng=rng)
    collected = run.transcript.server_collected
    masked = {u: run.transcript.server_received[u].copy() for u in run.survivors}
    seed_shares = {u: list(collected[u]["seed"]) for u in run.survivors}
    key_shares = {u: list(collected[u]["key"]) for u in run.dropped}
    return x, run, masked, seed_shares, key_shares


def _candidates(run, masked, d):
    """Ring sums the server gets right, and with each typical slip: no self-mask removed, no dangling mask
    removed, dangling masks removed with the wrong sign."""
    from labkit.smpc import SECAGG_PRIME, expand_mask, pairwise_seed, shamir_reconstruct

    collected = run.transcript.server_collected
    t = run.threshold
    plain = np.zeros(d, dtype=np.uint64)
    for y in masked.values():
        plain = plain + y
    selfs = np.zeros(d, dtype=np.uint64)
    for u in run.survivors:
        selfs = selfs + expand_mask(shamir_reconstruct(collected[u]["seed"][:t], prime=SECAGG_PRIME), d)
    dangling = np.zeros(d, dtype=np.uint64)  # what the survivors' pairwise masks with dropped clients add up to
    for u in run.dropped:
        key = shamir_reconstruct(collected[u]["key"][:t], prime=SECAGG_PRIME)
        for v in run.survivors:
            mask = expand_mask(pairwise_seed(key, run.public_keys[v]), d)
            dangling = dangling + mask if u > v else dangling - mask
    return {"right": plain - selfs - dangling, "self": plain - dangling, "dangling": plain - selfs,
            "sign": plain - selfs + dangling}


def _unmask(fn) -> str:
    from labkit.smpc import decode

    rng = np.random.default_rng(29)
    rebuild = tr("by Lagrange interpolation at 0 over the field the clients shared with, "
                 "shamir_reconstruct(points, prime=smpc.SECAGG_PRIME)")
    for n, d, dropped in ((5, 6, ()), (5, 6, (1,)), (6, 4, (0, 4)), (4, 3, (3,))):
        x, run, masked, seed_shares, key_shares = _server_round(rng, n, d, dropped)
        want = x[list(run.survivors)].sum(axis=0)
        got = fn({u: y.copy() for u, y in masked.items()}, {u: list(s) for u, s in seed_shares.items()},
                 {u: list(s) for u, s in key_shares.items()}, dict(run.public_keys))
        require(got is not None, tr("return the sum of the survivors' vectors; got None"),
                fix=tr("Decode the unmasked ring sum with smpc.decode and return it."))
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Hint(tr("return one vector of {d} floats (the decoded sum); got {kind}").format(
                           d=d, kind=type(got).__name__),
                       fix=tr("Decode the unmasked ring sum with smpc.decode and return that float array.")) from None
        require(got.shape == want.shape,
                tr("return a vector of length {d} (the sum); got shape {shape}").format(d=d, shape=got.shape),
                fix=tr("Add the masked vectors entry by entry into one vector of length d."))
        if np.allclose(got * len(run.survivors), want, atol=1e-4) and len(run.survivors) > 1:
            raise Hint(tr("you returned the average of the survivors; the exercise asks for their sum"),
                       fix=tr("Do not divide: return the decoded sum."))
        right = {k: decode(v) for k, v in _candidates(run, masked, d).items()}
        setting = dict(n=n, dropped=list(dropped))
        if not np.allclose(got, want, atol=1e-4):
            if np.allclose(got, right["self"], atol=1e-4):
                raise Hint(tr("with {n} clients and dropped={dropped} the survivors' self-masks are still in your "
                              "sum").format(**setting),
                           fix=tr("For each survivor u, rebuild b_u from seed_shares[u] {rebuild}, and subtract "
                                  "smpc.expand_mask(b_u, d).").format(rebuild=rebuild))
            if dropped and np.allclose(got, right["dangling"], atol=1e-4):
                raise Hint(tr("with {n} clients and dropped={dropped} the pairwise masks that the survivors share "
                              "with the dropped clients are still in your sum").format(**setting),
                           fix=tr("For each dropped u, rebuild u's masking key from key_shares[u] {rebuild}; for "
                                  "each survivor v get s_uv = smpc.pairwise_seed(key, public_keys[v]) and remove "
                                  "smpc.expand_mask(s_uv, d) with the sign v used.").format(rebuild=rebuild))
            if dropped and np.allclose(got, right["sign"], atol=1e-4):
                raise Hint(tr("with {n} clients and dropped={dropped} you removed the dangling masks with the wrong "
                              "sign: they are now in the sum twice").format(**setting),
                           fix=tr("Survivor v added PRG(s_uv) when the dropped u > v and subtracted it when u < v; "
                                  "undo exactly that."))
            off = float(np.max(np.abs(got - want)))
            raise Hint((tr("with {n} clients and dropped={dropped} your sum is off by up to {off:.3g}: some mask is "
                           "still in it") if off > 1e3 else
                        tr("with {n} clients and dropped={dropped} your sum is off by up to {off:.3g}")).format(
                           off=off, **setting),
                       fix=tr("Add the masked vectors as uint64 (modulo 2^64), remove every mask there, and decode "
                              "once at the end; rebuild each secret {rebuild}.").format(rebuild=rebuild))
        require(np.allclose(got, run.total, atol=1e-4),
                tr("with {n} clients and dropped={dropped} your sum differs from labkit's "
                   "secure_aggregate_run").format(**setting),
                fix=tr("Decode the ring sum with smpc.decode (16 fractional bits)."))
    return tr("The server rebuilt only survivors' self-mask seeds and dropped clients' keys, and read the sum, "
              "equal to labkit's secure_aggregate_run.")


# ------------------------------------------------------------------ 09.3 find the broken variants


BROKEN = frozenset({"C", "E", "F"})


def _audit(fn) -> str:
    from labkit.smpc import secagg_variants

    rng = np.random.default_rng(49)
    for n, d in ((4, 5), (3, 7), (5, 3)):
        x1, x2 = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        views = secagg_variants(x1, x2, rng)
        got = fn(views)
        require(isinstance(got, (tuple, list)) and len(got) == 2,
                tr("return a pair (broken, difference); got {kind}").format(kind=type(got).__name__),
                fix=tr("Return a tuple: the set of names of the broken variants, and the (n, d) array of "
                       "differences."))
        broken, diff = got
        require(isinstance(broken, (set, frozenset, list, tuple)) and all(isinstance(b, str) for b in broken),
                tr("the first item must be a set of variant names such as {{'A'}}; got {got!r}").format(got=broken)[:200],
                fix=tr("Return the names as strings, e.g. {{'A', 'B'}}.").format())
        names = {b.strip().upper() for b in broken}
        unknown = names - set(views)
        require(not unknown, tr("there are no variants named {unknown}; the names are {names}").format(
                    unknown=sorted(unknown), names=sorted(views)),
                fix=tr("Use the letters A to F."))
        missed, wrong = BROKEN - names, names - BROKEN
        require(not wrong, tr("you marked {count} correct variant(s) as broken").format(count=len(wrong)),
                fix=tr("A variant is broken if the server can decode something other than the sum, or cannot decode "
                       "the sum. For each one, write y_u for both rounds: do the pairwise masks cancel in each "
                       "round's sum? are two rounds' masks the same? does the server ever hold both secrets of one "
                       "client? A mask that changes from round to round, or a sign convention used the same way on "
                       "both ends, is not a bug."))
        require(not missed, tr("you missed {count} broken variant(s)").format(count=len(missed)),
                fix=tr("Look for three things: masks that do not cancel in the sum (look at each view's sums), masks "
                       "that repeat across rounds while the unmasking reveals the self-mask seeds, and a client whose "
                       "self-mask seed and pairwise seeds both reach the server."))
        try:
            diff = np.asarray(diff, dtype=np.float64)
        except (TypeError, ValueError):
            raise Hint(tr("the second item must be an array of floats of shape ({n}, {d}); got {kind}").format(
                           n=n, d=d, kind=type(diff).__name__),
                       fix=tr("Decode the differences with smpc.decode.")) from None
        want = x2 - x1
        require(diff.shape == want.shape, tr("the difference must have shape ({n}, {d}), one row per client; got "
                                             "{shape}").format(n=n, d=d, shape=diff.shape),
                fix=tr("Stack one decoded difference per client, client 0 first."))
        if np.allclose(diff, -want, atol=1e-4):
            raise Hint(tr("you returned round 1 minus round 2"), fix=tr("Return round 2 minus round 1."))
        err = float(np.max(np.abs(diff - want)))
        require(err < 1e-4, (tr("your differences are off by up to {err:.3g}: a mask is still in them") if err > 1e3
                             else tr("your differences are off by up to {err:.3g}")).format(err=err),
                fix=tr("In the variant that reuses its pairwise masks, y_u(2) - y_u(1) keeps only the two "
                       "self-masks; the server knows both self-mask seeds (view.self_seeds), so it removes PRG(b_u) "
                       "of each round with smpc.expand_mask before it subtracts and decodes."))
    return tr("Masks that repeat across rounds give away each client's change between rounds; masks that do not "
              "cancel give no sum; both secrets of one client give its update. B is safe here because nobody "
              "dropped out: once a server rebuilds a dropped client's masking key, it can compute H(s_uv, r) for "
              "every later round and needs only that client's b_u, revealed whenever it survives, to read its "
              "update. A client whose key was rebuilt must agree on fresh keys before it sends again.")


CHECKS = {
    "09.1": Exercise(_beaver, "build", "core", 15),
    "09.2": Exercise(_unmask, "build", "stretch", 25),
    "09.3": Exercise(_audit, "reason", "core", 20),
}
