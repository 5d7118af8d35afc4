"""The bad-input campaign: every public labkit function, one bad argument at a time.

Each track lists its public functions in ``tests/<track>/calls_<track>.py`` as :class:`Call` specs: a
working call (every argument by name) and, per argument, the bad values that are *valid* there (a
documented result, with the reason). The engine replaces one argument at a time with each bad value
of its kind (NaN, infinities, negatives, zero, a float for a count, a bool, None, a string, a huge size,
empty or NaN-holding arrays, a wrong shape...), runs the call in a separate worker process with a time
limit, and classifies the outcome:

* ``clear``: ``ValueError``/``TypeError`` (or ``labkit.data.DataFileError``) whose message names the
  argument;
* ``documented``: the call returned, and this kind of value is listed as valid for that argument;
* ``unclear``: any other exception, or an error that does not name the argument;
* ``silent``: the call returned a result for a value that is not valid there;
* ``hang``: no answer within the time limit (the worker is killed and restarted).

``python tests/campaign.py [track ...]`` prints the totals and every offender.
"""

from __future__ import annotations

import importlib
import inspect
import math
import multiprocessing as mp
import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

TRACKS = ("dp", "fl", "he", "smpc", "capstone", "shared")
OUTCOMES = ("clear", "documented", "unclear", "silent", "hang")


@dataclass(frozen=True)
class Fresh:
    """An argument built anew for every call (a model, a key, a generator, data to be mutated)."""

    make: Callable[[], Any]


@dataclass(frozen=True)
class Call:
    """One public function and a working call of it.

    Attributes:
        target: ``"module:name"`` or ``"module:Class.method"`` (the method is called on
            ``self_kwargs``-built ``Class(**self_kwargs)``), for example ``"labkit.dp:laplace_mechanism"``.
        kwargs: a working call, every argument by name; :class:`Fresh` values are rebuilt per call.
        accepts: per argument, the kinds of bad value that are valid there (see :data:`KINDS`), each
            a documented result; give the reason in a comment beside it.
        skip: per argument, why it is not walked (for example a callback, or an object built by
            another labkit function).
        kinds: per argument, the kind family to use when the base value's type does not say it
            (``"real"``, ``"count"``, ``"array"``, ``"rng"``, ``"choice"``, ``"object"``).
        timeout: seconds one call may take.
    """

    target: str
    kwargs: dict[str, Any]
    accepts: dict[str, set[str]] = field(default_factory=dict)
    skip: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    self_kwargs: dict[str, Any] = field(default_factory=dict)
    timeout: float = 20.0
    nonfinite_ok: set[str] = field(default_factory=set)  # accepted values of these arguments may give inf/NaN (documented)


# The bad values of each family, by kind name.
KINDS: dict[str, dict[str, Any]] = {
    "real": {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "negative": -1.0, "zero": 0.0,
             "huge": 1e300, "bool": True, "none": None, "string": "1"},
    "count": {"negative": -1, "zero": 0, "fraction": 2.5, "nan": math.nan, "bool": True, "none": None,
              "string": "3", "huge": 10**9},
    "array": {"empty": np.zeros(0), "nan_entry": "nan_entry", "inf_entry": "inf_entry", "scalar": 1.0,
              "extra_axis": "extra_axis", "none": None, "string": "abc"},
    "rng": {"string": "seed", "negative": -1, "fraction": 2.5, "nan": math.nan, "bool": True},
    "choice": {"unknown": "no-such-option", "none": None, "number": 3},
    "object": {"none": None, "string": "abc", "number": 3},
}


def family(value: Any) -> str:
    """The kind family of a base value."""
    if isinstance(value, np.random.Generator):
        return "rng"
    if isinstance(value, (bool, np.bool_)):
        return "object"
    if isinstance(value, (int, np.integer)):
        return "count"
    if isinstance(value, (float, np.floating)):
        return "real"
    if isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and value and
                                         all(isinstance(x, (int, float, np.number)) for x in value)):
        return "array"
    if isinstance(value, str):
        return "choice"
    return "object"


