"""Threshold decryption for Paillier: no single party holds the private key.

The private key is replaced by one secret exponent d with d = 0 mod lambda and d = 1 mod n
(lambda = lcm(p - 1, q - 1)). For any ciphertext c = (1 + n)^m r^n mod n^2,

    c^d = (1 + n)^(m d) r^(n d) = 1 + m n  (mod n^2),

because r^(n lambda) = 1 mod n^2 and m d = m mod n; so m = L(c^d mod n^2) with L(x) = (x - 1) / n
(Damgard and Jurik 2001, section 4.1; Shoup 2000 for the same trick in RSA). The dealer (who made
the key) splits d into shares and forgets p, q and d; a ciphertext is decrypted by asking share
holders for *partial decryptions* c^(d_i) mod n^2 and combining them.

Two ways to split, both over the integers (the order n * lambda of the group is secret):

* ``threshold == parties`` (n-of-n, e.g. 2-of-2): *additive* shares. d_1, ..., d_(k-1) are uniform
  in [0, 2^(2 bits(n) + 128)) and d_k = d - (d_1 + ... + d_(k-1)) (possibly negative). Any k - 1
  shares are within statistical distance 2^-128 of k - 1 uniform numbers whatever d is: they say
  nothing about d. Combining: prod c^(d_i) = c^d.
* ``threshold < parties`` (t-of-n): *Shamir over the integers* (Rabin 1998; Damgard and Thorbek 2006).
  f(x) = Delta d + a_1 x + ... + a_(t-1) x^(t-1) with Delta = parties! and the a_j uniform in a range
  2^128 times wider than any shift a coalition would need: for t - 1 shares and *any* other secret
  d', the polynomial f(x) + Delta (d' - d) prod_i (i - x) / i has integer coefficients, matches the
  coalition's shares and its coefficients stay in the range except with probability about 2^-128.
  Any t shares combine with integer Lagrange coefficients Delta lambda_i: prod c_i^(Delta lambda_i) =
  c^(Delta^2 d) = 1 + Delta^2 m n, and m = L(.) (Delta^2)^-1 mod n.

Wrong partial decryptions: a random or corrupted partial makes the product differ from 1 mod n with
overwhelming probability, and :func:`combine` raises ValueError; with more than t partials it also
checks that every window of t consecutive partials gives the same plaintext, which catches one crafted
partial. With exactly t partials a *crafted* partial (c_i (1 + n)^k) is not detected: Shoup (2000)
and Damgard-Jurik (2001) add zero-knowledge proofs of correct partial decryption (with verification
keys, and safe primes in the proofs); this teaching implementation has none, so it assumes
honest-but-curious share holders. The dealer sees everything while it deals: production systems
generate the key jointly (for example Hazay et al. 2012, distributed RSA/Paillier key generation).

Randomness: shares come from :mod:`secrets` (the OS's cryptographic generator) unless ``rng`` is
passed for a reproducible demonstration, which gives no secrecy against a reader who knows the seed.

This is a **teaching implementation** (not constant-time, no proofs). Cross-checked against
python-paillier (``phe``): its ciphertexts decrypt through the shares to what its private key gives.

Introduced in ``08-homomorphic-encryption.ipynb``; used by configuration (b') of
``10-capstone-hospitals.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit.he.paillier import EncryptedNumber, PrivateKey, PublicKey, _invert, _powmod, _randbits, _rng

STATISTICAL_BITS = 128
"""Statistical hiding parameter kappa: a coalition below the threshold tells any two secrets apart with
advantage about 2^-kappa at most."""
MAX_PARTIES = 64
"""Most share holders :func:`split_key` deals to (Delta = parties! grows fast)."""


@dataclass(frozen=True, repr=False)
class KeyShare:
    """One party's share of the Paillier decryption exponent.

    Attributes:
        index: the party's number, 1 to ``parties`` (its Shamir x-coordinate).
        value: the secret share (an integer, possibly negative for the last additive share).
        public_key: the key the share decrypts for.
        parties: how many shares were dealt.
        threshold: how many shares a decryption needs.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    index: int
    value: int
    public_key: PublicKey
    parties: int
    threshold: int

    def __repr__(self) -> str:  # never shows the share
        return tr("KeyShare(party {index} of {parties}, threshold {threshold}, for a {bits}-bit n)").format(
            index=self.index, parties=self.parties, threshold=self.threshold, bits=self.public_key.bits)


