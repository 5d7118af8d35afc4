"""TensorFlow Federated's local C++ runtime, without a ``worker_binary`` left behind.

TFF 0.87 runs computations in a child process, ``tensorflow_federated/data/worker_binary``,
started by ``local_cpp_executor_factory`` (``executor_stacks/executor_factory.py``) with
``subprocess.Popen(..., stdout=sys.stdout)``. Nothing ends that child when Python ends: it is
re-parented to init, keeps serving forever, and keeps the inherited stdout open, so
``python script.py | cat`` never returns and every notebook run leaks one process.

:func:`guard_workers` closes those holes for every worker TFF starts afterwards:

- the child asks the kernel for ``SIGKILL`` when its parent thread dies
  (``prctl(PR_SET_PDEATHSIG)``, Linux). TFF starts the worker from the event-loop thread of its
  sync execution context, which lives as long as the context (and so as long as the process).
  This covers every way a process can end, ``SIGKILL`` of a Jupyter kernel included;
- its stdout and stderr go to ``/dev/null``, so a pipe reading our stdout sees end-of-file
  when we exit even if the child lingered for a moment;
- an ``atexit`` handler, and a ``SIGTERM`` handler where the default one was in place, end every
  tracked worker (the only protection on systems without ``prctl``, such as macOS).

Use :func:`local_cpp_context` (or :func:`import_tff`) instead of ``import tensorflow_federated``;
:func:`shutdown_workers` ends the workers now, and :func:`session` does it at the end of a
``with`` block. The tests in ``tests/test_tff_runtime.py`` check each way of ending.

Introduced in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from types import ModuleType
from typing import Any, Callable, Iterator

WORKER_NAME = "worker_binary"
_PR_SET_PDEATHSIG = 1

_lock = threading.RLock()
_tracked: list[subprocess.Popen] = []
_installed = False
_previous_sigterm: Any = None


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, resolved now (never inside the forked child), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - Linux always has it
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _die_with_parent_fn(prctl: Callable[..., int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when its parent thread dies."""
    if prctl is None:
        return None
    parent = os.getpid()

    def die_with_parent() -> None:  # runs in the child between fork and exec: keep it tiny
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return die_with_parent


class _GuardedPopen(subprocess.Popen):
    """``subprocess.Popen`` for TFF's worker: dies with its parent, writes nowhere, is tracked.

    A subclass, so TFF's own ``isinstance(process, subprocess.Popen)`` checks still hold.
    """

    def __init__(self, args: Any, *posargs: Any, **kwargs: Any) -> None:
        kwargs["stdin"] = subprocess.DEVNULL
        kwargs["stdout"] = subprocess.DEVNULL
        kwargs["stderr"] = subprocess.DEVNULL
        kwargs["preexec_fn"] = _die_with_parent_fn(_load_prctl_cached())
        super().__init__(args, *posargs, **kwargs)
        with _lock:
            _tracked.append(self)


_PRCTL_CACHE: list[Callable[..., int] | None] = []


def _load_prctl_cached() -> Callable[..., int] | None:
    if not _PRCTL_CACHE:
        _PRCTL_CACHE.append(_load_prctl())
    return _PRCTL_CACHE[0]


class _SubprocessProxy(ModuleType):
    """Stands in for ``subprocess`` inside TFF's executor_factory module only."""

    Popen = _GuardedPopen

    def __init__(self) -> None:
        super().__init__("subprocess")

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)


def _is_running(proc: subprocess.Popen) -> bool:
    """True while the child has not exited; never reaps it (TFF may still ``kill``/``wait`` it)."""
    if proc.returncode is not None:
        return False
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # already reaped by someone else
        return False
    except (AttributeError, OSError):  # pragma: no cover - no waitid on this platform
        try:
            os.kill(proc.pid, 0)
        except OSError:
            return False
        return True
    return info is None


