"""Paillier encryption from scratch: a teaching implementation, interoperable with python-paillier.

Paillier (1999), "Public-key cryptosystems based on composite degree residuosity classes",
EUROCRYPT, sections 3-4, with the usual choice g = n + 1 (so g^m = 1 + m*n mod n^2) and
decryption by Chinese remaindering (section 7). Keys and raw ciphertexts follow python-paillier
(``phe`` 1.5.0) exactly: ``PublicKey(n).raw_encrypt(m, r)`` gives the same integer as
``phe.paillier.PaillierPublicKey(n).raw_encrypt(m, r_value=r)``, and each side decrypts the other's
ciphertexts given the same p and q.

This is a **teaching implementation**: it is not constant-time, it keeps secrets in ordinary
Python integers, and nobody has audited it. A production system would use an implementation
reviewed by cryptographers, with constant-time arithmetic, and would not let one party hold the
whole private key (threshold decryption). python-paillier is the reference for correctness here,
not for security: its documentation ("Security Caveats: No audit") says nobody has vetted it.

Security: Paillier's semantic security (IND-CPA) rests on the decisional composite residuosity
assumption (DCRA, Paillier 1999, section 4): telling n-th residues modulo n**2 from random elements
is hard. Factoring n breaks the scheme, but nobody has shown that hardness of factoring suffices.

Randomness: primes and the encryption randomness r come from the operating system's
cryptographic generator (:mod:`secrets`) unless you pass ``rng`` (an ``np.random.Generator``),
which only a reproducible demonstration should do.

Packing (:func:`pack`, :func:`unpack`, :func:`pack_slot_bits`): many fixed-point values in one
plaintext, so an update of 31 parameters costs one ciphertext instead of 31 (BatchCrypt, Zhang et
al. 2020); notebook 08's encrypted aggregation and notebook 10's Paillier configuration
(:class:`labkit.fl.PaillierAggregation`) use it.

Introduced in ``08-homomorphic-encryption.ipynb``; packing is used in ``10-capstone-hospitals.ipynb`` too.
"""

from __future__ import annotations

import math
import numbers
import secrets
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr

try:  # gmpy2 makes modular exponentiation about 10x faster; python-paillier uses it too.
    import gmpy2 as _gmpy2

    def _powmod(base: int, exp: int, mod: int) -> int:
        return int(_gmpy2.powmod(base, exp, mod))

    def _invert(a: int, mod: int) -> int:
        return int(_gmpy2.invert(a, mod))

    HAVE_GMPY2 = True
except ImportError:  # pragma: no cover - gmpy2 is in the pinned environment

    def _powmod(base: int, exp: int, mod: int) -> int:
        return pow(base, exp, mod)

    def _invert(a: int, mod: int) -> int:
        return pow(a, -1, mod)

    HAVE_GMPY2 = False

if TYPE_CHECKING:  # pragma: no cover
    import phe

MIN_SECURE_BITS = 1024
"""Smallest modulus :func:`generate_keypair` accepts without ``insecure_demo=True``."""
DEFAULT_BITS = 2048
"""Default modulus size: about 112-bit security (NIST SP 800-57 part 1, table 2)."""
MIN_DEMO_BITS = 16
FRAC_BITS = 32
"""Fixed-point precision for floats: a float is rounded to the nearest multiple of 2**-32
(about 2.3e-10); integers are encoded exactly."""
MILLER_RABIN_ROUNDS = 40
"""Rounds for random candidates: a composite survives with probability below 4**-40."""
MAX_BITS = 16384
"""Largest modulus :func:`generate_keypair` (and the packing helpers) accept: 8192-bit primes take
minutes already; larger sizes would run for hours."""
MAX_ROUNDS = 1000
"""Most Miller-Rabin rounds :func:`is_probable_prime` accepts (4**-1000 is far below any real risk)."""
MAX_EXPONENT = 1 << 20
"""Largest fixed-point exponent (fractional bits) of an encoded number."""
MAX_FRAC_BITS = 512
"""Largest ``frac_bits`` of the float encoding (2**512 times a float stays finite for |x| < 2**511)."""

_SMALL_PRIMES = tuple(p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2)))
_SMALL_PRODUCT = math.prod(_SMALL_PRIMES)


# --------------------------------------------------------------------------------------------
# Randomness and primes
# --------------------------------------------------------------------------------------------


def _rng(rng: Any) -> np.random.Generator | None:
    """``None`` stays ``None`` (OS entropy through :mod:`secrets`); a Generator or a seed becomes a
    Generator (:func:`labkit._validate.generator`) for a reproducible demonstration."""
    return None if rng is None else v.generator(rng)


