"""Auto-checked exercises (introduced in ``00-index.ipynb``, used by every notebook).

Each notebook's exercises live in ``labkit/<track>/checks.py`` as a dict ``CHECKS`` mapping an
exercise id (``"02.1"``) to a checker. A checker calls the learner's answer with property tests
and raises :class:`Hint` naming what went wrong; it must be able to fail (the tests prove that it
rejects the stub and a typical wrong answer, and accepts the solution). In a notebook::

    from labkit.exercises import check
    check("02.1", my_function)

shows ``Exercise 02.1: passed`` or ``Exercise 02.1: not yet - <hint>``. A check never raises, so a
student copy runs top to bottom while exercises are still open.

In the instructor notebooks each solution sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION``; student copies replace it with ``raise NotImplementedError``.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from html import escape
from typing import Any, Callable

from labkit import _validate as v

_ID = re.compile(r"^(\d\d)\.(\d+)$")


class Hint(AssertionError):
    """Raised by a checker: the message tells the learner what went wrong."""


@dataclass(frozen=True)
class ExerciseResult:
    exercise: str
    passed: bool
    feedback: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        if self.passed:
            return f"Exercise {self.exercise}: passed. {self.feedback}".rstrip()
        return f"Exercise {self.exercise}: not yet. {self.feedback}"

    def _repr_html_(self) -> str:
        colour = "#009E73" if self.passed else "#D55E00"
        mark = "passed" if self.passed else "not yet"
        return (f"<div style='border-left:4px solid {colour};padding:2px 8px'><b>Exercise {escape(self.exercise)}: "
                f"{mark}.</b> {escape(self.feedback)}</div>")


# Where each notebook's checks live: the ``CHECKS`` dict of its track's ``checks`` module.
CHECK_MODULES: dict[str, str] = {
    **{nn: "labkit.dp.checks" for nn in ("00", "01", "02", "03", "04", "05")},
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


def checker_for(exercise: str) -> Callable[[Any], str | None]:
    """The checker registered for an exercise id such as ``"02.1"``."""
    m = _ID.match(exercise) if isinstance(exercise, str) else None
    if not m:
        raise ValueError(f"exercise must look like 'NN.k' (for example '02.1'); got {exercise!r}")
    ids = exercise_ids(m.group(1))
    if not ids:
        raise ValueError(f"no exercises are registered for notebook {m.group(1)}")
    v.choice("exercise", exercise, ids)
    return importlib.import_module(CHECK_MODULES[m.group(1)]).CHECKS[exercise]


def check(exercise: str, answer: Any) -> ExerciseResult:
    """Run the checks of ``exercise`` on the learner's ``answer`` and report, never raising.

    A checker returns an optional sentence shown on success, or raises :class:`Hint`.
    Introduced in ``00-index.ipynb``; every notebook's exercises end with it.
    """
    checker = checker_for(exercise)
    try:
        note = checker(answer)
    except NotImplementedError:
        return ExerciseResult(exercise, False, "Not attempted yet: replace the `raise NotImplementedError` with your code.")
    except Hint as hint:
        return ExerciseResult(exercise, False, str(hint))
    except Exception as err:  # the learner's code failed: say how, without a traceback
        return ExerciseResult(exercise, False, f"Your code raised {type(err).__name__}: {err}")
    return ExerciseResult(exercise, True, note or "")


def require(condition: bool, hint: str) -> None:
    """Raise :class:`Hint` with ``hint`` unless ``condition`` holds (for writing checkers).

    ``condition`` is a bool (a NumPy bool, or a one-element boolean array, too); anything else is a
    checker's mistake (a string or a number is always "true") and raises TypeError, as does a
    ``hint`` that is not a string.
    """
    import numpy as np

    if not isinstance(hint, str):
        raise TypeError(f"hint must be a sentence (a str); got {hint!r} ({type(hint).__name__})")
    if not (v.is_bool(condition) or (isinstance(condition, np.ndarray) and condition.dtype == bool
                                     and condition.size == 1)):
        raise TypeError(f"condition must be True or False; got {condition!r} ({type(condition).__name__})"[:200])
    if not condition:
        raise Hint(hint)


def require_number(got: Any, what: str) -> float:
    """``got`` as a float, or a :class:`Hint` saying that ``what`` must be one finite real number.

    Accepts Python and NumPy scalars of any real dtype (``np.int64``, ``np.float32``) and 0-d arrays;
    rejects ``None``, bools, strings, arrays with more than one value, NaN and infinities.
    """
    import numpy as np

    if not isinstance(what, str):
        raise TypeError(f"what must name the expected number (a str); got {what!r} ({type(what).__name__})")
    require(got is not None, f"return {what} as one number; your function returned None")
    ok = v.is_real(got) or (isinstance(got, np.ndarray) and got.ndim == 0 and np.issubdtype(got.dtype, np.number))
    require(ok, f"return {what} as one number; got {type(got).__name__}"
                + (f" of shape {np.shape(got)}" if isinstance(got, np.ndarray) else ""))
    value = float(got)
    require(math.isfinite(value), f"return {what} as a finite number; got {value}")
    return value
