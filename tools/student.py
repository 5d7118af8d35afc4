"""Student copies of the instructor notebooks, made by nbgrader's ``generate_assignment``.

``make student`` runs ``python -m tools.student``: the instructor notebooks (tagged with nbgrader's cell
metadata by ``python -m tools.classroom tag``) become the assignments of a temporary nbgrader course, one
per notebook, named by the file stem (:func:`tools.classroom.build_course`); nbgrader's
``generate_assignment`` releases them (solutions replaced by the lab's stub, which raises
:class:`NotImplementedError` at the solution's indentation, outputs cleared, hidden tests removed, cells
locked), and each release is copied byte for byte to ``student/NN-slug.ipynb``. The widget state and the
per-cell execution timings are dropped on the way into the course (:func:`tools.classroom.course_source`).
The copies are deterministic, so a test can regenerate them and compare with the committed ones
(``python -m tools.student --check``).

``python -m tools.student --prove`` runs the autograde round trip (:func:`tools.classroom.round_trip`):
full marks for the instructor's answers, zero for the untouched release.
"""

from __future__ import annotations

import ast
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tools import classroom

BEGIN = classroom.BEGIN
END = classroom.END
STUB = classroom.STUB
MARKDOWN_STUB = classroom.MARKDOWN_STUB
NOTEBOOK_GLOB = classroom.NOTEBOOK_GLOB
DEFAULT_SOURCE = Path("notebooks")
DEFAULT_TARGET = Path("student")
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.\d+)["']\s*,\s*([A-Za-z_][A-Za-z0-9_]*)""")
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def has_solution(source: str) -> bool:
    """Whether a cell's source holds a solution block."""
    return classroom.has_solution(source)


def render_student_copies(paths: Iterable[str | Path]) -> dict[str, str]:
    """The exact text of the student copy of each notebook, by file name: nbgrader's release (deterministic).

    Raises:
        ValueError: a notebook is not tagged (run ``python -m tools.classroom tag``).
        RuntimeError: nbgrader refused a notebook (its message says why).
    """
    paths = [Path(p) for p in paths]
    with tempfile.TemporaryDirectory(prefix="labkit-course-") as course:
        names = classroom.build_course(course, paths)
        releases = classroom.generate(course, names)
        return {f"{name}.ipynb": (releases[name] / f"{name}.ipynb").read_text(encoding="utf-8") for name in names}


def render_student_copy(path: str | Path) -> str:
    """The exact text of the student copy of the notebook at ``path`` (deterministic)."""
    return render_student_copies([path])[Path(path).name]


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
    for name, text in render_student_copies(paths).items():
        out = target / name
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
        written.append(out)
    return written


def stale_copies(source: str | Path = DEFAULT_SOURCE, target: str | Path = DEFAULT_TARGET) -> list[str]:
    """What differs between ``target`` and freshly generated copies of ``source``'s notebooks."""
    target = Path(target)
    problems = []
    paths = instructor_notebooks(source)
    untagged = [p for p in paths if classroom.untagged_problems(json.loads(p.read_text(encoding="utf-8")))]
    for path in untagged:
        problems.append(f"{path}: has no nbgrader metadata (run `python -m tools.classroom tag {path}`)")
    fresh = render_student_copies([p for p in paths if p not in untagged])
    for path in paths:
        out = target / path.name
        if not out.exists():
            problems.append(f"{out}: missing")
        elif path.name in fresh and out.read_text(encoding="utf-8") != fresh[path.name]:
            problems.append(f"{out}: differs from the copy generated from {path}")
    names = {p.name for p in paths}
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
    """One checked exercise: its id, the function the learner writes, the cell checking it and the answer cell.

    ``cell`` holds the ``check("NN.k", function)`` call (nbgrader's test cell), ``answer`` the solution
    (nbgrader's answer cell; the same cell in a notebook that is not split yet).
    """

    exercise: str
    function: str
    cell: int
    answer: int = -1


