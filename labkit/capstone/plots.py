"""Figures for ``10-capstone-hospitals.ipynb``: the hospitals' data, accuracy by round, the cost of each layer.

Every helper takes a Matplotlib ``ax`` and returns it; colours come from :data:`labkit.style.PALETTE`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit.style import PALETTE


def plot_hospitals(ax, hospitals: Sequence):
    """Horizontal stacked bars: malignant and benign records per hospital (:class:`labkit.capstone.Hospital`)."""
    names = [h.name for h in hospitals]
    malignant = np.array([int(np.sum(h.y == 0)) for h in hospitals])
    benign = np.array([int(np.sum(h.y == 1)) for h in hospitals])
    pos = np.arange(len(names))[::-1]
    ax.barh(pos, malignant, color=PALETTE[3], label="malignant")
    ax.barh(pos, benign, left=malignant, color=PALETTE[0], label="benign")
    for p, m, b in zip(pos, malignant, benign):
        ax.text(m + b + 2, p, f"{m + b} records, {m / (m + b):.0%} malignant", va="center", fontsize=9)
    ax.set_yticks(pos, names)
    ax.set_xlim(0, max(malignant + benign) * 1.7)
    ax.set_xlabel("training records")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    return ax


def plot_accuracy_by_round(ax, runs: Sequence, *, centralised: float | None = None):
    """Test accuracy after each FedAvg round, one line per :class:`labkit.capstone.FederationRun`.

    Runs whose curves coincide (secure aggregation and HE give the plain sum) are drawn with
    different line styles so that each stays visible.
    """
    styles = ["-", "--", ":", "-", "-."]
    for i, run in enumerate(runs):
        acc = np.asarray(run.test_accuracy)
        ax.plot(np.arange(len(acc)), acc, styles[i % len(styles)], color=PALETTE[i % len(PALETTE)], marker="o",
                ms=3, label=run.config.label)
    if centralised is not None:
        ax.axhline(centralised, color=PALETTE[7], lw=1, ls="--", label=f"pooled data (not allowed): {centralised:.3f}")
    ax.set_xlabel("FedAvg round")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.85, 1.0)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_costs(ax, rows: Sequence, seconds: Sequence[float] | None = None):
    """Bytes per round for each configuration (log scale), annotated with accuracy and epsilon.

    ``rows`` are :class:`labkit.capstone.CostRow`; ``seconds`` (optional) adds each run's wall time.
    """
    labels = [r.label.split(" ", 1)[0] for r in rows]
    values = [r.bytes_per_round for r in rows]
    pos = np.arange(len(rows))
    ax.bar(pos, values, color=[PALETTE[i % len(PALETTE)] for i in range(len(rows))])
    ax.set_yscale("log")
    for i, r in enumerate(rows):
        eps = "no DP" if not np.isfinite(r.epsilon) else f"eps {r.epsilon:.1f}"
        text = f"acc {r.accuracy:.3f}\n{eps}"
        if seconds is not None:
            text += f"\n{seconds[i]:.2f} s"
        ax.text(i, values[i] * 1.15, text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(pos, labels)
    ax.set_ylim(min(values) / 2, max(values) * 8)
    ax.set_ylabel("bytes sent per round")
    ax.grid(axis="x", visible=False)
    return ax
