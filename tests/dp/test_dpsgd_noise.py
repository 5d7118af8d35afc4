"""The fast DP-SGD trainer's random stream is pinned, bit for bit.

The stored sweeps (``data/sweeps/dpsgd_tradeoff.npz``, ``dpsgd_grid.npz``, ``dpsgd_public.npz``,
``dpsgd_cnn.npz``) and the numbers notebooks 04 and 05 print were trained with one stream: Poisson masks
(or a permutation) from the epoch seed, and for step ``s`` (from 0) the N(0, 1) vector
``Box-Muller(stateless_uniform([2, half], seed + (s + 1, 1)))`` split over the variables in order. Any
speed-up of the noise or epoch machinery must draw exactly these values in exactly these steps.

The reference below is a copy of that machinery as it stood when the sweeps were built (commit 246a216:
``_standard_normal``, ``run_epoch`` and the epoch-seed loop of ``train_dpsgd``). It must not be edited to
follow the library: it is what the library is held to.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.runtime import quiet_environment, silence_python_noise

quiet_environment()
silence_python_noise()

import tensorflow as tf  # noqa: E402  (pinned: a missing TensorFlow is a failure, not a skip)

from labkit import _validate as v  # noqa: E402
from labkit.data import load  # noqa: E402
from labkit.dp import dpsgd  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The reference: today's stream, copied (do not edit)
# ---------------------------------------------------------------------------------------------


def _ref_standard_normal(size, seed):
    half = (size + 1) // 2
    u = tf.random.stateless_uniform([2, half], seed=seed)
    radius = tf.sqrt(-2.0 * tf.math.log1p(-u[0]))
    angle = (2.0 * math.pi) * u[1]
    return tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], 0)[:size]


def _ref_epoch_function(model, layers, sampling, *, clipped, noisy, epoch_mask):
    variables = dpsgd._layer_variables(layers)
    shapes = [tuple(int(d) for d in var.shape) for var in variables]
    sizes = [int(np.prod(shape)) for shape in shapes]
    d = int(model.input_shape[-1])
    f32, i64 = tf.float32, tf.int64

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
        total_size = sum(sizes)
        noise_next = (_ref_standard_normal(total_size, seed + tf.constant([1, 1], i64)) if noisy else tf.zeros([0]))
        for s in tf.range(steps):
            tf.autograph.experimental.set_loop_options(shape_invariants=[(noise_next, tf.TensorShape([None]))])
            step_seed = seed + tf.stack([tf.cast(s, i64) + 1, tf.constant(0, i64)])
            noise_now = noise_next
            if noisy:
                noise_next = _ref_standard_normal(total_size, seed + tf.stack([tf.cast(s, i64) + 2, tf.constant(1, i64)]))
            if sampling == "shuffle":
                idx = order[s * batch_size:tf.minimum((s + 1) * batch_size, n)]
            elif epoch_mask:
                idx = hits[bounds[s]:bounds[s + 1], 1]
            else:
                idx = tf.where(tf.random.stateless_uniform([n], seed=step_seed) < q)[:, 0]
            xb, yb = tf.gather(xs, idx), tf.gather(ys, idx)
            if clipped:
                grads, _, loss = dpsgd._ghost_graph(layers, xb, yb, clip)
            else:
                grads, loss = dpsgd._plain_graph(model, xb, yb)
            if noisy:
                noise = tf.split(noise_now, sizes)
                grads = [g + noise_std * tf.reshape(z, shape) for g, z, shape in zip(grads, noise, shapes)]
            for var, g in zip(variables, grads):
                var.assign_sub(scale * g)
            total += loss
            count += tf.shape(idx, out_type=i64)[0]
        return total, count

    return run_epoch


def _ref_train(model, x, y, *, epochs, batch_size, l2_norm_clip, noise_multiplier, learning_rate, sampling, seed,
               num_examples=None, mask_limit=1 << 22):
    """train_dpsgd's driver as it stood (valid arguments only): schedule, epoch seeds, hyperparameters."""
    layers = dpsgd.trainer_layers(model)
    n = len(x) if num_examples is None else num_examples
    clip, sigma, lr = l2_norm_clip, noise_multiplier, learning_rate
    epoch_mask = (math.ceil(n / batch_size) + 1) * len(x) <= mask_limit
    run_epoch = _ref_epoch_function(model, layers, sampling, clipped=clip is not None, noisy=sigma > 0,
                                    epoch_mask=epoch_mask)
    xs, ys = tf.constant(np.asarray(x, np.float32)), tf.constant(np.asarray(y, np.int64))
    hyper = (tf.constant(clip or 0.0, tf.float32), tf.constant(sigma * (clip or 0.0), tf.float32),
             tf.constant(lr / batch_size, tf.float32), tf.constant(batch_size / n, tf.float32),
             tf.constant(batch_size, tf.int32))
    rng = v.generator(seed, "seed")
    for epoch in range(epochs):
        if sampling == "shuffle":
            steps = math.ceil(n / batch_size)
        else:
            steps = math.ceil((epoch + 1) * n / batch_size) - math.ceil(epoch * n / batch_size)
        epoch_seed = rng.integers(0, 2**40, size=2, dtype=np.int64)
        run_epoch(xs, ys, tf.constant(steps, tf.int32), tf.constant(epoch_seed), *hyper)
    return model


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.mark.parametrize("size", [1, 2, 7, 4810, 26_010, 85_002, 85_003])
def test_standard_normal_is_the_reference_draw(size):
    """Bit for bit, for odd and even sizes (the last Box-Muller pair is cut) and the lab's model sizes
    (MLP 64-64-10: 4,810; CNN: 26,010; MLP 64-256-256-10: 85,002)."""
    for seed in ([0, 0], [3, 4], [2**40 - 1, 17]):
        seed = tf.constant(seed, tf.int64)
        ours, ref = dpsgd._standard_normal(size, seed).numpy(), _ref_standard_normal(size, seed).numpy()
        assert ours.dtype == ref.dtype == np.float32 and ours.shape == ref.shape == (size,)
        assert ours.tobytes() == ref.tobytes()


