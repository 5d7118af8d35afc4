"""DP-SGD: per-example clipping and Gaussian noise, a fast trainer for MLPs and small CNNs, tensorflow-privacy guards.

Introduced in ``04-dp-sgd.ipynb``; the trainer is reused by ``05-auditing.ipynb`` for its target
and shadow models.

What is here:

* The DP-SGD step written out (Abadi et al. 2016, Algorithm 1): :func:`per_example_gradients`,
  :func:`clip_and_sum`, :func:`add_gaussian_noise`, :func:`noisy_gradient` (stages 2 to 4 in NumPy)
  and :func:`dpsgd_step`, which materialise one gradient per example so that each stage can be looked at.
* A fast trainer, :func:`train_dpsgd`, for models made of ``Dense`` layers, and for small CNNs
  (``Reshape``, ``Conv2D``, pooling, ``Flatten``, ``Dense``; :func:`make_cnn`, :func:`trainer_layers`).
  It never builds per-example gradients of Dense layers: for a Dense layer ``z = a W + b`` the gradient of example ``i`` with
  respect to ``W`` is the outer product ``a_i g_i^T`` (``g_i`` = gradient of the loss at ``z_i``),
  whose Frobenius norm is ``||a_i|| * ||g_i||``. The per-example norms ("ghost norms", Goodfellow
  2015; Li et al. 2022, section 4) follow from quantities that ordinary backpropagation computes,
  and the clipped sum is ``A^T (c * G)`` with one clip factor ``c_i`` per row. Its schedule (the
  Poisson rate and the number of steps) comes from a public ``num_examples``, by default ``len(x)``.
  For a Conv2D layer the norm no longer factorises; it is computed exactly either as a ghost norm
  (Lee and Kifer 2021; Bu et al. 2022: ``sum_{p,q} (a_p . a_q)(g_p . g_q)`` over output positions)
  or from im2col per-example kernel gradients, whichever suits the layer (:func:`ghost_clipped_sum`).
  Without clipping, a step is ordinary backpropagation, the honest baseline for DP-SGD's cost.
* :func:`cnn_sweep` / :func:`load_cnn_sweep`: the CNN and an MLP on MNIST-28 at a few epsilons
  (``data/sweeps/dpsgd_cnn.npz``).
* :func:`check_microbatches` and :func:`fit_tf_privacy`: tensorflow-privacy's optimizers reshape
  each batch into ``num_microbatches`` groups and fail deep inside Keras when that is impossible
  (the last, shorter batch included); labkit says so in one sentence instead.
  :func:`fit_tf_privacy` builds ``DPSequential`` with its layer registry, so it really uses fast
  clipping, and without XLA, so its noise follows the seed.
* Noise and batches come from OS entropy unless a seed (or ``rng``) is passed. The notebooks pass
  seeds so that their outputs are reproducible; a published seed gives no privacy.
* :func:`source_document_noise` and :func:`train_on_noisy_inputs`: the source document's
  "add noise to the inputs once, then train normally" code, reproduced so that the notebook can
  show why it is not DP-SGD.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit.dp.accounting import MAX_STEPS, dpsgd_epsilon, dpsgd_noise_multiplier, dpsgd_steps, poisson_gaussian_epsilon

SAMPLING: tuple[str, ...] = ("poisson", "shuffle")
TF_PRIVACY_OPTIMIZERS: tuple[str, ...] = ("DPKerasSGDOptimizer", "DPSequential")


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _features_labels(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    if x is None or isinstance(x, (str, bytes)) or np.ndim(x) != 2:
        raise ValueError(f"x must be a 2-D array (examples x features); got {v._got(x) if np.ndim(x) == 0 else f'shape {np.shape(x)}'}")
    x = v.finite_array("x", x, ndim=2, dtype=np.float32)
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be a 1-D array of integer class labels; got {v._got(y)}")
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must be a 1-D array with one label per row of x ({len(x)}); got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels; got dtype {y.dtype}")
    return x, y.astype(np.int64)


def _at_most_1e6(name: str, value: float) -> float:
    """TensorFlow trains in float32: hyperparameters above 10^6 overflow it (and no sensible run needs them)."""
    if value > 1e6:
        raise ValueError(f"{name} must be at most 1e6 (TensorFlow trains in float32); got {value:g}")
    return value


def _keras_model(model: Any) -> None:
    import tensorflow as tf

    if not isinstance(model, tf.keras.Model):
        raise TypeError(f"model must be a tf.keras model that outputs logits; got {v._got(model)} ({type(model).__name__})")


def _check_labels(y: np.ndarray, model: Any) -> None:
    """Labels must index the model's logits (TensorFlow fails deep inside otherwise)."""
    try:
        k = int(model.output_shape[-1])
    except (AttributeError, TypeError, IndexError):
        return
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"y must hold class labels from 0 to {k - 1} (the model has {k} logits); "
                         f"got labels from {int(y.min())} to {int(y.max())}")


def _gradient_arrays(name: str, arrays: Any, *, leading: int | None = None) -> list[np.ndarray]:
    """A non-empty sequence of finite float arrays (one per variable), all with ``leading`` rows if given."""
    if isinstance(arrays, np.ndarray) and arrays.ndim > 0:
        arrays = [arrays]
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{name} must be a sequence of arrays (one per trainable variable); got {v._got(arrays)}")
    out = [v.finite_array(f"{name}[{i}]", a, allow_empty=True) for i, a in enumerate(arrays)]
    if not out:
        raise ValueError(f"{name} must hold at least one gradient array; got an empty sequence")
    if leading is not None:
        for i, a in enumerate(out):
            if a.ndim == 0 or len(a) != leading:
                raise ValueError(f"{name} must hold arrays with one row per example ({leading}); "
                                 f"{name}[{i}] has shape {a.shape}")
    return out


def dense_layers(model: Any) -> list:
    """The Dense layers of ``model``, after checking that the fast trainer can handle it.

    Raises:
        TypeError: if ``model`` is not a Keras model, or has a layer other than ``Dense``
            (``InputLayer`` is allowed), or its last layer is not linear (it must output logits).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    if not isinstance(model, tf.keras.Model):
        raise TypeError(f"model must be a tf.keras model made of Dense layers; got {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    others = [type(layer).__name__ for layer in layers if type(layer) is not tf.keras.layers.Dense]
    if others or not layers:
        raise TypeError(
            "model must be made of Dense layers only (the ghost-norm trainer knows how to compute their "
            f"per-example gradient norms); got {', '.join(others) or 'no layers'}. Use dpsgd_step for other layers."
        )
    if layers[-1].activation is not tf.keras.activations.linear:
        raise TypeError(
            f"model's last layer must be linear (it outputs logits); got activation "
            f"{layers[-1].activation.__name__!r}"
        )
    if not model.built:
        raise TypeError("model must be built (give it an input shape, e.g. with labkit.dp.dpsgd.make_mlp)")
    return layers


TRAINER_LAYERS: tuple[str, ...] = ("Reshape", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten", "Dense")


def _has_weights(layer: Any) -> bool:
    import tensorflow as tf

    return type(layer) in (tf.keras.layers.Dense, tf.keras.layers.Conv2D)


def trainer_layers(model: Any) -> list:
    """The layers of ``model`` (without ``InputLayer``), after checking that :func:`train_dpsgd` can handle it.

    Dense-only models get exactly the checks of :func:`dense_layers`. Otherwise the model may
    hold ``Reshape``, ``Conv2D`` (channels last, no dilation, no groups), ``MaxPooling2D``,
    ``AveragePooling2D``, ``Flatten`` and ``Dense`` layers (Dense on 2-D inputs), with
    activations inside the layers, and must take 2-D ``(examples, features)`` inputs.

    Raises:
        TypeError: naming the layers or settings the trainer cannot handle.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    if not isinstance(model, tf.keras.Model):
        raise TypeError(f"model must be a tf.keras model made of {', '.join(TRAINER_LAYERS)} layers; "
                        f"got {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, tf.keras.layers.InputLayer)]
    if layers and all(type(layer) is tf.keras.layers.Dense for layer in layers):
        return dense_layers(model)
    allowed = {getattr(tf.keras.layers, name) for name in TRAINER_LAYERS}
    others = [type(layer).__name__ for layer in layers if type(layer) not in allowed]
    if others or not layers:
        raise TypeError(
            "model must be made of Dense layers only, or of Reshape, Conv2D, MaxPooling2D, AveragePooling2D, "
            "Flatten and Dense layers (the ghost-norm trainer knows how to compute their per-example gradient "
            f"norms); got {', '.join(others) or 'no layers'}. Use dpsgd_step for other layers."
        )
    if not model.built:
        raise TypeError("model must be built (give it an input shape, e.g. with labkit.dp.dpsgd.make_cnn)")
    if len(model.input_shape) != 2:
        raise TypeError(f"model must take 2-D inputs (examples x features; start with a Reshape layer); "
                        f"got input shape {model.input_shape}")
    for layer in layers:
        if type(layer) is tf.keras.layers.Conv2D and (
                layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1)
                or getattr(layer, "groups", 1) != 1 or layer.padding not in ("same", "valid")):
            raise TypeError(f"model's Conv2D layer {layer.name!r} must be channels_last, without dilation or "
                            f"groups, with 'same' or 'valid' padding")
        if type(layer) in (tf.keras.layers.MaxPooling2D, tf.keras.layers.AveragePooling2D) and \
                layer.data_format != "channels_last":
            raise TypeError(f"model's pooling layer {layer.name!r} must be channels_last")
        if type(layer) is tf.keras.layers.Dense and len(layer.input_shape) != 2:
            raise TypeError(f"model's Dense layer {layer.name!r} must take 2-D inputs (put a Flatten before it); "
                            f"got input shape {layer.input_shape}")
    if type(layers[-1]) is not tf.keras.layers.Dense or layers[-1].activation is not tf.keras.activations.linear:
        raise TypeError("model's last layer must be a linear Dense layer (it outputs logits); got "
                        f"{type(layers[-1]).__name__} with activation "
                        f"{getattr(getattr(layers[-1], 'activation', None), '__name__', None)!r}")
    return layers


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


