"""FedSGD and FedAvg from scratch: clients, the local SGD loop, the federated round, the run loop, bytes.

The federated code works on flat parameter vectors and a model of :mod:`labkit.fl.models`. One
round (:func:`federated_round`) is three pluggable parts, in the spirit of TensorFlow
Federated's aggregation factories and Flower's strategies:

1. a **client update** (``update(model, params, x, y, rng) -> ClientResult``): :class:`LocalSGD`
   here; clipping and record-level DP-SGD in :mod:`labkit.fl.dp_fedavg`. Every one of them runs
   the one local SGD loop, :func:`sgd`;
2. the **client weights** ``p_k`` (data sizes, public sizes, or none), applied on the client;
3. a **server aggregator** (``aggregator(updates, params) -> Aggregate``) of
   :mod:`labkit.fl.aggregation`: a plain sum, secure aggregation or packed Paillier, or DP-FedAvg's
   noisy sum.

:func:`run_rounds` is the one run loop (evaluate, stop at a target, stop on divergence). The
softmax-regression helpers that notebooks 06 and 07 call (``local_sgd``, ``fedavg_round``,
``run_federated``...) take and return ``[W, b]`` lists and run on the same code, bit for bit.

Introduced in ``06-federated-averaging.ipynb``; used in ``07-private-federated-learning.ipynb``
and ``10-capstone-hospitals.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.fl.aggregation import Aggregate, plain_sum
from labkit.fl.models import FlatModel, SoftmaxRegression

Weights = list  # [W (features x classes), b (classes,)], float32 arrays
Client = tuple  # (x: float32 [n, features], y: int64 [n])


# --------------------------------------------------------------------------------------------
# Client data
# --------------------------------------------------------------------------------------------


def client_arrays(x: np.ndarray, y: np.ndarray, parts: Sequence[np.ndarray]) -> list[Client]:
    """Cut a dataset into clients: one ``(x_k, y_k)`` pair per index array of ``parts``.

    Args:
        x: features, shape [n, features].
        y: integer labels, shape [n].
        parts: index arrays, as returned by :func:`labkit.data.partition`.

    Raises:
        ValueError: when there are no clients, a client is empty, an index is out of range, or
            ``x`` and ``y`` disagree in length.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"x must be [n, features] and y [n] with the same n; got x {x.shape} and y {y.shape}")
    if len(parts) == 0:
        raise ValueError("parts must hold at least one client's index array; got none")
    clients = []
    for k, idx in enumerate(parts):
        idx = np.asarray(idx)
        if idx.size == 0:
            raise ValueError(f"parts[{k}] is empty: every client needs at least one example")
        if idx.min() < 0 or idx.max() >= len(x):
            raise ValueError(f"parts[{k}] has indices outside [0, {len(x) - 1}]")
        clients.append((x[idx].astype(np.float32), y[idx].astype(np.int64)))
    return clients