@dataclass(frozen=True)
class PartialDecryption:
    """c^(d_i) mod n^2: what party ``index`` sends to the combiner for one ciphertext.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    index: int
    value: int
    parties: int
    threshold: int


def decryption_exponent(private_key: PrivateKey) -> int:
    """The d with d = 0 mod lambda and d = 1 mod n: d = lambda (lambda^-1 mod n), lambda = lcm(p-1, q-1).

    c^d mod n^2 = 1 + m n for every ciphertext c of m. Only the dealer computes it, once.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if not isinstance(private_key, PrivateKey):
        raise TypeError(f"private_key must be a labkit PrivateKey; got {type(private_key).__name__}")
    n = private_key.public_key.n
    lam = math.lcm(private_key.p - 1, private_key.q - 1)
    return lam * _invert(lam % n, n)


def _delta(parties: int) -> int:
    return math.factorial(parties)


def _bits_range(public_key: PublicKey, parties: int, threshold: int) -> int:
    """Bits of the uniform range of a random share or coefficient (see the module docstring)."""
    if threshold == parties:
        return 2 * public_key.n.bit_length() + STATISTICAL_BITS
    # |shift of a_j| <= Delta |d' - d| * prod(1 + 1/i) < Delta n^2 2^t
    return _delta(parties).bit_length() + 2 * public_key.n.bit_length() + threshold + STATISTICAL_BITS


def split_key(private_key: PrivateKey, parties: int = 2, threshold: int | None = None, *,
              rng: np.random.Generator | None = None) -> list[KeyShare]:
    """Deal the decryption exponent of ``private_key`` to ``parties`` share holders.

    Args:
        private_key: the dealer's key (a :class:`labkit.he.paillier.PrivateKey`); the dealer
            should forget it after dealing.
        parties: how many share holders (2 to :data:`MAX_PARTIES`).
        threshold: how many of them a decryption needs (2 to ``parties``); ``None`` means all
            (``parties``-of-``parties``, additive shares).
        rng: a generator for a reproducible demonstration only; by default shares come from
            :mod:`secrets` (OS entropy), fresh on every call.

    Returns:
        One :class:`KeyShare` per party, indices 1 to ``parties``.

    Raises:
        TypeError: ``private_key`` is not a labkit PrivateKey.
        ValueError: ``parties`` or ``threshold`` out of range, or a key whose primes divide parties!.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    d = decryption_exponent(private_key)
    parties = v.count("parties", parties, minimum=2, maximum=MAX_PARTIES)
    threshold = parties if threshold is None else v.count("threshold", threshold, minimum=2, maximum=parties)
    rng = _rng(rng)
    pk = private_key.public_key
    if math.gcd(_delta(parties), pk.n) != 1:
        raise ValueError(f"parties must be smaller than the key's primes (parties! must be coprime to n); got {parties}")
    bits = _bits_range(pk, parties, threshold)
    if threshold == parties:
        values = [_randbits(bits, rng) for _ in range(parties - 1)]
        values.append(d - sum(values))
    else:
        coef = [_delta(parties) * d] + [_randbits(bits, rng) for _ in range(threshold - 1)]
        values = [sum(a * i**j for j, a in enumerate(coef)) for i in range(1, parties + 1)]
    return [KeyShare(i + 1, s, pk, parties, threshold) for i, s in enumerate(values)]


def _ciphertext_int(public_key: PublicKey, ciphertext: Any) -> int:
    if isinstance(ciphertext, EncryptedNumber):
        if ciphertext.public_key != public_key:
            raise ValueError("ciphertext was encrypted under a different public key than the share's")
        return ciphertext.ciphertext
    if type(ciphertext).__name__ == "EncryptedNumber" and hasattr(ciphertext, "public_key"):  # phe's
        if getattr(ciphertext.public_key, "n", None) != public_key.n:
            raise ValueError("ciphertext was encrypted under a different public key than the share's")
        return int(ciphertext.ciphertext(be_secure=False))
    return public_key._check_ciphertext(ciphertext, "ciphertext")


def _pow_signed(c: int, e: int, mod: int) -> int:
    return _powmod(_invert(c, mod), -e, mod) if e < 0 else _powmod(c, e, mod)


def partial_decrypt(share: KeyShare, ciphertext: Any) -> PartialDecryption:
    """Party ``share.index``'s partial decryption c^(d_i) mod n^2 of one ciphertext.

    Args:
        share: this party's :class:`KeyShare`.
        ciphertext: a raw ciphertext (int in (0, n^2)), a labkit :class:`~labkit.he.paillier.EncryptedNumber`
            or a python-paillier ``EncryptedNumber`` under the share's key.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if not isinstance(share, KeyShare):
        raise TypeError(f"share must be a KeyShare; got {type(share).__name__}")
    pk = share.public_key
    c = _ciphertext_int(pk, ciphertext)
    return PartialDecryption(share.index, _pow_signed(c, share.value, pk.nsquare), share.parties, share.threshold)


