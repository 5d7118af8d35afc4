"""Tests for labkit.capstone (notebook 10): partition, local training, aggregations, accounting, cost table."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labkit import capstone as cs
from labkit import fl
from labkit.fl.aggregation import SHAMIR_SHARE_BYTES
from labkit.he import paillier
from labkit.data import load


@pytest.fixture(scope="module")
def ds():
    return load("breast_cancer")


@pytest.fixture(scope="module")
def hospitals(ds):
    return cs.make_hospitals(ds.x_train, ds.y_train)


@pytest.fixture(scope="module")
def small_keys():
    from labkit.he.paillier import generate_keypair

    return generate_keypair(1024, rng=np.random.default_rng(3))


# -- partition ---------------------------------------------------------------------------------


@given(st.integers(0, 10_000), st.lists(st.floats(0, 10), min_size=1, max_size=8).filter(lambda w: sum(w) > 0))
def test_apportion_sums_to_total_and_is_proportional(total, weights):
    counts = cs.apportion(total, weights)
    assert counts.sum() == total and np.all(counts >= 0)
    exact = total * np.asarray(weights) / sum(weights)
    assert np.all(np.abs(counts - exact) < 1)


def test_partition_is_a_skewed_partition(ds, hospitals):
    parts = cs.hospital_partition(ds.y_train)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(ds.y_train)))
    sizes = [h.size for h in hospitals]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 3 * sizes[-1]
    shares = [h.malignant_share for h in hospitals]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.5 > 0.1 > shares[-1]
    again = cs.hospital_partition(ds.y_train, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


def test_partition_rejects_bad_specs(ds):
    with pytest.raises(ValueError, match="sum to 1"):
        cs.hospital_partition(ds.y_train, [cs.HospitalSpec("a", 0.5, 0.5), cs.HospitalSpec("b", 0.4, 0.5)])
    with pytest.raises(ValueError, match="malignant_share"):
        cs.hospital_partition(ds.y_train, [cs.HospitalSpec("a", 0.5, 1.5), cs.HospitalSpec("b", 0.5, 0.5)])
    with pytest.raises(ValueError, match="at least 2"):
        cs.hospital_partition(ds.y_train, [cs.HospitalSpec("a", 1.0, 0.5)])
    with pytest.raises(ValueError, match="0/1 labels"):
        cs.hospital_partition(np.array([0, 2, 1]))


# -- model and local training --------------------------------------------------------------------


def test_logistic_gradients_match_finite_differences(ds):
    rng = np.random.default_rng(0)
    w = rng.normal(scale=0.3, size=31)
    x, y = ds.x_train[:5].astype(np.float64), ds.y_train[:5]

    def loss(p):
        z = fl.LogisticRegression(30).logits(p, x)
        return np.sum(np.logaddexp(0, z) - y * z)

    gw, gb = fl.LogisticRegression(30).per_example_gradients(w, x, y)
    analytic = np.r_[gw.sum(axis=0), gb.sum()]
    numeric = np.array([(loss(w + e) - loss(w - e)) / 2e-6 for e in np.eye(31) * 1e-6])
    assert np.allclose(analytic, numeric, atol=1e-5)


def test_two_class_logits_give_sigmoid_probabilities(ds):
    w = np.linspace(-1, 1, 31)
    two = cs.two_class_logits(w, ds.x_test)
    p = np.exp(two[:, 1]) / np.exp(two).sum(axis=1)
    assert np.allclose(p, 1 / (1 + np.exp(-fl.LogisticRegression(30).logits(w, ds.x_test))))


def test_local_update_learns_and_dp_noise_is_calibrated(hospitals, ds):
    h = hospitals[0]
    tr = cs.LocalTraining(epochs=2, batch_size=8, learning_rate=0.1)
    w = cs.local_update(np.zeros(31), h, tr, np.random.default_rng(0))
    assert fl.LogisticRegression(30).accuracy(w, ds.x_test, ds.y_test) > 0.85
    # With gradients that vanish (learning rate scaled out) the DP update is pure noise of the right size.
    start = np.zeros(31)
    steps = math.ceil(tr.epochs * h.size / tr.batch_size)
    noisy = [cs.local_update(start, cs.Hospital("zero", h.x * 0, np.full(h.size, 0.5)), tr, np.random.default_rng(s),
                             noise_multiplier=2.0, l2_norm_clip=1.0) for s in range(200)]
    # x = 0 leaves only the bias gradient p - y = 0.5 - 0.5 = 0; weights move by noise only.
    std = np.std(np.array(noisy)[:, :-1])
    want = tr.learning_rate / tr.batch_size * 2.0 * math.sqrt(steps)
    assert 0.9 * want < std < 1.1 * want


def test_local_training_rejects_bad_settings():
    with pytest.raises(ValueError, match="batch_size"):
        cs.LocalTraining(batch_size=0)
    with pytest.raises(ValueError, match="delta"):
        cs.RecordDP(delta=1.0)
    with pytest.raises(ValueError, match="aggregation"):
        cs.Configuration("x", "x", "magic")


# -- aggregation: secure sums equal the plaintext sum ----------------------------------------------


def test_secagg_equals_plain_sum_and_counts_bytes():
    updates = np.random.default_rng(1).normal(scale=0.05, size=(4, 31))
    plain = fl.plain_sum(updates)
    secure = fl.SecureAggregation()(updates)  # OS entropy: the sum does not depend on the masks
    assert np.allclose(secure.total, plain.total, atol=4 * 2**-16)
    assert plain.bytes_up == 4 * 31 * 8 and plain.bytes_down == 0
    assert "masked" in secure.server_held


def test_secagg_bytes_count_what_the_protocol_sent():
    # The count follows the messages of the run, not a formula of its own: two X25519 public keys per client,
    # one authenticated ciphertext per (sender, other holder) carrying two 66-byte Shamir shares and a 16-byte
    # Poly1305 tag, the masked vectors, and the 16 shares the 4 survivors answer with (one per client each).
    from labkit.smpc import secure_aggregate_run

    updates = np.random.default_rng(1).normal(scale=0.05, size=(4, 31))
    run = secure_aggregate_run(updates)
    relayed = run.transcript.server_relayed
    assert len(relayed) == 4 * 3  # a client's own share stays on the device
    assert all(len(c) >= 2 * SHAMIR_SHARE_BYTES + 16 for c in relayed.values())
    keys = 4 * 2 * 32  # two 32-byte X25519 public keys per hospital
    up, down = fl.secagg_bytes(run)
    assert up == keys + sum(map(len, relayed.values())) + 4 * 31 * 8 + 16 * SHAMIR_SHARE_BYTES
    assert down == 4 * keys + sum(map(len, relayed.values()))
    secure = fl.SecureAggregation()(updates)
    assert (secure.bytes_up, secure.bytes_down) == (up, down)  # the sizes do not depend on the randomness


def test_secagg_threat_model_of_the_notebook():
    # Notebook 10's threat model (b): with 4 hospitals the threshold is t = 3 of 4 share holders; a server that lies
    # about dropouts reads a hospital's update with 2 colluding hospitals (6 <= 2 + 2 x 2), not with 1 (6 > 3 + 2).
    from labkit.smpc import lying_server_attack, secure_aggregate_run

    updates = np.random.default_rng(4).normal(scale=0.05, size=(4, 31))
    run = secure_aggregate_run(updates)
    assert run.threshold == 3 and len(run.holders(0)) == 4
    assert not lying_server_attack(run, 0, colluders=[1]).succeeded
    attack = lying_server_attack(run, 0, colluders=[1, 2])
    assert attack.succeeded and np.allclose(attack.recovered, updates[0], atol=2**-16)


def test_paillier_aggregation_equals_plain_sum(small_keys):
    pk, sk = small_keys
    updates = np.random.default_rng(2).normal(scale=0.05, size=(4, 31))
    agg = fl.PaillierAggregation(pk, sk)(updates)
    assert np.allclose(agg.total, updates.sum(axis=0), atol=4 * 2**-32)
    per = len(paillier.pack(updates[0], pk.bits, 4))
    ct = (pk.nsquare.bit_length() + 7) // 8
    assert agg.bytes_up == 4 * per * ct + 31 * 8 and agg.bytes_down == per * ct


# -- federation, accounting, audit ---------------------------------------------------------------


def test_secure_configurations_train_the_same_model_as_plain(hospitals, ds, small_keys):
    tr = cs.LocalTraining(epochs=1)
    runs = {c.key: cs.run_federation(hospitals, c, ds.x_test, ds.y_test, rounds=3, training=tr, keys=small_keys, seed=0)
            for c in cs.CONFIGURATIONS[:3]}
    assert np.allclose(runs["b"].params, runs["a"].params, atol=1e-3)
    assert np.allclose(runs["b'"].params, runs["a"].params, atol=1e-6)
    assert runs["a"].test_accuracy[-1] > 0.9
    assert runs["a"].bytes_per_round < runs["b'"].bytes_per_round
    pk = small_keys[0]
    per, ct = len(paillier.pack(np.zeros(31), pk.bits, 4)), (pk.nsquare.bit_length() + 7) // 8
    t = cs.KEY_THRESHOLD  # 4 ciphertexts up, the sum down to t holders, t partials up, the model broadcast
    assert runs["b'"].bytes_per_round == (4 + 2 * t) * per * ct + 4 * 31 * 8
    assert runs["b'"].server_held == f"{4 * per} ciphertexts ({per} per hospital) and {t * per} partial decryptions of their sum"
    assert math.isinf(runs["a"].epsilon)


def test_threshold_aggregation_equals_key_holder_and_plain_sum(small_keys):
    from labkit.he import threshold

    pk, sk = small_keys
    updates = np.random.default_rng(5).normal(scale=0.05, size=(4, 31))
    shares = threshold.split_key(sk, 4, 3)
    agg = cs.ThresholdPaillierAggregation(pk, shares)(updates)
    assert np.array_equal(agg.total, fl.PaillierAggregation(pk, sk)(updates).total)  # same packing, same plaintext
    assert np.allclose(agg.total, updates.sum(axis=0), atol=4 * 2**-32)
    # any 3 of the 4 hospitals decrypt; the server with 2 shares cannot
    assert np.array_equal(cs.ThresholdPaillierAggregation(pk, shares[1:])(updates).total, agg.total)
    with pytest.raises(ValueError, match="threshold"):
        cs.ThresholdPaillierAggregation(pk, shares[:2])
    c = pk.raw_encrypt(paillier.pack(updates[0], pk.bits, 1)[0])
    parts = [threshold.partial_decrypt(s, c) for s in shares[:2]]
    with pytest.raises(ValueError, match="at least threshold"):
        threshold.combine(pk, parts)


def test_federation_deals_fresh_shares(hospitals, ds, small_keys, monkeypatch):
    from labkit.he import threshold

    dealt = []
    real = threshold.split_key
    monkeypatch.setattr(threshold, "split_key", lambda *a, **k: dealt.append((a, k)) or real(*a, **k))
    tr = cs.LocalTraining(epochs=1)
    cs.run_federation(hospitals, cs.CONFIGURATIONS[2], ds.x_test, ds.y_test, rounds=1, training=tr, keys=small_keys, seed=0)
    assert len(dealt) == 1 and dealt[0][0][1:] == (4, cs.KEY_THRESHOLD) and "rng" not in dealt[0][1]  # OS entropy
    with pytest.raises(ValueError, match="keys"):
        cs.run_federation(hospitals, cs.CONFIGURATIONS[2], ds.x_test, ds.y_test, rounds=1, training=tr)


def _count_noisy_steps(monkeypatch):
    """Wrap the Gaussian noise step of DP-SGD: every call is one noisy step that really ran.

    Returns a dict noise multiplier -> number of calls (each hospital has its own multiplier).
    """
    from labkit.dp import dpsgd

    calls: dict[float, int] = {}
    real = dpsgd.add_gaussian_noise

    def counting(summed, l2_norm_clip, noise_multiplier, rng):
        calls[noise_multiplier] = calls.get(noise_multiplier, 0) + 1
        return real(summed, l2_norm_clip, noise_multiplier, rng)

    monkeypatch.setattr(dpsgd, "add_gaussian_noise", counting)
    return calls


def test_dp_run_accounts_for_the_steps_that_really_ran(hospitals, ds, monkeypatch):
    # Erratum 10: 2 epochs of 119, 85 and 50 records in batches of 8 are 30, 22 and 13 steps per round (not 29.75,
    # 21.25 and 12.5), so R rounds run more steps than ceil(R * epochs * n / 8). Count the steps in the training
    # loop and compute each patient's epsilon from that count and the noise multiplier that was really used.
    from labkit.dp import poisson_gaussian_epsilon

    cfg = cs.CONFIGURATIONS[3]
    calls = _count_noisy_steps(monkeypatch)
    rounds, tr = 3, cs.LocalTraining(epochs=2)
    run = cs.run_federation(hospitals, cfg, ds.x_test, ds.y_test, rounds=rounds, training=tr, seed=0)
    assert sorted(calls) == sorted(run.noise_multipliers)  # one multiplier per hospital, each one used
    for h, sigma, eps in zip(hospitals, run.noise_multipliers, run.epsilons):
        ran = calls[sigma]
        assert ran == rounds * math.ceil(tr.epochs * h.size / tr.batch_size)
        real = poisson_gaussian_epsilon(tr.batch_size / h.size, sigma, ran, cfg.dp.delta)
        assert real <= cfg.dp.target_epsilon * 1.0001, (h.name, ran, real)
        assert real > 0.97 * cfg.dp.target_epsilon  # calibrated, not just safe
        assert abs(eps - real) < 1e-9  # the epsilon the run reports is the one of the steps that ran
    # Smaller hospitals sample each record more often, so they need more noise for the same epsilon.
    assert run.noise_multipliers == sorted(run.noise_multipliers)


def test_neighbouring_federations_share_every_public_quantity(hospitals, ds, monkeypatch):
    # Erratum 14: under add/remove adjacency a hospital's size is private. Sampling rate, step count, noise and
    # weights use the nominal size announced before training, so removing one patient changes none of them.
    import dataclasses

    cfg = cs.CONFIGURATIONS[3]
    small = hospitals[-1]
    neighbour = hospitals[:-1] + [dataclasses.replace(small, x=small.x[1:], y=small.y[1:])]
    assert neighbour[-1].size == small.size - 1
    tr = cs.LocalTraining(epochs=2)
    calls = _count_noisy_steps(monkeypatch)
    run = cs.run_federation(hospitals, cfg, ds.x_test, ds.y_test, rounds=2, training=tr, seed=0)
    counted = dict(calls)
    calls.clear()
    run_neighbour = cs.run_federation(neighbour, cfg, ds.x_test, ds.y_test, rounds=2, training=tr, seed=0)
    assert run_neighbour.noise_multipliers == run.noise_multipliers
    assert dict(calls) == counted and run_neighbour.epsilons == run.epsilons
    with pytest.raises(ValueError, match="nominal_size"):
        cs.Hospital("h", small.x, small.y, nominal_size=0)
    unannounced = hospitals[:-1] + [cs.Hospital(small.name, small.x, small.y)]
    with pytest.raises(ValueError, match="nominal_size"):
        cs.run_federation(unannounced, cfg, ds.x_test, ds.y_test, rounds=1, seed=0)


def test_dp_noise_comes_from_os_entropy_unless_seeded(hospitals, ds):
    # Erratum 15: a published seed gives no privacy; without one the noise must be fresh.
    cfg, tr = cs.CONFIGURATIONS[3], cs.LocalTraining(epochs=1)
    fresh = [cs.run_federation(hospitals, cfg, ds.x_test, ds.y_test, rounds=1, training=tr).params for _ in range(2)]
    assert not np.allclose(fresh[0], fresh[1])
    seeded = [cs.run_federation(hospitals, cfg, ds.x_test, ds.y_test, rounds=1, training=tr, seed=5).params
              for _ in range(2)]
    assert np.array_equal(seeded[0], seeded[1])
    h = hospitals[-1]
    local = [cs.local_update(np.zeros(31), h, tr, noise_multiplier=1.0) for _ in range(2)]
    assert not np.allclose(local[0], local[1])
    with pytest.raises(ValueError, match="seed"):
        cs.run_federation(hospitals, cfg, ds.x_test, ds.y_test, rounds=1, seed=-1)


def test_run_federation_rejects_bad_arguments(hospitals, ds):
    with pytest.raises(ValueError, match="rounds"):
        cs.run_federation(hospitals, cs.CONFIGURATIONS[0], ds.x_test, ds.y_test, rounds=0)
    with pytest.raises(ValueError, match="keys"):
        cs.run_federation(hospitals, cs.CONFIGURATIONS[2], ds.x_test, ds.y_test, rounds=1)


def test_accuracy_interval_is_clopper_pearson_on_the_test_records():
    from labkit.dp.audit import clopper_pearson

    assert cs.accuracy_interval(137 / 143, 143) == clopper_pearson(137, 143)
    low, high = cs.accuracy_interval(0.951, 143)
    assert low < 0.951 < high and high - low > 0.07  # 143 records cannot separate 0.951 from 0.958
    with pytest.raises(ValueError, match="records"):
        cs.accuracy_interval(0.9, 0)
    with pytest.raises(ValueError, match="accuracy"):
        cs.accuracy_interval(1.5, 10)


def test_membership_audit_and_cost_table(hospitals, ds):
    run = cs.run_federation(hospitals, cs.CONFIGURATIONS[0], ds.x_test, ds.y_test, rounds=2, seed=0)
    attack = cs.membership_audit(run.params, ds.x_train, ds.y_train, ds.x_test, ds.y_test)
    assert attack.members.sum() == len(ds.y_train) and (~attack.members).sum() == len(ds.y_test)
    assert attack.auc_low < attack.auc < attack.auc_high
    table = cs.CostTable((cs.cost_row(run, attack),))
    text = repr(table)
    assert "inf (no DP)" in text and "1,984" in text and "(a) FedAvg" in text
    # Erratum 3: the MIA AUC column carries its 95% interval.
    assert f"{attack.auc:.2f} [{attack.auc_low:.2f}, {attack.auc_high:.2f}]" in text and "95% CI" in text
    assert f"[{attack.auc_low:.2f}, {attack.auc_high:.2f}]" in table._repr_html_()
    # Every measured statistic with its uncertainty: the test accuracy too.
    assert run.test_records == len(ds.y_test)
    acc_low, acc_high = run.accuracy_interval
    assert f"{run.test_accuracy[-1]:.3f} [{acc_low:.2f}, {acc_high:.2f}]" in text and "test accuracy [95% CI]" in text


# -- the notebook's prose agrees with its stored outputs ------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "10-capstone-hospitals.ipynb"


def _notebook_text() -> tuple[str, str, str]:
    """(all markdown, the Summary cell, every stored text output) of notebook 10."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    summary = next(m for m in markdown if m.startswith("## Summary"))
    outputs = []
    for c in cells:
        for o in c.get("outputs", []):
            outputs.append("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(markdown), summary, "\n".join(outputs)


def test_notebook_prose_numbers_match_its_stored_outputs():
    # Erratum 14: the Summary said "about 10 x plain FedAvg" while the stored timing said 8.0 x.
    markdown, summary, outputs = _notebook_text()
    for ratio in re.findall(r"(\d+(?:\.\d+)?) ?x plain", markdown):
        assert f"{float(ratio):5.1f} x plain" in outputs, f"the prose says {ratio} x plain; the output does not"
    settings = {"0.1"}  # the learning rate, a setting rather than a measurement
    stale = [n for n in re.findall(r"\d+\.\d+", summary) if n not in settings and n not in outputs]
    assert not stale, f"Summary numbers not in any stored output: {stale}"
    # Byte counts (e.g. "7,904 bytes per round") must be the cost table's.
    stale_bytes = [n for n in re.findall(r"(\d{1,3}(?:,\d{3})+) bytes", markdown) if n not in outputs]
    assert not stale_bytes, f"byte counts in the prose not in any stored output: {stale_bytes}"
