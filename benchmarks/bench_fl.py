"""Federated learning (labkit.fl): one FedAvg round from scratch (NumPy) against one round of TFF's
build_weighted_fed_avg on the same work (digits, softmax regression, every client, E = 1, B = 10;
TFF's client datasets built beforehand, its worker already running), rounds per second with 10
and 100 clients, TFF's one-off start-up cost (import, process build, worker start, first round;
measured in a fresh Python process), and the non-IID widget's update times."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys

from benchmarks.harness import Comparison, Measurement, median_seconds, seconds

_state: dict = {}


def _clients(num_clients: int):
    from labkit import data, fl

    d = data.load("digits")
    return fl.client_arrays(d.x_train, d.y_train, data.partition(d.y_train, num_clients, "iid", seed=0))


def _ours(num_clients: int):
    import numpy as np

    from labkit import fl

    clients = _clients(num_clients)
    w0 = fl.init_weights(64, 10, np.random.default_rng(0))
    everyone = list(range(num_clients))
    return lambda: fl.fedavg_round(w0, clients, everyone, 0.3, 1, 10)


def _tff(num_clients: int):
    import numpy as np

    from labkit import fl
    from labkit.fl import tff as tff_runtime

    tff = tff_runtime.local_cpp_context() if "tff" not in _state else _state["tff"]
    _state["tff"] = tff
    clients = _clients(num_clients)
    w0 = fl.init_weights(64, 10, np.random.default_rng(0))
    process = tff.learning.algorithms.build_weighted_fed_avg(
        tff_runtime._tff_model_fn(64, 10), client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=0.3),
        server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0))
    state = process.initialize()
    state = process.set_model_weights(state, tff.learning.models.ModelWeights(trainable=w0, non_trainable=[]))
    datasets = fl.client_datasets(clients, 10, 1)
    process.next(state, datasets)  # worker start and tracing are start-up, not round time
    return lambda: process.next(state, datasets)


def _rounds_per_second(make, num_clients: int, repeats: int = 5) -> float:
    return 1.0 / median_seconds([make(num_clients)] * repeats)


_STARTUP = """
import time, json
t0 = time.perf_counter()
from labkit.fl import tff as tff_runtime
tff = tff_runtime.local_cpp_context()
t1 = time.perf_counter()
import numpy as np
from labkit import data, fl
d = data.load("digits")
clients = fl.client_arrays(d.x_train, d.y_train, data.partition(d.y_train, 10, "iid", seed=0))
w0 = fl.init_weights(64, 10, np.random.default_rng(0))
t2 = time.perf_counter()
fl.tff_fedavg(clients, w0, rounds=1, lr=0.3, epochs=1, batch_size=10)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_round": t3 - t2}))
"""


def _startup() -> dict:
    if "startup" not in _state:
        out = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, timeout=600, check=True)
        _state["startup"] = json.loads(out.stdout.strip().splitlines()[-1])
    return _state["startup"]


def _slider_ms() -> float:
    """Median time of a slider move in the built widget: grid lookups plus the figure redraw."""
    import contextlib
    import io

    from labkit.style import use_style
    from labkit.fl.widgets import noniid_explorer

    use_style()
    with contextlib.redirect_stdout(io.StringIO()):  # Output.clear_output prints escapes outside a kernel
        view = noniid_explorer()
        alpha, clients = view.controls["alpha"], view.controls["num_clients"]
        times = []
        for k in (10, 20):
            clients.value = k  # untimed: only the alpha moves are measured
            times += [seconds(lambda a=a: setattr(alpha, "value", a)) for a in (math.inf, 0.1, 0.3, 1.0, 10.0)]
    return 1e3 * statistics.median(times)


def _live_recompute_s() -> float:
    from labkit import fl

    return seconds(lambda: fl.noniid_curve(0.1, 10, 5))


def rows() -> list:
    return [
        Comparison("FedAvg round, 10 clients (NumPy from scratch vs TFF)", _ours(10), _tff(10), "TFF round",
                   repeats=7, note="same clients, weights, E=1, B=10"),
        Comparison("FedAvg round, 100 clients (NumPy from scratch vs TFF)", _ours(100), _tff(100), "TFF round",
                   repeats=5, note="same clients, weights, E=1, B=10"),
        Measurement("rounds per second, from scratch, 10 clients", lambda: _rounds_per_second(_ours, 10), "rounds/s"),
        Measurement("rounds per second, from scratch, 100 clients", lambda: _rounds_per_second(_ours, 100), "rounds/s"),
        Measurement("rounds per second, TFF, 10 clients", lambda: _rounds_per_second(_tff, 10), "rounds/s"),
        Measurement("rounds per second, TFF, 100 clients", lambda: _rounds_per_second(_tff, 100), "rounds/s"),
        Measurement("TFF start-up: import tensorflow_federated (fresh process)", lambda: _startup()["import"], "s",
                    note="one-off"),
        Measurement("TFF start-up: first tff_fedavg round (build, worker start, trace)",
                    lambda: _startup()["first_round"], "s", note="one-off per process build"),
        Measurement("non-IID widget: slider move (lookup + figure redraw), median", _slider_ms, "ms", "<= 100 ms"),
        Measurement("non-IID widget: live recompute of one setting (30 rounds)", _live_recompute_s, "s",
                    note="behind a progress bar"),
    ]