def lagrange_coefficients(indices: Sequence[int], parties: int) -> list[int]:
    """Delta * lambda_i(0) for the Shamir points ``indices``: integers, with Delta = parties!.

    sum_i lambda_i(0) f(i) = f(0) for a polynomial f of degree below len(indices); multiplying by
    Delta = parties! clears every denominator (the product of at most parties - 1 differences
    divides parties!).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    parties = v.count("parties", parties, minimum=2, maximum=MAX_PARTIES)
    if isinstance(indices, (str, bytes)) or not hasattr(indices, "__len__"):
        raise TypeError(f"indices must be a list of party numbers; got {indices!r}"[:200])
    idx = [v.integer(f"indices[{k}]", i, minimum=1, maximum=parties) for k, i in enumerate(indices)]
    if len(set(idx)) != len(idx) or not idx:
        raise ValueError(f"indices must be distinct party numbers from 1 to {parties}; got {list(indices)}")
    out = []
    for i in idx:
        lam = Fraction(_delta(parties))
        for j in idx:
            if j != i:
                lam *= Fraction(j, j - i)
        assert lam.denominator == 1
        out.append(int(lam))
    return out


def _combine_subset(public_key: PublicKey, partials: Sequence[PartialDecryption]) -> int:
    n, n2 = public_key.n, public_key.nsquare
    first = partials[0]
    if first.threshold == first.parties:  # additive: c^d = prod c^(d_i)
        x, factor = 1, 1
        for p in partials:
            x = x * p.value % n2
    else:
        coefs = lagrange_coefficients([p.index for p in partials], first.parties)
        x = 1
        for p, lam in zip(partials, coefs):
            x = x * _pow_signed(p.value, lam, n2) % n2
        factor = _delta(first.parties) ** 2
    if x % n != 1:
        raise ValueError("a partial decryption is wrong: the combined value is not 1 mod n (a share holder sent a "
                         "corrupted value, or the partials belong to another key or ciphertext)")
    return (x - 1) // n * _invert(factor % n, n) % n


def combine(public_key: PublicKey, partials: Sequence[PartialDecryption]) -> int:
    """Combine partial decryptions into the plaintext m in [0, n).

    Needs every party's partial for an n-of-n split, and at least ``threshold`` partials from
    distinct parties for a t-of-n split. With more than ``threshold`` partials, every window of
    ``threshold`` consecutive partials is combined and all must agree: each partial is used, so one
    wrong partial among them is caught (``len(partials) - threshold + 1`` combinations).

    Raises:
        ValueError: too few partials, repeated or mixed-up parties, or a wrong partial (the combined
            value is not 1 mod n, or two subsets disagree). A crafted partial c^(d_i) (1 + n)^k
            is NOT detected (see the module docstring).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if not isinstance(public_key, PublicKey):
        raise TypeError(f"public_key must be a labkit PublicKey; got {type(public_key).__name__}")
    if isinstance(partials, (str, bytes, PartialDecryption)) or not hasattr(partials, "__len__"):
        raise TypeError(f"partials must be a list of PartialDecryption; got {type(partials).__name__}")
    for k, p in enumerate(partials):
        if not isinstance(p, PartialDecryption):
            raise TypeError(f"partials[{k}] must be a PartialDecryption; got {type(p).__name__}")
        public_key._check_ciphertext(p.value, f"partials[{k}].value")
    if not partials:
        raise ValueError("partials must hold at least one partial decryption; got none")
    parties, threshold = partials[0].parties, partials[0].threshold
    if any((p.parties, p.threshold) != (parties, threshold) for p in partials):
        raise ValueError("partials must come from one dealing (same parties and threshold)")
    indices = [p.index for p in partials]
    if len(set(indices)) != len(indices):
        raise ValueError(f"partials must come from distinct parties; got parties {indices}")
    if len(partials) < threshold:
        raise ValueError(f"partials must number at least threshold = {threshold} (of {parties} parties); "
                         f"got {len(partials)}: fewer shares cannot decrypt")
    if threshold == parties:
        return _combine_subset(public_key, list(partials))
    m = _combine_subset(public_key, list(partials[:threshold]))
    for start in range(1, len(partials) - threshold + 1):  # every partial lies in some window of threshold
        if _combine_subset(public_key, list(partials[start:start + threshold])) != m:
            raise ValueError("a partial decryption is wrong: two subsets of threshold partials disagree")
    return m


