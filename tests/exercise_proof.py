"""The proof every exercise test makes: the check rejects the stub and each typical wrong answer
(with feedback), and accepts the solution.

Each ``tests/<track>/test_*exercises*.py`` defines ``CATALOGUES``: for every exercise it owns, a
:class:`Catalogue` of the solution, correct answers written differently, and the typical wrong answers,
each a function named for its mistake. ``tests/test_exercises_framework.py`` collects them all, proves
each one with :func:`prove_catalogue` and fails if an exercise has no catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from labkit.exercises import check

MIN_MISTAKES = 3
FIX_MARK = "How to fix it:"


@dataclass(frozen=True)
class Catalogue:
    """What an exercise's test proves about its check.

    Args:
        solution: the instructor's answer.
        variants: correct answers written differently (another dtype, a list instead of an array,
            another loop order); each must pass. At least one.
        mistakes: the typical wrong answers, each a function named for its mistake
            (``forgot_delta``, ``clipped_one_side_only``, ``averaged_without_weights``); at least three.
            Each must be rejected, and with ``hint=True`` the feedback must say how to fix it.
        degenerate: answers that ignore their input in a way the generic ones (``None``, a constant, the
            first input) do not cover for this signature, such as returning the second input.
    """

    solution: Callable
    variants: Sequence[Callable]
    mistakes: Sequence[Callable]
    degenerate: Sequence[Callable] = field(default_factory=tuple)


def prove_catalogue(exercise: str, catalogue: Catalogue) -> None:
    """Fail unless ``exercise``'s check rejects the stub, every mistake (with a fix on request) and every
    degenerate answer, and accepts the solution and every variant."""
    names = [m.__name__ for m in catalogue.mistakes]
    assert len(names) >= MIN_MISTAKES, f"{exercise}: catalogue has {len(names)} mistakes, needs {MIN_MISTAKES}"
    assert len(set(names)) == len(names) and "<lambda>" not in names, f"{exercise}: name each mistake: {names}"
    assert catalogue.variants, f"{exercise}: list at least one correct variant written differently"
    result = check(exercise, stub)
    assert not result and "Not attempted" in result.feedback, (exercise, result.feedback)
    for wrong in catalogue.mistakes:
        first = check(exercise, wrong)
        assert not first.passed, f"{exercise} accepted the mistake {wrong.__name__}"
        assert first.feedback, f"{exercise}: no feedback for {wrong.__name__}"
        fixed = check(exercise, wrong, hint=True)
        assert not fixed.passed and FIX_MARK in fixed.feedback, (
            f"{exercise}: no second-level hint (how to fix it) for {wrong.__name__}: {fixed.feedback!r}")
    assert_rejected(exercise, catalogue.degenerate)
    assert_accepted(exercise, [catalogue.solution, *catalogue.variants])


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
