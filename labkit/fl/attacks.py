"""Gradient inversion: what a client's update reveals to whoever reads it.

Two attacks on the update a client sends in federated learning, and the two defences of notebook 07:

- :func:`invert_softmax_gradient`: for softmax regression, one example's gradient is
  ``dW = x (p - y)^T`` and ``db = p - y``, so ``x = dW[:, c] / db[c]`` for any class ``c`` with
  ``db[c] != 0``: a single-example FedSGD update gives the example back exactly.
- :func:`dlg_attack`: "Deep leakage from gradients" (Zhu, Liu and Han 2019, section 3): optimise
  dummy inputs until their gradient on the same model matches the observed one. Here on a small
  sigmoid MLP (:func:`init_mlp`, 64-32-10) in TensorFlow, with Adam on the cosine distance between
  gradients (Geiping et al. 2020, section 4), and the labels read off the last bias's gradient when
  the attacker is not given them (:func:`infer_labels`; Zhao, Mopuri and Bilen 2020, iDLG, section 3).
- :func:`observed_gradient`: what the attacker sees: one client's gradient, the sum of several
  clients' gradients (secure aggregation), or the sum of clipped gradients plus Gaussian noise
  (DP-FedAvg).
- :func:`inversion_point`: one setting of notebook 06's inversion explorer (batch size, clients
  summed, noise multiplier -> reconstructions, their error and the epsilon of that noise), cached.

TensorFlow loads only inside the functions that need it.

Introduced in ``06-federated-averaging.ipynb``; the defence is revisited in
``07-private-federated-learning.ipynb``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr

MLP_SIZES: tuple[int, int, int] = (64, 32, 10)
"""The layer sizes of the MLP the DLG attack targets: 64 pixels, 32 sigmoid units, 10 classes."""
MAX_DLG_STEPS = 100_000
"""The most optimisation steps :func:`dlg_attack` takes (a bound: 300 are enough on digits)."""
MAX_BATCH = 64
"""The largest batch :func:`dlg_attack` reconstructs (DLG itself fails long before)."""
MAX_CLIENTS = 1000
"""The most clients :func:`observed_gradient` sums."""
INVERSION_GRID: dict[str, tuple] = {
    "batch_size": (1, 2, 4),
    "num_clients": (1, 2, 5, 10, 20),
    "noise_multiplier": (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
}
"""The settings of notebook 06's inversion explorer (each computed on first use, then cached)."""
INVERSION_SETTING: dict[str, float] = {"clip": 1.0, "delta": 1e-5, "steps": 300, "lr": 0.1}
"""The fixed part of an inversion point: clip norm, delta of the epsilon, and the attack's Adam steps and rate."""
SUCCESS_MSE = 0.01
"""A reconstruction with mean squared error (per pixel, pixels in [0, 1]) below this is a recovered digit."""
FAILURE_MSE = 0.03
"""A reconstruction with mean squared error above this is not recovered (the mean digit scores about 0.07)."""


# ---------------------------------------------------------------------------------------------------------
# Softmax regression: exact inversion
# ---------------------------------------------------------------------------------------------------------

