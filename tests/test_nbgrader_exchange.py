"""nbgrader's exchange through a real JupyterHub: release, fetch, submit, collect, autograde.

The hub is the classroom test's (``tools/hub.py``: JupyterHub on 127.0.0.1, configurable-http-proxy, the
shared-password login, one local server per user). One instructor and three students log in through the login
form. Every nbgrader command runs inside the server of the user who types it, through a kernel of that server
(:meth:`LocalHub.run_command`), so the student's identity is the one the hub gave the server (``JUPYTERHUB_USER``)
and the course and exchange come from the hub's nbgrader config (:class:`NbgraderCourse`).

The assignment is the lab's notebook 02 (two autograded exercises), laid out as an nbgrader course by the lab's
builder (``tools.classroom``) in the instructor's home. The instructor generates and releases it; each student
fetches it in their own server. ada fills in every solution, alan submits the release untouched, grace answers the
first exercise only; each runs the notebook in their kernel (the visible checks answer "passed" / "not yet"), then
submits. The instructor collects and autogrades, and the test reads the gradebook: full marks for ada, zero for
alan, the first exercise's points for grace, cell by cell; each collected notebook is the one its student wrote.
Everything the hub started stops. Timings and each user's peak memory go to ``test-artifacts/nbgrader-exchange.json``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from tools.hub import CHP, LocalHub, MemorySampler, NbgraderCourse
from tools.hub import alive as hub_alive

ROOT = Path(__file__).resolve().parents[1]

COURSE = "privacy-lab"
INSTRUCTOR = "mary"
NBGRADER = [sys.executable, "-m", "nbgrader"]  # this environment's, whatever its scripts' #! lines say
# What each student does with the released notebook before submitting it.
STUDENTS = {"ada": "solutions", "alan": "untouched", "grace": "first exercise only"}
NOTEBOOK = ROOT / "notebooks" / "02-dp-from-scratch.ipynb"  # two exercises (build, reason), 5 s, 0.25 GB


def lab_assignment(course_dir: Path) -> tuple[str, dict[str, dict], dict[str, tuple[str, int]]]:
    """Lay out the instructor's course with the lab's builder (``tools.classroom``): one notebook, one assignment.

    Returns the assignment name, its source notebooks ({file name: notebook}), and for each autograded check
    cell, in notebook order, its grade id -> (the grade id of the answer cell it checks, its points).
    """
    from tools import classroom

    # tag=True: the builder's tagging is idempotent, so this holds before and after notebooks/ is tagged.
    (assignment,) = classroom.build_course(course_dir, [NOTEBOOK], course_id=COURSE, tag=True)
    path = course_dir / "source" / assignment / NOTEBOOK.name
    source = json.loads(path.read_text())
    checks = {}
    for cell in source["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell["cell_type"] == "code":
            checks[meta["grade_id"]] = (meta["grade_id"].replace("check-", "answer-", 1), meta["points"])
    answer_ids = {_grade_id(c) for c in source["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    assert len(checks) >= 2 and {a for a, _ in checks.values()} <= answer_ids, (checks, answer_ids)
    return assignment, {NOTEBOOK.name: source}, checks


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _answered(release: dict, source: dict, answer_ids: set[str]) -> dict:
    """The released notebook with the instructor's solution typed into the answer cells ``answer_ids``."""
    solutions = {_grade_id(c): c["source"] for c in source["cells"] if _grade_id(c) in answer_ids}
    notebook = copy.deepcopy(release)
    for cell in notebook["cells"]:
        if _grade_id(cell) in answer_ids:
            text = "".join(solutions[_grade_id(cell)])
            cell["source"] = "\n".join(line for line in text.splitlines()
                                       if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return notebook



def _ok(run) -> None:
    assert run.returncode == 0, f"{run.user}: {' '.join(run.argv)} exited {run.returncode}:\n{run.stderr[-2000:]}"


@pytest.mark.slow
def test_release_fetch_submit_collect_autograde_through_a_real_jupyterhub(tmp_path, monkeypatch):
    if not CHP.is_file():
        pytest.fail(f"configurable-http-proxy is missing ({CHP}): `make test` installs it with `make hub`")
    home = tmp_path / "hub" / "home"
    # The instructor's course folder, in their home (their server's files), laid out by the lab's builder.
    assignment, notebooks, checks = lab_assignment(home / INSTRUCTOR / COURSE)
    answers = {student: {a for a, _ in checks.values()} if plan == "solutions" else
               {next(iter(checks.values()))[0]} if plan == "first exercise only" else set()
               for student, plan in STUDENTS.items()}
    exchange = tmp_path / "exchange"
    course = NbgraderCourse(COURSE, exchange, instructors=(INSTRUCTOR,))
    hub = LocalHub(tmp_path / "hub", [INSTRUCTOR, *STUDENTS], course=course)
    seen: set[int] = set()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    memory = MemorySampler(hub, interval=0.5).__enter__()  # every user's kernels and server tree, all along
    try:
        hub.start()
        for user in hub.users:
            hub.login(user)
            hub.start_server(user)
        for user in hub.users:
            hub.wait_ready(user)
        timings["hub and 4 servers up"] = time.perf_counter() - started
        seen |= {p.pid for p in hub.processes()}

        # Release: generate the student version, then put it in the exchange.
        t = time.perf_counter()
        for step in ("generate_assignment", "release_assignment"):
            _ok(hub.run_command(INSTRUCTOR, [*NBGRADER, step, assignment]))
        outbound = exchange / COURSE / "outbound" / assignment
        assert sorted(p.name for p in outbound.glob("*.ipynb")) == sorted(notebooks)
        for name in notebooks:
            released = "\n".join("".join(c["source"]) for c in json.loads((outbound / name).read_text())["cells"])
            assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
            assert 'raise NotImplementedError("Exercise: ' in released  # the lab's stub: check says "not attempted"
        timings["release"] = time.perf_counter() - t

        # Each student fetches it from inside their own server, at the same time.
        t = time.perf_counter()
        fetches = asyncio.run(hub.run_commands([(s, [*NBGRADER, "fetch_assignment", assignment])
                                                for s in STUDENTS]))
        for run in fetches:
            _ok(run)
        for student in STUDENTS:
            assert hub.list_files(student) == [assignment], f"{student}'s home: {hub.list_files(student)}"
            assert hub.list_files(student, assignment) == sorted(notebooks)
        timings["fetch (3 at once)"] = time.perf_counter() - t

        # Each student answers in their own copy (the contents API, as JupyterLab saves), runs it, submits.
        written: dict[str, dict[str, dict]] = {}
        for student in STUDENTS:
            written[student] = {}
            for name, source in notebooks.items():
                release = hub.server("GET", student, f"/contents/{assignment}/{name}")["content"]
                mine = _answered(release, source, answers[student])
                hub.upload(student, f"{assignment}/{name}", mine)
                written[student][name] = mine
        t = time.perf_counter()
        jobs = [(s, f"{assignment}/{name}") for s in STUDENTS for name in notebooks]
        runs = asyncio.run(hub.run_notebooks(jobs))
        timings["students run their notebooks (3 at once)"] = time.perf_counter() - t
        seen |= {p.pid for p in hub.processes()}
        for run in runs:
            assert run.errors == [], f"{run.user}'s {run.path} stopped: {run.errors}"
            said = "".join(run.outputs)
            passed, open_ = (len(re.findall(rf"Exercise \d\d\.\d+: {word}", said)) for word in ("passed", "not yet"))
            assert (passed, open_) == (len(answers[run.user]), len(checks) - len(answers[run.user])), said
        t = time.perf_counter()
        submits = asyncio.run(hub.run_commands([(s, [*NBGRADER, "submit", assignment]) for s in STUDENTS]))
        for run in submits:
            _ok(run)
        timings["submit (3 at once)"] = time.perf_counter() - t
        inbound = sorted(p.name.split("+")[0] for p in (exchange / COURSE / "inbound").iterdir())
        assert inbound == sorted(STUDENTS), f"submissions filed under {inbound}"

        # The instructor collects and autogrades, in their server.
        t = time.perf_counter()
        _ok(hub.run_command(INSTRUCTOR, [*NBGRADER, "collect", assignment]))
        _ok(hub.run_command(INSTRUCTOR, [*NBGRADER, "autograde", assignment]))
        timings["collect + autograde"] = time.perf_counter() - t
        root = home / INSTRUCTOR / COURSE
        for student in STUDENTS:
            for name in notebooks:
                collected = json.loads((root / "submitted" / student / assignment / name).read_text())
                answer_ids = {a for a, _ in checks.values()}
                answer_cells = {_grade_id(c): "".join(c["source"]) for c in collected["cells"]
                                if _grade_id(c) in answer_ids}
                mine = {_grade_id(c): "".join(c["source"]) for c in written[student][name]["cells"]
                        if _grade_id(c) in answer_ids}
                assert set(mine) == answer_ids and answer_cells == mine, \
                    f"the collected {name} of {student} is not the one {student} wrote"
                assert (root / "autograded" / student / assignment / name).is_file()
        # Nobody else's files in a student's home.
        for student in STUDENTS:
            assert sorted(p.name for p in (home / student).iterdir() if not p.name.startswith(".")) == [assignment]
    finally:
        memory.__exit__(None, None, None)
        seen |= {p.pid for p in hub.processes()}
        left = hub.close()
    assert left == [], f"processes of the hub still alive after it stopped: {left}"
    assert hub_alive(seen) == [], "a server, kernel or proxy outlived the hub"

    # The gradebook, as the instructor's autograde left it (nbgrader runs `alembic`: the hub's, by `python -m`).
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "hub" / "bin"), os.environ["PATH"]]))

    total = sum(points for _, points in checks.values())
    expected = {student: {check: (points if answer in answers[student] else 0)
                          for check, (answer, points) in checks.items()} for student in STUDENTS}
    with Gradebook(f"sqlite:///{home / INSTRUCTOR / COURSE / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)
        scores = {}
        for student in STUDENTS:
            submission = gb.find_submission(assignment, student)
            assert submission.max_score == total
            cells = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.cell.name in checks:
                        cells[grade.cell.name] = grade.score
            assert cells == expected[student], f"{student} ({STUDENTS[student]}): {cells}"
            assert submission.score == sum(expected[student].values())
            scores[student] = submission.score
    assert scores == {"ada": total, "alan": 0, "grace": next(iter(checks.values()))[1]}
    assert set(memory.kernel_peak) == set(hub.users), f"kernels measured: {memory.kernel_peak}"
    report = {"notebook": NOTEBOOK.name, "assignment": assignment, "scores": scores,
              "seconds": {k: round(v, 1) for k, v in timings.items()},
              "total_seconds": round(time.perf_counter() - started, 1),
              "kernel_peak_mb": {u: round(memory.kernel_peak[u] / 2**20) for u in hub.users},
              "user_peak_mb": {u: round(memory.total_peak[u] / 2**20) for u in hub.users}}
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "nbgrader-exchange.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


def test_hub_config_files_each_submission_under_the_hub_user_not_the_unix_user(tmp_path, monkeypatch):
    """nbgrader's own submit step, given the config the hub's servers read, names each student by JUPYTERHUB_USER."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.submit import ExchangeSubmit
    from nbgrader.utils import get_username
    from traitlets.config.loader import PyFileConfigLoader

    exchange = tmp_path / "exchange"
    (exchange / COURSE / "inbound").mkdir(parents=True)
    course = NbgraderCourse(COURSE, exchange, instructors=(INSTRUCTOR,))
    (tmp_path / "nbgrader_config.py").write_text(course.config())

    def config_of(user):
        monkeypatch.setenv("JUPYTERHUB_USER", user)
        monkeypatch.setenv("HOME", str(tmp_path / "home" / user))
        return PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()

    for student in STUDENTS:
        cfg = config_of(student)
        submit = ExchangeSubmit(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg),
                                config=cfg)
        assert submit.root == str(exchange) and submit.coursedir.course_id == COURSE
        submit.coursedir.assignment_id = "02-dp-from-scratch"
        submit.set_timestamp()
        submit.init_dest()  # where `nbgrader submit` names the submission
        assert submit.assignment_filename.startswith(f"{student}+02-dp-from-scratch+"), submit.assignment_filename
    # Without the hub's name nbgrader would file every student under this one Unix user.
    assert get_username() not in STUDENTS
    cfg = config_of(INSTRUCTOR)
    coursedir = CourseDirectory(config=cfg)
    assert coursedir.student_id == "*"  # the instructor collects and grades every student
    assert coursedir.root == str(tmp_path / "home" / INSTRUCTOR / COURSE)


def test_course_instructors_must_be_hub_users(tmp_path):
    course = NbgraderCourse(COURSE, tmp_path / "exchange", instructors=("nobody",))
    with pytest.raises(ValueError, match="course.instructors must be hub users"):
        LocalHub(tmp_path / "hub", list(STUDENTS), course=course)
