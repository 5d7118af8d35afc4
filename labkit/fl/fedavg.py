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

MAX_STEPS = 10**6
"""The most epochs, local steps or rounds a call may ask for (a bound, so that a typo cannot run for hours)."""
MAX_EXAMPLES = 10**8
"""The most examples a client may hold (a bound on the index arrays built for it)."""
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
    x = v.finite_array("x", x, dtype=None)
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"x must be an array of numbers; got dtype {x.dtype}")
    y = np.asarray(y)
    if y is None or not np.issubdtype(y.dtype, np.integer) and not (
            np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
        raise TypeError(f"y must be an array of integer labels; got dtype {y.dtype}")
    if parts is None or isinstance(parts, (str, bytes)) or v.is_real(parts):
        raise TypeError(f"parts must be a list of index arrays; got {parts!r}")
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"x must be [n, features] and y [n] with the same n; got x {x.shape} and y {y.shape}")
    if len(parts) == 0:
        raise ValueError("parts must hold at least one client's index array; got none")
    clients = []
    for k, idx in enumerate(parts):
        idx = np.asarray(idx)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"parts[{k}] must be an array of integer indices; got dtype {idx.dtype}")
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
    if clients is None or isinstance(clients, (str, bytes)) or v.is_real(clients):
        raise TypeError(f"clients must be a list of (x, y) pairs; got {clients!r}")
    if num_features is not None:
        v.count("num_features", num_features)
    if len(clients) == 0:
        raise ValueError("clients must hold at least one client; got an empty list")
    for k, pair in enumerate(clients):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"clients[{k}] must be an (x, y) pair")
        cx, cy = np.asarray(pair[0]), np.asarray(pair[1])
        if not np.issubdtype(cx.dtype, np.number) or not np.issubdtype(cy.dtype, np.integer):
            raise TypeError(f"clients[{k}] must be x (numbers) and y (integer labels); got dtypes {cx.dtype} and "
                            f"{cy.dtype}")
        if cx.size and not np.all(np.isfinite(cx)):
            raise ValueError(f"clients[{k}] must hold only finite features; got NaN or inf")
        if cy.size and cy.min() < 0:
            raise ValueError(f"clients[{k}] must hold labels >= 0; got {cy.min()}")
        if len(cx) == 0:
            raise ValueError(f"clients[{k}] is empty: every client needs at least one example")
        if cx.ndim != 2 or cy.ndim != 1 or len(cx) != len(cy):
            raise ValueError(f"clients[{k}] must be x [n, features] and y [n]; got {cx.shape} and {cy.shape}")
        if num_features is not None and cx.shape[1] != num_features:
            raise ValueError(
                f"clients[{k}] has {cx.shape[1]} features but the model expects num_features = {num_features} "
                "(a model/data shape mismatch)"
            )


def epoch_orders(n: int, epochs: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The order in which a client visits its ``n`` examples in each of ``epochs`` passes.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.count("n", n, maximum=MAX_EXAMPLES)
    v.count("epochs", epochs, maximum=MAX_STEPS)
    if rng is not None:
        rng = v.generator(rng)
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
    v.count("n", n, maximum=MAX_EXAMPLES)
    v.count("epochs", epochs, maximum=MAX_STEPS)
    if batch_size is not None:
        v.count("batch_size", batch_size)
    size = n if batch_size is None else int(batch_size)
    if steps is not None:
        steps = v.count("steps", steps, minimum=0, maximum=MAX_STEPS)
        if steps == 0:
            return []
        epochs = math.ceil(steps / math.ceil(n / size))
    batches = [order[i:i + size] for order in epoch_orders(n, epochs, rng) for i in range(0, n, size)]
    return batches if steps is None else batches[:steps]


def _check_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A client's data: x finite numbers [n, features] with n >= 1, y n labels."""
    x = v.finite_array("x", x, ndim=2, dtype=None)
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"x must be an array of numbers; got dtype {x.dtype}")
    if y is None or isinstance(y, (str, bytes)) or np.ndim(y) != 1:
        raise TypeError(f"y must be a 1-D array of labels; got {y!r}"[:200])
    y = np.asarray(y)
    v.same_length(x=x, y=y)
    return x, y