def invert_softmax_gradient(grad_w: np.ndarray, grad_b: np.ndarray) -> np.ndarray:
    """The input row behind one example's softmax-regression gradient.

    For ``logits = x @ W + b`` and cross-entropy, one example gives ``grad_w = outer(x, p - y)``
    (``[features, classes]``, the layout of :func:`labkit.fl.loss_and_gradients`) and
    ``grad_b = p - y``. Every column of ``grad_w`` is ``x`` times one entry of ``grad_b``, so
    ``x = grad_w[:, c] / grad_b[c]``; the class with the largest ``|grad_b[c]|`` is used (the
    most stable division). For a batch of B examples (mean gradient) the same formula returns
    ``sum_i a_i x_i`` with ``a_i = (p_i - y_i)[c] / sum_j (p_j - y_j)[c]``: a weighted mix of
    the batch, not one example.

    Args:
        grad_w: the gradient of the weights, shape ``[features, classes]``.
        grad_b: the gradient of the bias, shape ``[classes]``.

    Returns:
        The reconstructed input, shape ``[features]`` (float64).

    Raises:
        ValueError: for shapes that do not match, non-finite entries, or a bias gradient that is
            all zero (the model already predicts the label with certainty: nothing to divide by).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    gw = v.finite_array("grad_w", grad_w, ndim=2)
    gb = v.finite_array("grad_b", grad_b, ndim=1)
    if gb.shape[0] != gw.shape[1]:
        raise ValueError(f"grad_b must have one entry per column of grad_w ({gw.shape[1]}); got shape {gb.shape}")
    c = int(np.argmax(np.abs(gb)))
    if gb[c] == 0:
        raise ValueError("grad_b must have a nonzero entry (an all-zero bias gradient reveals nothing); got all zeros")
    return gw[:, c] / gb[c]


# ---------------------------------------------------------------------------------------------------------
# The MLP and its gradient (TensorFlow)
# ---------------------------------------------------------------------------------------------------------

def init_mlp(rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """Random weights ``[W1, b1, W2, b2]`` of the 64-32-10 sigmoid MLP (:data:`MLP_SIZES`), float32.

    ``W ~ N(0, 1 / fan_in)``, biases zero: a model at initialisation, where DLG works best.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    rng = v.generator(rng)
    weights = []
    for fan_in, fan_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        weights.append((rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)).astype(np.float32))
        weights.append(np.zeros(fan_out, dtype=np.float32))
    return weights


def _mlp_arrays(name: str, arrays, source: str) -> list[np.ndarray]:
    """``arrays`` as float32 arrays of the MLP's layer shapes (weights or their gradient), or a clear error."""
    shapes = [(a, b) if i % 2 == 0 else (b,) for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:]) for i in range(2)]
    if arrays is None or isinstance(arrays, (str, bytes, np.ndarray)) or v.is_real(arrays) or \
            not hasattr(arrays, "__len__") or len(arrays) != len(shapes):
        raise TypeError(f"{name} must be {len(shapes)} arrays of shapes {shapes} ({source}); got {arrays!r}"[:200])
    out = []
    for i, (a, shape) in enumerate(zip(arrays, shapes)):
        arr = v.finite_array(f"{name}[{i}]", a, dtype=np.float32)
        if arr.shape != shape:
            raise ValueError(f"{name}[{i}] must have shape {shape}; got {arr.shape}")
        out.append(arr)
    return out


