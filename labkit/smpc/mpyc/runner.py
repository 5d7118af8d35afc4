"""Start, watch and stop the MPyC parties of ``mpyc_demo.py`` as separate OS processes.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from labkit import _validate

DEMO = Path(__file__).resolve().parent / "mpyc_demo.py"


@dataclass(frozen=True)
class MPyCResult:
    """What the parties output (they all receive the same values) and how the run went.

    Attributes:
        mean, maximum, count: the secure statistic.
        parties: number of parties (OS processes).
        pids: the process ids that ran (all ended when the result is returned).
        ports: the 127.0.0.1 ports they used.
        seconds: wall time from start to the last exit.

    Introduced in ``09-secure-computation.ipynb``.
    """

    mean: float
    maximum: float
    count: int
    parties: int
    pids: tuple[int, ...]
    ports: tuple[int, ...]
    seconds: float

    def __repr__(self) -> str:
        return (f"MPyCResult(parties={self.parties}, count={self.count}, mean={self.mean:.4f}, "
                f"maximum={self.maximum:.4f})")


MAX_PORTS = 1000
"""Most ports :func:`free_ports` reserves at once (and most parties the command lines describe)."""


def _collect_outputs(procs: list[subprocess.Popen], start: float, timeout: float) -> list[Any]:
    """Each party's last stdout line as JSON, in party order, within ``timeout`` seconds of ``start``.

    Raises RuntimeError naming the party that failed or the timeout; the caller stops every party
    (in a ``finally``) whatever happens.
    """
    outputs = []
    for i, p in enumerate(procs):
        left = timeout - (time.perf_counter() - start)
        try:
            out, err = p.communicate(timeout=max(left, 0.01))
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the MPyC parties did not finish within timeout={timeout} s; all were stopped") from None
        if p.returncode != 0:
            raise RuntimeError(f"MPyC party {i} exited with code {p.returncode}: {err.strip()[-400:]}")
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def free_ports(k: int) -> list[int]:
    """``k`` distinct TCP ports that are free on 127.0.0.1 right now (chosen by the OS).

    Introduced in ``09-secure-computation.ipynb``.
    """
    k = _validate.count("k", k, maximum=MAX_PORTS)
    socks = []
    try:
        for _ in range(k):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def mpyc_command_lines(n_parties: int, rows: int, ports: Sequence[int], hosts: Sequence[str] | None = None,
                       python: str = "python") -> list[list[str]]:
    """The command line of each party: the same ``-P host:port`` list, its own ``-I`` index.

    With ``hosts`` (one per party) the same lines run the parties on different machines.

    Introduced in ``09-secure-computation.ipynb``.
    """
    n_parties = _validate.count("n_parties", n_parties, maximum=MAX_PORTS)
    rows = _validate.count("rows", rows, minimum=0, maximum=10_000_000)
    if isinstance(ports, (str, bytes)) or not hasattr(ports, "__len__"):
        raise TypeError(f"ports must be a list of {n_parties} TCP port numbers; got {ports!r}")
    ports = [_validate.integer(f"ports[{i}]", p, minimum=1, maximum=65535) for i, p in enumerate(ports)]
    if hosts is None:
        hosts = ["127.0.0.1"] * n_parties
    elif isinstance(hosts, (str, bytes)) or not hasattr(hosts, "__len__") or not all(isinstance(h, str) for h in hosts):
        raise TypeError(f"hosts must be None or a list of {n_parties} host names; got {hosts!r}")
    hosts = list(hosts)
    if len(hosts) != n_parties or len(ports) != n_parties:
        raise ValueError(f"hosts and ports must hold one entry per party ({n_parties}); got {len(hosts)} and {len(ports)}")
    peers = [arg for h, p in zip(hosts, ports) for arg in ("-P", f"{h}:{p}")]
    return [[python, DEMO.name, "--rows", str(rows), *peers, "-I", str(i), "--no-log"] for i in range(n_parties)]


def _stop(procs: list[subprocess.Popen]) -> None:
    """Kill every party's process group that is still running, then reap it."""
    for p in procs:
        if p.returncode is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # each party leads its own session and group
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass
        for stream in (p.stdin, p.stdout, p.stderr):
            if stream is not None:
                stream.close()


def run_mpyc_statistic(values_per_party: Sequence[Sequence[float]], *, timeout: float = 60.0,
                       rows: int | None = None) -> MPyCResult:
    """Compute the mean and maximum of private positive values held by several parties with MPyC.

    Each party runs ``mpyc_demo.py`` as its own OS process (its own session and process group),
    listening and connecting on 127.0.0.1 only, on ports the OS reports free. Each reads its
    private values from its standard input. The parties are killed if they have not finished
    within ``timeout`` seconds, and in every case (success, error, timeout, interrupt) no process
    is left behind when this function returns or raises.

    Args:
        values_per_party: one list of positive numbers per party (3 parties tolerate 1 corrupt
            party with MPyC's default threshold t = 1).
        timeout: seconds for the whole run (more than 0).
        rows: public bound on each party's list length (default: the longest list).

    Raises:
        ValueError: for fewer than 2 parties, a negative value, a bad timeout or ``rows`` below
            the longest list.
        TypeError: for a value, timeout or ``rows`` that is not a number.
        RuntimeError: if a party fails, the parties disagree, or the timeout passes.

    Introduced in ``09-secure-computation.ipynb``.
    """
    m = len(values_per_party)
    if m < 2:
        raise ValueError(f"values_per_party must hold the values of at least 2 parties; got {m}")
    timeout = _validate.positive("timeout", timeout)
    clean = [[_validate.nonnegative(f"values_per_party[{i}][{j}]", v) for j, v in enumerate(vals)]
             for i, vals in enumerate(values_per_party)]
    if not any(clean):
        raise ValueError("values_per_party must hold at least one value in total; got none")
    longest = max(len(v) for v in clean)
    rows = longest if rows is None else _validate.count("rows", rows, minimum=longest)
    ports = free_ports(m)
    lines = mpyc_command_lines(m, rows, ports, python=sys.executable)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs: list[subprocess.Popen] = []
    start = time.perf_counter()
    try:
        for i, line in enumerate(lines):
            read_end, write_end = os.pipe()  # the private values travel through a pipe, not argv
            with os.fdopen(write_end, "w") as w:
                w.write(json.dumps(clean[i]) + "\n")  # a few bytes: fits the pipe buffer
            try:
                p = subprocess.Popen(line, cwd=DEMO.parent, env=env, stdin=read_end, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
            finally:
                os.close(read_end)
            procs.append(p)
        outputs = _collect_outputs(procs, start, timeout)
        seconds = time.perf_counter() - start
    finally:
        _stop(procs)
    first = outputs[0]
    if any((o["mean"], o["max"], o["count"]) != (first["mean"], first["max"], first["count"]) for o in outputs):
        raise RuntimeError(f"the MPyC parties disagree: {outputs}")
    return MPyCResult(mean=first["mean"], maximum=first["max"], count=first["count"], parties=m,
                      pids=tuple(p.pid for p in procs), ports=tuple(ports), seconds=seconds)
