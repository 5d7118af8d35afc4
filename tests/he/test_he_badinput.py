"""Issue 21 for labkit.he: sizes are bounded, encodings refuse bad precision, check_params never raises."""

import time

import numpy as np
import pytest

from labkit.he import ckks as C
from labkit.he import paillier as P


@pytest.mark.parametrize("call, name", [
    (lambda: P.random_prime(10**9), "bits"),
    (lambda: P.generate_keypair(10**9, insecure_demo=True), "bits"),
    (lambda: P.is_probable_prime(2**61 - 1, rounds=10**9), "rounds"),
    (lambda: P.pack_slot_bits(10**9), "num_summands"),
    (lambda: P.pack([1.0], 10**9, 2), "key_bits"),
])
def test_huge_sizes_are_refused_at_once(call, name):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=name):
        call()
    assert time.perf_counter() - start < 1.0


@pytest.fixture(scope="module")
def small():
    return P.generate_keypair(128, insecure_demo=True, rng=np.random.default_rng(3))


@pytest.mark.parametrize("frac_bits", [-1, 2.5, True, None, 10**9])
def test_encoding_refuses_a_bad_frac_bits(small, frac_bits):
    pk, _ = small
    with pytest.raises(ValueError, match="frac_bits"):
        pk.encode(1.5, frac_bits)
    with pytest.raises(ValueError, match="frac_bits"):
        P.encrypt_vector(pk, [1.5], frac_bits=frac_bits)


def test_frac_bits_zero_still_encodes_integers_and_rounds_floats(small):
    pk, sk = small
    assert sk.decrypt(pk.encrypt(1.25, frac_bits=0)) == 1.0  # round(1.25) with no fractional bits
    assert sk.decrypt(pk.encrypt(7)) == 7


@pytest.mark.parametrize("rng", ["seed", -1, 2.5, float("nan"), True])
def test_rng_goes_through_the_one_generator_check(small, rng):
    pk, _ = small
    for call in (lambda: P.random_prime(32, rng=rng), lambda: pk.encrypt(1, rng=rng),
                 lambda: pk.random_r(rng), lambda: P.encrypt_vector(pk, [1.0], rng=rng)):
        with pytest.raises((TypeError, ValueError), match="rng"):
            call()


def test_an_integer_seed_is_reproducible():
    assert P.random_prime(64, rng=5) == P.random_prime(64, rng=np.random.default_rng(5))


def test_errors_name_the_argument(small):
    pk, sk = small
    c = pk.raw_encrypt(3)
    with pytest.raises(ValueError, match="c2"):
        pk.raw_add(c, 0)
    with pytest.raises(TypeError, match="numbers_"):
        P.decrypt_vector(sk, [1, 2])
    with pytest.raises(ValueError, match="values"):
        P.encrypt_vector(pk, [1.0, float("nan")])
    with pytest.raises(ValueError, match="k="):
        P.scale_vector(P.encrypt_vector(pk, [1.0]), 1e300)


@pytest.mark.parametrize("bits", [None, 3, object()])
def test_check_params_never_raises(bits):
    report = C.check_params(8192, bits, 40)
    assert not report.valid and "coeff_mod_bit_sizes" in report.problems[0]


@pytest.mark.parametrize("sweep", ["x", [1], {"degrees": None}])
def test_check_params_reports_a_bad_sweep(sweep):
    report = C.check_params(8192, "60, 40, 40, 60", 40, sweep)
    assert not report.valid and "sweep" in report.problems[0]


def test_make_context_names_the_bit_sizes():
    with pytest.raises(ValueError, match="coeff_mod_bit_sizes"):
        C.make_context(8192, None, 40)


def test_plots_refuse_nan_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.he.plots import plot_sigmoid_approximation

    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="coef"):
            plot_sigmoid_approximation(ax, [0.5, float("nan")], 8.0)
        with pytest.raises(ValueError, match="logits"):
            plot_sigmoid_approximation(ax, [0.5, 0.2], 8.0, np.array([0.1, np.inf]))
        with pytest.raises(ValueError, match="bound"):
            plot_sigmoid_approximation(ax, [0.5, 0.2], float("nan"))
    finally:
        plt.close(fig)


def test_explorer_refuses_starting_values_outside_its_controls():
    pytest.importorskip("ipywidgets")
    from labkit.he.widgets import ckks_explorer

    with pytest.raises(ValueError, match="scale_bits"):
        ckks_explorer(scale_bits=5)
    with pytest.raises(ValueError, match="poly_modulus_degree"):
        ckks_explorer(poly_modulus_degree=1000)
