"""labkit.smpc: additive and Shamir sharing, Beaver products, secure aggregation, MPyC processes."""

from __future__ import annotations

import collections
import itertools
import os
import struct

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import smpc

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------ additive sharing and encoding
@given(st.lists(finite, min_size=1, max_size=20), st.integers(2, 8), st.integers(0, 2**32 - 1))
@settings(max_examples=60)
def test_share_reconstruct_round_trip(values, n, seed):
    x = np.array(values)
    shares = smpc.share(x, n, np.random.default_rng(seed))
    assert len(shares) == n and all(s.dtype == np.uint64 and s.shape == x.shape for s in shares)
    assert np.allclose(smpc.reconstruct(shares), x, atol=2**-17)


@given(st.lists(finite, min_size=3, max_size=3), st.lists(finite, min_size=3, max_size=3), st.integers(-50, 50))
@settings(max_examples=60)
def test_shares_are_linear(a, b, k):
    x, y = np.array(a), np.array(b)
    xs, ys = smpc.share(x, 3), smpc.share(y, 3)
    assert np.allclose(smpc.reconstruct(smpc.add(xs, ys)), x + y, atol=2**-15)
    assert np.allclose(smpc.reconstruct(smpc.scale_public_int(xs, k)), k * x, atol=abs(k) * 2**-16 + 1e-12)
    assert np.allclose(smpc.reconstruct(smpc.add_public(xs, 2.5)), x + 2.5, atol=2**-16)


def test_share_uses_os_entropy_by_default_and_rng_reproduces():
    a, b = smpc.share(1.0, 3), smpc.share(1.0, 3)
    assert not np.array_equal(a[0], b[0])
    c, d = smpc.share(1.0, 3, np.random.default_rng(5)), smpc.share(1.0, 3, np.random.default_rng(5))
    assert all(np.array_equal(u, v) for u, v in zip(c, d))


def test_an_integer_seed_is_one_generator_for_the_whole_call():
    """rng=5 means np.random.default_rng(5), made once: the shares of one call still differ from
    each other, and a secure-aggregation round is the same as with the generator itself."""
    shares = smpc.share(np.zeros(4), 3, 5)
    assert not np.array_equal(shares[0], shares[1])
    assert all(np.array_equal(a, b) for a, b in zip(shares, smpc.share(np.zeros(4), 3, np.random.default_rng(5))))
    vectors = np.random.default_rng(0).normal(size=(5, 3))
    seeded = smpc.secure_aggregate_run(vectors, dropped=[1], neighbours=2, rng=7)
    generator = smpc.secure_aggregate_run(vectors, dropped=[1], neighbours=2, rng=np.random.default_rng(7))
    assert seeded.graph == generator.graph and seeded.public_keys == generator.public_keys
    assert all(np.array_equal(seeded.transcript.server_received[u], generator.transcript.server_received[u])
               for u in seeded.survivors)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        smpc.share(1.0, 2, "seed")


def test_bools_and_floats_are_not_counts():
    with pytest.raises(TypeError, match="n_parties must be an integer; got True"):
        smpc.share(1.0, True)
    with pytest.raises(TypeError, match="n_parties must be an integer; got 2.0"):
        smpc.TrustedDealer(2.0)
    with pytest.raises(TypeError, match=r"dropped\[0\] must be an integer; got 1.0"):
        smpc.secure_aggregate(np.ones((3, 2)), dropped=[1.0])
    with pytest.raises(TypeError, match="frac_bits must be an integer; got False"):
        smpc.encode(1.0, False)


def test_share_rejects_bad_input():
    with pytest.raises(ValueError, match="n_parties must be an integer from 2"):
        smpc.share(1.0, 1)
    with pytest.raises(ValueError, match="x must lie in"):
        smpc.share(2.0**48, 2)
    with pytest.raises(ValueError, match="finite"):
        smpc.share(float("nan"), 2)
    with pytest.raises(ValueError, match="shares must be a list of at least 2"):
        smpc.reconstruct([np.zeros(2, np.uint64)])


def test_any_n_minus_1_shares_are_uniform_chi_square():
    """A coalition of n - 1 parties sees the same (uniform) distribution for secret 0 and secret 10^6."""
    from scipy.stats import chisquare

    rng = np.random.default_rng(0)
    for secret in (0.0, 1e6):
        shares = smpc.share(np.full(20_000, secret), 3, rng)
        for s in shares:  # every single share, including the last one, is uniform
            top = (s >> np.uint64(60)).astype(np.int64)  # 16 bins by the top 4 bits
            counts = np.bincount(top, minlength=16)
            assert chisquare(counts).pvalue > 1e-4
        pair = (shares[0] + shares[1]) >> np.uint64(60)  # what parties 0 and 1 can compute together
        assert chisquare(np.bincount(pair.astype(np.int64), minlength=16)).pvalue > 1e-4


