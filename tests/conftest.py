"""Suite-wide fixtures and the check that nothing the suite started is left running."""

from __future__ import annotations

import os
import time
import uuid

import psutil
import pytest
from hypothesis import HealthCheck, settings

from labkit import runtime
from labkit.runtime import quiet_environment
from tools.browser import stop_process_group as _stop_process_group  # one definition, shared with the browser tooling

# One hypothesis profile for the suite: no per-example deadline (a first call may trace TensorFlow
# or warm a cache, and the machine is shared), and function-scoped fixtures are read-only inputs here.
settings.register_profile("labkit", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("labkit")

quiet_environment()  # the kernels nbval starts inherit quiet TensorFlow logs

# Processes that a notebook, test or server may start and must also stop.
WATCHED = ("worker_binary", "jupyter-lab", "jupyter-server", "ipykernel_launcher", "chromium", "mpyc")
_SESSION_START = time.time()
# Every process the suite starts inherits this marker, so the leftover check only judges (and ends)
# processes of this session, never those of another test run on the same machine.
_MARKER = "LABKIT_TEST_SESSION"
os.environ[_MARKER] = uuid.uuid4().hex


def pytest_configure(config):
    # The third-party deprecations the notebooks silence (labkit.runtime) are not the suite's concern
    # either; pyproject.toml's filterwarnings makes labkit's own deprecations errors.
    for category in ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning"):
        for modules in (runtime.NOISY_MODULES, runtime.DEPRECATING_MODULES):
            config.addinivalue_line("filterwarnings", f"ignore::{category}:{modules}")
    config.addinivalue_line("filterwarnings", f"ignore:{runtime.KERAS_RANDINT}:DeprecationWarning:random")


def pytest_collection_modifyitems(config, items):
    # nbval's cells run whole notebooks (a minute each): they are slow, so `make quick` (-m "not slow")
    # runs the unit tests alone and `make test` runs everything.
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


def leftover_processes(since: float) -> list[psutil.Process]:
    """Watched processes created after ``since`` that are still alive (zombies excluded)."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "create_time", "cmdline", "status"]):
        try:
            if proc.info["pid"] == me or proc.info["create_time"] < since - 1:
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmd = " ".join(proc.info["cmdline"] or [])
            if any(w in cmd for w in WATCHED) and proc.environ().get(_MARKER) == os.environ[_MARKER]:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def pytest_sessionfinish(session, exitstatus):
    # nbval shuts its kernels down asynchronously: give them a moment before judging.
    deadline = time.time() + 10
    left = leftover_processes(_SESSION_START)
    while left and time.time() < deadline:
        time.sleep(0.5)
        left = leftover_processes(_SESSION_START)
    if left:
        lines = "\n".join(f"  pid {p.pid}: {' '.join(p.cmdline())[:160]}" for p in left)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"FAILED: processes left behind by the suite (now ended):\n{lines}", red=True)
        for p in left:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        session.exitstatus = pytest.ExitCode.TESTS_FAILED



@pytest.fixture
def stop_process_group():
    """The teardown of a server test: ``stop_process_group(proc, timeout=30) -> stopped on SIGTERM``."""
    return _stop_process_group


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ (LABKIT_DATA_DIR points at it), for tests that damage files."""
    import shutil

    from labkit import data

    target = tmp_path / "data"
    shutil.copytree(data.data_dir(), target)
    monkeypatch.setenv("LABKIT_DATA_DIR", str(target))
    return target