MAX_UNITS = 100_000  # widths, features and classes of make_mlp's models (bigger ones do not fit in memory)


def make_mlp(num_features: int, num_classes: int, hidden: Sequence[int] = (256, 256), *, seed: int = 0):
    """A Keras MLP: ``hidden`` ReLU Dense layers, then a linear Dense layer with ``num_classes`` logits.

    The weights are a pure function of ``seed`` (Glorot-uniform kernels, zero biases).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    num_features = v.count("num_features", num_features, maximum=MAX_UNITS)
    num_classes = v.count("num_classes", num_classes, minimum=2, maximum=MAX_UNITS)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (Sequence, np.ndarray)):
        raise TypeError(f"hidden must be a sequence of layer widths, e.g. (256, 256) or () for none; got {v._got(hidden)}")
    if len(hidden) > 100:
        raise ValueError(f"hidden must hold at most 100 layer widths; got {len(hidden)}")
    sizes = [v.count("hidden", h, maximum=MAX_UNITS) for h in hidden]
    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)
    layers = [tf.keras.Input(shape=(num_features,))]
    layers += [tf.keras.layers.Dense(h, activation="relu") for h in sizes]
    layers.append(tf.keras.layers.Dense(num_classes))
    model = tf.keras.Sequential(layers)
    reinitialize(model, seed)
    return model


def reinitialize(model: Any, seed: int) -> Any:
    """Give a model the trainer handles the initial weights :func:`make_mlp` / :func:`make_cnn` give for ``seed`` (in place).

    Glorot-uniform kernels (seeded per Dense or Conv2D layer, in order; the last layer's seed offset
    is 999), zero biases. Reusing one model object for many training runs (the shadow models of
    ``05-auditing.ipynb``) saves TensorFlow's tracing time.

    Introduced in ``05-auditing.ipynb``.
    """
    import tensorflow as tf

    layers = [layer for layer in trainer_layers(model) if _has_weights(layer)]
    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)
    for i, layer in enumerate(layers):
        offset = 999 if i == len(layers) - 1 else i
        init = tf.keras.initializers.GlorotUniform(seed=int(seed) * 1000 + offset)
        layer.kernel.assign(init(layer.kernel.shape))
        if layer.use_bias:
            layer.bias.assign(tf.zeros_like(layer.bias))
    return model


def make_cnn(num_classes: int = 10, *, seed: int = 0):
    """The small CNN of tensorflow-privacy's MNIST tutorial, taking flat ``(n, 784)`` rows of 28x28 images.

    ``Reshape((28, 28, 1))``, Conv2D 16 filters 8x8 stride 2 SAME + ReLU, MaxPooling 2x2 stride 1,
    Conv2D 32 filters 4x4 stride 2 VALID + ReLU, MaxPooling 2x2 stride 1, Flatten, Dense 32 + ReLU,
    Dense ``num_classes`` (logits): 26,010 parameters for 10 classes. It is the model of
    tensorflow-privacy's MNIST DP-SGD tutorial, small enough to train on two CPU cores in
    seconds. The weights are a pure function of ``seed`` (:func:`reinitialize`).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    num_classes = v.count("num_classes", num_classes, minimum=2, maximum=MAX_UNITS)
    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28 * 28,)),
        tf.keras.layers.Reshape((28, 28, 1)),
        tf.keras.layers.Conv2D(16, 8, strides=2, padding="same", activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 1),
        tf.keras.layers.Conv2D(32, 4, strides=2, padding="valid", activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 1),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(32, activation="relu"),
        tf.keras.layers.Dense(num_classes),
    ])
    reinitialize(model, seed)
    return model


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Share of rows of ``x`` whose largest logit is the label ``y``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    _keras_model(model)
    x, y = _features_labels(x, y)
    logits = predict_logits(model, x)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def predict_logits(model: Any, x: np.ndarray) -> np.ndarray:
    """The model's logits for ``x`` as a float64 NumPy array (no Keras progress output).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    _keras_model(model)
    if x is None or isinstance(x, (str, bytes)) or np.ndim(x) != 2:
        raise ValueError(f"x must be a 2-D array (examples x features); got {v._got(x)}")
    x = v.finite_array("x", x, ndim=2, dtype=np.float32)
    return np.asarray(model(tf.constant(x), training=False), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# DP-SGD written out, one stage at a time
# --------------------------------------------------------------------------------------------


def per_example_gradients(model: Any, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """One gradient per example of the cross-entropy loss, for every trainable variable.

    This is the direct, memory-hungry way: the result holds ``len(x)`` copies of the model's
    parameters. Works for any Keras model that outputs logits.

    Returns:
        One array per trainable variable, shaped ``(len(x), *variable.shape)``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    _keras_model(model)
    x, y = _features_labels(x, y)
    _check_labels(y, model)
    xs, ys = tf.constant(x), tf.constant(y)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ys, logits=model(xs, training=True))
    jac = tape.jacobian(losses, variables)
    return [np.asarray(j, dtype=np.float64) for j in jac]


