"""Homomorphic encryption (notebook 08). Paillier at 2048 bits, labkit vs python-paillier (phe 1.5.0),
both using gmpy2, alternated in one process: raw encryption and decryption of the same integers
in short batches of 5 (both run the same algorithm on the same GMP, so expect 1.0 within the machine's
noise; a ratio of 1 or below means labkit's throughput is at least phe's), and a vector of 50 floats
encrypted by labkit's batched path (the key holder's CRT encryption: r**n computed mod p**2 and
q**2 with short exponents) vs phe's one-by-one `encrypt` loop. CKKS (TenSEAL 0.3.18, N = 8192,
bit sizes [49, 30, 30, 30, 30, 49], scale 2**30): encrypted logistic-regression inference on the
143 breast-cancer test samples with SIMD packing (one ciphertext per feature column) vs one
ciphertext per sample with `.dot` and rotations, as in TenSEAL's logistic-regression tutorial;
both end to end (encrypt, evaluate, decrypt). Threshold Paillier (2048 bits, 2-of-2 additive shares of d):
decrypting one ciphertext through both shares (two partial decryptions c^(d_i) mod n^2 and the combine)
vs the single key holder's CRT decryption: the price of having no key holder. BFV (TenSEAL, N = 4096,
t = 1032193) vs CKKS (N = 8192, [60, 40, 40, 60], scale 2^40), both holding 4096 values per ciphertext:
encrypt 4 hospitals' vectors, add them, decrypt the sum; BFV's sum is exact, CKKS's approximate."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Comparison, Measurement, median_seconds, view_moves

BATCH = 5


def _paillier_rows() -> list:
    from labkit.he import paillier as P

    pk, sk = P.generate_keypair(2048)
    ppk, psk = pk.to_phe(), sk.to_phe()
    rng = np.random.default_rng(0)
    msgs = [int.from_bytes(rng.bytes(200), "big") for _ in range(BATCH)]
    cts = [pk.raw_encrypt(m) for m in msgs]
    floats = rng.normal(size=50)
    return [
        Comparison(f"Paillier 2048-bit raw_encrypt x{BATCH}", lambda: [pk.raw_encrypt(m) for m in msgs],
                   lambda: [ppk.raw_encrypt(m) for m in msgs], "phe raw_encrypt", repeats=41,
                   note="same work: (1 + m n) r^n mod n^2 with a fresh r from OS entropy"),
        Comparison(f"Paillier 2048-bit raw_decrypt x{BATCH}", lambda: [sk.raw_decrypt(c) for c in cts],
                   lambda: [psk.raw_decrypt(c) for c in cts], "phe raw_decrypt", repeats=41,
                   note="both decrypt by the CRT"),
        Comparison("Paillier 2048-bit, encrypt a 50-float vector",
                   lambda: P.encrypt_vector(pk, floats, private_key=sk),
                   lambda: [ppk.encrypt(float(x)) for x in floats], "phe encrypt loop", repeats=5,
                   note="labkit: key holder's CRT encryption, r^n mod p^2 as (r^(q mod p-1) mod p)^p"),
    ]


def _ckks_rows() -> list:
    from sklearn.linear_model import LogisticRegression

    from labkit.data import load
    from labkit.he import ckks as C

    ds = load("breast_cancer")
    clf = LogisticRegression(C=0.1, max_iter=1000).fit(ds.x_train, ds.y_train)
    w, b = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    x = ds.x_test.astype(np.float64)
    coef = C.fit_sigmoid_polynomial(3, 16.0)
    ctx = C.make_context(galois_keys=True)  # the per-sample baseline needs rotation keys
    sweep = C.load_sweep()

    def packed_rate() -> float:
        return len(x) / median_seconds([lambda: C.infer_packed(ctx, x, w, b, coef)] * 3)

    def explorer_ms() -> float:
        C.check_params(8192, [60, 40, 40, 60], 40, sweep)
        return median_seconds([lambda s=s: C.check_params(8192, [60, 40, 40, 60], s, sweep) for s in range(20, 60)]) * 1e3

    return [
        Comparison(f"CKKS encrypted inference, {len(x)} breast-cancer test samples",
                   lambda: C.infer_packed(ctx, x, w, b, coef), lambda: C.infer_per_sample(ctx, x, w, b, coef),
                   "one ciphertext per sample (TenSEAL tutorial)", repeats=3,
                   note="SIMD: 30 feature-column ciphertexts hold all 143 samples; no rotations"),
        Measurement("CKKS packed inference throughput", packed_rate, "samples/s",
                    note=f"{len(x)} samples use 143 of 4096 slots; a full batch costs about the same"),
        Measurement("CKKS explorer update (check_params), median", explorer_ms, "ms", "<= 100 ms"),
        Measurement("CKKS explorer view, scale move (report + title blitted + PNG, median)",
                    lambda: _explorer_view("scale_bits", list(range(20, 60, 3)))[0], "ms",
                    "<= 40 ms (Python side of 100 ms in the page)"),
        Measurement("CKKS explorer view, N move (report + bars redrawn + full draw + PNG, median)",
                    lambda: _explorer_view("poly_modulus_degree", [16384, 4096, 32768, 8192, 2048] * 2)[0], "ms",
                    "<= 40 ms (Python side of 100 ms in the page)"),
        Measurement("CKKS explorer view, PNG per frame (median)",
                    lambda: _explorer_view("scale_bits", list(range(20, 60, 3)))[1], "kB"),
    ]


def _explorer_view(control: str, values) -> tuple[float, float]:
    """The explorer's moves of ``control`` (compute + report + figure + PNG + Image swap): median ms and PNG kB."""
    from labkit.he.widgets import ckks_explorer

    return view_moves(ckks_explorer, control, values)


