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


# Answers that ignore their input: every check must reject them (see also test_exercises_framework).


def returns_none(*args, **kwargs):
    return None


def returns_input(position):
    def returns_its_input(*args, **kwargs):
        return args[position]

    returns_its_input.__name__ = f"returns_input_{position}"
    return returns_its_input


returns_first_input = returns_input(0)
returns_first_input.__name__ = "returns_first_input"
returns_second_input = returns_input(1)
returns_second_input.__name__ = "returns_second_input"


def constant_for(value):
    def returns_constant(*args, **kwargs):
        return value

    returns_constant.__name__ = f"returns_constant_{value!r}"
    return returns_constant


def assert_hints(table) -> None:
    """Each ``(exercise, wrong answer, words)`` row: the check rejects the answer with feedback containing ``words``."""
    for exercise, answer, words in table:
        result = check(exercise, answer)
        assert not result.passed and words in result.feedback, (exercise, answer.__name__, result.feedback)
