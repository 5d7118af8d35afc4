"""``make data`` builder for ``data/sweeps/smpc_mpyc_costs.json`` (notebook 09; about a minute, tqdm bar).

Registered in :data:`tools.build_data.DERIVED`. Timings depend on the machine: the file records
medians and quartiles over :data:`labkit.smpc.comparison.SWEEP_SETTINGS` repeats; the counts of
messages are exact and the rounds are measured under a simulated 100 ms one-way delay.
"""

from __future__ import annotations

import json
from pathlib import Path


def build_mpyc_costs(path: Path) -> None:
    """Write ``data/sweeps/smpc_mpyc_costs.json``: labkit.smpc.comparison.costs_sweep (notebook 09)."""
    from tqdm.auto import tqdm

    from labkit.smpc import comparison

    with tqdm(total=2, desc="smpc_mpyc_costs MPyC runs") as bar:
        table = comparison.costs_sweep(progress=bar.update)
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
