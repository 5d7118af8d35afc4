"""Auto-checked exercises (introduced in ``00-index.ipynb``, used by every notebook).

Each notebook's exercises live in ``labkit/<track>/checks.py`` as a dict ``CHECKS`` mapping an
exercise id (``"02.1"``) to a checker. A checker calls the learner's answer with property tests
and raises :class:`Hint` naming what went wrong; it must be able to fail (the tests prove that it
rejects the stub and a typical wrong answer, and accepts the solution). In a notebook::

    from labkit.exercises import check
    check("02.1", my_function)

shows ``Exercise 02.1: passed`` or ``Exercise 02.1: not yet. <what is wrong>``. A check never raises, so a
student copy runs top to bottom while exercises are still open.

Hints come in two levels. The first failed try says what is wrong; the second failed try in a row of the
same exercise (or ``check("02.1", my_function, hint=True)``) also says how to fix it. A checker gives both
with ``require(condition, "what is wrong", fix="how to fix it")``.

Each exercise is registered as an :class:`Exercise`: its checker, its kind (``build``: write the core
mechanism; ``reason``: find the bug, choose the epsilon to report, say what an adversary learns;
``warm-up``: a formula or a quick computation), its level (``warm-up``, ``core``, ``stretch``) and the
minutes it should take. The notebook's exercise heading repeats them, as :func:`exercise_label` writes them.

In the instructor notebooks each solution sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION``; student copies replace it with ``raise NotImplementedError``.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from html import escape
from typing import Any, Callable, Sequence

from labkit import _validate as v
from labkit.i18n import N_, tr

_ID = re.compile(r"^(\d\d)\.(\d+)$")


class Hint(AssertionError):
    """Raised by a checker: the message tells the learner what went wrong; ``fix``, how to put it right."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


KINDS = (N_("build"), N_("reason"), N_("warm-up"))
LEVELS = ("warm-up", "core", "stretch")


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its checker and what the learner is told about it before starting.

    Args:
        checker: calls the learner's answer; returns an optional sentence on success or raises :class:`Hint`.
        kind: ``"build"``, ``"reason"`` or ``"warm-up"`` (see the module docstring).
        level: ``"warm-up"``, ``"core"`` or ``"stretch"``.
        minutes: the expected time, a whole number from 1 to 120.
    """

    checker: Callable[[Any], str | None]
    kind: str
    level: str
    minutes: int

    def __post_init__(self) -> None:
        if not callable(self.checker):
            raise TypeError(f"checker must be callable; got {self.checker!r}")
        v.choice("kind", self.kind, KINDS)
        v.choice("level", self.level, LEVELS)
        v.integer("minutes", self.minutes, minimum=1, maximum=120)

    @property
    def label(self) -> str:
        """What the notebook's heading says, for example ``"build, core, about 10 min"``."""
        parts = [self.kind] if self.kind == self.level else [self.kind, self.level]
        return ", ".join(parts + [f"about {self.minutes} min"])


def _markdown_inline(text: str) -> str:
    """``text`` as HTML, with the Markdown a hint uses rendered: `code` spans and line breaks.

    Hints name functions and expressions in backticks, as Markdown does; shown literally, the
    backticks get in the way of reading (``rng.laplace(0, 1 / epsilon)`` reads better as code).
    Everything else is escaped, so a hint cannot inject markup.
    """
    parts = re.split(r"`([^`\n]+)`", str(text))
    html = "".join(f"<code>{escape(part)}</code>" if i % 2 else escape(part) for i, part in enumerate(parts))
    return html.replace("\n", "<br>")


@dataclass(frozen=True)
class ExerciseResult:
    exercise: str
    passed: bool
    feedback: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        if self.passed:
            return tr("Exercise {exercise}: passed. {feedback}").format(exercise=self.exercise,
                                                                         feedback=self.feedback).rstrip()
        return tr("Exercise {exercise}: not yet. {feedback}").format(exercise=self.exercise, feedback=self.feedback)

    def _repr_html_(self) -> str:
        colour = "#009E73" if self.passed else "#D55E00"
        head = tr("Exercise {exercise}: passed.") if self.passed else tr("Exercise {exercise}: not yet.")
        return (f"<div style='border-left:4px solid {colour};padding:2px 8px'><b>"
                f"{head.format(exercise=escape(self.exercise))}</b> {_markdown_inline(self.feedback)}</div>")


