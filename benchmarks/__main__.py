"""``python -m benchmarks [topic ...]``: run benchmark modules and update RESULTS.md."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
from pathlib import Path

from benchmarks.harness import Comparison, Measurement, run_comparison, run_measurement

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = re.compile(r"^## (\S+)\n(.*?)(?=^## |\Z)", re.S | re.M)


def machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover
        mem = "? GiB"
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def run_topic(topic: str) -> str:
    module = importlib.import_module(f"benchmarks.bench_{topic}")
    comparisons, measurements = [], []
    for row in getattr(module, "rows", list)():
        print(f"  {topic}: {row.name}", flush=True)
        if isinstance(row, Comparison):
            comparisons.append(run_comparison(row))
        elif isinstance(row, Measurement):
            measurements.append(run_measurement(row))
    # a module with tables of its own (bench_browser) defines markdown() -> the section's Markdown
    custom = module.markdown() if hasattr(module, "markdown") else ""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"## {topic}\n", f"{(module.__doc__ or '').strip()}\n", f"Run {stamp} on {machine()}.\n"]
    if comparisons:
        parts.append(table(["what", "ours (median)", "baseline (median)", "ours / baseline", "runs", "note"], comparisons) + "\n")
    if measurements:
        parts.append(table(["what", "measured", "budget", "note"], measurements) + "\n")
    if custom:
        parts.append(custom)
    return "\n".join(parts) + "\n"


def topics() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("topics", nargs="*", help=f"default: all of {topics()}")
    args = parser.parse_args(argv)
    chosen = args.topics or topics()
    unknown = sorted(set(chosen) - set(topics()))
    if unknown:
        parser.error(f"topics must be among {topics()}; got {unknown}")
    from labkit.runtime import quiet_environment

    quiet_environment()
    existing = dict(SECTION.findall(RESULTS.read_text())) if RESULTS.is_file() else {}
    sections = {k: f"## {k}\n{v}" for k, v in existing.items()}
    for topic in chosen:
        print(f"benchmark {topic}", flush=True)
        sections[topic] = run_topic(topic)
    header = ("# Benchmark results\n\nWritten by `make bench` (`python -m benchmarks [topic ...]`). Ratios are ours / "
              "baseline, medians of runs alternated in one process on a shared, noisy machine: read them as "
              "rough factors, not exact speeds. Measurements stand beside their budget.\n\n")
    RESULTS.write_text(header + "".join(sections[k].rstrip() + "\n\n" for k in sorted(sections)))
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
