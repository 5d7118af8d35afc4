"""Federated learning: client data, FedSGD and FedAvg from scratch, and the same with TFF.

The from-scratch code trains a softmax-regression model (one dense layer, ``x @ W + b``) with
NumPy in float32, so that every step can be set beside TensorFlow Federated's: the notebook
runs ``tff.learning.algorithms.build_weighted_fed_avg`` on the same clients, initial weights,
batches and learning rate and checks that the weights agree to 1e-5. User-level DP-FedAvg
(McMahan et al. 2018: Poisson client sampling, per-client clipping, Gaussian noise on the sum,
a fixed denominator) is written the same way and cross-checked against TFF's
``DifferentiallyPrivateFactory``.

Every TFF helper here runs inside :func:`labkit.fl.tff.session`, so the ``worker_binary``
child ends when the helper returns, even on error.

Introduced in ``06-federated-averaging.ipynb``; DP-FedAvg in ``07-private-federated-learning.ipynb``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

Weights = list  # [W (features x classes), b (classes,)], float32 arrays
Client = tuple  # (x: float32 [n, features], y: int64 [n])

BYTES_PER_FLOAT32 = 4


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


def _check_positive_int(name: str, value, *, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an integer >= 1{extra}; got {value!r}")


def _check_lr(lr: float) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (0 < lr < math.inf):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")


def epoch_batches(n: int, batch_size: int | None, epochs: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The index batches one client visits: ``epochs`` passes, each cut into batches.

    Args:
        n: the client's number of examples.
        batch_size: examples per batch, or None for the whole client (McMahan's B = infinity).
        epochs: passes over the data (E).
        rng: shuffle each pass with this generator; None keeps the stored order (what the TFF
            equality check uses, since TFF iterates the dataset it is given).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_positive_int("batch_size", batch_size, allow_none=True)
    size = n if batch_size is None else int(batch_size)
    return [order[i:i + size] for order in epoch_orders(n, epochs, rng) for i in range(0, n, size)]


def epoch_orders(n: int, epochs: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The order in which a client visits its ``n`` examples in each of ``epochs`` passes.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_positive_int("epochs", epochs)
    return [np.arange(n) if rng is None else rng.permutation(n) for _ in range(epochs)]


def client_datasets(clients: Sequence[Client], batch_size: int | None, epochs: int = 1,
                    rng: np.random.Generator | None = None):
    """One batched ``tf.data.Dataset`` of ``(x, y)`` per client, in :func:`epoch_batches` order.

    The batches are exactly those the from-scratch :func:`local_sgd` visits with the same
    ``rng`` state, which is what makes the TFF equality check possible.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    import tensorflow as tf

    check_clients(clients)
    out = []
    for cx, cy in clients:
        size = len(cx) if batch_size is None else int(batch_size)
        ds = None
        for order in epoch_orders(len(cx), epochs, rng):  # batch each pass on its own
            piece = tf.data.Dataset.from_tensor_slices((cx[order], cy[order])).batch(size)
            ds = piece if ds is None else ds.concatenate(piece)
        out.append(ds)
    return out


# --------------------------------------------------------------------------------------------
# The model: softmax regression in NumPy (float32)
# --------------------------------------------------------------------------------------------


def init_weights(num_features: int, num_classes: int, rng: np.random.Generator, scale: float = 0.01) -> Weights:
    """Small random initial weights ``[W, b]`` (W ~ N(0, scale^2), b = 0), float32.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_positive_int("num_features", num_features)
    _check_positive_int("num_classes", num_classes)
    w = (rng.standard_normal((num_features, num_classes)) * scale).astype(np.float32)
    return [w, np.zeros(num_classes, dtype=np.float32)]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def loss_and_gradients(weights: Weights, x: np.ndarray, y: np.ndarray) -> tuple[float, Weights]:
    """Mean cross-entropy of softmax regression on a batch, and its gradient ``[dW, db]``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    w, b = weights
    p = _softmax(x @ w + b)
    n = len(y)
    loss = float(-np.mean(np.log(p[np.arange(n), y] + 1e-12)))
    g = p
    g[np.arange(n), y] -= 1.0
    g /= np.float32(n)
    return loss, [(x.T @ g).astype(np.float32), g.sum(axis=0).astype(np.float32)]


