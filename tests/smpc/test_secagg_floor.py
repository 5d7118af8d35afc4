"""Secure aggregation at its floor (issue 17, item 6): the fast mask expansion is still the ChaCha20
keystream, masks still cancel exactly with dropouts, the protocol's private shortcuts (Shamir over the
known prime, the encoding of already-checked vectors, share encryption) give what the public functions
give, and the benchmark's floor expands masks with the protocol's own PRG."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import smpc
from labkit.smpc import secagg


def _keystream(seed: int, length: int) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    return Cipher(algorithms.ChaCha20(seed.to_bytes(32, "big"), bytes(16)), mode=None).encryptor().update(
        bytes(8 * length))


@pytest.mark.parametrize("length", [1, 7, 100_000, secagg._ZERO_CACHE_BYTES // 8 + 1])
def test_expand_mask_is_the_keystream_at_every_length(length):
    seed = 2**255 + 987654321
    mask = smpc.expand_mask(seed, length)
    assert mask.dtype == np.uint64 and mask.shape == (length,) and mask.flags.writeable
    assert mask.astype("<u8").tobytes() == _keystream(seed, length)


def test_expand_mask_outputs_do_not_share_memory_and_zero_buffer_stays_zero():
    a, b = smpc.expand_mask(1, 1000), smpc.expand_mask(2, 1000)
    a += np.uint64(5)  # writing one mask must not touch another, nor the cached zero plaintext
    assert not np.shares_memory(a, b)
    assert a.astype("<u8").tobytes() != _keystream(1, 1000)
    assert smpc.expand_mask(1, 1000).astype("<u8").tobytes() == _keystream(1, 1000)
    assert not np.any(secagg._zeros(8000))


@pytest.mark.parametrize("dropped", [(), (3,), (0, 6, 7)])
def test_masks_cancel_exactly_with_dropouts(dropped):
    """Integers with frac_bits=0 (and multiples of 2^-16 with 16 bits) travel exactly: the unmasked sum
    must equal the plain sum of the survivors with no tolerance; one wrong mask sign breaks it."""
    rng = np.random.default_rng(7)
    ints = rng.integers(-2**40, 2**40, size=(8, 500)).astype(np.float64)
    survivors = [u for u in range(8) if u not in dropped]
    total = smpc.secure_aggregate(ints, dropped=dropped, frac_bits=0)
    assert np.array_equal(total, ints[survivors].sum(axis=0))
    fixed = rng.integers(-2**30, 2**30, size=(8, 500)) / 2**16
    total = smpc.secure_aggregate(fixed, dropped=dropped, neighbours=6, threshold=3)
    assert np.array_equal(total, fixed[survivors].sum(axis=0))


def test_private_encoding_equals_encode_and_keeps_its_range_error():
    rng = np.random.default_rng(3)
    for x in (rng.normal(size=1000).astype(np.float32), rng.normal(scale=1e6, size=1000), np.zeros(0)):
        for frac_bits in (0, 16, 30):
            assert np.array_equal(secagg._encode_checked(x, frac_bits, 2.0**40),
                                  smpc.encode(x, frac_bits, max_abs=2.0**40)), (x.dtype, frac_bits)
    with pytest.raises(ValueError, match="set by max_abs"):
        secagg._encode_checked(np.array([1.0, 5.0]), 16, 4.0)
    with pytest.raises(ValueError, match="client_vectors\\[1\\].*2\\^47 / n_clients"):
        smpc.secure_aggregate([np.zeros(3), np.full(3, 2.0**46)])


def test_private_share_encryption_equals_the_public_one():
    key = bytes(range(32))
    share_k, share_s = (3, 2**500 + 1), (3, 12345)
    ct = secagg._encrypt_checked(key, 1, 2, share_k, share_s)
    assert ct == smpc.encrypt_shares(key, 1, 2, share_k, share_s)
    assert smpc.decrypt_shares(key, 1, 2, ct) == (share_k, share_s)


def test_floor_and_protocol_use_the_same_prg(monkeypatch):
    """The benchmark's floor and the protocol both call secagg.expand_mask (one call per mask, the whole
    vector at once): swap it for a counting wrapper and both are counted, with the same lengths."""
    from benchmarks.bench_smpc import deployed_masks, mask_floor

    calls: list[int] = []
    original = secagg.expand_mask

    def counting(seed, length):
        calls.append(int(length))
        return original(seed, length)

    monkeypatch.setattr(secagg, "expand_mask", counting)
    vectors = np.random.default_rng(0).normal(size=(6, 300))
    run = smpc.secure_aggregate_run(vectors, dropped=[2])
    protocol_calls = list(calls)
    assert len(protocol_calls) == run.masks_expanded and set(protocol_calls) == {300}
    calls.clear()
    mask_floor(run.masks_expanded, 300)
    assert calls == protocol_calls
    assert np.allclose(run.total, vectors[[0, 1, 3, 4, 5]].sum(axis=0), atol=6 * 2**-17)
    # a deployment: every client expands its self-mask and one mask per neighbour, the server the self-masks
    assert deployed_masks(10) == 10 * 9 + 2 * 10
    graph = smpc.neighbour_graph(20, 4, np.random.default_rng(0))
    assert deployed_masks(20, graph) == 20 * 4 + 2 * 20
