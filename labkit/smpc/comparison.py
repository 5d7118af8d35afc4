"""Why comparison is the expensive part of secure computation: MPyC costs and a secure network.

Three MPyC parties run as separate OS processes on 127.0.0.1 (``mpyc/_costs_party.py`` is their
script; process handling as in :func:`labkit.smpc.run_mpyc_statistic`: free ports, loopback only, a
timeout, no process left behind). This module prices their operations and runs a secret-shared
one-hidden-layer network:

* :func:`mpyc_operation_costs`: secure addition, multiplication, comparison ``x < y``, ReLU
  ``max(x, 0)`` and the maximum of a vector, on secret vectors of one length, timed (medians over
  repeats), with the messages each party sends per peer and the number of communication rounds.
* :func:`train_digits_mlp` / :class:`TinyMLP`: a 64-16-10 ReLU network trained in NumPy on the
  digits data; :func:`fixed_point_error_bound`: how far its fixed-point evaluation may drift.
* :func:`mpyc_mlp_inference`: the network evaluated by MPyC on secret inputs and secret weights,
  with the cost of each layer.

How rounds are counted: the party script holds back every message it sends by ``latency`` seconds
(a simulated one-way network delay). An operation with r sequential rounds then takes about
``r * latency`` longer; ``rounds = (median time with delay - median time without) / latency``.
Messages per peer are counted by wrapping MPyC's ``MessageExchanger.send``.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from labkit import _validate
from labkit.i18n import N_, tr
from labkit.smpc.mpyc.runner import _stop, _collect_outputs, free_ports

COSTS_SCRIPT = Path(__file__).resolve().parent / "mpyc" / "_costs_party.py"
OPERATIONS = ("add", "mul", "lt", "relu", "max")
"""The operations :func:`mpyc_operation_costs` prices, in order."""
TYPES = ("int", "fxp")
"""``"int"``: MPyC ``SecInt(bit_length)``; ``"fxp"``: ``SecFxp(bit_length, frac_length)``."""
MAX_TIMEOUT = 86_400.0
"""Longest ``timeout`` (seconds) the MPyC runs accept: one day."""
LAYERS = (N_("linear 1"), "relu", N_("linear 2"))
"""The steps of :func:`mpyc_mlp_inference`, in order."""


def _run_parties(jobs: Sequence[dict], timeout: float) -> list[dict]:
    """Run ``_costs_party.py`` once per job (job i goes to party i on its stdin); return their JSON outputs."""
    m = len(jobs)
    ports = free_ports(m)
    peers = [arg for p in ports for arg in ("-P", f"127.0.0.1:{p}")]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs: list[subprocess.Popen] = []
    start = time.perf_counter()
    try:
        for i, job in enumerate(jobs):
            line = [sys.executable, COSTS_SCRIPT.name, *peers, "-I", str(i), "--no-log"]
            p = subprocess.Popen(line, cwd=COSTS_SCRIPT.parent, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
            procs.append(p)
            p.stdin.write(json.dumps(job) + "\n")  # private inputs travel through the pipe, not argv
            p.stdin.flush()
        outputs = _collect_outputs(procs, start, timeout)
    finally:
        _stop(procs)
    return outputs


def _summarise(records: list[dict], labels: Sequence[str], latency: float) -> list[dict]:
    """Per label: median and quartiles of the time without delay, messages, bytes, rounds."""
    rows = []
    for label in labels:
        fast = np.array([r["seconds"] for r in records if r["label"] == label and r["latency"] == 0])
        slow = np.array([r["seconds"] for r in records if r["label"] == label and r["latency"] > 0])
        msgs = [r["messages_per_peer"] for r in records if r["label"] == label and r["latency"] == 0]
        nbytes = [r["bytes"] for r in records if r["label"] == label and r["latency"] == 0]
        row = {"label": label, "repeats": int(fast.size), "median_s": float(np.median(fast)),
               "q25_s": float(np.percentile(fast, 25)), "q75_s": float(np.percentile(fast, 75)),
               "messages_per_peer": int(np.median(msgs)), "bytes_sent": int(np.median(nbytes))}
        if slow.size:
            per_repeat = (slow - np.median(fast)) / latency
            row.update(rounds=float(np.median(per_repeat)), rounds_q25=float(np.percentile(per_repeat, 25)),
                       rounds_q75=float(np.percentile(per_repeat, 75)))
        rows.append(row)
    return rows


@dataclass(frozen=True)
class OperationCosts:
    """What :func:`mpyc_operation_costs` measured (as seen by party 0).

    Attributes:
        rows: one dict per ``"<type>:<operation>"``: ``median_s``, ``q25_s``, ``q75_s`` (seconds over
            ``repeats`` runs), ``messages_per_peer``, ``bytes_sent`` (by party 0, all peers) and, with
            a latency, ``rounds`` (median, with ``rounds_q25`` / ``rounds_q75``).
        x, y: the plaintext inputs (party 0's and party 1's vectors).
        opened: the opened result of each ``"<type>:<operation>"`` (for the plaintext check).
        length, parties, latency, bit_length, frac_length: the setting.

    Introduced in ``09-secure-computation.ipynb``.
    """

    rows: tuple[dict, ...]
    x: np.ndarray
    y: np.ndarray
    opened: dict[str, np.ndarray]
    length: int
    parties: int
    latency: float
    bit_length: int
    frac_length: int

    def row(self, op: str, sectype: str = "int") -> dict:
        """The row of one operation (``op`` in :data:`OPERATIONS`, ``sectype`` in :data:`TYPES`)."""
        _validate.choice("op", op, OPERATIONS)
        _validate.choice("sectype", sectype, TYPES)
        for r in self.rows:
            if r["label"] == f"{sectype}:{op}":
                return r
        raise ValueError(f"sectype must be one of the measured types; got {sectype!r}")

    def ratio(self, op: str, baseline: str, sectype: str = "int") -> float:
        """Median time of ``op`` over median time of ``baseline`` (both measured in the same run)."""
        return self.row(op, sectype)["median_s"] / self.row(baseline, sectype)["median_s"]

    def plaintext(self, op: str, sectype: str = "int") -> np.ndarray:
        """What ``op`` gives on the plaintext inputs (rounded to integers for ``"int"``)."""
        _validate.choice("op", op, OPERATIONS)
        _validate.choice("sectype", sectype, TYPES)
        x, y = (np.round(self.x), np.round(self.y)) if sectype == "int" else (self.x, self.y)
        return {"add": lambda: x + y, "mul": lambda: x * y, "lt": lambda: (x < y).astype(float),
                "relu": lambda: np.maximum(x, 0.0), "max": lambda: np.array([x.max()])}[op]()

    def __repr__(self) -> str:
        return tr("OperationCosts({parties} parties, length {length}, {rows} rows, latency {latency} s)").format(
            parties=self.parties, length=self.length, rows=len(self.rows), latency=self.latency)


def mpyc_operation_costs(length: int = 64, *, repeats: int = 5, n_parties: int = 3, latency: float = 0.05,
                         types: Sequence[str] = TYPES, bit_length: int = 32, frac_length: int = 16,
                         seed: int | None = None, timeout: float = 300.0) -> OperationCosts:
    """Time MPyC's addition, multiplication, comparison, ReLU and maximum on secret vectors.

    Party 0 inputs x and party 1 inputs y, both uniform in [-100, 100] (``length`` entries; rounded
    to integers for ``SecInt``). Each operation runs ``repeats`` times without delay, then (if
    ``latency`` > 0) ``repeats`` times with every message delayed by ``latency`` seconds, which
    turns the extra time into a count of rounds (see the module docstring).

    Args:
        length: entries per vector (1 to 10 000).
        repeats: runs per operation and setting (1 to 100).
        n_parties: MPyC parties, each its own process (3 to 7; MPyC's threshold is t = (m - 1) // 2, and
            with 2 parties t = 0: every party would hold the values in the clear).
        latency: simulated one-way delay in seconds for the round count (0 to skip it; at most 1).
        types: a non-empty subset of :data:`TYPES`.
        bit_length, frac_length: MPyC's ``bit_length`` (8 to 64) and fixed-point fractional bits
            (1 to bit_length - 8).
        seed: for the inputs only (MPyC's own randomness comes from OS entropy); None for OS entropy.
        timeout: seconds for the whole run (at most :data:`MAX_TIMEOUT`).

    Raises:
        ValueError / TypeError: for arguments out of range or of the wrong kind.
        RuntimeError: if a party fails or the timeout passes (every party is stopped).

    Introduced in ``09-secure-computation.ipynb``.
    """
    length = _validate.count("length", length, maximum=10_000)
    repeats = _validate.count("repeats", repeats, maximum=100)
    n_parties = _validate.count("n_parties", n_parties, minimum=3, maximum=7)
    latency = _validate.real("latency", latency, low=0.0, high=1.0)
    if isinstance(types, str) or not hasattr(types, "__iter__"):
        raise TypeError(f"types must be a list of names from {TYPES}; got {types!r}")
    types = [_validate.choice("types[]", t, TYPES) for t in types]
    if not types:
        raise ValueError(f"types must name at least one of {TYPES}; got []")
    bit_length = _validate.integer("bit_length", bit_length, minimum=8, maximum=64)
    frac_length = _validate.integer("frac_length", frac_length, minimum=1, maximum=bit_length - 8)
    timeout = _validate.real("timeout", timeout, low=0.0, low_open=True, high=MAX_TIMEOUT)
    rng = np.random.default_rng(None if seed is None else _validate.integer("seed", seed, minimum=0))
    x, y = rng.uniform(-100, 100, length), rng.uniform(-100, 100, length)
    common = {"task": "ops", "length": length, "repeats": repeats, "latency": latency, "types": types,
              "bit_length": bit_length, "frac_length": frac_length}
    jobs = [dict(common) for _ in range(n_parties)]
    jobs[0]["x"], jobs[1]["y"] = x.tolist(), y.tolist()
    outputs = _run_parties(jobs, timeout)
    labels = [f"{t}:{op}" for t in types for op in OPERATIONS]
    return OperationCosts(rows=tuple(_summarise(outputs[0]["records"], labels, latency)), x=x, y=y,
                          opened={k: np.array(v) for k, v in outputs[0]["opened"].items()}, length=length,
                          parties=n_parties, latency=latency, bit_length=bit_length, frac_length=frac_length)


# ------------------------------------------------------------------------------------------------
# A one-hidden-layer network
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TinyMLP:
    """A one-hidden-layer ReLU network: ``scores = relu(x @ w1 + b1) @ w2 + b2``.

    Attributes:
        w1, b1, w2, b2: float64 weights (shapes (d, h), (h,), (h, c), (c,)).
        test_accuracy: accuracy on the held-out split it was trained for (NaN if unknown).

    Introduced in ``09-secure-computation.ipynb``.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    test_accuracy: float = float("nan")

    def hidden(self, x: Any) -> np.ndarray:
        """Pre-activations ``x @ w1 + b1`` of the hidden layer."""
        x = _validate.finite_array("x", x)
        if x.ndim != 2 or x.shape[1] != self.w1.shape[0]:
            raise ValueError(f"x must have shape (batch, {self.w1.shape[0]}); got {x.shape}")
        return x @ self.w1 + self.b1

    def scores(self, x: Any) -> np.ndarray:
        """The plaintext network's output scores (one row per input)."""
        return np.maximum(self.hidden(x), 0.0) @ self.w2 + self.b2

    def __repr__(self) -> str:
        d, h = self.w1.shape
        return tr("TinyMLP({d}-{h}-{c}, test accuracy {accuracy:.3f})").format(d=d, h=h, c=self.w2.shape[1],
                                                                                accuracy=self.test_accuracy)


def train_digits_mlp(hidden: int = 16, *, steps: int = 300, learning_rate: float = 0.5,
                     seed: int | None = 0) -> TinyMLP:
    """Train a 64-``hidden``-10 ReLU network on the lab's digits split (full-batch gradient descent).

    Cross-entropy loss, He-initialised weights from ``seed``; the test accuracy is measured on the
    450 held-out digits. Takes well under a second.

    Introduced in ``09-secure-computation.ipynb``.
    """
    from labkit.data import load

    hidden = _validate.count("hidden", hidden, maximum=1024)
    steps = _validate.count("steps", steps, maximum=100_000)
    learning_rate = _validate.real("learning_rate", learning_rate, low=0.0, low_open=True, high=10.0)
    rng = np.random.default_rng(None if seed is None else _validate.integer("seed", seed, minimum=0))
    ds = load("digits")
    x, y = ds.x_train.astype(np.float64), ds.y_train
    n, d = x.shape
    c = ds.num_classes
    w1 = rng.normal(0, np.sqrt(2 / d), (d, hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(0, np.sqrt(2 / hidden), (hidden, c))
    b2 = np.zeros(c)
    onehot = np.eye(c)[y]
    for _ in range(steps):
        pre = x @ w1 + b1
        act = np.maximum(pre, 0)
        logits = act @ w2 + b2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / n
        gw2, gb2 = act.T @ g, g.sum(axis=0)
        ga = (g @ w2.T) * (pre > 0)
        gw1, gb1 = x.T @ ga, ga.sum(axis=0)
        w1, b1, w2, b2 = w1 - learning_rate * gw1, b1 - learning_rate * gb1, w2 - learning_rate * gw2, b2 - learning_rate * gb2
    model = TinyMLP(w1, b1, w2, b2)
    acc = float(np.mean(model.scores(ds.x_test).argmax(axis=1) == ds.y_test))
    return TinyMLP(w1, b1, w2, b2, test_accuracy=acc)


def fixed_point_error_bound(model: TinyMLP, x: Any, frac_length: int = 16) -> np.ndarray:
    """An upper bound on |fixed-point scores - exact scores| for each input and class.

    With u = 2^-frac_length, every encoded input, weight and bias is within u of its value
    (MPyC rounds to the nearest multiple of u; u covers rounding either way), and every secure
    product-sum is truncated once with error below u (MPyC's probabilistic truncation). ReLU is
    exact on the shared values and 1-Lipschitz. So, for the hidden layer,
    ``e_h = sum_j (|w1_ji| + |x_j| + u) u + u + u``, and for the output
    ``e_o = sum_i (|w2_ik| e_h,i + (|a_i| + e_h,i + |w2_ik|) u) + u + u`` with a = relu(hidden).

    Introduced in ``09-secure-computation.ipynb``.
    """
    if not isinstance(model, TinyMLP):
        raise TypeError(f"model must be a TinyMLP; got {type(model).__name__}")
    frac_length = _validate.integer("frac_length", frac_length, minimum=1, maximum=56)
    u = 2.0 ** -frac_length
    x = _validate.finite_array("x", x)
    pre = model.hidden(x)
    e_h = (np.abs(x) @ np.ones_like(model.w1) + np.abs(model.w1).sum(axis=0) + x.shape[1] * u) * u + 2 * u
    a = np.maximum(pre, 0.0)
    e_o = (e_h @ np.abs(model.w2) + ((a + e_h) @ np.ones_like(model.w2) + np.abs(model.w2).sum(axis=0)) * u) + 2 * u
    return e_o


@dataclass(frozen=True)
class SecureInference:
    """What :func:`mpyc_mlp_inference` computed and measured.

    Attributes:
        scores: the output scores opened to party 0 (the client), one row per input.
        plaintext: the plaintext network's scores on the same inputs.
        bound: :func:`fixed_point_error_bound` for each score.
        layers: one dict per step of :data:`LAYERS` (same keys as :attr:`OperationCosts.rows`).
        parties, latency, bit_length, frac_length: the setting.

    Introduced in ``09-secure-computation.ipynb``.
    """

    scores: np.ndarray
    plaintext: np.ndarray
    bound: np.ndarray
    layers: tuple[dict, ...] = field(default=())
    parties: int = 3
    latency: float = 0.0
    bit_length: int = 32
    frac_length: int = 16

    @property
    def max_error(self) -> float:
        """Largest |secure - plaintext| over all scores."""
        return float(np.max(np.abs(self.scores - self.plaintext)))

    def __repr__(self) -> str:
        return tr("SecureInference({inputs} inputs, {parties} parties, max error {error:.2e}, bound {bound:.2e})").format(
            inputs=self.scores.shape[0], parties=self.parties, error=self.max_error, bound=float(self.bound.max()))


def mpyc_mlp_inference(model: TinyMLP, x: Any, *, repeats: int = 3, n_parties: int = 3, latency: float = 0.05,
                       bit_length: int = 32, frac_length: int = 16, timeout: float = 300.0) -> SecureInference:
    """Evaluate ``model`` on secret inputs with MPyC: the client's inputs and the owner's weights stay secret.

    Party 0 (the client) secret-shares the rows of ``x``; party 1 (the model owner) secret-shares
    the weights and biases; party 2 (and any further party) only computes (``n_parties``: 3 to 7).
    Only the shapes are public. The scores are opened to party 0 alone. Each layer is timed ``repeats`` times, and
    again under a ``latency`` delay for its round count.

    Raises:
        ValueError / TypeError: for arguments out of range or of the wrong kind, or values that do
            not fit MPyC's fixed point (|value| must stay below 2^(bit_length - frac_length - 2)).
        RuntimeError: if a party fails or the timeout passes (every party is stopped).

    Introduced in ``09-secure-computation.ipynb``.
    """
    if not isinstance(model, TinyMLP):
        raise TypeError(f"model must be a TinyMLP; got {type(model).__name__}")
    repeats = _validate.count("repeats", repeats, maximum=100)
    n_parties = _validate.count("n_parties", n_parties, minimum=3, maximum=7)
    latency = _validate.real("latency", latency, low=0.0, high=1.0)
    bit_length = _validate.integer("bit_length", bit_length, minimum=16, maximum=64)
    frac_length = _validate.integer("frac_length", frac_length, minimum=1, maximum=bit_length - 8)
    timeout = _validate.real("timeout", timeout, low=0.0, low_open=True, high=MAX_TIMEOUT)
    x = _validate.finite_array("x", x)
    plain = model.scores(x)
    limit = 2.0 ** (bit_length - frac_length - 2)
    largest = max(float(np.abs(a).max()) for a in (x, model.w1, model.b1, model.w2, model.b2,
                                                    model.hidden(x), plain))
    if largest >= limit:
        raise ValueError(f"x and the model's values must stay below 2^{bit_length - frac_length - 2} = {limit:g} "
                         f"in magnitude for bit_length={bit_length}, frac_length={frac_length}; got {largest:g}")
    d, h = model.w1.shape
    common = {"task": "mlp", "batch": x.shape[0], "features": d, "hidden": h, "classes": model.w2.shape[1],
              "repeats": repeats, "latency": latency, "bit_length": bit_length, "frac_length": frac_length}
    jobs = [dict(common) for _ in range(n_parties)]
    jobs[0]["x"] = x.tolist()
    jobs[1].update(w1=model.w1.tolist(), b1=model.b1.tolist(), w2=model.w2.tolist(), b2=model.b2.tolist())
    outputs = _run_parties(jobs, timeout)
    return SecureInference(scores=np.array(outputs[0]["scores"]), plaintext=plain,
                           bound=fixed_point_error_bound(model, x, frac_length),
                           layers=tuple(_summarise(outputs[0]["records"], LAYERS, latency)), parties=n_parties,
                           latency=latency, bit_length=bit_length, frac_length=frac_length)


# ------------------------------------------------------------------------------------------------
# The precomputed table of notebook 09 (written by ``make data``, read by the notebook)
# ------------------------------------------------------------------------------------------------

SWEEP_FILE = "sweeps/smpc_mpyc_costs.json"
"""Where ``python -m tools.build_data sweeps/smpc_mpyc_costs.json`` writes :func:`costs_sweep`."""
SWEEP_SETTINGS = {"length": 64, "repeats": 7, "parties": 3, "latency": 0.1, "bit_length": 32, "frac_length": 16,
                  "seed": 0, "hidden": 16, "mlp_seed": 0, "batch": 8}
"""The setting of the precomputed table: vectors of 64 entries, 7 repeats, 3 parties, 100 ms delay."""


def costs_sweep(progress=None) -> dict:
    """Operation costs and the secure network's layer costs in :data:`SWEEP_SETTINGS` (JSON-ready).

    ``progress`` (optional) is called with no argument after each of the two MPyC runs. About a
    minute on two cores, most of it the simulated delay.

    Introduced in ``09-secure-computation.ipynb``.
    """
    from labkit.data import load

    s = SWEEP_SETTINGS
    ops = mpyc_operation_costs(s["length"], repeats=s["repeats"], n_parties=s["parties"], latency=s["latency"],
                               bit_length=s["bit_length"], frac_length=s["frac_length"], seed=s["seed"])
    if progress is not None:
        progress()
    model = train_digits_mlp(s["hidden"], seed=s["mlp_seed"])
    x = load("digits").x_test[: s["batch"]].astype(np.float64)
    inference = mpyc_mlp_inference(model, x, repeats=s["repeats"], n_parties=s["parties"], latency=s["latency"],
                                   bit_length=s["bit_length"], frac_length=s["frac_length"])
    if progress is not None:
        progress()
    exact = {k: bool(np.array_equal(v, ops.plaintext(*k.split(":")[::-1]))) for k, v in ops.opened.items()
             if k.startswith("int:")}
    return {"settings": s, "operations": list(ops.rows), "int_results_equal_plaintext": exact,
            "mlp": {"layers": list(inference.layers), "max_error": inference.max_error,
                    "bound_min": float(inference.bound.min()), "test_accuracy": model.test_accuracy,
                    "same_predictions": bool(np.array_equal(inference.scores.argmax(1), inference.plaintext.argmax(1)))}}