def _randbits(bits: int, rng: np.random.Generator | None) -> int:
    """A uniform integer in [0, 2**bits): OS entropy, or ``rng`` for a reproducible demo."""
    if rng is None:
        return secrets.randbits(bits)
    nbytes = (bits + 7) // 8
    return int.from_bytes(rng.bytes(nbytes), "big") >> (8 * nbytes - bits)


def _randbelow(upper: int, rng: np.random.Generator | None, *, lower: int = 0) -> int:
    """A uniform integer in [lower, upper), by rejection sampling."""
    span = upper - lower
    if rng is None:
        return lower + secrets.randbelow(span)
    bits = span.bit_length()
    while True:
        x = _randbits(bits, rng)
        if x < span:
            return lower + x


def is_probable_prime(n: int, rounds: int = MILLER_RABIN_ROUNDS, rng: np.random.Generator | None = None) -> bool:
    """Miller-Rabin probabilistic primality test (after trial division by the primes below 2000).

    A prime always passes. A composite passes one round with probability at most 1/4, so
    ``rounds`` random bases leave at most 4**-rounds (Menezes et al., Handbook of Applied
    Cryptography, 1996, section 4.2.3).

    Args:
        n: the integer to test.
        rounds: the number of random bases (at least 1).
        rng: bases from this generator (reproducible demo) instead of OS entropy.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    n = _as_int(n, "n")
    rounds = v.count("rounds", rounds, maximum=MAX_ROUNDS)
    rng = _rng(rng)
    if n < 2:
        return False
    if n in (2, 3):
        return True
    if n % 2 == 0:
        return False
    if n < 2000:
        return n in _SMALL_PRIMES
    if math.gcd(n, _SMALL_PRODUCT) != 1:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = _randbelow(n - 2, rng, lower=2)  # a in [2, n - 3]
        x = _powmod(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = _powmod(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits: int, rng: np.random.Generator | None = None) -> int:
    """A random prime of exactly ``bits`` bits whose two top bits are set.

    Setting the two top bits makes the product of two such primes exactly ``2 * bits`` bits
    long. Each candidate is a fresh random odd number (no incremental search, which would
    favour primes after long gaps).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    bits = v.count("bits", bits, minimum=8, maximum=MAX_BITS // 2)
    rng = _rng(rng)
    top = (1 << (bits - 1)) | (1 << (bits - 2)) | 1
    while True:
        candidate = _randbits(bits, rng) | top
        if is_probable_prime(candidate, rng=rng):
            return candidate


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _as_int(value: Any, name: str) -> int:
    """``value`` as a Python int (:func:`labkit._validate.integer`), but a ValueError, not a TypeError,
    for anything that is not an integer: python-paillier raises ValueError there, and so do we."""
    try:
        return v.integer(name, value)
    except TypeError as err:
        raise ValueError(str(err)) from None


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


class PublicKey:
    """A Paillier public key: the modulus n, with g = n + 1 (as python-paillier).

    Attributes:
        n: the modulus p*q.
        g: n + 1.
        nsquare: n**2, the ciphertext modulus.
        max_int: the largest magnitude the signed encoding accepts (n // 3 - 1, as phe); values
            decrypting between ``max_int`` and ``n - max_int`` signal an overflow.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    __slots__ = ("n", "g", "nsquare", "max_int")

    def __init__(self, n: int) -> None:
        n = _as_int(n, "n")
        if n < 15 or n % 2 == 0:
            raise ValueError(f"n must be an odd modulus p*q of at least 15; got {n}")
        self.n = n
        self.g = n + 1
        self.nsquare = n * n
        self.max_int = n // 3 - 1

    @property
    def bits(self) -> int:
        return self.n.bit_length()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.n == self.n

    def __hash__(self) -> int:
        return hash(("labkit.PublicKey", self.n))

    def __repr__(self) -> str:
        return tr("PublicKey({bits}-bit n)").format(bits=self.bits)

    # raw scheme -------------------------------------------------------------------------
    def random_r(self, rng: np.random.Generator | None = None) -> int:
        """A random r in [1, n) coprime to n (OS entropy unless ``rng`` is given)."""
        rng = _rng(rng)
        while True:
            r = _randbelow(self.n, rng, lower=1)
            if math.gcd(r, self.n) == 1:
                return r

    def _check_r(self, r: Any) -> int:
        r = _as_int(r, "r")
        if not 0 < r < self.n or math.gcd(r, self.n) != 1:
            raise ValueError(f"r must be in [1, n) and coprime to n (n has {self.bits} bits); got {r}")
        return r

    def _check_plaintext(self, m: Any, name: str = "plaintext") -> int:
        m = _as_int(m, name)
        if not 0 <= m < self.n:
            raise ValueError(f"{name} must be in [0, n) (a plaintext of this {self.bits}-bit key); got {m}")
        return m

    def _check_ciphertext(self, c: Any, name: str = "ciphertext") -> int:
        c = _as_int(c, name)
        if not 0 < c < self.nsquare:
            raise ValueError(f"{name} must be in (0, n**2) (a ciphertext of this {self.bits}-bit key); "
                             f"got a {c.bit_length()}-bit value")
        return c

    def raw_encrypt(self, m: int, r: int | None = None, *, rng: np.random.Generator | None = None) -> int:
        """Encrypt an integer 0 <= m < n: c = g**m * r**n mod n**2 = (1 + m*n) * r**n mod n**2.

        Same meaning as python-paillier's ``raw_encrypt(plaintext, r_value)``: the same m and r
        give the same ciphertext.

        Args:
            m: the plaintext, an integer in [0, n).
            r: the randomness, in [1, n) and coprime to n; drawn fresh (OS entropy, or ``rng``)
                when None. Never reuse an r: two ciphertexts with one r reveal m1 - m2.
            rng: a generator for a reproducible demonstration only.

        Raises:
            ValueError: m outside [0, n), a non-integer m, or an r that is out of range.
        """
        m = self._check_plaintext(m, "m")
        rng = _rng(rng)
        r = self.random_r(rng) if r is None else self._check_r(r)
        return (self.n * m + 1) * _powmod(r, self.n, self.nsquare) % self.nsquare

    def raw_add(self, c1: int, c2: int) -> int:
        """Ciphertext of m1 + m2 (mod n): the product c1 * c2 mod n**2."""
        return self._check_ciphertext(c1, "c1") * self._check_ciphertext(c2, "c2") % self.nsquare

    def raw_add_plain(self, c: int, m: int) -> int:
        """Ciphertext of m_c + m (mod n): c * g**m = c * (1 + m*n) mod n**2 (m in [0, n))."""
        m = self._check_plaintext(m, "m")
        return self._check_ciphertext(c, "c") * (1 + m * self.n) % self.nsquare

    def raw_mul(self, c: int, k: int) -> int:
        """Ciphertext of k * m_c (mod n): c**k mod n**2, for an integer scalar k (negative allowed).

        Raises:
            ValueError: if ``k`` is not an integer (encode a float first: see :class:`EncryptedNumber`).
        """
        c = self._check_ciphertext(c, "c")
        k = _as_int(k, "scalar k")
        if k < 0:  # c**(-k) = (c**-1)**|k|: a short exponent instead of n - |k|
            return _powmod(_invert(c, self.nsquare), -k, self.nsquare)
        return _powmod(c, k, self.nsquare)

    def rerandomize(self, c: int, rng: np.random.Generator | None = None) -> int:
        """The same plaintext under fresh randomness: c * r**n mod n**2."""
        return self._check_ciphertext(c, "c") * _powmod(self.random_r(rng), self.n, self.nsquare) % self.nsquare

    # encoded numbers --------------------------------------------------------------------
    def encode(self, value: Any, frac_bits: int = FRAC_BITS) -> tuple[int, int]:
        """Fixed-point encoding: ``(m, exponent)`` with m in [0, n) and value ~ signed(m) / 2**exponent.

        Integers are encoded exactly with exponent 0. Floats become round(value * 2**frac_bits)
        with exponent ``frac_bits`` (absolute error at most 2**-(frac_bits + 1)). A negative
        value v is stored as n + v; magnitudes above ``max_int`` are refused.

        Raises:
            ValueError: a non-finite float, a value whose encoding exceeds ``max_int``, or a type
                that is not a real number.
        """
        frac_bits = _as_int(frac_bits, "frac_bits")
        if not 0 <= frac_bits <= MAX_FRAC_BITS:
            raise ValueError(f"frac_bits must be an integer from 0 to {MAX_FRAC_BITS}; got {frac_bits}")
        if not v.is_real(value):
            raise ValueError(f"value must be an int or float; got {value!r}")
        if isinstance(value, numbers.Integral):
            scaled, exponent = int(value), 0
        elif isinstance(value, numbers.Real):
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"value must be finite; got {value}")
            scaled_float = math.ldexp(value, frac_bits) if abs(value) < 2.0**(1023 - frac_bits) else math.inf
            if not math.isfinite(scaled_float):
                raise ValueError(f"value {value!r} is out of range: value * 2**frac_bits overflows a float")
            scaled, exponent = round(scaled_float), frac_bits
        else:
            raise ValueError(f"value must be an int or float; got {value!r} of type {type(value).__name__}")
        if abs(scaled) > self.max_int:
            raise ValueError(
                f"value {value!r} is out of range: its encoding needs |m| <= n // 3 - 1 (about 2**{self.max_int.bit_length()}) "
                f"for this {self.bits}-bit key"
            )
        return scaled % self.n, exponent

    def decode(self, m: int, exponent: int) -> int | float:
        """Inverse of :meth:`encode`: signed(m) / 2**exponent (an int when exponent is 0).

        Raises:
            ValueError: when m lies in the overflow band (max_int, n - max_int): the result of a
                computation left the representable range.
        """
        m = _as_int(m, "m")
        exponent = _as_int(exponent, "exponent")
        if not 0 <= m < self.n:
            raise ValueError(f"m must be a decrypted plaintext in [0, n) for this {self.bits}-bit key; got {m}")
        if not 0 <= exponent <= MAX_EXPONENT:
            raise ValueError(f"exponent must be an integer from 0 to {MAX_EXPONENT}; got {exponent}")
        if m <= self.max_int:
            signed = m
        elif m >= self.n - self.max_int:
            signed = m - self.n
        else:
            raise ValueError(
                "overflow: the decrypted value is outside the signed range +-(n // 3 - 1); a sum or product "
                "grew too large for this key"
            )
        return signed if exponent == 0 else signed / 2**exponent

    def encrypt(self, value: Any, *, frac_bits: int = FRAC_BITS, rng: np.random.Generator | None = None) -> EncryptedNumber:
        """Encrypt an int (exactly) or a float (fixed point, ``frac_bits`` fractional bits), negatives included."""
        m, exponent = self.encode(value, frac_bits)
        return EncryptedNumber(self, self.raw_encrypt(m, rng=_rng(rng)), exponent)

    # python-paillier interop ------------------------------------------------------------
    @classmethod
    def from_phe(cls, key: "phe.PaillierPublicKey") -> PublicKey:
        """The same key from a ``phe.paillier.PaillierPublicKey``."""
        if type(key).__name__ != "PaillierPublicKey" or not hasattr(key, "n"):
            raise TypeError(f"key must be a phe.paillier.PaillierPublicKey; got {type(key).__name__}")
        return cls(key.n)

    def to_phe(self) -> "phe.PaillierPublicKey":
        """This key as a ``phe.paillier.PaillierPublicKey``."""
        from phe import paillier

        return paillier.PaillierPublicKey(self.n)


class PrivateKey:
    """A Paillier private key: the primes p < q, with CRT constants for fast decryption.

    Decryption (Paillier 1999, section 7): m_p = L_p(c**(p-1) mod p**2) * h_p mod p, where
    L_p(x) = (x - 1) / p and h_p = L_p(g**(p-1) mod p**2)**-1 mod p; the same mod q; then the
    CRT gives m mod n. The same formulas as python-paillier's ``PaillierPrivateKey``.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    __slots__ = ("public_key", "p", "q", "psquare", "qsquare", "p_inverse", "hp", "hq", "_psq_inv", "_q_mod", "_p_mod")

    def __init__(self, public_key: PublicKey, p: int, q: int) -> None:
        if not isinstance(public_key, PublicKey):
            raise ValueError(f"public_key must be a labkit PublicKey; got {type(public_key).__name__}")
        p, q = _as_int(p, "p"), _as_int(q, "q")
        if p == q:
            raise ValueError("p and q must be different primes (with p == q, p has no inverse mod q)")
        if p * q != public_key.n:
            raise ValueError("p * q must equal the public key's n; these primes belong to another key")
        self.public_key = public_key
        self.p, self.q = min(p, q), max(p, q)
        self.psquare, self.qsquare = self.p**2, self.q**2
        self.p_inverse = _invert(self.p, self.q)
        self.hp = self._h(self.p, self.psquare)
        self.hq = self._h(self.q, self.qsquare)
        # For CRT encryption (raw_encrypt_crt, encrypt_vector with the private key):
        # r**n = (r**q)**p mod p**2, and (x + k*p)**p = x**p mod p**2, so
        # r**n mod p**2 = (r**(q mod (p-1)) mod p)**p mod p**2: a short exponentiation mod p,
        # then a p-bit exponent mod p**2 (instead of an n-bit exponent mod n**2).
        self._psq_inv = _invert(self.psquare, self.qsquare)
        self._q_mod = self.q % (self.p - 1)
        self._p_mod = self.p % (self.q - 1)

    def _h(self, x: int, xsquare: int) -> int:
        return _invert(_l_function(_powmod(self.public_key.g, x - 1, xsquare), x), x)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrivateKey) and (other.p, other.q) == (self.p, self.q)

    def __hash__(self) -> int:
        return hash(("labkit.PrivateKey", self.p, self.q))

    def __repr__(self) -> str:  # never shows p or q
        return tr("PrivateKey(for a {bits}-bit n)").format(bits=self.public_key.bits)

    def raw_decrypt(self, c: int) -> int:
        """Decrypt a raw ciphertext to the integer m in [0, n), by the CRT (as phe's ``raw_decrypt``)."""
        c = self.public_key._check_ciphertext(c, "c")
        mp = _l_function(_powmod(c, self.p - 1, self.psquare), self.p) * self.hp % self.p
        mq = _l_function(_powmod(c, self.q - 1, self.qsquare), self.q) * self.hq % self.q
        return _crt(mp, mq, self.p, self.q, self.p_inverse)

    def raw_encrypt_crt(self, m: int, r: int | None = None, *, rng: np.random.Generator | None = None) -> int:
        """Encrypt like :meth:`PublicKey.raw_encrypt` (same m and r, same ciphertext), about 3x faster.

        r**n mod n**2 is computed by the CRT: mod p**2 as (r**(q mod (p-1)) mod p)**p, likewise
        mod q**2, then recombined. Only the key holder can do this (for example a party that
        encrypts its own data under its own key before sending it out)."""
        pk = self.public_key
        m = pk._check_plaintext(m, "m")
        rng = _rng(rng)
        r = pk.random_r(rng) if r is None else pk._check_r(r)
        return (pk.n * m + 1) * self._r_pow_n(r) % pk.nsquare

    def _r_pow_n(self, r: int) -> int:
        """r**n mod n**2 by the CRT (see ``__init__``); equal to ``pow(r, n, n**2)``."""
        rp = _powmod(_powmod(r, self._q_mod, self.p), self.p, self.psquare)
        rq = _powmod(_powmod(r, self._p_mod, self.q), self.q, self.qsquare)
        return rp + self.psquare * ((rq - rp) * self._psq_inv % self.qsquare)

    def decrypt(self, number: EncryptedNumber) -> int | float:
        """Decrypt and decode an :class:`EncryptedNumber` (an int if it holds an integer).

        Raises:
            ValueError: a number encrypted under another key, or an overflow.
        """
        if not isinstance(number, EncryptedNumber):
            raise ValueError(f"number must be an EncryptedNumber; got {type(number).__name__} (use raw_decrypt for ints)")
        if number.public_key != self.public_key:
            raise ValueError("number was encrypted under a different public key than this private key's")
        return self.public_key.decode(self.raw_decrypt(number.ciphertext), number.exponent)

    @classmethod
    def from_phe(cls, key: "phe.PaillierPrivateKey") -> PrivateKey:
        """The same key from a ``phe.paillier.PaillierPrivateKey``."""
        if type(key).__name__ != "PaillierPrivateKey" or not hasattr(key, "public_key"):
            raise TypeError(f"key must be a phe.paillier.PaillierPrivateKey; got {type(key).__name__}")
        return cls(PublicKey(key.public_key.n), key.p, key.q)

    def to_phe(self) -> "phe.PaillierPrivateKey":
        """This key as a ``phe.paillier.PaillierPrivateKey``."""
        from phe import paillier

        return paillier.PaillierPrivateKey(self.public_key.to_phe(), self.p, self.q)