def accuracy(weights: Weights, x: np.ndarray, y: np.ndarray) -> float:
    """Share of examples whose highest logit is the true class.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    w, b = weights
    return float(np.mean(np.argmax(x @ w + b, axis=1) == y))


def local_sgd(weights: Weights, x: np.ndarray, y: np.ndarray, lr: float, epochs: int,
              batch_size: int | None, rng: np.random.Generator | None = None) -> Weights:
    """A client's work in FedAvg: ``epochs`` passes of mini-batch SGD from the global weights.

    Returns new arrays; ``weights`` is not modified.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_lr(lr)
    w = [a.copy() for a in weights]
    step = np.float32(lr)
    for idx in epoch_batches(len(x), batch_size, epochs, rng):
        _, grads = loss_and_gradients(w, x[idx], y[idx])
        w[0] -= step * grads[0]
        w[1] -= step * grads[1]
    return w


def weighted_average(models: Sequence[Weights], client_weights: Sequence[float]) -> Weights:
    """``sum_k p_k w_k / sum_k p_k`` layer by layer (FedAvg's server step).

    Raises:
        ValueError: with no models, a length mismatch, or client weights that are negative,
            not finite, or all zero.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if len(models) == 0:
        raise ValueError("models must hold at least one client model; got none")
    p = np.asarray(client_weights, dtype=np.float64)
    if p.shape != (len(models),):
        raise ValueError(f"client_weights must have one entry per model ({len(models)}); got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"client_weights must be finite and >= 0; got {p.tolist()}")
    if p.sum() == 0:
        raise ValueError("client_weights must not all be zero (the average would divide by zero)")
    p32 = (p / p.sum()).astype(np.float32)
    return [sum(pk * m[layer] for pk, m in zip(p32, models)).astype(np.float32) for layer in range(len(models[0]))]


def fedsgd_round(weights: Weights, clients: Sequence[Client], selected: Sequence[int], lr: float) -> Weights:
    """One FedSGD round, the source document's rule: ``w <- w - lr * sum_k (n_k / n) grad L_k(w)``.

    Each selected client computes the gradient of its mean loss on all its data at the
    current global weights; the server takes one step along their data-weighted average.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_lr(lr)
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

    Written as TFF does it, ``w + sum_k p_k (w_k - w)``, which equals ``sum_k p_k w_k``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    deltas, sizes = [], []
    for k in selected:
        cx, cy = clients[k]
        local = local_sgd(weights, cx, cy, lr, epochs, batch_size, rng)
        deltas.append([a - b for a, b in zip(local, weights)])
        sizes.append(len(cy))
    mean_delta = weighted_average(deltas, sizes)
    return [a + d for a, d in zip(weights, mean_delta)]


@dataclass
class History:
    """What a federated run measured: test accuracy after each round (index 0 = before training)."""

    accuracy: list[float] = field(default_factory=list)
    weights: Weights = field(default_factory=list)
    clients_per_round: list[int] = field(default_factory=list)

    def rounds_to(self, target: float) -> int | None:
        """The first round whose test accuracy is at least ``target``, or None."""
        return rounds_to_target(self.accuracy, target)


