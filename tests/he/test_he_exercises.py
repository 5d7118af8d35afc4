"""Exercise checks of notebook 08 reject the stub, every typical wrong answer (named for its
mistake) and answers that return a constant, None or their input, and accept the solutions and
their variants."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_proof import assert_accepted, assert_rejected, returns_none, returns_first_input, returns_second_input, constant_for
from labkit.exercises import check
from labkit.he.ckks import MAX_COEFF_BITS


def stub(*args):
    raise NotImplementedError


# ---------------------------------------------------------------- 08.1 add a plaintext


def add_plain(n, c, m):
    return c * (1 + m * n) % (n * n)


def add_plain_pow(n, c, m):  # g**m computed by pow, returned as np.int64-free Python int
    return c * pow(n + 1, m, n * n) % (n * n)


def added_to_ciphertext(n, c, m):  # adds m to c itself
    return c + m


def raised_to_m(n, c, m):  # c**m multiplies the plaintext by m
    return pow(c, m, n * n)


def not_reduced(n, c, m):  # forgot mod n**2
    return c * (1 + m * n)


def reduced_mod_n(n, c, m):  # reduced modulo n instead of n**2
    return c * (1 + m * n) % n


# ---------------------------------------------------------------- 08.2 encrypted score


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


# ---------------------------------------------------------------- 08.3 CKKS parameters


def choose_parameters(depth, s):
    first = min(60, s + 10)
    bits = [first] + [s] * depth + [first]
    for n in (4096, 8192, 16384, 32768):
        if sum(bits) <= MAX_COEFF_BITS[n]:
            return n, bits


def choose_parameters_numpy(depth, s):  # np.int64 degree and a tuple of bit sizes
    n, bits = choose_parameters(depth, s)
    return np.int64(n), tuple(np.int64(b) for b in bits)


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


# ---------------------------------------------------------------- answers every check must reject


def encrypted_constant(enc, w, b):  # a fresh encryption of a constant
    return enc[0].public_key.encrypt(0.5)


def first_ciphertext(enc, w, b):  # returns one of its input ciphertexts
    return enc[0]


CASES = {
    "08.1": (add_plain, [add_plain_pow],
             [added_to_ciphertext, raised_to_m, not_reduced, reduced_mod_n],
             [returns_none, returns_first_input, returns_second_input, constant_for(1), constant_for(0)]),
    "08.2": (encrypted_score, [encrypted_score_fresh_bias, encrypted_score_float32],
             [not_rerandomised, forgot_bias, first_feature_only, returns_plaintext, rerandomised_inputs_only],
             [returns_none, returns_first_input, returns_second_input, first_ciphertext, encrypted_constant,
              constant_for(0.0)]),
    "08.3": (choose_parameters, [choose_parameters_numpy],
             [always_8192_40, largest_ring, primes_ignore_scale, one_prime_short],
             [returns_none, returns_first_input, constant_for((8192, [60, 40, 40, 60]))]),
}


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_solution_and_its_variants_pass(exercise):
    solution, variants, _, _ = CASES[exercise]
    assert_accepted(exercise, [solution, *variants])


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_stub_fails(exercise):
    result = check(exercise, stub)
    assert not result.passed and "Not attempted" in result.feedback


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_typical_wrong_answers_fail_with_a_hint(exercise):
    _, _, wrongs, _ = CASES[exercise]
    assert_rejected(exercise, wrongs)


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_none_input_and_constants_fail(exercise):
    _, _, _, degenerate = CASES[exercise]
    assert_rejected(exercise, degenerate)


def test_08_2_names_the_missing_rerandomisation():
    feedback = check("08.2", not_rerandomised).feedback
    assert "rerandomis" in feedback and "w" in feedback


def test_08_2_detects_no_rerandomisation_whatever_the_order_of_operations():
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
        result = check("08.2", answer)
        assert not result.passed and "rerandomis" in result.feedback, (answer.__name__, result.feedback)
