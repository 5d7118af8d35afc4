"""labkit.he.bfv: exact integer sums with BFV (TenSEAL) against the plain integer sum, wrap-around, CKKS's error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.he import bfv


@pytest.fixture(scope="module")
def ctx():
    return bfv.make_context()


def test_context_parameters(ctx):
    assert (ctx.poly_modulus_degree, ctx.plain_modulus) == (4096, bfv.TUTORIAL_PLAIN_MODULUS)
    with pytest.raises(ValueError, match="plain_modulus"):
        bfv.make_context(4096, 1032191)  # not = 1 mod 8192
    with pytest.raises(ValueError, match="poly_modulus_degree"):
        bfv.make_context(1000)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(1, 64), st.integers(0, 2**31 - 1))
def test_sum_is_exact(ctx, k, length, seed):
    rng = np.random.default_rng(seed)
    bound = (ctx.plain_modulus // 2) // k  # k * bound <= t/2: no wrap-around
    vectors = [rng.integers(-bound, bound + 1, size=length) for _ in range(k)]
    got = bfv.encrypted_sum(ctx, vectors)
    assert np.array_equal(got, np.sum(vectors, axis=0))


def test_quantised_updates_sum_exactly(ctx):
    rng = np.random.default_rng(0)
    updates = rng.normal(scale=0.05, size=(4, 31))
    q = bfv.quantise(updates, 16)
    assert np.max(np.abs(q / 2**16 - updates)) <= 2.0**-17
    assert bfv.required_plain_bits(int(np.max(np.abs(q))), 4) <= ctx.plain_modulus.bit_length()
    total = bfv.encrypted_sum(ctx, list(q))
    assert np.array_equal(total, q.sum(axis=0))
    assert np.max(np.abs(bfv.dequantise(total, 16) - updates.sum(axis=0))) <= 4 * 2.0**-17


def test_wrap_around_matches_tenseal(ctx):
    t = ctx.plain_modulus
    half = t // 2
    fits = [np.array([half - 10, -half, 5]), np.array([10, 0, -5])]
    assert np.array_equal(bfv.encrypted_sum(ctx, fits), [half, -half, 0])
    over = [np.array([half, -half, 300_000]), np.array([1, -1, 300_000])]
    plain = np.sum(over, axis=0)
    got = bfv.encrypted_sum(ctx, over)
    assert np.array_equal(got, bfv.wrap(plain, t))
    assert np.array_equal(got, [half + 1 - t, t - half - 1, 600_000 - t])
    assert not np.array_equal(got, plain)


def test_required_plain_bits_boundary():
    for b, k in ((2**16, 4), (1000, 3), (1, 1)):
        bits = bfv.required_plain_bits(b, k)
        assert 2 * k * b < 2**bits and 2 * k * b >= 2 ** (bits - 1) - 1
        t = 2**bits - 1  # any odd t with that many bits and >= 2kb + 1 holds the sum
        assert np.array_equal(bfv.wrap(np.array([k * b, -k * b]), t), [k * b, -k * b])


def test_batching_prime():
    import gmpy2  # an independent primality test (GMP's)

    for n, bits in ((4096, 20), (8192, 20), (4096, 30), (16384, 40)):
        t = bfv.batching_prime(n, bits)
        assert gmpy2.is_prime(t) and t % (2 * n) == 1 and t.bit_length() == bits
        assert not any(gmpy2.is_prime(x) for x in range(t + 2 * n, 2**bits, 2 * n))
    assert bfv.batching_prime(4096, 20) == bfv.TUTORIAL_PLAIN_MODULUS


def test_ckks_sum_is_not_exact():
    from labkit.he import ckks

    cctx = ckks.make_context(8192, [60, 40, 40, 60], 40)
    import tenseal as ts

    rng = np.random.default_rng(1)
    updates = rng.normal(scale=0.05, size=(4, 31))
    total = ts.ckks_vector(cctx, updates[0].tolist())
    for u in updates[1:]:
        total = total + ts.ckks_vector(cctx, u.tolist())
    err = np.abs(np.array(total.decrypt()) - updates.sum(axis=0))
    assert 0 < np.max(err) < 1e-5


def test_bad_input(ctx):
    with pytest.raises(ValueError, match="ints"):
        bfv.encrypt(ctx, np.array([ctx.plain_modulus]))
    with pytest.raises(ValueError, match="ints"):
        bfv.encrypt(ctx, np.zeros(5000, dtype=np.int64))
    with pytest.raises(TypeError, match="ctx"):
        bfv.encrypt("ctx", np.array([1]))
    with pytest.raises(ValueError, match="values"):
        bfv.quantise([np.nan])
    with pytest.raises(TypeError, match="values"):
        bfv.wrap(np.array([1.5]), 17)
    with pytest.raises(ValueError, match="same length"):
        bfv.encrypted_sum(ctx, [np.array([1, 2]), np.array([1])])
