"""Classroom readiness: student copies are current, every exercise's check fails on the stub and
passes on the solution, and every notebook that shows a widget stores its state.

Covers whatever ``notebooks/NN-slug.ipynb`` exist (a glob, so new notebooks are covered when they land).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.exercises import exercise_ids
from tools import student

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob(student.NOTEBOOK_GLOB))
WITH_EXERCISES = [p for p in NOTEBOOKS if student.BEGIN in p.read_text(encoding="utf-8")]  # parsed in the tests, not here
COPIES = ROOT / "student"


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- The stub generator ---------------------------------------------------------------------------


def test_a_solution_becomes_a_stub_at_its_indentation():
    source = ("def f(x):\n    '''Doc.'''\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n\n"
              "class A:\n    def g(self):\n        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION\n\ncheck('00.1', f)")
    out = student.stub_solutions(source)
    assert out == ("def f(x):\n    '''Doc.'''\n    " + student.STUB + "\n\n"
                   "class A:\n    def g(self):\n        " + student.STUB + "\n\ncheck('00.1', f)")
    compile(out, "<stub>", "exec")  # still valid Python
    assert "x + 1" not in out and "return 2" not in out


def test_a_markdown_answer_becomes_a_prompt():
    assert student.stub_solutions("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION\n", markdown=True) \
        == "Why?\n" + student.MARKDOWN_STUB + "\n"


@pytest.mark.parametrize("source,message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without a"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
])
def test_unbalanced_markers_are_refused(source, message):
    with pytest.raises(ValueError, match=message):
        student.stub_solutions(source)


def test_student_notebook_clears_outputs_counts_and_widget_state_without_touching_the_original():
    nb = {"metadata": {"widgets": {"x": 1}, "kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5,
          "cells": [{"cell_type": "code", "execution_count": 3, "id": "a", "metadata": {"execution": {"t": 1}},
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "Exercise 00.1: passed."}],
                     "source": "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\ncheck('00.1', f)"}]}
    copy = student.student_notebook(nb)
    cell = copy["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None and cell["metadata"] == {}
    assert "widgets" not in copy["metadata"] and copy["metadata"]["kernelspec"] == {"name": "python3"}
    assert "NotImplementedError" in cell["source"] and "return 1" not in cell["source"]
    assert nb["cells"][0]["execution_count"] == 3 and "widgets" in nb["metadata"]  # the original is intact


def test_exercise_problems_finds_a_stub_that_would_stop_the_notebook():
    cells = [{"cell_type": "code", "source": "### BEGIN SOLUTION\ndef f():\n    return 1\n### END SOLUTION\ncheck('00.1', f)"},
             {"cell_type": "code", "source": "def g():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\ncheck('00.2', g)"},
             {"cell_type": "code", "source": "print(g())"}]
    problems = student.exercise_problems({"cells": cells, "metadata": {}})
    assert any("cell 0" in p and "top level" in p for p in problems)
    assert any("cell 2" in p and "g()" in p for p in problems)


# --- The real notebooks ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_match_their_registered_checks_and_cannot_stop_a_student_copy(path):
    nb = _nb(path)
    assert student.exercise_problems(nb) == []  # solutions inside functions, exercise functions used only in check
    found = [e.exercise for e in student.exercises_in(nb)]
    assert len(found) == len(set(found)), f"{path.name}: an exercise is checked twice: {found}"
    number = path.name[:2]
    registered = set(exercise_ids(number))
    assert set(found) == registered, f"{path.name}: checks in the notebook {sorted(found)} != registered {sorted(registered)}"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_stored_instructor_outputs_show_every_check_passing(path):
    # nbval re-runs these cells and compares, so the stored "passed" is reproduced by every `make test`.
    nb = _nb(path)
    for e in student.exercises_in(nb):
        text = "".join("".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
                       for o in nb["cells"][e.cell].get("outputs", []))
        assert f"Exercise {e.exercise}: passed." in text, f"{path.name} cell {e.cell}: stored output is {text!r}"


def test_the_student_folder_is_current():
    problems = student.stale_copies(ROOT / "notebooks", COPIES)
    assert problems == [], "student copies are stale; run `make student`:\n" + "\n".join(problems)


@pytest.mark.slow
def test_make_student_entry_point_regenerates_the_committed_copies(tmp_path):
    out = tmp_path / "student"
    run = subprocess.run([sys.executable, "-m", "tools.student", "--source", "notebooks", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    generated = sorted(p.name for p in out.iterdir())
    assert generated == [p.name for p in NOTEBOOKS]
    for name in generated:
        fresh = (out / name).read_text(encoding="utf-8")
        assert (COPIES / name).exists() and (COPIES / name).read_text(encoding="utf-8") == fresh, \
            f"student/{name} is stale; run `make student`"
        nb = json.loads(fresh)
        assert student.BEGIN not in fresh and student.END not in fresh
        assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
                   for c in nb["cells"] if c["cell_type"] == "code")
        assert "widgets" not in nb["metadata"]
    check = subprocess.run([sys.executable, "-m", "tools.student", "--out", str(out), "--check"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout
    (out / generated[0]).write_text("{}")
    check = subprocess.run([sys.executable, "-m", "tools.student", "--out", str(out), "--check"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode == 1 and generated[0] in check.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_every_check_fails_on_the_stub_and_passes_on_the_solution(path):
    # One fresh kernel runs the whole student copy (it must reach the end: a failing cell raises
    # here), then the instructor's exercise cells. Fresh results, not the stored outputs.
    proofs, ran = student.prove_exercises(path)
    assert ran == [i for i, c in enumerate(_nb(path)["cells"]) if c["cell_type"] == "code"]
    assert [p.exercise for p in proofs] == [e.exercise for e in student.exercises_in(_nb(path))]
    for p in proofs:
        assert p.on_stub.startswith(f"Exercise {p.exercise}: not yet."), f"{path.name} {p.exercise} on the stub: {p.on_stub!r}"
        assert "NotImplementedError" in p.on_stub
        assert p.on_solution.startswith(f"Exercise {p.exercise}: passed."), f"{path.name} {p.exercise} on the solution: {p.on_solution!r}"
        assert p.proven


# --- Widget state for static viewers --------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_displayed_widget_has_its_state_stored(path):
    # GitHub and nbviewer draw a widget from metadata.widgets; without it they show only its text repr.
    assert student.widget_state_problems(_nb(path)) == []


def test_widget_state_check_notices_missing_state():
    view = {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "m1"}}}
    nb = {"metadata": {}, "cells": [{"cell_type": "code", "outputs": [view]}]}
    assert student.widget_state_problems(nb) and "stores no" in student.widget_state_problems(nb)[0]
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m2": {}}}}
    assert student.widget_state_problems(nb) == ["cell 0: widget m1 has no stored state"]
    nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]["m1"] = {}
    assert student.widget_state_problems(nb) == []


def test_some_stored_notebook_carries_widget_state():
    with_state = [p.name for p in NOTEBOOKS
                  if _nb(p).get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state")]
    assert "02-dp-from-scratch.ipynb" in with_state
