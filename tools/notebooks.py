"""Execute the lab's notebooks and check their stored outputs.

``make notebooks`` runs ``python -m tools.notebooks execute notebooks/*.ipynb``: each notebook
runs top to bottom in a fresh kernel from this environment, and its outputs are stored in place.
The same runner measures each notebook's wall time and the kernel's peak memory for
``benchmarks/``. :func:`hygiene_problems` is the output check that ``tests/`` enforces.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

NOTEBOOK_NAME = re.compile(r"^\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$")
IGNORE_MARK = "# NBVAL_IGNORE_OUTPUT"
USES_MARK = "# This notebook uses labkit"  # how the first code cell after Setup names what it uses
MAX_IGNORED_SHARE = 0.25  # at most a quarter of a notebook's code cells may skip comparison
_BAD_OUTPUT = re.compile(
    r"(/tmp/|/root/|/home/|/work/|/Users/|[A-Za-z]:\\\\|site-packages|at 0x[0-9a-fA-F]{6,}|"
    r"Traceback \(most recent call last\)|tensorflow/core|cuda_|TF-TRT|oneDNN)"
)


@dataclass(frozen=True)
class RunReport:
    """What executing one notebook cost: wall seconds and the kernel's peak resident memory."""

    path: str
    seconds: float
    peak_mb: float


def _kernel_peak_mb(client) -> float:
    pid = getattr(client.km.provisioner, "pid", None)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return float("nan")


def execute(path: str | Path, *, store: bool = True, timeout: int = 600) -> RunReport:
    """Run a notebook top to bottom in a fresh kernel from this environment.

    Args:
        path: the ``.ipynb`` file; it runs with its own folder as the working directory.
        store: write the executed notebook (with outputs) back in place.
        timeout: seconds a single cell may take.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
        allow_errors=False,
    )
    start = time.perf_counter()
    with client.setup_kernel():
        # What JupyterLab writes when it connects to the kernel: store it, so that opening the notebook
        # and letting it autosave does not rewrite the file (and `git status` stays clean).
        info = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = info["content"]["language_info"]
        nb.metadata["kernelspec"] = kernelspec()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        peak = _kernel_peak_mb(client)
        client.set_widgets_metadata()
    seconds = time.perf_counter() - start
    if store:
        nbformat.write(nb, path)
    return RunReport(path=path.name, seconds=seconds, peak_mb=peak)


# The kernel's language_info, as ipykernel reports it and JupyterLab stores it.
LANGUAGE_INFO_KEYS = frozenset({"codemirror_mode", "file_extension", "mimetype", "name", "nbconvert_exporter",
                                "pygments_lexer", "version"})


def kernelspec() -> dict[str, str]:
    """The ``kernelspec`` metadata JupyterLab writes for this environment's ``python3`` kernel."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {"display_name": spec.display_name, "language": spec.language, "name": "python3"}


def hygiene_problems(path: str | Path) -> list[str]:
    """Everything in a stored notebook that breaks the lab's output conventions.

    Checks: the ``NN-slug.ipynb`` name; a Setup cell calling ``labkit.setup``, then a code cell that
    opens by naming the labkit package it uses (``# This notebook uses labkit...``); no ``pip install``;
    every code cell executed, in order 1, 2, 3...; no stderr, errors, absolute paths, memory
    addresses or TF log lines in outputs; ``# NBVAL_IGNORE_OUTPUT`` on few cells.
    """
    path = Path(path)
    problems: list[str] = []
    if not NOTEBOOK_NAME.match(path.name):
        problems.append(f"{path.name}: name is not NN-slug.ipynb")
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) for c in code]
    if not any("labkit.setup(" in s for s in sources[:2]):
        problems.append(f"{path.name}: no Setup cell calling labkit.setup() among the first code cells")
    setup = next((i for i, src in enumerate(sources) if "labkit.setup(" in src), None)
    if setup is not None and not (setup + 1 < len(sources) and sources[setup + 1].startswith(USES_MARK)):
        problems.append(f"{path.name}: the first code cell after Setup must open with {USES_MARK!r}... "
                        "naming the labkit package (and modules) the notebook uses")
    if nb.get("metadata", {}).get("kernelspec") != kernelspec():
        problems.append(f"{path.name}: metadata.kernelspec is {nb.get('metadata', {}).get('kernelspec')}, not {kernelspec()} "
                        "as JupyterLab writes it on opening (run `make notebooks`)")
    language = nb.get("metadata", {}).get("language_info", {})
    missing = sorted(LANGUAGE_INFO_KEYS - set(language))
    if missing:
        problems.append(f"{path.name}: metadata.language_info lacks {missing}: JupyterLab would add them on opening "
                        "and mark the notebook changed (run `make notebooks`)")
    for i, (cell, src) in enumerate(zip(code, sources), start=1):
        where = f"{path.name} code cell {i}"
        if re.search(r"(^|\n)\s*[%!]?\s*pip install", src):
            problems.append(f"{where}: has a pip install (the environment is the project's job)")
        if cell.get("execution_count") != i:
            problems.append(f"{where}: execution_count {cell.get('execution_count')}, expected {i} (run `make notebooks`)")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"{where}: stored an error ({out.get('ename')})")
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                problems.append(f"{where}: writes to stderr: {''.join(out.get('text', ''))[:80]!r}")
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            text += "".join(out.get("data", {}).get("text/html", ""))
            bad = _BAD_OUTPUT.search(text)
            if bad:
                problems.append(f"{where}: output holds {bad.group(0)!r}")
    ignored = sum(src.lstrip().startswith(IGNORE_MARK) for src in sources)
    if code and ignored > max(2, MAX_IGNORED_SHARE * len(code)):
        problems.append(f"{path.name}: {ignored} of {len(code)} code cells skip output comparison (too many)")
    return problems


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.notebooks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute notebooks in place, storing their outputs")
    run.add_argument("paths", nargs="+")
    check = sub.add_parser("check", help="report output-hygiene problems")
    check.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "execute":
        from labkit.runtime import quiet_environment

        quiet_environment()  # inherited by the kernels
        for p in args.paths:
            report = execute(p)
            print(f"{report.path}: {report.seconds:.1f} s, kernel peak {report.peak_mb:.0f} MB", flush=True)
        return 0
    problems = [p for path in args.paths for p in hygiene_problems(path)]
    print("\n".join(problems) or "clean")
    return 1 if problems else 0



if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