def test_ring_matmul_matches_numpy_uint64():
    rng = np.random.default_rng(1)
    for shape in ((3, 5, 4), (50, 100, 20), (2, 600, 3)):
        a = smpc.random_ring(shape[:2], rng)
        b = smpc.random_ring(shape[1:], rng)
        assert np.array_equal(smpc.ring_matmul(a, b), a @ b)


# ------------------------------------------------------------------ Shamir
@given(st.integers(0, smpc.PRIME - 1), st.integers(1, 9), st.data())
@settings(max_examples=50)
def test_shamir_any_t_shares_reconstruct(secret, n, data):
    t = data.draw(st.integers(1, n))
    points = smpc.shamir_share(secret, n, t, np.random.default_rng(n))
    idx = data.draw(st.permutations(range(n)))[:t]
    assert smpc.shamir_reconstruct([points[i] for i in idx]) == secret


def _polynomials(p: int, degree_below: int):
    """Every polynomial of degree < degree_below over Z_p, as coefficient tuples (a0, a1, ...)."""
    return itertools.product(range(p), repeat=degree_below)


def _evaluate(coeffs, x: int, p: int) -> int:
    return sum(c * pow(x, k, p) for k, c in enumerate(coeffs)) % p


@pytest.mark.parametrize("t, coalition", [(3, [0, 1]), (3, [2]), (3, [0, 2, 4]), (2, [1, 3]), (4, [0, 1, 2])])
def test_coalition_view_counts_consistent_secrets_by_brute_force(t, coalition):
    """Enumerate every polynomial of degree < t over Z_7: which secrets f(0) fit the coalition's points?

    Below the threshold every secret fits, each through the same number of polynomials (the view
    says nothing about the secret); at or above it exactly one does. The count is compared with
    what coalition_view reports, and with its interpolated guess.
    """
    p, n, secret = 7, 5, 3
    view = smpc.coalition_view(secret, n, t, coalition, np.random.default_rng(11), prime=p)
    points = [view.shamir_points[i] for i in coalition]
    fits = collections.Counter(
        coeffs[0] for coeffs in _polynomials(p, t) if all(_evaluate(coeffs, x, p) == y for x, y in points))
    assert view.consistent_secrets == len(fits)
    if len(coalition) < t:
        assert set(fits) == set(range(p)) and len(set(fits.values())) == 1
        assert not view.shamir_recovers and view.shamir_guess is None and "learn nothing" in view.lines()[1]
    else:
        assert list(fits) == [secret] and view.shamir_recovers and view.shamir_guess == secret
        assert "the secret" in view.lines()[1]


def test_coalition_additive_sum_is_the_secret_only_for_everyone():
    p = 31
    partial = {smpc.coalition_view(7, 5, 3, [0, 1], np.random.default_rng(s), prime=p).additive_partial_sum for s in range(200)}
    assert len(partial) > 20  # the partial sum of 2 of 5 additive shares varies: it is not the secret
    everyone = smpc.coalition_view(7, 5, 3, range(5), np.random.default_rng(0), prime=p)
    assert everyone.additive_recovers and everyone.additive_partial_sum == 7
    assert "learn nothing" in smpc.coalition_view(7, 5, 3, [0, 1], np.random.default_rng(0), prime=p).lines()[0]


def test_shamir_rejects_bad_input():
    with pytest.raises(ValueError, match="threshold must be an integer from 1 to 3; got 4"):
        smpc.shamir_share(5, 3, 4)
    with pytest.raises(ValueError, match="secret must be an integer from 0 to"):
        smpc.shamir_share(-1, 3, 2)
    with pytest.raises(TypeError, match="threshold must be an integer; got True"):
        smpc.shamir_share(5, 3, True)
    with pytest.raises(ValueError, match="distinct, non-zero"):
        smpc.shamir_reconstruct([(1, 2), (1, 3)])
    with pytest.raises(ValueError, match=r"coalition\[0\] must be an integer from 0 to 3; got 5"):
        smpc.coalition_view(3, 4, 2, [5])


