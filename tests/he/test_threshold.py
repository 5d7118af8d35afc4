"""labkit.he.threshold: threshold Paillier decryption, cross-checked against python-paillier.

What is tested, precisely:
- correctness: phe's ciphertexts (and their homomorphic sums) decrypt through the shares to what phe's own
  private key gives, for 2-of-2, 3-of-3, 2-of-3 and 3-of-5, with every t-subset;
- the identity c^d = 1 + m n mod n^2 for d = 0 mod lambda, d = 1 mod n;
- below the threshold: combine refuses (ValueError); a single partial L(c^(d_i)) is not the plaintext;
  forcing a Lagrange combination of t - 1 partials does not give the plaintext; and (Shamir) for every
  candidate secret d' there is an integer polynomial in the dealing range that matches the coalition's
  shares (so t - 1 shares are consistent with every key), built explicitly;
- additive shares: one share's distribution does not depend on d (two keys, KS test);
- shares are fresh at each dealing and come from `secrets` when no rng is passed;
- a random wrong partial is detected; a crafted one is not when exactly t partials are combined (documented
  limitation, tested as such), and is caught at any position when more than t are.
"""

from __future__ import annotations

import itertools
import math
import secrets
from fractions import Fraction

import numpy as np
import pytest
from phe import paillier as phe
from scipy import stats

from labkit.he import paillier as P
from labkit.he import threshold as T


@pytest.fixture(scope="module")
def keys():
    return P.generate_keypair(1024)


@pytest.fixture(scope="module")
def small():
    return P.generate_keypair(256, insecure_demo=True, rng=np.random.default_rng(3))


def test_exponent_identity(keys):
    pk, sk = keys
    d = T.decryption_exponent(sk)
    lam = math.lcm(sk.p - 1, sk.q - 1)
    assert d % lam == 0 and d % pk.n == 1
    for m in (0, 1, 12345, pk.n - 1):
        c = pk.raw_encrypt(m)
        assert pow(c, d, pk.nsquare) == (1 + m * pk.n) % pk.nsquare


@pytest.mark.parametrize("parties,threshold", [(2, None), (3, None), (3, 2), (5, 3)])
def test_phe_ciphertexts_decrypt_through_shares(keys, parties, threshold):
    pk, sk = keys
    ppk, psk = pk.to_phe(), sk.to_phe()
    shares = T.split_key(sk, parties, threshold)
    t = threshold or parties
    values = [3, -7, 2.5, -0.125, 10**20]
    cts = [ppk.encrypt(x) for x in values]
    total = cts[0] + cts[1] + cts[2] + cts[3]  # homomorphic sum made by phe
    for subset in itertools.combinations(shares, t):
        for ct in cts + [total, total * 3]:
            assert T.decrypt_number(list(subset), ct) == psk.decrypt(ct)
            assert T.threshold_decrypt(list(subset), ct) == psk.raw_decrypt(ct.ciphertext(be_secure=False))
    assert psk.decrypt(total) == pytest.approx(3 - 7 + 2.5 - 0.125)


def test_labkit_numbers_and_raw(keys):
    pk, sk = keys
    shares = T.split_key(sk, 2)
    x = pk.encrypt(1.75) + pk.encrypt(-4)
    assert T.decrypt_number(shares, x) == sk.decrypt(x) == -2.25
    c = pk.raw_encrypt(42)
    assert T.combine(pk, [T.partial_decrypt(s, c) for s in shares]) == 42


def test_two_of_two_needs_both(keys):
    pk, sk = keys
    shares = T.split_key(sk, 2)
    for m in (5, 77, 123456789):
        c = pk.raw_encrypt(m)
        for s in shares:
            part = T.partial_decrypt(s, c)
            with pytest.raises(ValueError, match="at least threshold = 2"):
                T.combine(pk, [part])
            # what one share alone yields is not the plaintext: c^(d_i) is not 1 mod n
            assert part.value % pk.n != 1
            assert (part.value - 1) // pk.n % pk.n != m


def test_below_threshold_lagrange_gives_garbage(keys):
    pk, sk = keys
    shares = T.split_key(sk, 5, 3)
    c = pk.raw_encrypt(999)
    parts = [T.partial_decrypt(s, c) for s in shares[:2]]
    with pytest.raises(ValueError, match="at least threshold = 3"):
        T.combine(pk, parts)
    # force an interpolation of 2 points as if the threshold were 2: the result is not 1 mod n
    forged = [T.PartialDecryption(p.index, p.value, 5, 2) for p in parts]
    with pytest.raises(ValueError, match="not 1 mod n"):
        T.combine(pk, forged)


