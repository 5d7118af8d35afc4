"""Checks for the exercises in ``08-homomorphic-encryption.ipynb``.

- 08.1 ``add_plain(n, c, m)``: add a plaintext to a raw Paillier ciphertext.
- 08.2 ``encrypted_score(enc_features, weights, bias)``: a bank scores a customer's encrypted
  features with its plaintext linear model (the source document's finance case).
- 08.3 ``choose_parameters(depth, scale_bits)``: the smallest CKKS ring for a given depth.
"""

from __future__ import annotations

import numbers

import numpy as np

from labkit.exercises import Exercise, require

_KEYS: dict[int, tuple] = {}


def _demo_keys(bits: int = 256):
    """A fixed insecure demonstration key (seeded), so checks are fast and repeatable."""
    from labkit.he.paillier import generate_keypair

    if bits not in _KEYS:
        _KEYS[bits] = generate_keypair(bits, insecure_demo=True, rng=np.random.default_rng(8))
    return _KEYS[bits]


def _add_plain(fn) -> str:
    pk, sk = _demo_keys()
    rng = np.random.default_rng(1)
    for a, b in [(5, 7), (0, 0), (123456, pk.n - 1), (pk.n - 3, 10)] + [
        (int(rng.integers(0, 2**62)), int(rng.integers(0, 2**62))) for _ in range(4)
    ]:
        c = pk.raw_encrypt(a, rng=rng)
        out = fn(pk.n, c, b)
        require(isinstance(out, numbers.Integral), f"return an integer ciphertext; got {type(out).__name__}")
        out = int(out)
        require(0 < out < pk.nsquare, "reduce the result modulo n**2: a ciphertext lives in [1, n**2)")
        got = sk.raw_decrypt(out)
        require(got != (a * b) % pk.n or (a + b) % pk.n == (a * b) % pk.n,
                "your ciphertext decrypts to m * k: multiplying by g**m adds m; raising to a power multiplies")
        require(got == (a + b) % pk.n,
                f"Enc({a}) with {b} added should decrypt to {(a + b) % pk.n}, but yours decrypts to "
                f"{got if got < 2**64 else 'an unrelated large number'}. "
                "Multiply c by g**m = (1 + m*n) mod n**2; adding m to c itself does not add plaintexts.")
    return "Multiplying by g**m = 1 + m*n mod n**2 adds m under encryption, without any randomness."


def _randomness_is_one(pk, sk, number) -> bool:
    """True when ``number``'s ciphertext is exactly (1 + m*n) mod n**2: its randomness r**n is 1."""
    m = sk.raw_decrypt(number.ciphertext)
    return number.ciphertext == (1 + m * pk.n) % pk.nsquare


def _encrypted_score(fn) -> str:
    """08.2: w.x + b on Paillier ciphertexts, rerandomised before it goes back to the key owner.

    Trials 1-3 use ordinary random encryptions and check the decrypted score. The last trial
    encrypts the features with randomness r = 1 (a valid, if unusual, choice). Every homomorphic
    operation (products, powers, adding g**m) then keeps the randomness at 1, whatever the order
    of the operations or the encoding of w; only a fresh r**n, a rerandomisation, changes it.
    An answer whose ciphertext still has r**n = 1 was not rerandomised. The applicant, who holds
    the private key, could recover its randomness and from it the bank's weights.
    """
    from labkit.he.paillier import EncryptedNumber, encrypt_vector

    pk, sk = _demo_keys()
    rng = np.random.default_rng(2)
    for trial in range(4):
        x = rng.normal(size=5).round(3)
        w = rng.normal(size=5).round(3)
        b = round(float(rng.normal()), 3) if trial else 0.75
        if trial < 3:
            enc = encrypt_vector(pk, x, rng=rng)
        else:  # randomness r = 1: the input ciphertexts are (1 + m*n) mod n**2
            enc = [EncryptedNumber(pk, pk.raw_encrypt(pk.encode(v)[0], 1), pk.encode(v)[1]) for v in x.tolist()]
        out = fn(list(enc), w.copy(), b)
        require(out is not None, "return the encrypted score (an EncryptedNumber); your function returned None")
        require(isinstance(out, EncryptedNumber),
                f"return one EncryptedNumber (the bank never sees the score in clear); got {type(out).__name__}")
        require(out.public_key == pk, "return a ciphertext under the applicant's key (the key of enc_features)")
        require(all(out is not e for e in enc), "you returned one of the applicant's own ciphertexts unchanged")
        got = sk.decrypt(out)
        expected = float(x @ w + b)
        require(abs(got - (expected - b)) > 1e-6 or abs(b) < 1e-6, "you forgot to add the bias b")
        require(abs(got - expected) < 1e-6, f"the score should decrypt to {expected:.4f}; yours gives {got:.4f}")
        if trial == 3:
            require(not _randomness_is_one(pk, sk, out),
                    "your score is the deterministic homomorphic combination of the applicant's ciphertexts: it "
                    "was never rerandomised. The applicant holds the key, can recover its randomness and from it "
                    "your weights w. Return score.rerandomize() (multiply in a fresh r**n).")
    return ("The bank computed w.x + b on ciphertexts and rerandomised the result: it learns nothing about x, "
            "and the applicant learns the score and nothing more from its ciphertext.")


def _min_degree(depth: int, scale_bits: int) -> int:
    """Smallest N with room for [s + 10, s x depth, s + 10]: 10 integer bits and a special prime as
    large as the largest data prime (the cheapest choice without warnings)."""
    from labkit.he.ckks import MAX_COEFF_BITS

    need = 2 * min(60, scale_bits + 10) + depth * scale_bits
    return min(n for n, limit in MAX_COEFF_BITS.items() if limit >= need and n >= 4096)


def _choose_parameters(fn) -> str:
    from labkit.he.ckks import check_params

    for depth, s in [(1, 30), (2, 40), (3, 40), (5, 30), (8, 40), (2, 20)]:
        out = fn(depth, s)
        require(isinstance(out, tuple) and len(out) == 2, "return a pair (poly_modulus_degree, coeff_mod_bit_sizes)")
        n, bits = out
        report = check_params(n, list(bits), s)
        require(report.valid, f"for depth {depth} and scale 2^{s} your choice cannot work: {' '.join(report.problems)}")
        require(report.correct_depth >= depth,
                f"for depth {depth} and scale 2^{s}, {list(bits)} allows only {report.correct_depth} correct "
                f"multiplication(s): you need {depth} middle primes of {s} bits")
        require(not report.warnings, f"for depth {depth} and scale 2^{s}: {' '.join(report.warnings)}")
        best = _min_degree(depth, s)
        require(n <= best, f"for depth {depth} and scale 2^{s}, N = {best} is enough; N = {n} is slower and bigger")
    return "The depth you need fixes the modulus, and the modulus fixes the smallest secure N."


CHECKS = {"08.1": Exercise(_add_plain, "build", "warm-up", 10), "08.2": Exercise(_encrypted_score, "build", "core", 15),
          "08.3": Exercise(_choose_parameters, "reason", "core", 10)}