def clip_and_sum(per_example: Sequence[np.ndarray], l2_norm_clip: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Clip each example's whole gradient (all variables together) to L2 norm ``l2_norm_clip``, then sum.

    Example ``i`` is scaled by ``min(1, C / ||g_i||)`` where ``||g_i||`` is the norm of all its
    variables' gradients concatenated, so no example contributes more than ``C`` to the sum.

    Returns:
        ``(summed, norms)``: one summed array per variable, and the per-example norms before clipping.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    if isinstance(per_example, (list, tuple)) and not per_example:
        raise ValueError("per_example must hold at least one gradient array; got an empty sequence")
    first = _gradient_arrays("per_example", per_example)[0]
    if first.ndim == 0 or len(first) == 0:
        raise ValueError(f"per_example must hold arrays shaped (examples, ...) with at least one example; "
                         f"per_example[0] has shape {first.shape}")
    per_example = _gradient_arrays("per_example", per_example, leading=len(first))
    n = len(per_example[0])
    sq = np.zeros(n)
    for g in per_example:
        sq += np.sum(np.reshape(g, (n, -1)).astype(np.float64) ** 2, axis=1)
    norms = np.sqrt(sq)
    factors = np.minimum(1.0, clip / np.maximum(norms, 1e-12))
    summed = [np.tensordot(factors, np.asarray(g, dtype=np.float64), axes=1) for g in per_example]
    return summed, norms


def add_gaussian_noise(summed: Sequence[np.ndarray], l2_norm_clip: float, noise_multiplier: float,
                       rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """Add N(0, (noise_multiplier * l2_norm_clip)^2) independently to every coordinate of the clipped sum.

    The clipped sum changes by at most ``l2_norm_clip`` (L2) when one example is added or removed,
    so this is the Gaussian mechanism with that sensitivity. ``noise_multiplier = 0`` adds no noise
    (no privacy: epsilon is infinite); the noise's standard deviation must be a finite number.

    Args:
        rng: where the noise comes from. None (the default) seeds a fresh generator from OS
            entropy, as a private release needs. A seeded generator (or an integer seed) makes a run
            reproducible for teaching; anyone who knows the seed can subtract the noise, so it protects
            nothing.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    sigma = v.nonnegative("noise_multiplier", noise_multiplier)
    if not np.isfinite(sigma * clip):
        raise ValueError(f"noise_multiplier * l2_norm_clip must be a finite standard deviation; got {sigma:g} * {clip:g}")
    summed = _gradient_arrays("summed", summed)
    rng = v.generator(rng)
    return [s + rng.normal(0.0, sigma * clip, size=np.shape(s)) for s in summed]


def dpsgd_step(model: Any, x: np.ndarray, y: np.ndarray, *, l2_norm_clip: float, noise_multiplier: float,
               learning_rate: float, rng: np.random.Generator | int | None = None,
               expected_batch_size: int | None = None) -> np.ndarray:
    """One DP-SGD step written out: per-example gradients, clip, sum, add noise, average, update.

    The noisy sum is divided by ``expected_batch_size``, a public constant: with Poisson sampling
    the actual batch size is itself private, so pass q * n there. The default, ``len(x)``, is right
    only for a fixed-size batch. ``rng`` None draws
    the noise from OS entropy (see :func:`add_gaussian_noise`).

    Returns:
        The per-example gradient norms before clipping.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    rng = v.generator(rng)
    # The model's variables are float32: larger values overflow.
    _at_most_1e6("l2_norm_clip", v.positive("l2_norm_clip", l2_norm_clip))
    _at_most_1e6("noise_multiplier", v.nonnegative("noise_multiplier", noise_multiplier))
    lr = _at_most_1e6("learning_rate", v.positive("learning_rate", learning_rate))
    per_example = per_example_gradients(model, x, y)
    denom = len(per_example[0]) if expected_batch_size is None else v.count("expected_batch_size", expected_batch_size)
    grads, norms = _noisy_gradient(per_example, l2_norm_clip, noise_multiplier, denom, rng)
    for var, g in zip(model.trainable_variables, grads):
        var.assign_sub((lr * g).astype(np.float32))
    return norms


def _noisy_gradient(per_example: Sequence[np.ndarray], l2_norm_clip: float, noise_multiplier: float,
                    expected_batch_size: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Stages 2 to 4 of a DP-SGD step, and the per-example norms (shared by dpsgd_step and noisy_gradient)."""
    arrays = _gradient_arrays("per_example", per_example)
    if arrays[0].ndim == 0:
        raise ValueError("per_example must hold arrays shaped (examples, ...); per_example[0] is a scalar")
    arrays = _gradient_arrays("per_example", per_example, leading=len(arrays[0]))
    if len(arrays[0]):
        summed, norms = clip_and_sum(arrays, l2_norm_clip)
    else:  # an empty (Poisson) batch: the sum is zero, the noise is still added
        summed, norms = [np.zeros(a.shape[1:]) for a in arrays], np.zeros(0)
    noisy = add_gaussian_noise(summed, l2_norm_clip, noise_multiplier, rng)
    return [g / expected_batch_size for g in noisy], norms


def noisy_gradient(per_example: Sequence[np.ndarray] | np.ndarray, l2_norm_clip: float, noise_multiplier: float,
                   expected_batch_size: int, rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """The gradient a DP-SGD step descends: clip each example, sum, add Gaussian noise, divide by the expected batch.

    Stages 2 to 4 of :func:`dpsgd_step` in NumPy, which :func:`dpsgd_step` runs on the model's
    per-example gradients: example ``i``'s whole gradient is scaled by ``min(1, C / ||g_i||)``
    (:func:`clip_and_sum`), N(0, (noise_multiplier * C)^2) is added to every coordinate of the sum
    (:func:`add_gaussian_noise`, one ``rng.normal`` draw per variable, in order), and the noisy sum is
    divided by ``expected_batch_size``, a public constant: under Poisson sampling the actual number of
    rows is itself private. An empty batch (zero rows) gives the noise alone, divided the same way.

    Args:
        per_example: one array per variable, shaped ``(examples, ...)``; a bare array is one variable
            (for example a matrix with one flattened gradient per row).
        expected_batch_size: the public denominator (q * n under Poisson sampling).
        rng: where the noise comes from; None draws it from OS entropy (see :func:`add_gaussian_noise`).

    Returns:
        One averaged noisy gradient per variable, shaped like a variable (``per_example[i].shape[1:]``).

    Introduced in ``04-dp-sgd.ipynb`` (the reference of exercises 04.1 and 04.2).
    """
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    sigma = v.nonnegative("noise_multiplier", noise_multiplier)
    b = v.count("expected_batch_size", expected_batch_size)
    if isinstance(per_example, (list, tuple)) and not per_example:
        raise ValueError("per_example must hold at least one gradient array; got an empty sequence")
    return _noisy_gradient(per_example, clip, sigma, b, v.generator(rng))[0]


# --------------------------------------------------------------------------------------------
# The fast trainer: ghost norms for Dense layers
# --------------------------------------------------------------------------------------------


CONV_NORMS: tuple[str, ...] = ("auto", "ghost", "per_example")


# Per-example kernel gradients above this many floats per example (256 KB) make "auto" prefer ghost norms.
_PER_EXAMPLE_LIMIT = 1 << 16


def _conv_uses_ghost(positions: int, kernel_size: int, filters: int, conv_norms: str) -> bool:
    """Which exact norm a Conv2D layer gets (P output positions, K = kh * kw * Cin inputs per patch).

    Time, per example: the ghost norm costs P^2 (K + Cout) and its clipped sum one more filter
    backpropagation (P K Cout); the per-example gradient costs P K Cout and its clipped sum only a
    weighted sum of the per-example gradients (K Cout). So "auto" takes the per-example gradient,
    unless it is large (more than 2^16 floats per example) and the ghost norm needs less memory
    (Bu et al. 2022's rule, 2 P^2 < K Cout), as for wide layers late in deep networks.
    """
    if conv_norms != "auto":
        return conv_norms == "ghost"
    return kernel_size * filters > _PER_EXAMPLE_LIMIT and 2 * positions * positions < kernel_size * filters


def _conv_sq_norms(layer, a, g, conv_norms: str):
    """Squared per-example gradient norms of one Conv2D layer (kernel and bias), and its per-example kernel
    gradients when they were computed (else None).

    ``a``: the layer's input (B, H, W, Cin); ``g``: the loss gradient at its pre-activation output
    (B, Ho, Wo, Cout). With im2col patches ``A_i`` (P positions x K = kh*kw*Cin) and ``G_i`` (P x Cout),
    example i's kernel gradient is ``A_i^T G_i``. Its squared norm is either computed from it (cost
    P K Cout) or, without forming it, as ``sum_{p,q} (a_p . a_q)(g_p . g_q)`` (the ghost norm, cost
    P^2 (K + Cout)); the bias gradient is ``sum_p g_p``, whose squared norm is ``sum_{p,q} g_p . g_q``.
    """
    import tensorflow as tf

    kh, kw = layer.kernel_size
    sh, sw = layer.strides
    patches = tf.image.extract_patches(a, sizes=[1, kh, kw, 1], strides=[1, sh, sw, 1], rates=[1, 1, 1, 1],
                                       padding=layer.padding.upper())
    b = tf.shape(a)[0]
    positions = int(g.shape[1]) * int(g.shape[2])
    k, cout = kh * kw * int(a.shape[-1]), int(g.shape[-1])
    pa = tf.reshape(patches, [b, positions, k])
    pg = tf.reshape(g, [b, positions, cout])
    if _conv_uses_ghost(positions, k, cout, conv_norms):
        gg = tf.matmul(pg, pg, transpose_b=True)
        sq = tf.reduce_sum(tf.matmul(pa, pa, transpose_b=True) * gg, axis=[1, 2])
        if layer.use_bias:
            sq += tf.reduce_sum(gg, axis=[1, 2])
        return sq, None
    per_example = tf.einsum("bpk,bpc->bkc", pa, pg)
    sq = tf.reduce_sum(tf.square(per_example), axis=[1, 2])
    if layer.use_bias:
        sq += tf.reduce_sum(tf.square(tf.reduce_sum(pg, axis=1)), axis=1)
    return sq, per_example


def _ghost_graph(layers: list, x, y, l2_norm_clip, conv_norms: str = "auto"):
    """Clipped gradient sum and per-example norms for a model :func:`trainer_layers` accepts, inside TensorFlow.

    One forward and one backward pass to every parametrised layer's pre-activation output ``z``;
    the per-example norms follow from each layer's input ``a`` and ``dL/dz`` (Dense: ``||a_i|| *
    ||g_i||``; Conv2D: :func:`_conv_sq_norms`), and the clipped sum rescales ``dL/dz`` row by row
    before the (linear) parameter gradient is formed. ``l2_norm_clip`` None means no clipping.
    Returns ``(grads, norms, total_loss)`` with grads in the order of the model's trainable variables.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        h = x
        records = []  # (layer, input, pre-activation output)
        for layer in layers:
            if type(layer) is tf.keras.layers.Dense:
                a = h
                z = tf.matmul(h, layer.kernel)
            elif type(layer) is tf.keras.layers.Conv2D:
                a = h
                z = tf.nn.conv2d(h, layer.kernel, strides=[1, *layer.strides, 1], padding=layer.padding.upper())
            else:
                h = layer(h)
                continue
            if layer.use_bias:
                z = z + layer.bias
            records.append((layer, a, z))
            h = layer.activation(z)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h)
        total = tf.reduce_sum(losses)
    out_grads = tape.gradient(total, [z for _, _, z in records])
    sq = tf.zeros_like(losses)
    per_example = []
    for (layer, a, _), g in zip(records, out_grads):
        if type(layer) is tf.keras.layers.Dense:
            gg = tf.reduce_sum(tf.square(g), axis=1)
            aa = tf.reduce_sum(tf.square(a), axis=1) + (1.0 if layer.use_bias else 0.0)
            sq += aa * gg  # ||a_i g_i^T||_F^2 + ||g_i||^2
            per_example.append(None)
        else:
            layer_sq, kernel_grads = _conv_sq_norms(layer, a, g, conv_norms)
            sq += layer_sq
            per_example.append(kernel_grads)
    norms = tf.sqrt(sq)
    if l2_norm_clip is None:
        factors = tf.ones_like(norms)
    else:
        factors = tf.minimum(1.0, l2_norm_clip / tf.maximum(norms, 1e-12))
    grads = []
    for (layer, a, _), g, kernel_grads in zip(records, out_grads, per_example):
        if type(layer) is tf.keras.layers.Dense:
            scaled = g * factors[:, None]
            grads.append(tf.matmul(a, scaled, transpose_a=True))
            if layer.use_bias:
                grads.append(tf.reduce_sum(scaled, axis=0))
            continue
        scaled = g * factors[:, None, None, None]
        if kernel_grads is not None:
            grads.append(tf.reshape(tf.tensordot(factors, kernel_grads, axes=1), tf.shape(layer.kernel)))
        else:
            grads.append(tf.compat.v1.nn.conv2d_backprop_filter(
                a, tf.shape(layer.kernel), scaled, strides=[1, *layer.strides, 1], padding=layer.padding.upper()))
        if layer.use_bias:
            grads.append(tf.reduce_sum(scaled, axis=[0, 1, 2]))
    return grads, norms, total


def _plain_graph(model, x, y):
    """The non-private reference: ordinary backpropagation (one ``tape.gradient`` on the variables, no norms)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        total = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return tape.gradient(total, model.trainable_variables), total


def _layer_variables(layers: list) -> list:
    out = []
    for layer in layers:
        if _has_weights(layer):
            out.append(layer.kernel)
            if layer.use_bias:
                out.append(layer.bias)
    return out


def ghost_clipped_sum(model: Any, x: np.ndarray, y: np.ndarray, l2_norm_clip: float, *,
                      conv_norms: str = "auto") -> tuple[list[np.ndarray], np.ndarray]:
    """The clipped gradient sum and per-example norms, without per-example gradients of Dense layers.

    For any model :func:`trainer_layers` accepts (Dense-only MLPs, small CNNs). Same result as
    ``clip_and_sum(per_example_gradients(model, x, y), l2_norm_clip)`` (the test suite checks it
    to 1e-5), in the order of ``model.trainable_variables``.

    Args:
        conv_norms: how Conv2D layers get their per-example norms: ``"auto"`` (per layer, the
            per-example kernel gradients from im2col patches, which also give the clipped sum almost
            for free, unless they exceed 2^16 floats per example and the ghost norm needs less memory:
            Bu et al. 2022's ``2 P^2 < K * Cout``, P output positions, K = kh * kw * Cin), ``"ghost"``
            or ``"per_example"``. All three give the same numbers.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    layers = trainer_layers(model)
    x, y = _features_labels(x, y)
    _check_labels(y, model)
    _check_features(model, layers, x)
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    v.choice("conv_norms", conv_norms, CONV_NORMS)
    grads, norms, _ = _ghost_graph(layers, tf.constant(x), tf.constant(y), tf.constant(clip, tf.float32),
                                   conv_norms=conv_norms)
    return [np.asarray(g, dtype=np.float64) for g in grads], np.asarray(norms, dtype=np.float64)


def _check_features(model: Any, layers: list, x: np.ndarray) -> None:
    import tensorflow as tf

    d = int(layers[0].kernel.shape[0]) if type(layers[0]) is tf.keras.layers.Dense else int(model.input_shape[-1])
    if x.shape[1] != d:
        raise ValueError(f"x must have {d} features (the model's input size); got {x.shape[1]}")


def _standard_normal(size: int, seed):
    """``size`` independent N(0, 1) float32 values from stateless Philox uniforms, by Box-Muller.

    The same transform TensorFlow's ``stateless_normal`` applies inside its kernel (both outputs of
    each pair of uniforms: ``sqrt(-2 ln u1) (cos 2 pi u2, sin 2 pi u2)``, independent standard normals),
    written with vectorised TensorFlow ops: on CPU it draws a model's noise about twice as fast,
    which is most of DP-SGD's cost for an MLP at small batches. ``1 - u1`` lies in (0, 1], so the
    logarithm is finite; as in TensorFlow's kernel, float32 uniforms cap |z| near 5.8.
    """
    import tensorflow as tf

    half = (size + 1) // 2
    u = tf.random.stateless_uniform([2, half], seed=seed)
    radius = tf.sqrt(-2.0 * tf.math.log1p(-u[0]))
    angle = (2.0 * math.pi) * u[1]
    return tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], 0)[:size]


