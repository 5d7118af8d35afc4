"""The nbgrader course layout: tagging, nbgrader's release, and the autograde round trip.

The round trip (marked slow, run by ``make test``) releases every notebook in a temporary nbgrader course,
autogrades a submission holding the instructor's answers and the untouched release, and reads the
gradebook: full marks for every autograded test cell on the answers, zero on the untouched release. It is
also the proof that every check fails on the stub and passes on the solution, and that every student copy
runs to its end (only the hidden tests may fail in it).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from tools import classroom, student

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob(classroom.NOTEBOOK_GLOB))
WITH_EXERCISES = [p for p in NOTEBOOKS if classroom.BEGIN in p.read_text(encoding="utf-8")]

ANSWER = "def count_sensitivity():\n    '''Doc.'''\n    ### BEGIN SOLUTION\n    return {value}\n    ### END SOLUTION"


def _notebook(answer: str = ANSWER.format(value=1), *, written: bool = False) -> dict:
    """A tiny lab notebook with exercise 00.1 (warm-up) in one cell, as the instructor writes it."""
    cells = [nbformat.v4.new_markdown_cell("# Tiny\n\nA test notebook.", id="title"),
             nbformat.v4.new_code_cell("import labkit", id="setup"),
             nbformat.v4.new_markdown_cell("**Exercise 00.1 (warm-up, about 2 min).** Return the sensitivity.",
                                           id="statement")]
    if written:
        cells.append(nbformat.v4.new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nOne person, one count.\n### END SOLUTION",
                                                   id="why"))
    code = nbformat.v4.new_code_cell(answer + "\n\n\nfrom labkit.exercises import check\n\ncheck(\"00.1\", count_sensitivity)",
                                     id="answer", execution_count=2)
    code.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "Exercise 00.1: passed."}, execution_count=2)]
    cells += [code, nbformat.v4.new_markdown_cell("## Summary", id="summary")]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                        "language": "python"},
                                                         "widgets": {"application/vnd.jupyter.widget-state+json": {}}})
    return json.loads(nbformat.writes(nb))


def _meta(nb: dict) -> dict:
    return {c.get("id"): c.get("metadata", {}).get("nbgrader") for c in nb["cells"]}


# --- Tagging -------------------------------------------------------------------------------------


def test_tagging_splits_an_exercise_into_an_answer_cell_and_a_locked_test_cell():
    tagged = classroom.tag_notebook(_notebook(written=True))
    ids = [c["id"] for c in tagged["cells"]]
    assert ids == ["title", "setup", "statement", "why", "answer", "answer-check", "summary"]
    cells = {c["id"]: c for c in tagged["cells"]}
    assert cells["answer"]["source"] == ANSWER.format(value=1)  # the solution, without the check
    assert cells["answer"]["outputs"] == [] and cells["answer"]["execution_count"] is None
    assert cells["answer-check"]["outputs"] == _notebook()["cells"][3]["outputs"]  # the check's output moves with it
    assert cells["answer-check"]["source"] == (
        'from labkit.exercises import check\n\n### BEGIN HIDDEN TESTS\n'
        '_graded = check("00.1", count_sensitivity)  # autograde gives this cell its points only if the check passes\n'
        'assert _graded, repr(_graded)\n### END HIDDEN TESTS\ncheck("00.1", count_sensitivity)')
    base = {"schema_version": 3, "task": False}
    assert _meta(tagged) == {
        "title": None, "setup": None, "summary": None,
        "statement": {**base, "grade": False, "grade_id": "exercise-00-1", "locked": True, "solution": False},
        "why": {**base, "grade": True, "grade_id": "written-00-1", "locked": False, "points": 1, "solution": True},
        "answer": {**base, "grade": False, "grade_id": "answer-00-1", "locked": False, "solution": True},
        "answer-check": {**base, "grade": True, "grade_id": "check-00-1", "locked": True, "points": 1, "solution": False},
    }
    assert list(cells["answer-check"]["metadata"]["nbgrader"]) == sorted(cells["answer-check"]["metadata"]["nbgrader"])


def test_tagging_is_idempotent_and_leaves_the_input_alone():
    nb = _notebook(written=True)
    before = copy.deepcopy(nb)
    once = classroom.tag_notebook(nb)
    assert nb == before
    assert classroom.tag_notebook(once) == once
    assert classroom.untagged_problems(once) == []
    assert classroom.untagged_problems(nb) != []  # the untagged notebook is noticed


def test_tag_file_rewrites_once_then_never(tmp_path):
    path = tmp_path / "00-tiny.ipynb"
    path.write_text(nbformat.writes(nbformat.from_dict(_notebook())) + "\n", encoding="utf-8")
    assert classroom.tag_file(path) is True
    text = path.read_text(encoding="utf-8")
    assert classroom.tag_file(path) is False and path.read_text(encoding="utf-8") == text
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"  # the layout nbformat writes


def test_points_follow_the_registered_level():
    from labkit.exercises import exercise_info

    assert classroom.POINTS == {"warm-up": 1, "core": 2, "stretch": 3}
    for exercise in ("00.1", "02.1", "04.3"):
        assert classroom.points_for(exercise) == classroom.POINTS[exercise_info(exercise).level]
    assert classroom.points_for("04.3") == 3 and classroom.points_for("02.1") == 2


def test_nbgraders_own_validator_accepts_the_metadata_and_would_refuse_a_dotted_id():
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    tagged = nbformat.from_dict(classroom.tag_notebook(_notebook(written=True)))
    MetadataValidator().validate_nb(tagged)  # raises on anything nbgrader would refuse
    bad = copy.deepcopy(tagged)
    bad.cells[4].metadata.nbgrader.grade_id = "answer-00.1"  # the id a first draft used: nbgrader refuses the dot
    with pytest.raises(ValidationError):
        MetadataValidator().validate_nb(bad)


@pytest.mark.parametrize("source,message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\ncheck('00.1', f)\ncheck('00.2', f)", "one check"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\nprint(f)", "no later cell checks"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\ncheck('00.1', f)",
     "both a solution and hidden tests"),
])
def test_tagging_refuses_cells_it_cannot_split(source, message):
    nb = _notebook()
    nb["cells"][3]["source"] = source
    with pytest.raises(ValueError, match=message):
        classroom.tag_notebook(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_instructor_notebook_is_tagged(path):
    # The rule the hygiene test asks for: every exercise has nbgrader metadata, as tools.classroom writes it.
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert classroom.untagged_problems(nb) == [], f"run `python -m tools.classroom tag {path.relative_to(ROOT)}`"
    exercises = student.exercises_in(nb)
    graded = {c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
              if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c["cell_type"] == "code"}
    assert graded == {f"check-{e.exercise.replace('.', '-')}" for e in exercises}
    assert all(e.cell == e.answer + 1 for e in exercises)  # each test cell right below its answer cell


# --- nbgrader's release --------------------------------------------------------------------------


def test_the_release_is_nbgraders_with_the_labs_stub(tmp_path):
    path = tmp_path / "00-tiny.ipynb"
    path.write_text(json.dumps(classroom.tag_notebook(_notebook(written=True))), encoding="utf-8")
    text = student.render_student_copy(path)
    assert text == student.render_student_copy(path)  # deterministic: same bytes twice
    nb = json.loads(text)
    cells = {c["id"]: {**c, "source": "".join(c["source"])} for c in nb["cells"]}
    assert cells["answer"]["source"] == ("def count_sensitivity():\n    '''Doc.'''\n    "
                                         'raise NotImplementedError("Exercise: replace this line with your solution.")')
    assert cells["answer-check"]["source"] == 'from labkit.exercises import check\n\ncheck("00.1", count_sensitivity)'
    assert cells["why"]["source"] == "Why?\n\n*Write your answer here.*"
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in nb["cells"] if c["cell_type"] == "code")
    assert "widgets" not in nb["metadata"]
    assert "HIDDEN" not in text and "SOLUTION" not in text and "return 1" not in text
    assert cells["answer-check"]["metadata"]["editable"] is False and cells["answer"]["metadata"]["deletable"] is False
    assert cells["statement"]["metadata"]["editable"] is False and "editable" not in cells["setup"]["metadata"]
    assert cells["answer-check"]["metadata"]["nbgrader"]["checksum"]  # what autograde compares


def test_an_untagged_notebook_is_refused_with_the_command_to_run(tmp_path):
    path = tmp_path / "00-tiny.ipynb"
    path.write_text(json.dumps(_notebook()), encoding="utf-8")
    with pytest.raises(ValueError, match="tools.classroom tag"):
        student.render_student_copy(path)


# --- The autograde round trip --------------------------------------------------------------------


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    # One run for every notebook: two courses, each released by nbgrader; the two autogrades run at once.
    return classroom.round_trip(tmp_path_factory.mktemp("course"), WITH_EXERCISES, log=print)


@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.name)
def test_autograde_gives_full_marks_to_the_answers_and_zero_to_the_untouched_release(path, round_trip):
    (row,) = [n for n in round_trip.notebooks if n.assignment == path.stem]
    assert row.problems == [], "\n".join(row.problems)
    nb = json.loads(path.read_text(encoding="utf-8"))
    exercises = student.exercises_in(nb)
    auto = {r.grade_id: r for r in row.solved if r.autograded}
    assert sorted(auto) == sorted(f"check-{e.exercise.replace('.', '-')}" for e in exercises)
    assert all(r.score == r.max_score == classroom.points_for(g[6:].replace("-", ".")) for g, r in auto.items())
    assert {r.grade_id for r in row.untouched} == {r.grade_id for r in row.solved}
    assert all(r.score == 0 for r in row.untouched)


@pytest.mark.slow
def test_a_chinese_notebook_autogrades_like_its_english_original(tmp_path, monkeypatch):
    # The Chinese edition's code cells are the English ones (tests/test_i18n.py), so the English round
    # trip above proves its checks; this runs one Chinese notebook through nbgrader with labkit speaking
    # Chinese (the autograde kernels run outside notebooks/zh, hence LABKIT_LANG), feedback and all.
    zh = ROOT / "notebooks" / "zh" / "02-dp-from-scratch.ipynb"
    monkeypatch.setenv("LABKIT_LANG", "zh")
    (row,) = classroom.round_trip(tmp_path / "course", [zh]).notebooks
    assert row.problems == [], "\n".join(row.problems)
    auto = [r for r in row.solved if r.autograded]
    assert len(auto) == len(student.exercises_in(json.loads(zh.read_text(encoding="utf-8")))) == 2
    assert all(r.score == r.max_score for r in auto) and all(r.score == 0 for r in row.untouched)


@pytest.mark.slow
def test_the_round_trip_catches_a_check_that_cannot_fail_and_a_wrong_solution(tmp_path):
    leaky = classroom.tag_notebook(_notebook("def count_sensitivity():\n    return 1\n    ### BEGIN SOLUTION\n    ### END SOLUTION"))
    wrong = classroom.tag_notebook(_notebook(ANSWER.format(value=2)))
    good = classroom.tag_notebook(_notebook(written=True))
    paths = []
    for name, nb in (("00-leaky", leaky), ("00-wrong", wrong), ("00-good", good)):
        paths.append(tmp_path / f"{name}.ipynb")
        paths[-1].write_text(json.dumps(nb), encoding="utf-8")
    report = {n.assignment: n for n in classroom.round_trip(tmp_path / "course", paths).notebooks}
    assert report["00-good"].problems == []
    assert any(r.grade_id == "written-00-1" and r.needs_manual_grade for r in report["00-good"].solved)
    assert any(r.grade_id == "written-00-1" and r.score == 0 and not r.needs_manual_grade for r in report["00-good"].untouched)
    assert [p for p in report["00-leaky"].problems if "cannot fail" in p], report["00-leaky"].problems
    assert [p for p in report["00-wrong"].problems if "want full marks" in p], report["00-wrong"].problems


def test_grade_problems_flags_a_student_copy_that_stops_early_and_a_missing_grade():
    source = classroom.tag_notebook(_notebook())
    rows = [classroom.CellScore("00-tiny", "check-00-1", 1.0, 1.0, False, True)]
    zero = [classroom.CellScore("00-tiny", "check-00-1", 0.0, 1.0, False, True)]
    clean = {"cells": []}
    assert classroom.grade_problems("00-tiny", source, rows, zero, clean, clean) == []
    crashed = {"cells": [{"cell_type": "code", "id": "setup", "metadata": {},
                          "outputs": [{"output_type": "error", "ename": "NameError", "evalue": "name 'x' is not defined"}]}]}
    problems = classroom.grade_problems("00-tiny", source, rows, zero, clean, crashed)
    assert len(problems) == 1 and "must run to its end" in problems[0]
    assert any("want full marks" in p for p in classroom.grade_problems("00-tiny", source, zero, zero, clean, clean))
    assert any("gradebook grades" in p for p in classroom.grade_problems("00-tiny", source, [], [], clean, clean))


def test_the_tag_command_reports_then_tags_then_is_quiet(tmp_path):
    path = tmp_path / "00-tiny.ipynb"
    path.write_text(nbformat.writes(nbformat.from_dict(_notebook())) + "\n", encoding="utf-8")
    assert classroom._main(["tag", "--check", str(path)]) == 1
    assert classroom.untagged_problems(json.loads(path.read_text(encoding="utf-8")))  # --check wrote nothing
    assert classroom._main(["tag", str(path)]) == 0
    assert classroom._main(["tag", "--check", str(path)]) == 0


def test_the_course_config_file_says_what_the_in_process_config_says(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    classroom.write_config(tmp_path / "course", "a-course")
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path / "course")).load_config()
    expected = classroom.config(tmp_path / "course", "a-course")
    for section in ("CourseDirectory", "ClearSolutions", "Execute"):
        assert dict(loaded[section]) == dict(expected[section]), section
    assert loaded.ClearSolutions.code_stub == {"python": student.STUB}


def test_a_heading_quoted_mid_line_is_not_a_statement():
    stale = {"grade": False, "grade_id": "exercise-04-1", "locked": True, "schema_version": 3, "solution": False,
             "task": False}
    quoted = 'Each heading gives the level, as in "**Exercise 04.1 (build,\ncore, about 15 min).**". Two cells follow.'
    nb = {"cells": [{"cell_type": "markdown", "id": "q", "metadata": {"nbgrader": stale}, "source": quoted},
                    {"cell_type": "markdown", "id": "s", "metadata": {}, "source": "**Exercise 00.1 (warm-up, about 2 min).** Hi."}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    tagged = classroom.tag_notebook(nb)
    assert "nbgrader" not in tagged["cells"][0]["metadata"]
    assert tagged["cells"][1]["metadata"]["nbgrader"]["grade_id"] == "exercise-00-1"
    assert classroom.untagged_problems(nb)  # the hygiene test reports the stale tag
