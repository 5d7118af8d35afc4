"""One vocabulary of argument checks for every public labkit function.

Each check returns the value in its checked form (a Python ``int`` or ``float``, a NumPy
``Generator``) or raises an error whose message has one shape everywhere::

    <name> must be <what is valid>; got <the value>

``TypeError`` when the kind is wrong (a string for a count, a bool for a number), ``ValueError``
when the kind is right but the value is not (a negative count, NaN, delta outside (0, 1)).
Bools are never numbers here: ``True`` is not the count 1.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def is_bool(value: Any) -> bool:
    """True for a Python or NumPy bool (the test behind :func:`flag`)."""
    return _is_bool(value)


def is_real(value: Any) -> bool:
    """True for a Python or NumPy real number that is not a bool (the test behind :func:`real`)."""
    return not _is_bool(value) and isinstance(value, numbers.Real)


def is_integer(value: Any) -> bool:
    """True for a Python or NumPy integer that is not a bool (the test behind :func:`integer`)."""
    return not _is_bool(value) and isinstance(value, numbers.Integral)


def real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float: a real number, not NaN, finite unless ``finite=False``, within the bounds.

    ``low`` / ``high`` are inclusive unless ``low_open`` / ``high_open``.
    """
    if not is_real(value):
        raise TypeError(f"{name} must be a real number; got {_got(value)} ({type(value).__name__})")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number; got nan")
    if finite and math.isinf(v):
        raise ValueError(f"{name} must be a finite number; got {v}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be in {interval}; got {_got(value)}")
    return v


def positive(name: str, value: Any, *, finite: bool = True) -> float:
    """A real number > 0 (finite unless ``finite=False``)."""
    return real(name, value, low=0.0, low_open=True, finite=finite)


def nonnegative(name: str, value: Any, *, finite: bool = True) -> float:
    """A real number >= 0 (finite unless ``finite=False``)."""
    return real(name, value, low=0.0, finite=finite)


def probability(name: str, value: Any, *, zero: bool = False, one: bool = False) -> float:
    """A probability in (0, 1), with 0 and/or 1 allowed when ``zero`` / ``one``."""
    return real(name, value, low=0.0, high=1.0, low_open=not zero, high_open=not one)


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int: a Python or NumPy integer (not a bool, not a float), within the bounds."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer; got {_got(value)} ({type(value).__name__})")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        if maximum is None:
            what = f"an integer >= {minimum}"
        elif minimum is None:
            what = f"an integer <= {maximum}"
        else:
            what = f"an integer from {minimum} to {maximum}"
        raise ValueError(f"{name} must be {what}; got {v}")
    return v


def count(name: str, value: Any, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A count: an integer >= ``minimum`` (1 by default) and at most ``maximum``."""
    return integer(name, value, minimum=minimum, maximum=maximum)


def flag(name: str, value: Any) -> bool:
    """A switch: ``True`` or ``False`` (a NumPy bool too), never a number, a string or ``None``."""
    if not is_bool(value):
        raise TypeError(f"{name} must be True or False; got {_got(value)} ({type(value).__name__})")
    return bool(value)


def choice(name: str, value: Any, options: Iterable[Any]) -> Any:
    """One of ``options``."""
    options = tuple(options)
    if _is_bool(value) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {_got(value)}")
    return value


def generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """A NumPy ``Generator`` from a Generator, a non-negative integer seed, or ``None``.

    ``None`` draws a fresh seed from the operating system's entropy: what privacy needs. A seed
    makes a demonstration reproducible, and gives no privacy to anyone who knows it.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if is_integer(rng):
        if rng < 0:
            raise ValueError(f"{name} must be a numpy.random.Generator, an integer seed >= 0 or None; got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator, an integer seed >= 0 or None; "
                    f"got {_got(rng)} ({type(rng).__name__})")


def number_array(name: str, value: Any, *, dtype: Any = np.float64, what: str = "an array of numbers") -> np.ndarray:
    """``value`` as a NumPy array of ``dtype``; a TypeError saying ``name must be <what>`` for None, a
    string or anything NumPy cannot read as numbers. Checks nothing else (see :func:`finite_array`)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be {what}; got {_got(value)}")
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {what}; got {_got(value)}") from None


def finite_array(name: str, value: Any, *, ndim: int | None = None, dtype: Any = np.float64,
                 allow_empty: bool = False) -> np.ndarray:
    """``value`` as a NumPy array of ``dtype`` holding only finite numbers (optionally of ``ndim`` dimensions)."""
    arr = number_array(name, value, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension{'s' if ndim != 1 else ''}; got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite numbers; got {int(np.sum(~np.isfinite(arr)))} NaN or inf")
    return arr


def same_length(**arrays: Any) -> int:
    """The common length of the named sequences; a ValueError naming them when they differ."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"{' and '.join(lengths)} must have the same length; got {listed}")
    return next(iter(lengths.values()), 0)