def bad_value(base: Any, kind: str, value: Any) -> Any:
    """The bad value of ``kind`` shaped after ``base`` (for array kinds that depend on it)."""
    if isinstance(value, str) and value in ("nan_entry", "inf_entry", "extra_axis"):
        arr = np.array(base, dtype=np.float64, copy=True)
        if value == "extra_axis":
            return arr[None, ...]
        if arr.size:
            arr.flat[arr.size // 2] = math.nan if value == "nan_entry" else math.inf
        return arr
    return value


def resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _build(value: Any) -> Any:
    return value.make() if isinstance(value, Fresh) else value


_KIND_VALUE = object()


def _run_one(call: Call, param: str | None, kind: str | None, value: Any = _KIND_VALUE) -> tuple[str, str]:
    """Run ``call`` with ``param`` replaced by the bad value ``kind`` (or by ``value``, a drawn example of
    that kind); return (exception type or "", message)."""
    kwargs = {k: _build(v) for k, v in call.kwargs.items()}
    if param is not None:
        fam = call.kinds.get(param) or family(kwargs[param])
        template = KINDS[fam][kind] if value is _KIND_VALUE else value
        kwargs[param] = bad_value(kwargs[param], kind, template)
    target = call.target
    module, _, name = target.partition(":")
    if "." in name and call.self_kwargs is not None and name.split(".")[0][:1].isupper() and call.self_kwargs:
        cls = resolve(f"{module}:{name.split('.')[0]}")
        obj = cls(**{k: _build(v) for k, v in call.self_kwargs.items()})
        fn = getattr(obj, name.split(".", 1)[1])
    else:
        fn = resolve(target)
    try:
        out = fn(**kwargs)
    except Exception as err:  # noqa: BLE001 - classifying every exception is the point
        return type(err).__name__ + ("|clear-type" if _clear_type(err) else ""), str(err)
    return "", ("nonfinite" if _nonfinite(out) else "")


def _nonfinite(out: Any, depth: int = 0) -> bool:
    """Whether a returned value holds NaN or an infinity (numbers, arrays, and lists, tuples or dict values of them)."""
    if depth > 3:
        return False
    if isinstance(out, (bool, np.bool_)):
        return False
    if isinstance(out, (int, float, np.number)):
        return not math.isfinite(float(out)) if isinstance(out, (float, np.floating)) else False
    if isinstance(out, np.ndarray) and np.issubdtype(out.dtype, np.floating):
        return bool(out.size) and not bool(np.all(np.isfinite(out)))
    if isinstance(out, (list, tuple)):
        return any(_nonfinite(x, depth + 1) for x in out[:64])
    if isinstance(out, dict):
        return any(_nonfinite(x, depth + 1) for x in list(out.values())[:64])
    return False


def _clear_type(err: BaseException) -> bool:
    if isinstance(err, (ValueError, TypeError)):
        return True
    return type(err).__name__ == "DataFileError"


def _worker(conn, specs_modules: list[str]) -> None:  # pragma: no cover - runs in the child
    import os
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.simplefilter("ignore")
    specs = {m: importlib.import_module(m).CALLS for m in specs_modules}
    while True:
        msg = conn.recv()
        if msg is None:
            return
        module, index, param, kind, *value = msg
        try:
            conn.send(_run_one(specs[module][index], param, kind, *value))
        except BaseException as err:  # the spec itself failed
            conn.send(("SpecError", "".join(traceback.format_exception_only(type(err), err)).strip()))


@dataclass
class Result:
    target: str
    param: str | None
    kind: str | None
    outcome: str
    detail: str


class Runner:
    """A worker process (spawned: no state shared with the test process) that runs calls with a time limit."""

    def __init__(self, spec_modules: list[str]):
        self.spec_modules = spec_modules
        self.ctx = mp.get_context("spawn")
        self.proc = None
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.spec_modules), daemon=True)
        self.proc.start()

    def _restart(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self._start()

    def run(self, module: str, index: int, param: str | None, kind: str | None, timeout: float,
            *value: Any) -> tuple[str, str] | None:
        self.conn.send((module, index, param, kind, *value))
        if not self.conn.poll(timeout):
            self._restart()
            return None
        try:
            return self.conn.recv()
        except EOFError:  # the worker died (a crash in C code)
            self._restart()
            return ("WorkerDied", "the worker process died")

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)


def classify(call: Call, param: str, kind: str, answer: tuple[str, str] | None) -> tuple[str, str]:
    if answer is None:
        return "hang", f"no answer within {call.timeout:g} s"
    etype, message = answer
    if not etype:
        if message == "nonfinite" and param not in call.nonfinite_ok:
            return "silent", "returned a result holding NaN or inf"
        return ("documented", "") if kind in call.accepts.get(param, set()) else ("silent", "returned a result")
    names = {param} | ({"rng", "seed"} if param in ("rng", "seed") else set())
    if etype.endswith("|clear-type") and any(n in message for n in names):
        return "clear", ""
    return "unclear", f"{etype.split('|')[0]}: {message[:160]}"


