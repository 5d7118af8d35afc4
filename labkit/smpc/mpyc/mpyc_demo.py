"""An MPyC program: hospitals compute the mean and maximum of their private values together.

Each party is a separate OS process. It reads its own private values from standard input (so
they never appear on a command line), secret-shares them with MPyC (Shamir sharing over a prime
field, threshold t = (m - 1) // 2), and all parties learn only the outputs: the mean, the
maximum and the number of values (the mean as total / count, opened together). Every party pads its list to the public length ``--rows``
with zeros and a 0/1 validity flag, so the others do not even learn how many records it holds.

Run three parties on one machine (three terminals, or let ``labkit.smpc.run_mpyc_statistic`` do
it)::

    echo '[3.5, 7.0]' | python mpyc_demo.py --rows 4 -P 127.0.0.1:11365 -P 127.0.0.1:11366 -P 127.0.0.1:11367 -I 0 --no-log
    echo '[2.0]'      | python mpyc_demo.py --rows 4 -P 127.0.0.1:11365 -P 127.0.0.1:11366 -P 127.0.0.1:11367 -I 1 --no-log
    echo '[9.25]'     | python mpyc_demo.py --rows 4 -P 127.0.0.1:11365 -P 127.0.0.1:11366 -P 127.0.0.1:11367 -I 2 --no-log

Across machines, give each party the same ``-P host:port`` list with the real host names, and
its own ``-I`` index (add ``--ssl`` with certificates outside a trusted network).

Introduced in ``09-secure-computation.ipynb``. This file runs as a script; it imports only the
standard library, MPyC and :mod:`labkit._compat` (for MPyC's event loop, which has no public getter).
"""

from __future__ import annotations

import argparse
import json
import sys

from mpyc.runtime import mpc


def _listen_on_loopback_only() -> None:
    """MPyC 0.11 listens on every interface; when all parties are on 127.0.0.1, bind there only."""
    from labkit._compat import mpyc_event_loop

    loop = mpyc_event_loop(mpc)
    hosts = {party.host for party in mpc.parties}
    if hosts != {"127.0.0.1"}:
        return
    original = loop.create_server

    async def create_server(factory, host=None, port=None, **kwargs):
        return await original(factory, host="127.0.0.1", port=port, **kwargs)

    loop.create_server = create_server


async def main(values: list[float], rows: int) -> dict:
    secfxp = mpc.SecFxp(64)  # 64-bit fixed point, 32 fractional bits
    if len(values) > rows:
        raise SystemExit(f"this party holds {len(values)} values but --rows is {rows}")
    padded = [secfxp(v) for v in values] + [secfxp(0) for _ in range(rows - len(values))]
    flags = [secfxp(1) for _ in values] + [secfxp(0) for _ in range(rows - len(values))]
    await mpc.start()
    all_values = [x for part in mpc.input(padded) for x in part]
    all_flags = [f for part in mpc.input(flags) for f in part]
    total = mpc.sum(all_values)
    count = mpc.sum(all_flags)
    biggest = mpc.max(all_values)  # padding zeros never win: the values are positive
    # The count is an output, so opening the total reveals nothing beyond the mean; it also
    # avoids a secure division (a secret reciprocal), which is slower.
    total_out, max_out, count_out = await mpc.output([total, biggest, count])
    await mpc.shutdown()
    count_int = int(round(float(count_out)))
    return {"party": mpc.pid, "parties": len(mpc.parties), "mean": float(total_out) / count_int,
            "max": float(max_out), "count": count_int}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="secure mean and maximum over private values (MPyC)")
    parser.add_argument("--rows", type=int, required=True, help="public upper bound on each party's number of values")
    args = parser.parse_args()
    private_values = [float(v) for v in json.loads(sys.stdin.readline() or "[]")]
    _listen_on_loopback_only()
    result = mpc.run(main(private_values, args.rows))
    print(json.dumps(result, sort_keys=True), flush=True)
