"""Figures of ``04-dp-sgd.ipynb``: gradient norms against the clip, and the accuracy-privacy trade-off."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit.plots import PALETTE


def plot_gradient_norms(ax, norms: np.ndarray, l2_norm_clip: float):
    """Histogram of per-example gradient norms with the clipping norm marked; returns ``ax``."""
    norms = np.asarray(norms)
    ax.hist(norms, bins=30, color=PALETTE[0], alpha=0.8)
    ax.axvline(l2_norm_clip, color=PALETTE[3], linestyle="--", label=f"clip C = {l2_norm_clip:g}")
    share = float(np.mean(norms > l2_norm_clip))
    ax.set(xlabel="per-example gradient norm", ylabel="examples",
           title=f"{100 * share:.0f}% of the batch is clipped")
    ax.legend()
    return ax


def plot_tradeoff(ax, sweep: dict, point=None, live: Sequence[tuple[float, float]] = ()):
    """Test accuracy over target epsilon: sweep means with +/- 1 sd bars, the non-private line,
    the selected :class:`labkit.dpsgd.TradeoffPoint` (if any) and points trained live ``(eps, acc)``.

    The selected point and the live points can be moved afterwards with :func:`update_tradeoff`
    (the explorer redraws only those, which keeps a slider move fast).
    """
    eps = np.asarray(sweep["target_epsilon"])
    acc = np.asarray(sweep["accuracy"])
    ax.errorbar(eps, acc.mean(axis=1), yerr=acc.std(axis=1), color=PALETTE[0], marker="o", markersize=4,
                capsize=2, label=f"DP-SGD, mean +/- sd over {acc.shape[1]} seeds")
    ref = float(np.mean(sweep["nonprivate_accuracy"]))
    ax.axhline(ref, color=PALETTE[7], linestyle=":", label=f"non-private ({ref:.3f})")
    ax.plot([], [], color=PALETTE[3], linewidth=3, gid="selected-bar")
    ax.plot([], [], color=PALETTE[3], marker="D", markersize=8, linestyle="none", gid="selected",
            label="selected epsilon")
    ax.scatter([], [], color=PALETTE[1], marker="*", s=140, zorder=5, gid="live", label="trained live")
    ax.set_xscale("log")
    ax.set_xticks([0.5, 1, 2, 4, 8, 16], labels=["0.5", "1", "2", "4", "8", "16"])
    ax.set(xlabel=f"target epsilon (delta = {float(sweep['delta']):g})", ylabel="test accuracy", ylim=(0, 1.02),
           xlim=(0.42, 19))
    ax.legend(loc="lower right", fontsize=8)
    update_tradeoff(ax, point, live)
    return ax


def update_tradeoff(ax, point=None, live: Sequence[tuple[float, float]] = ()):
    """Move the selected point and the live points of a :func:`plot_tradeoff` figure; returns ``ax``."""
    artists = {a.get_gid(): a for a in list(ax.lines) + list(ax.collections) if a.get_gid()}
    if point is None:
        artists["selected"].set_data([], [])
        artists["selected-bar"].set_data([], [])
        ax.set_title("")
    else:
        artists["selected"].set_data([point.target_epsilon], [point.accuracy])
        artists["selected-bar"].set_data([point.target_epsilon] * 2, [point.low, point.high])
        ax.set_title(f"epsilon = {point.target_epsilon:.2f}: noise multiplier {point.noise_multiplier:.2f}, "
                     f"accuracy {point.accuracy:.3f} +/- {(point.high - point.low) / 2:.3f} (sd, {point.num_seeds} seeds)", fontsize=9)
    artists["live"].set_offsets(np.asarray(live, dtype=float).reshape(-1, 2))
    return ax
