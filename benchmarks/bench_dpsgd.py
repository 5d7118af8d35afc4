"""DP-SGD (notebook 04): labkit's trainer priced against the same loop without clipping and noise (the honest
baseline for DP-SGD's overhead), plain Keras ``fit`` and tensorflow-privacy's two routes, side by side, for
both models (MLP 64-256-256-10 on the first 1320 digits; the tensorflow-privacy tutorial CNN, 26,010
parameters, on MNIST-28) at both batch sizes (30 and 256). Every trainer reuses one compiled model across runs
(weights reset before each run), so the medians compare training, not tracing. The overhead rows also
split DP-SGD into its two costs: clipping alone (noise multiplier 0) and the Gaussian noise (one N(0, 1)
draw per parameter per step, whatever the batch size), and time the noise draw alone for the two budgeted
settings (MLP at batch 30, CNN at batch 256). Then the trade-off explorer: slider-move latency,
the live "train this point" button and the time `make data` needs to regenerate the sweep."""

from __future__ import annotations

import math

from benchmarks.harness import Comparison, Measurement, median_seconds, seconds

# (model, batch size): rows of the data set and epochs of one timed run (about 40-130 steps).
SETTINGS = {("MLP", 30): (1320, 3), ("MLP", 256): (1320, 20), ("CNN", 256): (4000, 2), ("CNN", 30): (1320, 1)}
# tensorflow-privacy's routes are slower (one gradient per example; DPKerasSGDOptimizer on the CNN at batch 256
# held 2.9 GB and took minutes per epoch): shorter runs, for both sides of those rows.
TFP_SETTINGS = {("MLP", 30): (1320, 1), ("MLP", 256): (1320, 3), ("CNN", 256): (512, 1), ("CNN", 30): (300, 1)}
CLIP, SIGMA = 1.0, 1.0


def _setup():
    from labkit.runtime import quiet_environment, silence_python_noise

    quiet_environment()
    silence_python_noise()
    import tensorflow as tf

    from labkit import data
    from labkit.dp import dpsgd

    return tf, dpsgd, {"MLP": data.load("digits"), "CNN": data.load("mnist")}


def _make(dpsgd, kind):
    return dpsgd.make_mlp(64, 10, (256, 256), seed=0) if kind == "MLP" else dpsgd.make_cnn(seed=0)


def _labkit(dpsgd, kind, x, y, batch, epochs, *, clip, sigma):
    """labkit's train_dpsgd (Poisson sampling); clip None is the same loop as ordinary backprop."""
    model = _make(dpsgd, kind)
    init = model.get_weights()

    def run():
        model.set_weights(init)
        dpsgd.train_dpsgd(model, x, y, epochs=epochs, batch_size=batch, l2_norm_clip=clip, noise_multiplier=sigma,
                          learning_rate=0.1, sampling="poisson", seed=0)
    return run


def _num_parameters(dpsgd, kind) -> int:
    return sum(int(w.shape.num_elements()) for w in _make(dpsgd, kind).trainable_variables)


def _noise_alone(tf, dpsgd, kind, n, batch, epochs):
    """Only the Gaussian noise of a DP-SGD run: the same number of steps, each drawing one N(0, 1) per parameter
    as the trainer does (Box-Muller on stateless Philox uniforms, ``dpsgd._standard_normal``), nothing else.
    Beside the non-private loop it shows how much of DP-SGD's overhead the noise draw alone is: the draw and
    the clipped loop can at best share the two cores, so DP-SGD cannot take much less than the larger of the
    clipped loop and (clipped loop + the noise's work on one core) / 2."""
    total = _num_parameters(dpsgd, kind)
    steps = math.ceil(epochs * n / batch)
    i64 = tf.int64

    @tf.function(input_signature=[tf.TensorSpec([2], i64)])
    def draw(seed):
        first = tf.constant(0.0)
        for s in tf.range(steps):
            first += dpsgd._standard_normal(total, seed + tf.stack([tf.cast(s, i64) + 1, tf.constant(1, i64)]))[0]
        return first

    def run():
        draw(tf.constant([0, 0], i64)).numpy()
    return run


def _fit(model, init, x, y, batch, epochs):
    """One timed run: reset the weights, then Keras fit (shuffled fixed-size batches)."""
    def run():
        model.set_weights(init)
        model.fit(x, y, epochs=epochs, batch_size=batch, shuffle=True, verbose=0)
    return run


def _keras_plain(tf, dpsgd, kind, x, y, batch, epochs):
    model = _make(dpsgd, kind)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return _fit(model, model.get_weights(), x, y, batch, epochs)


def _dp_keras_optimizer(tf, dpsgd, kind, x, y, batch, epochs):
    """DPKerasSGDOptimizer with one example per microbatch (num_microbatches None: the batch's size, so the
    last, shorter batch is split too)."""
    from tensorflow_privacy import DPKerasSGDOptimizer

    model = _make(dpsgd, kind)
    model.compile(optimizer=DPKerasSGDOptimizer(l2_norm_clip=CLIP, noise_multiplier=SIGMA, num_microbatches=None,
                                                learning_rate=0.1),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True, reduction=tf.keras.losses.Reduction.NONE))
    return _fit(model, model.get_weights(), x, y, batch, epochs)