# ------------------------------------------------------------------ Beaver products
@given(st.lists(st.floats(-1000, 1000), min_size=1, max_size=10), st.data(), st.integers(2, 4))
@settings(max_examples=50)
def test_beaver_product_matches_plain_product(xs, data, n):
    x = np.array(xs)
    y = np.array(data.draw(st.lists(st.floats(-1000, 1000), min_size=len(xs), max_size=len(xs))))
    dealer = smpc.TrustedDealer(n, np.random.default_rng(len(xs)))
    z = smpc.reconstruct(smpc.beaver_mul(smpc.share(x, n), smpc.share(y, n), dealer))
    # input rounding 2^-17 on each factor, plus the truncation: floor(z / 2^16) or one unit below it, so
    # less than two units (2 x 2^-16) below the exact value (see test_truncation_without_failure_...)
    bound = (np.abs(x) + np.abs(y) + 1) * 2**-17 + 2 * 2**-16
    assert np.all(np.abs(z - x * y) <= bound)
    assert dealer.triples_used == 1 and dealer.pairs_used == 1


def test_beaver_opened_values_look_random_and_matmul_is_right():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 5)), rng.normal(size=(5, 3))
    dealer = smpc.TrustedDealer(3, rng)
    transcript: list = []
    z = smpc.reconstruct(smpc.beaver_matmul(smpc.share(x, 3), smpc.share(y, 3), dealer, transcript=transcript))
    assert np.max(np.abs(z - x @ y)) < 1e-3
    assert [label for label, _ in transcript] == ["open D = X - A", "open E = Y - B", "open z - r"]
    # prepared (offline) triples give the same result
    dealer.prepare_matmul((8, 5), (5, 3), 2)
    z2 = smpc.reconstruct(smpc.beaver_matmul(smpc.share(x, 3), smpc.share(y, 3), dealer))
    assert np.max(np.abs(z2 - x @ y)) < 1e-3
    with pytest.raises(ValueError, match="matching inner dimensions"):
        smpc.beaver_matmul(smpc.share(x, 3), smpc.share(x, 3), dealer)
    with pytest.raises(ValueError, match="one share per party"):
        smpc.beaver_mul(smpc.share(x, 2), smpc.share(x, 2), dealer)


def test_secure_logistic_regression_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    from labkit.data import load

    ds = load("breast_cancer")
    model = LogisticRegression(max_iter=1000).fit(ds.x_train, ds.y_train)
    plain = model.decision_function(ds.x_test)
    secure = smpc.secure_logistic_scores(ds.x_test, model.coef_[0], float(model.intercept_[0]), 2)
    assert np.max(np.abs(secure - plain)) < 1e-3
    assert np.array_equal(secure > 0, plain > 0)


def test_secure_dot_product():
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(4, 30)), rng.normal(size=30)
    dealer = smpc.TrustedDealer(2, rng)
    got = smpc.reconstruct(smpc.secure_dot(smpc.share(x, 2), smpc.share(np.tile(w, (4, 1)), 2), dealer))
    assert np.max(np.abs(got - x @ w)) < 1e-3


# ------------------------------------------------------------------ secure aggregation
@given(st.integers(3, 9), st.data())
@settings(max_examples=25)
def test_secure_aggregate_equals_plain_sum_for_dropouts_below_threshold(n, data):
    t = n // 2 + 1
    dropped = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n - t))
    rng = np.random.default_rng(n)
    vectors = [rng.normal(scale=10, size=7) for _ in range(n)]
    got = smpc.secure_aggregate(vectors, dropped=dropped, rng=np.random.default_rng(1))
    want = np.sum([v for i, v in enumerate(vectors) if i not in dropped], axis=0)
    assert np.allclose(got, want, atol=n * 2**-16)


def test_secure_aggregate_neighbour_graph_and_transcript():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(12, 50))
    run = smpc.secure_aggregate_run(vectors, dropped=[3], neighbours=4, rng=rng)
    assert np.allclose(run.total, np.delete(vectors, 3, axis=0).sum(axis=0), atol=1e-3)
    assert all(len(nb) == 4 for nb in run.graph.values())
    assert all(u in run.graph[v] for u in run.graph for v in run.graph[u])  # symmetric
    # the server only ever holds masked vectors, and never both secrets of one client
    assert set(run.transcript.server_received) == set(range(12)) - {3}
    for u, y in run.transcript.server_received.items():
        assert not np.allclose(smpc.decode(y), vectors[u], atol=1.0)
    assert run.transcript.server_reconstructed[3] == "key-agreement secret"
    assert all(run.transcript.server_reconstructed[u] == "self-mask seed" for u in run.survivors)
    assert any("decodes only the sum" in line for line in run.transcript.server_view())
    # in the honest round the server collects, for each client, one kind of share only
    for u in range(12):
        kinds = {k for k, pts in run.transcript.server_collected[u].items() if pts}
        assert kinds == ({"key"} if u == 3 else {"seed"})


