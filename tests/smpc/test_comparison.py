"""Secure comparison, ReLU and a secret-shared network with MPyC (labkit.smpc.comparison, notebook 09).

The MPyC runs start 3 party processes each (a few seconds); they run once per module fixture.
Nothing here asserts a time: counts of messages are exact, results are compared with plaintext.
"""

import math

import numpy as np
import psutil
import pytest

from labkit.smpc import comparison as cmp


@pytest.fixture(scope="module")
def costs32():
    return cmp.mpyc_operation_costs(16, repeats=1, latency=0.0, seed=3, timeout=120)


@pytest.fixture(scope="module")
def costs64():
    # More bits: the comparison's product tree is one level longer (65 factors: 7 levels; 33: 6).
    return cmp.mpyc_operation_costs(8, repeats=1, latency=0.0, types=("int",), bit_length=64, frac_length=16,
                                    seed=4, timeout=120)


def expected_lt_messages(bits: int) -> int:
    """Messages per peer of MPyC 0.11's x < y on SecInt(bits) (runtime.np_sgn with LT=True).

    1 for the secret random bits r (PRSS squares, one opening), 1 to open c = a + 2^l + r + 2^l r',
    ceil(log2(l + 1)) for the product of l + 1 secret factors as a tree (np_prod halves the list each
    level), and the public zero test: 1 opening in a field of at least 2 * sec_param = 60 bits, 2 below
    (MPyC's SecInt(l) field has l + 32 bits, so l >= 28 is 'large').
    """
    return 2 + math.ceil(math.log2(bits + 1)) + (1 if bits + 32 >= 60 else 2)


def test_integer_results_equal_plaintext(costs32):
    for op in cmp.OPERATIONS:
        np.testing.assert_array_equal(costs32.opened[f"int:{op}"], costs32.plaintext(op, "int"), err_msg=op)


def test_fixed_point_results_equal_plaintext_within_fixed_point_error(costs32):
    u = 2.0 ** -costs32.frac_length
    x, y = costs32.x, costs32.y
    # Comparisons are exact on the encoded values; encoding moves a value by at most u / 2 (rounding),
    # so only pairs closer than u could flip: there are none at this seed.
    assert np.min(np.abs(x - y)) > u
    np.testing.assert_array_equal(costs32.opened["fxp:lt"], costs32.plaintext("lt", "fxp"))
    assert np.max(np.abs(costs32.opened["fxp:add"] - (x + y))) <= u
    assert np.max(np.abs(costs32.opened["fxp:relu"] - np.maximum(x, 0))) <= u / 2
    assert abs(costs32.opened["fxp:max"][0] - x.max()) <= u / 2
    # a product: encoding errors (u / 2 each) times the other factor, plus one truncation (< u)
    bound = (np.abs(x) + np.abs(y) + u / 2) * u / 2 + u
    assert np.all(np.abs(costs32.opened["fxp:mul"] - x * y) <= bound)


def test_addition_is_local_and_multiplication_one_message(costs32):
    assert costs32.row("add", "int")["messages_per_peer"] == 0
    assert costs32.row("add", "fxp")["messages_per_peer"] == 0
    assert costs32.row("mul", "int")["messages_per_peer"] == 1  # Shamir degree reduction: one resharing
    # fixed point adds a truncation: random bits (one opening of squares) and one opening of the masked value
    assert costs32.row("mul", "fxp")["messages_per_peer"] == 3


@pytest.mark.parametrize("fixture,bits", [("costs32", 32), ("costs64", 64)])
def test_comparison_messages_follow_bit_decomposition(request, fixture, bits):
    """x < y grows with the bit length as log2(l + 1): 9 messages at 32 bits, 10 at 64 bits."""
    costs = request.getfixturevalue(fixture)
    expected = expected_lt_messages(bits)
    assert expected == {32: 9, 64: 10}[bits]
    assert costs.row("lt", "int")["messages_per_peer"] == expected
    # ReLU = max(x, 0) = x + (x < 0) * (0 - x): one comparison and one multiplication
    assert costs.row("relu", "int")["messages_per_peer"] == expected + 1
    # the maximum of n values is a tournament: ceil(log2 n) levels of one max each
    assert costs.row("max", "int")["messages_per_peer"] == math.ceil(math.log2(costs.length)) * (expected + 1)


def test_no_party_process_left(costs32):
    me = psutil.Process()
    assert [p for p in me.children(recursive=True) if "_costs_party" in " ".join(p.cmdline())] == []


def test_rounds_are_measured_with_a_delay():
    costs = cmp.mpyc_operation_costs(4, repeats=1, latency=0.05, types=("int",), seed=0, timeout=120)
    assert {"rounds", "rounds_q25", "rounds_q75"} <= set(costs.row("lt").keys())
    assert costs.ratio("lt", "add") > 0


# ---------------------------------------------------------------------------- the network


