"""Student copies of the instructor notebooks, and the proof that every exercise check can fail.

``make student`` runs ``python -m tools.student``: every ``notebooks/NN-slug.ipynb`` is copied to
``student/NN-slug.ipynb`` with each solution (the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION``) replaced by a stub that raises :class:`NotImplementedError` at the
solution's indentation, every output and execution count cleared and the widget state removed.
The copies are deterministic, so a test can regenerate them and compare with the committed ones
(``python -m tools.student --check``).

:func:`prove_exercises` executes, in one fresh kernel per notebook, the whole student copy and
then the instructor's exercise cells, and reads what each ``check("NN.k", ...)`` reported:
``not yet`` on the stub, ``passed`` on the solution (``python -m tools.student --prove``).
"""

from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your solution.")'
MARKDOWN_STUB = "*Write your answer here.*"
NOTEBOOK_GLOB = "[0-9][0-9]-*.ipynb"
DEFAULT_SOURCE = Path("notebooks")
DEFAULT_TARGET = Path("student")
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.\d+)["']\s*,\s*([A-Za-z_][A-Za-z0-9_]*)""")
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def stub_solutions(source: str, *, markdown: bool = False) -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block in one cell's source.

    Args:
        source: the cell's text.
        markdown: the cell is Markdown, so the block becomes a prompt instead of a ``raise``.

    Returns:
        The source with each block (markers included) replaced by one stub line indented like the
        ``### BEGIN SOLUTION`` line.

    Raises:
        ValueError: a marker without its partner, or nested blocks.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"source: nested {BEGIN!r} at line {number}; close the first block with {END!r}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            newline = "\n" if line.endswith("\n") else ""
            out.append(indent + (MARKDOWN_STUB if markdown else STUB) + newline)
        elif stripped == END:
            if not inside:
                raise ValueError(f"source: {END!r} at line {number} without a {BEGIN!r} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"source: {BEGIN!r} is never closed by {END!r}")
    return "".join(out)


def has_solution(source: str) -> bool:
    """Whether a cell's source holds a solution block."""
    return any(line.strip() == BEGIN for line in source.splitlines())


def student_notebook(nb: dict) -> dict:
    """The student copy of a notebook (as read by ``json.load`` or nbformat); ``nb`` is not changed.

    Solutions become stubs, code cells lose their outputs and execution counts, and the widget
    state (``metadata.widgets``) and per-cell execution metadata are dropped.
    """
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        if has_solution(text):
            cell["source"] = stub_solutions(text, markdown=cell.get("cell_type") == "markdown")
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            cell.get("metadata", {}).pop("execution", None)
    return nb


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def render_student_copy(path: str | Path) -> str:
    """The exact text of the student copy of the notebook at ``path`` (deterministic)."""
    import nbformat

    nb = nbformat.from_dict(student_notebook(_read(Path(path))))
    return nbformat.writes(nb) + "\n"


def instructor_notebooks(source: str | Path = DEFAULT_SOURCE) -> list[Path]:
    """Every ``NN-slug.ipynb`` in ``source``, in order."""
    source = Path(source)
    if not source.is_dir():
        raise ValueError(f"source must be a folder of NN-slug.ipynb notebooks; {str(source)!r} is not a folder")
    return sorted(source.glob(NOTEBOOK_GLOB))


def write_student_copies(paths: Iterable[str | Path], target: str | Path = DEFAULT_TARGET) -> list[Path]:
    """Write the student copy of each notebook into ``target``; return the files written.

    Other copies already in ``target`` are left alone (:func:`sync_folder` removes orphans).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        path = Path(path)
        out = target / path.name
        text = render_student_copy(path)
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
        written.append(out)
    return written


def stale_copies(source: str | Path = DEFAULT_SOURCE, target: str | Path = DEFAULT_TARGET) -> list[str]:
    """What differs between ``target`` and freshly generated copies of ``source``'s notebooks."""
    target = Path(target)
    problems = []
    names = set()
    for path in instructor_notebooks(source):
        names.add(path.name)
        out = target / path.name
        if not out.exists():
            problems.append(f"{out}: missing")
        elif out.read_text(encoding="utf-8") != render_student_copy(path):
            problems.append(f"{out}: differs from the copy generated from {path}")
    for extra in sorted(target.glob(NOTEBOOK_GLOB)) if target.is_dir() else []:
        if extra.name not in names:
            problems.append(f"{extra}: has no instructor notebook in {source}")
    return problems


def sync_folder(source: str | Path = DEFAULT_SOURCE, target: str | Path = DEFAULT_TARGET) -> list[Path]:
    """Regenerate every student copy, and delete copies whose instructor notebook is gone."""
    paths = instructor_notebooks(source)
    written = write_student_copies(paths, target)
    names = {p.name for p in paths}
    for extra in Path(target).glob(NOTEBOOK_GLOB):
        if extra.name not in names:
            extra.unlink()
    return written


# --- What the exercises depend on ------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One checked exercise: its id, the function the learner writes and the cell holding both."""

    exercise: str
    function: str
    cell: int


def _python(source: str, where: str = "cell") -> ast.Module:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as err:
        raise ValueError(f"{where}: is not valid Python (line {err.lineno}: {err.msg})") from None


def _reads(tree: ast.Module) -> set[str]:
    """Every name a cell reads, inside its functions too (a function's body runs when it is called)."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def exercises_in(nb: dict) -> list[Exercise]:
    """The ``check("NN.k", function)`` calls of a notebook, in order.

    Raises:
        ValueError: a cell holds a solution but no ``check`` call, or the reverse.
    """
    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        calls = _CHECK_CALL.findall(source)
        if has_solution(source) and not calls:
            raise ValueError(f"cell {index}: holds a solution but no check(\"NN.k\", function) call")
        if calls and not has_solution(source):
            raise ValueError(f"cell {index}: calls check() but holds no {BEGIN!r} block")
        found.extend(Exercise(exercise, function, index) for exercise, function in calls)
    return found


def exercise_problems(nb: dict) -> list[str]:
    """Why a student copy of ``nb`` might not run to the end while its exercises are open.

    Checks that every solution block sits inside a function (a stub at a cell's top level would
    stop the notebook) and that no other cell uses an exercise function (it would raise there).
    """
    problems = []
    exercises = exercises_in(nb)
    functions = {e.function: e for e in exercises}
    student = student_notebook(nb)
    for index, (cell, stub_cell) in enumerate(zip(nb["cells"], student["cells"])):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if has_solution(source):
            tree = _python("".join(stub_cell["source"]), f"cell {index} (student copy)")
            for node in tree.body:
                if isinstance(node, ast.Raise):
                    problems.append(f"cell {index}: a solution block at the cell's top level (the stub would stop the notebook)")
        used = _reads(_python(source, f"cell {index}")) & set(functions)
        for name in sorted(used):
            if functions[name].cell != index:
                problems.append(f"cell {index}: uses {name}(), the function of exercise {functions[name].exercise} "
                                f"(cell {functions[name].cell}); with the stub it raises NotImplementedError here")
    return problems


# --- Running the exercises -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseProof:
    """What an exercise's check reported on the student stub and on the instructor's solution."""

    notebook: str
    exercise: str
    on_stub: str
    on_solution: str

    @property
    def proven(self) -> bool:
        """The stub was reported ``not yet`` and the solution ``passed``."""
        prefix = f"Exercise {self.exercise}: "
        return self.on_stub.startswith(prefix + "not yet.") and self.on_solution.startswith(prefix + "passed.")


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append(f"ERROR {out.get('ename')}: {out.get('evalue')}")
        parts.append("".join(out.get("text", "")))
        parts.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(p for p in parts if p)


def _result_line(text: str, exercise: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"Exercise {exercise}:"):
            return line
    return text or "(no output)"


def prove_exercises(path: str | Path, *, timeout: int = 600) -> tuple[list[ExerciseProof], list[int]]:
    """Run every exercise of the instructor notebook at ``path`` on its stub and on its solution.

    One fresh kernel runs the whole student copy top to bottom (so it is also proven to run to the
    end with its exercises open), then the instructor's exercise cells. Nothing is written.

    Returns:
        The proof for each exercise, and the indices of the notebook's cells that were run.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed (a student copy that stops early).
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = _read(path)
    exercises = exercises_in(nb)
    if not exercises:
        return [], []
    student = student_notebook(nb)
    exercise_cells = sorted({e.cell for e in exercises})
    run = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    # (cell index, "stub" | "solution" | "other", notebook cell): the student copy, then the solutions
    cells = [(index, "stub" if index in exercise_cells else "other",
              nbformat.from_dict(copy.deepcopy(student["cells"][index]))) for index in run]
    cells.extend((index, "solution", copy.deepcopy(nb.cells[index])) for index in exercise_cells)
    for _, _, cell in cells:
        cell.outputs = []
        cell.execution_count = None
    scratch = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    scratch.metadata.pop("widgets", None)
    scratch.cells = [cell for _, _, cell in cells]
    client = NotebookClient(scratch, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    reports: dict[tuple[int, str], str] = {(i, kind): _output_text(cell) for i, kind, cell in cells}
    proofs = [ExerciseProof(path.name, e.exercise, _result_line(reports[(e.cell, "stub")], e.exercise),
                            _result_line(reports[(e.cell, "solution")], e.exercise)) for e in exercises]
    return proofs, run


def widget_state_problems(nb: dict) -> list[str]:
    """Displayed widgets whose state is missing from ``metadata.widgets`` (static viewers need it)."""
    shown = []
    for index, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                shown.append((index, view.get("model_id")))
    if not shown:
        return []
    state = nb.get("metadata", {}).get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    if not state:
        return [f"displays widgets (cell {shown[0][0]}) but stores no metadata.widgets[{_WIDGET_STATE!r}]"]
    return [f"cell {index}: widget {model} has no stored state" for index, model in shown if model not in state]


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.student",
                                     description="Generate student copies of the instructor notebooks.")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE), help="folder of instructor notebooks (default notebooks)")
    parser.add_argument("--out", default=str(DEFAULT_TARGET), help="folder for the student copies (default student)")
    parser.add_argument("--check", action="store_true", help="only report copies that are missing or stale (exit 1 if any)")
    parser.add_argument("--prove", action="store_true",
                        help="also run each whole student copy, then the solutions, in a kernel and report the checks")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_copies(args.source, args.out)
        print("\n".join(problems) if problems else f"{args.out}/ is current")
        return 1 if problems else 0
    paths = instructor_notebooks(args.source)
    for path in paths:
        try:
            problems = exercise_problems(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as err:
            problems = [str(err)]
        if problems:
            print(f"{path.name}: " + f"\n{path.name}: ".join(problems))
            return 1
    written = sync_folder(args.source, args.out)
    total = sum(len(exercises_in(json.loads(p.read_text(encoding="utf-8")))) for p in paths)
    print(f"{len(written)} student copies in {args.out}/ ({total} exercises stubbed)")
    if args.prove:
        import time

        from labkit.runtime import quiet_environment

        quiet_environment()
        failed = 0
        for path in paths:
            start = time.perf_counter()
            proofs, ran = prove_exercises(path)
            print(f"{path.name}: {len(ran)} code cells ran in {time.perf_counter() - start:.0f} s", flush=True)
            for p in proofs:
                failed += not p.proven
                print(f"{p.exercise}: stub -> {p.on_stub[:60]!r}; solution -> {p.on_solution[:60]!r}", flush=True)
        return 1 if failed else 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