# Compiled epoch functions, per model and per (sampling, clipped, noisy): tracing costs more than
# training a small model, and the audit notebook trains many models of one shape.
_EPOCH_FUNCTIONS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()

# Poisson masks for a whole epoch are drawn at once when steps x rows stays below this (16 MB of
# float32 uniforms); larger epochs draw one mask per step.
_EPOCH_MASK_LIMIT = 1 << 22


def _epoch_function(model: Any, layers: list, sampling: str, *, clipped: bool, noisy: bool, epoch_mask: bool = True):
    """A ``tf.function`` running one epoch of (DP-)SGD on ``model``'s variables, cached per model."""
    import tensorflow as tf

    per_model = _EPOCH_FUNCTIONS.setdefault(model, {})
    key = (sampling, clipped, noisy, epoch_mask)
    if key in per_model:
        return per_model[key]
    variables = _layer_variables(layers)
    shapes = [tuple(int(d) for d in var.shape) for var in variables]
    sizes = [int(np.prod(shape)) for shape in shapes]
    d = int(model.input_shape[-1])
    f32, i64 = tf.float32, tf.int64

    # One epoch is one TensorFlow loop: batches are drawn inside the graph from stateless random
    # numbers seeded by ``seed``, so there is no per-step Python overhead. Poisson sampling: every
    # row joins every step independently with probability q; the epoch's (steps x rows) uniforms are
    # drawn at once and the included (step, row) pairs found with one tf.where, so a step only
    # slices its rows. Noise: one N(0, 1) vector for all parameters per step (Box-Muller,
    # :func:`_standard_normal`), split per variable, drawn one step ahead (see below).
    @tf.function(input_signature=[tf.TensorSpec([None, d], f32), tf.TensorSpec([None], i64),
                                  tf.TensorSpec([], tf.int32), tf.TensorSpec([2], i64), tf.TensorSpec([], f32),
                                  tf.TensorSpec([], f32), tf.TensorSpec([], f32), tf.TensorSpec([], f32),
                                  tf.TensorSpec([], tf.int32)])
    def run_epoch(xs, ys, steps, seed, clip, noise_std, scale, q, batch_size):
        n = tf.shape(xs)[0]
        total = tf.constant(0.0)
        count = tf.constant(0, i64)
        if sampling == "shuffle":
            order = tf.argsort(tf.random.stateless_uniform([n], seed=seed))
        elif epoch_mask:
            hits = tf.where(tf.random.stateless_uniform([steps, n], seed=seed) < q)
            bounds = tf.searchsorted(hits[:, 0], tf.range(steps + 1, dtype=i64), side="left")
        # Noise: step s draws from seed + (s + 1, 1). The draw for step s + 1 is made in step s, beside that
        # step's gradient (it depends on neither), so TensorFlow can run the two on different cores; the
        # values are exactly those of drawing each step's noise in its own step.
        total_size = sum(sizes)
        noise_next = (_standard_normal(total_size, seed + tf.constant([1, 1], i64)) if noisy else tf.zeros([0]))
        for s in tf.range(steps):
            tf.autograph.experimental.set_loop_options(shape_invariants=[(noise_next, tf.TensorShape([None]))])
            step_seed = seed + tf.stack([tf.cast(s, i64) + 1, tf.constant(0, i64)])
            noise_now = noise_next
            if noisy:
                noise_next = _standard_normal(total_size, seed + tf.stack([tf.cast(s, i64) + 2, tf.constant(1, i64)]))
            if sampling == "shuffle":
                idx = order[s * batch_size:tf.minimum((s + 1) * batch_size, n)]
            elif epoch_mask:
                idx = hits[bounds[s]:bounds[s + 1], 1]
            else:
                idx = tf.where(tf.random.stateless_uniform([n], seed=step_seed) < q)[:, 0]
            xb, yb = tf.gather(xs, idx), tf.gather(ys, idx)
            if clipped:
                grads, _, loss = _ghost_graph(layers, xb, yb, clip)
            else:
                grads, loss = _plain_graph(model, xb, yb)
            if noisy:
                noise = tf.split(noise_now, sizes)
                grads = [g + noise_std * tf.reshape(z, shape) for g, z, shape in zip(grads, noise, shapes)]
            for var, g in zip(variables, grads):
                var.assign_sub(scale * g)
            total += loss
            count += tf.shape(idx, out_type=i64)[0]
        return total, count

    per_model[key] = run_epoch
    return run_epoch