def test_shamir_coalition_consistent_with_every_secret(small):
    """t - 1 shares: for any other secret d', an integer polynomial in the dealing range matches them."""
    pk, sk = small
    parties, t = 5, 3
    delta = math.factorial(parties)
    bits = T._bits_range(pk, parties, t)
    rng = np.random.default_rng(0)
    d = T.decryption_exponent(sk)
    for trial in range(20):
        shares = T.split_key(sk, parties, t, rng=rng)
        coalition = [shares[i] for i in sorted(rng.choice(parties, t - 1, replace=False))]
        # recover the dealer's polynomial from all shares (the test knows them all) ...
        xs = [s.index for s in shares[:t]]
        coef = _interpolate(xs, [s.value for s in shares[:t]])
        assert coef[0] == delta * d and all(0 <= a < 2**bits for a in coef[1:])
        # ... and shift it to a random other secret d' through the coalition's points
        d_other = secrets.randbelow(pk.n * pk.n)
        g = [Fraction(delta * (d_other - d))]
        for s in coalition:  # multiply by (i - x) / i
            i = s.index
            g = [a + b for a, b in itertools.zip_longest([x for x in g] + [0], [0] + [-x / i for x in g], fillvalue=0)]
        assert all(x.denominator == 1 for x in g)
        other = [a + int(b) for a, b in zip(coef, g)]
        assert other[0] == delta * d_other
        assert all(0 <= a < 2**bits for a in other[1:])  # fails with probability about 2^-128 per trial
        for s in coalition:
            assert sum(a * s.index**j for j, a in enumerate(other)) == s.value


def _interpolate(xs, ys):
    """Coefficients (exact, integers here) of the polynomial through the points."""
    n = len(xs)
    coef = [Fraction(0)] * n
    for i, (xi, yi) in enumerate(zip(xs, ys)):
        basis = [Fraction(1)]
        denom = Fraction(1)
        for j, xj in enumerate(xs):
            if j != i:
                basis = [a + b for a, b in itertools.zip_longest([0] + basis, [-xj * x for x in basis], fillvalue=0)]
                denom *= xi - xj
        for k in range(n):
            coef[k] += yi * basis[k] / denom
    assert all(c.denominator == 1 for c in coef)
    return [int(c) for c in coef]


def test_additive_share_independent_of_key(small):
    """Party 1's share is uniform in [0, 2^bits) whatever d: same distribution for two different keys."""
    pk, sk = small
    pk2, sk2 = P.generate_keypair(256, insecure_demo=True, rng=np.random.default_rng(4))
    assert pk.n.bit_length() == pk2.n.bit_length()
    bits = T._bits_range(pk, 2, 2)
    rng = np.random.default_rng(1)
    for idx in (0, 1):  # the random share and the difference share
        a = [T.split_key(sk, 2, rng=rng)[idx].value / 2**bits for _ in range(300)]
        b = [T.split_key(sk2, 2, rng=rng)[idx].value / 2**bits for _ in range(300)]
        assert stats.ks_2samp(a, b).pvalue > 1e-3
        assert stats.kstest(a, "uniform", args=(-1, 1) if idx else (0, 1)).pvalue > 1e-3  # d_2 = d - d_1


def test_shares_fresh_and_from_secrets(keys, monkeypatch):
    pk, sk = keys
    a, b = T.split_key(sk, 3, 2), T.split_key(sk, 3, 2)
    assert all(x.value != y.value for x, y in zip(a, b))
    calls = []
    real = secrets.randbits
    monkeypatch.setattr("labkit.he.paillier.secrets.randbits", lambda k: calls.append(k) or real(k))
    T.split_key(sk, 2)
    assert len(calls) == 1
    seeded = [T.split_key(sk, 2, rng=np.random.default_rng(5))[0].value for _ in range(2)]
    assert seeded[0] == seeded[1] and len(calls) == 1


