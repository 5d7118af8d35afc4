"""Checks for the exercises in ``04-dp-sgd.ipynb``.

04.1 ``clip_rows(grads, clip)``: clip each example's gradient (a row) to L2 norm ``clip``.
04.2 ``valid_microbatches(num_examples, batch_size)``: the microbatch counts tensorflow-privacy accepts.
04.3 ``dp_mean_purchase(amounts, clip, noise_multiplier, rng)``: an e-commerce statistic with the
     DP-SGD recipe (clip each contribution, sum, add Gaussian noise, divide by the public count).
"""

from __future__ import annotations

import numpy as np

from labkit.exercises import require


def _reference_clip(grads: np.ndarray, clip: float) -> np.ndarray:
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * np.minimum(1.0, clip / np.maximum(norms, 1e-12))


def _clip_rows(fn) -> str:
    rng = np.random.default_rng(4)
    grads = rng.normal(size=(30, 5)) * rng.uniform(0.05, 5, size=(30, 1))
    out = np.asarray(fn(grads.copy(), 1.0), dtype=float)
    require(out.shape == grads.shape, f"return one clipped row per example, shape {grads.shape}; got {out.shape}")
    norms = np.linalg.norm(out, axis=1)
    require(np.all(norms <= 1.0 + 1e-9), f"every row must have norm <= clip = 1; the largest has {norms.max():.3f}")
    small = np.linalg.norm(grads, axis=1) < 1.0
    require(np.allclose(out[small], grads[small]),
            "rows already shorter than the clip must stay unchanged (scale by min(1, C / ||g||), not C / ||g||)")
    require(np.allclose(out, _reference_clip(grads, 1.0)),
            "clip each row on its own: scale row i by min(1, C / ||g_i||), keeping its direction")
    zero = np.asarray(fn(np.zeros((2, 3)), 0.5), dtype=float)
    require(np.all(np.isfinite(zero)) and np.allclose(zero, 0), "a zero gradient must stay zero (no division by zero)")
    return "Each example now moves the sum by at most C: that is the sensitivity the noise is calibrated to."


def _reference_microbatches(n: int, b: int) -> list[int]:
    last = n % b
    return [m for m in range(1, b + 1) if b % m == 0 and (last == 0 or last % m == 0)]


def _valid_microbatches(fn) -> str:
    for n, b in [(1347, 32), (1200, 32), (1000, 30), (1347, 449), (64, 64)]:
        got = fn(n, b)
        require(isinstance(got, (list, tuple)), f"return a list of integers; got {type(got).__name__}")
        got = sorted(int(m) for m in got)
        want = _reference_microbatches(n, b)
        if got != want:
            full = [m for m in range(1, b + 1) if b % m == 0]
            if got == full:
                raise_hint = (f"for {n} examples in batches of {b}, the last batch has {n % b} examples: the count "
                              "must divide it too")
            else:
                raise_hint = f"for {n} examples in batches of {b} expected {want}, got {got}"
            require(False, raise_hint)
    return "With 1347 digits and batch 32, only 1 microbatch works: pick the batch size with the data size in mind."


def _dp_mean_purchase(fn) -> str:
    amounts = np.array([12.0, 30.0, 5.0, 2500.0, 18.0, 40.0, 0.0, 75.0])
    clip = 50.0
    clipped_mean = np.minimum(amounts, clip).mean()
    exact = float(fn(amounts, clip, 0.0, np.random.default_rng(0)))
    require(not np.isclose(exact, amounts.mean()), "clip each amount to [0, clip] first: one 2500 purchase must not "
            "move the mean more than clip / n")
    require(np.isclose(exact, clipped_mean),
            f"with noise_multiplier 0 the answer is the mean of the clipped amounts ({clipped_mean:.3f}); got {exact:.3f}")
    rng = np.random.default_rng(1)
    draws = np.array([fn(amounts, clip, 2.0, rng) for _ in range(4000)], dtype=float)
    sd = draws.std()
    want = 2.0 * clip / len(amounts)
    require(abs(draws.mean() - clipped_mean) < 4 * want / np.sqrt(4000), "the noise must have mean 0")
    require(abs(sd / want - 1) < 0.08,
            f"the noise on the mean should have standard deviation noise_multiplier * clip / n = {want:.2f}; yours has "
            f"{sd:.2f} (add N(0, (noise_multiplier * clip)^2) to the sum, then divide by n)")
    return "Same recipe as DP-SGD: bound each person's contribution, add noise scaled to that bound."


CHECKS = {"04.1": _clip_rows, "04.2": _valid_microbatches, "04.3": _dp_mean_purchase}