def check_clients(clients: Sequence[Client], num_features: int | None = None) -> None:
    """Raise ValueError unless ``clients`` is a non-empty list of non-empty ``(x, y)`` pairs.

    Args:
        clients: the client datasets.
        num_features: if given, every client's ``x`` must have this many columns (the model's
            input size).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if len(clients) == 0:
        raise ValueError("clients must hold at least one client; got an empty list")
    for k, pair in enumerate(clients):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"clients[{k}] must be an (x, y) pair")
        cx, cy = np.asarray(pair[0]), np.asarray(pair[1])
        if len(cx) == 0:
            raise ValueError(f"clients[{k}] is empty: every client needs at least one example")
        if cx.ndim != 2 or cy.ndim != 1 or len(cx) != len(cy):
            raise ValueError(f"clients[{k}] must be x [n, features] and y [n]; got {cx.shape} and {cy.shape}")
        if num_features is not None and cx.shape[1] != num_features:
            raise ValueError(
                f"clients[{k}] has {cx.shape[1]} features but the model expects {num_features} "
                "(a model/data shape mismatch)"
            )


def epoch_orders(n: int, epochs: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The order in which a client visits its ``n`` examples in each of ``epochs`` passes.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.count("epochs", epochs)
    return [np.arange(n) if rng is None else rng.permutation(n) for _ in range(epochs)]


def epoch_batches(n: int, batch_size: int | None, epochs: int, rng: np.random.Generator | None = None,
                  *, steps: int | None = None) -> list[np.ndarray]:
    """The index batches one client visits: ``epochs`` passes, each cut into batches.

    Args:
        n: the client's number of examples.
        batch_size: examples per batch, or None for the whole client (McMahan's B = infinity).
        epochs: passes over the data (E).
        rng: shuffle each pass with this generator; None keeps the stored order (what the TFF
            equality check uses, since TFF iterates the dataset it is given).
        steps: if given, exactly this many batches: as many passes as they need (``epochs`` is
            then ignored), the last one cut short (a fractional number of epochs, notebook 10).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if batch_size is not None:
        v.count("batch_size", batch_size)
    size = n if batch_size is None else int(batch_size)
    if steps is not None:
        steps = v.count("steps", steps, minimum=0)
        if steps == 0:
            return []
        epochs = math.ceil(steps / math.ceil(n / size))
    batches = [order[i:i + size] for order in epoch_orders(n, epochs, rng) for i in range(0, n, size)]
    return batches if steps is None else batches[:steps]


# --------------------------------------------------------------------------------------------
# The local SGD loop, and the plain client update
# --------------------------------------------------------------------------------------------


def sgd(model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray, lr: float,
        batches: Iterable[np.ndarray],
        gradient: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The local SGD loop: ``params <- params - lr * gradient(params, x[idx], y[idx])`` for each batch.

    ``gradient`` defaults to the model's mean-loss gradient; DP-SGD passes its clipped, noisy
    one (:class:`labkit.fl.dp_fedavg.RecordDPSGD`). ``batches`` may be lazy (drawn as the loop
    runs). Returns a new array in the model's dtype; ``params`` is not modified.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.positive("lr", lr)
    w = np.array(params, dtype=model.dtype)
    step = model.dtype(lr)
    grad = gradient or (lambda p, bx, by: model.loss_and_gradient(p, bx, by)[1])
    for idx in batches:
        w -= step * grad(w, x[idx], y[idx])
    return w


@dataclass(frozen=True)
class ClientResult:
    """What a client sends back: its update (new - global parameters) and how many noisy steps it ran."""

    update: np.ndarray
    noisy_steps: int = 0


@dataclass(frozen=True)
class LocalSGD:
    """The plain client update of FedAvg: local mini-batch SGD from the global parameters.

    Attributes:
        lr: the step size (> 0).
        epochs: local passes over the data (E).
        batch_size: examples per batch (B), None for the whole client.
        shuffle: reshuffle every pass (with the client's generator); False keeps the stored order.
        steps: exactly this many steps instead of ``epochs`` passes (:func:`epoch_batches`).

    Introduced in ``06-federated-averaging.ipynb``.
    """

    lr: float
    epochs: int = 1
    batch_size: int | None = 10
    shuffle: bool = True
    steps: int | None = None

    def __post_init__(self) -> None:
        v.positive("lr", self.lr)
        v.count("epochs", self.epochs)
        if self.batch_size is not None:
            v.count("batch_size", self.batch_size)

    def __call__(self, model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator | None = None) -> ClientResult:
        batches = epoch_batches(len(x), self.batch_size, self.epochs, rng if self.shuffle else None, steps=self.steps)
        return ClientResult(sgd(model, params, x, y, self.lr, batches) - params)


# --------------------------------------------------------------------------------------------
# The federated round and the run loop
# --------------------------------------------------------------------------------------------


def normalized_weights(client_weights: Sequence[float], count: int) -> np.ndarray:
    """``p_k / sum_k p_k`` in float64, after checking the weights (one per client, >= 0, not all 0).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    p = np.asarray(client_weights, dtype=np.float64)
    if p.shape != (count,):
        raise ValueError(f"client_weights must have one entry per model ({count}); got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"client_weights must be finite and >= 0; got {p.tolist()}")
    if p.sum() == 0:
        raise ValueError("client_weights must not all be zero (the average would divide by zero)")
    return p / p.sum()


@dataclass
class RoundResult:
    """One round: the new global parameters, the server's :class:`Aggregate`, the clients' noisy steps."""

    params: np.ndarray
    aggregate: Aggregate
    noisy_steps: list[int]


def federated_round(model: FlatModel, params: np.ndarray, clients: Sequence[Client], selected: Sequence[int],
                    update: Callable[..., ClientResult] | Sequence[Callable[..., ClientResult]], *,
                    aggregator: Callable[[list, np.ndarray], Aggregate] = plain_sum,
                    client_weights: Sequence[float] | None = None,
                    rng: np.random.Generator | Sequence[np.random.Generator] | None = None) -> RoundResult:
    """One round of federated training: the FedAvg round of labkit (McMahan et al. 2017, Algorithm 1).

    Each selected client k runs ``update`` (one callable, or one per client of ``clients``) from
    the global ``params`` and scales its update by ``p_k`` (``client_weights`` normalised to sum
    to 1, in the model's dtype; unscaled when None); the ``aggregator`` sums the scaled updates;
    the server moves the model by the sum: ``params + sum_k p_k (w_k - params)``, which is
    ``sum_k p_k w_k``, written as TFF does.

    Args:
        rng: one generator shared by the clients (in order), one per client of ``clients``, or None.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    selected = [int(k) for k in selected]
    p = None if client_weights is None else normalized_weights(client_weights, len(selected)).astype(model.dtype)
    updates, steps = [], []
    for j, k in enumerate(selected):
        cx, cy = clients[k]
        fn = update if callable(update) else update[k]
        client_rng = rng if rng is None or isinstance(rng, np.random.Generator) else rng[k]
        result = fn(model, params, cx, cy, client_rng)
        updates.append(result.update if p is None else p[j] * result.update)
        steps.append(result.noisy_steps)
    agg = aggregator(updates, params)
    return RoundResult(params + agg.total, agg, steps)


@dataclass
class History:
    """What a federated run measured: test accuracy after each round (index 0 = before training).

    Attributes:
        accuracy: test accuracy per round.
        weights: the final model (``[W, b]`` from the softmax helpers, a flat vector otherwise).
        clients_per_round: how many clients each round used.
        noisy_steps: per client, the noisy DP-SGD steps counted while training ran.
        aggregate: the last round's :class:`Aggregate` (bytes, what the server held).
    """

    accuracy: list[float] = field(default_factory=list)
    weights: Any = field(default_factory=list)
    clients_per_round: list[int] = field(default_factory=list)
    noisy_steps: list[int] = field(default_factory=list)
    aggregate: Aggregate | None = None

    def rounds_to(self, target: float) -> int | None:
        """The first round whose test accuracy is at least ``target``, or None."""
        return rounds_to_target(self.accuracy, target)


def rounds_to_target(accuracies: Sequence[float], target: float) -> int | None:
    """Index of the first accuracy >= ``target`` (round 0 is the initial model), or None.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.real("target", target, low=0.0, high=1.0, low_open=True)
    hits = np.flatnonzero(np.asarray(accuracies) >= target)
    return int(hits[0]) if hits.size else None


def run_rounds(model: FlatModel, params: np.ndarray, clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray],
               *, rounds: int, select: Callable[[], Sequence[int]], step: Callable[[np.ndarray, list], RoundResult],
               target: float | None = None, progress: Callable[[int, float], None] | None = None,
               stop_on_divergence: bool = True) -> History:
    """The run loop: ``rounds`` times select clients, run ``step`` (usually :func:`federated_round`), evaluate.

    Stops early at the first round whose test accuracy reaches ``target``, and (with
    ``stop_on_divergence``) after a round that leaves non-finite parameters (a learning rate too
    large), whose parameters are kept in :attr:`History.weights`. Noisy steps are added up per
    client of ``clients``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.count("rounds", rounds)
    x_test, y_test = test
    hist = History(accuracy=[model.accuracy(params, x_test, y_test)], noisy_steps=[0] * len(clients))
    for r in range(1, rounds + 1):
        selected = [int(k) for k in select()]
        result = step(params, selected)
        params = result.params
        if stop_on_divergence and not np.all(np.isfinite(params)):
            break
        for k, s in zip(selected, result.noisy_steps):
            hist.noisy_steps[k] += s
        hist.aggregate = result.aggregate
        acc = model.accuracy(params, x_test, y_test)
        hist.accuracy.append(acc)
        hist.clients_per_round.append(len(selected))
        if progress is not None:
            progress(r, acc)
        if target is not None and acc >= target:
            break
    hist.weights = params
    return hist


def bytes_per_round(weights: Weights | np.ndarray, clients_per_round: int,
                    bytes_per_value: int | None = None) -> dict[str, int]:
    """Bytes a round moves: the model down to each client and one update back up.

    Counts the payload only (no framing, compression or secure-aggregation overhead), at
    ``bytes_per_value`` bytes a parameter: by default the parameters' own dtype (float32: 4 bytes
    in notebook 06, float64: 8 bytes in notebook 10). The one byte count of labkit.fl.

    Returns:
        ``{"parameters", "per_client_down", "per_client_up", "total"}``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.count("clients_per_round", clients_per_round)
    arrays = [weights] if isinstance(weights, np.ndarray) else list(weights)
    if bytes_per_value is None:
        bytes_per_value = np.asarray(arrays[0]).dtype.itemsize
    v.count("bytes_per_value", bytes_per_value)
    params = int(sum(np.asarray(a).size for a in arrays))
    one_way = params * int(bytes_per_value)
    return {"parameters": params, "per_client_down": one_way, "per_client_up": one_way,
            "total": 2 * one_way * clients_per_round}


# --------------------------------------------------------------------------------------------
# Softmax regression with [W, b] lists (notebooks 06 and 07)
# --------------------------------------------------------------------------------------------


def softmax_model(weights: Weights) -> SoftmaxRegression:
    """The :class:`SoftmaxRegression` of ``[W, b]``'s shape.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    num_features, num_classes = np.shape(weights[0])
    return SoftmaxRegression(int(num_features), int(num_classes))


def _as_list(model: SoftmaxRegression, params: np.ndarray) -> Weights:
    return [a.copy() for a in model.layers(params)]


def init_weights(num_features: int, num_classes: int, rng: np.random.Generator, scale: float = 0.01) -> Weights:
    """Small random initial weights ``[W, b]`` (W ~ N(0, scale^2), b = 0), float32.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    model = SoftmaxRegression(num_features, num_classes)
    return _as_list(model, model.init(rng, scale))


def loss_and_gradients(weights: Weights, x: np.ndarray, y: np.ndarray) -> tuple[float, Weights]:
    """Mean cross-entropy of softmax regression on a batch, and its gradient ``[dW, db]``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    model = softmax_model(weights)
    loss, grad = model.loss_and_gradient(model.flatten(weights), x, y)
    return loss, model.layers(grad)


def accuracy(weights: Weights, x: np.ndarray, y: np.ndarray) -> float:
    """Share of examples whose highest logit is the true class.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    model = softmax_model(weights)
    return model.accuracy(model.flatten(weights), x, y)


def local_sgd(weights: Weights, x: np.ndarray, y: np.ndarray, lr: float, epochs: int,
              batch_size: int | None, rng: np.random.Generator | None = None) -> Weights:
    """A client's work in FedAvg: ``epochs`` passes of mini-batch SGD from the global weights.

    Returns new arrays; ``weights`` is not modified. Runs :func:`sgd`.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    model = softmax_model(weights)
    params = model.flatten(weights)
    v.positive("lr", lr)
    return _as_list(model, sgd(model, params, x, y, lr, epoch_batches(len(x), batch_size, epochs, rng)))


def weighted_average(models: Sequence[Weights], client_weights: Sequence[float]) -> Weights:
    """``sum_k p_k w_k / sum_k p_k`` layer by layer (FedAvg's server step).

    Raises:
        ValueError: with no models, a length mismatch, or client weights that are negative,
            not finite, or all zero.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if len(models) == 0:
        raise ValueError("models must hold at least one client model; got none")
    p32 = normalized_weights(client_weights, len(models)).astype(np.float32)
    return [plain_sum([pk * m[layer] for pk, m in zip(p32, models)]).total.astype(np.float32)
            for layer in range(len(models[0]))]


def fedsgd_round(weights: Weights, clients: Sequence[Client], selected: Sequence[int], lr: float) -> Weights:
    """One FedSGD round, the source document's rule: ``w <- w - lr * sum_k (n_k / n) grad L_k(w)``.

    Each selected client computes the gradient of its mean loss on all its data at the
    current global weights; the server takes one step along their data-weighted average.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.positive("lr", lr)
    grads, sizes = [], []
    for k in selected:
        cx, cy = clients[k]
        grads.append(loss_and_gradients(weights, cx, cy)[1])
        sizes.append(len(cy))
    g = weighted_average(grads, sizes)
    return [weights[0] - np.float32(lr) * g[0], weights[1] - np.float32(lr) * g[1]]


def fedavg_round(weights: Weights, clients: Sequence[Client], selected: Sequence[int], lr: float,
                 epochs: int, batch_size: int | None, rng: np.random.Generator | None = None) -> Weights:
    """One FedAvg round: each selected client runs :func:`local_sgd`; the server averages the
    client models weighted by their number of examples (McMahan et al. 2017, Algorithm 1).

    Written as TFF does it, ``w + sum_k p_k (w_k - w)``, which equals ``sum_k p_k w_k``
    (:func:`federated_round` with :class:`LocalSGD` and :func:`labkit.fl.aggregation.plain_sum`).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    model = softmax_model(weights)
    selected = list(selected)
    if not selected:
        raise ValueError("selected must name at least one client; got none")
    result = federated_round(model, model.flatten(weights), clients, selected,
                             LocalSGD(lr, epochs, batch_size, shuffle=rng is not None), rng=rng,
                             client_weights=[len(clients[k][1]) for k in selected])
    return _as_list(model, result.params)


def run_federated(clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray], *, rounds: int,
                  lr: float, epochs: int = 1, batch_size: int | None = 10, clients_per_round: int | None = None,
                  algorithm: str = "fedavg", seed: int = 0, initial: Weights | None = None,
                  target: float | None = None, shuffle: bool = True,
                  progress: Callable[[int, float], None] | None = None) -> History:
    """Train softmax regression with FedAvg or FedSGD from scratch and record test accuracy.

    Args:
        clients: ``(x, y)`` per client (see :func:`client_arrays`).
        test: ``(x_test, y_test)`` evaluated after every round.
        rounds: communication rounds (>= 1).
        lr: client learning rate (FedAvg) or server step size (FedSGD).
        epochs: local epochs E (FedAvg).
        batch_size: local batch B, None for the whole client (FedAvg).
        clients_per_round: clients sampled uniformly without replacement each round
            (McMahan's C times K); None for all.
        algorithm: ``"fedavg"`` or ``"fedsgd"``.
        seed: seeds the initial weights, the client sampling and the local shuffling.
        initial: start from these weights instead of :func:`init_weights`.
        target: stop early at the first round whose accuracy reaches it.
        shuffle: reshuffle each client's data every local epoch.
        progress: called as ``progress(round, accuracy)`` after each round (progress bars).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.choice("algorithm", algorithm, ("fedavg", "fedsgd"))
    v.count("rounds", rounds)
    v.positive("lr", lr)
    x_test, y_test = test
    num_features = int(np.asarray(x_test).shape[1])
    check_clients(clients, num_features)
    k_total = len(clients)
    m = v.count("clients_per_round", k_total if clients_per_round is None else clients_per_round, maximum=k_total)
    rng = np.random.default_rng(seed)
    num_classes = int(max(int(np.max(c[1])) for c in clients) + 1)
    num_classes = max(num_classes, int(np.max(y_test)) + 1)
    weights = [a.copy() for a in initial] if initial is not None else init_weights(num_features, num_classes, rng)
    if weights[0].shape[0] != num_features:
        raise ValueError(f"initial weights take {weights[0].shape[0]} features but the data has {num_features}")
    model = softmax_model(weights)
    sizes = [len(c[1]) for c in clients]
    local = LocalSGD(lr, epochs, batch_size, shuffle=shuffle)

    def select() -> np.ndarray:
        return np.sort(rng.choice(k_total, size=m, replace=False)) if m < k_total else np.arange(k_total)

    def step(params: np.ndarray, selected: list) -> RoundResult:
        if algorithm == "fedsgd":
            new = fedsgd_round(model.layers(params), clients, selected, lr)
            return RoundResult(model.flatten(new), None, [0] * len(selected))
        return federated_round(model, params, clients, selected, local, rng=rng,
                               client_weights=[sizes[k] for k in selected])

    with np.errstate(over="ignore", invalid="ignore"):  # a too-large lr diverges: stop, don't warn
        hist = run_rounds(model, model.flatten(weights), clients, (x_test, y_test), rounds=rounds, select=select,
                          step=step, target=target, progress=progress)
    hist.weights = _as_list(model, hist.weights)
    return hist


def max_abs_difference(a: Weights, b: Weights) -> float:
    """Largest absolute difference between two weight lists of the same shapes.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError("a and b must hold arrays of the same shapes, layer by layer")
    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))) for x, y in zip(a, b)))
