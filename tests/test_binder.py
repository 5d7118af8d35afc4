"""Binder's build, checked as far as this machine allows.

mybinder.org builds the image with repo2docker: conda (mamba) creates the environment from
``environment.yml``, then ``postBuild`` runs. Two parts of that cannot run here: conda-forge is not
reachable (this machine reaches PyPI, Debian and npm only) and Docker has no daemon. So this file checks
what can be checked:

* the Dockerfile that repo2docker itself writes for this repository (``--no-build``): it installs
  ``environment.yml`` with mamba, copies the repository and runs ``postBuild`` after it, and nothing
  else of ours (no second requirements file, no ``apt.txt``);
* the same steps in a fresh virtual environment: the pip list of ``environment.yml`` (equal to
  ``requirements.txt`` line for line, ``tests/test_environment.py``) installed into a new venv of the
  same Python, then ``postBuild`` run unchanged with that venv first on ``PATH``; then the index
  notebook runs in it in a fresh kernel, and labkit and TFF import there.

The fresh environment is about 3 GB and is deleted at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPO2DOCKER = Path(sys.executable).with_name("repo2docker")


def _dockerfile() -> str:
    out = subprocess.run([str(REPO2DOCKER), "--no-build", "--no-run", "--debug", str(ROOT)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert "FROM " in text, text[-2000:]
    return text


def _environment_pips() -> list[str]:
    yml = (ROOT / "environment.yml").read_text()
    block = yml.split("- pip:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^\s+-\s+(\S+==\S+)\s*$", block, re.M)]


@pytest.mark.slow
def test_repo2docker_builds_from_environment_yml_then_runs_postbuild():
    text = _dockerfile()
    env_update = re.search(r'env update -p \$\{NB_PYTHON_PREFIX\} --file "environment\.yml"', text)
    assert env_update, "repo2docker no longer installs environment.yml with mamba"
    copy_repo = text.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    post = text.index("RUN ./postBuild")
    assert env_update.start() < copy_repo < post, "postBuild must run after the environment and the repository copy"
    for other in ("requirements.txt", "install.R", "Project.toml", "runtime.txt"):
        assert other not in text, f"repo2docker picked up {other}: Binder would install more than environment.yml"
    # apt.txt: the Chinese edition's CJK font, from Debian, installed before postBuild runs.
    font = re.search(r"apt-get install --yes --no-install-recommends fonts-wqy-microhei", text)
    assert font and font.start() < post, "repo2docker must install apt.txt's fonts-wqy-microhei (Chinese figures)"


@pytest.mark.slow
def test_binder_steps_in_a_fresh_environment_run_the_index(tmp_path):
    venv = tmp_path / "binder-venv"
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    pips = _environment_pips()
    assert len(pips) > 40, pips
    wanted = tmp_path / "environment-pip.txt"
    wanted.write_text("\n".join(pips) + "\n")
    try:
        step = subprocess.run([str(bin_dir / "pip"), "install", "-q", "-r", str(wanted)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=1800)
        assert step.returncode == 0, step.stderr[-3000:]
        step = subprocess.run(["bash", str(ROOT / "postBuild")], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        assert step.returncode == 0, step.stderr[-3000:]
        probe = subprocess.run([str(bin_dir / "python"), "-c", (
            "import labkit, tensorflow_federated as tff, pathlib, sys; "
            "print(pathlib.Path(labkit.__file__).resolve().parents[1]); print(tff.__version__); print(sys.prefix)")],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert probe.returncode == 0, probe.stderr[-3000:]
        where, tff_version, prefix = probe.stdout.split()[-3:]
        assert Path(where) == ROOT and tff_version == "0.87.0" and Path(prefix) == venv
        executed = tmp_path / "00-index.ipynb"
        run = subprocess.run([str(bin_dir / "python"), "-c", (
            "import sys, nbformat, nbclient; nb = nbformat.read(sys.argv[1], as_version=4); "
            "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3', "
            "resources={'metadata': {'path': sys.argv[3]}}).execute(); nbformat.write(nb, sys.argv[2])"),
            str(ROOT / "notebooks" / "00-index.ipynb"), str(executed), str(ROOT / "notebooks")],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        nb = json.loads(executed.read_text())
        errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [] and any(c.get("outputs") for c in nb["cells"])
    finally:
        shutil.rmtree(venv, ignore_errors=True)