# ------------------------------------------------------------------ a server that lies about dropouts
def _holders_count(run, target, colluders):
    """h and c of the counting condition, computed from the graph (not from the attack's answer)."""
    holders = set(run.graph[target]) | {target}
    h = sum(1 for v in holders if v in run.survivors and v not in colluders)
    c = sum(1 for v in holders if v in colluders)
    return h, c


@pytest.mark.parametrize("n, dropped, neighbours", [(6, (), None), (6, (2,), None), (7, (0, 5), None), (8, (1,), 4)])
def test_lying_server_reads_the_target_exactly_when_2t_le_h_plus_2c(n, dropped, neighbours):
    """Every threshold, every coalition size, default and explicit splits: the attack, run on the
    real (decrypted, interpolated) shares, recovers the input exactly when 2t <= h + 2c."""
    rng = np.random.default_rng(n + len(dropped))
    vectors = rng.normal(size=(n, 16))
    max_t = min(len(set(nb) | {0}) for nb in smpc.neighbour_graph(n, neighbours, np.random.default_rng(0)).values())
    seen = collections.Counter()
    for t in range(1, max_t + 1):
        try:
            run = smpc.secure_aggregate_run(vectors, dropped=dropped, threshold=t, neighbours=neighbours,
                                            rng=np.random.default_rng(t))
        except ValueError:  # too few survivors for this threshold: no round, nothing to attack
            continue
        target = run.survivors[-1]
        others = [u for u in range(n) if u != target]
        for size in range(0, t):
            colluders = tuple(others[:size])
            h, c = _holders_count(run, target, colluders)
            attack = smpc.lying_server_attack(run, target, colluders)
            works = 2 * t <= h + 2 * c
            assert attack.succeeded == works == attack.counting_condition, attack.line()
            if works:
                assert np.max(np.abs(attack.recovered - vectors[target])) <= 2**-16
            else:
                assert min(attack.key_shares, attack.seed_shares) < t
            seen[works] += 1
            # whatever split the server chooses, it never beats the counting condition
            honest_others = [v for v in sorted(set(run.graph[target])) if v in run.survivors and v not in colluders]
            for k in range(len(honest_others) + 1):
                split = smpc.lying_server_attack(run, target, colluders, told_dropped=honest_others[:k])
                assert split.key_shares == k + c and split.seed_shares == h - k + c
                assert split.succeeded == (k + c >= t and h - k + c >= t)
                assert not split.succeeded or works
    assert seen[True] and seen[False]  # both outcomes occur in this setting


def test_lying_server_fails_in_the_notebook_setting_n6_t4_one_dropout():
    """n = 6, t = 4, client 2 dropped: h + 2c = 5 + c, so the server needs 3 colluders (t - 1)."""
    vectors = np.random.default_rng(3).normal(scale=0.1, size=(6, 50))
    run = smpc.secure_aggregate_run(vectors, dropped=[2], rng=np.random.default_rng(4))
    assert run.threshold == 4
    outcomes = {c: smpc.lying_server_attack(run, 4, [0, 1, 3][:c]) for c in range(4)}
    assert [outcomes[c].succeeded for c in range(4)] == [False, False, False, True]
    assert outcomes[0].key_shares == 4 and outcomes[0].seed_shares == 1  # 5 answers cannot make 2 x 4 shares
    assert np.allclose(outcomes[3].recovered, vectors[4], atol=2**-16)


def test_threshold_above_two_thirds_defeats_the_lying_server_below_a_third_colluding():
    """t > 2n/3 and c < n/3: h + 2c <= n + c < 4n/3 < 2t, whatever the dropouts."""
    n = 9
    vectors = np.random.default_rng(5).normal(size=(n, 8))
    for dropped in ((), (0,)):
        run = smpc.secure_aggregate_run(vectors, dropped=dropped, threshold=7, rng=np.random.default_rng(6))
        for c in range(3):  # fewer than n/3 = 3 colluders
            colluders = [u for u in range(n) if u not in dropped and u != 8][:c]
            assert not smpc.lying_server_attack(run, 8, colluders).succeeded
    # with t = 5 (a majority, but not above 2n/3) the same server reads client 8 with 1 colluder and no dropout
    run = smpc.secure_aggregate_run(vectors, threshold=5, rng=np.random.default_rng(6))
    assert smpc.lying_server_attack(run, 8, [0]).succeeded


