"""Checks for the exercise in ``00-index.ipynb``."""

from __future__ import annotations

from labkit.exercises import require


def _count_sensitivity(fn) -> str:
    value = fn()
    require(isinstance(value, (int, float)), f"return a number; got {type(value).__name__}")
    require(value != 0, "a count changes when one person is added or removed, so its sensitivity is not 0")
    require(value == 1, f"adding or removing one person changes a count by at most 1, not {value}")
    return "A count has sensitivity 1."


CHECKS = {"00.1": _count_sensitivity}