def walk(spec_modules: list[str], progress: bool = False) -> list[Result]:
    """Run every spec's working call, then every (argument, bad value); return all results."""
    runner = Runner(spec_modules)
    results: list[Result] = []
    try:
        for module in spec_modules:
            calls = importlib.import_module(module).CALLS
            for index, call in enumerate(calls):
                base = runner.run(module, index, None, None, call.timeout)
                if base is None or base[0]:
                    results.append(Result(call.target, None, None, "broken-spec",
                                          "the working call failed: " + (base[1] if base else "timed out")))
                    continue
                for param, value in call.kwargs.items():
                    if param in call.skip:
                        continue
                    value = _build(value)
                    fam = call.kinds.get(param) or family(value)
                    for kind in KINDS[fam]:
                        outcome, detail = classify(call, param, kind, runner.run(module, index, param, kind, call.timeout))
                        results.append(Result(call.target, param, kind, outcome, detail))
                if progress:
                    print(f"  {call.target}", file=sys.stderr, flush=True)
    finally:
        runner.close()
    return results


def public_functions(package: str = "labkit") -> list[str]:
    """Every public function and class defined in a labkit module, as ``"module:name"``."""
    import pkgutil

    root = importlib.import_module(package)
    found = []
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name.endswith("mpyc_demo"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) == info.name:
                found.append(f"{info.name}:{name}")
    return sorted(found)


def summary(results: list[Result]) -> Counter:
    return Counter(r.outcome for r in results)


def report(results: list[Result]) -> str:
    lines = []
    by_module: dict[str, Counter] = {}
    for r in results:
        by_module.setdefault(r.target.split(":")[0], Counter())[r.outcome] += 1
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        good = counts["clear"] + counts["documented"]
        lines.append(f"{module:32s} {total:5d} calls  {100 * good / max(total, 1):5.1f}% clear or documented  "
                     + "  ".join(f"{o} {counts[o]}" for o in (*OUTCOMES, "broken-spec") if counts[o]))
    total = summary(results)
    n = sum(total.values())
    lines.append(f"{'ALL':32s} {n:5d} calls  {100 * (total['clear'] + total['documented']) / max(n, 1):5.1f}% clear or "
                 "documented  " + "  ".join(f"{o} {total[o]}" for o in (*OUTCOMES, "broken-spec") if total[o]))
    bad = [r for r in results if r.outcome not in ("clear", "documented")]
    for r in bad:
        lines.append(f"  {r.outcome:11s} {r.target} {r.param}={r.kind}: {r.detail}")
    return "\n".join(lines)


def with_topic_files(spec_file: str, calls: list, excluded: dict) -> tuple[list, dict]:
    """A track's specs plus those of its topic files ``calls_<track>_<topic>.py`` beside it.

    A track's spec file ends with ``CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS,
    EXCLUDED)``, so that work on separate modules of one track keeps its specs in separate files.
    A name listed twice is an error: each public function has one spec.
    """
    here = Path(spec_file).resolve()
    if str(here.parent) not in sys.path:
        sys.path.insert(0, str(here.parent))
    calls, excluded = list(calls), dict(excluded)
    for topic in sorted(here.parent.glob(f"{here.stem}_*.py")):
        module = importlib.import_module(topic.stem)
        calls += list(getattr(module, "CALLS", []))
        twice = set(excluded) & set(getattr(module, "EXCLUDED", {}))
        if twice:
            raise ValueError(f"{topic.name} excludes names already excluded elsewhere: {sorted(twice)}")
        excluded.update(getattr(module, "EXCLUDED", {}))
    return calls, excluded


def spec_modules(tracks: list[str] | None = None) -> list[str]:
    here = Path(__file__).resolve().parent
    names = []
    for track in tracks or TRACKS:
        folder = here if track == "shared" else here / track
        if (folder / f"calls_{track}.py").is_file():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            names.append(f"calls_{track}")
    return names


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import campaign  # the specs import this module as ``campaign``: use that one, not ``__main__``

    print(campaign.report(campaign.walk(campaign.spec_modules(sys.argv[1:] or None), progress=True)))
