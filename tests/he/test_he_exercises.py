"""Exercise checks of notebook 08: each catalogue's check rejects the stub and every typical wrong
answer (named for its mistake, with a fix on request), and accepts the solution and its variants
(proved by tests/test_exercises_framework.py); targeted tests below pin particular hints."""

from __future__ import annotations

import math
import secrets

import gmpy2
import numpy as np

from exercise_proof import Catalogue, assert_hints, assert_rejected, constant_for, returns_second_input
from labkit.exercises import check
from labkit.he.ckks import MAX_COEFF_BITS

# ---------------------------------------------------------------- 08.1 Paillier from p and q


def _fresh_r(n):
    while True:
        r = secrets.randbelow(n - 1) + 1
        if math.gcd(r, n) == 1:
            return r


def _scheme(p, q, *, g=None, lam=None, use_mu=True, signed=True, r_of=None, cipher_mod=None, add=None):
    """The textbook scheme, with one piece swapped for a mistake."""
    n = p * q
    n2 = n * n
    g = n + 1 if g is None else g(n)
    lam = math.lcm(p - 1, q - 1) if lam is None else lam
    mu = pow((pow(g, lam, n2) - 1) // n, -1, n)
    fixed = _fresh_r(n)

    def encrypt(m, r=None):
        if r is None:
            r = _fresh_r(n) if r_of is None else r_of(fixed, m)
        c = pow(g, m % n, n2) * pow(r, n, n2)
        return c % (n2 if cipher_mod is None else cipher_mod(n))

    def decrypt(c):
        m = (pow(c, lam, n2) - 1) // n * (mu if use_mu else 1) % n
        return m - n if signed and m > n // 2 else m

    def add_(c1, c2):
        return c1 * c2 % n2 if add is None else add(c1, c2, n)

    return n, encrypt, decrypt, add_


def paillier_from_primes(p, q):
    n = p * q
    n2 = n * n
    lam = math.lcm(p - 1, q - 1)
    mu = pow((pow(n + 1, lam, n2) - 1) // n, -1, n)

    def encrypt(m, r=None):
        r = _fresh_r(n) if r is None else r
        return (1 + m * n) * pow(r, n, n2) % n2

    def decrypt(c):
        m = (pow(c, lam, n2) - 1) // n * mu % n
        return m - n if m > n // 2 else m

    def add(c1, c2):
        return c1 * c2 % n2

    return n, encrypt, decrypt, add


def phi_instead_of_lambda(p, q):  # (p-1)(q-1) works as well as lcm(p-1, q-1); a list instead of a tuple
    return list(_scheme(p, q, lam=(p - 1) * (q - 1)))


def crt_decryption(p, q):  # decrypts modulo p**2 and q**2 and recombines (Paillier 1999, section 7)
    n, encrypt, _, add = paillier_from_primes(p, q)

    def h(x):
        return pow((pow(n + 1, x - 1, x * x) - 1) // x, -1, x)

    hp, hq, p_inv = h(p), h(q), pow(p, -1, q)

    def decrypt(c):
        mp = (pow(c, p - 1, p * p) - 1) // p * hp % p
        mq = (pow(c, q - 1, q * q) - 1) // q * hq % q
        m = mp + p * ((mq - mp) * p_inv % q)
        return m - n if m > n // 2 else m

    return n, encrypt, decrypt, add


def read_like_python_paillier(p, q):  # gmpy2 integers, mu = lam**-1 mod n, and phe's thirds (OverflowError between)
    n = gmpy2.mpz(p) * q
    n2, lam = n * n, gmpy2.lcm(p - 1, q - 1)
    mu, max_int = gmpy2.invert(lam, n), n // 3 - 1  # with g = n + 1, L(g**lam mod n**2) = lam mod n

    def encrypt(m, r=None):
        r = _fresh_r(int(n)) if r is None else r
        return (1 + m % n * n) * gmpy2.powmod(r, n, n2) % n2

    def decrypt(c):
        m = (gmpy2.powmod(c, lam, n2) - 1) // n * mu % n
        if max_int < m < n - max_int:
            raise OverflowError("overflow detected in decrypted number")
        return m - n if m >= n - max_int else m

    return int(n), encrypt, decrypt, lambda c1, c2: c1 * c2 % n2


def negative_above_a_third(p, q):  # reads m > n // 3 as negative: the same numbers within +-(n // 3 - 1)
    n, encrypt, decrypt, add = paillier_from_primes(p, q)

    def signed(c):
        m = decrypt(c) % n
        return m - n if m > n // 3 else m

    return n, encrypt, signed, add


def decrypted_without_mu(p, q):
    return _scheme(p, q, use_mu=False)


def forgot_negative_numbers(p, q):
    return _scheme(p, q, signed=False)


def added_ciphertexts_instead_of_multiplying(p, q):
    return _scheme(p, q, add=lambda c1, c2, n: (c1 + c2) % (n * n))


def reused_r(p, q):  # one r drawn with the key, used for every encryption
    return _scheme(p, q, r_of=lambda fixed, m: fixed)


def r_is_one(p, q):  # no randomness at all: c = 1 + m*n reveals m = (c - 1) / n
    return _scheme(p, q, r_of=lambda fixed, m: 1)


def reduced_mod_n_not_n_squared(p, q):
    return _scheme(p, q, cipher_mod=lambda n: n)


def chose_g_equal_2(p, q):  # a consistent scheme, but not python-paillier's
    return _scheme(p, q, g=lambda n: 2)


def multiplied_by_r_not_r_to_the_n(p, q):
    n, _, decrypt, add = paillier_from_primes(p, q)

    def encrypt(m, r=None):
        r = _fresh_r(n) if r is None else r
        return (1 + m * n) * r % (n * n)

    return n, encrypt, decrypt, add


def ignored_the_given_r(p, q):  # always draws a fresh r, so python-paillier's r gives another ciphertext
    n, encrypt, decrypt, add = paillier_from_primes(p, q)
    return n, lambda m, r=None: encrypt(m), decrypt, add


def forgot_mod_in_add(p, q):  # the product of two ciphertexts is not reduced modulo n**2
    n, encrypt, decrypt, _ = paillier_from_primes(p, q)
    return n, encrypt, decrypt, lambda c1, c2: c1 * c2


def float_division_in_L(p, q):  # L(x) = (x - 1) / n in floating point loses the low bits
    n, encrypt, _, add = paillier_from_primes(p, q)
    lam = math.lcm(p - 1, q - 1)
    mu = pow(lam, -1, n)

    def decrypt(c):
        m = int((pow(c, lam, n * n) - 1) / n) * mu % n
        return m - n if m > n // 2 else m

    return n, encrypt, decrypt, add


def plaintext_scheme(p, q):  # "encrypts" by returning the message
    return p * q, lambda m, r=None: m, lambda c: c, lambda a, b: a + b


def returns_the_primes(p, q):
    return p, q


# ---------------------------------------------------------------- 08.2 find the bug


def _messages(n, count=12):
    bound = n // 3 - 1
    return [secrets.randbelow(2 * bound + 1) - bound for _ in range(count)]


def find_bug(n, encrypt, decrypt, add):
    messages = _messages(n)
    if any(decrypt(encrypt(m)) != m for m in messages):
        return "roundtrip"
    half = [m // 2 for m in messages]
    if any(decrypt(add(encrypt(a), encrypt(b))) != a + b for a, b in zip(half, reversed(half))):
        return "add"
    if any(encrypt(m) == encrypt(m) for m in messages):
        return "linkable"
    return "ok"


def find_bug_failures_listed(n, encrypt, decrypt, add):  # another order: collect every failure, report the first
    rng = np.random.default_rng(secrets.randbits(32))
    failures = []
    for _ in range(8):  # a and b anywhere in +-(n // 6), so a + b stays in range
        a, b = (int.from_bytes(rng.bytes(n.bit_length() // 8 + 1), "big") % (n // 3) - n // 6 for _ in range(2))
        if decrypt(encrypt(a)) != a or decrypt(encrypt(b)) != b:
            failures.append("roundtrip")
        elif decrypt(add(encrypt(a), encrypt(b))) != a + b:
            failures.append("add")
        elif len({encrypt(a) for _ in range(3)}) < 3:
            failures.append("linkable")
    for label in ("roundtrip", "add", "linkable"):
        if label in failures:
            return label
    return "ok"


def positive_messages_only(n, encrypt, decrypt, add):
    messages = [abs(m) for m in _messages(n)]
    if any(decrypt(encrypt(m)) != m for m in messages):
        return "roundtrip"
    halves = [m // 2 for m in messages]
    if any(decrypt(add(encrypt(a), encrypt(b))) != a + b for a, b in zip(halves, reversed(halves))):
        return "add"
    return "linkable" if any(encrypt(m) == encrypt(m) for m in messages) else "ok"


def zero_only(n, encrypt, decrypt, add):
    if decrypt(encrypt(0)) != 0:
        return "roundtrip"
    if decrypt(add(encrypt(0), encrypt(0))) != 0:
        return "add"
    return "linkable" if encrypt(0) == encrypt(0) else "ok"


def added_zero_only(n, encrypt, decrypt, add):  # add(Enc(a), Enc(0)) cannot tell a + b from a - b
    messages = _messages(n)
    if any(decrypt(encrypt(m)) != m for m in messages):
        return "roundtrip"
    if any(decrypt(add(encrypt(m // 2), encrypt(0))) != m // 2 for m in messages):
        return "add"
    return "linkable" if any(encrypt(m) == encrypt(m) for m in messages) else "ok"


def compared_different_messages(n, encrypt, decrypt, add):  # misses r derived from the message
    messages = _messages(n)
    if any(decrypt(encrypt(m)) != m for m in messages):
        return "roundtrip"
    half = [m // 2 for m in messages]
    if any(decrypt(add(encrypt(a), encrypt(b))) != a + b for a, b in zip(half, reversed(half))):
        return "add"
    return "linkable" if encrypt(1) == encrypt(2) or encrypt(5) == encrypt(5) and encrypt(0) == encrypt(1) else "ok"


def never_tested_linkability(n, encrypt, decrypt, add):
    answer = find_bug(n, encrypt, decrypt, add)
    return "ok" if answer == "linkable" else answer


def linkability_before_roundtrip(n, encrypt, decrypt, add):  # wrong order: r**m makes Enc(0) deterministic
    if encrypt(0) == encrypt(0):
        return "linkable"
    return find_bug(n, encrypt, decrypt, add)


def added_the_largest_messages(n, encrypt, decrypt, add):  # max_int + max_int overflows even in a correct scheme
    bound = n // 3 - 1
    messages = [bound, -bound, 1, -1] + _messages(n, 8)
    if any(decrypt(encrypt(m)) != m for m in messages):
        return "roundtrip"
    if any(decrypt(add(encrypt(a), encrypt(b))) != a + b for a in messages[:2] for b in messages[:2]):
        return "add"
    return "linkable" if any(encrypt(m) == encrypt(m) for m in messages) else "ok"


def same_r_when_testing_linkability(n, encrypt, decrypt, add):  # encrypt(m, r) is deterministic by design
    answer = find_bug(n, encrypt, decrypt, add)
    if answer != "ok":
        return answer
    return "linkable" if encrypt(7, 3) == encrypt(7, 3) else "ok"


def small_messages_only(n, encrypt, decrypt, add):  # misses bugs that show only on large numbers
    messages = list(range(-20, 21))
    if any(decrypt(encrypt(m)) != m for m in messages):
        return "roundtrip"
    if any(decrypt(add(encrypt(a), encrypt(b))) != a + b for a, b in zip(messages, reversed(messages))):
        return "add"
    return "linkable" if any(encrypt(m) == encrypt(m) for m in messages) else "ok"


def always_ok(n, encrypt, decrypt, add):
    return "ok"


# ---------------------------------------------------------------- 08.3 encrypted score


def encrypted_score(enc, w, b):
    total = enc[0] * float(w[0])
    for e, wi in zip(enc[1:], w[1:]):
        total = total + e * float(wi)
    return (total + b).rerandomize()


def encrypted_score_fresh_bias(enc, w, b):  # adding a fresh encryption of b also rerandomises
    total = sum((e * float(wi) for e, wi in zip(enc[1:], w[1:])), enc[0] * float(w[0]))
    return total + enc[0].public_key.encrypt(float(b))


def encrypted_score_float32(enc, w, b):  # weights as np.float32 and a list comprehension
    terms = [e * float(np.float32(wi)) for e, wi in zip(enc, np.asarray(w, np.float32))]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return (total + b).rerandomize()


def encrypted_score_builtin_sum(enc, w, b):  # sum() starts from the int 0; numpy float64 weights
    return (sum(e * wi for e, wi in zip(enc, np.asarray(w))) + b).rerandomize()


def encrypted_score_object_dot(enc, w, b):  # np.dot over an object array of ciphertexts
    return (np.dot(np.array(enc, dtype=object), np.asarray(w)) + b).rerandomize()


def not_rerandomised(enc, w, b):  # the deterministic combination: the key owner can recover w
    total = enc[0] * float(w[0])
    for e, wi in zip(enc[1:], w[1:]):
        total = total + e * float(wi)
    return total + b


def forgot_bias(enc, w, b):
    return encrypted_score(enc, w, 0.0)


def first_feature_only(enc, w, b):
    return (enc[0] * float(w[0]) + b).rerandomize()


def returns_plaintext(enc, w, b):
    return 0.0


def rerandomised_inputs_only(enc, w, b):  # rerandomises the inputs, then forgets the bias
    total = enc[0].rerandomize() * float(w[0])
    for e, wi in zip(enc[1:], w[1:]):
        total = total + e.rerandomize() * float(wi)
    return total


def rerandomised_first_input_only(enc, w, b):  # the weight acts on that input's randomness too
    total = enc[0].rerandomize() * float(w[0])
    for e, wi in zip(enc[1:], w[1:]):
        total = total + e * float(wi)
    return total + b


def encrypted_constant(enc, w, b):  # a fresh encryption of a constant
    return enc[0].public_key.encrypt(0.5)


def first_ciphertext(enc, w, b):  # returns one of its input ciphertexts
    return enc[0]


# ---------------------------------------------------------------- 08.4 CKKS parameters


def choose_parameters(depth, s):
    first = min(60, s + 10)
    bits = [first] + [s] * depth + [first]
    for n in (4096, 8192, 16384, 32768):
        if sum(bits) <= MAX_COEFF_BITS[n]:
            return n, bits


def choose_parameters_numpy(depth, s):  # np.int64 degree and a tuple of bit sizes
    n, bits = choose_parameters(depth, s)
    return np.int64(n), tuple(np.int64(b) for b in bits)


def choose_parameters_list(depth, s):  # a list [N, bits] instead of a tuple, found by a while loop
    first = min(60, s + 10)
    bits = [first, *([s] * depth), first]
    n = 4096
    while sum(bits) > MAX_COEFF_BITS[n]:
        n *= 2
    return [n, bits]


def always_8192_40(d, s):  # the usual choice, too big for depth 3
    return 8192, [60] + [40] * d + [60]


def largest_ring(d, s):  # works but is not the smallest ring
    return 32768, [60] + [s] * d + [60]


def primes_ignore_scale(d, s):  # middle primes that do not match the scale
    return 16384, [60] + [30] * d + [60]


def one_prime_short(d, s):  # depth - 1 middle primes
    first = min(60, s + 10)
    bits = [first] + [s] * (d - 1) + [first]
    return choose_parameters(d, s)[0], bits


def one_spare_level(d, s):  # depth + 1 middle primes: valid, but may need a ring twice as large
    first = min(60, s + 10)
    bits = [first] + [s] * (d + 1) + [first]
    return min(n for n in (4096, 8192, 16384, 32768) if sum(bits) <= MAX_COEFF_BITS[n]), bits


def outer_primes_always_60(d, s):  # valid, but 60-bit outer primes cost a larger ring at a small scale
    bits = [60] + [s] * d + [60]
    return min(n for n in (4096, 8192, 16384, 32768) if sum(bits) <= MAX_COEFF_BITS[n]), bits


CATALOGUES = {
    "08.1": Catalogue(
        solution=paillier_from_primes,
        variants=[phi_instead_of_lambda, crt_decryption, read_like_python_paillier, negative_above_a_third],
        mistakes=[decrypted_without_mu, forgot_negative_numbers, added_ciphertexts_instead_of_multiplying, reused_r,
                  r_is_one, reduced_mod_n_not_n_squared, chose_g_equal_2, multiplied_by_r_not_r_to_the_n,
                  ignored_the_given_r, forgot_mod_in_add, float_division_in_L],
        degenerate=[plaintext_scheme, returns_the_primes]),
    "08.2": Catalogue(
        solution=find_bug, variants=[find_bug_failures_listed],
        mistakes=[positive_messages_only, zero_only, added_zero_only, compared_different_messages,
                  never_tested_linkability, linkability_before_roundtrip, added_the_largest_messages,
                  same_r_when_testing_linkability, small_messages_only],
        degenerate=[always_ok, constant_for("roundtrip"), constant_for("linkable")]),
    "08.3": Catalogue(
        solution=encrypted_score,
        variants=[encrypted_score_fresh_bias, encrypted_score_float32, encrypted_score_builtin_sum,
                  encrypted_score_object_dot],
        mistakes=[not_rerandomised, forgot_bias, first_feature_only, returns_plaintext, rerandomised_inputs_only,
                  rerandomised_first_input_only],
        degenerate=[returns_second_input, first_ciphertext, encrypted_constant]),
    "08.4": Catalogue(
        solution=choose_parameters, variants=[choose_parameters_numpy, choose_parameters_list],
        mistakes=[always_8192_40, largest_ring, primes_ignore_scale, one_prime_short, outer_primes_always_60,
                  one_spare_level],
        degenerate=[constant_for((8192, [60, 40, 40, 60]))]),
}


def test_08_1_hints_name_the_mistake():
    assert_hints([
        ("08.1", decrypted_without_mu, "mu"),
        ("08.1", forgot_negative_numbers, "negative"),
        ("08.1", added_ciphertexts_instead_of_multiplying, "multiplying ciphertexts"),
        ("08.1", reused_r, "twice"),
        ("08.1", r_is_one, "twice"),
        ("08.1", reduced_mod_n_not_n_squared, "modulo n"),
        ("08.1", chose_g_equal_2, "g = 2"),
        ("08.1", multiplied_by_r_not_r_to_the_n, "r**n"),
        ("08.1", ignored_the_given_r, "ignores the r"),
    ])


def test_08_1_says_the_check_keys_are_tiny_and_what_real_sizes_are():
    feedback = check("08.1", paillier_from_primes).feedback
    assert "tiny" in feedback and "2048" in feedback


def test_08_2_each_miss_says_what_to_test():
    for answer, words in [(positive_messages_only, "negative"), (added_zero_only, "non-zero second operand"),
                          (compared_different_messages, "same message"), (small_messages_only, "whole range"),
                          (added_the_largest_messages, "a + b also stays within"),
                          (same_r_when_testing_linkability, "without an r")]:
        result = check("08.2", answer, hint=True)
        fix = result.feedback.split("How to fix it:")[1].lower()
        assert not result.passed and words in fix, (answer.__name__, result.feedback)


def test_08_2_an_audit_that_flags_correct_schemes_is_told_why_they_are_correct():
    def suspicious_of_everything(n, encrypt, decrypt, add):
        answer = find_bug(n, encrypt, decrypt, add)
        return "add" if answer == "ok" else answer

    result = check("08.2", suspicious_of_everything, hint=True)
    assert not result.passed and "a correct scheme" in result.feedback and "How to fix it:" in result.feedback


def test_08_3_names_the_missing_rerandomisation():
    feedback = check("08.3", not_rerandomised).feedback
    assert "rerandomis" in feedback and "w" in feedback
    assert "inputs is not enough" in check("08.3", rerandomised_first_input_only).feedback


def test_08_3_detects_no_rerandomisation_whatever_the_order_of_operations():
    def bias_first_not_rerandomised(enc, w, b):
        total = enc[-1] * float(w[-1]) + b
        for e, wi in zip(reversed(enc[:-1]), reversed(list(w[:-1]))):
            total = e * float(wi) + total
        return total

    def integer_weights_not_rerandomised(enc, w, b):  # scales w to integers: another encoding
        total = enc[0] * int(round(w[0] * 1000))
        for e, wi in zip(enc[1:], w[1:]):
            total = total + e * int(round(wi * 1000))
        return total / 1000 + b

    for answer in (bias_first_not_rerandomised, integer_weights_not_rerandomised):
        result = check("08.3", answer)
        assert not result.passed and "rerandomis" in result.feedback, (answer.__name__, result.feedback)


def test_08_4_a_valid_but_wasteful_choice_is_told_the_smaller_ring():
    assert_rejected("08.4", [outer_primes_always_60])
    assert "is enough" in check("08.4", outer_primes_always_60).feedback
    assert "middle prime(s) more" in check("08.4", one_spare_level).feedback
