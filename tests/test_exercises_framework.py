"""labkit.exercises: the checking framework itself, and the proof of every exercise's catalogue."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from exercise_proof import Catalogue, prove_catalogue
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

    module = types.SimpleNamespace(CHECKS={"98.1": exercises.Exercise(checker, "build", "core", 5)})
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


# ------------------------------------------------------------------ two-level hints


def _toy(monkeypatch):
    import types

    def checker(fn):
        exercises.require(fn(2) == 4, "f(2) should be 4", fix="multiply the input by 2")

    module = types.SimpleNamespace(CHECKS={"98.1": exercises.Exercise(checker, "build", "core", 5)})
    monkeypatch.setitem(__import__("sys").modules, "labkit_test_checks98", module)
    monkeypatch.setitem(exercises.CHECK_MODULES, "98", "labkit_test_checks98")
    monkeypatch.setattr(exercises, "_failed_tries", {})


def test_the_first_try_says_what_is_wrong_the_second_also_how_to_fix_it(monkeypatch):
    _toy(monkeypatch)
    first = exercises.check("98.1", lambda x: x + 1)
    assert "f(2) should be 4" in first.feedback and "multiply" not in first.feedback and "hint=True" in first.feedback
    second = exercises.check("98.1", lambda x: x + 1)
    assert "How to fix it: multiply the input by 2" in second.feedback
    assert exercises.check("98.1", lambda x: 2 * x)  # a pass starts the count again
    assert "multiply" not in exercises.check("98.1", lambda x: x + 1).feedback
    assert "How to fix it: multiply" in exercises.check("98.1", lambda x: x + 1, hint=True).feedback


def test_hint_must_be_a_bool(monkeypatch):
    _toy(monkeypatch)
    with pytest.raises(TypeError, match=r"^hint must be True or False; got 'yes'"):
        exercises.check("98.1", lambda x: 2 * x, hint="yes")


@pytest.mark.parametrize("kind, level, minutes, error", [
    ("build", "core", 0, ValueError), ("build", "core", 5.0, TypeError), ("builds", "core", 5, ValueError),
    ("build", "hard", 5, ValueError)])
def test_an_exercise_states_a_known_kind_level_and_time(kind, level, minutes, error):
    with pytest.raises(error, match=r"^(kind|level|minutes) must"):
        exercises.Exercise(print, kind, level, minutes)


def test_labels_say_kind_level_and_minutes():
    assert exercises.Exercise(print, "build", "core", 10).label == "build, core, about 10 min"
    assert exercises.Exercise(print, "warm-up", "warm-up", 5).label == "warm-up, about 5 min"


# ------------------------------------------------------------------ every notebook's exercises


@pytest.mark.parametrize("number", [f"{n:02d}" for n in range(1, 11)])
def test_every_notebook_has_two_to_four_exercises_one_build_one_reason_one_core(number):
    infos = [exercises.exercise_info(e) for e in exercises.exercise_ids(number)]
    kinds = [i.kind for i in infos]
    assert 2 <= len(infos) <= 4, f"notebook {number} has {len(infos)} exercises"
    assert "build" in kinds and "reason" in kinds, f"notebook {number}: kinds {kinds}"
    assert any(i.level == "core" for i in infos), f"notebook {number}: no core exercise"


def _catalogues() -> dict[str, Catalogue]:
    """Every ``CATALOGUES`` of ``tests/<track>/test_*exercises*.py``, loaded from its file."""
    found: dict[str, Catalogue] = {}
    for path in sorted(Path(__file__).parent.glob("*/test_*exercises*.py")):
        spec = importlib.util.spec_from_file_location(f"catalogue_of_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for exercise, catalogue in getattr(module, "CATALOGUES", {}).items():
            assert exercise not in found, f"{exercise} has two catalogues"
            assert isinstance(catalogue, Catalogue), f"{path.name}: {exercise} is not a Catalogue"
            found[exercise] = catalogue
    return found


_CATALOGUES = _catalogues()


def test_every_exercise_has_a_catalogue_of_wrong_answers():
    missing = [e for e in _all_exercises() if e not in _CATALOGUES and e not in _NULLARY]
    assert not missing, f"exercises without a catalogue of typical wrong answers: {missing}"
    unknown = sorted(set(_CATALOGUES) - set(_all_exercises()))
    assert not unknown, f"catalogues for exercises that are not registered: {unknown}"


@pytest.mark.parametrize("exercise", sorted(_CATALOGUES))
def test_check_rejects_its_catalogue_and_accepts_correct_variants(exercise):
    prove_catalogue(exercise, _CATALOGUES[exercise])


@pytest.mark.parametrize("out, words", [
    (None, "return two things, the names of the broken steps and one fixed step; got NoneType"),
    (({"step_a"},), "return two things"),
    (("step_a", print), "the first thing returned must be a set of step names"),
    (({1, 2}, print), "the first thing returned must be a set of step names"),
    (({"step_z"}, print), "unknown step names ['step_z']; the steps are step_a, step_b"),
])
def test_a_find_the_bug_answer_must_be_names_and_a_fix(out, words):
    with pytest.raises(exercises.Hint, match=re.escape(words)) as err:
        exercises.require_names_and_fix(out, ["step_a", "step_b"], "step")
    assert err.value.fix


def test_a_find_the_bug_answer_gives_its_names_and_its_fix():
    assert exercises.require_names_and_fix(([" step_b"], print), ["step_a", "step_b"], "step") == ({"step_b"}, print)


def test_feedback_renders_code_spans_as_code_and_escapes_everything_else():
    """Hints name code in Markdown backticks; the notebook shows them as code, never as raw backticks."""
    from labkit.exercises import ExerciseResult

    result = ExerciseResult("02.1", False, "Use `rng.laplace(0, 1 / epsilon)`, not <b>this</b>.\nHow to fix it: `a < b`")
    html = result._repr_html_()
    assert "<code>rng.laplace(0, 1 / epsilon)</code>" in html and "<code>a &lt; b</code>" in html
    assert "`" not in html and "<b>this</b>" not in html and "&lt;b&gt;this&lt;/b&gt;" in html
    assert "<br>How to fix it" in html
    assert repr(result).startswith("Exercise 02.1: not yet. Use `rng.laplace")  # plain text keeps the Markdown