def test_honest_client_answers_one_share_per_client_and_refuses_a_list_without_itself():
    run = smpc.secure_aggregate_run(np.ones((5, 3)), dropped=[1], rng=np.random.default_rng(7))
    client = run.clients[0]
    answer = client.answer(run.survivors)
    assert set(answer) == set(range(5)) and answer[1][0] == "key" and all(answer[u][0] == "seed" for u in (0, 2, 3, 4))
    assert client.answer([1, 2, 3, 4]) == {}  # told it dropped: it knows it did not, and says nothing
    assert client.answer([0, 2]) == {}  # fewer than t = 3 survivors claimed


def test_lying_server_attack_rejects_bad_input():
    run = smpc.secure_aggregate_run(np.ones((5, 3)), dropped=[1], rng=np.random.default_rng(8))
    with pytest.raises(ValueError, match="target must be a survivor"):
        smpc.lying_server_attack(run, 1)
    with pytest.raises(ValueError, match="colluders must be client ids"):
        smpc.lying_server_attack(run, 0, [0])
    with pytest.raises(ValueError, match="told_dropped must be honest surviving share holders"):
        smpc.lying_server_attack(run, 0, [2], told_dropped=[2])


# ------------------------------------------------------------------ cryptographic hygiene of secure aggregation
def _chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """The ChaCha20 block function written from RFC 8439, section 2.3, independent of any library."""
    mask32 = 0xFFFFFFFF

    def rotl(v, c):
        return ((v << c) & mask32) | (v >> (32 - c))

    def quarter(s, a, b, c, d):
        s[a] = (s[a] + s[b]) & mask32; s[d] = rotl(s[d] ^ s[a], 16)  # noqa: E702
        s[c] = (s[c] + s[d]) & mask32; s[b] = rotl(s[b] ^ s[c], 12)  # noqa: E702
        s[a] = (s[a] + s[b]) & mask32; s[d] = rotl(s[d] ^ s[a], 8)  # noqa: E702
        s[c] = (s[c] + s[d]) & mask32; s[b] = rotl(s[b] ^ s[c], 7)  # noqa: E702

    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *struct.unpack("<8I", key), counter, *struct.unpack("<3I", nonce)]
    w = list(state)
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                           (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            quarter(w, a, b, c, d)
    return struct.pack("<16I", *[(x + y) & mask32 for x, y in zip(w, state)])


def test_reference_chacha20_block_matches_rfc_8439_test_vector():
    block = _chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert block[:16].hex() == "10f1e7e4d13b5915500fdd1fa32071c4"


@pytest.mark.parametrize("seed", [0, 1, 2**255 + 12345, 2**256 - 1])
def test_expand_mask_is_the_chacha20_keystream_of_the_seed(seed):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    length = 20  # 160 bytes: two and a half 64-byte blocks
    mask = smpc.expand_mask(seed, length)
    assert mask.dtype == np.uint64 and mask.shape == (length,)
    key = seed.to_bytes(32, "big")
    library = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(bytes(8 * length))
    reference = b"".join(_chacha20_block(key, i, bytes(12)) for i in range(3))[:8 * length]
    assert mask.astype("<u8").tobytes() == library == reference
    assert np.array_equal(mask, np.frombuffer(reference, dtype="<u8"))
    assert not np.array_equal(mask, np.random.SFC64(seed).random_raw(length))
    assert np.array_equal(smpc.expand_mask(key, length), mask)  # 32 bytes or the integer: same key


def test_expand_mask_rejects_bad_seeds():
    with pytest.raises(ValueError, match=f"seed must be an integer from 0 to {2**256 - 1}; got {2**256}"):
        smpc.expand_mask(2**256, 4)
    with pytest.raises(ValueError, match="seed must be"):
        smpc.expand_mask(-1, 4)
    with pytest.raises(ValueError, match="seed must be 32 bytes"):
        smpc.expand_mask(bytes(31), 4)
    with pytest.raises(ValueError, match="length must be an integer from 0 to 50000000; got -1"):
        smpc.expand_mask(1, -1)


def test_relayed_shares_are_authenticated_ciphertext_the_server_cannot_read():
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from labkit.smpc import secagg

    run = smpc.secure_aggregate_run(np.ones((5, 4)), dropped=[2], rng=np.random.default_rng(9))
    relayed = run.transcript.server_relayed
    assert set(relayed) == {(u, v) for u in range(5) for v in range(5) if u != v}
    assert any("ChaCha20-Poly1305" in line for line in run.transcript.server_view())
    for (u, v), ciphertext in relayed.items():
        key_share, seed_share = run.clients[v].held[u]
        plain_values = [key_share[1].to_bytes(66, "big"), seed_share[1].to_bytes(66, "big")]
        assert len(ciphertext) == 12 + 2 * 66 + 16  # header, two shares, the Poly1305 tag
        assert not any(value in ciphertext for value in plain_values)  # the shares do not appear in clear
        right = secagg._share_key(run.clients[v].encryption_key, run.encryption_public_keys[u])
        assert smpc.decrypt_shares(right, u, v, ciphertext) == (key_share, seed_share)
        wrong_keys = [bytes(32), secagg._share_key(X25519PrivateKey.generate(), run.encryption_public_keys[u]),
                      secagg._share_key(run.clients[(v + 1) % 5 if (v + 1) % 5 != u else (v + 2) % 5].encryption_key,
                                        run.encryption_public_keys[u])]
        for wrong in wrong_keys:
            with pytest.raises(InvalidTag):
                smpc.decrypt_shares(wrong, u, v, ciphertext)
        tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
        with pytest.raises(InvalidTag):
            smpc.decrypt_shares(right, u, v, tampered)
    # a ciphertext replayed to another recipient does not decrypt (the nonce names sender and recipient)
    right = secagg._share_key(run.clients[1].encryption_key, run.encryption_public_keys[0])
    with pytest.raises(InvalidTag):
        smpc.decrypt_shares(right, 1, 0, relayed[(0, 1)])


def test_self_mask_still_hides_a_late_client_whose_masking_key_the_server_rebuilt():
    """Notebook 09's reason for b_u: a client declared dropped whose y_u arrives late. The server
    rebuilds its masking key from t shares and strips every pairwise mask, yet PRG(b_u) still
    hides x_u; only with b_u as well (which honest clients never also reveal) does x_u appear."""
    from scipy.stats import chisquare

    from labkit.smpc import secagg

    vectors = np.random.default_rng(11).normal(size=(6, 4000))
    run = smpc.secure_aggregate_run(vectors, rng=np.random.default_rng(12))
    u, t = 4, run.threshold
    key_points = [run.clients[v].held[u][0] for v in run.holders(u) if v != u][:t]
    sk = smpc.shamir_reconstruct(key_points, prime=smpc.SECAGG_PRIME).to_bytes(32, "big")
    assert sk == run.clients[u].masking_key.private_bytes_raw()
    y = run.transcript.server_received[u]
    no_pairwise = secagg._strip_masks(y, u, sk, 0, run.graph, run.public_keys) + smpc.expand_mask(0, y.shape[0])
    counts = np.bincount((no_pairwise >> np.uint64(60)).astype(np.int64), minlength=16)
    assert chisquare(counts).pvalue > 1e-3  # still uniform over the ring: x_u + PRG(b_u)
    assert not np.allclose(smpc.decode(no_pairwise), vectors[u], atol=1.0)
    both = secagg._strip_masks(y, u, sk, run.clients[u].self_seed, run.graph, run.public_keys)
    assert np.max(np.abs(smpc.decode(both) - vectors[u])) <= 2**-16


def test_masking_and_encryption_keys_are_distinct_and_only_masking_keys_are_shared():
    run = smpc.secure_aggregate_run(np.ones((4, 2)), rng=np.random.default_rng(10))
    for u, client in run.clients.items():
        masking = client.masking_key.private_bytes_raw()
        assert masking != client.encryption_key.private_bytes_raw()
        assert run.public_keys[u] != run.encryption_public_keys[u]
        points = [run.clients[v].held[u][0] for v in run.holders(u)][: run.threshold]
        assert smpc.shamir_reconstruct(points, prime=smpc.SECAGG_PRIME) == int.from_bytes(masking, "big")


# ------------------------------------------------------------------ truncation failures
def _clopper_pearson(k: int, n: int, level: float = 0.99) -> tuple[float, float]:
    from scipy.stats import beta

    a = (1 - level) / 2
    return (0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1)), 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k)))


