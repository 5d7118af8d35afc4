"""labkit.he.ckks: the parameter rules predict what TenSEAL does; packed inference matches plaintext."""

from __future__ import annotations

import numpy as np
import pytest
import tenseal as ts

from labkit.he import ckks as C


def tenseal_outcome(n: int, bits: list[int], scale_bits: int, max_mults: int = 8) -> tuple[bool, int]:
    """(context + encryption works, number of squarings TenSEAL performs) by actually trying."""
    import tenseal as ts

    try:
        ctx = ts.context(ts.SCHEME_TYPE.CKKS, n, coeff_mod_bit_sizes=bits)
        ctx.global_scale = 2.0**scale_bits
        v = ts.ckks_vector(ctx, [0.5, -0.25])
    except (ValueError, RuntimeError):
        return False, 0
    depth = 0
    for _ in range(max_mults):
        try:
            v = v * v
        except (ValueError, RuntimeError):
            break
        depth += 1
    return True, depth


CASES = [
    (4096, [40, 20, 40], 20),
    (4096, [30, 20, 20, 30], 20),
    (4096, [60], 40),
    (4096, [40, 40, 40], 40),  # 120 > 109 bits
    (8192, [60, 40, 40, 60], 40),
    (8192, [60, 40, 40, 40, 60], 40),  # 240 > 218
    (8192, [61, 40, 60], 40),
    (8192, [30, 30, 30], 40),
    (8192, [30, 30, 30], 58),
    (8192, [30, 30, 30], 59),
    (8192, [60, 30, 30, 30, 60], 40),
    (8192, [60, 50, 50, 50], 40),
    (8192, [60, 40, 40, 60], 20),
    (8192, [40, 21, 21, 21, 21, 21, 21, 40], 21),
    (8192, list(C.INFERENCE_BITS), C.INFERENCE_SCALE_BITS),
    (16384, [17, 17], 10),
    (16384, [60, 40, 40, 40, 40, 60], 40),
    (32768, [20, 20], 15),
    (2048, [27, 27], 20),
    (2048, [20, 20, 20], 15),
    (1024, [14, 13], 10),
]


@pytest.mark.parametrize("n,bits,scale", CASES, ids=lambda v: str(v))
def test_rules_predict_tenseal_validity_and_depth(n, bits, scale):
    report = C.check_params(n, bits, scale)
    works, depth = tenseal_outcome(n, bits, scale)
    assert report.valid == works, report.problems
    if works:
        assert report.depth == depth


def test_random_parameter_choices_are_predicted():
    rng = np.random.default_rng(0)
    for _ in range(12):
        n = int(rng.choice([4096, 8192]))
        bits = [int(b) for b in rng.integers(15, 62, size=int(rng.integers(1, 6)))]
        scale = int(rng.integers(15, 50))
        report = C.check_params(n, bits, scale)
        works, depth = tenseal_outcome(n, bits, scale, max_mults=5)
        assert report.valid == works, (n, bits, scale, report.problems)
        if works:
            assert report.depth == min(depth, 5) or depth == 5


def test_explanations_name_the_rule():
    assert "218" in C.check_params(8192, [60, 40, 40, 40, 60], 40).problems[0]
    assert "60 bits" in C.check_params(8192, [61, 40, 60], 40).problems[0]
    assert "special prime" in C.check_params(8192, [60], 40).problems[0]
    assert "1 mod 2N" in C.check_params(32768, [20, 20], 15).problems[0]
    assert "scale 2^59 does not fit" in C.check_params(8192, [30, 30, 30], 59).problems[0]
    assert "whole numbers" in C.check_params(8192, "60, forty", 40).problems[0]
    assert "must be one of" in C.check_params(5000, [60, 60], 40).problems[0]
    assert "scale_bits must be an integer from 1 to 120; got 0" in C.check_params(8192, [60, 40, 60], 0).problems[0]
    assert "coeff_mod_bit_sizes[1] must be an integer" in C.check_params(8192, [60, 40.5, 60], 40).problems[0]
    assert "must be one of" in C.check_params(True, [60, 60], 40).problems[0]
    mismatch = C.check_params(8192, [60, 30, 30, 30, 60], 40)
    assert mismatch.valid and mismatch.correct_depth == 0 and "wrong" in mismatch.warnings[0]


def test_report_numbers_for_the_standard_choice():
    sweep = C.load_sweep()
    r = C.check_params(8192, "60, 40, 40, 60", 40, sweep)
    assert (r.valid, r.slots, r.total_bits, r.max_bits, r.depth, r.correct_depth) == (True, 4096, 200, 218, 2, 2)
    assert r.integer_bits == 20 and r.ciphertext_bytes == 2 * 8192 * 3 * 8
    assert len(r.precision_bits) == 3 and 15 < r.precision_bits[0] < 35
    assert set(r.op_ms) == set(C.OPERATIONS)
    assert "depth: 2" in r.describe()
    bad = C.check_params(8192, [60, 40, 40, 40, 60], 40, sweep)
    assert bad.describe().startswith("N = 8192") and "Cannot work" in bad.describe()