def rounds_to_target(accuracies: Sequence[float], target: float) -> int | None:
    """Index of the first accuracy >= ``target`` (round 0 is the initial model), or None.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target must be an accuracy in (0, 1]; got {target!r}")
    hits = np.flatnonzero(np.asarray(accuracies) >= target)
    return int(hits[0]) if hits.size else None


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
    if algorithm not in ("fedavg", "fedsgd"):
        raise ValueError(f"algorithm must be 'fedavg' or 'fedsgd'; got {algorithm!r}")
    _check_positive_int("rounds", rounds)
    _check_lr(lr)
    x_test, y_test = test
    num_features = int(np.asarray(x_test).shape[1])
    check_clients(clients, num_features)
    k_total = len(clients)
    m = k_total if clients_per_round is None else clients_per_round
    _check_positive_int("clients_per_round", m)
    if m > k_total:
        raise ValueError(f"clients_per_round must be from 1 to {k_total} (the number of clients); got {m}")
    rng = np.random.default_rng(seed)
    num_classes = int(max(int(np.max(c[1])) for c in clients) + 1)
    num_classes = max(num_classes, int(np.max(y_test)) + 1)
    weights = [a.copy() for a in initial] if initial is not None else init_weights(num_features, num_classes, rng)
    if weights[0].shape[0] != num_features:
        raise ValueError(f"initial weights take {weights[0].shape[0]} features but the data has {num_features}")
    hist = History(accuracy=[accuracy(weights, x_test, y_test)])
    with np.errstate(over="ignore", invalid="ignore"):  # a too-large lr diverges: stop, don't warn
        _train_rounds(hist, weights, clients, x_test, y_test, rounds, lr, epochs, batch_size, m, algorithm, rng,
                      target, shuffle, progress)
    return hist


def _train_rounds(hist, weights, clients, x_test, y_test, rounds, lr, epochs, batch_size, m, algorithm, rng,
                  target, shuffle, progress) -> None:
    k_total = len(clients)
    for r in range(1, rounds + 1):
        selected = np.sort(rng.choice(k_total, size=m, replace=False)) if m < k_total else np.arange(k_total)
        if algorithm == "fedsgd":
            weights = fedsgd_round(weights, clients, selected, lr)
        else:
            weights = fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng if shuffle else None)
        if not all(np.all(np.isfinite(a)) for a in weights):  # diverged (learning rate too large)
            break
        acc = accuracy(weights, x_test, y_test)
        hist.accuracy.append(acc)
        hist.clients_per_round.append(int(m))
        if progress is not None:
            progress(r, acc)
        if target is not None and acc >= target:
            break
    hist.weights = weights


# --------------------------------------------------------------------------------------------
# Communication
# --------------------------------------------------------------------------------------------


def bytes_per_round(weights: Weights, clients_per_round: int, bytes_per_value: int = BYTES_PER_FLOAT32) -> dict[str, int]:
    """Bytes a round moves: the model down to each client and one update back up.

    Counts the payload only (no framing, compression or secure-aggregation overhead).

    Returns:
        ``{"parameters", "per_client_down", "per_client_up", "total"}``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_positive_int("clients_per_round", clients_per_round)
    _check_positive_int("bytes_per_value", bytes_per_value)
    params = int(sum(np.asarray(a).size for a in weights))
    one_way = params * bytes_per_value
    return {"parameters": params, "per_client_down": one_way, "per_client_up": one_way,
            "total": 2 * one_way * clients_per_round}


# --------------------------------------------------------------------------------------------
# The same with TensorFlow Federated
# --------------------------------------------------------------------------------------------


def _keras_softmax_regression(num_features: int, num_classes: int):
    import tensorflow as tf

    return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(num_features,)),
                                tf.keras.layers.Dense(num_classes)])


def _tff_model_fn(num_features: int, num_classes: int):
    import tensorflow as tf

    from labkit.fl.tff import import_tff

    tff = import_tff()
    spec = (tf.TensorSpec([None, num_features], tf.float32), tf.TensorSpec([None], tf.int64))

    def model_fn():
        return tff.learning.models.from_keras_model(
            _keras_softmax_regression(num_features, num_classes), input_spec=spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    return model_fn


def _round_datasets(clients, selected, batch_size, epochs, rng):
    picked = [clients[k] for k in selected]
    return client_datasets(picked, batch_size, epochs, rng)


def tff_fedavg(clients: Sequence[Client], initial: Weights, *, rounds: int, lr: float, epochs: int = 1,
               batch_size: int | None = 10, selections: Sequence[Sequence[int]] | None = None,
               shuffle_seed: int | None = None) -> Weights:
    """Run ``tff.learning.algorithms.build_weighted_fed_avg`` and return the final ``[W, b]``.

    Client optimiser: SGD with ``lr`` (``tff.learning.optimizers.build_sgdm``); server: SGD
    with learning rate 1 (the plain weighted average of client models). The worker process
    ends when this returns, also on error.

    Args:
        clients, initial, rounds, lr, epochs, batch_size: as in :func:`run_federated`.
        selections: the clients of each round (default: all, every round).
        shuffle_seed: shuffle local epochs with ``np.random.default_rng(shuffle_seed)`` in the
            order :func:`fedavg_round` uses; None keeps the stored order.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    from labkit.fl.tff import session

    check_clients(clients, int(initial[0].shape[0]))
    _check_positive_int("rounds", rounds)
    _check_lr(lr)
    selections = [list(range(len(clients)))] * rounds if selections is None else list(selections)
    if len(selections) != rounds:
        raise ValueError(f"selections must list the clients of each of the {rounds} rounds; got {len(selections)}")
    rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)
    num_features, num_classes = initial[0].shape
    with session() as tff:
        process = tff.learning.algorithms.build_weighted_fed_avg(
            _tff_model_fn(num_features, num_classes),
            client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=lr),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0))
        state = process.initialize()
        state = process.set_model_weights(state, tff.learning.models.ModelWeights(
            trainable=[np.asarray(a, np.float32) for a in initial], non_trainable=[]))
        for selected in selections:
            state = process.next(state, _round_datasets(clients, selected, batch_size, epochs, rng)).state
        final = process.get_model_weights(state)
        return [np.asarray(a, np.float32) for a in final.trainable]


def max_abs_difference(a: Weights, b: Weights) -> float:
    """Largest absolute difference between two weight lists of the same shapes.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError("a and b must hold arrays of the same shapes, layer by layer")
    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))) for x, y in zip(a, b)))


