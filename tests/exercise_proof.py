"""The proof every exercise test makes: the check rejects the stub and each typical wrong answer
(with feedback), and accepts the solution."""

from __future__ import annotations

from labkit.exercises import check


def stub(*args, **kwargs):
    raise NotImplementedError


def assert_check_proven(exercise, solution, wrongs) -> None:
    result = check(exercise, stub)
    assert not result and "Not attempted" in result.feedback
    for wrong in wrongs:
        result = check(exercise, wrong)
        assert not result, wrong.__name__
        assert result.feedback
    assert check(exercise, solution), check(exercise, solution).feedback
