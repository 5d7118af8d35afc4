"""Precomputed sweeps of notebook 06 (``make data`` builds them under ``data/sweeps``).

:data:`PAPER_TABLE2` and :data:`TABLE2_SETTINGS` with :func:`table2_rounds` rebuild McMahan et
al. (2017) Table 2 on digits; :data:`NONIID_GRID` with :func:`noniid_curve` the non-IID grid behind
the widget, and :func:`noniid_lookup` reads one point of it.

Introduced in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from labkit import _validate as v
from labkit.fl.fedavg import Client, client_arrays, run_federated

# --------------------------------------------------------------------------------------------
# McMahan et al. 2017, Table 2, MNIST CNN, rounds to 99% test accuracy (speed-up vs FedSGD).
PAPER_TABLE2: tuple[tuple[str, int, int | None, int, int], ...] = (
    ("FedSGD", 1, None, 626, 483),
    ("FedAvg", 5, None, 179, 1000),
    ("FedAvg", 1, 50, 65, 600),
    ("FedAvg", 20, None, 234, 672),
    ("FedAvg", 1, 10, 34, 350),
    ("FedAvg", 5, 50, 29, 334),
    ("FedAvg", 20, 50, 32, 426),
    ("FedAvg", 5, 10, 20, 229),
    ("FedAvg", 20, 10, 18, 173),
)
TABLE2_SETTINGS = {"num_clients": 20, "clients_per_round": 5, "target": 0.95, "max_rounds": 500,
                   "learning_rates": [0.3, 1.0, 3.0, 10.0], "seed": 0, "dataset": "digits"}


def table2_clients(scheme: str) -> list[Client]:
    """Digits split among :data:`TABLE2_SETTINGS` clients, ``"iid"`` or ``"shards"`` (seed 0).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    from labkit import data

    v.choice("scheme", scheme, ("iid", "shards"))
    d = data.load("digits")
    parts = data.partition(d.y_train, TABLE2_SETTINGS["num_clients"], scheme, seed=TABLE2_SETTINGS["seed"])
    return client_arrays(d.x_train, d.y_train, parts)


def table2_rounds(scheme: str, algorithm: str, epochs: int, batch_size: int | None, lr: float) -> int | None:
    """Rounds to the Table 2 target for one row and learning rate (None if not within the cap).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    from labkit import data

    d = data.load("digits")
    s = TABLE2_SETTINGS
    hist = run_federated(table2_clients(scheme), (d.x_test, d.y_test), rounds=s["max_rounds"], lr=lr, epochs=epochs,
                         batch_size=batch_size, clients_per_round=s["clients_per_round"], algorithm=algorithm,
                         seed=s["seed"], target=s["target"])
    return hist.rounds_to(s["target"])


MAX_CLIENTS = 500
"""The most clients :func:`noniid_curve` splits digits' 1,347 training images among (at least 2 each)."""
MAX_EPOCHS = 100
"""The most local epochs :func:`noniid_curve` runs (a live recompute: seconds, not hours)."""
MAX_ROUNDS = 1000
"""The most rounds :func:`noniid_curve` runs."""

NONIID_GRID = {"alpha": [0.1, 0.3, 1.0, 10.0, math.inf], "num_clients": [5, 10, 20, 50], "epochs": [1, 5, 20],
               "rounds": 30, "batch_size": 10, "lr": 0.3, "clients_per_round": 5, "seed": 0}


def noniid_curve(alpha: float, num_clients: int, epochs: int, *, rounds: int | None = None, seed: int = 0,
                 progress: Callable[[int, float], None] | None = None) -> np.ndarray:
    """Test accuracy per round of FedAvg on digits split by Dirichlet(``alpha``) (inf = IID).

    Settings from :data:`NONIID_GRID`: 5 clients sampled per round (all when fewer), B = 10,
    learning rate 0.3. This is the live recompute behind the non-IID widget.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    from labkit import data

    g = NONIID_GRID
    v.positive("alpha (math.inf for IID)", alpha, finite=False)
    v.count("num_clients", num_clients, minimum=2, maximum=MAX_CLIENTS)
    v.count("epochs", epochs, maximum=MAX_EPOCHS)
    if rounds is not None:
        v.count("rounds", rounds, maximum=MAX_ROUNDS)
    seed = v.count("seed", seed, minimum=0)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable or None; got {progress!r}")
    d = data.load("digits")
    if math.isinf(alpha):
        parts = data.partition(d.y_train, num_clients, "iid", seed=seed)
    else:
        parts = data.partition(d.y_train, num_clients, "dirichlet", alpha=float(alpha), seed=seed, min_size=2)
    hist = run_federated(client_arrays(d.x_train, d.y_train, parts), (d.x_test, d.y_test),
                         rounds=rounds or g["rounds"], lr=g["lr"], epochs=epochs, batch_size=g["batch_size"],
                         clients_per_round=min(g["clients_per_round"], num_clients), seed=seed, progress=progress)
    return np.asarray(hist.accuracy, dtype=np.float32)


def noniid_lookup(grid: dict[str, np.ndarray], alpha: float, num_clients: int, epochs: int) -> np.ndarray:
    """The stored curve for one grid point (what a widget slider move shows).

    Raises:
        ValueError: when the setting is not on the grid, naming the valid values.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if not hasattr(grid, "__getitem__") or isinstance(grid, (str, bytes)) or \
            not all(k in grid for k in ("alpha", "num_clients", "epochs", "curves")):
        raise TypeError(f"grid must be the stored sweep (data.load_arrays('sweeps/fl_noniid.npz')); got {grid!r}"[:200])
    v.positive("alpha (math.inf for IID)", alpha, finite=False)
    v.count("num_clients", num_clients)
    v.count("epochs", epochs)
    index = []
    for name, value in (("alpha", alpha), ("num_clients", num_clients), ("epochs", epochs)):
        values = grid[name]
        hits = np.flatnonzero(values == value)
        if hits.size == 0:
            raise ValueError(f"{name} must be one of {values.tolist()}; got {value!r}")
        index.append(int(hits[0]))
    return grid["curves"][tuple(index)]
