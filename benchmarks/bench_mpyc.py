"""Why comparison is the expensive part (notebook 09): MPyC 0.11 with 3 parties as separate processes on
127.0.0.1, secret vectors of 64 entries (SecInt(32) and SecFxp(32, 16)). Addition, multiplication,
comparison x < y, ReLU max(x, 0) and the maximum of the vector run alternately, 7 times each, in one MPyC
run (inside the parties, after a synchronising exchange, so process start-up is not timed); the ratios are
medians of those runs, measured side by side. On loopback the round trips are cheap, so time mostly counts
computation; the rounds (from a simulated 100 ms one-way delay) say what a real network adds. Messages per
peer are exact counts. The secure network is 64-16-10 with ReLU on 8 digits, inputs and weights secret."""

from __future__ import annotations

from functools import lru_cache

from benchmarks.harness import Measurement


@lru_cache(maxsize=1)
def _ops():
    from labkit.smpc.comparison import mpyc_operation_costs

    return mpyc_operation_costs(64, repeats=7, latency=0.1, seed=0)


@lru_cache(maxsize=1)
def _mlp():
    import numpy as np

    from labkit.data import load
    from labkit.smpc.comparison import mpyc_mlp_inference, train_digits_mlp

    x = load("digits").x_test[:8].astype(np.float64)
    return mpyc_mlp_inference(train_digits_mlp(16, seed=0), x, repeats=7, latency=0.1)


def rows() -> list:
    out: list = []
    for t, name in (("int", "SecInt(32)"), ("fxp", "SecFxp(32, 16)")):
        for op, base in (("lt", "add"), ("lt", "mul"), ("relu", "mul"), ("max", "lt")):
            out.append(Measurement(f"{name}, 64 entries: {op} / {base} (median time ratio)",
                                   lambda op=op, base=base, t=t: _ops().ratio(op, base, t), "x", "",
                                   "medians of 7 alternated runs in one MPyC session"))
        for op in ("add", "mul", "lt", "relu", "max"):
            out.append(Measurement(f"{name}, 64 entries: rounds of {op} (100 ms delay)",
                                   lambda op=op, t=t: _ops().row(op, t)["rounds"], "rounds", "",
                                   "messages per peer: exact count in labkit.smpc.comparison"))
    for label in ("linear 1", "relu", "linear 2"):
        out.append(Measurement(f"secure 64-16-10 network, 8 digits: {label} share of time",
                               lambda label=label: _layer_share(label), "%", "",
                               "median time of the step / sum of the three medians"))
    return out


def _layer_share(label: str) -> float:
    layers = {r["label"]: r["median_s"] for r in _mlp().layers}
    return 100 * layers[label] / sum(layers.values())
