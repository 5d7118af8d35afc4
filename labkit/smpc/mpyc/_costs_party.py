"""An MPyC program that prices secure operations: addition, multiplication, comparison, ReLU, maximum.

A private script (not imported by labkit): each party is a separate OS process started by :func:`labkit.smpc.comparison.mpyc_operation_costs`
or :func:`labkit.smpc.comparison.mpyc_mlp_inference`. It reads a JSON task from its standard input
(its private inputs travel there, never on a command line), runs it, and prints one JSON line.

Two tasks:

* ``ops``: party 0 inputs a vector x, party 1 a vector y (both secret-shared); every operation runs
  ``repeats`` times, each time after a synchronising exchange, and this party records its wall time,
  the messages it sent to each peer and the bytes it sent. The opened results are printed too, for
  the plaintext check.
* ``mlp``: party 0 (the client) inputs a batch of feature vectors, party 1 (the model owner) the
  weights of a one-hidden-layer network, party 2 only helps. The parties compute
  ``relu(x @ W1 + b1) @ W2 + b2`` in MPyC fixed point, layer by layer with the same bookkeeping, and
  open the output scores to party 0 only.

How rounds are counted: with ``latency`` > 0 every message this party sends is held back ``latency``
seconds before it is written to the socket (a simulated one-way network delay). An operation that
needs r sequential communication rounds then takes about r * latency longer than without the delay;
the caller divides the difference by the delay. Messages are counted by wrapping MPyC's
``MessageExchanger.send`` (one call per message to one peer).

Introduced in ``09-secure-computation.ipynb``. This file runs as a script.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import numpy as np
from mpyc import asyncoro
from mpyc.runtime import mpc

from labkit.smpc.mpyc.mpyc_demo import _listen_on_loopback_only  # binds 127.0.0.1 only

_SENT: dict[int, int] = {}
_DELAY = [0.0]
_original_send = asyncoro.MessageExchanger.send


def _counting_send(self, pc, payload):
    """MPyC's send, counted per peer and optionally delayed by ``_DELAY[0]`` seconds."""
    _SENT[self.peer_pid] = _SENT.get(self.peer_pid, 0) + 1
    if _DELAY[0] > 0:
        asyncio.get_event_loop().call_later(_DELAY[0], _original_send, self, pc, payload)
    else:
        _original_send(self, pc, payload)


def _install_counter() -> None:
    """Route MPyC's sends through :func:`_counting_send` (in this party's process only)."""
    asyncoro.MessageExchanger.send = _counting_send


def _bytes_sent() -> int:
    return sum(p.protocol.nbytes_sent for p in mpc.parties if p.pid != mpc.pid)


async def _sync() -> None:
    """Every party sends one small message to every other one and waits for theirs."""
    await mpc.transfer(mpc.pid)


async def _measure(label: str, build, records: list, latency: float):
    """Run ``build()`` (returns a secure object) after a sync; record time, messages, bytes."""
    _DELAY[0] = latency
    await _sync()
    before_msgs, before_bytes = dict(_SENT), _bytes_sent()
    start = time.perf_counter()
    z = build()
    await mpc.gather(z)  # this party's share is final: every round it needs has completed
    seconds = time.perf_counter() - start
    msgs = {p: _SENT.get(p, 0) - before_msgs.get(p, 0) for p in range(len(mpc.parties)) if p != mpc.pid}
    records.append({"label": label, "latency": latency, "seconds": seconds,
                    "messages_per_peer": max(msgs.values()) if msgs else 0,
                    "bytes": _bytes_sent() - before_bytes})
    return z


async def _settle(latency: float) -> None:
    """Switch the delay off and let delayed messages reach the wire before anything else."""
    _DELAY[0] = 0.0
    if latency > 0:
        await asyncio.sleep(2 * latency + 0.05)
    await _sync()


