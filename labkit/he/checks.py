"""Checks for the exercises in ``08-homomorphic-encryption.ipynb``.

- 08.1 ``paillier_from_primes(p, q)``: the learner builds Paillier (key, encryption, decryption,
  addition) from two primes; the check holds it against python-paillier in both directions.
- 08.2 ``find_bug(n, encrypt, decrypt, add)``: the learner audits a Paillier implementation and
  names the property it breaks (``"ok"``, ``"roundtrip"``, ``"add"`` or ``"linkable"``); the
  check runs it on correct schemes written differently and on broken ones the notebook never shows.
- 08.3 ``encrypted_score(enc_features, weights, bias)``: a bank scores a customer's encrypted
  features with its plaintext linear model (the source document's finance case).
- 08.4 ``choose_parameters(depth, scale_bits)``: the smallest CKKS ring for a given depth.

The Paillier checks use tiny keys (n of 32 to 256 bits, made from seeded primes) so that they run in
milliseconds; such keys are factored at once and protect nothing. Real keys have n of 2048 bits or
more (about 112-bit security, NIST SP 800-57 part 1, table 2).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from labkit.exercises import Exercise, Hint, require
from labkit.i18n import N_, tr

_KEYS: dict[int, tuple] = {}


def _demo_keys(bits: int = 256):
    """A fixed insecure demonstration key (seeded), so checks are fast and repeatable."""
    from labkit.he.paillier import generate_keypair

    if bits not in _KEYS:
        _KEYS[bits] = generate_keypair(bits, insecure_demo=True, rng=np.random.default_rng(8))
    return _KEYS[bits]


# ------------------------------------------------------------------------- 08.1 Paillier from p and q

_TINY_BITS = (32, 64, 128, 256)  # sizes of n in the checks: fast, and insecure (real n: 2048 bits or more)


def _phe_keys(pk, sk):
    from phe import paillier as phe

    public = phe.PaillierPublicKey(pk.n)
    return public, phe.PaillierPrivateKey(public, sk.p, sk.q)


def _phe_decrypt(phe_pk, phe_sk, c: int) -> int:
    """python-paillier's signed decryption of a raw ciphertext (integers: exponent 0)."""
    from phe import paillier as phe

    return phe_sk.decrypt(phe.EncryptedNumber(phe_pk, int(c), 0))


