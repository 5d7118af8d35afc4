"""Everything TensorFlow Federated in labkit: its runtime without a leaked worker, and FedAvg,
DP-FedAvg and secure aggregation run with TFF to cross-check :mod:`labkit.fl.fedavg` and
:mod:`labkit.fl.dp_fedavg`.

TFF and TensorFlow load only when a function here is called; importing this module (which
``import labkit.fl`` does) loads only the standard library and NumPy.

**The runtime.**

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
``with`` block. The tests in ``tests/fl/test_tff_runtime.py`` check each way of ending.

Introduced in ``06-federated-averaging.ipynb``; DP and secure aggregators in
``07-private-federated-learning.ipynb``.
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
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from labkit import _validate as v

WORKER_NAME = "worker_binary"
_PR_SET_PDEATHSIG = 1

_lock = threading.RLock()
_tracked: list[subprocess.Popen] = []
_installed = False


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
    global _installed
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
    v.count("default_num_clients", default_num_clients, minimum=0)
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
    v.positive("timeout", timeout)
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


# --------------------------------------------------------------------------------------------
# FedAvg, DP-FedAvg and secure aggregation with TFF (notebooks 06 and 07)
# --------------------------------------------------------------------------------------------


def _check_tff_args(clients: Sequence[Any], initial: Sequence[np.ndarray] | None = None,
                    selections: Sequence[Sequence[int]] | None = None, *, rounds: int | None = None,
                    lr: float | None = None, epochs: int = 1, batch_size: int | None = None,
                    clip: float | None = None, noise_multiplier: float | None = None,
                    expected_clients: float | None = None) -> list[list[int]] | None:
    """Every argument of a TFF run, checked before TensorFlow or TFF is touched (a TFF call takes seconds).

    Returns ``selections`` as lists of client indices (None when not given).
    """
    from labkit.fl.dp_fedavg import MAX_STEPS
    from labkit.fl.fedavg import check_clients, softmax_model

    num_features = None
    if initial is not None:
        num_features = softmax_model(initial).num_features  # [W, b], finite
    check_clients(clients, num_features)
    if rounds is not None:
        v.count("rounds", rounds, maximum=MAX_STEPS)
    if lr is not None:
        v.positive("lr", lr)
    v.count("epochs", epochs, maximum=MAX_STEPS)
    if batch_size is not None:
        v.count("batch_size", batch_size)
    if clip is not None:
        v.positive("clip", clip)
    if noise_multiplier is not None:
        v.nonnegative("noise_multiplier", noise_multiplier)
    if expected_clients is not None:
        v.positive("expected_clients", expected_clients)
    if selections is None:
        return None
    if isinstance(selections, (str, bytes)) or v.is_real(selections):
        raise TypeError(f"selections must be a list of client-index lists, one per round; got {selections!r}")
    out = []
    for r, selected in enumerate(selections):
        if isinstance(selected, (str, bytes)) or v.is_real(selected) or selected is None:
            raise TypeError(f"selections[{r}] must be a list of client indices; got {selected!r}")
        out.append([v.integer(f"selections[{r}]", k, minimum=0, maximum=len(clients) - 1) for k in selected])
    return out


def client_datasets(clients: Sequence[Any], batch_size: int | None, epochs: int = 1,
                    rng: np.random.Generator | None = None) -> list:
    """One batched ``tf.data.Dataset`` of ``(x, y)`` per client, in :func:`labkit.fl.epoch_batches` order.

    The batches are exactly those the from-scratch :func:`labkit.fl.local_sgd` visits with the
    same ``rng`` state, which is what makes the TFF equality check possible.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_tff_args(clients, epochs=epochs, batch_size=batch_size)
    if rng is not None:
        rng = v.generator(rng)
    import tensorflow as tf

    from labkit.fl.fedavg import epoch_orders

    out = []
    for cx, cy in clients:
        size = len(cx) if batch_size is None else int(batch_size)
        ds = None
        for order in epoch_orders(len(cx), epochs, rng):  # batch each pass on its own
            piece = tf.data.Dataset.from_tensor_slices((cx[order], cy[order])).batch(size)
            ds = piece if ds is None else ds.concatenate(piece)
        out.append(ds)
    return out