def _sectype(name: str, bit_length: int, frac_length: int):
    if name == "int":
        return mpc.SecInt(bit_length)
    return mpc.SecFxp(bit_length, frac_length)


async def run_ops(task: dict) -> dict:
    n = int(task["length"])
    repeats = int(task["repeats"])
    latencies = [0.0] + ([float(task["latency"])] if float(task["latency"]) > 0 else [])
    await mpc.start()
    records: list = []
    opened: dict = {}
    for type_name in task["types"]:
        stype = _sectype(type_name, int(task["bit_length"]), int(task["frac_length"]))
        own = np.array(task.get("x" if mpc.pid == 0 else "y", [0.0] * n), dtype=float)
        if type_name == "int":
            arr = stype.array(np.round(own).astype(np.int64))
        else:  # integral=False on every party, or parties holding zeros would skip the truncations
            arr = stype.array(own, integral=False)
        x = mpc.input(arr, senders=0)
        y = mpc.input(arr, senders=1)
        await mpc.gather(x, y)
        ops = {
            "add": lambda: x + y,
            "mul": lambda: x * y,
            "lt": lambda: x < y,
            "relu": lambda: mpc.np_maximum(x, 0),
            "max": lambda: mpc.np_amax(x),
        }
        for latency in latencies:
            for _ in range(repeats):
                for op, build in ops.items():
                    z = await _measure(f"{type_name}:{op}", build, records, latency)
                    if latency == 0 and f"{type_name}:{op}" not in opened:
                        _DELAY[0] = 0.0
                        value = await mpc.output(z)
                        opened[f"{type_name}:{op}"] = np.asarray(value, dtype=float).ravel().tolist()
            await _settle(latency)
    await mpc.shutdown()
    return {"party": mpc.pid, "parties": len(mpc.parties), "records": records, "opened": opened}


async def run_mlp(task: dict) -> dict:
    k, d, h, c = (int(task[s]) for s in ("batch", "features", "hidden", "classes"))
    repeats = int(task["repeats"])
    latencies = [0.0] + ([float(task["latency"])] if float(task["latency"]) > 0 else [])
    stype = mpc.SecFxp(int(task["bit_length"]), int(task["frac_length"]))
    await mpc.start()

    def secret(values, shape, sender):
        mine = np.zeros(shape) if values is None else np.asarray(values, dtype=float).reshape(shape)
        return mpc.input(stype.array(mine, integral=False), senders=sender)  # same flag on every party

    x = secret(task.get("x"), (k, d), 0)
    w1 = secret(task.get("w1"), (d, h), 1)
    b1 = secret(task.get("b1"), (h,), 1)
    w2 = secret(task.get("w2"), (h, c), 1)
    b2 = secret(task.get("b2"), (c,), 1)
    await mpc.gather(x, w1, b1, w2, b2)
    records: list = []
    scores = None
    for latency in latencies:
        for _ in range(repeats):
            pre = await _measure("linear 1", lambda: x @ w1 + b1, records, latency)
            act = await _measure("relu", lambda: mpc.np_maximum(pre, 0), records, latency)
            out = await _measure("linear 2", lambda: act @ w2 + b2, records, latency)
            if scores is None:
                scores = out
        await _settle(latency)
    # Only the client learns its scores. Opened last: MPyC 0.11's output to a subset of the
    # parties leaves the parties' program counters apart, which would stall a later exchange.
    scores = await mpc.output(scores, receivers=[0])
    await mpc.shutdown()
    result = {"party": mpc.pid, "parties": len(mpc.parties), "records": records}
    if mpc.pid == 0:
        result["scores"] = np.asarray(scores, dtype=float).tolist()
    return result


if __name__ == "__main__":
    job = json.loads(sys.stdin.readline())
    _listen_on_loopback_only()
    _install_counter()
    runner = {"ops": run_ops, "mlp": run_mlp}[job["task"]]
    print(json.dumps(mpc.run(runner(job))), flush=True)
