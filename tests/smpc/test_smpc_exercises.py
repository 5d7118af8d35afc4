"""Exercises 09.1-09.3: each check rejects the stub, every typical wrong answer (named for its mistake),
answers that return a constant, None or one of their inputs, and accepts the solution and its variants.

Also build-then-save: the functions notebook 09 builds in its own cells (additive sharing, Shamir sharing
and reconstruction) give labkit's results on seeded property tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from exercise_proof import Catalogue, assert_hints, constant_for, returns_input
from labkit import smpc
from labkit.smpc import SECAGG_PRIME, expand_mask, pairwise_seed, shamir_reconstruct
from notebook_source import notebook_function

# ---------------------------------------------------------------- 09.1 Beaver multiplication


def beaver_multiply(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    z = [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]
    z[0] = z[0] + d * e
    return z


def beaver_last_party_adds_de(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])  # e first: the order does not matter
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    z = [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]
    z[-1] += d * e
    return z


def beaver_stacked(x_shares, y_shares, triple, open_shares):
    a, b, c = (np.stack(t) for t in triple)
    d = open_shares(np.stack(x_shares) - a)
    e = open_shares(np.stack(y_shares) - b)
    z = c + d * b + e * a
    z[0] += d * e
    return tuple(z)


def beaver_textbook_form_with_x_and_y(x_shares, y_shares, triple, open_shares):
    """z_i = c_i + e x_i + d y_i, and one party subtracts d e: the same product, other shares than labkit's."""
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    z = [ci + e * xi + d * yi for xi, yi, ci in zip(x_shares, y_shares, c)]
    z[0] = z[0] - d * e
    return z


def beaver_d_times_y_without_de(x_shares, y_shares, triple, open_shares):
    """c + d y + e a = x y: no d e term at all, each party uses its own share of y."""
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    return [ci + d * yi + e * ai for ai, yi, ci in zip(a, y_shares, c)]


