"""labkit.dp.dpsgd: the clipping-equality test, the trainer against Keras and tensorflow-privacy, the guards."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from labkit.runtime import quiet_environment, silence_python_noise

quiet_environment()
silence_python_noise()

import tensorflow as tf  # noqa: E402  (pinned: a missing TensorFlow is a failure, not a skip)

from labkit import dp  # noqa: E402
from labkit.dp import dpsgd  # noqa: E402
from labkit.data import load  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def _model(hidden, seed=0, use_bias=True, num_features=64, num_classes=10):
    layers = [tf.keras.Input(shape=(num_features,))]
    layers += [tf.keras.layers.Dense(h, activation="relu", use_bias=use_bias) for h in hidden]
    layers.append(tf.keras.layers.Dense(num_classes, use_bias=use_bias))
    model = tf.keras.Sequential(layers)
    dpsgd.reinitialize(model, seed)
    return model


# ---------------------------------------------------------------------------------------------
# The clipping-equality test: ghost norms == naive per-example computation, to 1e-5
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden,use_bias,clip", [
    ((256, 256), True, 1.0),     # the lab's MLP, most examples clipped
    ((32,), True, 100.0),        # nothing clipped: the plain gradient sum
    ((16, 8, 8), False, 0.3),    # no biases, three hidden layers
    ((), True, 0.5),             # softmax regression
])
def test_ghost_clipped_sum_equals_naive_per_example_computation(digits, hidden, use_bias, clip):
    model = _model(hidden, seed=3, use_bias=use_bias)
    x, y = digits.x_train[:48], digits.y_train[:48]
    naive_sum, naive_norms = dpsgd.clip_and_sum(dpsgd.per_example_gradients(model, x, y), clip)
    fast_sum, fast_norms = dpsgd.ghost_clipped_sum(model, x, y, clip)
    np.testing.assert_allclose(fast_norms, naive_norms, rtol=1e-5, atol=1e-5)
    assert len(fast_sum) == len(naive_sum) == len(model.trainable_variables)
    for fast, naive, var in zip(fast_sum, naive_sum, model.trainable_variables):
        assert fast.shape == tuple(var.shape)
        np.testing.assert_allclose(fast, naive, rtol=1e-5, atol=1e-5)
    if clip == 100.0:
        assert naive_norms.max() < clip  # the case really is "nothing clipped"
    else:
        assert naive_norms.max() > clip  # the case really exercises clipping


def test_per_example_gradients_sum_to_the_batch_gradient(digits):
    model = _model((16,), seed=1)
    x, y = digits.x_train[:20], digits.y_train[:20]
    per_example = dpsgd.per_example_gradients(model, x, y)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x)))
    for pe, g in zip(per_example, tape.gradient(loss, model.trainable_variables)):
        np.testing.assert_allclose(pe.sum(axis=0), g.numpy(), rtol=1e-5, atol=1e-6)


def test_clip_and_sum_bounds_each_contribution():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(50, 3, 4)) * rng.uniform(0.1, 10, size=(50, 1, 1)), rng.normal(size=(50, 4))]
    summed, norms = dpsgd.clip_and_sum(grads, 1.5)
    flat = np.concatenate([g.reshape(50, -1) for g in grads], axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(flat, axis=1))
    clipped = flat * np.minimum(1, 1.5 / norms)[:, None]
    assert np.all(np.linalg.norm(clipped, axis=1) <= 1.5 + 1e-12)
    np.testing.assert_allclose(np.concatenate([s.ravel() for s in summed]), clipped.sum(axis=0))


def test_add_gaussian_noise_has_the_calibrated_standard_deviation():
    rng = np.random.default_rng(1)
    noisy = dpsgd.add_gaussian_noise([np.zeros((200, 100))], l2_norm_clip=0.5, noise_multiplier=3.0, rng=rng)[0]
    assert abs(noisy.std() - 1.5) < 0.02 and abs(noisy.mean()) < 0.02


def test_dpsgd_step_without_noise_is_a_clipped_sgd_step(digits):
    model = _model((8,), seed=2)
    x, y = digits.x_train[:10], digits.y_train[:10]
    before = [v.numpy().copy() for v in model.trainable_variables]
    summed, _ = dpsgd.clip_and_sum(dpsgd.per_example_gradients(model, x, y), 0.1)
    norms = dpsgd.dpsgd_step(model, x, y, l2_norm_clip=0.1, noise_multiplier=0.0, learning_rate=0.5,
                             rng=np.random.default_rng(0))
    assert norms.shape == (10,)
    for b, s, v in zip(before, summed, model.trainable_variables):
        np.testing.assert_allclose(v.numpy(), b - 0.5 / 10 * s, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The fast trainer
# ---------------------------------------------------------------------------------------------


def test_one_full_batch_step_matches_keras_sgd(digits):
    """No clipping, no noise, one batch of everything: exactly Keras's SGD step on the mean loss."""
    x, y = digits.x_train[:200], digits.y_train[:200]
    ours = _model((32,), seed=4)
    keras = _model((32,), seed=4)
    dpsgd.train_dpsgd(ours, x, y, epochs=1, batch_size=200, l2_norm_clip=None, noise_multiplier=0.0,
                      learning_rate=0.3, sampling="shuffle")
    keras.compile(optimizer=tf.keras.optimizers.SGD(0.3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras.fit(x, y, batch_size=200, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), keras.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_one_clipped_step_matches_tensorflow_privacy(digits):
    """With clipping active and no noise, one full-batch step equals DPKerasSGDOptimizer's."""
    x, y = digits.x_train[:60], digits.y_train[:60]
    ours = _model((16,), seed=5)
    dpsgd.train_dpsgd(ours, x, y, epochs=1, batch_size=60, l2_norm_clip=0.2, noise_multiplier=0.0,
                      learning_rate=0.5, sampling="shuffle")
    naive_norms = dpsgd.clip_and_sum(dpsgd.per_example_gradients(_model((16,), seed=5), x, y), 0.2)[1]
    assert naive_norms.min() > 0.2  # every example is clipped
    theirs = dpsgd.fit_tf_privacy(_model((16,), seed=5), x, y, optimizer="DPKerasSGDOptimizer", epochs=1,
                                  batch_size=60, num_microbatches=60, l2_norm_clip=0.2, noise_multiplier=0.0,
                                  learning_rate=0.5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_trainer_noise_has_the_calibrated_scale(digits):
    """Same seed with and without noise: one step differs by lr / batch * N(0, (sigma * C)^2)."""
    x, y = digits.x_train[:300], digits.y_train[:300]
    runs = {}
    for sigma in (0.0, 2.0):
        model = _model((64,), seed=6)
        dpsgd.train_dpsgd(model, x, y, epochs=1, batch_size=300, l2_norm_clip=0.5, noise_multiplier=sigma,
                          learning_rate=0.3, sampling="poisson", seed=11)
        runs[sigma] = np.concatenate([w.ravel() for w in model.get_weights()])
    noise = (runs[0.0] - runs[2.0]) * 300 / 0.3
    assert abs(noise.std() / (2.0 * 0.5) - 1) < 0.03
    assert abs(noise.mean()) < 0.03


def test_trainer_is_deterministic_and_learns(digits):
    weights = []
    for seed in (0, 0, 1):
        model = _model((32,), seed=0)
        result = dpsgd.train_dpsgd(model, digits.x_train, digits.y_train, epochs=3, batch_size=64,
                                   l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=1.0, seed=seed)
        weights.append(model.get_weights()[0])
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])
    assert result.steps == math.ceil(3 * len(digits.x_train) / 64)
    assert result.losses[-1] < result.losses[0]
    assert dpsgd.accuracy(model, digits.x_test, digits.y_test) > 0.5


def test_train_result_accounts_for_its_sampling(digits):
    model = _model((8,), seed=0)
    common = dict(epochs=2, batch_size=100, l2_norm_clip=1.0, noise_multiplier=1.3, learning_rate=0.5)
    poisson = dpsgd.train_dpsgd(model, digits.x_train, digits.y_train, sampling="poisson", **common)
    shuffle = dpsgd.train_dpsgd(model, digits.x_train, digits.y_train, sampling="shuffle", **common)
    n = len(digits.x_train)
    assert poisson.epsilon(1e-5) == pytest.approx(dp.dpsgd_epsilon(n, 100, 1.3, 2, 1e-5))
    assert shuffle.epsilon(1e-5) == pytest.approx(dp.poisson_gaussian_epsilon(1.0, 1.3, 2, 1e-5))
    assert shuffle.epsilon(1e-5) > poisson.epsilon(1e-5)  # no amplification claimed
    plain = dpsgd.train_dpsgd(model, digits.x_train, digits.y_train, epochs=1, batch_size=100, l2_norm_clip=None,
                              noise_multiplier=0.0, learning_rate=0.1)
    assert plain.epsilon(1e-5) == math.inf and not plain.private


def test_progress_is_reported_per_epoch(digits):
    calls = []
    dpsgd.train_dpsgd(_model((8,)), digits.x_train, digits.y_train, epochs=3, batch_size=200, l2_norm_clip=1.0,
                      noise_multiplier=1.0, learning_rate=0.5, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), "epochs must be an integer >= 1; got 0"),
    (dict(batch_size=5000), "batch_size must be an integer from 1 to 1347"),
    (dict(l2_norm_clip=0.0), r"l2_norm_clip must be in \(0, inf\); got 0.0"),
    (dict(noise_multiplier=-1.0), r"noise_multiplier must be in \[0, inf\); got -1.0"),
    (dict(l2_norm_clip=None, noise_multiplier=1.0), "noise_multiplier must be 0 when l2_norm_clip is None"),
    (dict(sampling="fixed"), "sampling must be one of 'poisson', 'shuffle'"),
    (dict(learning_rate=float("nan")), "learning_rate must be a number; got nan"),
])
def test_trainer_rejects_bad_input_with_the_parameter_name(digits, kwargs, match):
    args = dict(epochs=1, batch_size=64, l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        dpsgd.train_dpsgd(_model((8,)), digits.x_train, digits.y_train, **args)


def test_trainer_rejects_layers_it_cannot_handle(digits):
    conv = tf.keras.Sequential([tf.keras.Input(shape=(64,)), tf.keras.layers.Dense(8), tf.keras.layers.Dropout(0.5),
                                tf.keras.layers.Dense(10)])
    with pytest.raises(TypeError, match="Dense layers only.*Dropout"):
        dpsgd.train_dpsgd(conv, digits.x_train, digits.y_train, epochs=1, batch_size=64, l2_norm_clip=1.0,
                          noise_multiplier=1.0, learning_rate=0.5)
    softmax = tf.keras.Sequential([tf.keras.Input(shape=(64,)), tf.keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(TypeError, match="last layer must be linear"):
        dpsgd.ghost_clipped_sum(softmax, digits.x_train[:4], digits.y_train[:4], 1.0)
    with pytest.raises(ValueError, match="x must have 10 features.*got 64"):
        dpsgd.train_dpsgd(_model((8,), num_features=10), digits.x_train, digits.y_train, epochs=1, batch_size=64,
                          l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5)


# ---------------------------------------------------------------------------------------------
# tensorflow-privacy guards
# ---------------------------------------------------------------------------------------------


def test_check_microbatches_catches_the_last_batch_trap():
    dpsgd.check_microbatches(1347, 449, 449)  # 1347 = 3 x 449: every batch splits
    dpsgd.check_microbatches(1200, 32, 16)  # last batch of 16
    with pytest.raises(ValueError, match="last batch of 3, which 32 microbatches cannot split"):
        dpsgd.check_microbatches(1347, 32, 32)
    with pytest.raises(ValueError, match="num_microbatches must divide batch_size"):
        dpsgd.check_microbatches(1000, 30, 7)
    with pytest.raises(ValueError, match="num_microbatches must be an integer from 1 to 30"):
        dpsgd.check_microbatches(1000, 30, 31)


def test_fit_tf_privacy_raises_a_clear_error_not_a_keras_trace(digits):
    with pytest.raises(ValueError, match="drop_remainder=True"):
        dpsgd.fit_tf_privacy(_model((8,)), digits.x_train, digits.y_train, epochs=1, batch_size=32,
                             l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        dpsgd.fit_tf_privacy(_model((8,)), digits.x_train, digits.y_train, optimizer="Adam", epochs=1,
                             batch_size=32, l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5)


@pytest.mark.slow
def test_fit_tf_privacy_trains_both_paths(digits):
    x, y = digits.x_train[:600], digits.y_train[:600]
    for optimizer in dpsgd.TF_PRIVACY_OPTIMIZERS:
        net = dpsgd.fit_tf_privacy(_model((32,)), x, y, optimizer=optimizer, epochs=3, batch_size=40,
                                   l2_norm_clip=1.0, noise_multiplier=0.5, learning_rate=1.0)
        assert dpsgd.accuracy(net, digits.x_test, digits.y_test) > 0.5, optimizer
    net = dpsgd.fit_tf_privacy(_model((32,)), digits.x_train, digits.y_train, epochs=1, batch_size=32,
                               l2_norm_clip=1.0, noise_multiplier=0.5, learning_rate=1.0, drop_remainder=True)
    # 1347 = 42 x 32 + 3: the optimizer applied 42 steps, so the short last batch really was dropped
    assert int(net.optimizer.iterations.numpy()) == len(digits.x_train) // 32 == 42
    assert dpsgd.accuracy(net, digits.x_test, digits.y_test) > 0.3  # it learned (chance is 0.1)


def _counting_default_registry(monkeypatch):
    """Make tensorflow-privacy's default layer registry count, inside the graph, every Dense norm computed.

    The counter is a TensorFlow variable incremented by the registry's Dense function each time a
    training step runs it, so it counts steps that really took the fast-clipping path (the
    microbatch fallback never calls the registry).
    """
    from tensorflow_privacy.privacy.fast_gradient_clipping import layer_registry

    calls = tf.Variable(0, dtype=tf.int64, trainable=False)
    original = layer_registry.make_default_layer_registry

    def counting_registry():
        registry = original()
        dense_fn = registry.lookup(tf.keras.layers.Dense(1))

        def counted(*args, **kwargs):
            calls.assign_add(1)
            return dense_fn(*args, **kwargs)

        registry.insert(tf.keras.layers.Dense, counted)
        return registry

    monkeypatch.setattr(layer_registry, "make_default_layer_registry", counting_registry)
    return calls


def test_dpsequential_takes_the_fast_clipping_path(digits, monkeypatch):
    """Erratum 2: every training step of DPSequential runs the registry's Dense norm function."""
    calls = _counting_default_registry(monkeypatch)
    x, y = digits.x_train[:120], digits.y_train[:120]
    net = dpsgd.fit_tf_privacy(_model((16,)), x, y, optimizer="DPSequential", epochs=2, batch_size=40,
                               l2_norm_clip=0.2, noise_multiplier=1.0, learning_rate=0.5, seed=0)
    steps = int(net.optimizer.iterations.numpy())
    assert steps == 2 * 120 // 40 == 6
    assert int(calls.numpy()) == steps * 2  # two Dense layers, each step


def test_dpsequential_fast_clipping_step_matches_the_ghost_norm_trainer(digits):
    """With clipping active and no noise, one full-batch DPSequential step equals train_dpsgd's."""
    x, y = digits.x_train[:60], digits.y_train[:60]
    ours = _model((16,), seed=5)
    dpsgd.train_dpsgd(ours, x, y, epochs=1, batch_size=60, l2_norm_clip=0.2, noise_multiplier=0.0,
                      learning_rate=0.5, sampling="shuffle", seed=0)
    assert dpsgd.ghost_clipped_sum(_model((16,), seed=5), x, y, 0.2)[1].min() > 0.2  # every example clipped
    theirs = dpsgd.fit_tf_privacy(_model((16,), seed=5), x, y, optimizer="DPSequential", epochs=1, batch_size=60,
                                  l2_norm_clip=0.2, noise_multiplier=0.0, learning_rate=0.5, seed=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Poisson sampling, observed in the batches the trainer really used (erratum 9)
# ---------------------------------------------------------------------------------------------

P_THRESHOLD = 1e-3  # reject "the batches are Poisson samples" when a test's p-value falls below this


def _recorded_run(monkeypatch, n, batch_size, epochs, sampling, seed=3, num_examples=None):
    """Train on ``n`` rows whose first feature is the row's index and record, at every step that
    really runs, which rows entered the clipped-gradient computation. Returns (batches, result)."""
    batches = []
    original = dpsgd._ghost_graph

    def recording(layers, x, y, clip):
        tf.py_function(lambda ids: batches.append(ids.numpy().astype(np.int64)), [x[:, 0]], [])
        return original(layers, x, y, clip)

    monkeypatch.setattr(dpsgd, "_ghost_graph", recording)
    x = np.zeros((n, 2), np.float32)
    x[:, 0] = np.arange(n)
    x[:, 1] = np.random.default_rng(0).normal(size=n)
    y = (x[:, 1] > 0).astype(np.int64)
    model = dpsgd.make_mlp(2, 2, (), seed=0)  # a fresh model: its epoch function is traced with the recorder
    result = dpsgd.train_dpsgd(model, x, y, epochs=epochs, batch_size=batch_size, l2_norm_clip=1.0,
                               noise_multiplier=1.0, learning_rate=1e-3, sampling=sampling, seed=seed,
                               num_examples=num_examples)
    return batches, result


def _observed_batches(monkeypatch, n, batch_size, epochs, sampling, seed=3):
    """A (steps, n) boolean inclusion matrix of the batches that really ran (see :func:`_recorded_run`)."""
    batches, result = _recorded_run(monkeypatch, n, batch_size, epochs, sampling, seed)
    assert len(batches) == result.steps == math.ceil(epochs * n / batch_size)
    included = np.zeros((len(batches), n), bool)
    for t, ids in enumerate(batches):
        assert len(np.unique(ids)) == len(ids)  # no example twice in one batch
        included[t, ids] = True
    return included


def _binomial_fit_p(sizes, n, q):
    """Chi-square goodness-of-fit p-value of batch sizes against Binomial(n, q), bins pooled to >= 5 expected."""
    pmf = stats.binom.pmf(np.arange(n + 1), n, q)
    observed = np.bincount(sizes, minlength=n + 1).astype(float)
    edges, acc = [0], 0.0
    for k in range(n + 1):  # contiguous bins, each with expected count >= 5
        acc += pmf[k] * len(sizes)
        if acc >= 5:
            edges.append(k + 1)
            acc = 0.0
    edges[-1] = n + 1
    exp_bins = np.array([pmf[a:b].sum() for a, b in zip(edges[:-1], edges[1:])]) * len(sizes)
    obs_bins = np.array([observed[a:b].sum() for a, b in zip(edges[:-1], edges[1:])])
    assert len(exp_bins) >= 10
    return stats.chisquare(obs_bins, exp_bins).pvalue


def _independence_p_values(included, q):
    """p-values under "each example joins each batch independently with probability q".

    * ``rate``: all inclusions ~ Binomial(steps * n, q).
    * ``lag1``: disjoint step pairs (0, 1), (2, 3), ...: for every example and pair, in both ~
      Binomial(pairs * n, q^2), independent units under the hypothesis.
    * ``pair``: the fixed pair of examples 0 and 1 in the same step ~ Binomial(steps, q^2).
    """
    t, n = included.shape
    first, second = included[0:t - 1:2], included[1:t:2]
    return {
        "rate": stats.binomtest(int(included.sum()), t * n, q).pvalue,
        "lag1": stats.binomtest(int(np.sum(first & second)), first.size, q * q).pvalue,
        "pair": stats.binomtest(int(np.sum(included[:, 0] & included[:, 1])), t, q * q).pvalue,
    }


def test_poisson_batch_sizes_follow_binomial_n_q(monkeypatch):
    """Five seeded streams of 3000 steps each; Bonferroni keeps the family's false-alarm rate at P_THRESHOLD
    (one fixed seed would pass or fail on the luck of that seed: seed 3 alone gives p = 5e-4)."""
    n, b, seeds = 200, 20, (3, 4, 5, 6, 7)
    ps = [_binomial_fit_p(_observed_batches(monkeypatch, n, b, epochs=300, sampling="poisson", seed=seed).sum(axis=1),
                          n, b / n) for seed in seeds]
    assert min(ps) > P_THRESHOLD / len(seeds), f"batch sizes do not fit Binomial({n}, {b / n}): chi-square p = {ps}"


def test_poisson_inclusions_are_independent_across_steps(monkeypatch):
    n, b = 200, 20
    included = _observed_batches(monkeypatch, n, b, epochs=300, sampling="poisson")
    for name, p in _independence_p_values(included, b / n).items():
        assert p > P_THRESHOLD, f"{name}: p = {p:.2g}"


def test_the_sampling_tests_reject_shuffled_batches(monkeypatch):
    """The tests above have power: shuffled fixed-size batches (not Poisson) fail them."""
    n, b = 200, 20
    included = _observed_batches(monkeypatch, n, b, epochs=30, sampling="shuffle")  # 300 steps
    assert np.all(included.sum(axis=1) == b)
    assert _binomial_fit_p(included.sum(axis=1), n, b / n) < P_THRESHOLD
    assert _independence_p_values(included, b / n)["lag1"] < P_THRESHOLD  # once per epoch: rarely twice in a row


# ---------------------------------------------------------------------------------------------
# A public nominal size fixes the schedule (num_examples): the true count is private under add/remove
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows,nominal", [(200, 100), (200, 400), (150, 150)])
def test_poisson_rate_and_step_count_follow_num_examples_not_the_rows(monkeypatch, rows, nominal):
    b, epochs = 20, 40
    batches, result = _recorded_run(monkeypatch, rows, b, epochs, "poisson", num_examples=nominal)
    q, steps = b / nominal, math.ceil(epochs * nominal / b)
    # The steps that really ran, counted inside the graph, follow the nominal size.
    assert len(batches) == result.steps == steps == dp.dpsgd_steps(nominal, b, epochs)
    assert result.num_examples == nominal and result.sampling_probability == pytest.approx(q)
    # Every row joined every step with probability b / nominal, whatever the number of rows.
    included = np.zeros((len(batches), rows), bool)
    for t, ids in enumerate(batches):
        included[t, ids] = True
    assert stats.binomtest(int(included.sum()), included.size, q).pvalue > P_THRESHOLD
    other = b / rows if rows != nominal else b / (2 * nominal)  # the rate a len(x) schedule would use
    assert stats.binomtest(int(included.sum()), included.size, other).pvalue < P_THRESHOLD
    # The accountant is asked about the same schedule.
    assert result.epsilon(1e-5) == pytest.approx(dp.dpsgd_epsilon(nominal, b, 1.0, epochs, 1e-5))


@pytest.mark.parametrize("rows,nominal", [(200, 100), (90, 100), (230, 230)])
def test_shuffled_batches_per_epoch_follow_num_examples(monkeypatch, rows, nominal):
    b, epochs = 20, 3
    batches, result = _recorded_run(monkeypatch, rows, b, epochs, "shuffle", num_examples=nominal)
    per_epoch = math.ceil(nominal / b)
    assert len(batches) == result.steps == epochs * per_epoch
    for e in range(epochs):
        seen = np.concatenate(batches[e * per_epoch:(e + 1) * per_epoch])
        assert len(np.unique(seen)) == len(seen) == min(rows, per_epoch * b)  # each row at most once per epoch


def test_num_examples_defaults_to_the_rows_given(monkeypatch):
    batches, result = _recorded_run(monkeypatch, 120, 20, 2, "poisson")
    assert result.num_examples == 120 and len(batches) == result.steps == 12


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-5, ValueError), (2.5, TypeError), (100.0, TypeError),
                                        (True, TypeError), ("100", TypeError), (np.float64(100), TypeError)])
def test_num_examples_rejects_anything_but_a_positive_integer(digits, bad, error):
    # labkit._validate: a value of the wrong kind is a TypeError, an integer out of range a ValueError
    with pytest.raises(error, match=r"num_examples must be an integer( >= 1)?; got"):
        dpsgd.train_dpsgd(_model((8,)), digits.x_train, digits.y_train, epochs=1, batch_size=64, l2_norm_clip=1.0,
                          noise_multiplier=1.0, learning_rate=0.5, num_examples=bad)


def test_num_examples_bounds_the_batch_size_and_accepts_numpy_integers(digits):
    with pytest.raises(ValueError, match="batch_size must be an integer from 1 to 50"):
        dpsgd.train_dpsgd(_model((8,)), digits.x_train, digits.y_train, epochs=1, batch_size=64, l2_norm_clip=1.0,
                          noise_multiplier=1.0, learning_rate=0.5, num_examples=50)
    result = dpsgd.train_dpsgd(_model((8,)), digits.x_train[:300], digits.y_train[:300], epochs=1, batch_size=64,
                               l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5, seed=0,
                               num_examples=np.int64(640))
    assert result.num_examples == 640 and type(result.num_examples) is int and result.steps == 10


# ---------------------------------------------------------------------------------------------
# Noise from OS entropy unless a seed is passed (erratum 15)
# ---------------------------------------------------------------------------------------------


def _reseed_every_global_generator():
    """Fix NumPy's, Python's and TensorFlow's global seeds: an unseeded call must not depend on them."""
    tf.keras.utils.set_random_seed(0)


def test_unseeded_noise_comes_from_os_entropy_and_seeded_noise_repeats():
    zeros = [np.zeros(1000)]
    draws = []
    for _ in range(2):
        _reseed_every_global_generator()
        draws.append(dpsgd.add_gaussian_noise(zeros, 1.0, 1.0)[0])
    assert not np.allclose(draws[0], draws[1])
    seeded = [dpsgd.add_gaussian_noise(zeros, 1.0, 1.0, np.random.default_rng(7))[0] for _ in range(2)]
    np.testing.assert_array_equal(seeded[0], seeded[1])
    # an integer is a seed (as for every rng in labkit): the same noise as default_rng(7), not OS entropy
    np.testing.assert_array_equal(dpsgd.add_gaussian_noise(zeros, 1.0, 1.0, 7)[0], seeded[0])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, an integer seed >= 0 or None"):
        dpsgd.add_gaussian_noise(zeros, 1.0, 1.0, "7")


def test_unseeded_dpsgd_step_draws_fresh_noise(digits):
    x, y = digits.x_train[:8], digits.y_train[:8]
    weights = []
    for _ in range(2):
        model = _model((4,), seed=0)
        _reseed_every_global_generator()
        dpsgd.dpsgd_step(model, x, y, l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.1)
        weights.append(model.get_weights()[0])
    assert not np.allclose(weights[0], weights[1])


def test_unseeded_training_draws_fresh_noise_and_batches(digits):
    x, y = digits.x_train[:200], digits.y_train[:200]
    runs = {}
    for seed in (None, None, 5, 5):
        model = _model((8,), seed=0)
        _reseed_every_global_generator()
        dpsgd.train_dpsgd(model, x, y, epochs=1, batch_size=50, l2_norm_clip=1.0, noise_multiplier=1.0,
                          learning_rate=0.5, seed=seed)
        runs.setdefault(seed, []).append(model.get_weights()[0])
    assert not np.allclose(runs[None][0], runs[None][1])
    np.testing.assert_array_equal(runs[5][0], runs[5][1])
    with pytest.raises(ValueError, match=r"seed must be a numpy.random.Generator, an integer seed >= 0 or None; got -1"):
        dpsgd.train_dpsgd(_model((8,)), x, y, epochs=1, batch_size=50, l2_norm_clip=1.0, noise_multiplier=1.0,
                          learning_rate=0.5, seed=-1)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", dpsgd.TF_PRIVACY_OPTIMIZERS)
def test_tf_privacy_noise_follows_the_seed_or_os_entropy(digits, optimizer):
    """Seed None: fresh noise; a seed: the same run again. Under XLA (DPSequential's default)
    tensorflow-privacy's noise ignores the seed, and the seeded runs below would differ."""
    x, y = digits.x_train[:80], digits.y_train[:80]
    weights = []
    for seed in (None, None, 4, 4):
        _reseed_every_global_generator()
        net = dpsgd.fit_tf_privacy(_model((8,)), x, y, optimizer=optimizer, epochs=1, batch_size=40,
                                   l2_norm_clip=1.0, noise_multiplier=1.0, learning_rate=0.5, seed=seed)
        weights.append(net.get_weights()[0])
    assert not np.allclose(weights[0], weights[1])
    np.testing.assert_array_equal(weights[2], weights[3])


# ---------------------------------------------------------------------------------------------
# The source document's input noise
# ---------------------------------------------------------------------------------------------


def test_source_document_noise_is_one_value_per_row_with_variance_two_over_epsilon():
    data = np.random.default_rng(0).random((20000, 3))
    noisy, noise = dpsgd.source_document_noise(data, 0.5, np.random.default_rng(1))
    assert noise.shape == (20000,)
    np.testing.assert_allclose(noisy - data, np.repeat(noise[:, None], 3, axis=1))
    assert abs(noise.var() / (2 / 0.5) - 1) < 0.05
    with pytest.raises(ValueError, match=r"epsilon must be in \(0, inf\); got 0.0"):
        dpsgd.source_document_noise(data, 0.0, np.random.default_rng(1))


def test_noisy_digits_are_recovered_exactly_by_subtracting_the_row_minimum(digits):
    noisy, _ = dpsgd.source_document_noise(digits.x_train, 0.1, np.random.default_rng(0))
    assert (digits.x_train.min(axis=1) == 0).all()
    np.testing.assert_allclose(noisy - noisy.min(axis=1, keepdims=True), digits.x_train, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The trade-off sweep and the explorer's compute function
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep():
    return dpsgd.load_tradeoff_sweep()


def test_sweep_shape_and_trend(sweep):
    cfg = dpsgd.TradeoffConfig()
    assert sweep["accuracy"].shape == (len(cfg.targets), len(cfg.seeds)) and len(cfg.seeds) >= 3
    assert sweep["target_epsilon"][0] == 0.5 and sweep["target_epsilon"][-1] == 16
    mean = sweep["accuracy"].mean(axis=1)
    assert mean[0] < mean[-1] < sweep["nonprivate_accuracy"].mean()
    assert np.all(np.diff(sweep["noise_multiplier"]) < 0)
    for eps, sigma in zip(sweep["target_epsilon"][::5], sweep["noise_multiplier"][::5]):
        assert dp.dpsgd_epsilon(int(sweep["num_examples"]), cfg.batch_size, sigma, cfg.epochs, cfg.delta) <= eps * 1.001


def test_train_tradeoff_point_reproduces_the_sweep(sweep):
    i = 6
    sigma, acc = dpsgd.train_tradeoff_point(float(sweep["target_epsilon"][i]), int(sweep["seeds"][1]))
    assert sigma == pytest.approx(sweep["noise_multiplier"][i], rel=1e-5)
    assert acc == pytest.approx(sweep["accuracy"][i, 1], abs=1e-6)


def test_explorer_reports_a_live_accuracy_with_its_interval(sweep):
    """The button's accuracy is measured on 450 test digits: it carries its 95% interval, like every accuracy."""
    from labkit.dp.widgets import tradeoff_explorer

    explorer = tradeoff_explorer(target_epsilon=1.0, sweep=sweep)
    eps, _, acc = explorer.train_point()
    half = 1.96 * math.sqrt(acc * (1 - acc) / 450)
    status = explorer.status.value
    assert eps == 1.0 and f"test accuracy {acc:.3f} +/- {half:.3f} (95%, 450 test examples" in status, status


def test_tradeoff_at_looks_up_and_interpolates(sweep):
    grid = sweep["target_epsilon"]
    at = dpsgd.tradeoff_at(sweep, float(grid[3]))
    assert at.exact and at.accuracy == pytest.approx(sweep["accuracy"][3].mean())
    assert at.num_seeds == len(sweep["seeds"]) == 5 and f"over {at.num_seeds} seeds" in repr(at)
    assert at.low < at.accuracy < at.high
    mid = dpsgd.tradeoff_at(sweep, float(np.sqrt(grid[3] * grid[4])))
    assert not mid.exact
    assert mid.accuracy == pytest.approx((sweep["accuracy"][3].mean() + sweep["accuracy"][4].mean()) / 2)
    assert mid.noise_multiplier == pytest.approx(
        dp.dpsgd_noise_multiplier(mid.target_epsilon, int(sweep["num_examples"]), 128, 20, 1e-5))
    assert at.noise_multiplier > mid.noise_multiplier
    for bad in (0.1, 20.0):
        with pytest.raises(ValueError, match=r"target_epsilon must be in \[0.5, 16\]"):
            dpsgd.tradeoff_at(sweep, bad)
    with pytest.raises(TypeError, match="target_epsilon must be a real number"):
        dpsgd.tradeoff_at(sweep, "2")


# ---------------------------------------------------------------------------------------------
# Notebook 04 states what its numbers support (errata 3, 4, 8, 15)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook04():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "notebooks" / "04-dp-sgd.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    outputs = "\n".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code" for o in c["outputs"])
    return markdown, outputs


def test_notebook04_prints_an_interval_with_every_auc_and_orders_none_it_cannot(notebook04):
    markdown, outputs = notebook04
    printed = [line for line in outputs.splitlines() if "AUC" in line]
    assert len(printed) >= 3
    assert all("[95% CI" in line for line in printed), printed
    assert "indistinguishable" in outputs and "indistinguishable" in markdown
    assert "a little better" not in markdown


def test_notebook04_rebuts_the_poisson_footnote(notebook04):
    markdown, outputs = notebook04
    assert "believed" in outputs  # tensorflow-privacy's footnote is printed...
    assert "Chua et al." in markdown and "ICML" in markdown  # ...and answered
    assert "only when you really sample with Poisson" in markdown


def test_notebook04_says_per_example_and_replace_one(notebook04):
    markdown, _ = notebook04
    assert "every person" not in markdown
    assert "per example" in markdown and "user-level accounting" in markdown
    assert "replace-one" in markdown.split("**Exercise 04.3")[1]


def test_notebook04_says_its_seeds_give_no_privacy(notebook04):
    markdown, _ = notebook04
    assert "a published seed gives no privacy" in markdown


# ---------------------------------------------------------------------------------------------
# noisy_gradient: stages 2 to 4 in NumPy, the reference of exercises 04.1 and 04.2
# ---------------------------------------------------------------------------------------------


def test_noisy_gradient_is_the_update_dpsgd_step_applies(digits):
    """Same seed, same per-example gradients: dpsgd_step moves the weights by -lr * noisy_gradient."""
    x, y = digits.x_train[:12], digits.y_train[:12]
    for sigma, expected in [(1.3, 20), (0.0, None), (0.7, 5)]:
        model = _model((8,), seed=3)
        before = [v.numpy().astype(np.float64) for v in model.trainable_variables]
        grads = dpsgd.noisy_gradient(dpsgd.per_example_gradients(model, x, y), 0.5, sigma, expected or len(x),
                                     np.random.default_rng(9))
        dpsgd.dpsgd_step(model, x, y, l2_norm_clip=0.5, noise_multiplier=sigma, learning_rate=0.4,
                         rng=np.random.default_rng(9), expected_batch_size=expected)
        for b, g, v in zip(before, grads, model.trainable_variables):
            np.testing.assert_allclose(v.numpy(), b - 0.4 * g, atol=1e-6)


def test_one_poisson_step_of_the_ghost_trainer_is_noisy_gradient_without_noise(digits):
    """train_dpsgd's step (ghost norms, in TensorFlow) is noisy_gradient's: with rate 1 every row is drawn."""
    x, y = digits.x_train[:40], digits.y_train[:40]
    trained, manual = _model((16,), seed=5), _model((16,), seed=5)
    grads = dpsgd.noisy_gradient(dpsgd.per_example_gradients(manual, x, y), 0.3, 0.0, 40)
    for var, g in zip(manual.trainable_variables, grads):
        var.assign_sub((0.7 * g).astype(np.float32))
    run = dpsgd.train_dpsgd(trained, x, y, epochs=1, batch_size=40, l2_norm_clip=0.3, noise_multiplier=0.0,
                            learning_rate=0.7, seed=0)
    assert run.steps == 1
    for a, b in zip(trained.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_noisy_gradient_of_an_empty_batch_is_the_noise_over_the_expected_size():
    got = dpsgd.noisy_gradient([np.zeros((0, 3)), np.zeros((0, 2, 2))], 0.5, 2.0, 8, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    want = [rng.normal(0.0, 1.0, size=3) / 8, rng.normal(0.0, 1.0, size=(2, 2)) / 8]
    assert all(np.allclose(a, b) for a, b in zip(got, want))


def test_noisy_gradient_takes_one_matrix_as_one_variable():
    grads = np.random.default_rng(1).normal(size=(6, 4)) * 3
    (one,) = dpsgd.noisy_gradient(grads, 1.0, 0.0, 6)
    clipped, _ = dpsgd.clip_and_sum([grads], 1.0)
    np.testing.assert_allclose(one, clipped[0] / 6)
    with pytest.raises(ValueError, match="expected_batch_size"):
        dpsgd.noisy_gradient(grads, 1.0, 1.0, 0)
