"""DP-SGD for a small CNN (issue 16, item 2): exact per-example norms for Conv2D, the non-private baseline,
the noise drawn once per step, and tensorflow-privacy's clipped step as a cross-check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from labkit.runtime import quiet_environment, silence_python_noise

quiet_environment()
silence_python_noise()

import tensorflow as tf  # noqa: E402  (pinned: a missing TensorFlow is a failure, not a skip)

from labkit.data import load  # noqa: E402
from labkit.dp import dpsgd  # noqa: E402

L = tf.keras.layers


@pytest.fixture(scope="module")
def mnist():
    return load("mnist")


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def _small_cnn(padding, strides, use_bias, pool, seed=0):
    layers = [tf.keras.Input(shape=(784,)), L.Reshape((28, 28, 1)),
              L.Conv2D(4, 5, strides=strides, padding=padding, activation="tanh", use_bias=use_bias)]
    if pool is not None:
        layers.append(pool(2, 2))
    layers += [L.Conv2D(6, 3, strides=strides, padding=padding, activation="relu", use_bias=use_bias),
               L.Flatten(), L.Dense(8, activation="relu", use_bias=use_bias), L.Dense(10, use_bias=use_bias)]
    model = tf.keras.Sequential(layers)
    dpsgd.reinitialize(model, seed)
    return model


# ---------------------------------------------------------------------------------------------
# Exact per-example norms for Conv2D: the clipped sum equals naive per-example clipping
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("conv_norms", dpsgd.CONV_NORMS)
@pytest.mark.parametrize("padding,strides,use_bias,pool", [
    ("same", 1, True, L.MaxPooling2D),
    ("valid", 1, False, L.AveragePooling2D),
    ("same", 2, False, None),
    ("valid", 2, True, L.MaxPooling2D),
    ("valid", 1, True, None),
    ("same", 2, True, L.AveragePooling2D),
])
def test_conv_clipped_sum_equals_naive_per_example_clipping(mnist, conv_norms, padding, strides, use_bias, pool):
    model = _small_cnn(padding, strides, use_bias, pool, seed=3)
    x, y = mnist.x_train[:12], mnist.y_train[:12]
    per_example = dpsgd.per_example_gradients(model, x, y)
    naive_norms = np.sqrt(sum(np.sum(g.reshape(len(x), -1) ** 2, axis=1) for g in per_example))
    clip = float(np.median(naive_norms))  # about half the examples are clipped, half are not
    naive, norms = dpsgd.clip_and_sum(per_example, clip)
    ours, our_norms = dpsgd.ghost_clipped_sum(model, x, y, clip, conv_norms=conv_norms)
    np.testing.assert_allclose(our_norms, norms, rtol=1e-5, atol=1e-5)
    assert [a.shape for a in ours] == [tuple(w.shape) for w in model.trainable_variables]
    for a, b in zip(ours, naive):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_make_cnn_clipped_sum_equals_naive_and_uses_both_conv_methods(mnist):
    """The lab's CNN: both convolutions take the per-example route (their kernel gradients are small: 1,024
    and 8,192 floats per example), a wide late layer the ghost norm (Bu et al. 2022's rule 2 P^2 < K Cout),
    and the clipped sum is exact."""
    model = dpsgd.make_cnn(seed=1)
    convs = [layer for layer in model.layers if isinstance(layer, L.Conv2D)]
    positions = [int(np.prod(c.output_shape[1:3])) for c in convs]
    ks = [int(np.prod(c.kernel_size)) * int(c.input_shape[-1]) for c in convs]
    routes = [dpsgd._conv_uses_ghost(p, k, c.filters, "auto") for p, k, c in zip(positions, ks, convs)]
    assert positions == [196, 25] and routes == [False, False]
    assert dpsgd._conv_uses_ghost(16, 3 * 3 * 128, 256, "auto")  # 3x3, 128 -> 256 channels on a 4x4 map
    assert not dpsgd._conv_uses_ghost(28 * 28, 3 * 3 * 128, 256, "auto")  # ... on a 28x28 map
    x, y = mnist.x_train[:16], mnist.y_train[:16]
    per_example = dpsgd.per_example_gradients(model, x, y)
    clip = float(np.median(np.sqrt(sum(np.sum(g.reshape(len(x), -1) ** 2, axis=1) for g in per_example))))
    naive, norms = dpsgd.clip_and_sum(per_example, clip)
    ours, our_norms = dpsgd.ghost_clipped_sum(model, x, y, clip)
    assert norms.min() < clip < norms.max()
    np.testing.assert_allclose(our_norms, norms, rtol=1e-5)
    for a, b in zip(ours, naive):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_a_wrong_patch_order_would_be_caught(mnist):
    """The equality test has power: transposing the im2col patch layout (Cin, kh, kw instead of kh, kw, Cin)
    leaves the per-example norms as they are (a permutation of the kernel's rows) but puts the clipped
    kernel gradient in the wrong places, which the comparison with naive clipping sees."""
    model = _small_cnn("same", 1, True, None, seed=2)
    x, y = mnist.x_train[:6], mnist.y_train[:6]
    conv = [layer for layer in model.layers if isinstance(layer, L.Conv2D)][1]
    naive, _ = dpsgd.clip_and_sum(dpsgd.per_example_gradients(model, x, y), 1.0)
    index = [v.name for v in model.trainable_variables].index(conv.kernel.name)
    original = tf.image.extract_patches

    def transposed(a, sizes, strides, rates, padding):
        p = original(a, sizes=sizes, strides=strides, rates=rates, padding=padding)
        if a.shape[-1] == conv.input_shape[-1]:
            s = tf.shape(p)
            p = tf.reshape(tf.transpose(tf.reshape(p, [s[0], s[1], s[2], 9, 4]), [0, 1, 2, 4, 3]), s)
        return p

    tf.image.extract_patches = transposed
    try:
        wrong, _ = dpsgd.ghost_clipped_sum(model, x, y, 1.0, conv_norms="per_example")
    finally:
        tf.image.extract_patches = original
    right, _ = dpsgd.ghost_clipped_sum(model, x, y, 1.0, conv_norms="per_example")
    np.testing.assert_allclose(right[index], naive[index], atol=1e-5, rtol=1e-5)
    assert np.max(np.abs(wrong[index] - naive[index])) > 1e-3


# ---------------------------------------------------------------------------------------------
# make_cnn, reinitialize, the layer checks
# ---------------------------------------------------------------------------------------------


def test_make_cnn_is_the_tf_privacy_tutorial_cnn_and_seeded():
    model = dpsgd.make_cnn(seed=4)
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert model.count_params() == 26_010
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Reshape", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    c1, c2 = model.layers[1], model.layers[3]
    assert (c1.filters, c1.kernel_size, c1.strides, c1.padding) == (16, (8, 8), (2, 2), "same")
    assert (c2.filters, c2.kernel_size, c2.strides, c2.padding) == (32, (4, 4), (2, 2), "valid")
    again, other = dpsgd.make_cnn(seed=4), dpsgd.make_cnn(seed=5)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.get_weights()[0], other.get_weights()[0])
    dpsgd.reinitialize(other, 4)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_reinitialize_of_an_mlp_is_unchanged():
    """Dense-only models keep the weights they had before Conv2D support (per-layer seeds, 999 for the last)."""
    model = dpsgd.make_mlp(64, 10, (16, 16), seed=7)
    for i, layer in enumerate(model.layers):
        init = tf.keras.initializers.GlorotUniform(seed=7000 + (999 if i == 2 else i))
        np.testing.assert_array_equal(layer.kernel.numpy(), init(layer.kernel.shape).numpy())


@pytest.mark.parametrize("layers,match", [
    ([L.Reshape((28, 28, 1)), L.Conv2D(4, 3), L.Dropout(0.5), L.Flatten(), L.Dense(10)], "Dense layers only.*Dropout"),
    ([L.Reshape((28, 28, 1)), L.Conv2D(4, 3, dilation_rate=2), L.Flatten(), L.Dense(10)], "without dilation"),
    ([L.Reshape((28, 28, 1)), L.Conv2D(4, 3), L.Dense(10)], "Dense layer .* must take 2-D inputs"),
    ([L.Reshape((28, 28, 1)), L.Conv2D(4, 3), L.Flatten(), L.Dense(10, activation="softmax")], "last layer must be"),
    ([L.Reshape((28, 28, 1)), L.BatchNormalization(), L.Flatten(), L.Dense(10)], "BatchNormalization"),
])
def test_unsupported_cnns_are_rejected_clearly(mnist, layers, match):
    model = tf.keras.Sequential([tf.keras.Input(shape=(784,))] + layers)
    with pytest.raises(TypeError, match=match):
        dpsgd.train_dpsgd(model, mnist.x_train[:64], mnist.y_train[:64], epochs=1, batch_size=32, l2_norm_clip=1.0,
                          noise_multiplier=1.0, learning_rate=0.5)


def test_image_inputs_and_wrong_widths_are_rejected(mnist):
    four_d = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), L.Conv2D(4, 3), L.Flatten(), L.Dense(10)])
    with pytest.raises(TypeError, match="2-D inputs"):
        dpsgd.trainer_layers(four_d)
    with pytest.raises(ValueError, match="x must have 784 features.*got 64"):
        dpsgd.train_dpsgd(dpsgd.make_cnn(), np.zeros((10, 64), np.float32), np.zeros(10, np.int64), epochs=1,
                          batch_size=5, l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5)
    with pytest.raises(ValueError, match="conv_norms must be one of"):
        dpsgd.ghost_clipped_sum(dpsgd.make_cnn(), mnist.x_train[:4], mnist.y_train[:4], 1.0, conv_norms="fast")


# ---------------------------------------------------------------------------------------------
# The trainer's step: against the written-out step, tensorflow-privacy and plain backprop
# ---------------------------------------------------------------------------------------------


def test_one_cnn_step_of_the_trainer_is_noisy_gradient_without_noise(mnist):
    x, y = mnist.x_train[:40], mnist.y_train[:40]
    trained, manual = dpsgd.make_cnn(seed=2), dpsgd.make_cnn(seed=2)
    grads = dpsgd.noisy_gradient(dpsgd.per_example_gradients(manual, x, y), 0.5, 0.0, 40)
    for var, g in zip(manual.trainable_variables, grads):
        var.assign_sub((0.7 * g).astype(np.float32))
    run = dpsgd.train_dpsgd(trained, x, y, epochs=1, batch_size=40, l2_norm_clip=0.5, noise_multiplier=0.0,
                            learning_rate=0.7, seed=0)
    assert run.steps == 1
    for a, b in zip(trained.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_one_clipped_cnn_step_matches_tensorflow_privacy(mnist):
    """The reference library: DPKerasSGDOptimizer, one example per microbatch, one full batch, no noise."""
    x, y = mnist.x_train[:32], mnist.y_train[:32]
    ours = dpsgd.make_cnn(seed=6)
    dpsgd.train_dpsgd(ours, x, y, epochs=1, batch_size=32, l2_norm_clip=0.3, noise_multiplier=0.0,
                      learning_rate=0.5, seed=0)
    assert dpsgd.ghost_clipped_sum(dpsgd.make_cnn(seed=6), x, y, 0.3)[1].min() > 0.3  # every example clipped
    theirs = dpsgd.fit_tf_privacy(dpsgd.make_cnn(seed=6), x, y, optimizer="DPKerasSGDOptimizer", epochs=1,
                                  batch_size=32, num_microbatches=32, l2_norm_clip=0.3, noise_multiplier=0.0,
                                  learning_rate=0.5, seed=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make", ["mlp", "cnn"])
def test_the_non_private_path_is_ordinary_backprop_and_computes_no_norms(mnist, digits, make, monkeypatch):
    """l2_norm_clip None: one full batch step equals Keras SGD on the mean loss, and the norm graph never runs."""
    ds = mnist if make == "cnn" else digits
    x, y = ds.x_train[:50], ds.y_train[:50]

    def build():
        return dpsgd.make_cnn(seed=3) if make == "cnn" else dpsgd.make_mlp(64, 10, (32,), seed=3)

    calls = []
    original = dpsgd._ghost_graph
    monkeypatch.setattr(dpsgd, "_ghost_graph", lambda *a, **k: calls.append(1) or original(*a, **k))
    ours = build()
    dpsgd.train_dpsgd(ours, x, y, epochs=1, batch_size=50, l2_norm_clip=None, noise_multiplier=0.0,
                      learning_rate=0.4, seed=0)
    assert calls == []  # traced without the clipping graph
    keras = build()
    keras.compile(optimizer=tf.keras.optimizers.SGD(0.4),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), keras.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_cnn_learns_privately_and_is_reproducible(mnist):
    accs = []
    for seed in (0, 0):
        model = dpsgd.make_cnn(seed=0)
        result = dpsgd.train_dpsgd(model, mnist.x_train, mnist.y_train, epochs=3, batch_size=256, l2_norm_clip=1.0,
                                   noise_multiplier=1.0, learning_rate=2.0, seed=seed)
        accs.append(dpsgd.accuracy(model, mnist.x_test, mnist.y_test))
    assert accs[0] == accs[1]
    assert result.losses[-1] < result.losses[0]
    assert accs[0] > 0.5  # chance is 0.1


# ---------------------------------------------------------------------------------------------
# The noise: one N(0, 1) vector per step, split over the variables
# ---------------------------------------------------------------------------------------------


def _noise_failures(delta: np.ndarray, std: float, sizes: list[int]) -> list[str]:
    """What is wrong with ``delta`` as i.i.d. N(0, std^2) coordinates (an empty list if nothing)."""
    failures = []
    n = len(delta)
    if abs(delta.std() / std - 1) > 5 / np.sqrt(2 * n):
        failures.append(f"scale: sd {delta.std():.4g}, expected {std:.4g}")
    if stats.kstest(delta / std, "norm").pvalue < 1e-3:
        failures.append("not normal")
    starts = np.cumsum([0] + sizes[:-1])
    for i, j in zip(range(len(sizes)), range(1, len(sizes))):  # consecutive variables: independent blocks
        k = min(sizes[i], sizes[j])
        a, b = delta[starts[i]:starts[i] + k], delta[starts[j]:starts[j] + k]
        if k >= 10 and abs(np.corrcoef(a, b)[0, 1]) > 5 / np.sqrt(k):
            failures.append(f"variables {i} and {j} correlated")
    if abs(np.corrcoef(delta[:-1], delta[1:])[0, 1]) > 5 / np.sqrt(n):
        failures.append("neighbouring coordinates correlated")
    return failures


def test_trainer_noise_is_iid_with_the_calibrated_variance_across_coordinates_variables_and_steps(digits):
    """Noise alone (clip 1e-7: the clipped gradients add at most 2e-4 in all): after T steps every coordinate
    moved by lr / b * (sum of T noise draws) ~ N(0, T (lr / b * sigma * C)^2) if the draws are independent
    across steps (a draw reused every step would give T^2), coordinates and variables, and with two seeds
    the moves are uncorrelated."""
    x, y = digits.x_train[:200], digits.y_train[:200]
    clip, sigma, b, lr, epochs = 1e-7, 1e6, 20, 20.0, 5
    steps = epochs * 200 // b
    std = np.sqrt(steps) * lr / b * sigma * clip
    deltas = []
    for seed in (1, 2):
        model = dpsgd.make_mlp(64, 10, (32,), seed=0)
        before = np.concatenate([w.ravel() for w in model.get_weights()])
        run = dpsgd.train_dpsgd(model, x, y, epochs=epochs, batch_size=b, l2_norm_clip=clip, noise_multiplier=sigma,
                                learning_rate=lr, seed=seed)
        assert run.steps == steps
        deltas.append(np.concatenate([w.ravel() for w in model.get_weights()]) - before)
    sizes = [int(np.prod(w.shape)) for w in model.trainable_variables]
    for delta in deltas:
        assert _noise_failures(delta, std, sizes) == []
    assert abs(np.corrcoef(deltas[0], deltas[1])[0, 1]) < 5 / np.sqrt(len(deltas[0]))


def test_the_noise_checks_reject_reused_or_miscalibrated_noise():
    """The checks above have power: one draw reused for every step (sd sqrt(T) times too large), the same
    vector split twice (variables correlated), and a uniform instead of a Gaussian all fail."""
    rng = np.random.default_rng(0)
    sizes = [2048, 32, 320, 10]
    n = sum(sizes)
    assert _noise_failures(rng.normal(size=n), 1.0, sizes) == []
    assert any("scale" in f for f in _noise_failures(rng.normal(size=n) * np.sqrt(50), 1.0, sizes))
    z = rng.normal(size=n)
    reused = np.concatenate([z[:2048], z[:32], z[:320], z[:10]])
    assert any("correlated" in f for f in _noise_failures(reused, 1.0, sizes))
    assert "not normal" in _noise_failures(rng.uniform(-np.sqrt(3), np.sqrt(3), size=n), 1.0, sizes)


def test_box_muller_noise_is_standard_normal_and_independent():
    """The trainer's N(0, 1) draws (Box-Muller over Philox uniforms): right moments and shape, and the cosine
    and sine halves, which share each pair's radius, independent (their squares uncorrelated too)."""
    z = dpsgd._standard_normal(200_001, tf.constant([3, 4], tf.int64)).numpy().astype(np.float64)
    assert z.shape == (200_001,) and np.all(np.isfinite(z))
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / np.sqrt(len(z)) and abs(z.var() - 1) < 5 * np.sqrt(2 / len(z))
    half = len(z) // 2
    cos_half, sin_half = z[:half], z[half:2 * half]
    for a, b in [(cos_half, sin_half), (cos_half ** 2, sin_half ** 2)]:
        assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(half)
    other = dpsgd._standard_normal(200_001, tf.constant([3, 5], tf.int64)).numpy()
    assert abs(np.corrcoef(z, other)[0, 1]) < 5 / np.sqrt(len(z))
    # Power: a transform that reuses the radius's uniform for the angle correlates the squares.
    u = np.random.default_rng(0).uniform(size=half)
    r = np.sqrt(-2 * np.log1p(-u))
    assert abs(np.corrcoef((r * np.cos(2 * np.pi * u)) ** 2, (r * np.sin(2 * np.pi * u)) ** 2)[0, 1]) > 5 / np.sqrt(half)


def test_one_clipped_cnn_step_matches_dpsequential(mnist):
    """tensorflow-privacy's DPSequential on the same CNN (Conv2D is not in its registry: per-microbatch path)."""
    x, y = mnist.x_train[:32], mnist.y_train[:32]
    ours = dpsgd.make_cnn(seed=6)
    dpsgd.train_dpsgd(ours, x, y, epochs=1, batch_size=32, l2_norm_clip=0.3, noise_multiplier=0.0,
                      learning_rate=0.5, seed=0)
    theirs = dpsgd.fit_tf_privacy(dpsgd.make_cnn(seed=6), x, y, optimizer="DPSequential", epochs=1, batch_size=32,
                                  l2_norm_clip=0.3, noise_multiplier=0.0, learning_rate=0.5, seed=0)
    assert [type(layer).__name__ for layer in theirs.layers] == [type(layer).__name__ for layer in ours.layers]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The precomputed MNIST-28 sweep (data/sweeps/dpsgd_cnn.npz)
# ---------------------------------------------------------------------------------------------


def test_cnn_sweep_matches_its_recipe_and_reproduces_a_point(mnist):
    sweep = dpsgd.load_cnn_sweep()
    cfg = dpsgd.CnnSweepConfig()
    assert list(sweep["models"]) == list(dpsgd.CNN_SWEEP_MODELS)
    assert sweep["accuracy"].shape == (2, len(cfg.targets), len(cfg.seeds))
    assert sweep["nonprivate_accuracy"].shape == (2, len(cfg.seeds))
    assert int(sweep["num_examples"]) == len(mnist.x_train) and int(sweep["epochs"]) == cfg.epochs
    for eps, sigma in zip(sweep["target_epsilon"], sweep["noise_multiplier"]):
        spent = dpsgd.dpsgd_epsilon(len(mnist.x_train), cfg.batch_size, float(sigma), cfg.epochs, cfg.delta)
        assert spent <= eps * 1.001 and spent >= eps * 0.99
    assert np.all(sweep["nonprivate_accuracy"] > 0.85)  # no diverged reference (chance is 0.1)
    i = list(sweep["target_epsilon"]).index(8.0)
    sigma, acc = dpsgd.train_cnn_point(mnist, dpsgd.make_sweep_model("mlp", 0, cfg), 8.0, int(sweep["seeds"][1]), cfg)
    assert sigma == pytest.approx(sweep["noise_multiplier"][i], rel=1e-5)
    assert acc == pytest.approx(sweep["accuracy"][1, i, 1], abs=1e-6)


def test_notebook_conv_ghost_norm_equals_labkits_per_example_norm():
    """The notebook's conv_ghost_sq_norm (Gram matrices of patches and output gradients) equals the squared
    norm of the per-example kernel gradient that labkit's trainer forms, on a strided convolution."""
    from notebook_source import notebook_function

    ghost = notebook_function("04", "conv_ghost_sq_norm", {"np": np})
    rng = np.random.default_rng(3)
    layer = L.Conv2D(5, 3, strides=2, use_bias=False)
    layer.build((None, 9, 9, 2))
    a = rng.normal(size=(4, 9, 9, 2)).astype(np.float32)
    g = rng.normal(size=(4, 4, 4, 5)).astype(np.float32)  # VALID, stride 2: (9 - 3) // 2 + 1 = 4 positions a side
    sq, per_example = dpsgd._conv_sq_norms(layer, tf.constant(a), tf.constant(g), "per_example")
    assert per_example is not None
    for i in range(4):
        patches = np.stack([a[i, 2 * r:2 * r + 3, 2 * c:2 * c + 3, :].ravel() for r in range(4) for c in range(4)])
        grads = g[i].reshape(16, 5).astype(np.float64)
        assert np.isclose(ghost(patches.astype(np.float64), grads), float(sq.numpy()[i]), rtol=1e-4)
        assert np.isclose(ghost(patches, grads), np.sum((patches.T @ grads) ** 2), rtol=1e-6)