def _python(source: str, where: str = "cell") -> ast.Module:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as err:
        raise ValueError(f"{where}: is not valid Python (line {err.lineno}: {err.msg})") from None


def _reads(tree: ast.Module) -> set[str]:
    """Every name a cell reads, inside its functions too (a function's body runs when it is called)."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _defines(source: str) -> set[str]:
    return set(re.findall(r"^\s*def ([A-Za-z_][A-Za-z0-9_]*)", source, re.M))


def exercises_in(nb: dict) -> list[Exercise]:
    """The ``check("NN.k", function)`` calls of a notebook, in order, each with the cell answering it.

    A test cell's hidden and visible calls count once. The answer is the cell itself when it holds the
    solution, else the nearest code cell above that defines ``function`` inside a solution block.

    Raises:
        ValueError: a solution that no check reads, or a check with no solution to read.
    """
    found = []
    answered = set()
    cells = nb["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        calls = list(dict.fromkeys(_CHECK_CALL.findall(source)))
        for exercise, function in calls:
            if has_solution(source):
                answer = index
            else:
                answer = next((i for i in range(index - 1, -1, -1) if cells[i]["cell_type"] == "code"
                               and has_solution("".join(cells[i]["source"]))
                               and function in _defines("".join(cells[i]["source"]))), None)
                if answer is None:
                    raise ValueError(f"cell {index}: checks {function}() (exercise {exercise}) but no cell above "
                                     f"defines it inside a {BEGIN!r} block")
            answered.add(answer)
            found.append(Exercise(exercise, function, index, answer))
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and has_solution("".join(cell["source"])) and index not in answered:
            raise ValueError(f"cell {index}: holds a solution but no check(\"NN.k\", function) call reads it")
    return found


def exercise_problems(nb: dict) -> list[str]:
    """Why a student copy of ``nb`` might not run to the end while its exercises are open.

    Checks that every solution block sits inside a function (the stub at a cell's top level would
    stop the notebook) and that no other cell uses an exercise function (it would raise there).
    """
    problems = []
    exercises = exercises_in(nb)
    functions = {e.function: e for e in exercises}
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if any(line.startswith(BEGIN) for line in source.splitlines()):
            problems.append(f"cell {index}: a solution block at the cell's top level (the stub would stop the notebook)")
        used = _reads(_python(source, f"cell {index}")) & set(functions)
        for name in sorted(used):
            e = functions[name]
            if index not in (e.cell, e.answer):
                problems.append(f"cell {index}: uses {name}(), the function of exercise {e.exercise} "
                                f"(cell {e.answer}); with the stub it raises NotImplementedError here")
    return problems


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
                                     description="Generate student copies of the instructor notebooks with nbgrader.")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE), help="folder of instructor notebooks (default notebooks)")
    parser.add_argument("--out", default=str(DEFAULT_TARGET), help="folder for the student copies (default student)")
    parser.add_argument("--check", action="store_true", help="only report copies that are missing or stale (exit 1 if any)")
    parser.add_argument("--prove", action="store_true",
                        help="also autograde the instructor's answers (full marks) and the untouched release (zero)")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_copies(args.source, args.out)
        print("\n".join(problems) if problems else f"{args.out}/ is current")
        return 1 if problems else 0
    paths = instructor_notebooks(args.source)
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        try:
            problems = classroom.untagged_problems(nb) or exercise_problems(nb)
        except ValueError as err:
            problems = [str(err)]
        if problems:
            print(f"{path.name}: " + f"\n{path.name}: ".join(problems))
            return 1
    written = sync_folder(args.source, args.out)
    total = sum(len(exercises_in(json.loads(p.read_text(encoding="utf-8")))) for p in paths)
    print(f"{len(written)} student copies in {args.out}/ by nbgrader generate_assignment ({total} exercises stubbed)")
    if args.prove:
        from labkit.runtime import quiet_environment

        quiet_environment()
        with tempfile.TemporaryDirectory(prefix="labkit-course-") as course:
            report = classroom.round_trip(course, paths, log=print)
        return 0 if report.proven else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