@pytest.mark.parametrize("x, y", [(2.0**12, 2.0**12), (2.0**14, 2.0**14), (-(2.0**14), 2.0**14), (2.0**15, 2.0**15), (3.0, 5.0)])
def test_truncation_failure_rate_agrees_with_the_formula(x, y):
    """Shared products of the same x and y: the failures (off by 2^32) are Binomial(N, p).

    The measured rate must agree with the exact formula within a 99.9% Clopper-Pearson interval
    (N = 20000 products per case, one fixed seed for every case).
    """
    rng = np.random.default_rng(0)
    n = 20_000
    xs, ys = np.full(n, x), np.full(n, y)
    dealer = smpc.TrustedDealer(2, rng)
    got = smpc.reconstruct(smpc.beaver_mul(smpc.share(xs, 2, rng), smpc.share(ys, 2, rng), dealer))
    error = np.abs(got - x * y)
    failed = error > 1
    assert np.all(error[~failed] <= 2**-16) and np.allclose(error[failed], 2.0**32)
    p = smpc.truncation_failure_probability(x, y)
    z = int(x * 2**16) * int(y * 2**16)
    assert p == ((z + 1) if z >= 0 else (abs(z) - 1)) / 2**64
    assert abs(p - abs(x * y) / 2**32) <= 2**-64
    low, high = _clopper_pearson(int(failed.sum()), n, 0.999)
    assert low <= p <= high, (failed.sum(), p, low, high)
    if abs(x * y) >= 2**28:  # the interval is tight enough to reject the old "|z| / 2^63" claim
        assert not low <= abs(z) / 2**63 <= high


