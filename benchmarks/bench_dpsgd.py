"""DP-SGD (notebook 04): labkit's ghost-norm trainer and tensorflow-privacy's two routes against plain
Keras SGD, side by side on the same model (MLP 64-256-256-10), data (the first 1320 digits, so that 30
microbatches split every batch), batch size 30 and 10 epochs (440 steps). Every trainer reuses one
compiled model across runs (weights reset before each run), so the medians compare training, not
tracing. Then the trade-off explorer: slider-move latency, the live "train this point" button and the
time `make data` needs to regenerate the sweep."""

from __future__ import annotations

from benchmarks.harness import Comparison, Measurement, median_seconds, seconds

EPOCHS, BATCH, N = 10, 30, 1320


def _setup():
    from labkit.runtime import quiet_environment, silence_python_noise

    quiet_environment()
    silence_python_noise()
    import tensorflow as tf

    from labkit import data
    from labkit.dp import dpsgd

    ds = data.load("digits")
    x, y = ds.x_train[:N], ds.y_train[:N]
    init = dpsgd.make_mlp(64, 10, (256, 256), seed=0).get_weights()
    return tf, dpsgd, x, y, init


def _fit_runner(model, x, y, init):
    """One timed run: reset the weights, then Keras fit on the shared data (the same for every baseline)."""
    def run():
        model.set_weights(init)
        model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0)
    return run


def _keras_plain(tf, dpsgd, x, y, init):
    model = dpsgd.make_mlp(64, 10, (256, 256), seed=0)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.5),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    return _fit_runner(model, x, y, init)


def _labkit(tf, dpsgd, x, y, init):
    model = dpsgd.make_mlp(64, 10, (256, 256), seed=0)

    def run():
        model.set_weights(init)
        dpsgd.train_dpsgd(model, x, y, epochs=EPOCHS, batch_size=BATCH, l2_norm_clip=1.0, noise_multiplier=1.0,
                          learning_rate=0.5, sampling="poisson", seed=0)
    return run


def _dp_keras_optimizer(tf, dpsgd, x, y, init):
    from tensorflow_privacy import DPKerasSGDOptimizer

    dpsgd.check_microbatches(N, BATCH, BATCH)
    model = dpsgd.make_mlp(64, 10, (256, 256), seed=0)
    model.compile(optimizer=DPKerasSGDOptimizer(l2_norm_clip=1.0, noise_multiplier=1.0, num_microbatches=BATCH,
                                                learning_rate=0.5),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True, reduction=tf.keras.losses.Reduction.NONE))

    return _fit_runner(model, x, y, init)


def _dp_sequential(tf, dpsgd, x, y, init):
    """DPSequential as ``labkit.dp.dpsgd.fit_tf_privacy`` builds it: with the default layer registry, so
    that it takes the fast-clipping path (without ``layer_registry=`` it clips one microbatch
    gradient at a time), and without XLA (under XLA its noise ignores TensorFlow's seeds)."""
    from tensorflow_privacy.privacy.fast_gradient_clipping import layer_registry
    from tensorflow_privacy.privacy.keras_models.dp_keras_model import DPSequential

    model = DPSequential(l2_norm_clip=1.0, noise_multiplier=1.0,
                         layer_registry=layer_registry.make_default_layer_registry(), use_xla=False, layers=[
        tf.keras.Input(shape=(64,)), tf.keras.layers.Dense(256, activation="relu"),
        tf.keras.layers.Dense(256, activation="relu"), tf.keras.layers.Dense(10)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.5),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    return _fit_runner(model, x, y, init)


def _slider_median_ms() -> float:
    from labkit.dp.widgets import tradeoff_explorer

    view = tradeoff_explorer()
    return median_seconds([lambda k=k: view.set_epsilon(2 ** (k / 4)) for k in list(range(-4, 17)) * 3]) * 1e3


def _compute_median_ms() -> float:
    from labkit.dp.dpsgd import load_tradeoff_sweep, tradeoff_at

    sweep = load_tradeoff_sweep()
    return median_seconds([lambda k=k: tradeoff_at(sweep, 2 ** (k / 4)) for k in list(range(-4, 17)) * 3]) * 1e3


def _train_point_seconds() -> float:
    from labkit.dp.dpsgd import train_tradeoff_point

    return seconds(lambda: train_tradeoff_point(1.0, 1000))  # what the button does: load digits, build, trace, train


def _sweep_seconds() -> float:
    from tools.build_data import tradeoff_sweep

    return seconds(tradeoff_sweep)


def rows():
    tf, dpsgd, x, y, init = _setup()
    plain = _keras_plain(tf, dpsgd, x, y, init)
    note = "MLP 64-256-256-10, 1320 digits, batch 30, 10 epochs"
    return [
        Comparison("labkit train_dpsgd (ghost norms, Poisson)", _labkit(tf, dpsgd, x, y, init), plain,
                   "Keras SGD", repeats=5, note=f"{note}; goal <= 1.3, at most 1.5"),
        Comparison("tf-privacy DPKerasSGDOptimizer (30 microbatches)", _dp_keras_optimizer(tf, dpsgd, x, y, init),
                   plain, "Keras SGD", repeats=3, note=note),
        Comparison("tf-privacy DPSequential (fast clipping: default layer registry, no XLA)",
                   _dp_sequential(tf, dpsgd, x, y, init), plain, "Keras SGD", repeats=3, note=note),
        Measurement("trade-off explorer: slider move (median of 63)", _slider_median_ms, "ms", "<= 100 ms",
                    "tradeoff_at lookup + redraw of the moving artists + PNG"),
        Measurement("trade-off explorer: tradeoff_at alone (median of 63)", _compute_median_ms, "ms", "<= 100 ms"),
        Measurement("trade-off explorer: 'train this point' (epsilon 1)", _train_point_seconds, "s", "a few seconds",
                    "includes loading digits and tracing"),
        Measurement("trade-off sweep regeneration (21 epsilons x 5 seeds + 5 non-private)", _sweep_seconds, "s",
                    "<= 180 s", "what `make data` runs for data/sweeps/dpsgd_tradeoff.npz"),
    ]