def test_serialized_size_estimate_is_close_to_the_measured_size():
    sweep = C.load_sweep()
    for n, entry in sweep["degrees"].items():
        est = C.check_params(int(n), entry["coeff_mod_bit_sizes"], entry["scale_bits"]).serialized_bytes
        assert abs(est - entry["serialized_bytes"]) / entry["serialized_bytes"] < 0.1


def test_explorer_compute_flags_every_scale_that_does_not_match_the_middle_primes():
    """The explorer's per-slider-move computation, over the scales the widget offers (its speed is
    measured in benchmarks/, not asserted here): only the scale equal to the 40-bit middle primes
    gives correct multiplications and no warning."""
    sweep = C.load_sweep()
    clean = []
    for s in range(20, 45):
        report = C.check_params(8192, [60, 40, 40, 60], s, sweep)
        assert report.valid
        if not report.warnings:
            clean.append(s)
            assert report.correct_depth == 2
        else:
            assert report.correct_depth == 0
    assert clean == [40]


def test_encryption_randomness_is_fresh_on_every_call():
    """TenSEAL draws encryption randomness from SEAL's generator, seeded from OS entropy: the same
    vector under the same context never gives the same ciphertext twice."""
    ctx = C.make_context()
    a = ts.ckks_vector(ctx, [0.5, -0.25]).serialize()
    b = ts.ckks_vector(ctx, [0.5, -0.25]).serialize()
    assert a != b


def test_make_context_refuses_bad_parameters_with_the_explanation():
    with pytest.raises(ValueError, match="218"):
        C.make_context(8192, [60, 40, 40, 40, 60], 40)
    ctx = C.make_context()
    assert C.slot_count(ctx) == 4096 and ctx.global_scale == 2.0**C.INFERENCE_SCALE_BITS


def test_sigmoid_polynomial_is_odd_around_one_half_and_accurate_inside_its_bound():
    coef = C.fit_sigmoid_polynomial(3, 8.0)
    z = np.linspace(-8, 8, 101)
    approx = np.polynomial.polynomial.polyval(z, coef)
    assert abs(coef[0] - 0.5) < 1e-9 and abs(coef[2]) < 1e-9
    err3 = np.max(np.abs(approx - 1 / (1 + np.exp(-z))))
    err5 = np.max(np.abs(np.polynomial.polynomial.polyval(z, C.fit_sigmoid_polynomial(5, 8.0)) - 1 / (1 + np.exp(-z))))
    assert err3 < 0.12 and err5 < err3  # a higher degree fits better (and costs one more level)
    with pytest.raises(ValueError, match="degree must be an integer from 1 to 15; got 0"):
        C.fit_sigmoid_polynomial(0)
    with pytest.raises(TypeError, match="degree must be an integer; got 3.0"):
        C.fit_sigmoid_polynomial(3.0)
    with pytest.raises(ValueError, match="bound must be in"):
        C.fit_sigmoid_polynomial(3, -1.0)


@pytest.fixture(scope="module")
def model():
    from sklearn.linear_model import LogisticRegression

    from labkit.data import load

    ds = load("breast_cancer")
    clf = LogisticRegression(C=0.1, max_iter=1000).fit(ds.x_train, ds.y_train)
    return ds, clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


def test_packed_inference_matches_the_plaintext_model(model):
    ds, w, b = model
    ctx = C.make_context()
    coef = C.fit_sigmoid_polynomial(3, 16.0)
    x = ds.x_test.astype(np.float64)
    out = C.infer_packed(ctx, x, w, b, coef)
    z = x @ w + b
    assert np.max(np.abs(out.logits - z)) < 1e-2
    np.testing.assert_allclose(out.probabilities, np.polynomial.polynomial.polyval(z, coef), atol=1e-2)
    assert (out.logits > 0).tolist() == (z > 0).tolist()
    assert out.predictions.tolist() == (z > 0).astype(int).tolist()


def test_packed_inference_splits_batches_larger_than_the_slots(model):
    ds, w, b = model
    ctx = C.make_context(4096, (30, 20, 20, 30), 20)  # 2048 slots
    x = np.tile(ds.x_test.astype(np.float64), (15, 1))[:2100]  # more rows than slots
    out = C.infer_packed(ctx, x, w, b, np.array([0.5, 0.1]))
    assert out.logits.shape == (2100,)
    assert np.max(np.abs(out.logits - (x @ w + b))) < 0.5


