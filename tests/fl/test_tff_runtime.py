"""labkit.fl.tff: TFF's worker_binary ends whenever the process that started it ends.

Each case runs a real TFF computation in a fresh Python process (or Jupyter kernel), learns the
worker's pid from it, ends the process one way or another, and checks with psutil that the
worker is gone. One control runs TFF without the guard and sees the worker survive, so the
check can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from labkit.fl import tff as tff_runtime

PY = sys.executable
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}

WORKER_CODE = textwrap.dedent(
    """
    from labkit.fl import tff as tff_runtime
    tff = tff_runtime.local_cpp_context()
    import tensorflow as tf

    @tff.tensorflow.computation(tf.int32)
    def add_one(x):
        return x + 1

    assert add_one(41) == 42
    print("WORKER", *tff_runtime.live_workers(), flush=True)
    """
)
"""Start a guarded worker and print its pid: run as a script (GUARDED) and in a Jupyter kernel."""

GUARDED = "import os, sys\n" + WORKER_CODE + textwrap.dedent(
    """
    mode = sys.argv[1]
    if mode == "exception":
        raise RuntimeError("the learner's code failed")
    if mode == "sigterm":
        os.kill(os.getpid(), 15)
    if mode == "sigkill":
        os.kill(os.getpid(), 9)
    """
)

UNGUARDED = textwrap.dedent(
    """
    import os
    import tensorflow_federated as tff
    import tensorflow as tf
    import psutil

    @tff.tensorflow.computation(tf.int32)
    def add_one(x):
        return x + 1

    assert add_one(41) == 42
    kids = [p.pid for p in psutil.Process().children() if "worker_binary" in " ".join(p.cmdline())]
    print("WORKER", *kids, flush=True)
    """
)


def is_worker_alive(pid: int) -> bool:
    """A live (not zombie) process with this pid that is a worker_binary."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and tff_runtime.WORKER_NAME in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_worker_alive(pid):
            return True
        time.sleep(0.1)
    return not is_worker_alive(pid)


def worker_pids(stdout: str) -> list[int]:
    lines = [line for line in stdout.splitlines() if line.startswith("WORKER")]
    assert lines, f"the child printed no WORKER line; stdout was {stdout!r}"
    return [int(x) for x in lines[-1].split()[1:]]


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", script, *args], capture_output=True, text=True, timeout=120, env=ENV)


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode, returncode",
    [("normal", 0), ("exception", 1), ("sigterm", -15), ("sigkill", -9)],
)
def test_no_worker_survives_the_process(mode, returncode):
    result = run_script(GUARDED, mode)
    pids = worker_pids(result.stdout)
    assert len(pids) == 1, f"expected one running worker, got {pids}"
    assert result.returncode == returncode, result.stderr[-2000:]
    assert wait_gone(pids[0]), f"worker_binary {pids[0]} outlived a process that ended by {mode}"
    if mode == "normal":
        assert "Exception ignored" not in result.stderr, result.stderr[-2000:]


@pytest.mark.slow
def test_control_without_the_guard_the_worker_survives(tmp_path):
    """The check above can fail: plain TFF leaves its worker running (then we end it here).

    Its stdout goes to a file: the surviving worker would hold a pipe open forever.
    """
    log = tmp_path / "stdout.txt"
    with open(log, "w") as fh:
        result = subprocess.run([PY, "-c", UNGUARDED], stdout=fh, stderr=subprocess.DEVNULL, timeout=120, env=ENV)
    assert result.returncode == 0
    pids = worker_pids(log.read_text())
    try:
        assert len(pids) == 1 and is_worker_alive(pids[0])
    finally:
        for pid in pids:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass


@pytest.mark.slow
def test_a_pipe_reading_stdout_returns():
    """``python -c '<TFF computation>' | cat`` ends: the worker neither lingers nor holds the pipe."""
    command = f"{PY} -c {shlex_quote(GUARDED)} normal | cat"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert wait_gone(worker_pids(result.stdout)[0])


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def kernel_worker(client) -> int:
    out: list[str] = []
    reply = client.execute_interactive(WORKER_CODE, timeout=120, output_hook=lambda msg: out.append(
        msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""))
    assert reply["content"]["status"] == "ok", reply["content"]
    pids = worker_pids("".join(out))
    assert len(pids) == 1
    return pids[0]


@pytest.mark.slow
def test_kernel_restart_and_shutdown_leave_no_worker():
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=ENV)
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        first = kernel_worker(client)
        km.restart_kernel(now=True)  # "now": the kernel is SIGKILLed, no clean-up code runs
        client.wait_for_ready(timeout=60)
        assert wait_gone(first), "worker outlived a kernel restart"
        second = kernel_worker(client)
        client.stop_channels()
        km.shutdown_kernel(now=False)  # a polite shutdown request, as JupyterLab sends
        assert wait_gone(second), "worker outlived a kernel shutdown"
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def test_shutdown_workers_rejects_a_bad_timeout():
    with pytest.raises(ValueError, match="timeout"):
        tff_runtime.shutdown_workers(timeout=0)


def test_local_cpp_context_rejects_bad_client_counts():
    with pytest.raises(ValueError, match="default_num_clients"):
        tff_runtime.local_cpp_context(default_num_clients=-1)
