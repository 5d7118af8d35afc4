"""labkit.exercises: the checking framework itself."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import exercises


def test_unknown_ids_are_clear():
    with pytest.raises(ValueError, match="exercise must look like 'NN.k'"):
        exercises.checker_for("2.1")
    with pytest.raises(ValueError, match="no exercises are registered for notebook 99"):
        exercises.checker_for("99.1")
    with pytest.raises(ValueError, match="exercise must look like 'NN.k'.*; got 2.1"):
        exercises.checker_for(2.1)


def test_an_unregistered_exercise_names_the_registered_ones(monkeypatch):
    import types

    module = types.SimpleNamespace(CHECKS={"98.1": print, "98.2": print})
    monkeypatch.setitem(__import__("sys").modules, "labkit_test_checks98", module)
    monkeypatch.setitem(exercises.CHECK_MODULES, "98", "labkit_test_checks98")
    with pytest.raises(ValueError, match=r"^exercise must be one of '98.1', '98.2'; got '98.3'$"):
        exercises.checker_for("98.3")


def test_results_for_stub_hint_crash_and_pass(monkeypatch):
    import types

    def checker(fn):
        exercises.require(fn(2) == 4, "double the input: f(2) should be 4")
        return "f doubles."

    module = types.SimpleNamespace(CHECKS={"98.1": checker})
    monkeypatch.setitem(__import__("sys").modules, "labkit_test_checks98", module)
    monkeypatch.setitem(exercises.CHECK_MODULES, "98", "labkit_test_checks98")

    def stub(x):
        raise NotImplementedError

    assert "Not attempted yet" in repr(exercises.check("98.1", stub))
    wrong = exercises.check("98.1", lambda x: x + 1)
    assert not wrong and "f(2) should be 4" in wrong.feedback
    crash = exercises.check("98.1", lambda x: x / "a")
    assert not crash and "TypeError" in crash.feedback
    ok = exercises.check("98.1", lambda x: 2 * x)
    assert ok and repr(ok) == "Exercise 98.1: passed. f doubles."


def test_exercise_00_1_rejects_stub_and_wrong_answers_and_accepts_the_solution():
    def stub():
        raise NotImplementedError

    assert not exercises.check("00.1", stub)
    assert not exercises.check("00.1", lambda: 0)
    assert not exercises.check("00.1", lambda: 2)
    assert exercises.check("00.1", lambda: 1)


# An answer that ignores its arguments cannot be right for an exercise whose answer takes arguments.
# 00.1 is the one exception: its answer takes none ("return the sensitivity of a count"), so a constant is
# the intended form of the answer there.
_NULLARY = {"00.1"}
_DEGENERATE = {
    "returns None": lambda *a, **k: None,
    "returns its first input": lambda *a, **k: a[0] if a else next(iter(k.values()), None),
    **{f"returns the constant {c!r}": (lambda c: lambda *a, **k: c)(c) for c in (0, 1, -1, 0.5, 2, True)},
}


def _all_exercises() -> list[str]:
    ids = []
    for nn in range(11):
        ids += exercises.exercise_ids(f"{nn:02d}")
    return ids


@pytest.mark.parametrize("exercise", [e for e in _all_exercises() if e not in _NULLARY])
def test_no_check_passes_an_answer_that_ignores_its_input(exercise):
    accepted = [name for name, answer in _DEGENERATE.items() if exercises.check(exercise, answer)]
    assert not accepted, f"exercise {exercise} accepts an answer that {', '.join(accepted)}"


@pytest.mark.parametrize("notebook, error", [(2, TypeError), (None, TypeError), ("2", ValueError), ("002", ValueError),
                                             ("no-such-notebook", ValueError)])
def test_exercise_ids_takes_a_two_digit_notebook_number(notebook, error):
    with pytest.raises(error, match=r"^notebook must be a notebook number of two digits such as '02'; got "):
        exercises.exercise_ids(notebook)
    assert exercises.exercise_ids("99") == []  # a notebook without exercises: documented empty list


@pytest.mark.parametrize("condition", [None, "abc", "", 1, 0, 2.5, [True], np.array([True, False])])
def test_require_takes_a_bool_condition(condition):
    # a string or a number is always "true" (or always "false"): a checker's mistake, never a pass
    with pytest.raises(TypeError, match=r"^condition must be True or False; got "):
        exercises.require(condition, "hint")


def test_require_takes_numpy_bools_and_a_text_hint():
    exercises.require(np.bool_(True), "hint")
    exercises.require(np.array([True]), "hint")
    with pytest.raises(exercises.Hint, match="^why$"):
        exercises.require(np.float64(1.0) > 2, "why")
    with pytest.raises(TypeError, match=r"^hint must be a sentence \(a str\); got None"):
        exercises.require(True, None)


@pytest.mark.parametrize("got", [None, True, np.bool_(False), "1.5", [1.5], np.array([1.5, 2.0]), float("nan"),
                                 float("inf"), -float("inf"), np.float32("nan"), 1 + 2j])
def test_require_number_gives_a_hint_for_every_bad_answer(got):
    with pytest.raises(exercises.Hint, match=r"return the mean as (one|a finite) number"):
        exercises.require_number(got, "the mean")


def test_require_number_takes_numbers_and_a_text_what():
    assert exercises.require_number(np.int64(3), "x") == 3.0
    assert exercises.require_number(np.array(2.5, dtype=np.float32), "x") == 2.5
    with pytest.raises(TypeError, match=r"^what must name the expected number \(a str\); got 3"):
        exercises.require_number(1.0, 3)