@dataclass
class TrainResult:
    """What :func:`train_dpsgd` did, with enough detail to account for it.

    Attributes:
        model: the trained Keras model (trained in place).
        num_examples, batch_size, epochs, steps: the schedule. ``num_examples`` is the public
            (nominal) dataset size the schedule was set from: the ``num_examples`` passed to
            :func:`train_dpsgd`, else the number of rows trained on. Poisson: ``steps =
            ceil(epochs * num_examples / batch_size)``; shuffle: ``epochs * ceil(num_examples /
            batch_size)``.
        sampling: ``"poisson"`` (each example joins each batch independently with probability
            ``batch_size / num_examples``) or ``"shuffle"`` (a fresh permutation each epoch, cut into
            batches of ``batch_size``; the last one may be shorter).
        noise_multiplier, l2_norm_clip: the Gaussian noise standard deviation is their product;
            ``l2_norm_clip`` None and ``noise_multiplier`` 0 mean ordinary (non-private) SGD.
        losses: mean training loss of each epoch (the loss of the examples sampled, before the step).

    Introduced in ``04-dp-sgd.ipynb``.
    """

    model: Any
    num_examples: int
    batch_size: int
    epochs: int
    steps: int
    sampling: str
    noise_multiplier: float
    l2_norm_clip: float | None
    learning_rate: float
    losses: list[float] = field(default_factory=list)

    @property
    def private(self) -> bool:
        return self.l2_norm_clip is not None and self.noise_multiplier > 0

    @property
    def sampling_probability(self) -> float:
        return self.batch_size / self.num_examples

    def epsilon(self, delta: float, accountant: str = "rdp") -> float:
        """The (epsilon, delta) guarantee of this run (example-level, add-or-remove-one adjacency).

        Poisson sampling: the subsampled Gaussian composed over ``steps`` steps at rate
        ``batch_size / num_examples`` (``labkit.dp.dpsgd_epsilon``). Shuffled batches: every
        example is in exactly one batch per epoch, and no amplification by sampling is claimed,
        so this is the Gaussian mechanism composed ``epochs`` times
        (``labkit.dp.poisson_gaussian_epsilon`` with sampling probability 1). A non-private run
        has no finite epsilon: ``math.inf``.
        """
        if not self.private:
            return math.inf
        if self.sampling == "poisson":
            return float(dpsgd_epsilon(self.num_examples, self.batch_size, self.noise_multiplier, self.epochs,
                                          delta, accountant=accountant))
        return float(poisson_gaussian_epsilon(1.0, self.noise_multiplier, self.epochs, delta, accountant=accountant))


def train_dpsgd(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int,
                l2_norm_clip: float | None, noise_multiplier: float, learning_rate: float,
                sampling: str = "poisson", seed: int | None = None,
                progress: Callable[[int, int], None] | None = None,
                num_examples: int | None = None) -> TrainResult:
    """Train a Dense-only Keras model or a small CNN with DP-SGD, fast (ghost norms, no per-example gradients
    for Dense layers).

    Each step: sample a batch, compute the per-example gradient norms from the layers' inputs and
    output gradients (for Conv2D layers, ghost norms or im2col per-example kernel gradients,
    whichever is cheaper; see :func:`ghost_clipped_sum`), clip each example to ``l2_norm_clip``,
    sum, add Gaussian noise with standard deviation ``noise_multiplier * l2_norm_clip`` to every
    coordinate (one N(0, 1) draw for all parameters per step), divide by ``batch_size`` (the
    expected batch size, a public constant) and take an SGD step. Without clipping (``l2_norm_clip``
    None) a step is ordinary backpropagation on the same batches: the honest non-private baseline.

    Args:
        model: a built Keras model of Dense layers whose last layer outputs logits
            (:func:`make_mlp`), or of the layers :func:`trainer_layers` accepts (:func:`make_cnn`);
            trained in place.
        x, y: float features (2-D) and integer labels.
        epochs: passes over the data (Poisson: ``ceil(epochs * num_examples / batch_size)`` steps).
        batch_size: expected batch size (Poisson) or batch size (shuffle), 1 to ``num_examples``.
        l2_norm_clip: the clipping norm C > 0, or None for no clipping (non-private reference).
        noise_multiplier: sigma >= 0; the noise standard deviation is ``sigma * C``. Must be 0
            when ``l2_norm_clip`` is None.
        learning_rate: the SGD step size (> 0).
        sampling: ``"poisson"`` (what the accountant in ``labkit.dp.dpsgd_epsilon`` assumes) or
            ``"shuffle"`` (fixed-size batches of a random permutation; see :meth:`TrainResult.epsilon`).
        seed: seeds the batch sampling and the noise. None (the default) draws both from OS
            entropy, as a private release needs. With a seed the run is a pure function of its
            arguments, which is what reproducible teaching needs; but anyone who knows the seed
            can regenerate the noise and the batches, so a published seed gives that reader no privacy.
        progress: called as ``progress(epoch_done, epochs)`` after each epoch (a progress bar).
        num_examples: the public, nominal dataset size that fixes the schedule: the Poisson
            sampling rate ``q = batch_size / num_examples`` and the number of steps (Poisson:
            ``ceil(epochs * num_examples / batch_size)``; shuffle: ``ceil(num_examples /
            batch_size)`` batches per epoch, so when ``len(x)`` is larger the rows past the last
            batch of the permutation sit that epoch out, and when it is smaller the last batches
            are short or empty). None (the default) uses ``len(x)``. Under add-or-remove-one
            adjacency the true ``len(x)`` is itself private: a schedule computed from it changes
            when one example is added, which the accountant does not model. Announce the size
            in advance and pass it here (``05-auditing.ipynb`` passes half its pool).

    Returns:
        A :class:`TrainResult` (its ``num_examples`` is the nominal size).

    Raises:
        ValueError / TypeError: naming the parameter, its value and the valid range.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    layers = trainer_layers(model)
    x, y = _features_labels(x, y)
    _check_labels(y, model)
    _check_features(model, layers, x)
    # n: the public size that fixes the schedule (sampling rate and step count), not necessarily len(x).
    n = len(x) if num_examples is None else v.count("num_examples", num_examples)
    epochs = v.count("epochs", epochs)
    batch_size = v.count("batch_size", batch_size, maximum=n)
    if sampling == "poisson":
        dpsgd_steps(n, batch_size, epochs)  # at most MAX_STEPS steps
    # TensorFlow trains in float32: larger values overflow (and no sensible run needs them).
    sigma = _at_most_1e6("noise_multiplier", v.nonnegative("noise_multiplier", noise_multiplier))
    lr = _at_most_1e6("learning_rate", v.positive("learning_rate", learning_rate))
    if l2_norm_clip is not None:
        _at_most_1e6("l2_norm_clip", v.positive("l2_norm_clip", l2_norm_clip))
    v.count("epochs", epochs, maximum=10**6)
    if sampling == "shuffle":
        total = epochs * math.ceil(n / batch_size) if v.is_integer(batch_size) and batch_size > 0 else 0
    else:
        total = 0
    if total > MAX_STEPS:
        raise ValueError(f"epochs must give at most {MAX_STEPS:,} steps; got {epochs} epochs of "
                         f"{math.ceil(n / batch_size):,} batches")
    if l2_norm_clip is None:
        if sigma != 0:
            raise ValueError(f"noise_multiplier must be 0 when l2_norm_clip is None (no clipping); got {noise_multiplier!r}")
        clip = None
    else:
        clip = v.positive("l2_norm_clip", l2_norm_clip)
    v.choice("sampling", sampling, SAMPLING)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable progress(epoch_done, epochs) or None; got {type(progress).__name__}")

    epoch_mask = (math.ceil(n / batch_size) + 1) * len(x) <= _EPOCH_MASK_LIMIT
    run_epoch = _epoch_function(model, layers, sampling, clipped=clip is not None, noisy=sigma > 0,
                                epoch_mask=epoch_mask)
    xs, ys = tf.constant(x), tf.constant(y)
    hyper = (tf.constant(clip or 0.0, tf.float32), tf.constant(sigma * (clip or 0.0), tf.float32),
             tf.constant(lr / batch_size, tf.float32), tf.constant(batch_size / n, tf.float32),
             tf.constant(batch_size, tf.int32))
    rng = v.generator(seed, "seed")  # seed None: a generator seeded from OS entropy
    result = TrainResult(model, n, batch_size, epochs, 0, sampling, sigma, clip, lr)
    for epoch in range(epochs):
        if sampling == "shuffle":
            steps = math.ceil(n / batch_size)
        else:  # Poisson: ceil(epochs * n / batch_size) steps in all, spread over the epochs
            steps = math.ceil((epoch + 1) * n / batch_size) - math.ceil(epoch * n / batch_size)
        epoch_seed = rng.integers(0, 2**40, size=2, dtype=np.int64)
        total, count = run_epoch(xs, ys, tf.constant(steps, tf.int32), tf.constant(epoch_seed), *hyper)
        result.steps += steps
        result.losses.append(float(total) / max(int(count), 1))
        if not math.isfinite(result.losses[-1]):
            raise ValueError(f"training diverged in epoch {epoch + 1} (the loss is {result.losses[-1]}): "
                             f"learning_rate={lr:g} is too large for this model and data (or l2_norm_clip="
                             f"{clip} / noise_multiplier={sigma:g} too large)")
        if progress is not None:
            progress(epoch + 1, epochs)
    if not all(np.all(np.isfinite(var.numpy())) for var in model.trainable_variables):
        raise ValueError(f"training diverged (the model's weights hold NaN or inf): learning_rate={lr:g} is too "
                         f"large for this model and data (or l2_norm_clip={clip} / noise_multiplier={sigma:g} too large)")
    return result


# --------------------------------------------------------------------------------------------
# tensorflow-privacy, with the microbatch trap guarded
# --------------------------------------------------------------------------------------------


def check_microbatches(num_examples: int, batch_size: int, num_microbatches: int) -> None:
    """Check that ``num_microbatches`` divides every batch, the last (shorter) one included.

    tensorflow-privacy reshapes each batch's loss vector to ``(num_microbatches, -1)``; when a
    batch's size is not a multiple, Keras fails with a reshape error deep in a stack trace.

    Raises:
        ValueError: naming the batch that cannot be split and the ways out (a batch size that
            divides the data, ``drop_remainder=True`` in :func:`fit_tf_privacy`, or fewer
            microbatches).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    n = v.count("num_examples", num_examples)
    b = v.count("batch_size", batch_size, maximum=n)
    m = v.count("num_microbatches", num_microbatches, maximum=b)
    if b % m:
        raise ValueError(
            f"num_microbatches must divide batch_size: {b} examples cannot be split into {m} equal microbatches. "
            f"Choose num_microbatches among the divisors of {b} (for example {b}, one example per microbatch)."
        )
    last = n % b
    if last and last % m:
        divisors = [d for d in range(1, b + 1) if b % d == 0 and last % d == 0]
        raise ValueError(
            f"num_microbatches must also divide the last batch: {n} examples in batches of {b} leave a last batch "
            f"of {last}, which {m} microbatches cannot split. Pass drop_remainder=True, use a batch_size that "
            f"divides {n}, or num_microbatches in {divisors}."
        )


