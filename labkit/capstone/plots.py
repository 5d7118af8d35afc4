"""Figures for ``10-capstone-hospitals.ipynb``: the hospitals' data, accuracy by round, the cost of each layer.

Every helper takes a Matplotlib ``ax`` and returns it; colours come from :data:`labkit.style.PALETTE`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit.style import PALETTE


def _check_ax(ax):
    """``ax`` must be a Matplotlib ``Axes`` (anything else fails deep inside the drawing)."""
    if not callable(getattr(ax, "plot", None)) or not callable(getattr(ax, "set_xlabel", None)):
        raise TypeError(f"ax must be a Matplotlib Axes (plt.subplots()[1]); got {ax!r}"[:200])
    return ax


def _items(name: str, values, cls_name: str) -> list:
    """``values`` as a non-empty list of objects of the class named ``cls_name``."""
    if values is None or isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or \
            not all(type(x).__name__ == cls_name for x in values):
        raise TypeError(f"{name} must be a sequence of {cls_name}; got {values!r}"[:200])
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    return list(values)


def plot_hospitals(ax, hospitals: Sequence):
    """Horizontal stacked bars: malignant and benign records per hospital (:class:`labkit.capstone.Hospital`)."""
    _check_ax(ax)
    hospitals = _items("hospitals", hospitals, "Hospital")
    names = [tr(h.name) for h in hospitals]
    malignant = np.array([int(np.sum(h.y == 0)) for h in hospitals])
    benign = np.array([int(np.sum(h.y == 1)) for h in hospitals])
    pos = np.arange(len(names))[::-1]
    ax.barh(pos, malignant, color=PALETTE[3], label=tr("malignant"))
    ax.barh(pos, benign, left=malignant, color=PALETTE[0], label=tr("benign"))
    for p, m, b in zip(pos, malignant, benign):
        ax.text(m + b + 2, p, tr("{records} records, {share:.0%} malignant").format(records=m + b, share=m / (m + b)),
                va="center", fontsize=9)
    ax.set_yticks(pos, names)
    ax.set_xlim(0, max(malignant + benign) * 1.7)
    ax.set_xlabel(tr("training records"))
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    return ax


def plot_accuracy_by_round(ax, runs: Sequence, *, centralised: float | None = None):
    """Test accuracy after each FedAvg round, one line per :class:`labkit.capstone.FederationRun`.

    Runs whose curves coincide (secure aggregation and HE give the plain sum) are drawn with
    different line styles so that each stays visible.
    """
    _check_ax(ax)
    runs = _items("runs", runs, "FederationRun")
    for k, run in enumerate(runs):
        v.finite_array(f"runs[{k}].test_accuracy", run.test_accuracy, ndim=1)
    if centralised is not None:
        v.real("centralised", centralised, low=0.0, high=1.0)
    styles = ["-", "--", ":", "-", "-."]
    for i, run in enumerate(runs):
        acc = np.asarray(run.test_accuracy)
        ax.plot(np.arange(len(acc)), acc, styles[i % len(styles)], color=PALETTE[i % len(PALETTE)], marker="o",
                ms=3, label=tr(run.config.label))
    if centralised is not None:
        ax.axhline(centralised, color=PALETTE[7], lw=1, ls="--",
                   label=tr("pooled data (not allowed): {accuracy:.3f}").format(accuracy=centralised))
    ax.set_xlabel(tr("FedAvg round"))
    ax.set_ylabel(tr("test accuracy"))
    ax.set_ylim(0.85, 1.0)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_costs(ax, rows: Sequence, seconds: Sequence[float] | None = None):
    """Bytes per round for each configuration (log scale), annotated with accuracy and epsilon.

    ``rows`` are :class:`labkit.capstone.CostRow`; ``seconds`` (optional) adds each run's wall time.
    """
    _check_ax(ax)
    rows = _items("rows", rows, "CostRow")
    for k, r in enumerate(rows):
        v.real(f"rows[{k}].accuracy", r.accuracy, low=0.0, high=1.0)
        v.positive(f"rows[{k}].bytes_per_round", r.bytes_per_round)
        v.real(f"rows[{k}].epsilon", r.epsilon, low=0.0, finite=False)
    if seconds is not None:
        seconds = v.finite_array("seconds", seconds, ndim=1)
        v.same_length(rows=rows, seconds=seconds)
        if np.any(seconds < 0):
            raise ValueError("seconds must be >= 0")
    labels = [r.label.split(" ", 1)[0] for r in rows]
    values = [r.bytes_per_round for r in rows]
    pos = np.arange(len(rows))
    ax.bar(pos, values, color=[PALETTE[i % len(PALETTE)] for i in range(len(rows))])
    ax.set_yscale("log")
    for i, r in enumerate(rows):
        eps = tr("no DP") if not np.isfinite(r.epsilon) else tr("eps {epsilon:.1f}").format(epsilon=r.epsilon)
        text = tr("acc {accuracy:.3f}").format(accuracy=r.accuracy) + "\n" + eps
        if seconds is not None:
            text += f"\n{seconds[i]:.2f} s"
        ax.text(i, values[i] * 1.15, text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(pos, labels)
    ax.set_ylim(min(values) / 2, max(values) * 8)
    ax.set_ylabel(tr("bytes sent per round"))
    ax.grid(axis="x", visible=False)
    return ax
