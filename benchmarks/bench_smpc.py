"""Secure computation (notebook 09): secure aggregation against its mask-expansion floor and a plain
NumPy sum, Beaver matrix products against the ring products they are made of, how secure aggregation
grows with the number of clients (all pairs vs a SecAgg+ neighbour graph), and the widget's update time.
Secure aggregation: 10 clients x 100k float32 values, no dropouts, keys and seeds from OS entropy, masks
expanded with ChaCha20 (one keystream call per mask), shares encrypted with ChaCha20-Poly1305. The floor
expands the same number of masks of the same length with the same function (``expand_mask``) and
does nothing else. Beaver: 2 parties, 100 x 100 float64 matrices, 16 fractional bits, shares from OS
entropy."""

from __future__ import annotations

import os

import numpy as np

from benchmarks.harness import Comparison, Measurement, median_seconds


def mask_floor(n_masks: int, d: int) -> None:
    """The PRG work secure aggregation cannot avoid: ``n_masks`` masks of ``d`` ring elements expanded
    with the protocol's own PRG (:func:`labkit.smpc.secagg.expand_mask`, ChaCha20) from fresh seeds."""
    from labkit.smpc import secagg

    for _ in range(n_masks):
        secagg.expand_mask(os.urandom(32), d)


def deployed_masks(n: int, graph: dict | None = None) -> int:
    """Masks a deployed round expands without dropouts: each client its self-mask and one mask per
    neighbour (both ends of a pair expand it), the server every self-mask again."""
    per_client = [len(graph[u]) if graph is not None else n - 1 for u in range(n)]
    return sum(per_client) + 2 * n


def ring_products(a: np.ndarray, b: np.ndarray, k: int) -> None:
    """``k`` ring products mod 2^64 in the clear: what one Beaver product with its dealer computes (the
    dealer's c = a @ b, then one product per party), without shares, openings or truncation."""
    from labkit.smpc.ring import ring_matmul

    for _ in range(k):
        ring_matmul(a, b)