def live_workers() -> list[int]:
    """Process ids of the ``worker_binary`` children started under the guard and still running.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    with _lock:
        return [p.pid for p in _tracked if _is_running(p)]


def _end_tracked(timeout: float) -> int:
    """SIGTERM every running tracked worker, then SIGKILL what is left after ``timeout`` s."""
    with _lock:
        running = [p for p in _tracked if _is_running(p)]
    for proc in running:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_is_running(p) for p in running):
        time.sleep(0.02)
    for proc in running:
        if _is_running(proc):
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)
    with _lock:
        _tracked[:] = [p for p in _tracked if p.returncode is None and p not in running]
    return len(running)


def _release_tff_context() -> None:
    """Replace TFF's default context by an inert one, so TFF's own clean-up runs now.

    TFF's ``ServiceManager.__del__`` signals and reaps its worker; run at interpreter
    teardown it fails on half-cleared module globals and prints 'Exception ignored'.
    """
    if "tensorflow_federated" not in sys.modules:
        return
    try:
        from labkit._compat import tff_set_inert_default_context

        tff_set_inert_default_context()
    except Exception:  # pragma: no cover - best effort during shutdown
        return
    import gc

    gc.collect()


def _at_exit() -> None:
    _end_tracked(timeout=2.0)
    _release_tff_context()


def _on_sigterm(signum: int, frame: Any) -> None:
    _end_tracked(timeout=1.0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def guard_workers() -> None:
    """Make every ``worker_binary`` that TFF starts from now on end when this process ends.

    Idempotent. Patches only the ``subprocess`` name inside TFF's ``executor_factory`` module
    (no global monkey-patching), registers an ``atexit`` handler and, when the process still
    has the default ``SIGTERM`` action and this is the main thread, a ``SIGTERM`` handler.
    Imports TensorFlow Federated (a few seconds the first time).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    global _installed, _previous_sigterm
    with _lock:
        if _installed:
            return
        from labkit.runtime import quiet_environment, silence_python_noise

        quiet_environment()
        silence_python_noise()
        from labkit._compat import tff_executor_factory

        tff_executor_factory().subprocess = _SubprocessProxy()
        atexit.register(_at_exit)
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current in (signal.SIG_DFL, None):
                _previous_sigterm = current
                signal.signal(signal.SIGTERM, _on_sigterm)
        _installed = True


def import_tff() -> ModuleType:
    """Import ``tensorflow_federated`` quietly, with :func:`guard_workers` in place.

    Returns:
        The ``tensorflow_federated`` module.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    guard_workers()
    import tensorflow_federated as tff

    return tff


def local_cpp_context(default_num_clients: int = 0, *, simulate_secure_sum: bool = False) -> ModuleType:
    """Set TFF's default context to a fresh local C++ one whose worker cannot outlive us.

    Any worker of an earlier context is ended first.

    Args:
        default_num_clients: clients assumed when a computation cannot infer how many
            (an integer >= 0; TFF's default 0 means "infer from the arguments").
        simulate_secure_sum: use TFF's *test* context
            (``tff.backends.test.set_sync_test_cpp_execution_context``), whose compiler rewrites
            ``federated_secure_sum``/``federated_secure_sum_bitwidth`` into plain sums: the
            native runtime cannot execute them at all. No cryptography runs either way.

    Returns:
        The ``tensorflow_federated`` module.

    Raises:
        ValueError: if ``default_num_clients`` is not an integer >= 0.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if isinstance(default_num_clients, bool) or not isinstance(default_num_clients, int) or default_num_clients < 0:
        raise ValueError(f"default_num_clients must be an integer >= 0; got {default_num_clients!r}")
    tff = import_tff()
    _end_tracked(timeout=2.0)
    if simulate_secure_sum:
        tff.backends.test.set_sync_test_cpp_execution_context(default_num_clients=default_num_clients)
    else:
        tff.backends.native.set_sync_local_cpp_execution_context(default_num_clients=default_num_clients)
    import gc

    gc.collect()  # the replaced context's ServiceManager reaps its (ended) worker now
    return tff


def shutdown_workers(timeout: float = 5.0) -> int:
    """End every guarded worker now and give TFF a fresh context (it starts a worker on demand).

    Args:
        timeout: seconds to wait after SIGTERM before SIGKILL (> 0).

    Returns:
        How many workers were running.

    Raises:
        ValueError: if ``timeout`` is not a number > 0.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0; got {timeout!r}")
    if not _installed:
        return 0
    count = _end_tracked(timeout=float(timeout))
    import tensorflow_federated as tff

    tff.backends.native.set_sync_local_cpp_execution_context()
    import gc

    gc.collect()
    return count


@contextlib.contextmanager
def session(default_num_clients: int = 0, *, simulate_secure_sum: bool = False) -> Iterator[ModuleType]:
    """``with session() as tff:`` runs TFF computations and ends the worker when the block ends.

    The worker ends even when the block raises; TFF's default context is then a fresh native
    one. Arguments as in :func:`local_cpp_context`.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    tff = local_cpp_context(default_num_clients, simulate_secure_sum=simulate_secure_sum)
    try:
        yield tff
    finally:
        shutdown_workers()