# --------------------------------------------------------------------------------------------
# The local SGD loop, and the plain client update
# --------------------------------------------------------------------------------------------


def sgd(model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray, lr: float,
        batches: Iterable[np.ndarray],
        gradient: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The local SGD loop: ``params <- params - lr * gradient(params, x[idx], y[idx])`` for each batch.

    ``gradient`` defaults to the model's mean-loss gradient; DP-SGD passes its clipped, noisy
    one (:class:`labkit.fl.dp_fedavg.RecordDPSGD`). ``batches`` may be lazy (drawn as the loop
    runs). Returns a new array in the model's dtype; ``params`` is not modified. A step that leaves
    non-finite parameters (a learning rate too large) ends the loop and returns all NaN, which
    :func:`run_rounds` reports as divergence.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    v.positive("lr", lr)
    if not callable(getattr(model, "loss_and_gradient", None)):
        raise TypeError(f"model must be a labkit.fl model (SoftmaxRegression, LogisticRegression); got {model!r}")
    if gradient is not None and not callable(gradient):
        raise TypeError(f"gradient must be a callable or None; got {gradient!r}")
    if batches is None or isinstance(batches, (str, bytes)) or v.is_real(batches):
        raise TypeError(f"batches must be an iterable of index arrays; got {batches!r}")
    if callable(getattr(model, "_check_data", None)):
        x, y = model._check_data(x, y)  # once here; the loop then calls the unchecked gradient
        raw = model._raw_loss_and_gradient if hasattr(model, "_raw_loss_and_gradient") else None
    else:
        x, y = _check_xy(x, y)
        raw = None
    w = np.array(v.finite_array("params", params, ndim=1, dtype=None), dtype=model.dtype)
    if w.size != model.num_params:
        raise ValueError(f"params must have {model.num_params} entries for this model; got {w.size}")
    step = model.dtype(lr)
    grad = gradient or (lambda p, bx, by: (raw or model.loss_and_gradient)(p, bx, by)[1])
    for idx in batches:
        w -= step * grad(w, x[idx], y[idx])
        if not np.all(np.isfinite(w)):  # diverged (lr too large): stop here, the caller sees non-finite params
            w[:] = np.nan
            break
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
        v.count("epochs", self.epochs, maximum=MAX_STEPS)
        if self.batch_size is not None:
            v.count("batch_size", self.batch_size)
        v.flag("shuffle", self.shuffle)
        if self.steps is not None:
            v.count("steps", self.steps, minimum=0, maximum=MAX_STEPS)

    def __call__(self, model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator | None = None) -> ClientResult:
        x, y = _check_xy(x, y)
        batches = epoch_batches(len(x), self.batch_size, self.epochs, rng if self.shuffle else None, steps=self.steps)
        return ClientResult(sgd(model, params, x, y, self.lr, batches) - params)


# --------------------------------------------------------------------------------------------
# The federated round and the run loop
# --------------------------------------------------------------------------------------------


def normalized_weights(client_weights: Sequence[float], count: int) -> np.ndarray:
    """``p_k / sum_k p_k`` in float64, after checking the weights (one per client, >= 0, not all 0).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    count = v.count("count", count)
    p = v.number_array("client_weights", client_weights, what="a sequence of numbers")
    if p.shape != (count,):
        raise ValueError(f"client_weights must have one entry per model (count = {count}); got shape {p.shape}")
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
    if not callable(getattr(model, "flatten", None)):
        raise TypeError(f"model must be a labkit.fl model (SoftmaxRegression, LogisticRegression); got {model!r}")
    params = np.asarray(v.finite_array("params", params, ndim=1, dtype=None))
    if clients is None or isinstance(clients, (str, bytes)) or v.is_real(clients):
        raise TypeError(f"clients must be a list of (x, y) pairs; got {clients!r}")
    if selected is None or isinstance(selected, (str, bytes)) or v.is_real(selected):
        raise TypeError(f"selected must be a sequence of client indices; got {selected!r}")
    selected = [v.integer("selected", k, minimum=0, maximum=len(clients) - 1) for k in selected]
    if not callable(update) and (update is None or isinstance(update, (str, bytes)) or v.is_real(update)
                                 or len(update) != len(clients)):
        raise TypeError(f"update must be a client update (a callable) or one per client; got {update!r}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        if v.is_integer(rng) or v.is_real(rng) or v.is_bool(rng) or isinstance(rng, (str, bytes)):
            rng = v.generator(rng)
        elif len(rng) != len(clients):
            raise ValueError(f"rng must be one generator, one per client, or None; got {len(rng)} for "
                             f"{len(clients)} clients")
    if client_weights is not None and not selected:
        raise ValueError("selected must name at least one client when client_weights are given (nothing to weight)")
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
    acc = v.finite_array("accuracies", accuracies, ndim=1)
    hits = np.flatnonzero(acc >= target)
    return int(hits[0]) if hits.size else None


def _check_test(test: Any) -> tuple[np.ndarray, np.ndarray]:
    """``test`` as ``(x_test, y_test)``: finite features [n, features], n integer labels."""
    if not isinstance(test, (tuple, list)) or len(test) != 2:
        raise TypeError(f"test must be an (x_test, y_test) pair; got {test!r}"[:200])
    x = v.finite_array("test", test[0], ndim=2, dtype=None)
    y = np.asarray(test[1])
    if not np.issubdtype(x.dtype, np.number) or not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 \
            or len(y) != len(x):
        raise ValueError(f"test must be x_test [n, features] (numbers) and y_test [n] (integer labels); got "
                         f"{x.shape} {x.dtype} and {y.shape} {y.dtype}")
    return x, y


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
    v.count("rounds", rounds, maximum=MAX_STEPS)
    if target is not None:
        v.real("target", target, low=0.0, high=1.0, low_open=True)
    for name, fn in (("select", select), ("step", step), ("progress", progress)):
        if fn is not None and not callable(fn) or fn is None and name != "progress":
            raise TypeError(f"{name} must be a callable; got {fn!r}")
    v.flag("stop_on_divergence", stop_on_divergence)
    if not callable(getattr(model, "accuracy", None)):
        raise TypeError(f"model must be a labkit.fl model (SoftmaxRegression, LogisticRegression); got {model!r}")
    params = v.finite_array("params", params, ndim=1, dtype=None)
    if clients is None or isinstance(clients, (str, bytes)) or v.is_real(clients):
        raise TypeError(f"clients must be a list of (x, y) pairs; got {clients!r}")
    x_test, y_test = _check_test(test)
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
    if weights is None or isinstance(weights, (str, bytes)) or v.is_real(weights):
        raise TypeError(f"weights must be a parameter array or a list of arrays; got {weights!r}")
    arrays = [weights] if isinstance(weights, np.ndarray) else list(weights)
    if not arrays:
        raise ValueError("weights must hold at least one array; got none")
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
    if weights is None or isinstance(weights, (str, bytes)) or v.is_real(weights) or len(weights) != 2:
        raise TypeError(f"weights must be [W, b] (two arrays); got {weights!r}"[:200])
    if np.ndim(weights[0]) != 2 or np.shape(weights[1]) != (np.shape(weights[0])[1],):
        raise ValueError(f"weights must be [W (features x classes), b (classes,)]; got shapes "
                         f"{np.shape(weights[0])} and {np.shape(weights[1])}")
    for name, a in (("weights[0]", weights[0]), ("weights[1]", weights[1])):
        v.finite_array(name, a, dtype=None)
    num_features, num_classes = np.shape(weights[0])
    return SoftmaxRegression(int(num_features), int(num_classes))


def _as_list(model: SoftmaxRegression, params: np.ndarray) -> Weights:
    return [a.copy() for a in model.layers(params)]


def init_weights(num_features: int, num_classes: int, rng: np.random.Generator, scale: float = 0.01) -> Weights:
    """Small random initial weights ``[W, b]`` (W ~ N(0, scale^2), b = 0), float32.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    model = SoftmaxRegression(num_features, num_classes)
    return _as_list(model, model.init(v.generator(rng), scale))


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
    x, y = _check_xy(x, y)
    if rng is not None:
        rng = v.generator(rng)
    return _as_list(model, sgd(model, params, x, y, lr, epoch_batches(len(x), batch_size, epochs, rng)))


def weighted_average(models: Sequence[Weights], client_weights: Sequence[float]) -> Weights:
    """``sum_k p_k w_k / sum_k p_k`` layer by layer (FedAvg's server step).

    Raises:
        ValueError: with no models, a length mismatch, or client weights that are negative,
            not finite, or all zero.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if models is None or isinstance(models, (str, bytes)) or v.is_real(models):
        raise TypeError(f"models must be a list of client models [W, b]; got {models!r}")
    if len(models) == 0:
        raise ValueError("models must hold at least one client model; got none")
    for k, m in enumerate(models):
        if isinstance(m, (str, bytes)) or not hasattr(m, "__len__") or len(m) != len(models[0]):
            raise ValueError(f"models[{k}] must hold {len(models[0])} layers like models[0]; got {m!r}"[:200])
        for i, a in enumerate(m):
            if np.shape(a) != np.shape(models[0][i]):
                raise ValueError(f"models[{k}][{i}] must have shape {np.shape(models[0][i])}; got {np.shape(a)}")
            v.finite_array(f"models[{k}][{i}]", a, dtype=None)
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
    model = softmax_model(weights)
    check_clients(clients, model.num_features)
    if selected is None or isinstance(selected, (str, bytes)) or v.is_real(selected):
        raise TypeError(f"selected must be a sequence of client indices; got {selected!r}")
    selected = [v.integer("selected", k, minimum=0, maximum=len(clients) - 1) for k in selected]
    if not selected:
        raise ValueError("selected must name at least one client; got none")
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
    check_clients(clients, model.num_features)
    if selected is None or isinstance(selected, (str, bytes)) or v.is_real(selected):
        raise TypeError(f"selected must be a sequence of client indices; got {selected!r}")
    selected = [v.integer("selected", k, minimum=0, maximum=len(clients) - 1) for k in selected]
    if rng is not None:
        rng = v.generator(rng)
    if not selected:
        raise ValueError("selected must name at least one client; got none")
    result = federated_round(model, model.flatten(weights), clients, selected,
                             LocalSGD(lr, epochs, batch_size, shuffle=rng is not None), rng=rng,
                             client_weights=[len(clients[k][1]) for k in selected])
    return _as_list(model, result.params)


def fedavgm_round(weights: Weights, velocity: Weights | None, clients: Sequence[Client], selected: Sequence[int],
                  lr: float, epochs: int, batch_size: int | None, *, server_lr: float = 1.0, momentum: float = 0.9,
                  rng: np.random.Generator | None = None) -> tuple[Weights, Weights]:
    """One round of FedAvg with server momentum (FedAvgM; Hsu, Qi and Brown 2019, section 3).

    The clients run exactly the round of :func:`fedavg_round`; the server treats the data-weighted
    average of their updates, ``Delta = sum_k p_k (w_k - w)``, as a step to take with momentum:
    ``velocity <- momentum * velocity + Delta`` and ``w <- w + server_lr * velocity``. With
    ``momentum = 0`` and ``server_lr = 1`` this is :func:`fedavg_round`. It is TFF's
    ``build_weighted_fed_avg`` with ``server_optimizer_fn=tff.learning.optimizers.build_sgdm(server_lr,
    momentum)``, whose accumulator holds ``-velocity`` (tests/fl/test_fl_tff.py checks the two agree).

    Args:
        weights: the global model ``[W, b]``.
        velocity: the server's momentum buffer ``[W, b]`` from the previous round, or None in the
            first round (zeros).
        clients, selected, lr, epochs, batch_size, rng: as in :func:`fedavg_round`.
        server_lr: the server's step size (> 0; one so large that the weights overflow returns inf, as a
            too-large ``lr`` does).
        momentum: the server's momentum, in [0, 1).

    Returns:
        ``(new_weights, new_velocity)``, float32 arrays.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    softmax_model(weights)  # [W, b], finite
    v.positive("server_lr", server_lr)
    v.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    if velocity is None:
        velocity = [np.zeros_like(np.asarray(a, np.float32)) for a in weights]
    else:
        if isinstance(velocity, (str, bytes)) or v.is_real(velocity) or not hasattr(velocity, "__len__") \
                or len(velocity) != 2:
            raise TypeError(f"velocity must be [W, b] like weights, or None; got {velocity!r}"[:200])
        for i, (a, w) in enumerate(zip(velocity, weights)):
            if np.shape(a) != np.shape(w):
                raise ValueError(f"velocity[{i}] must have the shape of weights[{i}] {np.shape(w)}; got {np.shape(a)}")
            v.finite_array(f"velocity[{i}]", a, dtype=None)
    averaged = fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    beta, eta = np.float32(momentum), np.float32(server_lr)
    new_velocity = [(beta * np.asarray(m, np.float32) + (a - np.asarray(w, np.float32))).astype(np.float32)
                    for m, a, w in zip(velocity, averaged, weights)]
    new_weights = [(np.asarray(w, np.float32) + eta * m).astype(np.float32) for w, m in zip(weights, new_velocity)]
    return new_weights, new_velocity