# --------------------------------------------------------------------------------------------
# User-level DP-FedAvg (notebook 07)
# --------------------------------------------------------------------------------------------


def clip_update(update: Weights, clip: float) -> Weights:
    """Scale a client's update so its L2 norm over all layers is at most ``clip``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if isinstance(clip, bool) or not isinstance(clip, (int, float, np.floating)) or not (0 < clip < math.inf):
        raise ValueError(f"clip must be a finite number > 0; got {clip!r}")
    norm = float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in update)))
    scale = np.float32(min(1.0, clip / norm)) if norm > 0 else np.float32(1.0)
    return [(a * scale).astype(np.float32) for a in update]


def poisson_sample(num_clients: int, q: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Each client joins the round independently with probability ``q`` (Poisson sampling).

    This is the sampling the accountant (:func:`labkit.dp.poisson_gaussian_epsilon`) assumes.

    Args:
        rng: draws the sample; None (the default) uses a fresh generator seeded from OS
            entropy. Pass a seeded generator only for a reproducible demonstration.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    _check_positive_int("num_clients", num_clients)
    if not 0 < q <= 1:
        raise ValueError(f"q must be a sampling probability in (0, 1]; got {q!r}")
    rng = np.random.default_rng() if rng is None else rng
    return np.flatnonzero(rng.random(num_clients) < q)


def check_user_delta(delta: float, num_users: int) -> None:
    """Raise ValueError unless ``delta`` is far below ``1 / num_users``.

    A mechanism that publishes each user's whole data with probability delta is (0, delta)-DP:
    it exposes delta * K users in expectation. User-level DP is therefore only meaningful when
    delta * K is small; this check asks for delta <= 1 / (100 K), at most one exposed user in
    a hundred runs of such a mechanism.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    _check_positive_int("num_users", num_users)
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating)) or not 0 < delta < 1:
        raise ValueError(f"delta must be a number in (0, 1); got {delta!r}")
    bound = 1.0 / (100 * int(num_users))
    if delta > bound:
        raise ValueError(
            f"delta must be at most 1 / (100 K) = {bound:.0e} for K = {num_users} users; got {delta!r}. "
            f"A mechanism that publishes each user's data with probability delta meets (0, delta)-DP "
            f"and would expose delta * K = {delta * num_users:.2g} users in expectation")


