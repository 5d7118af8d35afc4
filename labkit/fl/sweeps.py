"""Precomputed sweeps of notebook 06 (``make data`` builds them under ``data/sweeps``).

:data:`PAPER_TABLE2` and :data:`TABLE2_SETTINGS` with :func:`table2_rounds` rebuild McMahan et
al. (2017) Table 2 on digits; :data:`NONIID_GRID` with :func:`noniid_curve` the non-IID grid behind
the widget, and :func:`noniid_lookup` reads one point of it; :data:`REMEDY_GRID` adds FedProx, SCAFFOLD
and FedAdam (:mod:`labkit.fl.remedies`) over three seeds, read by :func:`remedy_curves`, with
:func:`rounds_over_seeds` for the rounds to a target.

Introduced in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from labkit import _validate as v
from labkit.fl.fedavg import Client, client_arrays, rounds_to_target, run_federated

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


REMEDY_GRID = {"methods": [("FedAvg", "fedavg", 0.0), ("FedProx mu=0.01", "fedprox", 0.01),
                           ("FedProx mu=0.1", "fedprox", 0.1), ("FedProx mu=1", "fedprox", 1.0),
                           ("SCAFFOLD", "scaffold", 0.0), ("FedAdam", "fedadam", 0.0)],
               "num_clients": [10, 20, 50], "epochs": [1, 5], "seeds": [0, 1, 2], "target": 0.85,
               "fedadam": {"server_lr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3}}
"""The remedies grid of notebook 06: every method (label, method, FedProx's mu) over NONIID_GRID's
alphas, 10, 20 or 50 clients, E in {1, 5} and three seeds (a subgrid, so that ``make data`` stays
within minutes). FedAdam's server settings were picked from server_lr
{0.03, 0.1} at alpha = 0.1, 10 clients, E = 5 (0.1 reached the target sooner on all three seeds)."""


def noniid_curve(alpha: float, num_clients: int, epochs: int, *, rounds: int | None = None, seed: int = 0,
                 progress: Callable[[int, float], None] | None = None, method: str = "fedavg",
                 mu: float = 0.0) -> np.ndarray:
    """Test accuracy per round of FedAvg (or a remedy) on digits split by Dirichlet(``alpha``) (inf = IID).

    Settings from :data:`NONIID_GRID`: 5 clients sampled per round (all when fewer), B = 10,
    learning rate 0.3. This is the live recompute behind the non-IID widget. ``method`` is one of
    :data:`labkit.fl.remedies.METHODS` (FedProx takes ``mu``; FedAdam and FedYogi the server
    settings of :data:`REMEDY_GRID`), run by :func:`labkit.fl.remedies.run_method`.

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
    from labkit.fl.remedies import METHODS, run_method

    method = v.choice("method", method, METHODS)
    mu = v.nonnegative("mu", mu)
    d = data.load("digits")
    if math.isinf(alpha):
        parts = data.partition(d.y_train, num_clients, "iid", seed=seed)
    else:
        parts = data.partition(d.y_train, num_clients, "dirichlet", alpha=float(alpha), seed=seed, min_size=2)
    clients = client_arrays(d.x_train, d.y_train, parts)
    settings = dict(rounds=rounds or g["rounds"], lr=g["lr"], epochs=epochs, batch_size=g["batch_size"],
                    clients_per_round=min(g["clients_per_round"], num_clients), seed=seed, progress=progress)
    if method == "fedavg":
        hist = run_federated(clients, (d.x_test, d.y_test), **settings)
    else:
        hist = run_method(clients, (d.x_test, d.y_test), method, mu=mu, **REMEDY_GRID["fedadam"], **settings)
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


def remedy_curves(grid: dict[str, np.ndarray], method: str, alpha: float, num_clients: int,
                  epochs: int) -> np.ndarray:
    """The stored curves (one row per seed of :data:`REMEDY_GRID`) of one method at one grid point.

    ``method`` is a label of ``grid["methods"]`` (``"FedAvg"``, ``"FedProx mu=0.1"``, ``"SCAFFOLD"``...).

    Raises:
        ValueError: when the method or the setting is not on the grid, naming the valid values.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if not hasattr(grid, "__getitem__") or isinstance(grid, (str, bytes)) or \
            not all(k in grid for k in ("methods", "method_num_clients", "method_epochs", "method_curves", "alpha")):
        raise TypeError(f"grid must be the stored sweep (data.load_arrays('sweeps/fl_noniid.npz')); got {grid!r}"[:200])
    v.choice("method", method, [str(m) for m in grid["methods"]])
    v.positive("alpha (math.inf for IID)", alpha, finite=False)
    v.count("num_clients", num_clients)
    v.count("epochs", epochs)
    index = [int(np.flatnonzero(grid["methods"] == method)[0])]
    for name, key, value in (("alpha", "alpha", alpha), ("num_clients", "method_num_clients", num_clients),
                             ("epochs", "method_epochs", epochs)):
        hits = np.flatnonzero(grid[key] == value)
        if hits.size == 0:
            raise ValueError(f"{name} must be one of {grid[key].tolist()} for the remedies grid; got {value!r}")
        index.append(int(hits[0]))
    return grid["method_curves"][tuple(index)]


def rounds_over_seeds(curves: np.ndarray, target: float) -> list[int | None]:
    """Rounds to ``target`` for each row of ``curves`` (None where a seed never reaches it).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    curves = v.finite_array("curves", curves, ndim=2)
    return [rounds_to_target(c, target) for c in curves]