def _check_mlp(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    return _mlp_arrays("weights", weights, "init_mlp")


def _check_batch(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = v.finite_array("x", x, ndim=2, dtype=np.float32)
    if x.shape[1] != MLP_SIZES[0]:
        raise ValueError(f"x must have {MLP_SIZES[0]} columns (8x8 digits); got shape {x.shape}")
    if x.shape[0] > MAX_BATCH:
        raise ValueError(f"x must hold at most {MAX_BATCH} rows; got {x.shape[0]}")
    y = _check_labels("y", y, x.shape[0])
    return x, y


def _check_labels(name: str, y, n: int) -> np.ndarray:
    if y is None or isinstance(y, (str, bytes)) or v.is_real(y):
        raise TypeError(f"{name} must be an array of integer labels; got {y!r}"[:200])
    arr = v.number_array(name, y, dtype=None, what="an array of integer labels")
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name} must hold {n} labels (one per example); got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_):
        raise TypeError(f"{name} must hold integer labels; got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= MLP_SIZES[-1]):
        raise ValueError(f"{name} must hold labels in [0, {MLP_SIZES[-1] - 1}]; got {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def _forward(tf, weights, x):
    hidden = tf.sigmoid(tf.matmul(x, weights[0]) + weights[1])
    return tf.matmul(hidden, weights[2]) + weights[3]


def _tf_gradients(tf, weights, x, onehot):
    with tf.GradientTape() as tape:
        tape.watch(weights)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(onehot, _forward(tf, weights, x)))
    return tape.gradient(loss, weights)


def mlp_gradients(weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The gradient of the MLP's mean cross-entropy on a batch, ``[dW1, db1, dW2, db2]`` (TensorFlow).

    This is the FedSGD update a client with this batch sends (before the learning rate).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    weights = _check_mlp(weights)
    x, y = _check_batch(x, y)
    if len(y) == 0:
        raise ValueError("x must hold at least one example; got 0 rows")
    import tensorflow as tf

    grads = _tf_gradients(tf, [tf.constant(w) for w in weights], tf.constant(x), tf.one_hot(y, MLP_SIZES[-1]))
    return [g.numpy() for g in grads]


def _check_gradient(gradient) -> list[np.ndarray]:
    out = _mlp_arrays("gradient", gradient, "mlp_gradients")
    if not any(np.any(a) for a in out):
        raise ValueError("gradient must not be all zeros (there is nothing to match)")
    return out


# ---------------------------------------------------------------------------------------------------------
# DLG
# ---------------------------------------------------------------------------------------------------------

def infer_labels(grad_b: np.ndarray, batch_size: int) -> np.ndarray:
    """The labels of a batch read off the gradient of the last layer's bias (iDLG).

    With cross-entropy, ``grad_b = mean_i (p_i - y_i)``: the entry of a class in the batch is
    pulled down by ``1 / B`` per example of that class, while the softmax part is positive. So the
    ``batch_size`` most negative entries name the labels, exactly for one example (Zhao, Mopuri and
    Bilen 2020, section 3) and usually for a small batch of distinct labels (a label that repeats is
    returned once, and another class fills its place).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    gb = v.finite_array("grad_b", grad_b, ndim=1)
    batch_size = v.count("batch_size", batch_size, maximum=len(gb))
    return np.sort(np.argsort(gb, kind="stable")[:batch_size]).astype(np.int64)


@functools.lru_cache(maxsize=None)
def _dlg_chunk():
    """The compiled inner loop: ``n`` Adam steps on the cosine distance between gradients.

    Built once per process; dropped at exit, before TensorFlow's own teardown (a compiled function
    that outlives it prints an "Exception ignored" message).
    """
    import atexit

    import tensorflow as tf

    atexit.register(_dlg_chunk.cache_clear)

    @tf.function(reduce_retracing=True)
    def chunk(x, m, s, done, target, weights, onehot, n, lr):
        target_norm = tf.sqrt(tf.add_n([tf.reduce_sum(g * g) for g in target]))

        def distance(x):
            grads = _tf_gradients(tf, weights, x, onehot)
            dot = tf.add_n([tf.reduce_sum(a * b) for a, b in zip(grads, target)])
            norm = tf.sqrt(tf.add_n([tf.reduce_sum(a * a) for a in grads]))
            return 1.0 - dot / (norm * target_norm + 1e-12)

        def body(i, x, m, s, _):
            with tf.GradientTape() as tape:
                tape.watch(x)
                d = distance(x)
            g = tape.gradient(d, x)
            m = 0.9 * m + 0.1 * g
            s = 0.999 * s + 0.001 * g * g
            t = tf.cast(done + i + 1, tf.float32)
            x = x - lr * (m / (1.0 - 0.9 ** t)) / (tf.sqrt(s / (1.0 - 0.999 ** t)) + 1e-8)
            return i + 1, x, m, s, d

        _, x, m, s, _ = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), x, m, s, tf.constant(0.0)))
        return x, m, s, distance(x)

    return chunk


@dataclass(frozen=True)
class DLGResult:
    """What :func:`dlg_attack` returns.

    Attributes:
        images: the reconstructed inputs, ``[batch_size, 64]``, clipped to the pixel range [0, 1].
        labels: the labels used (given, or inferred with :func:`infer_labels`).
        distance: the cosine distance between the dummy and the observed gradient after each chunk
            of steps (0 = the same direction).
    """

    images: np.ndarray
    labels: np.ndarray
    distance: np.ndarray


def dlg_attack(gradient: Sequence[np.ndarray], weights: Sequence[np.ndarray], batch_size: int,
               labels: np.ndarray | None = None, *, steps: int = 300, lr: float = 0.1,
               rng: np.random.Generator | int | None = None,
               progress: Callable[[int, int], None] | bool | None = None) -> DLGResult:
    """Deep leakage from gradients: reconstruct a batch from the gradient it produced.

    Starts from ``batch_size`` random images (uniform in [0, 1], drawn from ``rng``) and runs
    ``steps`` steps of Adam (rate ``lr``) on ``1 - cos(g(dummy), gradient)``, the cosine distance
    between the dummies' gradient on the same MLP and the observed one (Zhu, Liu and Han 2019,
    Algorithm 1, with the cosine distance of Geiping et al. 2020, which ignores the update's scale:
    a clipped or summed update has the same direction). ``labels`` None infers them from the last
    bias's gradient (:func:`infer_labels`).

    Args:
        gradient: the observed update ``[dW1, db1, dW2, db2]`` (:func:`mlp_gradients`,
            :func:`observed_gradient`).
        weights: the model the gradient was computed on (:func:`init_mlp`): the server knows it.
        batch_size: how many examples to reconstruct.
        labels: their labels, or None to infer them.
        steps: Adam steps (run in chunks of 50; at most :data:`MAX_DLG_STEPS`).
        lr: Adam's step size.
        rng: draws the starting images (a seed for a reproducible demonstration).
        progress: called as ``progress(steps_done, steps)`` after each chunk; True shows a tqdm bar.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    gradient = _check_gradient(gradient)
    weights = _check_mlp(weights)
    batch_size = v.count("batch_size", batch_size, maximum=MAX_BATCH)
    if labels is None:
        labels = infer_labels(gradient[-1], min(batch_size, MLP_SIZES[-1]))
        labels = np.resize(labels, batch_size)
    else:
        labels = _check_labels("labels", labels, batch_size)
    steps = v.count("steps", steps, maximum=MAX_DLG_STEPS)
    lr = v.positive("lr", lr)
    if lr > 10:
        raise ValueError(f"lr must be a positive step size of at most 10 (pixels live in [0, 1]); got {lr!r}")
    rng = v.generator(rng)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=tr("DLG steps"), leave=False)
        progress = lambda done, total: bar.update(done - bar.n)  # noqa: E731
    elif progress is not None and progress is not False and not callable(progress):
        raise TypeError(f"progress must be a callable progress(done, steps), True, False or None; got {progress!r}"[:200])
    import tensorflow as tf

    chunk = _dlg_chunk()
    x = tf.constant(rng.uniform(0.0, 1.0, (batch_size, MLP_SIZES[0])).astype(np.float32))
    m, s = tf.zeros_like(x), tf.zeros_like(x)
    target = [tf.constant(g) for g in gradient]
    model = [tf.constant(w) for w in weights]
    onehot = tf.one_hot(labels, MLP_SIZES[-1])
    done, distances = 0, []
    try:
        while done < steps:
            n = min(50, steps - done)
            x, m, s, d = chunk(x, m, s, tf.constant(done), target, model, onehot, tf.constant(n),
                               tf.constant(lr, tf.float32))
            done += n
            distances.append(float(d))
            if callable(progress):
                progress(done, steps)
    finally:
        if bar is not None:
            bar.close()
    return DLGResult(np.clip(x.numpy(), 0.0, 1.0), labels, np.array(distances))