def test_trained_mlp_is_accurate_and_plaintext_scores_match_numpy():
    model = cmp.train_digits_mlp(16, steps=300, seed=0)
    assert model.test_accuracy > 0.9
    x = np.random.default_rng(0).uniform(size=(3, 64))
    expected = np.maximum(x @ model.w1 + model.b1, 0) @ model.w2 + model.b2
    np.testing.assert_allclose(model.scores(x), expected)


def _emulate_fixed_point(model, x, f, rng):
    """Plain NumPy emulation of the fixed-point network: rounded encodings, one floor or ceil per product-sum."""
    u = 2.0 ** -f
    enc = lambda a: np.round(np.asarray(a) / u) * u  # noqa: E731
    trunc = lambda a: (np.floor(a / u) + rng.integers(0, 2, size=np.shape(a))) * u  # noqa: E731
    h = trunc(enc(x) @ enc(model.w1)) + enc(model.b1)
    return trunc(np.maximum(h, 0) @ enc(model.w2)) + enc(model.b2)


def test_error_bound_holds_for_an_independent_emulation_and_is_not_vacuous():
    rng = np.random.default_rng(1)
    model = cmp.TinyMLP(rng.normal(size=(64, 16)), rng.normal(size=16), rng.normal(size=(16, 10)), rng.normal(size=10))
    x = rng.uniform(size=(20, 64))
    for f in (8, 12, 16):
        bound = cmp.fixed_point_error_bound(model, x, f)
        err = np.abs(_emulate_fixed_point(model, x, f, rng) - model.scores(x))
        assert np.all(err <= bound)
        assert np.all(bound < 2.0 ** -f * 2_000)  # the bound scales with u, it is not "anything goes"
    # each extra fractional bit halves the bound
    np.testing.assert_allclose(cmp.fixed_point_error_bound(model, x, 17) / cmp.fixed_point_error_bound(model, x, 16),
                               0.5, rtol=1e-3)


@pytest.fixture(scope="module")
def inference():
    model = cmp.train_digits_mlp(16, steps=200, seed=1)
    from labkit.data import load

    x = load("digits").x_test[:5].astype(np.float64)
    return cmp.mpyc_mlp_inference(model, x, repeats=1, latency=0.0, timeout=120)


def test_secure_inference_equals_plaintext_within_the_fixed_point_bound(inference):
    assert inference.scores.shape == inference.plaintext.shape == (5, 10)
    assert np.all(np.abs(inference.scores - inference.plaintext) <= inference.bound)
    np.testing.assert_array_equal(inference.scores.argmax(1), inference.plaintext.argmax(1))
    # and the scores are not trivially close: they vary by far more than the bound
    assert np.ptp(inference.plaintext) > 100 * inference.bound.max()


def test_secure_inference_layer_costs(inference):
    layers = {r["label"]: r for r in inference.layers}
    assert list(layers) == list(cmp.LAYERS)
    # one matrix product (one resharing) plus its truncation (two openings), whatever the sizes
    assert layers["linear 1"]["messages_per_peer"] == layers["linear 2"]["messages_per_peer"] == 3
    assert layers["relu"]["messages_per_peer"] == expected_lt_messages(32) + 1


def test_inference_rejects_values_outside_the_fixed_point_range():
    rng = np.random.default_rng(0)
    model = cmp.TinyMLP(rng.normal(size=(4, 3)), np.zeros(3), rng.normal(size=(3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="x and the model's values must stay below"):
        cmp.mpyc_mlp_inference(model, np.full((1, 4), 1e5), latency=0.0)
    with pytest.raises(TypeError, match="model must be a TinyMLP"):
        cmp.mpyc_mlp_inference("model", np.zeros((1, 4)))


def test_error_bound_detects_a_lost_precision_of_six_bits():
    """The bound is a worst case (about 30 x the typical error at f = 16); it still rejects scores
    computed with 6 fewer fractional bits, so the secure-inference check can fail."""
    rng = np.random.default_rng(2)
    model = cmp.train_digits_mlp(16, steps=100, seed=2)
    from labkit.data import load

    x = load("digits").x_test[:20].astype(np.float64)
    coarse = np.abs(_emulate_fixed_point(model, x, 10, rng) - model.scores(x))
    assert np.any(coarse > cmp.fixed_point_error_bound(model, x, 16))


def test_notebook_comparison_rounds_matches_the_protocol_count():
    """Notebook 09's comparison_rounds (the learner's formula) against the count derived above from
    MPyC's np_sgn, for the bit lengths where the zero test is one opening (fields of 60 bits or more)."""
    from notebook_source import notebook_function

    rounds = notebook_function("09", "comparison_rounds", {"math": math})
    for bits in (28, 32, 33, 48, 63, 64, 65, 128):
        assert rounds(bits) == expected_lt_messages(bits), bits