def test_truncation_without_failure_is_the_floor_or_one_unit_below():
    """Notebook 09 and ``truncate``: without a wrap, the result is floor(z / 2^16) or one less
    (a carry lost between the two shifted parts), so less than two units below z / 2^16; both
    cases occur, so "off by at most one unit" from the exact value would be wrong."""
    rng = np.random.default_rng(13)
    z = rng.integers(-(2**40), 2**40, size=50_000).astype(np.int64)
    dealer = smpc.TrustedDealer(2, rng)
    out = smpc.reconstruct_encoded(smpc.truncate(smpc.share_encoded(z.view(np.uint64), 2, rng), dealer)).view(np.int64)
    below_floor = (z >> 16) - out
    assert set(np.unique(below_floor)) == {0, 1}
    gap = z / 2**16 - out
    assert np.all(gap >= 0) and np.all(gap < 2) and np.max(gap) > 1.5


def test_truncation_failure_probability_vectorises_and_rejects_unrepresentable_products():
    p = smpc.truncation_failure_probability(np.array([1.0, -2.0, 0.0]), 3.0)
    assert p.shape == (3,) and p[2] == 2**-64 and np.allclose(p[:2], [3 / 2**32, 6 / 2**32], rtol=1e-9)
    with pytest.raises(ValueError, match="x \\* y must lie within"):
        smpc.truncation_failure_probability(2.0**16, 2.0**16)


def test_masked_vector_is_uniform():
    from scipy.stats import chisquare

    vectors = np.zeros((4, 20_000))  # even an all-zero update looks uniform once masked
    run = smpc.secure_aggregate_run(vectors, rng=np.random.default_rng(0))
    top = (run.transcript.server_received[0] >> np.uint64(60)).astype(np.int64)
    assert chisquare(np.bincount(top, minlength=16)).pvalue > 1e-4


def test_secure_aggregate_below_threshold_raises_and_decodes_nothing(monkeypatch):
    decoded = []
    from labkit.smpc import secagg

    monkeypatch.setattr(secagg, "decode", lambda *a, **k: decoded.append(1))
    vectors = np.ones((5, 3))
    with pytest.raises(ValueError, match="fewer than the threshold t=3"):
        secagg.secure_aggregate(vectors, dropped=[0, 1, 2], rng=np.random.default_rng(0))
    assert decoded == []
    with pytest.raises(ValueError, match="surviving share holders"):
        secagg.secure_aggregate(np.ones((8, 3)), dropped=[0, 1], neighbours=2, threshold=2, rng=np.random.default_rng(1))
    assert decoded == []


