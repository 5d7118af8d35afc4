"""Issue 21 for labkit.smpc: bounded sizes, primes where a prime is meant, the right argument blamed,
widgets that say when they adjust an input."""

import time

import numpy as np
import pytest

from labkit import smpc
from labkit.smpc import coalition_view, ring, shamir


def test_shamir_refuses_a_billion_parties_at_once():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="n_parties must be an integer from 1 to 1000000"):
        shamir.shamir_share(1, 10**9, 2)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("prime", [15, 2**64, 10**9])
def test_shamir_refuses_a_composite_modulus(prime):
    with pytest.raises(ValueError, match="prime must be a prime"):
        shamir.shamir_share(1, 3, 2, prime=prime)
    with pytest.raises(ValueError, match="prime must be a prime"):
        shamir.lagrange_at_zero([1, 2], prime)


def test_shamir_blames_prime_when_it_is_too_small_for_the_parties():
    with pytest.raises(ValueError, match="prime must exceed n_parties"):
        shamir.shamir_share(1, 5, 2, prime=5)


def test_encode_blames_max_abs():
    with pytest.raises(ValueError, match="max_abs"):
        ring.encode(1.0, max_abs=-1.0)
    with pytest.raises(ValueError, match="max_abs"):
        ring.encode(1.0, max_abs=float("nan"))
    with pytest.raises(ValueError, match=r"set by max_abs"):
        ring.encode(5.0, max_abs=1.0)


@pytest.mark.parametrize("prime, match", [(4, "prime must be a prime"), (5, "prime must exceed n_parties"),
                                          (2.5, "prime must be an integer")])
def test_coalition_view_blames_prime(prime, match):
    with pytest.raises((TypeError, ValueError), match=match):
        coalition_view(1, 5, 3, [0], 0, prime=prime)


def test_free_ports_is_bounded():
    from labkit.smpc.mpyc.runner import free_ports

    with pytest.raises(ValueError, match="k must be an integer from 1 to"):
        free_ports(10**9)
    with pytest.raises(TypeError, match="k must be an integer"):
        free_ports(True)


def test_wrong_sender_is_a_clear_value_error_and_still_an_invalid_tag():
    from cryptography.exceptions import InvalidTag

    from labkit.smpc.secagg import decrypt_shares, encrypt_shares

    ct = encrypt_shares(bytes(32), 1, 2, (1, 5), (1, 7))
    assert decrypt_shares(bytes(32), 1, 2, ct) == ((1, 5), (1, 7))
    with pytest.raises(ValueError, match="sender") as info:
        decrypt_shares(bytes(32), 0, 2, ct)
    assert isinstance(info.value, InvalidTag)


@pytest.mark.parametrize("call, name", [
    (lambda: smpc.neighbour_graph(10**9), "n_clients"),
    (lambda: smpc.expand_mask(1, 10**9), "length"),
    (lambda: smpc.TrustedDealer(2, 0).prepare_matmul((2, 2), (2, 2), count=10**9), "count"),
])
def test_other_sizes_are_bounded(call, name):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=name):
        call()
    assert time.perf_counter() - start < 1.0


def test_shares_are_checked_by_name():
    with pytest.raises(TypeError, match="x_shares"):
        smpc.add(None, smpc.share(1.0, 2, 0))
    with pytest.raises(ValueError, match="c must be finite"):
        smpc.add_public(smpc.share(1.0, 2, 0), float("nan"))


def test_coalition_widget_ranges_follow_the_parties_and_say_so():
    pytest.importorskip("ipywidgets")
    from labkit.smpc.widgets import coalition_widget

    w = coalition_widget()
    n, t, who = (w.controls[k] for k in ("n_parties", "threshold", "coalition"))
    assert t.max == n.value and list(who.options) == list(range(n.value))
    t.value, who.value = 5, (0, 4)
    n.value = 3
    assert (t.value, t.max, tuple(who.options), who.value) == (3, 3, (0, 1, 2), (0,))
    text = w.output.outputs[1]["text"]
    assert "note: the threshold was 5" in text and "colluders [4]" in text
    n.value = 8
    assert t.max == 8 and len(who.options) == 8 and "note" not in w.output.outputs[1]["text"]


def test_coalition_outputs_says_when_it_adjusts():
    pytest.importorskip("matplotlib")
    from labkit.smpc.widgets import coalition_outputs

    text = coalition_outputs(42, 4, 9, (0, 6), 0)[1]["text"]
    assert "note: threshold 9 is more than the 4 parties" in text and "colluders [6]" in text
    with pytest.raises(ValueError, match="seed"):
        coalition_outputs(42, 4, 2, (0,), -1)


def test_plots_refuse_nan_data():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.smpc.plots import plot_fixed_point_error, plot_secagg_cost

    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="errors"):
            plot_fixed_point_error(ax, [8, 16], [1e-3, float("nan")])
        with pytest.raises(ValueError, match="graph"):
            plot_secagg_cost(ax, [10, 20], [1.0, 2.0], [np.nan, 1.0], k=4)
    finally:
        plt.close(fig)