def reconstruction_error(reconstructed: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """Mean squared error per pixel of each original against its reconstruction, best matching first.

    DLG returns the batch in any order, so each original is paired with one reconstruction by the
    assignment that minimises the total error (``scipy.optimize.linear_sum_assignment``).

    Returns:
        One error per original, in the originals' order.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    rec, rows, cols, cost = _match(reconstructed, originals)
    out = np.empty(len(rows))
    out[rows] = cost[rows, cols]
    return out


def matched_reconstructions(reconstructed: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """The reconstructions reordered to line up with ``originals`` (the pairing of :func:`reconstruction_error`).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    rec, rows, cols, _ = _match(reconstructed, originals)
    out = np.empty_like(rec)
    out[rows] = rec[cols]
    return out


def _match(reconstructed: np.ndarray, originals: np.ndarray):
    """The checked reconstructions and the pairing with the originals that minimises the total per-pixel MSE."""
    rec = v.finite_array("reconstructed", reconstructed, ndim=2)
    orig = v.finite_array("originals", originals, ndim=2)
    if rec.shape != orig.shape:
        raise ValueError(f"reconstructed must have the shape of originals {orig.shape}; got {rec.shape}")
    from scipy.optimize import linear_sum_assignment

    cost = np.mean((orig[:, None, :] - rec[None, :, :]) ** 2, axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return rec, rows, cols, cost


# ---------------------------------------------------------------------------------------------------------
# What the attacker observes
# ---------------------------------------------------------------------------------------------------------

def observed_gradient(weights: Sequence[np.ndarray], batches: Sequence[tuple[np.ndarray, np.ndarray]], *,
                      clip: float = 1.0, noise_multiplier: float = 0.0,
                      rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """The update an attacker sees when the clients in ``batches`` send their gradients.

    Each client computes :func:`mlp_gradients` on its ``(x, y)`` batch. With one client and no noise
    that is its plain update (FedSGD). With several, the attacker sees only their sum (secure
    aggregation). With ``noise_multiplier`` z > 0, each client's gradient is first clipped to L2 norm
    ``clip`` (:func:`labkit.fl.clip_update`) and Gaussian noise of standard deviation ``z * clip`` is
    added to the sum (DP-FedAvg's noisy sum, McMahan et al. 2018, Algorithm 1). z = 0 is no
    clipping and no noise.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    from labkit.fl.dp_fedavg import clip_update

    weights = _check_mlp(weights)
    if batches is None or isinstance(batches, (str, bytes, np.ndarray)) or not hasattr(batches, "__len__"):
        raise TypeError(f"batches must be a list of (x, y) pairs, one per client; got {batches!r}"[:200])
    v.count("len(batches)", len(batches), maximum=MAX_CLIENTS)
    clip = v.positive("clip", clip)
    if clip > 1e6:
        raise ValueError(f"clip must be a positive L2 norm of at most 1e6; got {clip!r}")
    z = v.nonnegative("noise_multiplier", noise_multiplier)
    if z > 1e6:
        raise ValueError(f"noise_multiplier must be at most 1e6; got {z!r}")
    rng = v.generator(rng)
    total = [np.zeros_like(w) for w in weights]
    for k, pair in enumerate(batches):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"batches[{k}] must be an (x, y) pair; got {pair!r}"[:200])
        g = mlp_gradients(weights, pair[0], pair[1])
        if z > 0:
            g = clip_update(g, clip)
        total = [a + b for a, b in zip(total, g)]
    if z > 0:
        total = [(a + rng.normal(0.0, z * clip, a.shape)).astype(np.float32) for a in total]
    return total


# ---------------------------------------------------------------------------------------------------------
# The explorer's compute function
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InversionPoint:
    """One setting of the inversion explorer and what the attack achieves there.

    Attributes:
        batch_size, num_clients, noise_multiplier: the setting.
        originals: the target client's batch, ``[batch_size, 64]``.
        labels: its labels (given to the attacker: the strongest attacker).
        reconstructed: DLG's reconstructions, lined up with ``originals``.
        errors: the per-pixel MSE of each reconstruction (:func:`reconstruction_error`).
        baseline: the MSE of the mean training digit against the same originals (a guess
            that uses no update at all).
        epsilon: the epsilon of this round for one client, at ``delta`` (``inf`` without noise).
        delta: the delta of ``epsilon``.
    """

    batch_size: int
    num_clients: int
    noise_multiplier: float
    originals: np.ndarray
    labels: np.ndarray
    reconstructed: np.ndarray
    errors: np.ndarray
    baseline: float
    epsilon: float
    delta: float

    @property
    def error(self) -> float:
        """The mean of :attr:`errors`."""
        return float(np.mean(self.errors))


def round_epsilon(noise_multiplier: float, delta: float = 1e-5) -> float:
    """The epsilon one round of DP-FedAvg buys a client, at noise multiplier z and ``delta``.

    The server releases one Gaussian sum of clipped updates (sensitivity = the clip norm, noise
    ``z * clip``), so the exact Gaussian-mechanism epsilon applies (Balle and Wang 2018,
    :func:`labkit.dp.gaussian_epsilon`). No noise (z = 0) is ``inf``: no guarantee.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    from labkit.dp import gaussian_epsilon

    z = v.nonnegative("noise_multiplier", noise_multiplier)
    delta = v.probability("delta", delta)
    if z == 0:
        return math.inf
    try:
        return gaussian_epsilon(z, delta)
    except ValueError:  # epsilon above 1e6: as good as none
        return math.inf


def _target_batches(batch_size: int, num_clients: int, seed: int):
    """The target client's batch (distinct labels) and the other clients' batches, from digits' training set."""
    from labkit import data

    digits = data.load("digits")
    x, y = digits.x_train, digits.y_train
    rng = np.random.default_rng(seed)
    classes = rng.choice(MLP_SIZES[-1], batch_size, replace=False)
    target = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
    rest = rng.choice(np.setdiff1d(np.arange(len(y)), target), batch_size * (num_clients - 1), replace=False)
    batches = [(x[target], y[target])]
    batches += [(x[rest[k * batch_size:(k + 1) * batch_size]], y[rest[k * batch_size:(k + 1) * batch_size]])
                for k in range(num_clients - 1)]
    return batches, x.mean(axis=0)


@functools.lru_cache(maxsize=512)
def _inversion_point(batch_size: int, num_clients: int, noise_multiplier: float, seed: int) -> InversionPoint:
    s = INVERSION_SETTING
    batches, mean_digit = _target_batches(batch_size, num_clients, seed)
    weights = init_mlp(np.random.default_rng(seed))
    grad = observed_gradient(weights, batches, clip=s["clip"], noise_multiplier=noise_multiplier,
                             rng=np.random.default_rng(seed + 1))
    x, y = batches[0]
    result = dlg_attack(grad, weights, batch_size, y, steps=int(s["steps"]), lr=s["lr"],
                        rng=np.random.default_rng(seed + 2))
    errors = reconstruction_error(result.images, x)
    baseline = float(np.mean((x - mean_digit) ** 2))
    out = InversionPoint(batch_size, num_clients, noise_multiplier, x.copy(), y.copy(),
                         matched_reconstructions(result.images, x), errors, baseline,
                         round_epsilon(noise_multiplier, s["delta"]), s["delta"])
    for a in (out.originals, out.labels, out.reconstructed, out.errors):
        a.setflags(write=False)  # cached: shared between callers
    return out


def inversion_point(batch_size: int = 2, num_clients: int = 1, noise_multiplier: float = 0.0,
                    seed: int = 0) -> InversionPoint:
    """Run the DLG attack at one setting of notebook 06's inversion explorer (cached).

    The target client holds ``batch_size`` digits of distinct classes (drawn with ``seed``); the
    other ``num_clients - 1`` clients hold as many random digits each. The attacker sees
    :func:`observed_gradient` of all of them on a fresh MLP (:func:`init_mlp`, seeded) with clip
    norm 1 and noise multiplier ``noise_multiplier`` (:data:`INVERSION_SETTING`), is given the
    target's labels, and runs :func:`dlg_attack` for ``batch_size`` images (300 Adam steps, about
    0.1 s). The epsilon is :func:`round_epsilon` at delta = 1e-5. Any setting works; the explorer's
    sliders offer :data:`INVERSION_GRID`.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    batch_size = v.count("batch_size", batch_size, maximum=MLP_SIZES[-1])
    num_clients = v.count("num_clients", num_clients, maximum=100)
    z = v.nonnegative("noise_multiplier", noise_multiplier)
    if z > 1e6:
        raise ValueError(f"noise_multiplier must be at most 1e6; got {z!r}")
    seed = v.integer("seed", seed, minimum=0, maximum=2**32 - 1)
    return _inversion_point(batch_size, num_clients, float(z), seed)
