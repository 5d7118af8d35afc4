"""The README's commands: `make install` is idempotent and explains a wrong Python; `make lab` serves
the landing notebook and stops cleanly."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def test_make_install_does_nothing_when_current():
    # `make -q` exits 0 only when the target is up to date: no venv rebuild on a second run.
    out = subprocess.run(["make", "-q", "install"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, "make install would rebuild .venv although it is current"


@pytest.mark.parametrize("fake", ["3.10.12", None])
def test_wrong_or_missing_python_gets_one_clear_sentence(tmp_path, fake):
    for name in ("Makefile", "requirements.txt", "tff-requirement.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    if fake:
        python = tmp_path / "python3.11"
        python.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Python {fake}'; exit 0; fi\nexit 1\n")
        python.chmod(0o755)
    else:
        python = tmp_path / "no-such-python"
    out = subprocess.run(["make", "install", f"PYTHON={python}"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "This lab needs Python 3.11" in text and "Install Python 3.11" in text
    assert "Traceback" not in text and not (tmp_path / ".venv").exists()
    if fake:
        assert f"Python {fake}" in text


@pytest.mark.slow
@pytest.mark.parametrize("target, landing", [("lab", "notebooks/00-index.ipynb"), ("lab-student", "student/00-index.ipynb"),
                                             ("lab-zh", "notebooks/zh/00-index.ipynb")])
def test_make_lab_serves_the_landing_notebook_and_stops_cleanly(tmp_path, stop_process_group, target, landing):
    """`make lab` (instructor index) and `make lab-student` (student index) root JupyterLab at the project
    folder, so that both notebooks/ and student/ are in the file browser, and stop cleanly."""
    import portpicker

    port = portpicker.pick_unused_port()
    env = dict(os.environ, LAB_PORT=str(port), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"), BROWSER="true")
    proc = subprocess.Popen(["make", target, "LAB_ARGS=--no-browser"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    log: list[str] = []
    group: list[int] = []
    try:
        url = None
        deadline = time.time() + 120
        while time.time() < deadline and url is None and proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            log.append(line)
            m = re.search(rf"(http://localhost:{port}/lab/tree/{re.escape(landing)}\?token=([0-9a-f]{{48}}))", line)
            if m:
                url, token = m.group(1), m.group(2)
        assert url, "make lab printed no URL for the landing notebook:\n" + "".join(log[-30:])
        group = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        api = f"http://localhost:{port}/api/contents/{landing}?token={token}"
        model = None
        while time.time() < deadline and model is None:  # the URL is printed before the server listens
            try:
                with NO_PROXY.open(api, timeout=10) as resp:
                    model = json.loads(resp.read())
            except OSError:
                time.sleep(0.5)
        assert model is not None, "the server never answered:\n" + "".join(log[-30:])
        assert model["name"] == "00-index.ipynb" and model["type"] == "notebook"
        title = model["content"]["cells"][0]["source"]
        assert title == "".join(json.loads((ROOT / landing).read_text(encoding="utf-8"))["cells"][0]["source"])
        assert re.search("[\u4e00-\u9fff]", title) if target == "lab-zh" else title.startswith("# Start here"), title[:60]
        if target == "lab-zh":  # JupyterLab's own interface in Chinese: the setting, and the language pack serving it
            with NO_PROXY.open(f"http://localhost:{port}/lab/api/settings/@jupyterlab/translation-extension:plugin?token={token}",
                               timeout=10) as resp:
                assert json.loads(resp.read())["settings"]["locale"] == "zh_CN"
            with NO_PROXY.open(f"http://localhost:{port}/lab/api/translations/zh_CN?token={token}", timeout=10) as resp:
                pack = json.loads(resp.read())
            assert pack["data"] and pack["message"] == "", str(pack)[:300]
        with NO_PROXY.open(f"http://localhost:{port}/api/contents?token={token}", timeout=10) as resp:
            root = {item["name"] for item in json.loads(resp.read())["content"]}
        assert {"notebooks", "student"} <= root, f"the file browser's root must hold notebooks/ and student/; got {root}"
        with NO_PROXY.open(url, timeout=30) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
    finally:
        if not stop_process_group(proc, timeout=30):
            pytest.fail("make lab did not stop within 30 s of SIGTERM")
    time.sleep(0.5)
    alive = [pid for pid in group if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"processes of make lab still alive: {alive}"
    with pytest.raises(OSError):
        NO_PROXY.open(f"http://localhost:{port}/api/status?token={token}", timeout=5)
