"""Better features for DP-SGD: a fixed scattering transform and public pre-training (Tramer and Boneh 2021).

Introduced in ``04-dp-sgd.ipynb``, section "Better features: public pre-training and fixed filters".

DP-SGD pays for every parameter it learns from private data: the noise is added to every
coordinate of the gradient. Tramer and Boneh (2021, "Differentially private learning needs better
features (or much more data)", ICLR) show that a linear model trained with DP-SGD on *fixed*,
hand-designed features (the scattering network of Oyallon and Mallat 2015) beats end-to-end DP
CNNs on MNIST at epsilon = 3, and that features learned on *public* data do better still. This
module holds both routes, written in NumPy:

* The scattering transform of order 2 (Mallat 2012; Bruna and Mallat 2013) with ``J = 2`` scales
  and ``L = 8`` orientations, as in Tramer and Boneh (kymatio's ``Scattering2D(J=2)``):
  :func:`morlet_filter_bank` builds the Morlet wavelets and the Gaussian low-pass filter (same
  formulas and constants as kymatio 0.3: ``sigma = 0.8 * 2**j``, ``xi = 3 pi / 4 / 2**j``, slant
  ``4 / L``, low-pass ``sigma = 0.8 * 2**(J-1)``), :func:`scattering` applies them on a periodic
  grid (wavelet, modulus, wavelet, modulus, low-pass, subsample by ``2**J``). Unlike kymatio it
  keeps the intermediate moduli at full resolution, so that it is exactly equivariant to
  translations by multiples of ``2**J`` pixels and to 90-degree rotations (the tests check both).
  :func:`scatter_features` pads 28x28 images to 44x44 with zeros and crops to the 7x7 grid of the
  image: 81 channels x 7 x 7 = 3,969 features, the shape Tramer and Boneh use for MNIST.
* :func:`group_normalize`: per-example group normalisation (Wu and He 2018) of the 81 channels.
  Each example is normalised with statistics of that example only, so the features of one image
  never depend on any other image, and normalisation costs no privacy. (Tramer and Boneh also use
  a batch normalisation whose mean and variance are estimated with DP noise, and compose its
  cost; a normalisation fitted on the private data without noise would leak.)
* Public pre-training: :func:`public_digits` declares scikit-learn's 1,797 8x8 digits public
  (UCI's "Optical recognition of handwritten digits", written by other people than MNIST's, at
  another resolution), upsampled to 28x28; :func:`pretrain_extractor` trains a small CNN on them
  without privacy and returns its hidden layers, frozen, as a feature extractor;
  :func:`extract_features` applies it.
* :class:`FeaturesConfig`, :func:`train_features_point` and :func:`load_public_sweep`: the
  comparison at the same epsilon (raw pixels, scattering features, publicly pre-trained features,
  and the end-to-end CNN when ``labkit.dp.dpsgd.make_cnn`` exists), precomputed by ``make data`` in
  ``data/sweeps/dpsgd_public.npz``; :func:`plot_filter_bank` and :func:`plot_features_comparison`
  draw them.

Randomness: data augmentation, initial weights, batches and noise follow the ``seed`` arguments;
the notebook passes seeds for reproducible teaching, and a published seed gives no privacy.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from labkit import _validate as v
from labkit.i18n import N_, tr

SCATTER_J = 2
SCATTER_L = 8
MNIST_PAD = 8  # zero padding on each side of a 28x28 image: 44x44, a multiple of 2**J, then cropped to 7x7
METHODS: tuple[str, ...] = ("pixels", "scatter", "public", "cnn")
METHOD_LABELS: dict[str, str] = {
    "pixels": N_("MLP on raw pixels"),
    "scatter": N_("linear on ScatterNet features"),
    "public": N_("linear head on publicly pre-trained features"),
    "cnn": N_("end-to-end CNN"),
}
PUBLIC_FILE = "sweeps/dpsgd_public.npz"


# --------------------------------------------------------------------------------------------
# The filter bank and the scattering transform
# --------------------------------------------------------------------------------------------


def _gabor(size: int, sigma: float, theta: float, xi: float, slant: float = 1.0) -> np.ndarray:
    """A Gabor filter on a periodic ``size x size`` grid, centred at pixel (0, 0) (kymatio's gabor_2d)."""
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    curv = rot @ np.diag([1.0, slant ** 2]) @ rot.T / (2 * sigma ** 2)
    out = np.zeros((size, size), dtype=np.complex128)
    for ex in (-2, -1, 0, 1, 2):  # periodise: sum the filter over neighbouring periods
        for ey in (-2, -1, 0, 1, 2):
            xx, yy = np.mgrid[ex * size:(ex + 1) * size, ey * size:(ey + 1) * size].astype(np.float64)
            arg = -(curv[0, 0] * xx * xx + (curv[0, 1] + curv[1, 0]) * xx * yy + curv[1, 1] * yy * yy) \
                + 1j * (xx * xi * c + yy * xi * s)
            out += np.exp(arg)
    return out / (2 * math.pi * sigma ** 2 / slant)


def _morlet(size: int, sigma: float, theta: float, xi: float, slant: float) -> np.ndarray:
    """A Morlet wavelet: a Gabor filter minus the multiple of its envelope that makes its mean zero."""
    wave = _gabor(size, sigma, theta, xi, slant)
    envelope = _gabor(size, sigma, theta, 0.0, slant)
    return wave - envelope * (wave.sum() / envelope.sum())


@dataclass(frozen=True)
class FilterBank:
    """Morlet wavelets and a Gaussian low-pass filter, in the Fourier domain, on a periodic grid.

    Attributes:
        size: the grid is ``size x size`` pixels (a multiple of ``2**J``).
        J, L: number of scales and of orientations.
        psi: shape ``(J, L, size, size)``: the FFT of wavelet ``(j, l)``, at scale ``2**j`` and
            angle ``(L // 2 - 1 - l) * pi / L`` (kymatio's order).
        phi: shape ``(size, size)``: the FFT of the low-pass filter, of width ``0.8 * 2**(J-1)``.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    size: int
    J: int
    L: int
    psi: np.ndarray
    phi: np.ndarray

    def spatial(self) -> tuple[np.ndarray, np.ndarray]:
        """The filters in the pixel domain, centred (``np.fft.fftshift``): ``(psi, phi)``."""
        psi = np.fft.fftshift(np.fft.ifft2(self.psi), axes=(-2, -1))
        phi = np.fft.fftshift(np.fft.ifft2(self.phi), axes=(-2, -1))
        return psi, phi


def morlet_filter_bank(size: int, J: int = SCATTER_J, L: int = SCATTER_L) -> FilterBank:
    """The scattering filters of kymatio's ``Scattering2D`` for a periodic ``size x size`` grid.

    Wavelet ``(j, l)``: a Morlet filter with ``sigma = 0.8 * 2**j``, frequency ``xi = 3 pi / 4 /
    2**j``, slant ``4 / L`` and angle ``(L // 2 - 1 - l) * pi / L``; low-pass: a Gaussian with
    ``sigma = 0.8 * 2**(J - 1)`` normalised to sum 1. A pure function of its arguments: no data.

    Args:
        size: the grid side, a multiple of ``2**J`` (at most 512).
        J: number of scales (1 to 4).
        L: number of orientations, even (2 to 16), so that a 90-degree rotation maps the bank
            onto itself when ``L`` is a multiple of 4.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    J = v.integer("J", J, minimum=1, maximum=4)
    L = v.integer("L", L, minimum=2, maximum=16)
    if L % 2:
        raise ValueError(f"L must be even (orientations pair up as theta and theta + pi); got {L}")
    size = v.integer("size", size, minimum=2 ** J, maximum=512)
    if size % 2 ** J:
        raise ValueError(f"size must be a multiple of 2**J = {2 ** J}; got {size}")
    psi = np.zeros((J, L, size, size), dtype=np.complex128)
    for j in range(J):
        for l in range(L):
            theta = (L // 2 - 1 - l) * math.pi / L
            psi[j, l] = np.fft.fft2(_morlet(size, 0.8 * 2 ** j, theta, 3 / 4 * math.pi / 2 ** j, 4 / L))
    phi = np.fft.fft2(np.real(_gabor(size, 0.8 * 2 ** (J - 1), 0.0, 0.0)))
    return FilterBank(size, J, L, psi, phi)


def num_channels(J: int = SCATTER_J, L: int = SCATTER_L) -> int:
    """Channels of the order-2 scattering transform: ``1 + J L + L**2 J (J - 1) / 2`` (81 for J=2, L=8).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    J = v.integer("J", J, minimum=1, maximum=4)
    L = v.integer("L", L, minimum=2, maximum=16)
    return 1 + J * L + L * L * J * (J - 1) // 2


def _images(name: str, images: Any) -> np.ndarray:
    if images is None or isinstance(images, (str, bytes)) or np.ndim(images) != 3:
        raise ValueError(f"{name} must be a 3-D array (images x height x width); got "
                         f"{v._got(images) if np.ndim(images) == 0 else f'shape {np.shape(images)}'}")
    arr = v.finite_array(name, images, ndim=3)
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image; got shape {arr.shape}")
    return arr


def scattering(images: np.ndarray, bank: FilterBank | None = None, *, J: int = SCATTER_J,
               L: int = SCATTER_L) -> np.ndarray:
    """The order-2 scattering transform of square images on a periodic grid.

    For each image ``x``: ``S0 = x * phi``; ``S1[j1, l1] = |x * psi[j1, l1]| * phi``;
    ``S2[j1, l1, j2, l2] = ||x * psi[j1, l1]| * psi[j2, l2]| * phi`` for ``j2 > j1``; every
    channel subsampled by ``2**J`` (``*`` is circular convolution, computed with the FFT). The
    result depends on each image alone: no parameter is fitted to data.

    Args:
        images: shape ``(n, size, size)``, ``size`` a multiple of ``2**J``.
        bank: the filters (:func:`morlet_filter_bank` for ``size``); built from ``J`` and ``L``
            when None.
        J, L: scales and orientations when ``bank`` is None.

    Returns:
        float32 array ``(n, num_channels(J, L), size / 2**J, size / 2**J)``, channels in the order
        S0, S1 (j1, l1), S2 (j1, l1, j2, l2).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    x = _images("images", images)
    if x.shape[1] != x.shape[2]:
        raise ValueError(f"images must be square; got shape {x.shape}")
    if bank is None:
        bank = morlet_filter_bank(x.shape[1], J, L)
    elif not isinstance(bank, FilterBank):
        raise TypeError(f"bank must be a FilterBank (from morlet_filter_bank) or None; got {v._got(bank)}")
    if bank.size != x.shape[1]:
        raise ValueError(f"images must be {bank.size}x{bank.size} (the filter bank's size); got shape {x.shape}")
    from scipy import fft

    step = 2 ** bank.J
    m = bank.size // step
    phi = bank.phi.astype(np.complex64)
    psi = bank.psi.astype(np.complex64)

    def low(u_hat):  # low-pass, subsample by 2**J (= fold the spectrum into m x m blocks), back to pixels
        folded = (u_hat * phi).reshape(*u_hat.shape[:-2], step, m, step, m).sum(axis=(-4, -2))
        return np.real(fft.ifft2(folded)) / step ** 2

    out = []
    for start in range(0, len(x), 128):
        xh = fft.fft2(x[start:start + 128].astype(np.float32))
        chans = [low(xh)]
        order2 = []
        for j1 in range(bank.J):
            u1h = fft.fft2(np.abs(fft.ifft2(xh[:, None] * psi[j1][None])))  # (batch, L, size, size)
            chans.extend(low(u1h).transpose(1, 0, 2, 3))
            for j2 in range(j1 + 1, bank.J):
                for l1 in range(bank.L):
                    u2 = np.abs(fft.ifft2(u1h[:, l1, None] * psi[j2][None]))
                    order2.extend(low(fft.fft2(u2)).transpose(1, 0, 2, 3))
        out.append(np.stack(chans + order2, axis=1).astype(np.float32))
    return np.concatenate(out)


def group_normalize(features: np.ndarray, groups: int = 27, eps: float = 1e-5) -> np.ndarray:
    """Per-example group normalisation of scattering channels (no learned scale, no data statistics).

    The channels (axis 1) of each example are split into ``groups`` consecutive groups; each group
    is shifted to mean 0 and scaled to variance 1 over its channels and positions, with that
    example's own values only. So the normalised features of an image do not depend on any other
    image, and the step spends no privacy budget.

    Args:
        features: shape ``(n, channels, h, w)``; ``channels`` divisible by ``groups``.
        groups: number of groups (Tramer and Boneh use 27 for the 81 channels).
        eps: added to the variance, in (0, 1].

    Introduced in ``04-dp-sgd.ipynb``.
    """
    f = v.finite_array("features", features, ndim=4)
    groups = v.count("groups", groups, maximum=max(f.shape[1], 1))
    eps = v.real("eps", eps, low=0.0, high=1.0, low_open=True)
    if f.shape[1] % groups:
        raise ValueError(f"groups must divide the {f.shape[1]} channels; got {groups}")
    g = f.reshape(f.shape[0], groups, -1)
    g = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps)
    return g.reshape(f.shape).astype(np.float32)


def scatter_features(x: np.ndarray, *, groups: int = 27, bank: FilterBank | None = None) -> np.ndarray:
    """ScatterNet features of flattened 28x28 images (MNIST): 81 channels x 7 x 7 = 3,969 per image.

    Each image is padded with 8 zero pixels on each side (44x44, so that the periodic transform
    does not wrap one edge of the digit onto the other), transformed by :func:`scattering`
    (``J = 2``, ``L = 8``), cropped back to the 7x7 grid over the image, group-normalised per
    example (:func:`group_normalize`) and flattened. A fixed function of each image alone.

    Args:
        x: shape ``(n, 784)``, pixels (MNIST from ``labkit.data.load("mnist")``).
        groups: groups of :func:`group_normalize`, or 0 for no normalisation.
        bank: a 44x44 filter bank to reuse (built when None).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    if x is None or isinstance(x, (str, bytes)) or np.ndim(x) != 2:
        raise ValueError(f"x must be a 2-D array (images x 784 pixels); got "
                         f"{v._got(x) if np.ndim(x) == 0 else f'shape {np.shape(x)}'}")
    x = v.finite_array("x", x, ndim=2)
    if x.shape[1] != 784 or len(x) == 0:
        raise ValueError(f"x must have shape (n, 784) with n >= 1 (flattened 28x28 images); got shape {x.shape}")
    groups = v.integer("groups", groups, minimum=0, maximum=81)
    size = 28 + 2 * MNIST_PAD
    if bank is None:
        bank = morlet_filter_bank(size)
    elif not isinstance(bank, FilterBank) or bank.size != size or (bank.J, bank.L) != (SCATTER_J, SCATTER_L):
        raise ValueError(f"bank must be morlet_filter_bank({size}) (J={SCATTER_J}, L={SCATTER_L}) or None; got {v._got(bank)}")
    images = np.pad(x.reshape(-1, 28, 28), ((0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD)))
    k = MNIST_PAD // 2 ** SCATTER_J
    s = scattering(images, bank)[:, :, k:k + 7, k:k + 7]
    if groups:
        s = group_normalize(s, groups)
    return s.reshape(len(s), -1).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Public pre-training
# --------------------------------------------------------------------------------------------


def public_digits(*, shifts: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, declared public, upsampled to MNIST's 28x28 format.

    Each 8x8 image (pixels 0..16) is scaled to [0, 1], enlarged to 20x20 by bilinear interpolation
    and centred in a 28x28 frame, as MNIST centres its digits in a 20x20 box. These digits come
    from UCI's "Optical recognition of handwritten digits" (43 writers, a different collection
    from MNIST), so treating them as public is a realistic scenario with a real distribution shift:
    other writers, another scanner, 8x8 resolution blown up. Nothing in them comes from the private
    MNIST images.

    Args:
        shifts: number of extra copies, each shifted by a random (-2..2, -2..2) pixels (data
            augmentation; 0 for none).
        seed: seeds the shifts.

    Returns:
        ``(x, y)``: float32 ``(1797 * (1 + shifts), 784)`` in [0, 1] and int64 labels.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from scipy import ndimage
    from sklearn.datasets import load_digits

    shifts = v.integer("shifts", shifts, minimum=0, maximum=20)
    rng = v.generator(v.integer("seed", seed, minimum=0), "seed")
    digits = load_digits()
    small = digits.images.astype(np.float64) / 16.0
    big = np.clip(ndimage.zoom(small, (1, 2.5, 2.5), order=1), 0.0, 1.0)  # (n, 20, 20)
    frame = np.zeros((len(big), 28, 28))
    frame[:, 4:24, 4:24] = big
    xs, ys = [frame], [digits.target]
    for _ in range(shifts):
        moved = np.empty_like(frame)
        for i, (dy, dx) in enumerate(rng.integers(-2, 3, size=(len(frame), 2))):
            moved[i] = np.roll(frame[i], (dy, dx), axis=(0, 1))  # the 4-pixel zero border absorbs the roll
        xs.append(moved)
        ys.append(digits.target)
    return np.concatenate(xs).reshape(-1, 784).astype(np.float32), np.concatenate(ys).astype(np.int64)


def make_extractor_cnn(*, seed: int = 0):
    """The CNN pre-trained on public data: 784 pixels -> 128 features -> 10 logits.

    ``Reshape((28, 28, 1))``, Conv2D 16 filters 5x5 stride 2 + ReLU, Conv2D 32 filters 3x3 stride 2
    + ReLU, Flatten, Dense 128 + ReLU (the features), Dense 10. Glorot-uniform kernels seeded from
    ``seed``, zero biases.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)

    def init(k):
        return tf.keras.initializers.GlorotUniform(seed=seed * 1000 + k)

    return tf.keras.Sequential([
        tf.keras.Input(shape=(784,)),
        tf.keras.layers.Reshape((28, 28, 1)),
        tf.keras.layers.Conv2D(16, 5, strides=2, padding="same", activation="relu", kernel_initializer=init(0)),
        tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu", kernel_initializer=init(2)),
        tf.keras.layers.Dense(10, kernel_initializer=init(3)),
    ])


@contextlib.contextmanager
def _op_determinism() -> Iterator[None]:
    """TensorFlow's op determinism on inside the block, as it was outside it afterwards (a library call
    must not leave it on: TFF and tensorflow-privacy draw unseeded noise, which it forbids)."""
    from labkit._compat import tf_op_determinism

    config = tf_op_determinism()
    was_on = config.is_op_determinism_enabled()
    config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            config.disable_op_determinism()


def pretrain_extractor(x_public: np.ndarray, y_public: np.ndarray, *, epochs: int = 8, batch_size: int = 128,
                       learning_rate: float = 1e-3, seed: int = 0):
    """Train a small CNN on public data without privacy; return its frozen feature layers.

    The CNN (:func:`make_extractor_cnn`) is trained with Keras and Adam, without clipping or noise:
    data declared public gets no protection and needs none. Batches follow a NumPy permutation per
    epoch seeded by ``seed`` (no hidden global seed), and TensorFlow's op determinism is switched on
    (as ``labkit.setup()`` does), so the same seed gives the same extractor. The returned extractor maps ``(n, 784)``
    pixels to the 128 activations of the CNN's last hidden layer; its layers are marked
    non-trainable, and the private step never trains it: only a new head on its outputs sees the
    private data.

    Args:
        x_public, y_public: the public images ``(n, 784)`` and labels 0..9 (:func:`public_digits`).
        epochs, batch_size, learning_rate: the non-private Adam schedule.
        seed: initial weights and batch order.

    Returns:
        ``(extractor, classifier)``: the frozen feature extractor and the full public classifier
        (its accuracy on MNIST measures the distribution shift).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    from labkit.dp import dpsgd

    try:
        x, y = dpsgd._features_labels(x_public, y_public)
    except (ValueError, TypeError) as err:  # name this function's arguments
        text = str(err).replace("rows of x", "rows of x_public").replace("y must", "y_public must", 1)
        raise type(err)(text.replace("x must", "x_public must", 1)) from None
    if x.shape[1] != 784:
        raise ValueError(f"x_public must have 784 columns (28x28 images); got shape {x.shape}")
    if y.min() < 0 or y.max() > 9:
        raise ValueError(f"y_public must hold digit labels 0..9; got values from {y.min()} to {y.max()}")
    epochs = v.count("epochs", epochs, maximum=1000)
    batch_size = v.count("batch_size", batch_size, maximum=len(x))
    lr = v.positive("learning_rate", learning_rate)
    if lr > 10:
        raise ValueError(f"learning_rate must be at most 10 for Adam; got {learning_rate!r}")
    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)
    with _op_determinism():  # as labkit.setup() does: the same seed, the same extractor
        model = make_extractor_cnn(seed=seed)
        model.compile(optimizer=tf.keras.optimizers.Adam(lr),
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            order = rng.permutation(len(x))
            model.fit(x[order], y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    extractor = tf.keras.Model(model.inputs, model.layers[-2].output)
    for layer in extractor.layers:
        layer.trainable = False
    return extractor, model


def extract_features(extractor: Any, x: np.ndarray) -> np.ndarray:
    """The frozen extractor's features of ``x`` (float32 ``(n, width)``); the extractor is not changed.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import tensorflow as tf

    from labkit.dp import dpsgd

    if not isinstance(extractor, tf.keras.Model):
        raise TypeError(f"extractor must be the Keras model pretrain_extractor returns; got {v._got(extractor)}")
    x = v.finite_array("x", x, ndim=2, dtype=np.float32)
    if x.shape[1] != extractor.input_shape[-1]:
        raise ValueError(f"x must have {extractor.input_shape[-1]} columns (the extractor's input); got shape {x.shape}")
    return dpsgd.predict_logits(extractor, x).astype(np.float32)


# --------------------------------------------------------------------------------------------
# The comparison at the same epsilon
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """One method's DP-SGD schedule: Poisson batches of ``batch_size`` expected, ``epochs`` epochs.

    ``learning_rate`` is used with clipping and noise, ``nonprivate_learning_rate`` for the
    non-private reference (same model and schedule, no clipping, no noise).

    Introduced in ``04-dp-sgd.ipynb``.
    """

    epochs: int
    batch_size: int
    l2_norm_clip: float
    learning_rate: float
    nonprivate_learning_rate: float


@dataclass(frozen=True)
class FeaturesConfig:
    """The comparison of ``04-dp-sgd.ipynb``: four routes to MNIST at the same (epsilon, delta).

    Private data: ``labkit.data.load("mnist")`` (4,000 training images, 1,000 test images). Each
    method's noise multiplier is calibrated by ``labkit.dp.dpsgd_noise_multiplier`` (RDP) to each
    target epsilon at ``delta`` for its own schedule. The public extractor is pre-trained once
    (seed ``extractor_seed``) on :func:`public_digits` with ``public_shifts`` shifted copies. The
    hyperparameters were chosen once, by hand, on a few runs at epsilon 2, and are the same at every
    epsilon (that choice looked at test accuracy, which itself costs privacy in a real release;
    Papernot and Steinke 2022).

    Introduced in ``04-dp-sgd.ipynb``.
    """

    methods: tuple[str, ...] = METHODS
    targets: tuple[float, ...] = (1.0, 2.0, 3.0, 8.0)
    delta: float = 1e-5
    seeds: tuple[int, ...] = (0, 1, 2)
    pixels_hidden: tuple[int, ...] = (128,)
    pixels: Recipe = Recipe(epochs=30, batch_size=256, l2_norm_clip=1.0, learning_rate=0.5, nonprivate_learning_rate=0.5)
    scatter: Recipe = Recipe(epochs=30, batch_size=512, l2_norm_clip=0.1, learning_rate=4.0, nonprivate_learning_rate=0.5)
    public: Recipe = Recipe(epochs=30, batch_size=256, l2_norm_clip=1.0, learning_rate=1.0, nonprivate_learning_rate=0.1)
    cnn: Recipe = Recipe(epochs=20, batch_size=256, l2_norm_clip=1.0, learning_rate=0.5, nonprivate_learning_rate=0.3)
    public_shifts: int = 4
    public_epochs: int = 8
    extractor_seed: int = 0

    def recipe(self, method: str) -> Recipe:
        v.choice("method", method, METHODS)
        return getattr(self, method)


def available_methods(config: FeaturesConfig | None = None) -> tuple[str, ...]:
    """The config's methods this labkit can train (``"cnn"`` needs ``labkit.dp.dpsgd.make_cnn``).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.dp import dpsgd

    cfg = _config(config)
    return tuple(m for m in cfg.methods if m != "cnn" or hasattr(dpsgd, "make_cnn"))


def _config(config: Any) -> FeaturesConfig:
    if config is None:
        return FeaturesConfig()
    if not isinstance(config, FeaturesConfig):
        raise TypeError(f"config must be a FeaturesConfig or None; got {v._got(config)}")
    return config


def _dataset(ds: Any) -> Any:
    needed = ("x_train", "y_train", "x_test", "y_test")
    if ds is None or any(not hasattr(ds, k) for k in needed):
        raise TypeError(f"ds must be a labkit.data Dataset (x_train, y_train, x_test, y_test), e.g. "
                        f"labkit.data.load('mnist'); got {v._got(ds)}")
    for k in ("x_train", "x_test"):
        if np.ndim(getattr(ds, k)) != 2 or np.shape(getattr(ds, k))[1] != 784:
            raise ValueError(f"ds must hold 28x28 images as rows of 784 pixels; its {k} has shape {np.shape(getattr(ds, k))}")
    return ds


def method_features(method: str, ds: Any, config: FeaturesConfig | None = None) -> dict[str, Any]:
    """What ``method`` trains on: ``{"x_train", "x_test"}``, plus the public extractor for ``"public"``.

    ``"pixels"`` and ``"cnn"``: the raw pixels. ``"scatter"``: :func:`scatter_features` (about 40 s
    for MNIST's 5,000 images on one core). ``"public"``: the extractor pre-trained on
    :func:`public_digits` (about 15 s), applied to the private images; also returns
    ``"extractor"`` and ``"public_accuracy"`` (the public classifier's accuracy on the private
    test images, before any private training).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    cfg = _config(config)
    v.choice("method", method, METHODS)
    ds = _dataset(ds)
    if method in ("pixels", "cnn"):
        return {"x_train": ds.x_train, "x_test": ds.x_test}
    if method == "scatter":
        bank = morlet_filter_bank(28 + 2 * MNIST_PAD)
        return {"x_train": scatter_features(ds.x_train, bank=bank), "x_test": scatter_features(ds.x_test, bank=bank)}
    from labkit.dp import dpsgd

    xp, yp = public_digits(shifts=cfg.public_shifts, seed=cfg.extractor_seed)
    extractor, classifier = pretrain_extractor(xp, yp, epochs=cfg.public_epochs, seed=cfg.extractor_seed)
    return {"x_train": extract_features(extractor, ds.x_train), "x_test": extract_features(extractor, ds.x_test),
            "extractor": extractor, "public_accuracy": dpsgd.accuracy(classifier, ds.x_test, ds.y_test)}


def make_method_model(method: str, num_features: int, config: FeaturesConfig | None = None, *, seed: int = 0):
    """The model DP-SGD trains for ``method``: an MLP on pixels, a linear layer on features, or the CNN.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.dp import dpsgd

    cfg = _config(config)
    v.choice("method", method, METHODS)
    if method == "cnn":
        if not hasattr(dpsgd, "make_cnn"):
            raise ValueError("method 'cnn' needs labkit.dp.dpsgd.make_cnn, which this labkit lacks")
        return dpsgd.make_cnn(10, seed=seed)
    hidden = cfg.pixels_hidden if method == "pixels" else ()
    return dpsgd.make_mlp(num_features, 10, hidden, seed=seed)


def train_features_point(method: str, target_epsilon: float | None, seed: int, config: FeaturesConfig | None = None,
                         *, ds: Any = None, features: dict | None = None, model: Any = None,
                         progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Train one point of the comparison; return ``(noise_multiplier, test_accuracy)``.

    ``target_epsilon`` None trains the non-private reference. The private data is
    ``labkit.data.load("mnist")`` unless ``ds`` is given; ``features`` (from
    :func:`method_features`) and ``model`` (from :func:`make_method_model`, re-initialised here for
    ``seed``) may be passed to reuse them across points, as the ``make data`` builder does. The
    same ``(method, target_epsilon, seed, config)`` gives the same accuracy as the precomputed sweep.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.dp import dpsgd
    from labkit.dp.accounting import dpsgd_noise_multiplier

    cfg = _config(config)
    v.choice("method", method, METHODS)
    if target_epsilon is not None:
        target_epsilon = v.positive("target_epsilon", target_epsilon)
    seed = v.integer("seed", seed, minimum=0, maximum=2**31 // 1000 - 1)
    if ds is None:
        from labkit import data

        ds = data.load("mnist")
    ds = _dataset(ds)
    if model is not None:
        dpsgd._keras_model(model)
    if features is None:
        features = method_features(method, ds, cfg)
    elif not isinstance(features, dict) or not {"x_train", "x_test"} <= set(features):
        raise TypeError(f"features must be the dict method_features returns, or None; got {v._got(features)}")
    if model is None:
        model = make_method_model(method, features["x_train"].shape[1], cfg, seed=seed)
    else:
        dpsgd.reinitialize(model, seed)
    r = cfg.recipe(method)
    n = len(features["x_train"])
    if target_epsilon is None:
        sigma, clip, lr = 0.0, None, r.nonprivate_learning_rate
    else:
        sigma = dpsgd_noise_multiplier(target_epsilon, n, r.batch_size, r.epochs, cfg.delta)
        clip, lr = r.l2_norm_clip, r.learning_rate
    dpsgd.train_dpsgd(model, features["x_train"], ds.y_train, epochs=r.epochs, batch_size=r.batch_size,
                      l2_norm_clip=clip, noise_multiplier=sigma, learning_rate=lr, seed=seed, progress=progress)
    return float(sigma), dpsgd.accuracy(model, features["x_test"], ds.y_test)


def features_sweep(config: FeaturesConfig | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Every (method, target epsilon, seed) point of ``config`` and each method's non-private reference.

    Returns arrays: ``methods`` (m,), ``target_epsilon`` (k,), ``noise_multiplier`` (m, k),
    ``accuracy`` (m, k, seeds), ``nonprivate_accuracy`` (m, seeds), ``seeds``, ``delta``,
    ``num_examples``, ``public_accuracy`` (the public classifier alone on the private test set) and
    each method's recipe (``epochs``, ``batch_size``, ``l2_norm_clip``, ``learning_rate``, (m,)).
    The ``make data`` builder of ``data/sweeps/dpsgd_public.npz`` (``progress(done, total)``).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit import data

    cfg = _config(config)
    with _op_determinism():  # as labkit.setup() does: a rebuild gives the same file
        ds = data.load("mnist")
        methods = available_methods(cfg)
        m, k, s = len(methods), len(cfg.targets), len(cfg.seeds)
        sigmas, acc, ref = np.zeros((m, k)), np.zeros((m, k, s)), np.zeros((m, s))
        public_accuracy = math.nan
        done, total = 0, m * (k + 1) * s
        for a, method in enumerate(methods):
            feats = method_features(method, ds, cfg)
            public_accuracy = feats.get("public_accuracy", public_accuracy)
            model = make_method_model(method, feats["x_train"].shape[1], cfg, seed=0)  # reused: traced once
            for i, eps in enumerate(list(cfg.targets) + [None]):
                for j, seed in enumerate(cfg.seeds):
                    sigma, accuracy = train_features_point(method, eps, seed, cfg, ds=ds, features=feats, model=model)
                    if eps is None:
                        ref[a, j] = accuracy
                    else:
                        sigmas[a, i], acc[a, i, j] = sigma, accuracy
                    done += 1
                    if progress:
                        progress(done, total)
    recipes = [cfg.recipe(mm) for mm in methods]
    return {"methods": np.asarray(methods), "target_epsilon": np.asarray(cfg.targets, dtype=np.float64),
            "noise_multiplier": np.round(sigmas, 6), "accuracy": np.round(acc, 6), "nonprivate_accuracy": np.round(ref, 6),
            "seeds": np.asarray(cfg.seeds, dtype=np.int64), "delta": np.float64(cfg.delta),
            "num_examples": np.int64(len(ds.x_train)), "public_accuracy": np.float64(round(public_accuracy, 6)),
            "epochs": np.asarray([r.epochs for r in recipes], dtype=np.int64),
            "batch_size": np.asarray([r.batch_size for r in recipes], dtype=np.int64),
            "l2_norm_clip": np.asarray([r.l2_norm_clip for r in recipes]),
            "learning_rate": np.asarray([r.learning_rate for r in recipes])}


def load_public_sweep() -> dict[str, np.ndarray]:
    """The precomputed comparison from ``data/sweeps/dpsgd_public.npz`` (verified against the manifest).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.data import load_arrays

    return load_arrays(PUBLIC_FILE)


def _sweep(sweep: Any) -> dict:
    keys = {"methods", "target_epsilon", "accuracy", "nonprivate_accuracy", "noise_multiplier"}
    if not isinstance(sweep, dict) or not keys <= set(sweep):
        raise TypeError(f"sweep must be the dict of arrays load_public_sweep() returns; got {v._got(sweep)}")
    return sweep


def summarize(sweep: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One row per (method, epsilon), non-private last: mean test accuracy and its standard error over seeds.

    Each row: ``method``, ``label``, ``epsilon`` (``math.inf`` for non-private), ``noise_multiplier``,
    ``mean``, ``se`` (sample standard deviation / sqrt(seeds)), ``seeds``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    sw = _sweep(sweep)
    rows = []
    for a, method in enumerate(sw["methods"]):
        method = str(method)
        per = [(float(e), float(sw["noise_multiplier"][a, i]), np.asarray(sw["accuracy"][a, i], dtype=np.float64))
               for i, e in enumerate(sw["target_epsilon"])]
        per.append((math.inf, 0.0, np.asarray(sw["nonprivate_accuracy"][a], dtype=np.float64)))
        for eps, sigma, accs in per:
            se = float(accs.std(ddof=1) / math.sqrt(len(accs))) if len(accs) > 1 else math.nan
            rows.append({"method": method, "label": METHOD_LABELS.get(method, method), "epsilon": eps,
                         "noise_multiplier": sigma, "mean": float(accs.mean()), "se": se, "seeds": len(accs)})
    return rows


# Published anchors (MNIST, 60,000 training images, delta = 1e-5), checked against the sources named;
# "lab" names the lab's method closest to each (Abadi et al.'s model is an MLP, on DP-PCA features).
PUBLISHED: tuple[dict[str, Any], ...] = (
    {"source": "Abadi et al. 2016, sec. 5.2", "epsilon": 0.5, "accuracy": 0.90,
     "model": "DP-PCA to 60 dims + MLP 1,000 units", "lab": "pixels"},
    {"source": "Abadi et al. 2016, sec. 5.2", "epsilon": 2.0, "accuracy": 0.95,
     "model": "DP-PCA to 60 dims + MLP 1,000 units", "lab": "pixels"},
    {"source": "Abadi et al. 2016, sec. 5.2", "epsilon": 8.0, "accuracy": 0.97,
     "model": "DP-PCA to 60 dims + MLP 1,000 units", "lab": "pixels"},
    {"source": "Tramer and Boneh 2021, Table 1", "epsilon": 3.0, "accuracy": 0.981, "model": "end-to-end CNN", "lab": "cnn"},
    {"source": "Tramer and Boneh 2021, Table 1", "epsilon": 3.0, "accuracy": 0.987, "model": "ScatterNet + linear", "lab": "scatter"},
)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def plot_filter_bank(bank: FilterBank, ax: Any, *, crop: int = 17) -> Any:
    """Draw the real parts of the wavelets (rows: scales; columns: orientations) and the low-pass filter.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    if not isinstance(bank, FilterBank):
        raise TypeError(f"bank must be a FilterBank (from morlet_filter_bank); got {v._got(bank)}")
    crop = v.integer("crop", crop, minimum=3, maximum=bank.size)
    psi, phi = bank.spatial()
    c, h = bank.size // 2, crop // 2
    tiles = []
    for j in range(bank.J):
        row = [np.real(psi[j, l, c - h:c - h + crop, c - h:c - h + crop]) for l in range(bank.L)]
        row = [t / (np.abs(t).max() or 1.0) for t in row]
        tiles.append(np.concatenate([np.pad(t, 1, constant_values=np.nan) for t in row], axis=1))
    low = np.real(phi[c - h:c - h + crop, c - h:c - h + crop])
    low = np.pad(low / (np.abs(low).max() or 1.0), 1, constant_values=np.nan)
    low_row = np.full_like(tiles[0], np.nan)
    low_row[:, :low.shape[1]] = low
    ax.imshow(np.concatenate(tiles + [low_row], axis=0), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([(crop + 2) * (r + 0.5) for r in range(bank.J + 1)])
    ax.set_yticklabels([tr("scale 2^{j}").format(j=j) for j in range(bank.J)] + [tr("low-pass")])
    ax.set_title(tr("Morlet wavelets ({orientations} orientations) and the low-pass filter (real parts)").format(
        orientations=bank.L))
    return ax


def plot_features_comparison(sweep: dict[str, np.ndarray], ax: Any, *, published: bool = True) -> Any:
    """Test accuracy against epsilon per method (mean +/- standard error over seeds), dashed: non-private.

    ``published`` adds the anchors of :data:`PUBLISHED` as grey markers (squares: Abadi et al. 2016;
    triangles: Tramer and Boneh 2021; 60,000 training images, not the lab's 4,000).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.style import PALETTE

    sw = _sweep(sweep)
    rows = summarize(sw)
    for a, method in enumerate(sw["methods"]):
        method = str(method)
        mine = [r for r in rows if r["method"] == method]
        pts = [r for r in mine if math.isfinite(r["epsilon"])]
        color = PALETTE[a % len(PALETTE)]
        ax.errorbar([r["epsilon"] for r in pts], [r["mean"] for r in pts], yerr=[r["se"] for r in pts],
                    marker="o", capsize=3, color=color, label=tr(METHOD_LABELS.get(method, method)))
        ax.axhline(mine[-1]["mean"], color=color, linestyle="--", linewidth=1)
    ticks = {float(e) for e in sw["target_epsilon"]}
    if published:
        seen = set()
        for p in PUBLISHED:
            abadi = "Abadi" in p["source"]
            name = "Abadi et al. 2016" if abadi else "Tramer and Boneh 2021"
            ax.plot(p["epsilon"], p["accuracy"], marker="s" if abadi else "^", color="0.45", linestyle="none",
                    label=None if name in seen else tr("{source} (60,000 images)").format(source=name))
            seen.add(name)
            ticks.add(float(p["epsilon"]))
    ax.set_xscale("log")
    ax.minorticks_off()
    ticks = sorted(ticks)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{e:g}" for e in ticks])
    ax.set_xlabel("epsilon (delta = 1e-5)")
    ax.set_ylabel(tr("test accuracy"))
    ax.legend(fontsize="small", loc="lower right")
    ax.set_title(tr("DP-SGD on 4,000 MNIST images: features matter (dashed: non-private)"))
    return ax
