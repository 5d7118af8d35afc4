"""Figures of ``05-auditing.ipynb``: attack ROC curves (log-log) and measured vs proven epsilon."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from labkit.plots import PALETTE


def plot_roc(ax, results: Sequence, *, epsilon: float | None = None, delta: float = 1e-5, title: str = ""):
    """ROC curves of :class:`labkit.audit.AttackResult` objects on log-log axes (where the low-FPR
    regime is visible), the diagonal of guessing, and, given ``epsilon``, the DP bound no attack can cross.

    Each curve's legend entry gives its AUC with the 95% DeLong interval and its TPR at 1% FPR."""
    from labkit.audit import dp_tpr_bound

    grid = np.logspace(-4, 0, 200)
    ax.plot(grid, grid, color=PALETTE[7], linestyle=":", label="guessing")
    if epsilon is not None and math.isfinite(epsilon):
        ax.plot(grid, dp_tpr_bound(grid, epsilon, delta), color=PALETTE[3], linestyle="--",
                label=f"({epsilon:g}, {delta:g})-DP limit")
    for i, r in enumerate(results):
        ax.plot(np.maximum(r.fpr, 1e-4), np.maximum(r.tpr, 1e-4), color=PALETTE[i % 6],
                label=f"{r.name}\nAUC {r.auc:.3f}, 95% CI [{r.auc_low:.3f}, {r.auc_high:.3f}]; TPR@1% {r.tpr_at_1pct:.3f}")
    ax.set(xscale="log", yscale="log", xlim=(1e-4, 1), ylim=(1e-4, 1.05), xlabel="false-positive rate",
           ylabel="true-positive rate", title=title)
    ax.legend(loc="lower right", fontsize=7)
    return ax


def plot_epsilon_bounds(ax, labels: Sequence[str], upper: Sequence[float], lower: Sequence[float],
                        point: Sequence[float] | None = None):
    """Proven upper bound (the accountant) and measured lower bound (the audit) of each model, side by side."""
    x = np.arange(len(labels))
    up = np.array([u if math.isfinite(u) else np.nan for u in upper])
    ax.bar(x - 0.2, np.nan_to_num(up, nan=0.0), width=0.4, color=PALETTE[0], label="proven upper bound (RDP)")
    for xi, u in zip(x, up):
        if np.isnan(u):
            ax.text(xi - 0.2, 0.3, "none", ha="center", fontsize=8, color=PALETTE[0])
    ax.bar(x + 0.2, lower, width=0.4, color=PALETTE[1],
           label="audit lower bound (95%, nominal: guesses not independent)")
    if point is not None:
        ax.scatter(x + 0.2, np.minimum(point, 20), color=PALETTE[3], marker="_", s=200, zorder=3,
                   label="audit point estimate (capped at 20)")
    ax.set_xticks(x, labels=list(labels))
    ax.set(ylabel="epsilon", xlabel="model")
    ax.legend(fontsize=8)
    return ax