# Where each notebook's checks live: the ``CHECKS`` dict of its track's ``checks`` module.
CHECK_MODULES: dict[str, str] = {
    **{nn: "labkit.dp.checks" for nn in ("00", "01", "02", "03")},
    "04": "labkit.dp.training_checks", "05": "labkit.dp.training_checks",
    "06": "labkit.fl.checks", "07": "labkit.fl.checks", "08": "labkit.he.checks",
    "09": "labkit.smpc.checks", "10": "labkit.capstone.checks",
}


def exercise_ids(notebook: str) -> list[str]:
    """The exercise ids registered for a notebook number such as ``"02"`` (empty if it has none).

    Raises:
        TypeError, ValueError: ``notebook`` is not two digits such as ``"02"``.
    """
    if not isinstance(notebook, str):
        raise TypeError(f"notebook must be a notebook number of two digits such as '02'; got {notebook!r} "
                        f"({type(notebook).__name__})")
    if not re.fullmatch(r"\d\d", notebook):
        raise ValueError(f"notebook must be a notebook number of two digits such as '02'; got {notebook!r}")
    if notebook not in CHECK_MODULES:
        return []
    checks = importlib.import_module(CHECK_MODULES[notebook]).CHECKS
    return sorted(e for e in checks if e.startswith(notebook + "."))


def exercise_info(exercise: str) -> Exercise:
    """The registered :class:`Exercise` for an id such as ``"02.1"``: checker, kind, level and minutes."""
    m = _ID.match(exercise) if isinstance(exercise, str) else None
    if not m:
        raise ValueError(f"exercise must look like 'NN.k' (for example '02.1'); got {exercise!r}")
    ids = exercise_ids(m.group(1))
    if not ids:
        raise ValueError(f"no exercises are registered for notebook {m.group(1)}")
    v.choice("exercise", exercise, ids)
    entry = importlib.import_module(CHECK_MODULES[m.group(1)]).CHECKS[exercise]
    if not isinstance(entry, Exercise):
        raise TypeError(f"exercise {exercise} is registered as {type(entry).__name__}, not as an Exercise "
                        "(checker, kind, level, minutes)")
    return entry


def checker_for(exercise: str) -> Callable[[Any], str | None]:
    """The checker registered for an exercise id such as ``"02.1"``."""
    return exercise_info(exercise).checker


def exercise_label(exercise: str) -> str:
    """The kind, level and time of an exercise as its heading states them: ``"build, core, about 10 min"``."""
    return exercise_info(exercise).label


# Failed tries in a row, per exercise, in this kernel: the second one in a row also shows how to fix it.
_failed_tries: dict[str, int] = {}


def check(exercise: str, answer: Any, hint: bool = False) -> ExerciseResult:
    """Run the checks of ``exercise`` on the learner's ``answer`` and report, never raising.

    A checker returns an optional sentence shown on success, or raises :class:`Hint`. The first failed
    try says what is wrong; the second failed try in a row, or ``hint=True``, also says how to fix it.
    Introduced in ``00-index.ipynb``; every notebook's exercises end with it.
    """
    checker = checker_for(exercise)
    v.flag("hint", hint)
    try:
        note = checker(answer)
    except NotImplementedError:
        return ExerciseResult(exercise, False,
                              tr("Not attempted yet: replace the `raise NotImplementedError` with your code."))
    except Hint as err:
        tries = _failed_tries[exercise] = _failed_tries.get(exercise, 0) + 1
        feedback = str(err)
        if err.fix and (hint or tries >= 2):
            feedback = tr("{hint} How to fix it: {fix}").format(hint=feedback, fix=err.fix)
        elif err.fix:
            feedback = tr("{hint} (Run this check again, or check({exercise!r}, ..., hint=True) in a new cell, to see "
                          "how to fix it.)").format(hint=feedback, exercise=exercise)
        return ExerciseResult(exercise, False, feedback)
    except Exception as err:  # the learner's code failed: say how, without a traceback
        _failed_tries[exercise] = _failed_tries.get(exercise, 0) + 1
        return ExerciseResult(exercise, False, tr("Your code raised {error}: {message}").format(
            error=type(err).__name__, message=err))
    _failed_tries.pop(exercise, None)
    return ExerciseResult(exercise, True, note or "")