def fit_tf_privacy(model: Any, x: np.ndarray, y: np.ndarray, *, optimizer: str = "DPKerasSGDOptimizer",
                   epochs: int, batch_size: int, l2_norm_clip: float, noise_multiplier: float,
                   learning_rate: float, num_microbatches: int | None = None, drop_remainder: bool = False,
                   seed: int | None = None) -> Any:
    """Train ``model``'s architecture with tensorflow-privacy and return the trained Keras model.

    ``optimizer="DPKerasSGDOptimizer"`` compiles a copy of ``model`` with tensorflow-privacy's DP
    SGD optimizer and a per-example (``Reduction.NONE``) loss, as that optimizer requires.
    ``optimizer="DPSequential"`` rebuilds the layers in tensorflow-privacy's ``DPSequential`` with
    its default layer registry (``make_default_layer_registry``: Dense and Embedding; a CNN's Conv2D
    layers are not in it, so for a CNN it falls back to per-microbatch gradients), so that an MLP
    takes the fast-clipping path (per-example gradient norms from each layer's inputs and output
    gradients, as :func:`ghost_clipped_sum` does); without ``layer_registry=`` DPSequential falls
    back to computing one clipped gradient per microbatch. It trains with an ordinary SGD optimizer
    and a mean loss, without XLA (``use_xla=False``): under XLA, tensorflow-privacy's noise ignored
    TensorFlow's seed (fresh processes seeded 1 and 2 drew the same noise). Batches are shuffled,
    fixed-size batches (Keras ``fit``), not Poisson samples.

    Args:
        num_microbatches: for ``DPKerasSGDOptimizer``, how many groups each batch is split into
            (default: ``batch_size``, one example per group). Checked by :func:`check_microbatches`.
        drop_remainder: drop the last, shorter batch of each epoch (a fixed subset: the data
            are shuffled once, with ``seed``, before training) instead of failing on it.
        seed: seeds the shuffling and TensorFlow's random ops (the DP noise). None (the default)
            seeds both from OS entropy (64 bits for TensorFlow); a fixed seed makes the run
            reproducible and gives no privacy to anyone who knows it.

    Raises:
        ValueError: for a microbatch count that cannot split a batch, with the way out;
            for an unknown ``optimizer``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    v.choice("optimizer", optimizer, TF_PRIVACY_OPTIMIZERS)
    _keras_model(model)
    layers = trainer_layers(model) if optimizer == "DPSequential" else None
    x, y = _features_labels(x, y)
    _check_labels(y, model)
    v.flag("drop_remainder", drop_remainder)
    epochs = v.count("epochs", epochs)
    batch_size = v.count("batch_size", batch_size, maximum=len(x))
    clip = _at_most_1e6("l2_norm_clip", v.positive("l2_norm_clip", l2_norm_clip))
    sigma = _at_most_1e6("noise_multiplier", v.nonnegative("noise_multiplier", noise_multiplier))
    lr = v.positive("learning_rate", learning_rate)
    if seed is not None:
        seed = v.integer("seed", seed, minimum=0, maximum=2**31 - 1)
    entropy = np.random.SeedSequence(seed)  # seed None: fresh entropy from the operating system
    order = np.random.default_rng(entropy).permutation(len(x))
    x, y = x[order], y[order]
    if drop_remainder:
        keep = len(x) - len(x) % batch_size
        x, y = x[:keep], y[:keep]
    if seed is None:
        tf.random.set_seed(int(entropy.generate_state(1, np.uint64)[0]) >> 1)
    else:
        tf.keras.utils.set_random_seed(seed)
    if optimizer == "DPKerasSGDOptimizer":
        from tensorflow_privacy import DPKerasSGDOptimizer

        m = batch_size if num_microbatches is None else num_microbatches
        check_microbatches(len(x), batch_size, m)
        net = tf.keras.models.clone_model(model)
        net.set_weights(model.get_weights())
        opt = DPKerasSGDOptimizer(l2_norm_clip=clip, noise_multiplier=sigma, num_microbatches=m, learning_rate=lr)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=tf.keras.losses.Reduction.NONE)
    else:
        from tensorflow_privacy.privacy.fast_gradient_clipping import layer_registry
        from tensorflow_privacy.privacy.keras_models.dp_keras_model import DPSequential

        if num_microbatches is not None:
            check_microbatches(len(x), batch_size, num_microbatches)
        net = DPSequential(l2_norm_clip=clip, noise_multiplier=sigma, num_microbatches=num_microbatches,
                           layer_registry=layer_registry.make_default_layer_registry(),
                           # DPSequential's default use_xla=True compiles train_step with XLA, whose random
                           # ops ignore TensorFlow's seeds: every fresh process then draws the same noise,
                           # whatever the seed. Without XLA the noise follows ``seed`` (or OS entropy).
                           use_xla=False,
                           layers=[tf.keras.Input(shape=(x.shape[1],))] + [
                               type(layer).from_config(layer.get_config()) for layer in layers])
        net.set_weights(model.get_weights())
        opt = tf.keras.optimizers.SGD(learning_rate=lr)
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    net.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    net.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return net


# --------------------------------------------------------------------------------------------
# The source document's "differential privacy": noise added to the inputs once
# --------------------------------------------------------------------------------------------


def source_document_noise(data: np.ndarray, epsilon: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The source document's ``differential_privacy(data, epsilon)`` (its section 5.2), reproduced.

    As written there: the noise *variance* is ``2 / epsilon``, and one Gaussian value per row is
    drawn and added to every feature of that row. The only change is that the randomness comes
    from ``rng`` instead of NumPy's global generator. This is not a differentially private
    mechanism: see ``04-dp-sgd.ipynb``.

    Returns:
        ``(noisy_data, noise)`` with ``noise`` one value per row, as in the source.
    """
    eps = v.positive("epsilon", epsilon)
    data = v.finite_array("data", data)
    if data.ndim != 2:
        raise ValueError(f"data must be a 2-D array (rows x features); got shape {data.shape}")
    rng = v.generator(rng)
    noise = rng.normal(loc=0.0, scale=np.sqrt(2.0 / eps), size=len(data))
    return data + noise.reshape((-1, 1)), noise


