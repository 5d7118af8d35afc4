"""Exercise checks of notebook 08 reject the stub and typical wrong answers, and accept the solutions."""

from __future__ import annotations

import pytest

from labkit.exercises import check
from labkit.he.ckks import MAX_COEFF_BITS


def stub(*args):
    raise NotImplementedError


def add_plain(n, c, m):
    return c * (1 + m * n) % (n * n)


def encrypted_score(enc, w, b):
    total = enc[0] * float(w[0])
    for e, wi in zip(enc[1:], w[1:]):
        total = total + e * float(wi)
    return total + b


def choose_parameters(depth, s):
    first = min(60, s + 10)
    bits = [first] + [s] * depth + [first]
    for n in (4096, 8192, 16384, 32768):
        if sum(bits) <= MAX_COEFF_BITS[n]:
            return n, bits


WRONG = {
    "08.1": [lambda n, c, m: c + m, lambda n, c, m: pow(c, m, n * n), lambda n, c, m: c * (1 + m * n)],
    "08.2": [
        lambda enc, w, b: encrypted_score(enc, w, 0.0),  # forgets the bias
        lambda enc, w, b: 0.0,  # returns a plaintext
        lambda enc, w, b: enc[0] * float(w[0]) + b,  # only the first feature
    ],
    "08.3": [
        lambda d, s: (8192, [60] + [40] * d + [60]),  # the usual choice, too big for depth 3
        lambda d, s: (32768, [60] + [s] * d + [60]),  # works but not the smallest ring
        lambda d, s: (16384, [60] + [30] * d + [60]),  # primes that do not match the scale
    ],
}
SOLUTIONS = {"08.1": add_plain, "08.2": encrypted_score, "08.3": choose_parameters}


@pytest.mark.parametrize("exercise", sorted(SOLUTIONS))
def test_solution_passes(exercise):
    result = check(exercise, SOLUTIONS[exercise])
    assert result.passed, result.feedback


@pytest.mark.parametrize("exercise", sorted(SOLUTIONS))
def test_stub_fails(exercise):
    result = check(exercise, stub)
    assert not result.passed and "Not attempted" in result.feedback


@pytest.mark.parametrize("exercise,index", [(k, i) for k in sorted(WRONG) for i in range(len(WRONG[k]))])
def test_typical_wrong_answers_fail_with_a_hint(exercise, index):
    result = check(exercise, WRONG[exercise][index])
    assert not result.passed and result.feedback