def require(condition: bool, hint: str, fix: str | None = None) -> None:
    """Raise :class:`Hint` with ``hint`` (what is wrong) and ``fix`` (how to fix it) unless ``condition`` holds.

    ``condition`` is a bool (a NumPy bool, or a one-element boolean array, too); anything else is a
    checker's mistake (a string or a number is always "true") and raises TypeError, as does a
    ``hint`` that is not a string.
    """
    import numpy as np

    if not isinstance(hint, str):
        raise TypeError(f"hint must be a sentence (a str); got {hint!r} ({type(hint).__name__})")
    if fix is not None and not isinstance(fix, str):
        raise TypeError(f"fix must be a sentence (a str) or None; got {fix!r} ({type(fix).__name__})")
    if not (v.is_bool(condition) or (isinstance(condition, np.ndarray) and condition.dtype == bool
                                     and condition.size == 1)):
        raise TypeError(f"condition must be True or False; got {condition!r} ({type(condition).__name__})"[:200])
    if not condition:
        raise Hint(hint, fix)


def require_number(got: Any, what: str) -> float:
    """``got`` as a float, or a :class:`Hint` saying that ``what`` must be one finite real number.

    Accepts Python and NumPy scalars of any real dtype (``np.int64``, ``np.float32``) and 0-d arrays;
    rejects ``None``, bools, strings, arrays with more than one value, NaN and infinities.
    """
    import numpy as np

    if not isinstance(what, str):
        raise TypeError(f"what must name the expected number (a str); got {what!r} ({type(what).__name__})")
    what = tr(what)  # a checker's English noun phrase (core.po holds the ones the checks pass)
    require(got is not None, tr("return {what} as one number; your function returned None").format(what=what))
    ok = v.is_real(got) or (isinstance(got, np.ndarray) and got.ndim == 0 and np.issubdtype(got.dtype, np.number))
    if isinstance(got, np.ndarray):
        require(ok, tr("return {what} as one number; got {kind} of shape {shape}").format(
            what=what, kind=type(got).__name__, shape=np.shape(got)))
    require(ok, tr("return {what} as one number; got {kind}").format(what=what, kind=type(got).__name__))
    value = float(got)
    require(math.isfinite(value), tr("return {what} as a finite number; got {value}").format(what=what, value=value))
    return value


def require_names_and_fix(out: Any, suspects: Sequence[str], noun: str) -> tuple[set[str], Any]:
    """The answer of a find-the-bug exercise: ``(set of broken suspects' names, one fixed implementation)``.

    Raises :class:`Hint` (with a fix) unless ``out`` is a pair whose first item is a set (or list) of
    strings naming some of ``suspects``; ``noun`` is what a suspect is (``"step"``, ``"round"``).
    Returns the names (stripped) and the second item, which the exercise's checker then tests.
    """
    if not isinstance(noun, str) or not noun:
        raise TypeError(f"noun must name what a suspect is (a non-empty str); got {noun!r} ({type(noun).__name__})")
    if (isinstance(suspects, str) or not isinstance(suspects, Sequence) or not suspects
            or not all(isinstance(x, str) for x in suspects)):
        raise TypeError(f"suspects must be a non-empty list of names (str); got {suspects!r}"[:200])
    example = suspects[0]
    ident, noun = noun, tr(noun)  # the English noun names the fixed function; the learner reads the translation
    require(isinstance(out, tuple) and len(out) == 2,
            tr("return two things, the names of the broken {noun}s and one fixed {noun}; got {kind}").format(
                noun=noun, kind=type(out).__name__),
            fix=tr('end with return {{"{example}", ...}}, fixed_{ident}').format(example=example, ident=ident))
    broken, fixed = out
    require(isinstance(broken, (set, frozenset, list, tuple)) and all(isinstance(b, str) for b in broken),
            tr("the first thing returned must be a set of {noun} names such as {example!r}").format(
                noun=noun, example=example),
            fix=tr('write the names as strings in a set: {{"{example}", ...}}').format(example=example))
    names = {b.strip() for b in broken}
    unknown = sorted(names - set(suspects))
    require(not unknown, tr("unknown {noun} names {unknown}; the {noun}s are {suspects}").format(
                noun=noun, unknown=unknown, suspects=", ".join(suspects)),
            fix=tr("use the function names of the {count} {noun}s, as strings").format(count=len(suspects), noun=noun))
    return names, fixed
