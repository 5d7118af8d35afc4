"""Classroom readiness: student copies (nbgrader's release) are current, every exercise pairs a solution
with its check, and every notebook that shows a widget stores its state. That every check fails on the stub
and passes on the solution is proven by the autograde round trip in ``tests/test_nbgrader.py``.

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


# --- What the exercises depend on -------------------------------------------------------------


def _code(source):
    return {"cell_type": "code", "source": source}


def test_exercises_in_pairs_each_test_cell_with_its_answer_cell():
    cells = [_code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
             _code("### BEGIN HIDDEN TESTS\nassert check('00.1', f)\n### END HIDDEN TESTS\ncheck('00.1', f)"),
             _code("def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION\ncheck('00.2', g)")]  # not split yet
    assert student.exercises_in({"cells": cells}) == [student.Exercise("00.1", "f", 1, 0), student.Exercise("00.2", "g", 2, 2)]
    with pytest.raises(ValueError, match="no cell above"):
        student.exercises_in({"cells": [cells[1]]})
    with pytest.raises(ValueError, match="no check"):
        student.exercises_in({"cells": [cells[0]]})


def test_exercise_problems_finds_a_stub_that_would_stop_the_notebook():
    cells = [_code("### BEGIN SOLUTION\ndef f():\n    return 1\n### END SOLUTION\ncheck('00.1', f)"),
             _code("def g():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
             _code("check('00.2', g)"),
             _code("print(g())")]
    problems = student.exercise_problems({"cells": cells, "metadata": {}})
    assert [p.split(":")[0] for p in problems] == ["cell 0", "cell 3"]  # the answer and test cells of g are fine
    assert "top level" in problems[0] and "g()" in problems[1]


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


def test_the_chinese_student_folder_is_current():
    problems = student.stale_copies(ROOT / "notebooks" / "zh", COPIES / "zh")
    assert problems == [], "Chinese student copies are stale; run `make zh`:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chinese_student_copies_hold_the_english_code_and_grading(path):
    """Same code cells, same nbgrader cells and points: the English autograde proof holds for the Chinese."""
    en, zh = _nb(COPIES / path.name), _nb(COPIES / "zh" / path.name)
    assert len(en["cells"]) == len(zh["cells"])
    for i, (a, b) in enumerate(zip(en["cells"], zh["cells"])):
        grade = {k: v for k, v in a["metadata"].get("nbgrader", {}).items() if k != "checksum"}
        assert {k: v for k, v in b["metadata"].get("nbgrader", {}).items() if k != "checksum"} == grade, f"cell {i}"
        if a["cell_type"] == "code":
            assert b["source"] == a["source"], f"{path.name} cell {i}: code differs between the editions"
        else:
            assert b["cell_type"] == a["cell_type"], f"{path.name} cell {i}"
    assert "".join(zh["cells"][0]["source"]) != "".join(en["cells"][0]["source"])  # the title is translated


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
        assert student.BEGIN not in fresh and student.END not in fresh and "HIDDEN TESTS" not in fresh
        assert any(c["metadata"].get("nbgrader", {}).get("checksum") for c in nb["cells"])  # nbgrader's release
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


# --- Widget state for static viewers --------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS + sorted((ROOT / "notebooks" / "zh").glob(student.NOTEBOOK_GLOB)),
                         ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
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