def _dp_sequential(tf, dpsgd, kind, x, y, batch, epochs):
    """DPSequential as ``labkit.dp.dpsgd.fit_tf_privacy`` builds it: the default layer registry (Dense and
    Embedding: fast clipping for the MLP; the CNN's Conv2D layers are not registered, so DPSequential
    falls back to one clipped gradient per microbatch, vectorized) and no XLA (under XLA its noise ignores
    TensorFlow's seeds)."""
    from tensorflow_privacy.privacy.fast_gradient_clipping import layer_registry
    from tensorflow_privacy.privacy.keras_models.dp_keras_model import DPSequential

    source = _make(dpsgd, kind)
    model = DPSequential(l2_norm_clip=CLIP, noise_multiplier=SIGMA,
                         layer_registry=layer_registry.make_default_layer_registry(), use_xla=False,
                         layers=[tf.keras.Input(shape=(x.shape[1],))] + [
                             type(layer).from_config(layer.get_config()) for layer in source.layers])
    model.set_weights(source.get_weights())
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return _fit(model, source.get_weights(), x, y, batch, epochs)


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


def _trainer_rows(tf, dpsgd, datasets) -> list:
    out = []
    for (kind, batch), (n, epochs) in SETTINGS.items():
        ds = datasets[kind]
        x, y = ds.x_train[:n], ds.y_train[:n]
        setting = (f"{kind}, batch {batch}, {n} {'digits' if kind == 'MLP' else 'MNIST-28 images'}, {epochs} "
                   f"epoch{'s' if epochs > 1 else ''}")
        dp = _labkit(dpsgd, kind, x, y, batch, epochs, clip=CLIP, sigma=SIGMA)
        plain = _labkit(dpsgd, kind, x, y, batch, epochs, clip=None, sigma=0.0)
        budget = "budget <= 1.5, goal 1.3" if (kind, batch) in (("MLP", 30), ("CNN", 256)) else "no budget"
        out += [
            Comparison(f"{kind} b{batch}: labkit DP-SGD", dp, plain, "same loop, no clipping or noise", repeats=5,
                       note=f"{setting}; {budget}"),
            Comparison(f"{kind} b{batch}: labkit clipping only (sigma 0)",
                       _labkit(dpsgd, kind, x, y, batch, epochs, clip=CLIP, sigma=0.0), plain,
                       "same loop, no clipping or noise", repeats=3, note=f"{setting}; the rest is the noise"),
        ]
        if (kind, batch) in (("MLP", 30), ("CNN", 256)):
            out.append(Comparison(
                f"{kind} b{batch}: the noise alone ({math.ceil(epochs * n / batch)} draws of "
                f"{_num_parameters(dpsgd, kind):,} N(0, 1))", _noise_alone(tf, dpsgd, kind, n, batch, epochs), plain,
                "same loop, no clipping or noise", repeats=5,
                note=f"{setting}; the draw with both cores to itself, nothing else"))
        out += [
            Comparison(f"{kind} b{batch}: labkit DP-SGD", dp, _keras_plain(tf, dpsgd, kind, x, y, batch, epochs),
                       "Keras fit (SGD)", repeats=3, note=setting),
        ]
        n, epochs = TFP_SETTINGS[(kind, batch)]
        x, y = ds.x_train[:n], ds.y_train[:n]
        setting = (f"{kind}, batch {batch}, {n} {'digits' if kind == 'MLP' else 'MNIST-28 images'}, {epochs} "
                   f"epoch{'s' if epochs > 1 else ''}")
        dp = _labkit(dpsgd, kind, x, y, batch, epochs, clip=CLIP, sigma=SIGMA)
        out += [
            Comparison(f"{kind} b{batch}: labkit DP-SGD", dp, _dp_keras_optimizer(tf, dpsgd, kind, x, y, batch, epochs),
                       "tf-privacy DPKerasSGDOptimizer (1 example per microbatch)", repeats=2, note=setting),
            Comparison(f"{kind} b{batch}: labkit DP-SGD", dp, _dp_sequential(tf, dpsgd, kind, x, y, batch, epochs),
                       "tf-privacy DPSequential (default registry, no XLA)", repeats=2,
                       note=setting + ("; Conv2D not in the registry: per-microbatch clipping" if kind == "CNN"
                                       else "; fast clipping")),
        ]
    return out


def rows():
    tf, dpsgd, datasets = _setup()
    return _trainer_rows(tf, dpsgd, datasets) + [
        Measurement("trade-off explorer: slider move (median of 63)", _slider_median_ms, "ms", "<= 100 ms",
                    "tradeoff_at lookup + redraw of the moving artists + PNG"),
        Measurement("trade-off explorer: tradeoff_at alone (median of 63)", _compute_median_ms, "ms", "<= 100 ms"),
        Measurement("trade-off explorer: 'train this point' (epsilon 1)", _train_point_seconds, "s", "a few seconds",
                    "includes loading digits and tracing"),
        Measurement("trade-off sweep regeneration (21 epsilons x 5 seeds + 5 non-private)", _sweep_seconds, "s",
                    "<= 180 s", "what `make data` runs for data/sweeps/dpsgd_tradeoff.npz"),
    ]
