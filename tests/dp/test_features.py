"""labkit.dp.features: the scattering transform, public pre-training and the stored comparison.

Each identity the module relies on has a test that fails when it breaks:

* the filter bank: zero-mean wavelets, a low-pass filter of sum 1, and a 90-degree rotation that
  maps each wavelet onto the one L/2 orientations away (a wrong angle or slant breaks it);
* the transform against a direct computation in the pixel domain (circular convolution with
  SciPy, no FFT), so the FFT route is checked against the plain definition;
* translation (by 2**J pixels) and rotation (by 90 degrees) equivariance of the whole transform;
* the features of an image do not depend on the other images of the batch (no data-fitted
  normalisation), and the group normalisation really normalises each example's groups;
* public pre-training: the extractor depends on the public digits only (a fresh pre-training
  without MNIST gives the same weights) and private training leaves it unchanged;
* the stored sweep matches a fresh computation of one entry and the accountant's epsilon.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from labkit.runtime import quiet_environment, silence_python_noise

quiet_environment()  # before TensorFlow loads: oneDNN off, as when the stored sweep was built
silence_python_noise()

from labkit.dp import features as F  # noqa: E402


def _rot(a: np.ndarray) -> np.ndarray:
    """Rotate the last two (periodic) axes by 90 degrees about pixel (0, 0): out[i, j] = a[-j, i]."""
    n = a.shape[-1]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return a[..., (-j) % n, i]


def _channel_rotation(J: int, L: int) -> list[int]:
    """Where each channel of the rotated image comes from: orientation l -> l + L/2 (mod L), scales kept."""
    s = L // 2
    order1 = [(j, l) for j in range(J) for l in range(L)]
    order2 = [(j1, l1, j2, l2) for j1 in range(J) for l1 in range(L) for j2 in range(j1 + 1, J) for l2 in range(L)]
    perm = [0] + [1 + order1.index((j, (l + s) % L)) for j, l in order1]
    perm += [1 + len(order1) + order2.index((j1, (l1 + s) % L, j2, (l2 + s) % L)) for j1, l1, j2, l2 in order2]
    return perm


# --------------------------------------------------------------------------------------------
# The filter bank
# --------------------------------------------------------------------------------------------


def test_filter_bank_shapes_and_channel_count():
    bank = F.morlet_filter_bank(16, J=2, L=8)
    assert bank.psi.shape == (2, 8, 16, 16) and bank.phi.shape == (16, 16)
    assert F.num_channels(2, 8) == 81  # 1 + 16 + 64, Tramer and Boneh's 81 channels
    assert F.num_channels(3, 8) == 1 + 24 + 64 * 3
    out = F.scattering(np.zeros((1, 16, 16)), bank)
    assert out.shape == (1, 81, 4, 4)


def test_wavelets_have_zero_mean_and_lowpass_sums_to_one():
    bank = F.morlet_filter_bank(32)
    assert np.max(np.abs(bank.psi[..., 0, 0])) < 1e-12  # the DC coefficient of every wavelet
    assert abs(bank.phi[0, 0] - 1.0) < 1e-9
    # so a constant image has S0 = the constant and no first- or second-order energy
    s = F.scattering(np.full((1, 32, 32), 0.7), bank)
    assert np.allclose(s[:, 0], 0.7, atol=1e-5)
    assert np.max(np.abs(s[:, 1:])) < 1e-5


def test_rotating_a_wavelet_by_90_degrees_gives_the_wavelet_L_over_2_orientations_away():
    bank = F.morlet_filter_bank(32, J=2, L=8)
    psi = np.fft.ifft2(bank.psi)
    for j in range(2):
        for l in range(8):
            rotated = _rot(psi[j, l])
            other = psi[j, (l + 4) % 8]
            # equal to the other wavelet or to its complex conjugate (theta + pi), whose modulus response is the same
            err = min(np.abs(rotated - other).max(), np.abs(rotated - np.conj(other)).max())
            assert err < 1e-9 * np.abs(other).max(), (j, l, err)
    # and not onto a neighbouring orientation (the test can tell orientations apart)
    assert np.abs(_rot(psi[0, 0]) - psi[0, 1]).max() > 1e-2 * np.abs(psi[0, 1]).max()


# --------------------------------------------------------------------------------------------
# The transform
# --------------------------------------------------------------------------------------------


def _wrap_conv(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Circular convolution in the pixel domain: sum_k x[p - k] h[k], with SciPy (no FFT)."""
    # ndimage.convolve centres the kernel at index n // 2: move the filter's origin (pixel 0, 0) there
    n = h.shape[0]
    k = np.roll(h, (n // 2, n // 2), axis=(0, 1))
    re = ndimage.convolve(x, np.real(k), mode="wrap")
    im = ndimage.convolve(x, np.imag(k), mode="wrap")
    return re + 1j * im


def test_transform_equals_the_direct_pixel_domain_definition():
    rng = np.random.default_rng(0)
    x = rng.random((16, 16))
    bank = F.morlet_filter_bank(16)
    psi = np.fft.ifft2(bank.psi)
    phi = np.real(np.fft.ifft2(bank.phi))
    s = F.scattering(x[None], bank)[0]
    s0 = np.real(_wrap_conv(x, phi))[::4, ::4]
    u1 = np.abs(_wrap_conv(x, psi[0, 3]))
    s1 = np.real(_wrap_conv(u1, phi))[::4, ::4]
    u2 = np.abs(_wrap_conv(u1, psi[1, 6]))
    s2 = np.real(_wrap_conv(u2, phi))[::4, ::4]
    assert np.allclose(s[0], s0, atol=1e-5)
    assert np.allclose(s[1 + 0 * 8 + 3], s1, atol=1e-5)
    assert np.allclose(s[17 + 3 * 8 + 6], s2, atol=1e-5)  # order 2: (j1=0, l1=3, j2=1, l2=6)
    assert not np.allclose(s[17 + 3 * 8 + 5], s2, atol=1e-3)  # another channel differs


def test_translation_by_2_to_the_J_pixels_shifts_the_output_by_one():
    rng = np.random.default_rng(1)
    x = rng.random((3, 16, 16))
    s = F.scattering(x)
    moved = F.scattering(np.roll(x, (4, 8), axis=(1, 2)))
    assert np.allclose(moved, np.roll(s, (1, 2), axis=(2, 3)), atol=1e-6)


def test_rotation_by_90_degrees_permutes_the_orientation_channels():
    rng = np.random.default_rng(2)
    x = rng.random((3, 16, 16))
    s = F.scattering(x)
    turned = F.scattering(_rot(x))
    perm = _channel_rotation(2, 8)
    assert sorted(perm) == list(range(81))
    assert np.allclose(turned, _rot(s[:, perm]), atol=1e-5)
    assert not np.allclose(turned, _rot(s), atol=1e-3)  # without the permutation it fails


def test_mnist_features_shape_and_crop():
    from labkit import data

    ds = data.load("mnist")
    f = F.scatter_features(ds.x_test[:3])
    assert f.shape == (3, 81 * 7 * 7) and f.dtype == np.float32
    raw = F.scatter_features(ds.x_test[:3], groups=0).reshape(3, 81, 7, 7)
    # the 7x7 grid covers the image: S0 at grid (r, c) is the low-pass image at pixel (4r, 4c)
    img = np.pad(ds.x_test[0].reshape(28, 28).astype(np.float64), 8)
    phi = np.real(np.fft.ifft2(F.morlet_filter_bank(44).phi))
    low = np.real(_wrap_conv(img, phi))
    assert np.allclose(raw[0, 0], low[8:36:4, 8:36:4], atol=1e-5)


def test_an_images_features_do_not_depend_on_the_rest_of_the_batch():
    from labkit import data

    ds = data.load("mnist")
    x = ds.x_test[:6]
    alone = F.scatter_features(x[2:3])
    in_batch = F.scatter_features(x)[2]
    shuffled = F.scatter_features(x[[5, 2, 0]])[1]
    other_batch = F.scatter_features(np.concatenate([x[2:3], ds.x_train[:4] * 0.2]))[0]
    for row in (in_batch, shuffled, other_batch):
        assert np.allclose(alone[0], row, atol=1e-5)


def test_group_normalize_standardises_each_group_of_each_example():
    rng = np.random.default_rng(3)
    f = rng.normal(3.0, 5.0, size=(4, 6, 3, 3))
    g = F.group_normalize(f, groups=3).reshape(4, 3, -1)
    assert np.allclose(g.mean(axis=2), 0, atol=1e-5)
    assert np.allclose(g.var(axis=2), 1, atol=1e-3)
    # one example's result does not move when another example changes
    f2 = f.copy()
    f2[1] *= 100
    assert np.allclose(F.group_normalize(f2, groups=3)[0], F.group_normalize(f, groups=3)[0])
    with pytest.raises(ValueError, match="groups"):
        F.group_normalize(f, groups=4)


# --------------------------------------------------------------------------------------------
# Public pre-training
# --------------------------------------------------------------------------------------------


def test_public_digits_are_mnist_shaped_and_augmented_copies_keep_labels():
    x, y = F.public_digits()
    assert x.shape == (1797, 784) and y.shape == (1797,) and x.min() >= 0 and x.max() <= 1
    img = x.reshape(-1, 28, 28)
    assert np.all(img[:, :4] == 0) and np.all(img[:, 24:] == 0)  # centred in a 20x20 box, like MNIST
    xs, ys = F.public_digits(shifts=2, seed=0)
    assert xs.shape == (3 * 1797, 784) and np.array_equal(ys, np.tile(y, 3))
    assert np.allclose(xs.reshape(3, 1797, -1).sum(axis=2), x.sum(axis=1)[None], atol=1e-3)  # a shift keeps the ink


def _tiny_config():
    r = F.Recipe(epochs=2, batch_size=64, l2_norm_clip=1.0, learning_rate=0.5, nonprivate_learning_rate=0.1)
    return F.FeaturesConfig(public=r, public_epochs=1, public_shifts=0)


def test_pretraining_sees_only_public_data_and_private_training_leaves_the_extractor_unchanged():
    from labkit import data

    ds = data.load("mnist")
    cfg = _tiny_config()
    feats = F.method_features("public", ds, cfg)
    extractor = feats["extractor"]
    before = [w.copy() for w in extractor.get_weights()]
    # the same pre-training from the public digits alone (no MNIST anywhere) gives the same extractor
    xp, yp = F.public_digits(shifts=cfg.public_shifts, seed=cfg.extractor_seed)
    again, _ = F.pretrain_extractor(xp, yp, epochs=cfg.public_epochs, seed=cfg.extractor_seed)
    assert all(np.array_equal(a, b) for a, b in zip(before, again.get_weights()))
    assert all(not layer.trainable for layer in extractor.layers)
    head = F.make_method_model("public", feats["x_train"].shape[1], cfg, seed=0)
    head_before = [w.copy() for w in head.get_weights()]
    sigma, acc = F.train_features_point("public", 3.0, 0, cfg, ds=ds, features=feats, model=head)
    assert sigma > 0 and 0.1 < acc <= 1
    assert all(np.array_equal(a, b) for a, b in zip(before, extractor.get_weights()))  # frozen
    assert any(not np.array_equal(a, b) for a, b in zip(head_before, head.get_weights()))  # the head did train
    assert np.allclose(F.extract_features(extractor, ds.x_test[:5]), feats["x_test"][:5], atol=1e-6)


# --------------------------------------------------------------------------------------------
# The stored comparison
# --------------------------------------------------------------------------------------------


def test_stored_sweep_matches_a_fresh_run_and_the_accountant():
    from labkit.dp.accounting import dpsgd_epsilon

    sw = F.load_public_sweep()
    cfg = F.FeaturesConfig()
    methods = [str(m) for m in sw["methods"]]
    assert methods == list(F.available_methods(cfg))[:len(methods)] and {"pixels", "scatter", "public"} <= set(methods)
    assert np.allclose(sw["target_epsilon"], cfg.targets) and list(sw["seeds"]) == list(cfg.seeds)
    a, i = methods.index("pixels"), list(cfg.targets).index(1.0)
    sigma, acc = F.train_features_point("pixels", 1.0, int(cfg.seeds[0]), cfg)
    assert abs(sigma - sw["noise_multiplier"][a, i]) < 1e-5
    assert abs(acc - sw["accuracy"][a, i, 0]) < 1e-9
    for a, method in enumerate(methods):  # every stored noise multiplier spends the target epsilon
        r = cfg.recipe(method)
        for i, target in enumerate(cfg.targets):
            eps = dpsgd_epsilon(int(sw["num_examples"]), r.batch_size, float(sw["noise_multiplier"][a, i]), r.epochs,
                                float(sw["delta"]))
            assert abs(eps - target) < 0.02 * target, (method, target, eps)


def test_summarize_reports_the_mean_and_standard_error_over_seeds():
    sw = {"methods": np.array(["pixels"]), "target_epsilon": np.array([1.0]), "noise_multiplier": np.array([[2.0]]),
          "accuracy": np.array([[[0.80, 0.84, 0.82]]]), "nonprivate_accuracy": np.array([[0.9, 0.9, 0.93]])}
    rows = F.summarize(sw)
    assert [r["epsilon"] for r in rows] == [1.0, math.inf]
    assert abs(rows[0]["mean"] - 0.82) < 1e-12 and abs(rows[0]["se"] - 0.02 / math.sqrt(3)) < 1e-12
    assert rows[0]["seeds"] == 3 and abs(rows[1]["mean"] - 0.91) < 1e-12


def test_figures_draw_and_return_their_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2)
    assert F.plot_filter_bank(F.morlet_filter_bank(16), a1, crop=9) is a1
    assert F.plot_features_comparison(F.load_public_sweep(), a2) is a2
    assert len(a2.get_legend().get_texts()) >= 4
    plt.close(fig)


def test_notebook_first_order_scattering_equals_labkits():
    from notebook_source import notebook_function

    scatter_order1 = notebook_function("04", "scatter_order1", {"np": np})
    rng = np.random.default_rng(5)
    for size in (16, 44):
        bank = F.morlet_filter_bank(size)
        for _ in range(3):
            x = rng.random((size, size))
            assert np.allclose(scatter_order1(x, bank), F.scattering(x[None], bank)[0, :17], atol=1e-5)
