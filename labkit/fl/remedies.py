"""Remedies for non-IID clients: FedProx, SCAFFOLD and adaptive server optimisers (FedAdam, FedYogi).

All three plug into the one federated round of :mod:`labkit.fl.fedavg`:

- :class:`ProxSGD` is a client update (FedProx; Li et al. 2020, "Federated optimization in
  heterogeneous networks"): local SGD on ``f_k(w) + mu/2 ||w - w_global||^2``, so each step adds
  ``mu (w - w_global)`` to the gradient and pulls the client back towards the global model. With
  ``mu = 0`` it is :class:`labkit.fl.LocalSGD`, step for step.
- :class:`Scaffold` keeps SCAFFOLD's control variates (Karimireddy et al. 2020, Algorithm 1 with
  option II): client ``k`` steps along ``g_k(y) - c_k + c``, then sets
  ``c_k <- c_k - c + (x - y_k) / (K lr)`` after its ``K`` local steps; the server moves the model
  by ``server_lr`` times the weighted mean of the model updates and ``c`` by the clients' changes
  of ``c_k`` (weighted by their share of all data, so ``c`` stays the weighted mean of every
  ``c_k``; the paper's ``|S|/N`` mean when the clients hold equal data).
- :class:`ServerOptimizer` is FedOpt's server step (Reddi et al. 2021, "Adaptive federated
  optimization", Algorithm 2): the averaged update ``Delta`` is a pseudo-gradient ``g = -Delta``
  fed to SGD (with momentum), Adam or Yogi with ``beta1``, ``beta2`` and the adaptivity ``tau``.
  The paper's rule has no bias correction and starts ``v`` at ``tau^2`` or above;
  ``bias_correction=True, initial_v=0`` gives TFF's ``tff.learning.optimizers.build_adam``
  (whose ``epsilon`` is ``tau``; ``initial_v=1e-6`` gives its ``build_yogi``), which
  tests/fl/test_remedies.py checks to 1e-5.

:func:`run_method` is :func:`labkit.fl.run_federated` with a method name: same seeds, same client
sampling, same shuffling, so ``"fedavg"`` reproduces its curve exactly.

Introduced in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.fl.aggregation import plain_sum
from labkit.fl.fedavg import (Client, ClientResult, History, LocalSGD, RoundResult, _check_run, _check_xy,
                              check_clients, epoch_batches, federated_round, init_weights,
                              run_rounds, sgd, softmax_model, _as_list)
from labkit.fl.models import FlatModel

METHODS = ("fedavg", "fedprox", "scaffold", "fedadam", "fedyogi")
"""The method names :func:`run_method` accepts."""


def _raw_gradient(model: FlatModel) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    raw = getattr(model, "_raw_loss_and_gradient", None) or model.loss_and_gradient
    return lambda p, bx, by: raw(p, bx, by)[1]


def _check_model(model: FlatModel) -> None:
    if not callable(getattr(model, "loss_and_gradient", None)) or not hasattr(model, "num_params"):
        raise TypeError(f"model must be a labkit.fl model (SoftmaxRegression, LogisticRegression); got {model!r}")


# --------------------------------------------------------------------------------------------
# FedProx: the proximal client update
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxSGD(LocalSGD):
    """FedProx's client update: local SGD on ``f_k(w) + mu/2 ||w - w_global||^2``.

    Each step is ``w <- w - lr (grad f_k(w) + mu (w - w_global))``. The attributes are those of
    :class:`labkit.fl.LocalSGD` and ``mu`` (>= 0, the proximal weight); ``mu = 0`` is FedAvg's
    client, exactly.

    Introduced in ``06-federated-averaging.ipynb``.
    """

    mu: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        v.nonnegative("mu", self.mu)

    def __call__(self, model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator | None = None) -> ClientResult:
        _check_model(model)
        x, y = _check_xy(x, y)
        anchor = np.array(v.finite_array("params", params, ndim=1, dtype=None), dtype=model.dtype)
        batches = epoch_batches(len(x), self.batch_size, self.epochs, rng if self.shuffle else None, steps=self.steps)
        grad, mu = _raw_gradient(model), model.dtype(self.mu)

        def proximal(p, bx, by):
            return grad(p, bx, by) + mu * (p - anchor)

        return ClientResult(sgd(model, anchor, x, y, self.lr, batches, proximal) - anchor)


# --------------------------------------------------------------------------------------------
# SCAFFOLD: control variates
# --------------------------------------------------------------------------------------------


class Scaffold:
    """SCAFFOLD's state (the server's ``c`` and every client's ``c_k``) and its round (option II).

    Args:
        model: the flat model.
        clients: every client's ``(x, y)`` (their sizes weight the control variates).
        lr, epochs, batch_size, shuffle, steps: the local SGD of :class:`labkit.fl.LocalSGD`.
        server_lr: the server's step on the weighted mean update (1: the mean update, as FedAvg).

    Attributes:
        c: the server control variate (flat, model dtype).
        c_clients: one control variate per client, shape ``[clients, params]``.

    All control variates start at zero, so the first round is FedAvg's first round, exactly.

    Introduced in ``06-federated-averaging.ipynb``.
    """

    def __init__(self, model: FlatModel, clients: Sequence[Client], lr: float, epochs: int = 1,
                 batch_size: int | None = 10, *, shuffle: bool = True, steps: int | None = None,
                 server_lr: float = 1.0) -> None:
        _check_model(model)
        check_clients(clients)
        self.local = LocalSGD(lr, epochs, batch_size, shuffle=shuffle, steps=steps)  # checks the local settings
        self.server_lr = v.positive("server_lr", server_lr)
        self.model = model
        sizes = np.array([len(c[1]) for c in clients], np.float64)
        self.share = sizes / sizes.sum()
        self.c = np.zeros(model.num_params, model.dtype)
        self.c_clients = np.zeros((len(clients), model.num_params), model.dtype)

    def client_update(self, k: int, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                      rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Client ``k``'s local steps along ``g_k(y) - c_k + c``; returns ``(y_k - x, new c_k - old c_k)``."""
        k = v.integer("k", k, minimum=0, maximum=len(self.c_clients) - 1)
        x, y = _check_xy(x, y)
        model, local = self.model, self.local
        start = np.array(v.finite_array("params", params, ndim=1, dtype=None), dtype=model.dtype)
        batches = epoch_batches(len(x), local.batch_size, local.epochs, rng if local.shuffle else None,
                                steps=local.steps)
        grad, correction = _raw_gradient(model), self.c - self.c_clients[k]

        def corrected(p, bx, by):
            return grad(p, bx, by) + correction

        end = sgd(model, start, x, y, local.lr, batches, corrected)
        if not batches:
            return end - start, np.zeros_like(start)
        new_c = (self.c_clients[k] - self.c + (start - end) / model.dtype(len(batches) * local.lr)).astype(model.dtype)
        delta_c = new_c - self.c_clients[k]
        self.c_clients[k] = new_c
        return end - start, delta_c

    def round(self, params: np.ndarray, clients: Sequence[Client], selected: Sequence[int], *,
              client_weights: Sequence[float] | None = None,
              rng: np.random.Generator | None = None) -> RoundResult:
        """One SCAFFOLD round over ``selected``; model updates weighted by ``client_weights`` (as FedAvg)."""
        if clients is None or isinstance(clients, (str, bytes)) or v.is_real(clients) or \
                len(clients) != len(self.c_clients):
            raise ValueError(f"clients must be the {len(self.c_clients)} clients this Scaffold was built for")
        delta_c: dict[int, np.ndarray] = {}

        def updater(k: int):
            def update(model, p, x, y, client_rng):
                dy, dc = self.client_update(k, p, x, y, client_rng)
                delta_c[k] = dc
                return ClientResult(dy)
            return update

        result = federated_round(self.model, params, clients, selected, [updater(k) for k in range(len(clients))],
                                 client_weights=client_weights, rng=rng)
        if delta_c:
            share = self.share.astype(self.model.dtype)
            self.c = (self.c + plain_sum([share[k] * dc for k, dc in delta_c.items()]).total).astype(self.model.dtype)
        if self.server_lr != 1.0:
            result.params = params + self.model.dtype(self.server_lr) * result.aggregate.total
        return result


