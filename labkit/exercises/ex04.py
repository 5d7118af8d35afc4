"""Checks for the exercises in ``04-dp-sgd.ipynb``.

04.1 ``clip_rows(grads, clip)``: clip each example's gradient (a row) to L2 norm ``clip``.
04.2 ``valid_microbatches(num_examples, batch_size)``: the microbatch counts tensorflow-privacy accepts.
04.3 ``dp_mean_purchase(amounts, clip, noise_multiplier, rng)``: an e-commerce statistic with the
     DP-SGD recipe (clip each amount to [0, clip], sum, add Gaussian noise, divide by the public
     count). A public count means neighbouring datasets have the same size: replace-one adjacency,
     under which the clipped sum's sensitivity is ``clip`` because every clipped amount lies in
     [0, clip]. The check uses refunds (negative amounts), so clipping from above only fails.
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
    # 1e-5: an answer computed in float32 is right too
    require(np.all(norms <= 1.0 + 1e-5), f"every row must have norm <= clip = 1; the largest has {norms.max():.3f}")
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
        is_int_array = isinstance(got, np.ndarray) and got.ndim == 1 and np.issubdtype(got.dtype, np.integer)
        require(isinstance(got, (list, tuple)) or is_int_array, f"return a list of integers; got {type(got).__name__}")
        require(all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) for m in got),
                "return a list of integers (the microbatch counts)")
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
    # Purchases and two refunds (negative amounts): the answer must clip to [0, clip], both sides.
    amounts = np.array([12.0, 30.0, 5.0, 2500.0, 18.0, -80.0, 0.0, 75.0, -5.0, 22.0])
    clip = 50.0
    n = len(amounts)
    clipped_mean = np.clip(amounts, 0.0, clip).mean()
    out = fn(amounts.copy(), clip, 0.0, np.random.default_rng(0))
    require(out is not None, "return the noisy mean (one number); your function returned None")
    require(np.ndim(out) == 0 and isinstance(np.asarray(out).item(), (int, float)),
            f"return one number, the noisy mean; got {type(out).__name__} of shape {np.shape(out)}")
    exact = float(out)
    wrong = {
        "no clipping": (amounts.mean(), "clip each amount to [0, clip] first: one 2500 purchase must not move the mean "
                        "more than clip / n"),
        "from above only": (np.minimum(amounts, clip).mean(), "clip from below too: a refund of -80 must count as 0, "
                            "or it moves the mean by more than clip / n (use np.clip(amounts, 0, clip))"),
        "symmetric": (np.clip(amounts, -clip, clip).mean(), "clip to [0, clip], not [-clip, clip]: with both signs "
                      "allowed, replacing one amount moves the sum by up to 2 * clip, twice the sensitivity the noise "
                      "is calibrated to"),
    }
    for value, hint in wrong.values():
        require(np.isclose(exact, clipped_mean) or not np.isclose(exact, value), hint)
    require(np.isclose(exact, clipped_mean),
            f"with noise_multiplier 0 the answer is the mean of the amounts clipped to [0, clip], divided by all "
            f"{n} customers ({clipped_mean:.3f}); got {exact:.3f}")
    rng = np.random.default_rng(1)
    draws = np.array([float(fn(amounts.copy(), clip, 2.0, rng)) for _ in range(4000)])
    sd = draws.std()
    want = 2.0 * clip / n
    require(sd > 1e-6 * want,
            "with noise_multiplier 2 the answer must be noisy: add N(0, (noise_multiplier * clip)^2) to the sum")
    require(abs(sd / want - 1) < 0.08,
            f"the noise on the mean should have standard deviation noise_multiplier * clip / n = {want:.2f}; yours has "
            f"{sd:.2f} (add N(0, (noise_multiplier * clip)^2) to the sum, then divide by n)")
    require(abs(draws.mean() - clipped_mean) < 4 * want / np.sqrt(4000), "the noise must have mean 0")
    return ("Same recipe as DP-SGD: bound each customer's contribution to [0, clip], add noise scaled to that bound. "
            "With n public this is replace-one DP, for one amount per customer.")


CHECKS = {"04.1": _clip_rows, "04.2": _valid_microbatches, "04.3": _dp_mean_purchase}