def test_wrong_partial_detected_crafted_not(keys):
    pk, sk = keys
    for parties, t in ((2, None), (4, 2)):
        shares = T.split_key(sk, parties, t)
        c = pk.raw_encrypt(31337)
        parts = [T.partial_decrypt(s, c) for s in shares]
        bad = T.PartialDecryption(parts[0].index, pk.raw_encrypt(5), parts[0].parties, parts[0].threshold)
        with pytest.raises(ValueError, match="wrong"):
            T.combine(pk, [bad] + parts[1:])
        # crafted: multiply party 1's partial by (1 + n)^k; documented as undetected
        crafted = T.PartialDecryption(parts[0].index, parts[0].value * (1 + 7 * pk.n) % pk.nsquare,
                                      parts[0].parties, parts[0].threshold)
        got = T.combine(pk, [crafted] + parts[1:(t or parties)])
        assert got != 31337
    # with more than t partials, a crafted one is caught by the subset comparison
    shares = T.split_key(sk, 4, 2)
    parts = [T.partial_decrypt(s, c) for s in shares]
    crafted = T.PartialDecryption(1, parts[0].value * (1 + pk.n) % pk.nsquare, 4, 2)
    with pytest.raises(ValueError, match="disagree"):
        T.combine(pk, [crafted, parts[1], parts[2], parts[3]])


def test_one_crafted_partial_caught_wherever_it_sits(small):
    """More than t partials: one crafted partial is caught at every position, including the middle of
    five partials for t = 2, where the first two and the last two alone would both be honest."""
    pk, sk = small
    c = pk.raw_encrypt(31337)
    for parties, t in ((5, 2), (5, 3), (6, 2), (4, 3)):
        shares = T.split_key(sk, parties, t, rng=np.random.default_rng(parties * 10 + t))
        parts = [T.partial_decrypt(s, c) for s in shares]
        assert T.combine(pk, parts) == 31337
        for pos in range(parties):
            bad = list(parts)
            bad[pos] = T.PartialDecryption(parts[pos].index, parts[pos].value * (1 + 3 * pk.n) % pk.nsquare, parties, t)
            with pytest.raises(ValueError, match="disagree|not 1 mod n"):
                T.combine(pk, bad)


def test_lagrange_coefficients_interpolate():
    for parties, idx in ((5, [1, 3, 4]), (4, [2, 4]), (6, [1, 2, 3, 6])):
        lam = T.lagrange_coefficients(idx, parties)
        delta = math.factorial(parties)
        f = [11, 7, 3, 5][:len(idx)]
        vals = [sum(a * i**j for j, a in enumerate(f)) for i in idx]
        assert sum(l * y for l, y in zip(lam, vals)) == delta * f[0]


def test_bad_input(keys, small):
    pk, sk = keys
    with pytest.raises(ValueError, match="threshold"):
        T.split_key(sk, 3, 4)
    with pytest.raises(ValueError, match="parties"):
        T.split_key(sk, 1)
    with pytest.raises(TypeError, match="private_key"):
        T.split_key(pk, 2)
    shares = T.split_key(sk, 2)
    other = T.split_key(small[1], 2)
    with pytest.raises(ValueError, match="different public key"):
        T.partial_decrypt(shares[0], small[0].encrypt(3))
    with pytest.raises(ValueError, match="distinct"):
        p = T.partial_decrypt(shares[0], pk.raw_encrypt(1))
        T.combine(pk, [p, p])
    with pytest.raises(ValueError, match="one public key"):
        T.threshold_decrypt([shares[0], other[1]], pk.raw_encrypt(1))
    assert "value" not in repr(shares[0]) and str(shares[0].value) not in repr(shares[0])
    assert phe  # imported for the cross-checks above


def test_notebook_combine_equals_labkit(small):
    """Notebook 08 builds combine_two and decryption_exponent_by_hand; they equal labkit's on seeded keys."""
    import math as _math

    from notebook_source import notebook_function

    combine_two = notebook_function("08", "combine_two", {})
    exponent = notebook_function("08", "decryption_exponent_by_hand", {})
    rng = np.random.default_rng(11)
    for bits in (64, 256):
        pk, sk = P.generate_keypair(bits, insecure_demo=True, rng=rng)
        lam = _math.lcm(sk.p - 1, sk.q - 1)
        assert exponent(pk.n, lam) == T.decryption_exponent(sk)
        shares = T.split_key(sk, 2, rng=rng)
        for _ in range(20):
            m = int.from_bytes(rng.bytes(8), "big") % pk.n
            c = pk.raw_encrypt(m, rng=rng)
            parts = [T.partial_decrypt(s, c) for s in shares]
            assert combine_two(parts[0].value, parts[1].value, pk.n) == T.combine(pk, parts) == m