def _keras_softmax_regression(num_features: int, num_classes: int):
    import tensorflow as tf

    return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(num_features,)),
                                tf.keras.layers.Dense(num_classes)])


def _tff_model_fn(num_features: int, num_classes: int):
    import tensorflow as tf

    tff = import_tff()
    spec = (tf.TensorSpec([None, num_features], tf.float32), tf.TensorSpec([None], tf.int64))

    def model_fn():
        return tff.learning.models.from_keras_model(
            _keras_softmax_regression(num_features, num_classes), input_spec=spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    return model_fn


@contextlib.contextmanager
def _unseeded_random_ops_allowed() -> Iterator[None]:
    """Lift TF op determinism while TFF builds and runs DP noise, then restore it.

    tensorflow-privacy's GaussianSumQuery draws ``tf.random.normal`` without a seed, which
    TF refuses while op determinism (set by ``labkit.setup``) is on. The noise of a TFF run is
    therefore not reproducible; the noiseless path is deterministic either way.
    """
    from labkit._compat import tf_op_determinism

    tf_config = tf_op_determinism()
    was_on = tf_config.is_op_determinism_enabled()
    if was_on:
        tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if was_on:
            tf_config.enable_op_determinism()


@contextlib.contextmanager
def _tf_logger_silenced() -> Iterator[None]:
    """Mute TF's Python logger: the secure aggregator's graph trips TF's 'Object was never
    used' check, which TF logs at ERROR level though nothing is wrong."""
    import logging

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_tff_fedavg(clients: Sequence[Any], initial: Sequence[np.ndarray], selections: Sequence[Sequence[int]], *,
                   lr: float, epochs: int, batch_size: int | None, weighted: bool = True,
                   server_lr: float = 1.0, server_momentum: float = 0.0,
                   aggregator: Callable[[ModuleType], Any] | None = None, simulate_secure_sum: bool = False,
                   server_optimizer_fn: Callable[[ModuleType], Any] | None = None,
                   rng: np.random.Generator | None = None,
                   context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> list[np.ndarray]:
    """Build TFF's FedAvg process, set its weights to ``initial``, run one round per selection; return ``[W, b]``.

    The one TFF build / initialise / loop sequence of labkit: ``build_weighted_fed_avg`` (or
    ``build_unweighted_fed_avg``) of a Keras softmax regression, client SGD with ``lr``
    (``tff.learning.optimizers.build_sgdm``), server SGD with learning rate ``server_lr`` and momentum
    ``server_momentum`` (by default 1 and 0: the plain average of client models; otherwise FedAvgM,
    :func:`labkit.fl.fedavgm_round`), and ``model_aggregator=aggregator(tff)`` when given.
    ``server_optimizer_fn(tff)``, when given, builds the server optimiser instead (FedOpt, e.g.
    ``lambda tff: tff.learning.optimizers.build_adam(0.1, epsilon=1e-3)``; ``server_lr`` and
    ``server_momentum`` are then unused). Runs inside
    :func:`session` (and ``context()``), so the worker ends when this returns, also on error.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    selections = _check_tff_args(clients, initial, selections, lr=lr, epochs=epochs, batch_size=batch_size)
    v.positive("server_lr", server_lr)
    v.real("server_momentum", server_momentum, low=0.0, high=1.0, high_open=True)
    if aggregator is not None and not callable(aggregator):
        raise TypeError(f"aggregator must be a callable of tff or None; got {aggregator!r}")
    if server_optimizer_fn is not None and not callable(server_optimizer_fn):
        raise TypeError(f"server_optimizer_fn must be a callable of tff or None; got {server_optimizer_fn!r}")
    if rng is not None:
        rng = v.generator(rng)
    num_features, num_classes = np.shape(initial[0])
    with session(simulate_secure_sum=simulate_secure_sum) as tff, context():
        build = (tff.learning.algorithms.build_weighted_fed_avg if weighted
                 else tff.learning.algorithms.build_unweighted_fed_avg)
        extra = {} if aggregator is None else {"model_aggregator": aggregator(tff)}
        process = build(_tff_model_fn(num_features, num_classes),
                        client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=lr),
                        server_optimizer_fn=tff.learning.optimizers.build_sgdm(
                            learning_rate=float(server_lr), momentum=float(server_momentum) or None)
                        if server_optimizer_fn is None else server_optimizer_fn(tff), **extra)
        state = process.initialize()
        state = process.set_model_weights(state, tff.learning.models.ModelWeights(
            trainable=[np.asarray(a, np.float32) for a in initial], non_trainable=[]))
        for selected in selections:
            picked = [clients[k] for k in selected]
            state = process.next(state, client_datasets(picked, batch_size, epochs, rng)).state
        return [np.asarray(a, np.float32) for a in process.get_model_weights(state).trainable]


def tff_fedavg(clients: Sequence[Any], initial: Sequence[np.ndarray], *, rounds: int, lr: float, epochs: int = 1,
               batch_size: int | None = 10, selections: Sequence[Sequence[int]] | None = None,
               shuffle_seed: int | None = None, server_lr: float = 1.0,
               server_momentum: float = 0.0,
               server_optimizer_fn: Callable[[ModuleType], Any] | None = None) -> list[np.ndarray]:
    """Run ``tff.learning.algorithms.build_weighted_fed_avg`` and return the final ``[W, b]``.

    Client optimiser: SGD with ``lr`` (``tff.learning.optimizers.build_sgdm``); server: SGD
    with learning rate ``server_lr`` and momentum ``server_momentum``; the defaults 1 and 0 give
    the plain weighted average of client models (:func:`labkit.fl.fedavg_round`), others
    FedAvgM (:func:`labkit.fl.fedavgm_round`). The worker process ends when this returns, also on error.

    Args:
        clients, initial, rounds, lr, epochs, batch_size: as in :func:`labkit.fl.run_federated`.
        selections: the clients of each round (default: all, every round).
        shuffle_seed: shuffle local epochs with ``np.random.default_rng(shuffle_seed)`` in the
            order :func:`labkit.fl.fedavg_round` uses; None keeps the stored order.
        server_lr, server_momentum: the server optimiser's step (> 0) and momentum (in [0, 1)).
        server_optimizer_fn: builds another server optimiser from ``tff`` (FedAdam, FedYogi:
            :class:`labkit.fl.ServerOptimizer` with ``bias_correction=True``), or None.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    selections = _check_tff_args(clients, initial, selections, rounds=rounds, lr=lr, epochs=epochs,
                                 batch_size=batch_size)
    selections = [list(range(len(clients)))] * rounds if selections is None else selections
    if len(selections) != rounds:
        raise ValueError(f"selections must list the clients of each of the {rounds} rounds; got {len(selections)}")
    rng = None if shuffle_seed is None else v.generator(shuffle_seed, "shuffle_seed")
    return run_tff_fedavg(clients, initial, selections, lr=lr, epochs=epochs, batch_size=batch_size, rng=rng,
                          server_lr=server_lr, server_momentum=server_momentum,
                          server_optimizer_fn=server_optimizer_fn)


def tff_dp_fedavg(clients: Sequence[Any], initial: Sequence[np.ndarray], *, selections: Sequence[Sequence[int]],
                  lr: float, clip: float, noise_multiplier: float, expected_clients: float, epochs: int = 1,
                  batch_size: int | None = 10) -> list[np.ndarray]:
    """DP-FedAvg with TFF: ``build_unweighted_fed_avg`` and
    ``tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed`` (fixed clip, Gaussian
    noise, fixed denominator ``expected_clients``). Returns the final ``[W, b]``.

    ``tff.learning.model_update_aggregator.dp_aggregator`` is the same factory with adaptive
    clipping (Andrew et al. 2021) and zeroing; the fixed clip keeps the comparison with
    :func:`labkit.fl.dp_fedavg_round` exact when ``noise_multiplier`` is 0. The worker ends on return.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if selections is None:
        raise TypeError("selections must be a list of client-index lists, one per round; got None")
    selections = _check_tff_args(clients, initial, selections, lr=lr, epochs=epochs, batch_size=batch_size,
                                 clip=clip, noise_multiplier=noise_multiplier, expected_clients=expected_clients)
    if any(len(s) == 0 for s in selections):
        raise ValueError("selections must not contain an empty round: TFF cannot run a round without clients")

    def aggregator(tff: ModuleType) -> Any:
        return tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed(
            noise_multiplier=float(noise_multiplier), clients_per_round=float(expected_clients), clip=float(clip))

    return run_tff_fedavg(clients, initial, selections, lr=lr, epochs=epochs, batch_size=batch_size, weighted=False,
                          aggregator=aggregator, context=_unseeded_random_ops_allowed)


def tff_secure_sum_demo(values: Sequence[int], bitwidth: int = 16) -> dict[str, int]:
    """Sum client integers with ``tff.federated_secure_sum_bitwidth`` and ``tff.federated_sum``.

    In TFF's simulation runtime the secure sum is executed as a plain sum: there is no
    masking, no key agreement and no dropout recovery (notebook 09 builds those). Both
    results are returned so the notebook can show they are equal. The worker ends on return.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if values is None or isinstance(values, (str, bytes)) or v.is_real(values):
        raise TypeError(f"values must be a sequence of integers; got {values!r}")
    values = [v.integer("values", x) for x in values]
    if not values:
        raise ValueError("values must hold at least one client's integer; got none")
    v.count("bitwidth", bitwidth, maximum=31)  # TFF sums np.int32 here
    if any(x < 0 or x >= 2 ** bitwidth for x in values):
        raise ValueError(f"values must be integers in [0, 2**{bitwidth} - 1]; got {values}")
    with session(simulate_secure_sum=True) as tff:
        client_int = tff.FederatedType(np.int32, tff.CLIENTS)

        @tff.federated_computation(client_int)
        def secure_total(x):
            return tff.federated_secure_sum_bitwidth(x, bitwidth)

        @tff.federated_computation(client_int)
        def plain_total(x):
            return tff.federated_sum(x)

        return {"secure_sum": int(secure_total(values)), "plain_sum": int(plain_total(values))}


def tff_secure_fedavg(clients: Sequence[Any], initial: Sequence[np.ndarray], *, rounds: int, lr: float,
                      epochs: int = 1, batch_size: int | None = 10) -> list[np.ndarray]:
    """Weighted FedAvg in TFF with ``tff.learning.secure_aggregator`` (no zeroing or clipping).

    The secure aggregator quantises each update to integers within an adaptive bound and sums
    them with ``federated_secure_sum_bitwidth``: in simulation a plain sum of the quantised
    values, so the result matches plain FedAvg up to quantisation error.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    _check_tff_args(clients, initial, rounds=rounds, lr=lr, epochs=epochs, batch_size=batch_size)

    def aggregator(tff: ModuleType) -> Any:
        return tff.learning.secure_aggregator(zeroing=False, clipping=False, weighted=True)

    return run_tff_fedavg(clients, initial, [list(range(len(clients)))] * rounds, lr=lr, epochs=epochs,
                          batch_size=batch_size, aggregator=aggregator, simulate_secure_sum=True,
                          context=_tf_logger_silenced)