def user_level_epsilon(q: float, noise_multiplier: float, rounds: int, delta: float, num_users: int,
                       accountant: str = "rdp") -> float:
    """User-level epsilon of DP-FedAvg: ``rounds`` Poisson-subsampled Gaussian mechanisms.

    Calls :func:`labkit.dp.poisson_gaussian_epsilon` (add-or-remove-one-user adjacency) after
    :func:`check_user_delta`, so a delta that is not far below 1/K is refused.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit import dp

    check_user_delta(delta, num_users)
    return dp.poisson_gaussian_epsilon(q, noise_multiplier, rounds, delta, accountant)


def adaptive_clip_value_noise(noise_multiplier: float, expected_clients: float,
                              clipped_count_stddev: float | None = None) -> float:
    """The noise multiplier that adaptive clipping puts on the updates, for a total ``noise_multiplier``.

    Adaptive clipping (Andrew et al. 2021) also releases a noisy count of clipped clients
    (standard deviation ``clipped_count_stddev``, TFF's default 0.05 * ``expected_clients``).
    The two Gaussian releases together cost what one Gaussian mechanism with
    ``(z_value**-2 + (2 * clipped_count_stddev)**-2) ** -0.5`` costs, so TFF's
    ``DifferentiallyPrivateFactory.gaussian_adaptive`` raises the noise on the updates to
    ``z_value = (z**-2 - (2 * clipped_count_stddev)**-2) ** -0.5``: the accountant is then
    given the total ``z`` and the quantile estimate is paid for.

    Raises:
        ValueError: when ``clipped_count_stddev`` is too small for the requested total
            (z >= 2 * clipped_count_stddev), as TFF does.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if not noise_multiplier > 0:
        raise ValueError(f"noise_multiplier must be > 0; got {noise_multiplier!r}")
    if not expected_clients > 0:
        raise ValueError(f"expected_clients must be > 0; got {expected_clients!r}")
    sb = 0.05 * expected_clients if clipped_count_stddev is None else float(clipped_count_stddev)
    if not noise_multiplier < 2 * sb:
        raise ValueError(f"clipped_count_stddev must exceed noise_multiplier / 2 = {noise_multiplier / 2:g}; got {sb:g}")
    return float((noise_multiplier ** -2 - (2 * sb) ** -2) ** -0.5)


def dp_fedavg_round(weights: Weights, clients: Sequence[Client], selected: Sequence[int], *, lr: float,
                    epochs: int, batch_size: int | None, clip: float, noise_multiplier: float,
                    expected_clients: float, rng: np.random.Generator | None = None) -> Weights:
    """One round of DP-FedAvg (McMahan et al. 2018, "Learning differentially private recurrent
    language models", Algorithm 1 with a fixed denominator).

    Each selected client trains locally and clips its update to L2 norm ``clip``; the server
    adds N(0, (noise_multiplier * clip)^2) to each coordinate of the sum and divides by the
    *expected* number of clients ``expected_clients`` (q * K), not the actual one, so one
    client's presence changes the released average by at most ``clip / expected_clients``.

    Args:
        rng: draws the Gaussian noise. None (the default) uses a fresh generator seeded from
            OS entropy. A seeded generator makes a demonstration reproducible and gives no
            privacy against anyone who knows the seed: they can subtract the noise.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if not noise_multiplier >= 0:
        raise ValueError(f"noise_multiplier must be >= 0; got {noise_multiplier!r}")
    if not expected_clients > 0:
        raise ValueError(f"expected_clients must be > 0; got {expected_clients!r}")
    total = [np.zeros_like(a) for a in weights]
    for k in selected:
        cx, cy = clients[k]
        local = local_sgd(weights, cx, cy, lr, epochs, batch_size)
        delta = clip_update([a - b for a, b in zip(local, weights)], clip)
        total = [t + d for t, d in zip(total, delta)]
    std = noise_multiplier * clip
    rng = np.random.default_rng() if rng is None else rng
    noisy = [(t + rng.normal(0.0, std, size=t.shape)).astype(np.float32) if std > 0 else t for t in total]
    return [(a + n / np.float32(expected_clients)).astype(np.float32) for a, n in zip(weights, noisy)]


def run_dp_fedavg(clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray], *, rounds: int, q: float,
                  clip: float, noise_multiplier: float, lr: float, epochs: int = 1, batch_size: int | None = 10,
                  seed: int | None = None, initial: Weights | None = None) -> History:
    """Train with user-level DP-FedAvg from scratch: Poisson client sampling, clipping, noise.

    Returns a :class:`History` whose ``clients_per_round`` records how many clients each round
    actually sampled. ``seed`` seeds the initial weights, the sampling and the noise; None (the
    default) draws them from OS entropy. A seed makes a demonstration reproducible and gives no
    privacy against anyone who knows it.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    _check_positive_int("rounds", rounds)
    x_test, y_test = test
    num_features = int(np.asarray(x_test).shape[1])
    check_clients(clients, num_features)
    rng = np.random.default_rng(seed)
    num_classes = max(int(np.max(y_test)) + 1, max(int(np.max(c[1])) for c in clients) + 1)
    weights = [a.copy() for a in initial] if initial is not None else init_weights(num_features, num_classes, rng)
    hist = History(accuracy=[accuracy(weights, x_test, y_test)])
    expected = q * len(clients)
    for _ in range(rounds):
        selected = poisson_sample(len(clients), q, rng)
        weights = dp_fedavg_round(weights, clients, selected, lr=lr, epochs=epochs, batch_size=batch_size,
                                  clip=clip, noise_multiplier=noise_multiplier, expected_clients=expected, rng=rng)
        hist.accuracy.append(accuracy(weights, x_test, y_test))
        hist.clients_per_round.append(int(len(selected)))
    hist.weights = weights
    return hist


def tff_dp_fedavg(clients: Sequence[Client], initial: Weights, *, selections: Sequence[Sequence[int]], lr: float,
                  clip: float, noise_multiplier: float, expected_clients: float, epochs: int = 1,
                  batch_size: int | None = 10) -> Weights:
    """DP-FedAvg with TFF: ``build_unweighted_fed_avg`` and
    ``tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed`` (fixed clip, Gaussian
    noise, fixed denominator ``expected_clients``). Returns the final ``[W, b]``.

    ``tff.learning.model_update_aggregator.dp_aggregator`` is the same factory with adaptive
    clipping (Andrew et al. 2021) and zeroing; the fixed clip keeps the comparison with
    :func:`dp_fedavg_round` exact when ``noise_multiplier`` is 0. The worker ends on return.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.tff import session

    check_clients(clients, int(initial[0].shape[0]))
    clip_update([np.zeros(1, np.float32)], clip)  # validates clip
    if not noise_multiplier >= 0:
        raise ValueError(f"noise_multiplier must be >= 0; got {noise_multiplier!r}")
    if any(len(s) == 0 for s in selections):
        raise ValueError("selections must not contain an empty round: TFF cannot run a round without clients")
    num_features, num_classes = initial[0].shape
    with session() as tff, _unseeded_random_ops_allowed():
        aggregator = tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed(
            noise_multiplier=float(noise_multiplier), clients_per_round=float(expected_clients), clip=float(clip))
        process = tff.learning.algorithms.build_unweighted_fed_avg(
            _tff_model_fn(num_features, num_classes),
            client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=lr),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0),
            model_aggregator=aggregator)
        state = process.initialize()
        state = process.set_model_weights(state, tff.learning.models.ModelWeights(
            trainable=[np.asarray(a, np.float32) for a in initial], non_trainable=[]))
        for selected in selections:
            state = process.next(state, _round_datasets(clients, selected, batch_size, epochs, None)).state
        return [np.asarray(a, np.float32) for a in process.get_model_weights(state).trainable]


@contextlib.contextmanager
def _unseeded_random_ops_allowed():
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
def _tf_logger_silenced():
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


def tff_secure_sum_demo(values: Sequence[int], bitwidth: int = 16) -> dict[str, int]:
    """Sum client integers with ``tff.federated_secure_sum_bitwidth`` and ``tff.federated_sum``.

    In TFF's simulation runtime the secure sum is executed as a plain sum: there is no
    masking, no key agreement and no dropout recovery (notebook 09 builds those). Both
    results are returned so the notebook can show they are equal. The worker ends on return.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.tff import session

    values = [int(v) for v in values]
    if not values:
        raise ValueError("values must hold at least one client's integer; got none")
    _check_positive_int("bitwidth", bitwidth)
    if any(v < 0 or v >= 2 ** bitwidth for v in values):
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


def tff_secure_fedavg(clients: Sequence[Client], initial: Weights, *, rounds: int, lr: float, epochs: int = 1,
                      batch_size: int | None = 10) -> Weights:
    """Weighted FedAvg in TFF with ``tff.learning.secure_aggregator`` (no zeroing or clipping).

    The secure aggregator quantises each update to integers within an adaptive bound and sums
    them with ``federated_secure_sum_bitwidth``: in simulation a plain sum of the quantised
    values, so the result matches plain FedAvg up to quantisation error.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.tff import session

    check_clients(clients, int(initial[0].shape[0]))
    _check_positive_int("rounds", rounds)
    num_features, num_classes = initial[0].shape
    with session(simulate_secure_sum=True) as tff, _tf_logger_silenced():
        process = tff.learning.algorithms.build_weighted_fed_avg(
            _tff_model_fn(num_features, num_classes),
            client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=lr),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0),
            model_aggregator=tff.learning.secure_aggregator(zeroing=False, clipping=False, weighted=True))
        state = process.initialize()
        state = process.set_model_weights(state, tff.learning.models.ModelWeights(
            trainable=[np.asarray(a, np.float32) for a in initial], non_trainable=[]))
        everyone = list(range(len(clients)))
        for _ in range(rounds):
            state = process.next(state, _round_datasets(clients, everyone, batch_size, epochs, None)).state
        return [np.asarray(a, np.float32) for a in process.get_model_weights(state).trainable]


# --------------------------------------------------------------------------------------------
# Precomputed sweeps under data/sweeps (make data)
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
    if not (alpha > 0):
        raise ValueError(f"alpha must be > 0 (math.inf for IID); got {alpha!r}")
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
    index = []
    for name, value in (("alpha", alpha), ("num_clients", num_clients), ("epochs", epochs)):
        values = grid[name]
        hits = np.flatnonzero(values == value)
        if hits.size == 0:
            raise ValueError(f"{name} must be one of {values.tolist()}; got {value!r}")
        index.append(int(hits[0]))
    return grid["curves"][tuple(index)]