def _l_function(x: int, p: int) -> int:
    return (x - 1) // p


def _crt(mp: int, mq: int, p: int, q: int, p_inverse: int) -> int:
    """The x mod p*q with x = mp mod p and x = mq mod q (Garner's formula)."""
    return mp + p * ((mq - mp) * p_inverse % q)


def generate_keypair(
    bits: int = DEFAULT_BITS, *, insecure_demo: bool = False, rng: np.random.Generator | None = None
) -> tuple[PublicKey, PrivateKey]:
    """Generate a Paillier key pair: two distinct random primes of ``bits // 2`` bits.

    Args:
        bits: the size of n in bits, even; at least 1024 (2048 or more for use beyond 2030, NIST
            SP 800-57). Smaller keys need ``insecure_demo=True``.
        insecure_demo: allow 16 <= bits < 1024 for step-by-step demonstrations with readable
            numbers. Such keys are factored in moments: never protect anything with them.
        rng: draw the primes from this generator (a reproducible demonstration); by default
            they come from OS entropy (:mod:`secrets`).

    Raises:
        ValueError: for an odd ``bits``, or a size below 1024 without ``insecure_demo``.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    bits = _as_int(bits, "bits")
    if bits > MAX_BITS:
        raise ValueError(f"bits must be at most {MAX_BITS} (larger keys take hours to generate); got {bits}")
    rng = _rng(rng)
    if bits % 2:
        raise ValueError(f"bits must be even (two primes of bits // 2 each); got {bits}")
    insecure_demo = v.flag("insecure_demo", insecure_demo)
    if bits < MIN_SECURE_BITS and not insecure_demo:
        raise ValueError(
            f"bits must be at least {MIN_SECURE_BITS} for a key that protects anything (2048 recommended); got {bits}. "
            f"For a classroom demonstration pass insecure_demo=True: such a key is INSECURE."
        )
    if bits < MIN_DEMO_BITS:
        raise ValueError(f"bits must be at least {MIN_DEMO_BITS} even for a demonstration; got {bits}")
    half = bits // 2
    while True:
        p = random_prime(half, rng)
        q = random_prime(half, rng)
        n = p * q
        if p != q and n.bit_length() == bits and math.gcd(n, (p - 1) * (q - 1)) == 1:
            break
    public = PublicKey(n)
    return public, PrivateKey(public, p, q)


# --------------------------------------------------------------------------------------------
# Encrypted numbers
# --------------------------------------------------------------------------------------------


class EncryptedNumber:
    """An encrypted int or fixed-point float: a raw ciphertext and its exponent (fractional bits).

    Supported: ``a + b`` (two ciphertexts under one key), ``a + x`` (a plaintext int or float),
    ``a * k`` and ``a / k`` (a plaintext scalar), ``-a``, ``a - b``. Multiplying two
    ciphertexts is impossible in Paillier and raises ValueError. Exponents are aligned
    automatically; multiplying by a float adds ``FRAC_BITS`` fractional bits.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    __slots__ = ("public_key", "ciphertext", "exponent")
    __array_ufunc__ = None  # numpy scalars defer to our __radd__/__rmul__

    def __init__(self, public_key: PublicKey, ciphertext: int, exponent: int = 0) -> None:
        if not isinstance(public_key, PublicKey):
            raise ValueError(f"public_key must be a labkit PublicKey; got {type(public_key).__name__}")
        self.public_key = public_key
        self.ciphertext = public_key._check_ciphertext(ciphertext)
        self.exponent = _as_int(exponent, "exponent")
        if not 0 <= self.exponent <= MAX_EXPONENT:
            raise ValueError(f"exponent must be an integer from 0 to {MAX_EXPONENT}; got {self.exponent}")

    def __repr__(self) -> str:
        return tr("EncryptedNumber(under a {bits}-bit key, {exponent} fractional bits)").format(
            bits=self.public_key.bits, exponent=self.exponent)

    def _with_exponent(self, exponent: int) -> EncryptedNumber:
        if exponent == self.exponent:
            return self
        if exponent < self.exponent:
            raise ValueError("cannot lower the exponent of a ciphertext (that needs division)")
        c = self.public_key.raw_mul(self.ciphertext, 2 ** (exponent - self.exponent))
        return EncryptedNumber(self.public_key, c, exponent)

    def _same_key(self, other: EncryptedNumber) -> None:
        if other.public_key != self.public_key:
            raise ValueError("cannot combine ciphertexts encrypted under different public keys")

    def __add__(self, other: Any) -> EncryptedNumber:
        pk = self.public_key
        if isinstance(other, EncryptedNumber):
            self._same_key(other)
            e = max(self.exponent, other.exponent)
            a, b = self._with_exponent(e), other._with_exponent(e)
            return EncryptedNumber(pk, pk.raw_add(a.ciphertext, b.ciphertext), e)
        if not v.is_real(other):
            raise ValueError(f"can add an EncryptedNumber, int or float; got {type(other).__name__}")
        a = self if isinstance(other, numbers.Integral) or self.exponent else self._with_exponent(FRAC_BITS)
        m, _ = pk.encode(int(other) * 2**a.exponent if isinstance(other, numbers.Integral) else round(float(other) * 2**a.exponent))
        return EncryptedNumber(pk, pk.raw_add_plain(a.ciphertext, m), a.exponent)

    __radd__ = __add__

    def __neg__(self) -> EncryptedNumber:
        return self * -1

    def __sub__(self, other: Any) -> EncryptedNumber:
        return self + (-other)

    def __rsub__(self, other: Any) -> EncryptedNumber:
        return (-self) + other

    def __mul__(self, other: Any) -> EncryptedNumber:
        pk = self.public_key
        if isinstance(other, EncryptedNumber):
            raise ValueError("Paillier cannot multiply two ciphertexts; multiply by a plaintext scalar instead")
        if not v.is_real(other):
            raise ValueError(f"scalar must be an int or float; got {other!r} of type {type(other).__name__}")
        k, exponent = pk.encode(other)
        signed = k if k <= pk.max_int else k - pk.n
        return EncryptedNumber(pk, pk.raw_mul(self.ciphertext, signed), self.exponent + exponent)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> EncryptedNumber:
        if not v.is_real(other) or other == 0:
            raise ValueError(f"divisor must be a non-zero int or float; got {other!r}")
        return self * (1.0 / float(other))

    def rerandomize(self, rng: np.random.Generator | None = None) -> EncryptedNumber:
        """The same value under fresh randomness (do this before sending a computed ciphertext)."""
        return EncryptedNumber(self.public_key, self.public_key.rerandomize(self.ciphertext, _rng(rng)), self.exponent)