def beaver_opens_d_and_e_in_one_call(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    d, e = open_shares([np.stack([x - ai, y - bi]) for x, y, ai, bi in zip(x_shares, y_shares, a, b)])
    z = [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]
    z[0] = z[0] + d * e
    return z


def beaver_returns_one_stacked_array(x_shares, y_shares, triple, open_shares):
    return np.array(beaver_multiply(x_shares, y_shares, triple, open_shares))


def truncated_each_share(x_shares, y_shares, triple, open_shares):
    """Shifted every share by 16 bits to 'rescale': the exercise asks for the untruncated product."""
    return [(zi.view(np.int64) >> 16).view(np.uint64) for zi in beaver_multiply(x_shares, y_shares, triple, open_shares)]


def rescaled_d_times_e(x_shares, y_shares, triple, open_shares):
    """Divided the public term d e by 2^16, thinking it has a scale of its own."""
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    z = [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]
    z[0] = z[0] + ((d * e).view(np.int64) >> 16).view(np.uint64)
    return z


def whole_product_on_party_zero(x_shares, y_shares, triple, open_shares):
    """Opens d and e, then computes c + d b + e a + d e from every party's shares in one place."""
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    z0 = sum(c) + d * sum(b) + e * sum(a) + d * e
    return [z0] + [np.zeros_like(z0) for _ in x_shares[1:]]


def opened_d_twice(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([x - ai for x, ai in zip(x_shares, a)])  # copied the line for d
    z = [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]
    z[0] = z[0] + d * e
    return z


def forgot_d_times_e(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    return [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]


def every_party_adds_d_times_e(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    return [ci + d * bi + e * ai + d * e for ai, bi, ci in zip(a, b, c)]


def swapped_a_and_b(x_shares, y_shares, triple, open_shares):
    a, b, c = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    z = [ci + d * ai + e * bi for ai, bi, ci in zip(a, b, c)]
    z[0] = z[0] + d * e
    return z


def forgot_c(x_shares, y_shares, triple, open_shares):
    a, b, _ = triple
    d = open_shares([x - ai for x, ai in zip(x_shares, a)])
    e = open_shares([y - bi for y, bi in zip(y_shares, b)])
    z = [d * bi + e * ai for ai, bi in zip(a, b)]
    z[0] = z[0] + d * e
    return z


def opened_x_and_y(x_shares, y_shares, triple, open_shares):
    x, y = open_shares(x_shares), open_shares(y_shares)  # the product is right, but everybody saw x and y
    return [x * y] + [np.zeros_like(x) for _ in x_shares[1:]]


def reshared_the_product_without_opening(x_shares, y_shares, triple, open_shares):
    x, y = sum(x_shares), sum(y_shares)  # summed the shares in one place: the same as opening x and y
    return [x * y] + [np.zeros_like(x) for _ in x_shares[1:]]


def opened_d_and_e_then_reshared_xy(x_shares, y_shares, triple, open_shares):
    a, b, _ = triple
    open_shares([x - ai for x, ai in zip(x_shares, a)])
    open_shares([y - bi for y, bi in zip(y_shares, b)])
    x, y = sum(x_shares), sum(y_shares)  # then used x and y anyway
    return [x * y] + [np.zeros_like(x) for _ in x_shares[1:]]


def opened_the_product_as_well(x_shares, y_shares, triple, open_shares):
    z = beaver_multiply(x_shares, y_shares, triple, open_shares)
    open_shares(z)  # "to check it": now everybody knows x * y
    return z


def decoded_to_floats(x_shares, y_shares, triple, open_shares):
    return [smpc.decode(zi) for zi in beaver_multiply(x_shares, y_shares, triple, open_shares)]


def returns_the_c_shares(x_shares, y_shares, triple, open_shares):
    return triple[2]


# ---------------------------------------------------------------- 09.2 unmasking a round with dropouts


def _ring_sum(masked, seed_shares, key_shares, public_keys, *, self_masks=True, dangling=True, sign=1,
              prime=SECAGG_PRIME):
    d = len(next(iter(masked.values())))
    total = np.zeros(d, dtype=np.uint64)
    for u, y in masked.items():
        total = total + y
        if self_masks:
            total = total - expand_mask(shamir_reconstruct(seed_shares[u], prime=prime), d)
    if dangling:
        for u, shares in key_shares.items():
            key = shamir_reconstruct(shares, prime=prime)
            for v in masked:
                mask = expand_mask(pairwise_seed(key, public_keys[v]), d)
                # survivor v added PRG(s_uv) if u > v and subtracted it if u < v: undo that
                total = total - mask if (u > v) == (sign == 1) else total + mask
    return total


def server_sum(masked, seed_shares, key_shares, public_keys):
    return smpc.decode(_ring_sum(masked, seed_shares, key_shares, public_keys))


def server_sum_as_list_of_float32(masked, seed_shares, key_shares, public_keys):
    return [np.float32(v) for v in server_sum(masked, seed_shares, key_shares, public_keys)]


def server_sum_with_notebook_lagrange(masked, seed_shares, key_shares, public_keys):
    """Own Lagrange interpolation, survivors in reverse order, masks collected first and removed at once."""
    def rebuild(points):
        secret = 0
        for j, (xj, yj) in enumerate(points):
            num = den = 1
            for m, (xm, _) in enumerate(points):
                if m != j:
                    num, den = num * xm % SECAGG_PRIME, den * (xm - xj) % SECAGG_PRIME
            secret = (secret + yj * num * pow(den, -1, SECAGG_PRIME)) % SECAGG_PRIME
        return secret

    d = len(next(iter(masked.values())))
    masks = []
    for u in sorted(masked, reverse=True):
        masks.append(np.uint64(2**64 - 1) * expand_mask(rebuild(seed_shares[u]), d))  # -PRG(b_u) modulo 2^64
    for u, shares in key_shares.items():
        key = rebuild(shares[::-1])
        for v in masked:
            mask = expand_mask(pairwise_seed(key.to_bytes(32, "big"), public_keys[v]), d)
            masks.append(np.uint64(2**64 - 1) * mask if u > v else mask)
    total = np.sum(list(masked.values()) + masks, axis=0, dtype=np.uint64)
    return total.view(np.int64) / 2.0**16


def forgot_self_masks(masked, seed_shares, key_shares, public_keys):
    return smpc.decode(_ring_sum(masked, seed_shares, key_shares, public_keys, self_masks=False))


def forgot_dropped_clients_masks(masked, seed_shares, key_shares, public_keys):
    return smpc.decode(_ring_sum(masked, seed_shares, key_shares, public_keys, dangling=False))


def wrong_sign_for_dangling_masks(masked, seed_shares, key_shares, public_keys):
    return smpc.decode(_ring_sum(masked, seed_shares, key_shares, public_keys, sign=-1))


def interpolated_over_the_default_prime(masked, seed_shares, key_shares, public_keys):
    d = len(next(iter(masked.values())))
    total = np.zeros(d, dtype=np.uint64)
    for u, y in masked.items():
        total = total + y - expand_mask(shamir_reconstruct(seed_shares[u]) % 2**256, d)  # 2^127 - 1, not SECAGG_PRIME
    return smpc.decode(total)


def first_share_as_the_secret(masked, seed_shares, key_shares, public_keys):
    d = len(next(iter(masked.values())))
    total = np.zeros(d, dtype=np.uint64)
    for u, y in masked.items():
        total = total + y - expand_mask(seed_shares[u][0][1] % 2**256, d)
    return smpc.decode(total)


def decoded_each_vector_then_summed(masked, seed_shares, key_shares, public_keys):
    d = len(next(iter(masked.values())))
    total = np.zeros(d)
    for u, y in masked.items():
        total += smpc.decode(y) - smpc.decode(expand_mask(shamir_reconstruct(seed_shares[u], prime=SECAGG_PRIME), d))
    return total


def removed_the_masks_in_floats(masked, seed_shares, key_shares, public_keys):
    """Decoded every masked vector and every mask first, then added and subtracted floats: nothing wraps around."""
    d = len(next(iter(masked.values())))
    total = np.zeros(d)
    for u, y in masked.items():
        total += smpc.decode(y) - smpc.decode(expand_mask(shamir_reconstruct(seed_shares[u], prime=SECAGG_PRIME), d))
    for u, shares in key_shares.items():
        key = shamir_reconstruct(shares, prime=SECAGG_PRIME)
        for v in masked:
            mask = smpc.decode(expand_mask(pairwise_seed(key, public_keys[v]), d))
            total = total - mask if u > v else total + mask
    return total


def agreed_the_seed_with_the_dropped_clients_own_key(masked, seed_shares, key_shares, public_keys):
    """pairwise_seed(key_u, public_keys[u]) instead of public_keys[v]: not the seed the survivor used."""
    d = len(next(iter(masked.values())))
    total = np.zeros(d, dtype=np.uint64)
    for u, y in masked.items():
        total = total + y - expand_mask(shamir_reconstruct(seed_shares[u], prime=SECAGG_PRIME), d)
    for u, shares in key_shares.items():
        key = shamir_reconstruct(shares, prime=SECAGG_PRIME)
        for v in masked:
            mask = expand_mask(pairwise_seed(key, public_keys[u]), d)
            total = total - mask if u > v else total + mask
    return smpc.decode(total)


def returned_the_average(masked, seed_shares, key_shares, public_keys):
    return server_sum(masked, seed_shares, key_shares, public_keys) / len(masked)


def returns_the_first_masked_vector(masked, seed_shares, key_shares, public_keys):
    return smpc.decode(next(iter(masked.values())))


# ---------------------------------------------------------------- 09.3 find the broken variants


def _differences(view, *, self_masks=True):
    d = view.masked[0].shape[1]
    rows = []
    for u in range(view.masked[0].shape[0]):
        y1, y2 = view.masked[0][u], view.masked[1][u]
        if self_masks:
            y1, y2 = y1 - expand_mask(view.self_seeds[0][u], d), y2 - expand_mask(view.self_seeds[1][u], d)
        rows.append(smpc.decode(y2 - y1))
    return np.array(rows)


def audit(views):
    return {"C", "E", "F"}, _differences(views["C"])


def audit_as_list_and_lowercase(views):
    view = views["C"]
    d = view.masked[0].shape[1]
    strip = [[view.masked[r][u] - expand_mask(view.self_seeds[r][u], d) for u in range(len(view.masked[r]))]
             for r in (0, 1)]
    diff = [((b - a).view(np.int64) / 2**16).tolist() for a, b in zip(*strip)]
    return ["f", "c", "e"], diff


def audit_as_frozenset_and_float32(views):
    return frozenset("CEF"), _differences(views["C"]).astype(np.float32)


def decoded_each_round_then_subtracted(views):
    """Decoded y_u - PRG(b_u) of each round, then subtracted floats: still masked, and 2^47-sized values lose bits."""
    view = views["C"]
    d = view.masked[0].shape[1]
    rows = []
    for u in range(view.masked[0].shape[0]):
        r1, r2 = (smpc.decode(view.masked[r][u] - expand_mask(view.self_seeds[r][u], d)) for r in (0, 1))
        rows.append(r2 - r1)
    return {"C", "E", "F"}, np.array(rows)


def missed_the_reused_mask(views):
    return {"E", "F"}, _differences(views["C"])


def missed_masks_that_do_not_cancel(views):
    return {"C", "F"}, _differences(views["C"])


def missed_both_secrets_revealed(views):
    return {"C", "E"}, _differences(views["C"])


def flagged_the_round_keyed_seeds(views):
    return {"B", "C", "E", "F"}, _differences(views["C"])


def flagged_the_flipped_sign_convention(views):
    return {"C", "D", "E", "F"}, _differences(views["C"])


def forgot_the_self_masks(views):
    return {"C", "E", "F"}, _differences(views["C"], self_masks=False)


def round_one_minus_round_two(views):
    return {"C", "E", "F"}, -_differences(views["C"])


def difference_from_a_correct_variant(views):
    return {"C", "E", "F"}, _differences(views["A"])


def set_without_the_difference(views):
    return {"C", "E", "F"}


CATALOGUES = {
    "09.1": Catalogue(
        solution=beaver_multiply, variants=[beaver_last_party_adds_de, beaver_stacked, beaver_textbook_form_with_x_and_y,
                                            beaver_d_times_y_without_de, beaver_opens_d_and_e_in_one_call,
                                            beaver_returns_one_stacked_array],
        mistakes=[forgot_d_times_e, every_party_adds_d_times_e, swapped_a_and_b, forgot_c, opened_x_and_y,
                  reshared_the_product_without_opening, opened_d_and_e_then_reshared_xy, opened_the_product_as_well,
                  decoded_to_floats, truncated_each_share, rescaled_d_times_e, whole_product_on_party_zero,
                  opened_d_twice],
        degenerate=[returns_input(1), returns_input(2), returns_the_c_shares]),
    "09.2": Catalogue(
        solution=server_sum, variants=[server_sum_as_list_of_float32, server_sum_with_notebook_lagrange],
        mistakes=[forgot_self_masks, forgot_dropped_clients_masks, wrong_sign_for_dangling_masks,
                  interpolated_over_the_default_prime, first_share_as_the_secret, decoded_each_vector_then_summed,
                  returned_the_average, removed_the_masks_in_floats, agreed_the_seed_with_the_dropped_clients_own_key],
        degenerate=[returns_input(1), returns_input(3), returns_the_first_masked_vector, constant_for(np.zeros(6))]),
    "09.3": Catalogue(
        solution=audit, variants=[audit_as_list_and_lowercase, audit_as_frozenset_and_float32],
        mistakes=[missed_the_reused_mask, missed_masks_that_do_not_cancel, missed_both_secrets_revealed,
                  flagged_the_round_keyed_seeds, flagged_the_flipped_sign_convention, forgot_the_self_masks,
                  round_one_minus_round_two, difference_from_a_correct_variant, decoded_each_round_then_subtracted],
        degenerate=[set_without_the_difference, constant_for(({"C", "E", "F"}, np.zeros((4, 5))))]),
}


def test_typical_mistakes_get_the_hint_that_names_them():
    assert_hints([
        ("09.1", opened_x_and_y, "you opened x itself"),
        ("09.1", every_party_adds_d_times_e, "multiple of a triple value"),
        ("09.1", opened_d_and_e_then_reshared_xy, "not computed by Beaver's formula"),
        ("09.1", opened_the_product_as_well, "you opened 3 value(s)"),
        ("09.1", reshared_the_product_without_opening, "never called open_shares"),
        ("09.1", truncated_each_share, "you truncated"),
        ("09.1", whole_product_on_party_zero, "not computed by Beaver's formula"),
        ("09.1", opened_d_twice, "the same one twice"),
        ("09.2", forgot_self_masks, "self-masks are still in your sum"),
        ("09.2", forgot_dropped_clients_masks, "dropped clients are still in your sum"),
        ("09.2", wrong_sign_for_dangling_masks, "wrong sign"),
        ("09.2", returned_the_average, "average"),
        ("09.3", missed_the_reused_mask, "you missed 1 broken variant"),
        ("09.3", flagged_the_round_keyed_seeds, "you marked 1 correct variant"),
        ("09.3", round_one_minus_round_two, "round 1 minus round 2"),
        ("09.3", forgot_the_self_masks, "a mask is still in them"),
    ])


# ---------------------------------------------------------------- what the broken variants give the server


def test_each_variant_gives_the_server_what_its_description_says():
    rng = np.random.default_rng(3)
    x1, x2 = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    views = smpc.secagg_variants(x1, x2, rng)
    for name, view in views.items():
        for r, x in enumerate((x1, x2)):
            if name == "E":  # masks that do not cancel: the decoded "sum" is noise over the ring
                assert np.max(np.abs(view.sums[r] - x.sum(axis=0))) > 1e6
            else:
                assert np.allclose(view.sums[r], x.sum(axis=0), atol=4 * 2**-16), name
    assert np.allclose(_differences(views["C"]), x2 - x1, atol=2**-15)  # reuse: the change between rounds
    for name in "ABDF":  # fresh or round-keyed masks: the same subtraction gives noise
        assert np.max(np.abs(_differences(views[name]) - (x2 - x1))) > 1e6, name
    # F: the server holds b_0 and every s_0v of round 1, so it strips client 0's masks and reads x_0
    view = views["F"]
    y0 = view.masked[0][0] - expand_mask(view.self_seeds[0][0], 6)
    for (u, v), s in view.pair_seeds[0].items():
        assert u == 0
        y0 = y0 - expand_mask(s, 6)  # client 0 < v added PRG(s_0v)
    assert np.allclose(smpc.decode(y0), x1[0], atol=2**-16)
    assert all(not v.pair_seeds[0] and not v.pair_seeds[1] for k, v in views.items() if k != "F")


def test_secagg_variants_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        smpc.secagg_variants(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="at least 2 clients"):
        smpc.secagg_variants(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"x_round2 must lie in"):
        smpc.secagg_variants(np.zeros((2, 2)), np.full((2, 2), 2.0**47))


def test_pairwise_seed_is_the_same_from_both_ends_and_rebuilds_a_dropped_clients_masks():
    run = smpc.secure_aggregate_run(np.ones((4, 3)), dropped=[2], rng=np.random.default_rng(0))
    keys = {u: int.from_bytes(c.masking_key.private_bytes_raw(), "big") for u, c in run.clients.items()}
    assert pairwise_seed(keys[0], run.public_keys[1]) == pairwise_seed(keys[1].to_bytes(32, "big"), run.public_keys[0])
    assert pairwise_seed(keys[0], run.public_keys[1]) != pairwise_seed(keys[0], run.public_keys[3])
    with pytest.raises(ValueError, match="secret_key must be 32 bytes"):
        pairwise_seed(bytes(31), run.public_keys[1])
    with pytest.raises(TypeError, match="peer_public must be 32 bytes"):
        pairwise_seed(keys[0], "key")


# ---------------------------------------------------------------- build-then-save: the notebook's own code


def _notebook(name):
    return notebook_function("09", name, {"np": np, "PRIME": smpc.PRIME})


@pytest.mark.parametrize("seed", range(6))
def test_notebook_additive_sharing_equals_labkits(seed):
    encode, reconstruct = _notebook("encode"), _notebook("reconstruct")
    share = notebook_function("09", "share", {"np": np, "encode": encode})
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    x = rng.uniform(-1e6, 1e6, size=tuple(rng.integers(1, 5, size=int(rng.integers(0, 3)))))
    assert np.array_equal(encode(x), smpc.encode(x))
    mine = share(x, n, np.random.default_rng(seed))
    theirs = smpc.share(x, n, np.random.default_rng(seed))
    assert len(mine) == n and all(a.dtype == np.uint64 and np.array_equal(a, b) for a, b in zip(mine, theirs))
    assert np.array_equal(reconstruct(theirs), smpc.reconstruct(theirs))
    assert np.allclose(reconstruct(mine), x, atol=2**-17)


@pytest.mark.parametrize("seed", range(6))
def test_notebook_shamir_equals_labkits(seed):
    rng = np.random.default_rng(seed)
    shamir_share = _notebook("shamir_share")
    shamir_reconstruct_nb = _notebook("shamir_reconstruct")
    prime = [smpc.PRIME, 257, SECAGG_PRIME][seed % 3]
    n = int(rng.integers(1, 8))
    t = int(rng.integers(1, n + 1))
    secret = int(rng.integers(0, min(prime, 2**62)))
    mine = shamir_share(secret, n, t, np.random.default_rng(seed), prime=prime)
    assert mine == smpc.shamir_share(secret, n, t, np.random.default_rng(seed), prime=prime)
    subset = [mine[i] for i in sorted(rng.choice(n, size=t, replace=False))]
    assert shamir_reconstruct_nb(subset, prime=prime) == secret == smpc.shamir_reconstruct(subset, prime=prime)
    if t > 1:  # t - 1 points: both give the same field element, not the secret (almost surely)
        assert shamir_reconstruct_nb(subset[1:], prime=prime) == smpc.shamir_reconstruct(subset[1:], prime=prime)