def _zero_gradient_model(hidden=(21, 3)):
    """Dense layers without biases on all-zero inputs: every gradient is exactly 0 (a = 0 at the first
    layer, relu(0) = 0 after), so a step changes the weights by exactly the noise. 64-21-3-10 has 1,437
    weights: an odd count (the last Box-Muller pair is cut) and 719 pairs, 15 past a multiple of 16, so a
    draw that computes the last values of each half differently (SIMD instead of scalar code, as a
    Box-Muller batched over steps does) shows."""
    layers = [tf.keras.Input(shape=(64,))]
    layers += [tf.keras.layers.Dense(h, activation="relu", use_bias=False) for h in hidden]
    layers.append(tf.keras.layers.Dense(10, use_bias=False))
    model = tf.keras.Sequential(layers)
    model.set_weights([np.zeros(w.shape, np.float32) for w in model.get_weights()])
    return model


def _reference_noise(total, steps, epoch_seed):
    return [_ref_standard_normal(total, tf.constant(epoch_seed, tf.int64) + tf.constant([s + 1, 1], tf.int64)).numpy()
            for s in range(steps)]


@pytest.mark.parametrize("sampling", ["poisson", "shuffle"])
def test_trainer_adds_exactly_the_reference_noise_in_each_step(sampling):
    """Read the noise out of the trainer: zero gradients, noise std 1 (clip 1, sigma 1) and learning rate =
    batch size (scale 1) make each step subtract exactly z_s from the weights. One step per epoch gives the
    vector itself (so a single value one ulp off fails); three steps give the float32 running sum, which
    must equal the reference z_1, z_2, z_3 subtracted in the same order."""
    x, y = np.zeros((3, 64), np.float32), np.array([0, 1, 2])
    for batch_size, steps in [(3, 1), (1, 3)]:
        model = _zero_gradient_model()
        sizes = [int(np.prod(w.shape)) for w in model.get_weights()]
        dpsgd.train_dpsgd(model, x, y, epochs=1, batch_size=batch_size, l2_norm_clip=1.0, noise_multiplier=1.0,
                          learning_rate=float(batch_size), sampling=sampling, seed=42)
        got = np.concatenate([w.ravel() for w in model.get_weights()])
        epoch_seed = np.random.default_rng(42).integers(0, 2**40, size=2, dtype=np.int64)
        want = np.zeros(sum(sizes), np.float32)
        for z in _reference_noise(sum(sizes), steps, epoch_seed):
            want = want - z
        assert got.dtype == want.dtype == np.float32
        assert got.tobytes() == want.tobytes(), f"batch {batch_size}: {np.sum(got != want)} of {got.size} values differ"


def _mlp(hidden, seed):
    return dpsgd.make_mlp(64, 10, hidden, seed=seed)


@pytest.mark.parametrize("case", ["poisson", "poisson_step_masks", "shuffle", "clip_only", "plain", "nominal_size"])
def test_trained_weights_are_bit_identical_to_the_reference(digits, case, monkeypatch):
    """A few epochs of the lab's MLP (64-256-256-10 at batch 30, the benchmark's setting, and the trade-off
    sweep's 64-64-10), every sampling path: the trained weights equal the reference trainer's, bit for bit."""
    x, y = digits.x_train[:240], digits.y_train[:240]
    args = dict(epochs=2, batch_size=30, l2_norm_clip=1.0, noise_multiplier=1.1, learning_rate=0.5,
                sampling="poisson", seed=7)
    hidden, limit = (256, 256), 1 << 22
    if case == "poisson_step_masks":  # one mask per step instead of one per epoch
        limit = 0
        monkeypatch.setattr(dpsgd, "_EPOCH_MASK_LIMIT", 0)
    elif case == "shuffle":
        args.update(sampling="shuffle", batch_size=64)
        hidden = (64,)
    elif case == "clip_only":
        args.update(noise_multiplier=0.0)
    elif case == "plain":
        args.update(l2_norm_clip=None, noise_multiplier=0.0, learning_rate=0.1)
    elif case == "nominal_size":
        args.update(num_examples=300, batch_size=50)
        hidden = (64,)
    ours = _mlp(hidden, 3)
    dpsgd.train_dpsgd(ours, x, y, **args)
    ref = _ref_train(_mlp(hidden, 3), x, y, mask_limit=limit, **args)
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert not np.array_equal(ours.get_weights()[0], _mlp(hidden, 3).get_weights()[0])  # it trained


def test_cnn_weights_are_bit_identical_to_the_reference():
    """The CNN (26,010 parameters: Conv2D kernels and biases split from one noise vector) on a few MNIST-28
    images, Poisson batches: bit for bit the reference trainer's weights."""
    mnist = load("mnist")
    x, y = mnist.x_train[:96], mnist.y_train[:96]
    args = dict(epochs=1, batch_size=32, l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5,
                sampling="poisson", seed=5)
    ours = dpsgd.make_cnn(seed=1)
    dpsgd.train_dpsgd(ours, x, y, **args)
    ref = _ref_train(dpsgd.make_cnn(seed=1), x, y, **args)
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        assert a.tobytes() == b.tobytes()