# --------------------------------------------------------------------------------------------
# Vectors
# --------------------------------------------------------------------------------------------


def encrypt_vector(
    public_key: PublicKey,
    values: Iterable[Any],
    *,
    frac_bits: int = FRAC_BITS,
    private_key: PrivateKey | None = None,
    rng: np.random.Generator | None = None,
) -> list[EncryptedNumber]:
    """Encrypt a vector element by element (each element gets its own fresh r).

    Floats are encoded with ``frac_bits`` fractional bits; integer dtypes exactly. With
    ``private_key`` (the key holder encrypting its own data) each r**n is computed by the CRT
    with short exponents (:meth:`PrivateKey.raw_encrypt_crt`), about 3x faster than the
    public-key path; the ciphertexts are the same as the public path would give for the same r.

    Raises:
        ValueError: an element out of range, or a private key that does not match ``public_key``.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if not isinstance(public_key, PublicKey):
        raise TypeError(f"public_key must be a labkit PublicKey; got {type(public_key).__name__}")
    if private_key is not None and not isinstance(private_key, PrivateKey):
        raise TypeError(f"private_key must be a labkit PrivateKey or None; got {type(private_key).__name__}")
    if private_key is not None and private_key.public_key != public_key:
        raise ValueError("private_key does not belong to public_key")
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"values must be a 1-D sequence of numbers; got {values!r}")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"values must be one-dimensional; got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"values must be integers or floats; got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError("values must not be empty: an encrypted vector holds at least one number")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"values must hold only finite numbers; got {int(np.sum(~np.isfinite(arr)))} NaN or inf")
    public_key.encode(0.0, frac_bits)  # checks frac_bits once, naming it
    rng = _rng(rng)
    items = arr.tolist()  # Python ints/floats
    out = []
    for i, item in enumerate(items):
        try:
            m, exponent = public_key.encode(item, frac_bits)
        except ValueError as err:
            raise ValueError(f"values[{i}]: {err}") from None
        r = public_key.random_r(rng)
        if private_key is None:
            c = public_key.raw_encrypt(m, r)
        else:
            c = (public_key.n * m + 1) * private_key._r_pow_n(r) % public_key.nsquare
        out.append(EncryptedNumber(public_key, c, exponent))
    return out


def decrypt_vector(private_key: PrivateKey, numbers_: Sequence[EncryptedNumber]) -> np.ndarray:
    """Decrypt a list of :class:`EncryptedNumber` into a float64 array (int64 if all are integers).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if not isinstance(private_key, PrivateKey):
        raise TypeError(f"private_key must be a labkit PrivateKey; got {type(private_key).__name__}")
    _check_encrypted_vector("numbers_", numbers_)
    values = [private_key.decrypt(x) for x in numbers_]
    if all(isinstance(x, int) for x in values) and all(abs(x) < 2**63 for x in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=np.float64)


