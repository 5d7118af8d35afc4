"""Capstone (notebook 10): what each protection adds to one FedAvg round of the hospital federation.
Four hospitals (172, 119, 85, 50 breast-cancer records), logistic regression (31 parameters), 2 local
epochs, batch 8; one round includes local training, aggregation and the test-accuracy evaluation.
Secure aggregation: all pairs, keys and masks from OS entropy. Threshold Paillier (b'): 2048-bit key
from OS entropy, dealt to the 4 hospitals (any 3 decrypt), 31 values packed per plaintext (key generation
and dealing not timed). DP: record-level DP-SGD at each
hospital (Poisson sampling, clipping, noise) calibrated to eps = 3 over 10 rounds."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Comparison, Measurement


def rows() -> list:
    from labkit import capstone as cs
    from labkit.data import load
    from labkit.fl.aggregation import PaillierAggregation
    from labkit.he import paillier, threshold

    ds = load("breast_cancer")
    hospitals = cs.make_hospitals(ds.x_train, ds.y_train)
    training = cs.LocalTraining(epochs=2, batch_size=8, learning_rate=0.1)
    keys = paillier.generate_keypair(2048)
    plain, secagg, he, dp = cs.CONFIGURATIONS
    shares = threshold.split_key(keys[1], len(hospitals), cs.KEY_THRESHOLD)
    he_keys = (keys[0], shares)

    def round_of(config):
        return lambda: cs.run_federation(hospitals, config, ds.x_test, ds.y_test, rounds=1, training=training,
                                         keys=he_keys)

    updates = np.random.default_rng(0).normal(scale=0.05, size=(4, 31))
    pk, sk = keys

    def unpacked_paillier():
        enc = [paillier.encrypt_vector(pk, u) for u in updates]
        return paillier.decrypt_vector(sk, paillier.sum_vectors(enc))

    run = cs.run_federation(hospitals, secagg, ds.x_test, ds.y_test, rounds=1, training=training)
    run_he = cs.run_federation(hospitals, he, ds.x_test, ds.y_test, rounds=1, training=training, keys=he_keys)
    run_plain = cs.run_federation(hospitals, plain, ds.x_test, ds.y_test, rounds=1, training=training)
    return [
        Comparison("one round with secure aggregation", round_of(secagg), round_of(plain), "plain FedAvg round", repeats=7),
        Comparison("one round with packed threshold Paillier (2048-bit, 3 of 4)", round_of(he), round_of(plain),
                   "plain FedAvg round", repeats=5),
        Comparison("one round with secure aggregation + record-level DP-SGD", round_of(dp), round_of(secagg),
                   "secure-aggregation round", repeats=5, note="noise multipliers cached after the warm-up"),
        Comparison("Paillier sum of 4 x 31 values, packed (1 ciphertext each)",
                   lambda: PaillierAggregation(pk, sk)(updates), unpacked_paillier, "one ciphertext per value",
                   repeats=5, note="packing: 31 values in 66-bit slots of one 2048-bit plaintext"),
        Comparison("threshold Paillier sum of 4 x 31 values, 3 of 4 hospitals decrypt",
                   lambda: cs.ThresholdPaillierAggregation(pk, shares)(updates), lambda: PaillierAggregation(pk, sk)(updates),
                   "single key holder (CRT decryption)", repeats=5,
                   note="3 partial decryptions of the packed sum instead of one CRT decryption"),
        Measurement("bytes per round, plain FedAvg", lambda: float(run_plain.bytes_per_round), "B", "",
                    "4 x 31 float64 up and down"),
        Measurement("bytes per round, secure aggregation", lambda: float(run.bytes_per_round), "B", "",
                    "keys, Shamir shares, masked vectors, model broadcast"),
        Measurement("bytes per round, packed threshold Paillier", lambda: float(run_he.bytes_per_round), "B", "",
                    "4 ciphertexts of 512 B up, the sum to 3 hospitals, 3 partial decryptions back, model broadcast"),
    ]
