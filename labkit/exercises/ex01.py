"""Checks for the exercises in ``01-deidentification.ipynb``."""

from __future__ import annotations

import math
import numbers

import numpy as np

from labkit.exercises import require

def _number(got, what: str) -> float:
    """``got`` as a float, or a Hint when it is not one real number (None, an array, a bool)."""
    ok = isinstance(got, numbers.Real) and not isinstance(got, (bool, np.bool_))
    ok = ok or (isinstance(got, np.ndarray) and got.ndim == 0 and np.issubdtype(got.dtype, np.number))
    require(ok, f"return {what} (one number); got {type(got).__name__}")
    value = float(got)
    require(math.isfinite(value), f"return a finite number; got {value}")
    return value


_CASES = ([1, 2, 3, 4], [5, 5, 5], [1, 1, 2, 3, 3, 3, 4], [9], [2, 7, 2, 8, 7, 1])


def _unique_share(fn) -> str:
    for keys in _CASES:
        expected = sum(keys.count(k) == 1 for k in keys) / len(keys)
        got = _number(fn(np.array(keys)), "a share")
        require(got <= 1, f"return a share between 0 and 1, not a count: keys {keys} gave {got:g}")
        require(abs(got - expected) < 1e-6,
                f"keys {keys}: {expected:.3g} of the records have a key nobody else has, you returned {got}. "
                "Count records whose key occurs exactly once, not distinct keys")
    return "You can measure uniqueness on any set of quasi-identifiers."


def _k_anonymity(fn) -> str:
    for keys in _CASES:
        expected = min(keys.count(k) for k in keys)
        got = _number(fn(np.array(keys)), "the size of the smallest group")
        require(got.is_integer(), f"keys {keys}: k is a whole number of records, you returned {got:g}")
        require(got == expected, f"keys {keys}: the smallest group has {expected} record(s), you returned {got:g}")
    return "A table is k-anonymous for the size of its smallest group."


CHECKS = {"01.1": _unique_share, "01.2": _k_anonymity}
