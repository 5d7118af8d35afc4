"""A classroom on one machine: a real JupyterHub, three students, three notebooks running at once.

The hub (``tools/hub.py``) runs on 127.0.0.1 with configurable-http-proxy (``make hub``), the
shared-password authenticator and the simple local-process spawner. Three students log in through the
login form, their servers start, each gets a student notebook (and a private file) through the contents
API, and the three notebooks run at the same time through their kernels' websockets. The test checks that
every code cell ran without an error, that each student sees only their own files and cannot reach
another's server, measures each student's peak memory (kernel, and the whole server tree) against the
per-user budget in ``docs/instructors.md``, and checks that nothing the hub started is left running.
The measured peaks are written to ``test-artifacts/hub-memory.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tools.hub import CHP, LocalHub, MemorySampler
from tools.hub import alive as hub_alive

ROOT = Path(__file__).resolve().parents[1]
# One student per track's heaviest machinery: TensorFlow (DP-SGD), TFF's worker, MPyC's party processes.
JOBS = {"ada": "04-dp-sgd.ipynb", "alan": "07-private-federated-learning.ipynb", "grace": "09-secure-computation.ipynb"}
BUDGET_MB = 2048  # docs/instructors.md: memory per user



@pytest.mark.slow
def test_three_students_run_notebooks_at_once_on_a_real_jupyterhub(tmp_path):
    if not CHP.is_file():
        pytest.fail(f"configurable-http-proxy is missing ({CHP}): `make test` installs it with `make hub`")
    hub = LocalHub(tmp_path / "hub", list(JOBS))
    seen: set[int] = set()
    try:
        hub.start()
        sessions = {user: hub.login(user) for user in JOBS}
        for user in JOBS:
            hub.start_server(user)
        for user in JOBS:
            hub.wait_ready(user)
        seen |= {p.pid for p in hub.processes()}

        for user, name in JOBS.items():
            notebook = json.loads((ROOT / "student" / name).read_text())
            hub.upload(user, name, notebook)
            hub.server("PUT", user, f"/contents/notes-{user}.txt", json={"type": "file", "format": "text",
                                                                          "content": f"{user}'s notes"})
        for user, name in JOBS.items():
            assert hub.list_files(user) == sorted([name, f"notes-{user}.txt"]), f"{user} sees other files"
            home = tmp_path / "hub" / "home" / user
            assert (home / name).is_file() and (home / f"notes-{user}.txt").read_text() == f"{user}'s notes"
        # A student's login reaches their own server's files and not another student's.
        ada, alan = sessions["ada"], sessions["alan"]
        page = ada.get(f"{hub.url}/user/ada/lab", timeout=60)  # the OAuth round trip a browser makes
        assert page.status_code == 200 and "JupyterLab" in page.text
        refused = alan.get(f"{hub.url}/user/ada/lab", timeout=60)
        assert refused.status_code == 403, f"alan opened ada's JupyterLab: {refused.status_code}"
        mine = ada.get(f"{hub.url}/user/ada/api/contents/notes-ada.txt", timeout=30)
        assert mine.status_code == 200 and mine.json()["content"] == "ada's notes"
        other = alan.get(f"{hub.url}/user/ada/api/contents/notes-ada.txt", allow_redirects=False, timeout=30)
        assert other.status_code in (302, 403, 404), f"alan reached ada's files: {other.status_code}"
        assert "ada's notes" not in other.text

        started = time.perf_counter()
        with MemorySampler(hub) as memory:
            runs = asyncio.run(hub.run_notebooks(list(JOBS.items())))
        wall = time.perf_counter() - started
        seen |= {p.pid for p in hub.processes()}
        for run in runs:
            code = [c for c in json.loads((ROOT / "student" / run.path).read_text())["cells"]
                    if c["cell_type"] == "code" and "".join(c["source"]).strip()]
            assert run.errors == [], f"{run.user}'s {run.path} stopped: {run.errors}"
            assert run.cells == len(code), f"{run.user} ran {run.cells} of {len(code)} code cells"
            # The exercises are open in a student copy: their checks answer, they do not pass.
            assert any("Not yet" in text or "not yet" in text for text in run.outputs), run.outputs[-3:]
        assert set(memory.kernel_peak) == set(JOBS), f"kernels measured: {memory.kernel_peak}"
        report = {user: {"notebook": JOBS[user], "kernel_peak_mb": round(memory.kernel_peak[user] / 2**20),
                         "user_peak_mb": round(memory.total_peak[user] / 2**20),
                         "seconds": round(next(r.seconds for r in runs if r.user == user), 1)}
                  for user in JOBS}
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / "hub-memory.json").write_text(json.dumps({"wall_seconds": round(wall, 1), "users": report},
                                                              indent=1) + "\n")
        print(json.dumps(report))
        for user, row in report.items():
            assert 100 < row["kernel_peak_mb"] <= row["user_peak_mb"], row  # really measured, kernel within tree
            assert row["user_peak_mb"] < BUDGET_MB, f"{user} peaked at {row['user_peak_mb']} MB > {BUDGET_MB} MB"
    finally:
        left = hub.close()
    assert left == [], f"processes of the hub still alive after it stopped: {left}"
    assert hub_alive(sorted(seen)) == [], "a server, kernel or proxy outlived the hub"