def test_per_sample_baseline_agrees_with_packed(model):
    ds, w, b = model
    ctx = C.make_context(galois_keys=True)
    coef = C.fit_sigmoid_polynomial(3, 16.0)
    x = ds.x_test[:5].astype(np.float64)
    a = C.infer_per_sample(ctx, x, w, b, coef)
    p = C.infer_packed(ctx, x, w, b, coef)
    np.testing.assert_allclose(a.logits, p.logits, atol=1e-2)
    np.testing.assert_allclose(a.probabilities, p.probabilities, atol=1e-2)


def test_packing_input_checks():
    ctx = C.make_context(4096, (30, 20, 20, 30), 20)
    with pytest.raises(ValueError, match="x must have 2 dimensions; got shape"):
        C.encrypt_columns(ctx, np.zeros(3))
    with pytest.raises(ValueError, match="x must hold only finite numbers"):
        C.encrypt_columns(ctx, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="at most 2048"):
        C.encrypt_columns(ctx, np.zeros((2049, 2)))
    cols = C.encrypt_columns(ctx, np.ones((3, 2)))
    with pytest.raises(ValueError, match="one entry per encrypted column"):
        C.encrypted_logits(cols, np.ones(3), 0.0)


def test_noise_measurement_matches_precision_of_a_squaring():
    ctx = C.make_context(8192, (60, 40, 40, 60), 40)
    noise = C.measure_noise_bits(ctx, 40, 2, np.random.default_rng(0))
    assert len(noise) == 3 and all(5 < v < 30 for v in noise)
    assert noise[1] > noise[0]  # a multiplication adds noise


def test_explorer_widget_renders_and_updates_in_place(monkeypatch):
    """One Image swapped in place and a report of fixed height: no Output cleared and refilled (issue 20)."""
    import html
    import io

    import ipywidgets
    from PIL import Image

    from labkit._widgets import full_frame
    from labkit.he.widgets import REPORT_HEIGHT, ckks_explorer

    cleared = []
    monkeypatch.setattr(ipywidgets.Output, "clear_output", lambda self, *a, **k: cleared.append(self))
    box = ckks_explorer()
    image, report = box.output, box.report
    assert isinstance(image, ipywidgets.Image) and box.image is image and image in box.children
    assert isinstance(report, ipywidgets.HTML) and report.layout.height == REPORT_HEIGHT

    def widgets(w):
        yield w
        for child in getattr(w, "children", ()):
            yield from widgets(child)

    assert not [w for w in widgets(box) if isinstance(w, ipywidgets.Output)]
    size = (round(6.4 * 90), round(1.9 * 90))
    assert Image.open(io.BytesIO(image.value)).size == size  # the figure's own dpi (90)
    assert set(box.controls) == {"poly_modulus_degree", "coeff_mod_bit_sizes", "scale_bits"}
    assert "depth: 2" in report.value and box.current().depth == 2
    steps = [("scale_bits", 41, ["scale = 2^41"]),  # only the title moves
             ("coeff_mod_bit_sizes", "60, 40, 40, 40, 60", ["Cannot work", "218"]),  # too many bits for N = 8192
             ("poly_modulus_degree", 16384, ["depth: 3"]),  # the same primes fit in 438 bits
             ("scale_bits", 30, ["differ from the scale"]),  # the middle primes no longer match the scale
             ("coeff_mod_bit_sizes", "sixty", ["whole numbers"])]
    for name, value, said in steps:
        before = image.value
        box.controls[name].value = value
        assert all(s in report.value for s in said), (name, report.value)
        assert box.output is image and image in box.children and image.value != before
        assert Image.open(io.BytesIO(image.value)).size == size
        # the blitted frame (a title over a saved background, or bars redrawn) is the full draw's picture
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(image.value)).convert("RGB")),
                              full_frame(box.blitter.fig)[..., :3]), name
    assert box.current().describe() in html.unescape(report.value)  # the whole report, as escaped HTML
    assert cleared == []


def test_every_choice_the_widget_offers_gets_a_report_not_an_exception():
    sweep = C.load_sweep()
    rng = np.random.default_rng(3)
    for n in (1024, 2048, 4096, 8192, 16384, 32768):
        for _ in range(6):
            bits = ", ".join(str(b) for b in rng.integers(0, 70, size=int(rng.integers(0, 9))))
            report = C.check_params(n, bits, int(rng.integers(10, 61)), sweep)
            assert report.describe().startswith(f"N = {n}")
            assert report.valid or report.problems
    small = C.check_params(2048, [27, 27], 20, sweep)
    assert small.valid and small.precision_bits == () and small.op_ms == {}
