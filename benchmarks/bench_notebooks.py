"""Each notebook run top to bottom in a fresh kernel (as `make notebooks` does): wall time and
the kernel's peak resident memory (VmHWM). Budgets: about 60 s, at most 90 s; under 1.5 GB
(Binder allows about 2 GB). Outputs are not stored by this run."""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import Measurement

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def rows() -> list[Measurement]:
    from tools.notebooks import execute

    out: list[Measurement] = []
    for path in NOTEBOOKS:
        cache: dict = {}

        def run(path=path, cache=cache):
            cache["report"] = execute(path, store=False)
            return cache["report"].seconds

        out.append(Measurement(f"{path.name}: time", run, "s", "~60 s, max 90 s"))
        out.append(Measurement(f"{path.name}: kernel peak memory", lambda cache=cache: cache["report"].peak_mb, "MB", "< 1500 MB"))
    return out
