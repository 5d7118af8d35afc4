"""Checks for the exercises in ``01-deidentification.ipynb``."""

from __future__ import annotations

import numpy as np

from labkit.exercises import require, require_number


_CASES = ([1, 2, 3, 4], [5, 5, 5], [1, 1, 2, 3, 3, 3, 4], [9], [2, 7, 2, 8, 7, 1])


def _unique_share(fn) -> str:
    for keys in _CASES:
        expected = sum(keys.count(k) == 1 for k in keys) / len(keys)
        got = require_number(fn(np.array(keys)), "a share")
        require(got <= 1, f"return a share between 0 and 1, not a count: keys {keys} gave {got:g}")
        require(abs(got - expected) < 1e-6,
                f"keys {keys}: {expected:.3g} of the records have a key nobody else has, you returned {got}. "
                "Count records whose key occurs exactly once, not distinct keys")
    return "You can measure uniqueness on any set of quasi-identifiers."


def _k_anonymity(fn) -> str:
    for keys in _CASES:
        expected = min(keys.count(k) for k in keys)
        got = require_number(fn(np.array(keys)), "the size of the smallest group")
        require(got.is_integer(), f"keys {keys}: k is a whole number of records, you returned {got:g}")
        require(got == expected, f"keys {keys}: the smallest group has {expected} record(s), you returned {got:g}")
    return "A table is k-anonymous for the size of its smallest group."


CHECKS = {"01.1": _unique_share, "01.2": _k_anonymity}