def _threshold_rows() -> list:
    from labkit.he import paillier as P
    from labkit.he import threshold as T

    pk, sk = P.generate_keypair(2048)
    shares = T.split_key(sk, 2)
    cts = [pk.raw_encrypt(m) for m in range(BATCH)]
    return [
        Comparison(f"threshold Paillier 2-of-2 decryption x{BATCH}", lambda: [T.threshold_decrypt(shares, c) for c in cts],
                   lambda: [sk.raw_decrypt(c) for c in cts], "key holder's CRT raw_decrypt", repeats=11,
                   note="2 partials c^(d_i) mod n^2, each d_i of about 4224 bits, no CRT (holders do not know p, q)"),
    ]


def _bfv_rows() -> list:
    import tenseal as ts

    from labkit.he import bfv
    from labkit.he import ckks as C

    bctx = bfv.make_context(4096, bfv.TUTORIAL_PLAIN_MODULUS)
    cctx = C.make_context(8192, [60, 40, 40, 60], 40)
    ints = [np.random.default_rng(k).integers(-1000, 1000, size=4096) for k in range(4)]
    reals = [x / 2**16 for x in ints]

    def ckks_sum():
        total = ts.ckks_vector(cctx, reals[0].tolist())
        for x in reals[1:]:
            total = total + ts.ckks_vector(cctx, x.tolist())
        return total.decrypt()

    return [
        Comparison("BFV exact sum, 4 x 4096 integers (encrypt, add, decrypt)", lambda: bfv.encrypted_sum(bctx, ints),
                   ckks_sum, "CKKS approximate sum, same length", repeats=11,
                   note="BFV N = 4096, t = 1032193; CKKS N = 8192, [60, 40, 40, 60], 2^40"),
        Measurement("BFV ciphertext / CKKS ciphertext, 4096 values",
                    lambda: bfv.ciphertext_bytes(bfv.encrypt(bctx, ints[0])) / bfv.ciphertext_bytes(ts.ckks_vector(cctx, reals[0].tolist())),
                    "ratio", note="serialized sizes"),
    ]


def rows() -> list:
    return _paillier_rows() + _threshold_rows() + _ckks_rows() + _bfv_rows()