def _check_run(clients, test, rounds, lr, epochs, batch_size, clients_per_round, target, progress):
    """The checks every from-scratch run loop makes (:func:`run_federated`, ``remedies.run_method``):
    returns the test arrays and the number of clients per round."""
    v.count("rounds", rounds, maximum=MAX_STEPS)
    v.positive("lr", lr)
    v.count("epochs", epochs, maximum=MAX_STEPS)
    if batch_size is not None:
        v.count("batch_size", batch_size)
    if target is not None:
        v.real("target", target, low=0.0, high=1.0, low_open=True)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable or None; got {progress!r}")
    x_test, y_test = _check_test(test)
    check_clients(clients, int(x_test.shape[1]))
    k_total = len(clients)
    m = v.count("clients_per_round", k_total if clients_per_round is None else clients_per_round, maximum=k_total)
    return x_test, y_test, m


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
    x_test, y_test, m = _check_run(clients, test, rounds, lr, epochs, batch_size, clients_per_round, target, progress)
    num_features, k_total = int(x_test.shape[1]), len(clients)
    rng = v.generator(seed, "seed")
    num_classes = int(max(int(np.max(c[1])) for c in clients) + 1)
    num_classes = max(num_classes, int(np.max(y_test)) + 1)
    if initial is not None:
        try:
            softmax_model(initial)  # [W, b], finite
        except (TypeError, ValueError) as err:
            raise type(err)(f"initial: {err}") from None
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
    for name, w in (("a", a), ("b", b)):
        if w is None or isinstance(w, (str, bytes)) or v.is_real(w) or len(w) == 0:
            raise TypeError(f"{name} must be a non-empty list of arrays; got {w!r}")
    if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError("a and b must hold arrays of the same shapes, layer by layer")
    for name, w in (("a", a), ("b", b)):
        for i, x in enumerate(w):
            v.finite_array(f"{name}[{i}]", x, dtype=None, allow_empty=True)
    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))) for x, y in zip(a, b)))
