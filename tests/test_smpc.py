"""labkit.smpc: additive and Shamir sharing, Beaver products, secure aggregation, MPyC processes."""

from __future__ import annotations

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import smpc
from labkit.exercises import check

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------ additive sharing and encoding
@given(st.lists(finite, min_size=1, max_size=20), st.integers(2, 8), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_share_reconstruct_round_trip(values, n, seed):
    x = np.array(values)
    shares = smpc.share(x, n, np.random.default_rng(seed))
    assert len(shares) == n and all(s.dtype == np.uint64 and s.shape == x.shape for s in shares)
    assert np.allclose(smpc.reconstruct(shares), x, atol=2**-17)


@given(st.lists(finite, min_size=3, max_size=3), st.lists(finite, min_size=3, max_size=3), st.integers(-50, 50))
@settings(max_examples=60, deadline=None)
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
@settings(max_examples=50, deadline=None)
def test_shamir_any_t_shares_reconstruct(secret, n, data):
    t = data.draw(st.integers(1, n))
    points = smpc.shamir_share(secret, n, t, np.random.default_rng(n))
    idx = data.draw(st.permutations(range(n)))[:t]
    assert smpc.shamir_reconstruct([points[i] for i in idx]) == secret


def test_shamir_fewer_than_t_points_are_consistent_with_every_secret():
    p = 31
    points = smpc.shamir_share(7, 5, 3, np.random.default_rng(0), prime=p)
    two = points[:2]
    # for every candidate secret s there is a degree-2 polynomial through (0, s) and the two points
    for s in range(p):
        pts = [(0, s)] + two
        # interpolate through the three points and check it passes through all of them
        for x0, y0 in pts:
            value = 0
            for j, (xj, yj) in enumerate(pts):
                num = den = 1
                for m, (xm, _) in enumerate(pts):
                    if m != j:
                        num, den = num * (x0 - xm) % p, den * (xj - xm) % p
                value = (value + yj * num * pow(den, -1, p)) % p
            assert value == y0 % p
    view = smpc.coalition_view(7, 5, 3, [0, 1], np.random.default_rng(0), prime=p)
    assert not view.shamir_recovers and view.consistent_secrets == p and view.shamir_guess is None
    view = smpc.coalition_view(7, 5, 3, [0, 2, 4], np.random.default_rng(0), prime=p)
    assert view.shamir_recovers and view.shamir_guess == 7 and not view.additive_recovers
    everyone = smpc.coalition_view(7, 5, 3, range(5), np.random.default_rng(0), prime=p)
    assert everyone.additive_recovers and everyone.additive_partial_sum == 7
    assert "learn nothing" in view.lines()[0] and "the secret" in view.lines()[1]


def test_shamir_rejects_bad_input():
    with pytest.raises(ValueError, match="threshold must be an integer from 1 to n_parties=3"):
        smpc.shamir_share(5, 3, 4)
    with pytest.raises(ValueError, match="secret must be an integer in"):
        smpc.shamir_share(-1, 3, 2)
    with pytest.raises(ValueError, match="distinct, non-zero"):
        smpc.shamir_reconstruct([(1, 2), (1, 3)])
    with pytest.raises(ValueError, match="coalition must hold party indices"):
        smpc.coalition_view(3, 4, 2, [5])


# ------------------------------------------------------------------ Beaver products
@given(st.lists(st.floats(-1000, 1000), min_size=1, max_size=10), st.data(), st.integers(2, 4))
@settings(max_examples=50, deadline=None)
def test_beaver_product_matches_plain_product(xs, data, n):
    x = np.array(xs)
    y = np.array(data.draw(st.lists(st.floats(-1000, 1000), min_size=len(xs), max_size=len(xs))))
    dealer = smpc.TrustedDealer(n, np.random.default_rng(len(xs)))
    z = smpc.reconstruct(smpc.beaver_mul(smpc.share(x, n), smpc.share(y, n), dealer))
    # input rounding 2^-17 on each factor, plus one ulp of truncation
    bound = (np.abs(x) + np.abs(y) + 1) * 2**-17 + 2**-16
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
@settings(max_examples=25, deadline=None)
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
    # a lying server that got both secrets of client 5 strips every mask
    assert np.allclose(smpc.unmask_with_both_secrets(run, 5), vectors[5], atol=2**-16)


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
    with pytest.raises(ValueError, match="dropped must hold client ids from 0 to 2"):
        smpc.secure_aggregate(np.ones((3, 2)), dropped=[3])
    with pytest.raises(ValueError, match="threshold must be an integer from 1 to 3"):
        smpc.secure_aggregate(np.ones((3, 2)), threshold=4)
    with pytest.raises(ValueError, match="neighbours must be an even integer"):
        smpc.secure_aggregate(np.ones((6, 2)), neighbours=3)
    with pytest.raises(ValueError, match="equal length"):
        smpc.secure_aggregate([np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match="client_vectors\\[1\\]"):
        smpc.secure_aggregate([np.ones(2), np.full(2, 1e14)])


def test_secure_aggregate_uses_os_entropy_by_default():
    a = smpc.secure_aggregate_run(np.zeros((3, 4)))
    b = smpc.secure_aggregate_run(np.zeros((3, 4)))
    assert not np.array_equal(a.transcript.server_received[0], b.transcript.server_received[0])


# ------------------------------------------------------------------ MPyC as separate processes
def _mpyc_processes() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "mpyc_demo" in " ".join(p.info["cmdline"] or []):
                found.append(p)
        except psutil.NoSuchProcess:
            continue
    return found


def test_mpyc_three_processes_match_plaintext_and_leave_nothing():
    values = [[3.5, 7.0, 12.0], [2.0, 4.5], [9.25, 1.0, 6.0]]
    result = smpc.run_mpyc_statistic(values, timeout=90)
    flat = np.concatenate([np.array(v) for v in values])
    assert result.count == 8 and result.parties == 3
    assert abs(result.mean - flat.mean()) < 1e-6 and abs(result.maximum - flat.max()) < 1e-6
    assert len(set(result.pids)) == 3 and all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in result.pids)
    assert _mpyc_processes() == []


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


# ------------------------------------------------------------------ exercises and widget
def _stub(*args):
    raise NotImplementedError


def test_exercise_09_1():
    def solution(shares):
        total = np.zeros_like(shares[0])
        for s in shares:
            total = total + s
        return total.view(np.int64) / 2**16

    def unsigned(shares):
        return sum(shares).astype(np.float64) / 2**16

    assert not check("09.1", _stub)
    assert not check("09.1", unsigned)
    assert check("09.1", solution)


def test_exercise_09_2():
    def solution(points, prime):
        return smpc.shamir_reconstruct(points, prime=prime)

    def no_inverse(points, prime):
        total = 0
        for j, (xj, yj) in enumerate(points):
            num = den = 1
            for m, (xm, _) in enumerate(points):
                if m != j:
                    num, den = num * xm, den * (xm - xj)
            total += yj * num // den
        return total % prime

    assert not check("09.2", _stub)
    assert not check("09.2", no_inverse)
    assert check("09.2", solution)


def test_exercise_09_3():
    def solution(vectors, dropped):
        return smpc.secure_aggregate(vectors, dropped=dropped) / (len(vectors) - len(dropped))

    def over_everyone(vectors, dropped):
        return smpc.secure_aggregate(vectors, dropped=dropped) / len(vectors)

    assert not check("09.3", _stub)
    assert not check("09.3", over_everyone)
    assert check("09.3", solution)


def test_coalition_widget_builds():
    pytest.importorskip("ipywidgets")
    from labkit.widgets.smpc import coalition_widget

    w = coalition_widget()
    assert len(w.children) == 2


def test_coalition_widget_updates_without_printing(capsys):
    pytest.importorskip("ipywidgets")
    from labkit.widgets.smpc import coalition_widget

    w = coalition_widget()
    out = w.children[1]
    assert "learn nothing" in out.outputs[1]["text"]
    w.children[0].children[0].children[1].value = 2  # threshold 2: parties 0 and 1 now recover
    assert "the secret" in out.outputs[1]["text"]
    assert capsys.readouterr().out == ""