def train_on_noisy_inputs(x: np.ndarray, y: np.ndarray, epsilon: float, *, num_classes: int, epochs: int,
                          batch_size: int = 32, learning_rate: float = 0.02, hidden: Sequence[int] = (64,),
                          seed: int = 0) -> tuple[Any, np.ndarray]:
    """The source document's ``train`` on a classification task: noise the inputs once, then plain SGD.

    Like the source: :func:`source_document_noise` once, then ordinary mini-batch SGD over the
    noisy rows (shuffled each epoch; no clipping, no noise in training). Changes, each needed to run it: the
    undefined ``epochs`` is a parameter, the loss is cross-entropy over ``num_classes`` logits
    (digits is a classification task) instead of mean squared error on one output, and the
    learning rate defaults to 0.02 (the source's 0.01, doubled so that 30 epochs suffice); larger rates
    diverge on rows shifted by noise of standard deviation 4.5.

    Returns:
        ``(model, noisy_x)``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    x, y = _features_labels(x, y)
    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)
    v.count("num_classes", num_classes, minimum=2)
    v.count("epochs", epochs)
    v.count("batch_size", batch_size, maximum=len(x))
    v.positive("learning_rate", learning_rate)
    rng = np.random.default_rng(seed)
    noisy, _ = source_document_noise(x, epsilon, rng)
    model = make_mlp(x.shape[1], num_classes, hidden, seed=seed)
    result = train_dpsgd(model, noisy.astype(np.float32), y, epochs=epochs, batch_size=batch_size, l2_norm_clip=None,
                         noise_multiplier=0.0, learning_rate=learning_rate, sampling="shuffle", seed=seed)
    return result.model, noisy


# --------------------------------------------------------------------------------------------
# The accuracy-privacy trade-off: a precomputed sweep and the explorer's compute function
# --------------------------------------------------------------------------------------------

TRADEOFF_FILE = "sweeps/dpsgd_tradeoff.npz"


@dataclass(frozen=True)
class TradeoffConfig:
    """The fixed training recipe behind the trade-off sweep (digits, a small MLP, few epochs).

    DP runs: Poisson sampling with expected batch ``batch_size``, ``epochs`` epochs, clipping norm
    ``l2_norm_clip``, learning rate ``learning_rate``, noise multiplier calibrated to each target
    epsilon at ``delta`` with the RDP accountant. The non-private reference: the same model and
    schedule without clipping or noise, at learning rate ``nonprivate_learning_rate``.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    dataset: str = "digits"
    hidden: tuple[int, ...] = (64,)
    epochs: int = 20
    batch_size: int = 128
    l2_norm_clip: float = 0.5
    learning_rate: float = 2.0
    nonprivate_learning_rate: float = 0.5
    delta: float = 1e-5
    accountant: str = "rdp"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    # 2 ** (k / 4) for k = -4..16: the explorer slider's positions, so each one is a swept point.
    targets: tuple[float, ...] = tuple(float(2.0 ** (k / 4)) for k in range(-4, 17))

    def describe(self) -> str:
        return tr("{dataset}, MLP {hidden}, {epochs} epochs, Poisson batches of {batch} expected, clip {clip}, "
                  "learning rate {lr}, delta = {delta:g}, {accountant} accountant").format(
            dataset=self.dataset, hidden="-".join(map(str, self.hidden)), epochs=self.epochs, batch=self.batch_size,
            clip=self.l2_norm_clip, lr=self.learning_rate, delta=self.delta, accountant=self.accountant.upper())