def threshold_decrypt(shares: Sequence[KeyShare], ciphertext: Any) -> int:
    """Partial decryptions by each of ``shares``, combined: the raw plaintext m in [0, n).

    A convenience that runs every share holder's step in one place (a simulation; in a deployment
    each holder computes its partial on its own machine).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if isinstance(shares, (str, bytes, KeyShare)) or not hasattr(shares, "__len__") or not shares:
        raise TypeError(f"shares must be a non-empty list of KeyShare; got {shares!r}"[:200])
    for k, s in enumerate(shares):
        if not isinstance(s, KeyShare):
            raise TypeError(f"shares[{k}] must be a KeyShare; got {type(s).__name__}")
    pk = shares[0].public_key
    if any(s.public_key != pk for s in shares):
        raise ValueError("shares must all belong to one public key")
    return combine(pk, [partial_decrypt(s, ciphertext) for s in shares])


def decrypt_number(shares: Sequence[KeyShare], number: Any) -> int | float:
    """Threshold-decrypt and decode an encrypted number (labkit's or python-paillier's ``EncryptedNumber``).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if not (isinstance(number, EncryptedNumber) or type(number).__name__ == "EncryptedNumber"):
        raise TypeError(f"number must be an EncryptedNumber (labkit or phe); got {type(number).__name__}")
    m = threshold_decrypt(shares, number)
    pk = shares[0].public_key
    if isinstance(number, EncryptedNumber):
        return pk.decode(m, number.exponent)
    if type(number).__name__ == "EncryptedNumber" and hasattr(number, "exponent"):  # phe: base-16 exponents
        from phe.paillier import EncodedNumber

        return EncodedNumber(number.public_key, m, number.exponent).decode()
    raise TypeError(f"number must be an EncryptedNumber (labkit or phe); got {type(number).__name__}")
