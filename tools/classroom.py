"""nbgrader course layout for the lab: tag the instructor notebooks, build a course, release, autograde.

Instructors run courses on JupyterHub with nbgrader (0.9.6, pinned in ``requirements.txt``). This module
gives the instructor notebooks nbgrader's cell metadata (schema version 3, as nbgrader's "Create
Assignment" toolbar writes it) and builds nbgrader course directories from them.

Tagging (``python -m tools.classroom tag notebooks/*.ipynb``; deterministic and idempotent, cell ids kept):

* every code cell holding ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` and a ``check("NN.k", f)`` call is
  split in two. The **answer cell** (the solution; nbgrader "Autograded answer": ``solution: true``,
  ``grade: false``, ``grade_id`` ``answer-NN-k``) keeps the cell's id. The **test cell** (nbgrader
  "Autograder tests": ``grade: true``, ``solution: false``, ``locked: true``, ``grade_id`` ``check-NN-k``,
  points by the exercise's level, id ``<answer id>-check``) holds a hidden test that makes autograde fail
  the cell unless the check passes, then the learner's visible ``check("NN.k", f)`` line (feedback, never
  raises). The hidden part comes first so that the visible line stays the cell's last expression and
  shows its result;
* a Markdown cell holding a solution becomes a "Manually graded answer" (``grade`` and ``solution``,
  :data:`WRITTEN_POINTS` point, ``grade_id`` ``written-NN-k`` after the exercise heading above it);
* each exercise statement (the Markdown cell with the ``**Exercise NN.k (...)**`` heading) becomes
  "Read-only" (``locked: true``): it is the contract the check enforces, and autograde restores it. Every
  other cell stays editable: the lab asks learners to change settings and re-run.

Points (:data:`POINTS`): warm-up 1, core 2, stretch 3 (the level registered in ``labkit.exercises``).

Courses (:func:`build_course`): one nbgrader assignment per notebook, named by its file stem
(``04-dp-sgd``), in ``<course>/source/<stem>/<stem>.ipynb``; :func:`write_config` writes the course's
``nbgrader_config.py`` (course id :data:`COURSE_ID`, the lab's stub, generous cell timeouts).
:func:`generate` runs nbgrader's ``generate_assignment``; :func:`submit` places a notebook in
``submitted/<student>/<assignment>/``; :func:`autograde` runs nbgrader's ``autograde``; :func:`scores` reads
the gradebook. :func:`round_trip` does all of it for a submission holding the instructor's answers and for
the untouched release, and :func:`grade_problems` says what must hold (full marks, zero, runs to the end);
``tests/test_nbgrader.py`` and ``python -m tools.student --prove`` run it.

Command line: ``python -m tools.classroom tag [--check] NOTEBOOK...``, ``python -m tools.classroom course DIR
[--source notebooks] [--course-id ID] [--release]``, ``python -m tools.classroom autograde DIR STUDENT
ASSIGNMENT...``.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
STUB = 'raise NotImplementedError("Exercise: replace this line with your solution.")'
MARKDOWN_STUB = "*Write your answer here.*"
SCHEMA_VERSION = 3
COURSE_ID = "privacy-ml-lab"
POINTS = {"warm-up": 1, "core": 2, "stretch": 3}
WRITTEN_POINTS = 1
IMPORT_CHECK = "from labkit.exercises import check"
NOTEBOOK_GLOB = "[0-9][0-9]-*.ipynb"
CELL_TIMEOUT = 600  # seconds per cell when autograde executes a notebook (nbgrader's default is 30)

_CHECK_LINE = re.compile(r"""^check\(\s*["'](\d\d\.\d+)["']\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$""")
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.\d+)["']\s*,\s*([A-Za-z_][A-Za-z0-9_]*)""")
# A heading starts a line (00 quotes one mid-line); the Chinese edition's reads "**练习 NN.k（".
_HEADING = re.compile(r"^\*\*(?:Exercise (\d\d\.\d+) \(|练习 (\d\d\.\d+)（)", re.M)


def _headings(text: str) -> list[str]:
    """The exercise numbers of the statement headings in a Markdown cell, English or Chinese."""
    return [en or zh for en, zh in _HEADING.findall(text)]


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def has_solution(source: str) -> bool:
    """Whether a cell's source holds a solution block."""
    return any(line.strip() == BEGIN for line in source.splitlines())


def points_for(exercise: str) -> int:
    """The points of an exercise's test cell: :data:`POINTS` of its registered level."""
    from labkit.exercises import exercise_info

    return POINTS[exercise_info(exercise).level]


def nbgrader_metadata(*, grade: bool, solution: bool, locked: bool, grade_id: str, points: int | None = None) -> dict:
    """Cell metadata exactly as nbgrader (schema version 3) writes it."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked}
    if grade:
        meta["points"] = points
    meta.update({"schema_version": SCHEMA_VERSION, "solution": solution, "task": False})
    return meta


def test_source(exercise: str, function: str, *, with_import: bool) -> str:
    """The source of an exercise's autograded test cell (hidden test first, then the visible check)."""
    call = f'check("{exercise}", {function})'
    lines = [IMPORT_CHECK, ""] if with_import else []
    lines += [BEGIN_HIDDEN,
              f"_graded = {call}  # autograde gives this cell its points only if the check passes",
              "assert _graded, repr(_graded)",
              END_HIDDEN,
              call]
    return "\n".join(lines)


def _split_tail(source: str) -> tuple[str, list[str]] | None:
    """``(answer source, tail lines)`` when the cell ends with its check call(s), else None."""
    lines = source.split("\n")
    start = len(lines)
    while start > 0 and (not lines[start - 1].strip() or lines[start - 1].strip() == IMPORT_CHECK
                         or _CHECK_LINE.match(lines[start - 1])):
        start -= 1
    tail = [line for line in lines[start:] if line.strip()]
    if not any(_CHECK_LINE.match(line) for line in tail):
        return None
    return "\n".join(lines[:start]).rstrip(), tail


def _gid(kind: str, exercise: str) -> str:
    """A cell's nbgrader ``grade_id``: ``check-04-3`` for exercise 04.3 (nbgrader allows letters, digits, - and _)."""
    return f"{kind}-{exercise.replace('.', '-')}"


def _heading_before(cells: Sequence[dict], index: int) -> str | None:
    for cell in reversed(cells[:index + 1]):
        if cell.get("cell_type") == "markdown":
            found = _headings(_text(cell))
            if found:
                return found[-1]
    return None


def _set_meta(cell: dict, meta: dict) -> dict:
    cell = copy.deepcopy(cell)
    cell.setdefault("metadata", {})["nbgrader"] = meta
    return cell


def tag_notebook(nb: dict) -> dict:
    """The notebook with nbgrader's metadata on its exercise cells (see the module docstring); ``nb`` is kept.

    Idempotent: ``tag_notebook(tag_notebook(nb)) == tag_notebook(nb)``.

    Raises:
        ValueError: an exercise cell that cannot be split (a solution without a check call at its end,
            several check calls in one cell, a solution in a test cell).
    """
    nb = _normal(nb)
    cells_in = nb.get("cells", [])
    out: list[dict] = []
    stated: set[str] = set()
    for index, cell in enumerate(cells_in):
        source = _text(cell)
        kind = cell.get("cell_type")
        where = f"cell {index} (id {cell.get('id')})"
        if kind == "markdown":
            if has_solution(source):
                exercise = _heading_before(cells_in, index)
                if exercise is None:
                    raise ValueError(f"{where}: a written answer with no '**Exercise NN.k (' heading above it")
                out.append(_set_meta(cell, nbgrader_metadata(grade=True, solution=True, locked=False,
                                                              grade_id=_gid("written", exercise), points=WRITTEN_POINTS)))
            elif _HEADING.search(source) and _headings(source)[0] not in stated:
                exercise = _headings(source)[0]
                stated.add(exercise)  # a later cell repeating the heading stays editable (grade ids are unique)
                out.append(_set_meta(cell, nbgrader_metadata(grade=False, solution=False, locked=True,
                                                              grade_id=_gid("exercise", exercise))))
            else:
                kept = copy.deepcopy(cell)
                if str(kept.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")).startswith("exercise-"):
                    del kept["metadata"]["nbgrader"]  # a statement tag left from an older heading or rule
                out.append(kept)
            continue
        if kind != "code":
            out.append(copy.deepcopy(cell))
            continue
        calls = _CHECK_CALL.findall(source)
        hidden = BEGIN_HIDDEN in source
        if has_solution(source):
            if hidden:
                raise ValueError(f"{where}: holds both a solution and hidden tests; put them in two cells")
            if not calls:
                functions = re.findall(r"^\s*def ([A-Za-z_][A-Za-z0-9_]*)", source, re.M)
                out.append(_set_meta(cell, nbgrader_metadata(grade=False, solution=True, locked=False,
                                                              grade_id=_gid("answer", _answer_id(cells_in, index, functions)))))
                continue
            split = _split_tail(source)
            if split is None or len(set(calls)) != 1 or len(split[1]) > 2:
                raise ValueError(f"{where}: an exercise cell must end with one check(\"NN.k\", function) call "
                                 f"(optionally after {IMPORT_CHECK!r}); found {sorted(set(calls))}")
            answer, tail = split
            exercise, function = calls[0]
            answer_cell = copy.deepcopy(cell)
            answer_cell["source"] = answer
            answer_cell["outputs"] = []
            answer_cell["execution_count"] = None
            answer_cell.setdefault("metadata", {})["nbgrader"] = nbgrader_metadata(
                grade=False, solution=True, locked=False, grade_id=_gid("answer", exercise))
            test_cell = copy.deepcopy(cell)
            test_cell["id"] = f"{cell['id']}-check" if cell.get("id") else None
            if test_cell["id"] is None:
                test_cell.pop("id")
            test_cell["source"] = test_source(exercise, function, with_import=True)  # runs alone after a restart
            test_cell["metadata"]["nbgrader"] = nbgrader_metadata(
                grade=True, solution=False, locked=True, grade_id=_gid("check", exercise), points=points_for(exercise))
            out.extend([answer_cell, test_cell])
            continue
        if calls and hidden:
            if len(set(calls)) != 1:
                raise ValueError(f"{where}: a test cell must check one exercise; found {sorted(set(calls))}")
            exercise = calls[0][0]
            if IMPORT_CHECK not in source:  # a locked cell must run alone after a kernel restart
                cell = copy.deepcopy(cell)
                cell["source"] = IMPORT_CHECK + "\n\n" + source
            out.append(_set_meta(cell, nbgrader_metadata(grade=True, solution=False, locked=True,
                                                          grade_id=_gid("check", exercise), points=points_for(exercise))))
            continue
        out.append(copy.deepcopy(cell))
    tagged = copy.deepcopy({k: v for k, v in nb.items() if k != "cells"})
    tagged["cells"] = out
    return tagged


def _answer_id(cells: Sequence[dict], index: int, functions: list[str]) -> str:
    """The exercise of an answer cell that was already split: the check call on one of its functions."""
    for cell in cells[index + 1:]:
        for exercise, function in _CHECK_CALL.findall(_text(cell)):
            if function in functions:
                return exercise
    raise ValueError(f"cell {index}: holds a solution, but no later cell checks any of its functions {functions}")


def _dumps(nb: dict) -> str:
    """The notebook's text as nbformat (and so ``tools.notebooks`` and JupyterLab) writes it."""
    import nbformat

    return nbformat.writes(nbformat.from_dict(copy.deepcopy(nb))) + "\n"


def _normal(nb: dict) -> dict:
    """``nb`` with every cell's source as one string (as nbformat reads it), whatever the JSON held."""
    nb = copy.deepcopy(dict(nb))
    for cell in nb.get("cells", []):
        cell["source"] = _text(cell)
    return nb


def tag_file(path: str | Path, *, write: bool = True) -> bool:
    """Tag the notebook at ``path`` in place (the file's JSON layout kept); return whether it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    if not untagged_problems(nb):
        return False
    new = _dumps(tag_notebook(nb))
    if write:
        path.write_text(new, encoding="utf-8")
    return True


def untagged_problems(nb: dict) -> list[str]:
    """Why ``nb`` is not as :func:`tag_notebook` leaves it (empty when it is); for the hygiene test."""
    try:
        tagged = tag_notebook(nb)
    except ValueError as err:
        return [str(err)]
    nb = _normal(nb)
    if tagged == nb:
        return []
    before = [(c.get("id"), c.get("metadata", {}).get("nbgrader")) for c in nb.get("cells", [])]
    after = [(c.get("id"), c.get("metadata", {}).get("nbgrader")) for c in tagged["cells"]]
    problems = [f"cell {c}: nbgrader metadata {m} should be {dict(after).get(c)}" for c, m in before
                if dict(after).get(c) != m]
    if len(before) != len(after):
        problems.append(f"{len(after) - len(before)} exercise cell(s) are not split into answer and test cells")
    return problems or ["differs from its tagged form"]


# --- Courses ---------------------------------------------------------------------------------------


def course_source(nb: dict) -> dict:
    """The notebook as a course's source: without widget state and per-cell execution timings.

    nbgrader clears outputs but keeps notebook metadata; a stored widget state would reach the student copy.
    """
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
    return nb


def config_text(course_id: str = COURSE_ID) -> str:
    """The ``nbgrader_config.py`` a course gets (the course directory is the folder holding it)."""
    return f'''"""nbgrader configuration of the privacy-preserving ML lab's course (written by tools.classroom)."""

import os

c = get_config()  # noqa: F821 (nbgrader's config loader defines it)

c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))  # the folder holding this file
# The lab's stub: check() reports "not attempted yet" until the learner replaces it.
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
c.ClearSolutions.text_stub = {MARKDOWN_STUB!r}
# A notebook trains models (04, 06, 07): allow minutes per cell, not nbgrader's 30 s.
c.Execute.timeout = {CELL_TIMEOUT}
c.Execute.interrupt_on_timeout = True
'''


def config(course_dir: str | Path, course_id: str = COURSE_ID, exchange: str | Path | None = None):
    """The traitlets ``Config`` of the course's ``nbgrader_config.py``, for the in-process API.

    ``exchange`` is nbgrader's exchange folder (``Exchange.root``); by default ``<course_dir>/exchange``, so
    that a temporary course never looks for the system-wide ``/usr/local/share/nbgrader/exchange``.
    """
    from traitlets.config import Config

    cfg = Config()
    cfg.Exchange.root = str(Path(exchange) if exchange is not None else Path(course_dir).resolve() / "exchange")
    cfg.CourseDirectory.course_id = course_id
    cfg.CourseDirectory.root = str(Path(course_dir).resolve())
    cfg.ClearSolutions.code_stub = {"python": STUB}
    cfg.ClearSolutions.text_stub = MARKDOWN_STUB
    cfg.Execute.timeout = CELL_TIMEOUT
    cfg.Execute.interrupt_on_timeout = True
    return cfg


def write_config(course_dir: str | Path, course_id: str = COURSE_ID) -> Path:
    """Write ``<course_dir>/nbgrader_config.py`` (:func:`config_text`); return its path."""
    path = Path(course_dir) / "nbgrader_config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_text(course_id), encoding="utf-8")
    return path


def build_course(course_dir: str | Path, notebooks: Iterable[str | Path], *, course_id: str = COURSE_ID,
                 tag: bool = False) -> list[str]:
    """Lay out an nbgrader course: ``<course_dir>/source/<stem>/<stem>.ipynb`` and ``nbgrader_config.py``.

    Args:
        course_dir: the course folder (created if missing).
        notebooks: instructor notebooks (``NN-slug.ipynb``); each becomes the assignment ``NN-slug``.
        course_id: nbgrader's course id.
        tag: tag each notebook (:func:`tag_notebook`) on the way in; otherwise it must be tagged already.

    Returns:
        The assignment names, in order.

    Raises:
        ValueError: a notebook is not tagged (and ``tag`` is False).
    """
    course_dir = Path(course_dir)
    write_config(course_dir, course_id)
    names = []
    for path in notebooks:
        path = Path(path)
        nb = json.loads(path.read_text(encoding="utf-8"))
        if tag:
            nb = tag_notebook(nb)
        else:
            problems = untagged_problems(nb)
            if problems:
                raise ValueError(f"{path}: has no nbgrader metadata as tools.classroom writes it "
                                 f"(run `python -m tools.classroom tag {path}`): {problems[0]}")
        target = course_dir / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_dumps(course_source(nb)), encoding="utf-8")
        names.append(path.stem)
    return names


_ALEMBIC_SHIM: list[str] = []


def write_alembic_shim(folder: str | Path) -> Path:
    """Write ``folder/alembic``, a script running this interpreter's ``python -m alembic``; return its path.

    nbgrader runs the ``alembic`` command to create a gradebook; put ``folder`` first on PATH for it.
    """
    import stat
    import sys

    shim = Path(folder) / "alembic"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m alembic "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return shim


def _alembic_on_path() -> None:
    """Put an ``alembic`` that runs this interpreter's alembic first on PATH (once per process).

    nbgrader runs the ``alembic`` command to create a gradebook. From an inactive virtualenv it is not on
    PATH, and an ``alembic`` script whose shebang names another interpreter fails; ``python -m alembic``
    does neither.
    """
    import atexit
    import os
    import tempfile

    if _ALEMBIC_SHIM:
        return
    folder = Path(tempfile.mkdtemp(prefix="labkit-alembic-"))
    write_alembic_shim(folder)
    os.environ["PATH"] = str(folder) + os.pathsep + os.environ.get("PATH", "")
    _ALEMBIC_SHIM.append(str(folder))
    atexit.register(shutil.rmtree, folder, True)


def api(course_dir: str | Path, course_id: str = COURSE_ID, exchange: str | Path | None = None):
    """nbgrader's ``NbGraderAPI`` for the course at ``course_dir`` (``exchange``: see :func:`config`)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _alembic_on_path()

    cfg = config(course_dir, course_id, exchange)
    Path(cfg.Exchange.root).mkdir(parents=True, exist_ok=True)
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)


def _ok(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")


def generate(course_dir: str | Path, assignments: Sequence[str], course_id: str = COURSE_ID) -> dict[str, Path]:
    """Run nbgrader's ``generate_assignment`` on each assignment; return each release folder."""
    grader = api(course_dir, course_id)
    out = {}
    for name in assignments:
        _ok(grader.generate_assignment(name, force=True, create=True), f"generate_assignment {name}")
        out[name] = Path(course_dir) / "release" / name
    return out


def submit(course_dir: str | Path, assignment: str, student: str, notebooks: dict[str, dict]) -> Path:
    """Place a submission (``{file name: notebook}``) where ``nbgrader autograde`` looks for it."""
    folder = Path(course_dir) / "submitted" / student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        (folder / name).write_text(_dumps(nb), encoding="utf-8")
    return folder


def solved_release(release: dict, source: dict) -> dict:
    """What a learner who wrote the instructor's solutions submits: the release with each answer filled in."""
    answers = {c["metadata"]["nbgrader"]["grade_id"]: _text(c) for c in source["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
    return nb


def autograde(course_dir: str | Path, assignment: str, student: str, course_id: str = COURSE_ID) -> Path:
    """Run nbgrader's ``autograde`` on one student's submission; return the autograded folder."""
    _ok(api(course_dir, course_id).autograde(assignment, student, force=True, create=True),
        f"autograde {assignment} {student}")
    return Path(course_dir) / "autograded" / student / assignment


@dataclass(frozen=True)
class CellScore:
    """One graded cell of a submission, as the gradebook holds it."""

    notebook: str
    grade_id: str
    score: float | None  # None: waits for a manual grade
    max_score: float
    needs_manual_grade: bool
    autograded: bool  # an autograder test cell (not a manually graded answer)


def scores(course_dir: str | Path, assignment: str, student: str, course_id: str = COURSE_ID) -> list[CellScore]:
    """Every graded cell of a student's submission, read from the course's gradebook."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"
    with Gradebook(url, course_id) as gb:
        submission = gb.find_submission(assignment, student)
        out = []
        for nb in submission.notebooks:
            answers = {c.name for c in nb.notebook.solution_cells}
            for g in nb.grades:
                out.append(CellScore(nb.name, g.name, None if g.score is None else float(g.score), float(g.max_score),
                                     bool(g.needs_manual_grade), g.name not in answers))
        return out


# --- The round trip: release, submit, autograde, read the gradebook --------------------------------------


@dataclass
class NotebookGrades:
    """One assignment's round trip: the gradebook's cells for the solved and the untouched submission."""

    assignment: str
    solved: list[CellScore]
    untouched: list[CellScore]
    problems: list[str]
    seconds: float  # the whole round trip's wall time (the assignments are graded together)


@dataclass
class RoundTrip:
    """The round trip of every assignment; ``proven`` when no assignment reports a problem."""

    notebooks: list[NotebookGrades]

    @property
    def proven(self) -> bool:
        return all(not n.problems for n in self.notebooks)

    @property
    def problems(self) -> list[str]:
        return [f"{n.assignment}: {p}" for n in self.notebooks for p in n.problems]


SOLVED = "solved"  # the student id whose submission holds the instructor's answers
UNTOUCHED = "untouched"  # the student id who hands back the release as it was


def _errors(nb: dict) -> list[tuple[dict, dict]]:
    return [(cell, out) for cell in nb["cells"] if cell["cell_type"] == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def grade_problems(assignment: str, source: dict, solved: list[CellScore], untouched: list[CellScore],
                   solved_nb: dict, untouched_nb: dict) -> list[str]:
    """What is wrong with one assignment's round trip (empty when it proves what it must).

    Full marks for every autograded test cell on the instructor's answers, zero on the untouched release
    (a check that cannot fail shows up here), manually graded answers waiting for a grade on the answers and
    zero (automatically) when untouched; every test cell of the source graded; the autograded notebooks ran
    to their end (the solved one without any error, the untouched one with errors only in its test cells,
    each the hidden assert reporting "not attempted yet").
    """
    problems = []
    tests = {c["metadata"]["nbgrader"]["grade_id"]: c for c in source["cells"]
             if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
    for who, rows in ((SOLVED, solved), (UNTOUCHED, untouched)):
        graded = {r.grade_id for r in rows}
        if graded != set(tests):
            problems.append(f"{who}: the gradebook grades {sorted(graded)}, the source has {sorted(tests)}")
    for r in solved:
        if r.autograded and not (r.max_score > 0 and r.score == r.max_score):
            problems.append(f"{r.grade_id}: {r.score} of {r.max_score} on the instructor's answers (want full marks)")
        if not r.autograded and not r.needs_manual_grade:
            problems.append(f"{r.grade_id}: a written answer that does not wait for a manual grade")
    for r in untouched:
        if r.score != 0 or r.needs_manual_grade:
            problems.append(f"{r.grade_id}: {r.score} of {r.max_score} on the untouched release (want 0): "
                            "a check that cannot fail")
    for cell, out in _errors(solved_nb):
        problems.append(f"solved: cell {cell.get('id')} raised {out.get('ename')}: {out.get('evalue', '')[:120]}")
    for cell, out in _errors(untouched_nb):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        text = out.get("evalue", "")
        if not (meta.get("grade") and not meta.get("solution") and out.get("ename") == "AssertionError"
                and re.match(r"Exercise \d\d\.\d+: not yet\. Not attempted yet|练习 \d\d\.\d+：尚未通过。尚未作答", text)):
            problems.append(f"untouched: cell {cell.get('id')} raised {out.get('ename')}: {text[:120]} "
                            "(a student copy must run to its end; only the hidden tests may fail)")
    return problems


def round_trip(course_dir: str | Path, notebooks: Sequence[str | Path], *, course_id: str = COURSE_ID,
               tag: bool = False, log=None, parallel: bool = True) -> RoundTrip:
    """Release every notebook, autograde the instructor's answers and the untouched release, read the gradebook.

    Each submission is graded in its own copy of the course (``<course_dir>/solved`` and
    ``<course_dir>/untouched``, built and released alike; the two releases must be byte-identical), so the
    two autogrades run at once, each in its own process (``python -m tools.classroom autograde``).

    Args:
        course_dir: an empty folder for the courses (a temporary one).
        notebooks: instructor notebooks; each becomes an assignment.
        course_id: nbgrader's course id.
        tag: tag the notebooks on the way in (:func:`build_course`).
        log: called with one line per assignment (for example ``print``), or None.
        parallel: run the two autogrades at once (False: one after the other, in this process).
    """
    import subprocess
    import sys
    import time
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    course_dir = Path(course_dir)
    courses = {who: course_dir / who for who in (SOLVED, UNTOUCHED)}
    names = []
    releases = {}
    for who, course in courses.items():
        names = build_course(course, notebooks, course_id=course_id, tag=tag)
        releases[who] = generate(course, names, course_id)
    sources, problems = {}, {name: [] for name in names}
    for name in names:
        file = f"{name}.ipynb"
        sources[name] = json.loads((courses[SOLVED] / "source" / name / file).read_text(encoding="utf-8"))
        texts = [(releases[who][name] / file).read_text(encoding="utf-8") for who in courses]
        if texts[0] != texts[1]:
            problems[name].append("two releases of the same source differ (generate_assignment is not deterministic)")
        release = json.loads(texts[0])
        submit(courses[SOLVED], name, SOLVED, {file: solved_release(release, sources[name])})
        submit(courses[UNTOUCHED], name, UNTOUCHED, {file: release})

    def grade(who: str) -> None:
        if not parallel:
            for name in names:
                autograde(courses[who], name, who, course_id)
            return
        run = subprocess.run([sys.executable, "-m", "tools.classroom", "autograde", str(courses[who]), who, *names,
                              "--course-id", course_id], cwd=Path(__file__).resolve().parent.parent,
                             capture_output=True, text=True)
        if run.returncode:
            raise RuntimeError(f"autograde of {who} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")

    with ThreadPoolExecutor(max_workers=2 if parallel else 1) as pool:
        list(pool.map(grade, courses))
    results = []
    for name in names:
        file = f"{name}.ipynb"
        graded = {who: json.loads((courses[who] / "autograded" / who / name / file).read_text(encoding="utf-8"))
                  for who in courses}
        solved = scores(courses[SOLVED], name, SOLVED, course_id)
        untouched = scores(courses[UNTOUCHED], name, UNTOUCHED, course_id)
        problems[name] += grade_problems(name, sources[name], solved, untouched, graded[SOLVED], graded[UNTOUCHED])
        row = NotebookGrades(name, solved, untouched, problems[name], 0.0)
        results.append(row)
        if log is not None:
            auto = [r for r in solved if r.autograded]
            log(f"{name}: answers {sum(r.score or 0 for r in auto):g}/{sum(r.max_score for r in auto):g} autograded "
                f"points, untouched {sum(r.score or 0 for r in untouched):g}, {len(solved) - len(auto)} written "
                "answer(s) to grade by hand" + "".join(f"\n  PROBLEM {p}" for p in row.problems))
    seconds = time.perf_counter() - start
    for row in results:
        row.seconds = seconds
    if log is not None:
        log(f"{len(names)} assignments released, autograded twice and read back in {seconds:.0f} s")
    return RoundTrip(results)


# --- Command line -----------------------------------------------------------------------------------


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.classroom",
                                     description="nbgrader course layout of the lab's notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    tag = sub.add_parser("tag", help="give notebooks nbgrader metadata (idempotent; rewrites changed files)")
    tag.add_argument("paths", nargs="+", help="instructor notebooks, e.g. notebooks/*.ipynb")
    tag.add_argument("--check", action="store_true", help="only report notebooks that are not tagged (exit 1 if any)")
    course = sub.add_parser("course", help="lay out an nbgrader course (source/ and nbgrader_config.py)")
    course.add_argument("course_dir", help="the course folder to create or update")
    course.add_argument("--source", default="notebooks", help="folder of tagged instructor notebooks (default notebooks)")
    course.add_argument("--course-id", default=COURSE_ID, help=f"nbgrader course id (default {COURSE_ID})")
    course.add_argument("--release", action="store_true", help="also run nbgrader generate_assignment on each")
    grade = sub.add_parser("autograde", help="run nbgrader autograde on one student's submissions")
    grade.add_argument("course_dir")
    grade.add_argument("student")
    grade.add_argument("assignments", nargs="+")
    grade.add_argument("--course-id", default=COURSE_ID)
    args = parser.parse_args(argv)
    if args.command == "autograde":
        from labkit.runtime import quiet_environment

        quiet_environment()
        for name in args.assignments:
            autograde(args.course_dir, name, args.student, args.course_id)
            print(f"autograded {name} of {args.student}", flush=True)
        return 0
    if args.command == "tag":
        changed = []
        for path in args.paths:
            if Path(path).name.endswith(".ipynb") and tag_file(path, write=not args.check):
                changed.append(path)
        verb = "not tagged" if args.check else "tagged"
        print("\n".join(f"{p}: {verb}" for p in changed) if changed else f"{len(args.paths)} notebooks already tagged")
        return 1 if (args.check and changed) else 0
    paths = sorted(Path(args.source).glob(NOTEBOOK_GLOB))
    names = build_course(args.course_dir, paths, course_id=args.course_id)
    print(f"course {args.course_id!r} in {args.course_dir}/: {len(names)} assignments ({', '.join(names)})")
    if args.release:
        generate(args.course_dir, names, args.course_id)
        print(f"released to {args.course_dir}/release/")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