def train_point(ds: Any, model: Any, target_epsilon: float | None, seed: int, cfg: "TradeoffConfig | CnnSweepConfig",
                progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Train ``model`` (re-initialised for ``seed``) on ``ds`` at one point of the trade-off sweep.

    ``target_epsilon`` None trains the non-private reference. Returns ``(noise_multiplier,
    test_accuracy)``. Shared by :func:`train_tradeoff_point` (one live point) and the ``make data``
    builder of the sweep, which reuses one model so that TensorFlow traces the loop once.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    reinitialize(model, seed)
    if target_epsilon is None:
        sigma, clip, lr = 0.0, None, cfg.nonprivate_learning_rate
    else:
        sigma = dpsgd_noise_multiplier(target_epsilon, len(ds.x_train), cfg.batch_size, cfg.epochs, cfg.delta,
                                          accountant=cfg.accountant)
        clip, lr = cfg.l2_norm_clip, cfg.learning_rate
    train_dpsgd(model, ds.x_train, ds.y_train, epochs=cfg.epochs, batch_size=cfg.batch_size, l2_norm_clip=clip,
                noise_multiplier=sigma, learning_rate=lr, seed=seed, progress=progress)
    return float(sigma), accuracy(model, ds.x_test, ds.y_test)


def train_tradeoff_point(target_epsilon: float | None, seed: int, config: TradeoffConfig | None = None, *,
                         progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Train one model of the trade-off sweep and return ``(noise_multiplier, test_accuracy)``.

    ``target_epsilon`` None trains the non-private reference (noise multiplier 0). The same
    ``(target_epsilon, seed)`` gives the same model as the precomputed sweep.

    Introduced in ``04-dp-sgd.ipynb`` (the explorer's "train this point" button).
    """
    from labkit import data

    cfg = config or TradeoffConfig()
    if target_epsilon is not None:
        v.positive("target_epsilon", target_epsilon)
    ds = data.load(cfg.dataset)
    model = make_mlp(ds.num_features, ds.num_classes, cfg.hidden, seed=seed)
    return train_point(ds, model, target_epsilon, seed, cfg, progress)


def load_tradeoff_sweep() -> dict[str, np.ndarray]:
    """The precomputed sweep from ``data/sweeps/dpsgd_tradeoff.npz`` (verified against the manifest).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.data import load_arrays

    return load_arrays(TRADEOFF_FILE)


@dataclass(frozen=True)
class TradeoffPoint:
    """What the explorer shows for one target epsilon.

    ``accuracy`` is the mean test accuracy over the sweep's seeds, interpolated linearly in
    log(epsilon) between the two nearest swept targets; ``low``/``high`` are mean -/+ one
    standard deviation over seeds (interpolated the same way). ``exact`` says the target is a
    swept point; ``num_seeds`` is how many seeds each swept point was trained with.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    target_epsilon: float
    noise_multiplier: float
    accuracy: float
    low: float
    high: float
    nonprivate_accuracy: float
    exact: bool
    num_seeds: int = 0

    def __repr__(self) -> str:
        return tr("TradeoffPoint(epsilon {epsilon:.3g}: noise multiplier {sigma:.3f}, test accuracy {accuracy:.3f} "
                  "(sd {sd:.3f} over {seeds} seeds), non-private {nonprivate:.3f})").format(
            epsilon=self.target_epsilon, sigma=self.noise_multiplier, accuracy=self.accuracy,
            sd=(self.high - self.low) / 2, seeds=self.num_seeds, nonprivate=self.nonprivate_accuracy)


def tradeoff_at(sweep: dict[str, np.ndarray], target_epsilon: float, config: TradeoffConfig | None = None) -> TradeoffPoint:
    """The explorer's compute function: noise multiplier and expected accuracy for a target epsilon.

    The noise multiplier comes from ``labkit.dp.dpsgd_noise_multiplier`` for the sweep's recipe:
    stored in the sweep for its targets (the slider's positions), computed (tens to hundreds of
    milliseconds) for any other value. The accuracy is a lookup into the precomputed ``sweep``,
    interpolated in log(epsilon) between swept targets. No training happens.

    Raises:
        ValueError: if ``target_epsilon`` is outside the swept range.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    if not isinstance(sweep, dict) or not {"target_epsilon", "accuracy", "nonprivate_accuracy", "num_examples",
                                            "noise_multiplier"} <= set(sweep):
        raise TypeError(f"sweep must be the dict of arrays load_tradeoff_sweep() returns; got {v._got(sweep)}")
    if config is not None and not isinstance(config, TradeoffConfig):
        raise TypeError(f"config must be a TradeoffConfig or None; got {v._got(config)}")
    cfg = config or TradeoffConfig()
    eps_grid = np.asarray(sweep["target_epsilon"], dtype=np.float64)
    # The swept range, with a relative slack of 1e-9 for a slider's rounding.
    target = v.real("target_epsilon", target_epsilon, low=eps_grid[0] * (1 - 1e-9), high=eps_grid[-1] * (1 + 1e-9))
    target = float(np.clip(target, eps_grid[0], eps_grid[-1]))
    acc = np.asarray(sweep["accuracy"], dtype=np.float64)
    mean, std = acc.mean(axis=1), acc.std(axis=1)
    x = np.log(eps_grid)
    t = math.log(target)
    m = float(np.interp(t, x, mean))
    sd = float(np.interp(t, x, std))
    n = int(sweep["num_examples"])
    hit = np.flatnonzero(np.isclose(eps_grid, target, rtol=1e-9))
    exact = bool(hit.size)
    if exact:  # computed by the same call when the sweep was built
        sigma = float(sweep["noise_multiplier"][hit[0]])
    else:
        sigma = dpsgd_noise_multiplier(target, n, cfg.batch_size, cfg.epochs, cfg.delta, accountant=cfg.accountant)
    return TradeoffPoint(target, float(sigma), m, m - sd, m + sd, float(np.mean(sweep["nonprivate_accuracy"])), exact,
                         acc.shape[1])


# --------------------------------------------------------------------------------------------
# Real images: the CNN and the MLP on MNIST-28 at a few epsilons (a precomputed sweep)
# --------------------------------------------------------------------------------------------

CNN_SWEEP_FILE = "sweeps/dpsgd_cnn.npz"
CNN_SWEEP_MODELS: tuple[str, ...] = ("cnn", "mlp")


@dataclass(frozen=True)
class CnnSweepConfig:
    """The recipe behind ``data/sweeps/dpsgd_cnn.npz``: the CNN and an MLP trained alike on MNIST-28.

    Both models: Poisson batches of ``batch_size`` expected, ``epochs`` epochs, clip
    ``l2_norm_clip``, learning rate ``learning_rate``, the noise multiplier solved for each target
    epsilon at ``delta`` (RDP). The MLP has ``mlp_hidden`` ReLU layers on the 784 pixels. The
    non-private references use the same schedule without clipping or noise, at
    ``nonprivate_learning_rate``.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    dataset: str = "mnist"
    epochs: int = 15
    batch_size: int = 256
    l2_norm_clip: float = 1.0
    learning_rate: float = 1.0
    # Unclipped gradients are larger (per-example norms of 5 to 8 at initialisation): at 0.5 the CNN's
    # non-private run diverged for seeds 0 and 1 (accuracy 0.1); 0.1 trains both models.
    nonprivate_learning_rate: float = 0.1
    delta: float = 1e-5
    accountant: str = "rdp"
    mlp_hidden: tuple[int, ...] = (256, 256)
    seeds: tuple[int, ...] = (0, 1, 2)
    targets: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)

    def describe(self) -> str:
        return tr("MNIST-28 (4,000 train / 1,000 test images), {epochs} epochs, Poisson batches of {batch} expected, "
                  "clip {clip}, learning rate {lr}, delta = {delta:g}, {accountant} accountant, seeds {seeds}").format(
            epochs=self.epochs, batch=self.batch_size, clip=self.l2_norm_clip, lr=self.learning_rate,
            delta=self.delta, accountant=self.accountant.upper(), seeds=", ".join(map(str, self.seeds)))


def make_sweep_model(kind: str, seed: int = 0, config: CnnSweepConfig | None = None):
    """The ``"cnn"`` (:func:`make_cnn`) or ``"mlp"`` (784-256-256-10, :func:`make_mlp`) of the CNN sweep.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    v.choice("kind", kind, CNN_SWEEP_MODELS)
    if config is not None and not isinstance(config, CnnSweepConfig):
        raise TypeError(f"config must be a CnnSweepConfig or None; got {v._got(config)}")
    cfg = config or CnnSweepConfig()
    return make_cnn(10, seed=seed) if kind == "cnn" else make_mlp(784, 10, cfg.mlp_hidden, seed=seed)


def train_cnn_point(ds: Any, model: Any, target_epsilon: float | None, seed: int,
                    config: CnnSweepConfig | None = None,
                    progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Train ``model`` (re-initialised for ``seed``) on MNIST-28 at one point of the CNN sweep.

    ``target_epsilon`` None trains the non-private reference. Returns ``(noise_multiplier,
    test_accuracy)``; the same arguments give the same numbers as the precomputed sweep.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    if config is not None and not isinstance(config, CnnSweepConfig):
        raise TypeError(f"config must be a CnnSweepConfig or None; got {v._got(config)}")
    cfg = config or CnnSweepConfig()
    if target_epsilon is not None:
        v.positive("target_epsilon", target_epsilon)
    return train_point(ds, model, target_epsilon, seed, cfg, progress)  # the same recipe, the CNN's constants


def cnn_sweep(config: CnnSweepConfig | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Train every (model, target epsilon, seed) point of the CNN sweep and both non-private references.

    Returns arrays: ``models`` (2,), ``target_epsilon`` (k,), ``noise_multiplier`` (k,), ``accuracy``
    (2, k, seeds), ``nonprivate_accuracy`` (2, seeds), ``seeds`` and the recipe's scalars. The
    ``make data`` builder of ``data/sweeps/dpsgd_cnn.npz`` (minutes on two cores).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit import data

    if config is not None and not isinstance(config, CnnSweepConfig):
        raise TypeError(f"config must be a CnnSweepConfig or None; got {v._got(config)}")
    cfg = config or CnnSweepConfig()
    ds = data.load(cfg.dataset)
    k, s = len(cfg.targets), len(cfg.seeds)
    sigmas, acc, ref = np.zeros(k), np.zeros((2, k, s)), np.zeros((2, s))
    done, total = 0, 2 * (k + 1) * s
    for m, kind in enumerate(CNN_SWEEP_MODELS):
        model = make_sweep_model(kind, 0, cfg)  # reused: traced once
        for i, eps in enumerate(list(cfg.targets) + [None]):
            for j, seed in enumerate(cfg.seeds):
                sigma, a = train_cnn_point(ds, model, eps, seed, cfg)
                if eps is None:
                    ref[m, j] = a
                else:
                    sigmas[i], acc[m, i, j] = sigma, a
                done += 1
                if progress is not None:
                    progress(done, total)
    return {"models": np.asarray(CNN_SWEEP_MODELS), "target_epsilon": np.asarray(cfg.targets, dtype=np.float64),
            "noise_multiplier": sigmas, "accuracy": acc, "nonprivate_accuracy": ref,
            "seeds": np.asarray(cfg.seeds, dtype=np.int64), "delta": np.float64(cfg.delta),
            "epochs": np.int64(cfg.epochs), "batch_size": np.int64(cfg.batch_size),
            "num_examples": np.int64(len(ds.x_train)), "l2_norm_clip": np.float64(cfg.l2_norm_clip),
            "learning_rate": np.float64(cfg.learning_rate)}


def load_cnn_sweep() -> dict[str, np.ndarray]:
    """The precomputed CNN sweep from ``data/sweeps/dpsgd_cnn.npz`` (verified against the manifest).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.data import load_arrays

    return load_arrays(CNN_SWEEP_FILE)