def rows() -> list:
    from labkit import smpc
    from labkit.smpc.widgets import coalition_outputs

    rng = np.random.default_rng(0)
    vectors = [rng.normal(size=100_000).astype(np.float32) for _ in range(10)]
    simulated = smpc.secure_aggregate_run(vectors).masks_expanded  # 65: each pairwise mask once, for both ends
    x, y = rng.normal(size=(100, 100)), rng.normal(size=(100, 100))
    xs, ys = smpc.share(x, 2), smpc.share(y, 2)
    full_dealer = smpc.TrustedDealer(2)
    online_dealer = smpc.TrustedDealer(2)
    online_dealer.prepare_matmul((100, 100), (100, 100), 30)  # offline phase, before any timing
    xe, ye = smpc.encode(x), smpc.encode(y)

    out: list = [
        Comparison("secure aggregation, 10 clients x 100k float32 (all pairs)", lambda: smpc.secure_aggregate(vectors),
                   lambda: np.sum(vectors, axis=0), "np.sum", repeats=7, note="budget <= 50x, stretch 20x"),
        Comparison("secure aggregation, 10 clients x 100k, against its floor", lambda: smpc.secure_aggregate(vectors),
                   lambda: mask_floor(simulated, 100_000), f"the same {simulated} ChaCha20 mask expansions", repeats=7,
                   note="target <= 1.5x; the floor expands exactly the masks the simulation expands (45 pairwise, "
                        "10 self, 10 again by the server); the rest is X25519, HKDF, Shamir, share encryption, "
                        "encoding and the modular adds"),
        Comparison("secure aggregation, 10 clients x 100k, against a deployment's floor",
                   lambda: smpc.secure_aggregate(vectors), lambda: mask_floor(deployed_masks(10), 100_000),
                   f"{deployed_masks(10)} ChaCha20 mask expansions", repeats=7,
                   note="each client expands its self-mask and its 9 pairwise masks, the server the 10 self-masks "
                        "again; the simulation expands each pairwise mask once for both ends"),
        Comparison("secure aggregation, same, 2 of 10 dropped", lambda: smpc.secure_aggregate(vectors, dropped=[3, 7]),
                   lambda: np.sum(vectors[:8], axis=0), "np.sum of 8", repeats=7),
        Comparison("Beaver matmul 100x100, dealer included", lambda: smpc.beaver_matmul(xs, ys, full_dealer),
                   lambda: x @ y, "x @ y float64", repeats=21, note="budget <= 50x; CrypTen reports ~400x"),
        Comparison("Beaver matmul 100x100, online phase (triples prepared)", lambda: smpc.beaver_matmul(xs, ys, online_dealer),
                   lambda: x @ y, "x @ y float64", repeats=21),
        Comparison("Beaver matmul 100x100, dealer included, vs the same ring product in the clear",
                   lambda: smpc.beaver_matmul(xs, ys, full_dealer), lambda: xe @ ye, "uint64 x @ y", repeats=21,
                   note="fixed-point product mod 2^64 without secrecy"),
        Comparison("Beaver matmul 100x100, dealer included, vs its 3 ring products",
                   lambda: smpc.beaver_matmul(xs, ys, full_dealer), lambda: ring_products(xe, ye, 3),
                   "3 x ring_matmul", repeats=21,
                   note="the floor: the dealer's c = a @ b and one product per party (e @ b + a @ f, folded); "
                        "the rest is share generation, the two openings and the truncation pair"),
        Comparison("one uint64 ring matmul 100x100 (no protocol)", lambda: smpc.ring_matmul(xe, ye),
                   lambda: x @ y, "x @ y float64", repeats=21, note="integer ring vs float BLAS"),
    ]
    big = rng.normal(size=(10, 1_000_000)).astype(np.float32)
    tiny = rng.normal(size=(10, 1))
    out += [
        Comparison("secure aggregation, 10 clients x 1M, against its floor", lambda: smpc.secure_aggregate(big),
                   lambda: mask_floor(simulated, 1_000_000), f"the same {simulated} mask expansions", repeats=3,
                   note="the fixed cost amortised: what is left is the encoding and two modular adds per "
                        "simulated pairwise mask (one per end)"),
        Measurement("secure aggregation, 10 clients x 1 value: the cost that does not grow with d",
                    lambda: median_seconds([lambda: smpc.secure_aggregate(tiny)] * 7, warmup=True) * 1e3, "ms", "",
                    "90 X25519 agreements (45 masking, 45 share-encryption keys), 20 key pairs, Shamir shares "
                    "of 20 secrets over 2^521 - 1, 90 ChaCha20-Poly1305 messages"),
    ]
    for n in (10, 50, 100):
        for k, label in ((None, "all pairs"), (8, "8 neighbours")):
            vecs = rng.normal(size=(n, 100_000)).astype(np.float32)
            masks = smpc.secure_aggregate_run(vecs, dropped=[0], neighbours=k).masks_expanded
            out.append(Comparison(
                f"secure aggregation, {n} clients x 100k, {label}, 1 dropout, against its floor",
                lambda vecs=vecs, k=k: smpc.secure_aggregate(vecs, dropped=[0], neighbours=k),
                lambda masks=masks: mask_floor(masks, 100_000), f"the same {masks} mask expansions", repeats=3,
                note="keys, Shamir shares and masks included"))
    widget = _coalition_widget_moves()
    out += [
        Measurement("coalition widget: slider move (verdict + in-place figure + PNG), median (wall)",
                    lambda: widget()["wall"], "ms", "<= 40 ms in Python (100 ms painted in the browser)",
                    note="42 moves of the colluders, threshold and parties sliders (21 positions twice), "
                         "backgrounds drawn first"),
        Measurement("coalition widget: slider move, median (CPU time)", lambda: widget()["cpu"], "ms",
                    "<= 40 ms", note="not inflated by other jobs on the machine"),
        Measurement("coalition widget: PNG per frame, median", lambda: widget()["kb"], "KB"),
        Measurement("coalition widget: one setting drawn on a new figure (coalition_outputs), median",
                    lambda: median_seconds([lambda: coalition_outputs(42, 5, 3, (0, 1), 0)] * 5, warmup=True) * 1e3,
                    "ms", note="what every move cost before the figure was kept and blitted"),
    ]
    return out


def _coalition_widget_moves():
    """Times slider moves of the 09 coalition widget once (wall and CPU medians, PNG size), cached."""
    import statistics
    import time

    cache: dict = {}

    def measure() -> dict:
        if not cache:
            from labkit.smpc.widgets import coalition_widget
            from labkit.style import use_style

            use_style()
            view = coalition_widget(secret=42, seed=0)
            moves = ([("n_colluders", k) for k in (3, 4, 5, 4, 3, 2, 1, 0, 1, 2)]
                     + [("threshold", t) for t in (2, 1, 4, 5, 3)] + [("n_parties", n) for n in (6, 7, 8, 7, 6, 5)])
            for control, value in moves:  # untimed: one background per parties and legend
                view.controls[control].value = value
            wall, cpu, size = [], [], []
            for _ in range(2):
                for control, value in moves:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    view.controls[control].value = value
                    wall.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - start_cpu)
                    size.append(len(view.image.value))
            cache.update(wall=1e3 * statistics.median(wall), cpu=1e3 * statistics.median(cpu),
                         kb=statistics.median(size) / 1024)
        return cache

    return measure
