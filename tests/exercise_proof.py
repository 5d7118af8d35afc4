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


def assert_accepted(exercise, answers) -> None:
    """Every answer passes: the solution and its correct variants (another dtype, a list, a loop)."""
    for answer in answers:
        result = check(exercise, answer)
        assert result.passed, (getattr(answer, "__name__", answer), result.feedback)


def assert_rejected(exercise, answers) -> None:
    """No answer passes, and each gets feedback (None, an input returned, a constant, a typical mistake)."""
    for answer in answers:
        result = check(exercise, answer)
        assert not result.passed, f"{exercise} accepted {getattr(answer, '__name__', answer)}"
        assert result.feedback