def add_vectors(a: Sequence[EncryptedNumber], b: Sequence[EncryptedNumber]) -> list[EncryptedNumber]:
    """Element-wise sum of two encrypted vectors of the same length.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    _check_encrypted_vector("a", a)
    _check_encrypted_vector("b", b)
    v.same_length(a=a, b=b)
    return [x + y for x, y in zip(a, b)]


def _check_encrypted_vector(name: str, vector: Any) -> None:
    """A TypeError naming ``name`` unless ``vector`` is a sequence of :class:`EncryptedNumber`."""
    if isinstance(vector, (str, bytes, EncryptedNumber)) or not hasattr(vector, "__len__"):
        raise TypeError(f"{name} must be a list of EncryptedNumber; got {type(vector).__name__}")
    for i, x in enumerate(vector):
        if not isinstance(x, EncryptedNumber):
            raise TypeError(f"{name}[{i}] must be an EncryptedNumber; got {type(x).__name__}")


def sum_vectors(vectors: Sequence[Sequence[EncryptedNumber]]) -> list[EncryptedNumber]:
    """Element-wise sum of several encrypted vectors (e.g. clients' model updates).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if isinstance(vectors, (str, bytes)) or not hasattr(vectors, "__len__"):
        raise TypeError(f"vectors must be a list of encrypted vectors; got {type(vectors).__name__}")
    if len(vectors) == 0:
        raise ValueError("vectors must hold at least one encrypted vector")
    for i, vec in enumerate(vectors):
        _check_encrypted_vector(f"vectors[{i}]", vec)
        if len(vec) != len(vectors[0]):
            raise ValueError(f"vectors must all have the same length; vectors[0] has {len(vectors[0])}, "
                             f"vectors[{i}] has {len(vec)}")
    total = list(vectors[0])
    for vec in vectors[1:]:
        total = add_vectors(total, vec)
    return total


def scale_vector(vector: Sequence[EncryptedNumber], k: Any) -> list[EncryptedNumber]:
    """Multiply every element of an encrypted vector by the plaintext scalar ``k``.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    _check_encrypted_vector("vector", vector)
    if not v.is_integer(k):
        v.real("k", k)  # a finite real number (not a bool); integers stay exact
    try:
        return [x * k for x in vector]
    except ValueError as err:
        raise ValueError(f"k={k!r} cannot be encoded: {err}") from None


# --------------------------------------------------------------------------------------------
# Packing: many fixed-point values in one plaintext
# --------------------------------------------------------------------------------------------

PACK_FRAC_BITS = 32
"""Fixed-point fractional bits of a packed slot."""
MAX_SUMMANDS = 1_000_000
"""Most packed vectors a sum may hold (parties or clients of one aggregation)."""
PACK_VALUE_BITS = 64
"""A slot value is round(x * 2^32) + 2^63, so |x| < 2^31."""


def pack_slot_bits(num_summands: int) -> int:
    """Bits per packed slot so that ``num_summands`` offset values add without carrying over.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    num_summands = v.count("num_summands", num_summands, maximum=MAX_SUMMANDS)
    return PACK_VALUE_BITS + int(num_summands - 1).bit_length()


def _slots_per_plaintext(key_bits: int, num_summands: int) -> tuple[int, int]:
    width = pack_slot_bits(num_summands)
    per = (v.count("key_bits", key_bits, maximum=MAX_BITS) - 1) // width
    if per < 1:
        raise ValueError(f"key_bits must exceed the slot width {width}; got {key_bits}")
    return width, per


def pack(values: Any, key_bits: int, num_summands: int) -> list[int]:
    """Pack a float vector into as few plaintexts of a ``key_bits``-bit key as fit (slots of :func:`pack_slot_bits`).

    Each value becomes the non-negative integer round(x * 2^32) + 2^63 in its own slot of a big
    integer; adding up to ``num_summands`` such plaintexts adds every slot without overflow into
    its neighbour. This is the batching idea of BatchCrypt (Zhang et al. 2020, USENIX ATC),
    simplified: unsigned slots with an offset that :func:`unpack` removes.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    arr = v.finite_array("values", values, ndim=1)
    if not np.all(np.abs(arr) < 2.0 ** (PACK_VALUE_BITS - 1 - PACK_FRAC_BITS)):
        raise ValueError(f"values must be finite with |x| < 2^{PACK_VALUE_BITS - 1 - PACK_FRAC_BITS}")
    width, per = _slots_per_plaintext(key_bits, num_summands)
    offset = 1 << (PACK_VALUE_BITS - 1)
    ints = [int(round(x * 2**PACK_FRAC_BITS)) + offset for x in arr.tolist()]
    out = []
    for start in range(0, len(ints), per):
        m = 0
        for j, a in enumerate(ints[start:start + per]):
            m |= a << (width * j)
        out.append(m)
    return out


def unpack(plaintexts: Sequence[int], length: int, num_summands: int, key_bits: int) -> np.ndarray:
    """Inverse of :func:`pack` for the sum of ``num_summands`` packed vectors of ``length`` values.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    width, per = _slots_per_plaintext(key_bits, num_summands)
    length = v.count("length", length)
    if isinstance(plaintexts, (str, bytes)) or not hasattr(plaintexts, "__len__"):
        raise TypeError(f"plaintexts must be a list of integers; got {type(plaintexts).__name__}")
    plaintexts = [v.integer(f"plaintexts[{i}]", m, minimum=0) for i, m in enumerate(plaintexts)]
    if len(plaintexts) != math.ceil(length / per):
        raise ValueError(f"length={length} values need {math.ceil(length / per)} plaintexts of {key_bits} bits; "
                         f"got {len(plaintexts)} plaintexts")
    mask = (1 << width) - 1
    offset = num_summands << (PACK_VALUE_BITS - 1)
    out: list[float] = []
    for m in plaintexts:
        m = int(m)
        for _ in range(min(per, length - len(out))):
            out.append(((m & mask) - offset) / 2**PACK_FRAC_BITS)
            m >>= width
    return np.asarray(out)