# --------------------------------------------------------------------------------------------
# FedOpt: the server optimiser
# --------------------------------------------------------------------------------------------


class ServerOptimizer:
    """FedOpt's server step on the pseudo-gradient ``g = -Delta`` (Reddi et al. 2021, Algorithm 2).

    - ``"sgd"``: ``m <- momentum m + g``, ``x <- x - lr m`` (``lr = 1, momentum = 0``: FedAvg);
    - ``"adam"``: ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``;
    - ``"yogi"``: the same ``m``, ``v <- v - (1 - beta2) g^2 sign(v - g^2)``;

    then (Adam, Yogi) ``x <- x - lr m / (sqrt(v) + tau)``. With ``bias_correction`` the step is
    scaled by ``sqrt(1 - beta2^t) / (1 - beta1^t)`` in round ``t`` (TFF's and Keras's Adam: the
    efficient form of Kingma and Ba 2015, Section 2). ``tau`` stays on the uncorrected ``sqrt(v)``,
    so on the bias-corrected scale it acts as ``tau / sqrt(1 - beta2^t)``.

    Args:
        kind: ``"sgd"``, ``"adam"`` or ``"yogi"``.
        lr: the server learning rate (eta, > 0).
        momentum: SGD's momentum, in [0, 1).
        beta1, beta2: the decays of the first and second moments, in [0, 1).
        tau: the adaptivity (TFF's epsilon), in (0, 1e150] (tau^2 must be finite).
        bias_correction: scale the step as Adam does (False: the paper's Algorithm 2).
        initial_v: the second moment's start, >= 0 (None: ``tau^2``, the paper's ``v_{-1} >= tau^2``).

    Call :meth:`step` once a round; the state (``m``, ``v``, ``t``) lives in the object.

    Introduced in ``06-federated-averaging.ipynb``.
    """

    def __init__(self, kind: str = "sgd", lr: float = 1.0, *, momentum: float = 0.0, beta1: float = 0.9,
                 beta2: float = 0.99, tau: float = 1e-3, bias_correction: bool = False,
                 initial_v: float | None = None) -> None:
        self.kind = v.choice("kind", kind, ("sgd", "adam", "yogi"))
        self.lr = v.positive("lr", lr)
        self.momentum = v.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.beta1 = v.real("beta1", beta1, low=0.0, high=1.0, high_open=True)
        self.beta2 = v.real("beta2", beta2, low=0.0, high=1.0, high_open=True)
        self.tau = v.real("tau", tau, low=0.0, high=1e150, low_open=True)  # tau^2 must stay finite
        self.bias_correction = v.flag("bias_correction", bias_correction)
        self.initial_v = self.tau**2 if initial_v is None else v.nonnegative("initial_v", initial_v)
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def step(self, params: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """The new parameters after one server step on the averaged update ``delta`` (same dtype as ``params``)."""
        params = np.asarray(v.finite_array("params", params, ndim=1, dtype=None))
        delta = np.asarray(v.finite_array("delta", delta, ndim=1, dtype=None))
        if delta.shape != params.shape:
            raise ValueError(f"delta must have the shape of params {params.shape}; got {delta.shape}")
        dt = params.dtype.type
        g = (-delta).astype(dt)
        if self.m is None or self.m.shape != params.shape:
            self.m = np.zeros_like(g)
            self.v = np.full_like(g, self.initial_v)
            self.t = 0
        self.t += 1
        if self.kind == "sgd":
            self.m = dt(self.momentum) * self.m + g
            return params - dt(self.lr) * self.m
        self.m = self.m + (g - self.m) * dt(1.0 - self.beta1)
        g2 = g * g
        if self.kind == "adam":
            self.v = self.v + (g2 - self.v) * dt(1.0 - self.beta2)
        else:
            self.v = self.v + dt(1.0 - self.beta2) * np.sign(g2 - self.v) * g2
        lr = self.lr
        if self.bias_correction:
            lr = lr * np.sqrt(1.0 - self.beta2**self.t) / (1.0 - self.beta1**self.t)
        return params - dt(lr) * self.m / (np.sqrt(self.v) + dt(self.tau))


def fedopt_round(model: FlatModel, params: np.ndarray, clients: Sequence[Client], selected: Sequence[int],
                 update: Callable[..., ClientResult], optimizer: ServerOptimizer, *,
                 client_weights: Sequence[float] | None = None,
                 rng: np.random.Generator | None = None) -> RoundResult:
    """One FedOpt round: :func:`labkit.fl.federated_round`'s clients, then ``optimizer`` steps on their mean update.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if not isinstance(optimizer, ServerOptimizer):
        raise TypeError(f"optimizer must be a ServerOptimizer; got {optimizer!r}"[:200])
    result = federated_round(model, params, clients, selected, update, client_weights=client_weights, rng=rng)
    result.params = optimizer.step(np.asarray(params), result.aggregate.total)
    return result


# --------------------------------------------------------------------------------------------
# The run loop with a method name (the non-IID grid of notebook 06)
# --------------------------------------------------------------------------------------------


def run_method(clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray], method: str = "fedavg", *,
               rounds: int, lr: float, epochs: int = 1, batch_size: int | None = 10,
               clients_per_round: int | None = None, seed: int = 0, mu: float = 0.0, server_lr: float = 0.01,
               beta1: float = 0.9, beta2: float = 0.99, tau: float = 1e-3, target: float | None = None,
               progress: Callable[[int, float], None] | None = None) -> History:
    """Train softmax regression with FedAvg, FedProx, SCAFFOLD, FedAdam or FedYogi; test accuracy per round.

    The seed, the initial weights, the client sampling and the local shuffling are those of
    :func:`labkit.fl.run_federated` (``method="fedavg"`` gives its curve exactly).

    Args:
        method: one of :data:`METHODS`.
        mu: FedProx's proximal weight (>= 0; ignored by the other methods).
        server_lr, beta1, beta2, tau: FedAdam's and FedYogi's server optimiser
            (:class:`ServerOptimizer`, the paper's rule without bias correction).
        the rest: as in :func:`labkit.fl.run_federated`.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    method = v.choice("method", method, METHODS)
    x_test, y_test, m = _check_run(clients, test, rounds, lr, epochs, batch_size, clients_per_round, target, progress)
    v.nonnegative("mu", mu)
    num_features, k_total = int(x_test.shape[1]), len(clients)
    server = ServerOptimizer("adam", v.positive("server_lr", server_lr), beta1=beta1, beta2=beta2, tau=tau)  # checks
    optimizer = (ServerOptimizer(method[3:], server.lr, beta1=server.beta1, beta2=server.beta2, tau=server.tau)
                 if method in ("fedadam", "fedyogi") else None)
    rng = v.generator(seed, "seed")
    num_classes = max(int(max(int(np.max(c[1])) for c in clients) + 1), int(np.max(y_test)) + 1)
    weights = init_weights(num_features, num_classes, rng)
    model = softmax_model(weights)
    sizes = [len(c[1]) for c in clients]
    local = ProxSGD(lr, epochs, batch_size, mu=mu) if method == "fedprox" else LocalSGD(lr, epochs, batch_size)
    scaffold = Scaffold(model, clients, lr, epochs, batch_size) if method == "scaffold" else None

    def select() -> np.ndarray:
        return np.sort(rng.choice(k_total, size=m, replace=False)) if m < k_total else np.arange(k_total)

    def step(params: np.ndarray, selected: list) -> RoundResult:
        weights_k = [sizes[k] for k in selected]
        if scaffold is not None:
            return scaffold.round(params, clients, selected, client_weights=weights_k, rng=rng)
        if optimizer is not None:
            return fedopt_round(model, params, clients, selected, local, optimizer, client_weights=weights_k, rng=rng)
        return federated_round(model, params, clients, selected, local, rng=rng, client_weights=weights_k)

    with np.errstate(over="ignore", invalid="ignore"):
        hist = run_rounds(model, model.flatten(weights), clients, (x_test, y_test), rounds=rounds, select=select,
                          step=step, target=target, progress=progress)
    hist.weights = _as_list(model, hist.weights)
    return hist


__all__ = ["METHODS", "ProxSGD", "Scaffold", "ServerOptimizer", "fedopt_round", "run_method"]