def test_secure_aggregate_rejects_bad_input():
    with pytest.raises(ValueError, match=r"dropped\[0\] must be an integer from 0 to 2; got 3"):
        smpc.secure_aggregate(np.ones((3, 2)), dropped=[3])
    with pytest.raises(ValueError, match="threshold must be an integer from 1 to 3"):
        smpc.secure_aggregate(np.ones((3, 2)), threshold=4)
    with pytest.raises(ValueError, match="neighbours k must be an even integer"):
        smpc.secure_aggregate(np.ones((6, 2)), neighbours=3)
    with pytest.raises(ValueError, match="equal length"):
        smpc.secure_aggregate([np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match="client_vectors\\[1\\]"):
        smpc.secure_aggregate([np.ones(2), np.full(2, 1e14)])


def test_smpc_randomness_without_a_seed_comes_from_os_entropy_not_numpy_global_state():
    """Reseeding NumPy's global generator must not repeat shares, keys, seeds, masks or graphs."""
    def draw():
        np.random.seed(0)
        run = smpc.secure_aggregate_run(np.zeros((30, 4)), neighbours=4)
        dealer = smpc.TrustedDealer(2)
        return [smpc.share(np.zeros(4), 3)[0].tobytes(), str(smpc.shamir_share(5, 3, 2)),
                str(dealer.triple((2,))[0][0]), run.public_keys[0], run.encryption_public_keys[0],
                run.transcript.server_received[0].tobytes(), str(run.graph),
                str(smpc.coalition_view(5, 4, 2, [0]).additive_shares)]

    first, second = draw(), draw()
    assert all(a != b for a, b in zip(first, second)), [i for i, (a, b) in enumerate(zip(first, second)) if a == b]


def test_secure_aggregate_uses_os_entropy_by_default():
    a = smpc.secure_aggregate_run(np.zeros((3, 4)))
    b = smpc.secure_aggregate_run(np.zeros((3, 4)))
    assert not np.array_equal(a.transcript.server_received[0], b.transcript.server_received[0])


# ------------------------------------------------------------------ MPyC as separate processes
def _mpyc_processes() -> list[psutil.Process]:
    """MPyC parties started by this test process (each leads its own session, but its parent is
    still this process) that are not reaped: other sessions' parties on the machine do not count."""
    found = []
    for p in psutil.process_iter(["cmdline", "ppid", "status"]):
        try:
            if (p.info["ppid"] == os.getpid() and p.info["status"] != psutil.STATUS_ZOMBIE
                    and "mpyc_demo" in " ".join(p.info["cmdline"] or [])):
                found.append(p)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.slow  # three OS processes
def test_mpyc_three_processes_match_plaintext_and_leave_nothing():
    values = [[3.5, 7.0, 12.0], [2.0, 4.5], [9.25, 1.0, 6.0]]
    result = smpc.run_mpyc_statistic(values, timeout=90)
    flat = np.concatenate([np.array(v) for v in values])
    assert result.count == 8 and result.parties == 3
    assert abs(result.mean - flat.mean()) < 1e-6 and abs(result.maximum - flat.max()) < 1e-6
    assert len(set(result.pids)) == 3 and all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in result.pids)
    assert _mpyc_processes() == []


@pytest.mark.slow  # three OS processes
def test_mpyc_timeout_kills_every_party():
    # one party never gets a partner: the run must time out and stop all processes
    with pytest.raises(RuntimeError, match="did not finish within timeout"):
        smpc.run_mpyc_statistic([[1.0], [2.0], [3.0]], timeout=0.05)
    assert _mpyc_processes() == []
    with pytest.raises(ValueError, match="at least 2 parties"):
        smpc.run_mpyc_statistic([[1.0]])


def test_command_lines_for_other_machines():
    lines = smpc.mpyc_command_lines(3, 4, [11365, 11366, 11367], hosts=["a.example", "b.example", "c.example"])
    assert lines[1][-3:] == ["-I", "1", "--no-log"] and "b.example:11366" in lines[0]


# ------------------------------------------------------------------ widget (exercises: test_smpc_exercises.py)


def test_coalition_widget_builds():
    from labkit.smpc.widgets import coalition_widget

    w = coalition_widget()
    assert set(w.controls) == {"n_parties", "threshold", "coalition", "n_colluders"}
    assert w.output in w.children and all(c.value is not None for c in w.controls.values())


def test_coalition_widget_updates_without_printing(capsys):
    import ipywidgets  # noqa: F401  (pinned: a broken install must fail here, not skip)

    from labkit.smpc.widgets import coalition_widget

    w = coalition_widget()
    assert "learn nothing" in w.output.outputs[1]["text"]
    w.controls["threshold"].value = 2  # threshold 2: parties 0 and 1 now recover
    assert "the secret" in w.output.outputs[1]["text"]
    w.controls["coalition"].value = (3,)  # one party alone, below the threshold again
    assert "learn nothing" in w.output.outputs[1]["text"]
    assert capsys.readouterr().out == ""