def _signed_messages(n: int, rng: np.random.Generator, count: int) -> list[int]:
    """0, +-1, the largest magnitudes python-paillier encodes (n // 3 - 1), and random signed values."""
    max_int = n // 3 - 1
    out = [0, 1, -1, max_int, -max_int]
    for _ in range(count):
        m = int.from_bytes(rng.bytes((max_int.bit_length() + 7) // 8), "big") % max_int
        out.append(m if rng.random() < 0.5 else -m)
    return out


def _ciphertext(c, n: int, what: str) -> int:
    require(c is not None, tr("{what} returned None; return the ciphertext, an integer").format(what=what))
    require(isinstance(c, numbers.Integral) and not isinstance(c, bool),
            tr("{what} should return the ciphertext as an integer; got {kind}").format(what=what, kind=type(c).__name__),
            fix=tr("compute with Python ints: (1 + m*n) * pow(r, n, n*n) % (n*n)"))
    c = int(c)
    require(0 < c < n * n, tr("{what} returned a ciphertext outside [1, n**2): a {bits}-bit number for a "
                              "{n2_bits}-bit n**2").format(what=what, bits=c.bit_length(), n2_bits=(n * n).bit_length()),
            fix=tr("reduce every ciphertext modulo n**2 (not modulo n)"))
    return c


def _diagnose_encrypt(c: int, m: int, r: int, want: int, n: int) -> None:
    n2 = n * n
    fix = tr("with g = n + 1, g**m = 1 + m*n (mod n**2), so c = (1 + m*n) * r**n mod n**2; Python's % makes a "
             "negative m wrap to n + m by itself")
    require(c != want % n or want < n, tr("your ciphertext is reduced modulo n; ciphertexts live modulo n**2"), fix=fix)
    require(c != (1 + m * n) * r % n2, tr("you multiplied by r instead of r**n: only an n-th power r**n hides m "
                                          "(raising to lambda turns every r**n, and only an n-th power, into 1)"), fix=fix)
    require(c != pow(2, m % n, n2) * pow(r, n, n2) % n2,
            tr("you chose g = 2: it can work as a Paillier generator, but it is not python-paillier's, so its keys "
               "cannot read your ciphertexts"), fix=tr("use g = n + 1, as python-paillier does: g**m = 1 + m*n mod n**2"))
    require(False, tr("Enc({m}) with randomness r = {r} should be the ciphertext python-paillier gives, "
                      "{want}; yours is {c}").format(m=m, r=r, want=want, c=c), fix=fix)


def _diagnose_decrypt(got, m: int, n: int, lam: int, what: str) -> None:
    fix = tr("decrypt with lam = lcm(p-1, q-1), L(x) = (x - 1) // n and mu = L(g**lam mod n**2)**-1 mod n: "
             "m = L(c**lam mod n**2) * mu mod n; then read m >= n - max_int (max_int = n // 3 - 1) as the negative "
             "number m - n, as python-paillier does")
    require(isinstance(got, numbers.Integral) and not isinstance(got, bool),
            tr("decrypt should return the message as an integer; got {kind}").format(kind=type(got).__name__), fix=fix)
    got = int(got)
    require(not (m < 0 and got == m % n),
            tr("decrypt returned {got} for the negative message {m}: it is stored as n + m, so read a large decrypted "
               "value as negative").format(got=got, m=m),
            fix=tr("return m - n when m >= n - max_int, with max_int = n // 3 - 1, as "
                   "python-paillier does (it refuses magnitudes above max_int)"))
    require(got != lam * m % n or lam * m % n == m % n,
            tr("your decryption gives lam * m: you forgot to multiply by mu = L(g**lam mod n**2)**-1 mod n"), fix=fix)
    require(got == m, tr("{what}: expected {m}, got {got}").format(what=what, m=m, got=got), fix=fix)


def _paillier_from_primes(fn) -> str:
    """08.1: the learner's Paillier against python-paillier, in both directions, on four tiny keys."""
    for k, bits in enumerate(_TINY_BITS):
        pk, sk = _demo_keys(bits)
        n, n2 = pk.n, pk.nsquare
        phe_pk, phe_sk = _phe_keys(pk, sk)
        lam = math.lcm(sk.p - 1, sk.q - 1)
        rng = np.random.default_rng(80 + k)
        p, q = (sk.q, sk.p) if k % 2 else (sk.p, sk.q)  # either order
        out = fn(p, q)
        if isinstance(out, (tuple, list)):
            require(len(out) == 4, tr("return the tuple (n, encrypt, decrypt, add); got {kind} of length {length}").format(
                kind=type(out).__name__, length=len(out)),
                fix=tr("end paillier_from_primes with: return n, encrypt, decrypt, add"))
        require(isinstance(out, (tuple, list)),
                tr("return the tuple (n, encrypt, decrypt, add); got {kind}").format(kind=type(out).__name__),
                fix=tr("end paillier_from_primes with: return n, encrypt, decrypt, add"))
        n_got, encrypt, decrypt, add = out
        require(isinstance(n_got, numbers.Integral) and not isinstance(n_got, bool) and int(n_got) == n,
                tr("the first element should be the public modulus n = p * q = {n}; got {got!r}").format(
                    n=n, got=n_got)[:300])
        require(all(callable(f) for f in (encrypt, decrypt, add)),
                tr("encrypt, decrypt and add must be functions (define them inside paillier_from_primes)"))
        messages = _signed_messages(n, rng, 6)
        # 1. Your encryption with a given r is python-paillier's, integer for integer.
        for m in messages:
            r = pk.random_r(rng)
            want = phe_pk.raw_encrypt(m % n, r_value=r)
            c = _ciphertext(encrypt(m, r), n, f"encrypt({m}, r)")
            if c != want:
                require(_ciphertext(encrypt(m, r), n, f"encrypt({m}, r)") == c,
                        tr("encrypt({m}, r) gave two different ciphertexts for the same r: it ignores the r it is "
                           "given").format(m=m),
                        fix=tr("use r when the caller passes one; draw a fresh r only when r is None"))
                _diagnose_encrypt(c, m, r, want, n)
        # 2. Without r, encryption draws a fresh one: python-paillier decrypts it, and equal messages differ.
        for m in messages:
            c = _ciphertext(encrypt(m), n, f"encrypt({m})")
            got = _phe_decrypt(phe_pk, phe_sk, c)
            require(got == m, tr("python-paillier decrypts your fresh encryption of {m} to {got}").format(m=m, got=got),
                    fix=tr("when r is None, draw r uniformly from [1, n) with gcd(r, n) = 1 (secrets.randbelow), "
                           "then encrypt as with a given r"))
            again = _ciphertext(encrypt(m), n, f"encrypt({m})")
            require(again != c, tr("encrypting {m} twice gave the same ciphertext: anyone who sees two ciphertexts "
                                   "can tell whether they hide the same message (and r = 1 even reveals "
                                   "m = (c - 1) / n)").format(m=m),
                    fix=tr("draw a fresh random r on every call to encrypt(m) without r; never reuse one"))
        # 3. Your decryption reads python-paillier's ciphertexts.
        for m in messages:
            c = phe_pk.raw_encrypt(m % n, r_value=pk.random_r(rng))
            _diagnose_decrypt(decrypt(c), m, n, lam, tr("decrypt of python-paillier's encryption of {m}").format(m=m))
        # 4. add(c1, c2) is a ciphertext of the sum, for python-paillier's ciphertexts and your own.
        half = messages[5:] + [0, -1, 1]
        for a, b in zip(half, reversed(half)):
            a, b = a // 2, b // 2
            c1, c2 = (phe_pk.raw_encrypt(x % n, r_value=pk.random_r(rng)) for x in (a, b))
            c = _ciphertext(add(c1, c2), n, "add(c1, c2)")
            got = _phe_decrypt(phe_pk, phe_sk, c)
            fix = tr("Enc(a) * Enc(b) = g**(a+b) * (r1*r2)**n: multiply the ciphertexts modulo n**2")
            require(not (c == (c1 + c2) % n2 and got != a + b),
                    tr("you added the ciphertexts: adding plaintexts means multiplying ciphertexts"), fix=fix)
            require(got != a - b or a - b == a + b, tr("your add gives a ciphertext of a - b"), fix=fix)
            require(got == a + b, tr("add(Enc({a}), Enc({b})) decrypts with python-paillier to {got}, not {sum}").format(
                a=a, b=b, got=got, sum=a + b), fix=fix)
            mine = _ciphertext(add(encrypt(a), encrypt(b)), n, "add(encrypt(a), encrypt(b))")
            _diagnose_decrypt(decrypt(mine), a + b, n, lam, f"decrypt(add(encrypt({a}), encrypt({b})))")
    return tr("Your Paillier and python-paillier read each other's ciphertexts on four keys (n of 32 to 256 bits, "
              "tiny for speed; real keys have 2048 bits or more).")


# ------------------------------------------------------------------------- 08.2 find the bug

FIND_BUG_LABELS = ("ok", "roundtrip", "add", "linkable")


def _suspect(p: int, q: int, rng: np.random.Generator, *, g_offset: int = 1, phi: bool = False, crt: bool = False,
             use_mu: bool = True, final_mod: bool = True, reading: str = "half", r_power: str = "n",
             randomness: str = "fresh", add: str = "multiply", wrong_g: bool = False):
    """A Paillier implementation with the interface of exercise 08.1, (n, encrypt, decrypt, add), correct
    unless one keyword switches a mistake on. Its fresh randomness comes from ``rng`` (repeatable).

    ``reading`` says how decryption reads the residue m in [0, n) as a signed number: "half" (above n // 2 is
    m - n), "phe" (python-paillier's: up to max_int = n // 3 - 1 positive, from n - max_int negative, an
    OverflowError between), "unsigned" (a bug: negatives come back as n + m) or "float" (a bug: the signed
    value passes through a float64 and loses its low bits once |m| exceeds 2**53)."""
    from labkit.he.paillier import PrivateKey, PublicKey

    n, n2 = p * q, (p * q) ** 2
    g = n if wrong_g else 1 + g_offset * n  # 1 + k*n with gcd(k, n) = 1 is a valid generator
    lam = (p - 1) * (q - 1) if phi else math.lcm(p - 1, q - 1)
    mu = pow((pow(g, lam, n2) - 1) // n, -1, n) if not wrong_g else pow(lam, -1, n)
    labkit_sk = PrivateKey(PublicKey(n), p, q)
    fixed_r = PublicKey(n).random_r(rng)

    def draw_r(m: int) -> int:
        if randomness == "reused":
            return fixed_r
        if randomness == "one":
            return 1
        if randomness == "from_message":
            return pow(5, m % n + 1, n)
        return PublicKey(n).random_r(rng)

    def encrypt(m, r=None):
        r = draw_r(m) if r is None else r
        return pow(g, m % n, n2) * pow(r, n if r_power == "n" else m % n, n2) % n2

    def decrypt(c):
        if crt:
            m = labkit_sk.raw_decrypt(c)
        else:
            m = (pow(c, lam, n2) - 1) // n * (mu if use_mu else 1)
            m = m % n if final_mod else m
        max_int = n // 3 - 1
        if reading == "unsigned":
            return m
        if reading == "phe":
            if max_int < m < n - max_int:
                raise OverflowError("overflow detected in decrypted number: it lies outside +-(n // 3 - 1), "
                                    "python-paillier's max_int; keep every message and every sum in that range")
            return m - n if m >= n - max_int else m
        signed_m = m - n if m > n // 2 else m
        return int(float(signed_m)) if reading == "float" else signed_m

    def add_(c1, c2):
        if add == "sum":
            return (c1 + c2) % n2
        if add == "mod_n":
            return c1 * c2 % n
        if add == "divide":
            return c1 * pow(c2, -1, n2) % n2
        return c1 * c2 % n2

    return n, encrypt, decrypt, add_


# (name, label, switches, what to test to catch it). The notebook shows four of the broken ones; the rest
# are hidden, so only an audit that tests the properties (not the four listed bugs) passes.
_SUSPECTS = [
    ("textbook", "ok", {}, N_("an implementation that follows the formulas exactly is correct")),
    ("phi instead of lambda", "ok", {"phi": True},
     N_("decrypting with phi = (p-1)(q-1) instead of lambda = lcm(p-1, q-1) is correct (mu absorbs the difference); "
        "judge a scheme by what it does, not by how it looks")),
    ("decryption by the CRT", "ok", {"crt": True}, N_("decryption by the Chinese remainder theorem is correct")),
    ("g = 1 + 2n", "ok", {"g_offset": 2},
     N_("g = 1 + 2n is another valid generator: decryption and addition still work")),
    ("python-paillier's reading", "ok", {"reading": "phe"},
     N_("this scheme reads decryptions exactly as python-paillier does (a value between max_int and n - max_int is "
        "an overflow and raises): keep every message, and every sum, within +-(n // 3 - 1)")),
    ("lambda without mu", "roundtrip", {"use_mu": False},
     N_("decrypt encryptions of several random messages and compare with what you encrypted")),
    ("g = n", "roundtrip", {"wrong_g": True},
     N_("decrypt encryptions of several random messages (not only 0) and compare")),
    ("r**m instead of r**n", "roundtrip", {"r_power": "m"},
     N_("decrypt encryptions of several random messages (not only 0 and 1) and compare")),
    ("no final mod n", "roundtrip", {"final_mod": False},
     N_("decrypt encryptions of several random messages (not only 0) and compare")),
    ("unsigned decryption", "roundtrip", {"reading": "unsigned"},
     N_("test negative messages too: decrypt(encrypt(-5)) must give -5")),
    ("decryption through float64", "roundtrip", {"reading": "float"},
     N_("test messages across the whole range, as large as n // 3 - 1 in magnitude, not only small ones: this "
        "scheme is exact for small numbers only")),
    ("ciphertexts added", "add", {"add": "sum"},
     N_("decrypt add(encrypt(a), encrypt(b)) for random a and b and compare with a + b")),
    ("product mod n", "add", {"add": "mod_n"},
     N_("decrypt add(encrypt(a), encrypt(b)) for random a and b and compare with a + b")),
    ("divides instead of multiplying", "add", {"add": "divide"},
     N_("test add with a non-zero second operand: add(encrypt(a), encrypt(b)) with b != 0 must decrypt to a + b")),
    ("r reused", "linkable", {"randomness": "reused"},
     N_("encrypt the same message twice: the two ciphertexts must differ")),
    ("r = 1", "linkable", {"randomness": "one"},
     N_("encrypt the same message twice: the two ciphertexts must differ")),
    ("r derived from the message", "linkable", {"randomness": "from_message"},
     N_("encrypt the SAME message twice (different messages differ even here): the two ciphertexts must differ")),
]


# What to do when an audit flags a property the scheme does not break.
_FALSE_ALARM = {
    "roundtrip": N_("this scheme decrypts every signed m with |m| <= n // 3 - 1 correctly: test only messages in that "
                    "range (python-paillier refuses larger ones) and compare decrypt(encrypt(m)) with m"),
    "add": N_("this scheme adds correctly: choose a and b so that a + b also stays within +-(n // 3 - 1), for example "
              "half of two messages; a larger sum overflows even in a correct scheme"),
    "linkable": N_("this scheme draws a fresh r on every call: compare two calls of encrypt(m) WITHOUT an r; given the "
                   "same r, every correct scheme returns the same ciphertext"),
}


def _find_bug(fn) -> str:
    """08.2: the learner's audit names the broken property of each suspect, on two tiny keys."""
    for k, bits in enumerate((64, 128)):
        _, sk = _demo_keys(bits)
        rng = np.random.default_rng(82 + k)
        for i in rng.permutation(len(_SUSPECTS)):
            name, want, switches, fix = _SUSPECTS[i]
            n, encrypt, decrypt, add = _suspect(sk.p, sk.q, rng, **switches)
            got = fn(n, encrypt, decrypt, add)
            require(isinstance(got, str) and got in FIND_BUG_LABELS,
                    tr("return one of {labels}; got {got!r}").format(
                        labels=", ".join(repr(x) for x in FIND_BUG_LABELS), got=got)[:300])
            if got != want:
                fix = tr(fix)
                order = FIND_BUG_LABELS.index
                if got != "ok" and (want == "ok" or order(got) < order(want)):  # flagged what works
                    fix = (tr("{first}; {second}").format(first=tr(_FALSE_ALARM[got]), second=fix) if want == "ok"
                           else tr(_FALSE_ALARM[got]))
                if want == "ok":
                    raise Hint(tr("for a correct scheme ({bits}-bit n) your audit answered {got!r}").format(
                        bits=bits, got=got), fix)
                raise Hint(tr("for a scheme whose bug is {want!r} ({bits}-bit n) your audit answered {got!r}").format(
                    want=want, bits=bits, got=got), fix)
    return tr("Your audit named every suspect's bug, among them ones the notebook never showed you, and passed the "
              "correct schemes written differently.")


def _randomness_is_one(pk, sk, number) -> bool:
    """True when ``number``'s ciphertext is exactly (1 + m*n) mod n**2: its randomness r**n is 1."""
    m = sk.raw_decrypt(number.ciphertext)
    return number.ciphertext == (1 + m * pk.n) % pk.nsquare


def _encrypted_score(fn) -> str:
    """08.3: w.x + b on Paillier ciphertexts, rerandomised before it goes back to the key owner.

    Trials 1-3 use ordinary random encryptions and check the decrypted score. Trial 4 encrypts
    the features with randomness r = 1 (a valid, if unusual, choice). Every homomorphic operation
    (products, powers, adding g**m) then keeps the randomness at 1, whatever the order of the
    operations or the encoding of w; only a fresh r**n, a rerandomisation, changes it. An answer
    whose ciphertext still has r**n = 1 was not rerandomised. The applicant, who holds the private
    key, could recover its randomness and from it the bank's weights. Trial 5 repeats this with all
    weights zero (a model that scores by its bias alone): a zero weight erases the randomness of its
    input, so rerandomising the inputs instead of the result leaves r**n = 1 there.
    """
    from labkit.he.paillier import EncryptedNumber, encrypt_vector

    pk, sk = _demo_keys()
    rng = np.random.default_rng(2)
    for trial in range(5):
        x = rng.normal(size=5).round(3)
        w = rng.normal(size=5).round(3) if trial < 4 else np.zeros(5)
        b = round(float(rng.normal()), 3) if trial else 0.75
        if trial < 3:
            enc = encrypt_vector(pk, x, rng=rng)
        else:  # randomness r = 1: the input ciphertexts are (1 + m*n) mod n**2
            enc = [EncryptedNumber(pk, pk.raw_encrypt(pk.encode(v)[0], 1), pk.encode(v)[1]) for v in x.tolist()]
        out = fn(list(enc), w.copy(), b)
        combine = tr("combine the applicant's ciphertexts with plaintext operations: enc_features[j] * float(w[j]) "
                     "is an EncryptedNumber, and so is the sum of two of them or one plus a float")
        require(out is not None, tr("return the encrypted score (an EncryptedNumber); your function returned None"),
                fix=combine)
        require(isinstance(out, EncryptedNumber),
                tr("return one EncryptedNumber (the bank never sees the score in clear); got {kind}").format(
                    kind=type(out).__name__),
                fix=combine)
        require(out.public_key == pk, tr("return a ciphertext under the applicant's key (the key of enc_features)"),
                fix=tr("{combine}; never encrypt under a key of your own").format(combine=combine))
        require(all(out is not e for e in enc), tr("you returned one of the applicant's own ciphertexts unchanged"),
                fix=combine)
        got = sk.decrypt(out)
        expected = float(x @ w + b)
        require(abs(got - (expected - b)) > 1e-6 or abs(b) < 1e-6, tr("you forgot to add the bias b"),
                fix=tr("add b to the encrypted sum: an EncryptedNumber plus a float adds it under encryption"))
        require(abs(got - expected) < 1e-6,
                tr("the score should decrypt to {expected:.4f}; yours gives {got:.4f}").format(expected=expected, got=got),
                fix=tr("sum enc_features[j] * w[j] over every feature j, then add b"))
        if trial == 4:
            require(not _randomness_is_one(pk, sk, out),
                    tr("with all weights zero your score's randomness is r**n = 1: rerandomising the inputs is not "
                       "enough, because each weight acts on its input's randomness too (a zero weight erases it)"),
                    fix=tr("rerandomise the score itself, last: return score.rerandomize()"))
        if trial == 3:
            require(not _randomness_is_one(pk, sk, out),
                    tr("your score is the deterministic homomorphic combination of the applicant's ciphertexts: it "
                       "was never rerandomised. The applicant holds the key, can recover its randomness and from it "
                       "your weights w."),
                    fix=tr("return score.rerandomize(): it multiplies in a fresh r**n, so the randomness tells the "
                           "applicant nothing"))
    return tr("The bank computed w.x + b on ciphertexts and rerandomised the result: it learns nothing about x, "
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
        require(isinstance(out, (tuple, list)) and len(out) == 2,
                tr("return a pair (poly_modulus_degree, coeff_mod_bit_sizes)"),
                fix=tr("return (N, [first, *middle, special]) with the bit sizes as a list"))
        n, bits = out
        report = check_params(n, list(bits), s)
        require(report.valid, tr("for depth {depth} and scale 2^{scale} your choice cannot work: {problems}").format(
                    depth=depth, scale=s, problems=" ".join(report.problems)),
                fix=tr("keep every prime at most 60 bits and their total within ckks.MAX_COEFF_BITS[N]"))
        require(report.correct_depth >= depth,
                tr("for depth {depth} and scale 2^{scale}, {bits} allows only {correct} correct "
                   "multiplication(s)").format(depth=depth, scale=s, bits=list(bits), correct=report.correct_depth),
                fix=tr("each multiplication is paid by one middle prime as large as the scale"))
        require(not report.warnings, tr("for depth {depth} and scale 2^{scale}: {warnings}").format(
                    depth=depth, scale=s, warnings=" ".join(report.warnings)),
                fix=tr("read the warning: the first prime holds the scale plus the integer part, and the special "
                       "(last) prime must not be smaller than any data prime"))
        best = _min_degree(depth, s)
        extra = len(bits) - 2 - depth
        too_big = (tr("for depth {depth} and scale 2^{scale}, N = {best} is enough; N = {n} is slower and bigger "
                      "(you have {extra} middle prime(s) more than the {depth} multiplication(s) need)") if extra > 0
                   else tr("for depth {depth} and scale 2^{scale}, N = {best} is enough; N = {n} is slower and bigger"))
        require(n <= best, too_big.format(depth=depth, scale=s, best=best, n=n, extra=extra),
                fix=tr("one middle prime per multiplication; make the outer primes no larger than the explorer needs "
                       "without a warning (the first holds the scale plus 10 bits of integer part, the special prime "
                       "matches the largest data prime), then take the smallest N from 4096 up whose MAX_COEFF_BITS "
                       "holds the total"))
    return tr("The depth you need fixes the modulus, and the modulus fixes the smallest secure N.")


CHECKS = {
    "08.1": Exercise(_paillier_from_primes, "build", "core", 20),
    "08.2": Exercise(_find_bug, "reason", "core", 15),
    "08.3": Exercise(_encrypted_score, "build", "core", 15),
    "08.4": Exercise(_choose_parameters, "reason", "stretch", 10),
}
