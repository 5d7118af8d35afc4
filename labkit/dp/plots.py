"""Figures of the differential-privacy notebooks (01 to 05). Each helper takes an ``ax`` and returns it.

In notebook order:

* ``01-deidentification``: :func:`plot_unique_by_zip`.
* ``02-dp-from-scratch``: :func:`plot_noise_calibration` (also drawn by the calibration widget)
  and :func:`plot_log_ratio`.
* ``03-gaussian-accounting``: :func:`plot_sigma_vs_epsilon`, :func:`plot_composition` and
  :func:`plot_epsilon_over_steps` (also drawn by the accountant dashboard).
* ``04-dp-sgd``: :func:`plot_gradient_norms` (per-example gradient norms against the clip) and
  :func:`plot_tradeoff` / :func:`update_tradeoff` (the accuracy-privacy trade-off and its explorer).
* ``05-auditing``: :func:`plot_roc` (attack ROC curves, log-log) and :func:`plot_epsilon_bounds`
  (measured vs proven epsilon).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from labkit.dp.audit import dp_tpr_bound
from labkit.style import PALETTE


# --------------------------------------------------------------------------------------------
# 01-deidentification
# --------------------------------------------------------------------------------------------


def plot_unique_by_zip(ax, zip_sizes, unique_share, theory_n=None, theory=None):
    """Share of people unique on (ZIP, birth date, sex) per ZIP code, against people per ZIP code (01)."""
    ax.scatter(zip_sizes, unique_share, s=10, color=PALETTE[0], alpha=0.7, label="ZIP codes (synthetic)")
    if theory_n is not None:
        ax.plot(theory_n, theory, color=PALETTE[1], lw=2, label="expected share")
    ax.set_xscale("log")
    ax.set_xlabel("people in the ZIP code")
    ax.set_ylabel("share unique")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return ax


# --------------------------------------------------------------------------------------------
# 02-dp-from-scratch
# --------------------------------------------------------------------------------------------


def plot_noise_calibration(ax, calib):
    """Laplace release of a count on two neighbouring datasets (02, the calibration widget)."""
    ax.plot(calib.x, calib.density, color=PALETTE[0], lw=2, label=f"count = {calib.true_count}")
    ax.plot(calib.x, calib.neighbour_density, color=PALETTE[1], lw=2, ls="--",
            label=f"neighbour: count = {calib.true_count} + {calib.sensitivity:g}")
    ax.axvspan(calib.true_count - calib.error_95, calib.true_count + calib.error_95, color=PALETTE[2], alpha=0.12,
               label="95% of releases")
    ax.set_xlabel("released value")
    ax.set_ylabel("density")
    ax.set_title(f"Laplace, epsilon = {calib.epsilon:g}, sensitivity = {calib.sensitivity:g}", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_log_ratio(ax, centres, log_ratios, epsilon, label="measured"):
    """Bin-by-bin log ratio of two output histograms, with the +/- epsilon band (02)."""
    ax.axhspan(-epsilon, epsilon, color=PALETTE[2], alpha=0.12, label=f"allowed: |log ratio| <= {epsilon:g}")
    ax.plot(centres, log_ratios, "o", ms=3, color=PALETTE[0], label=label)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("released value (bin centre)")
    ax.set_ylabel("log P[M(D) in bin] / P[M(D') in bin]")
    ax.legend(loc="lower left", fontsize=8)
    return ax


# --------------------------------------------------------------------------------------------
# 03-gaussian-accounting
# --------------------------------------------------------------------------------------------


def plot_sigma_vs_epsilon(ax, epsilons, classic, analytic, delta):
    """Noise of the classic and analytic Gaussian mechanisms over epsilon (03)."""
    epsilons = np.asarray(epsilons)
    ax.plot(epsilons, analytic, color=PALETTE[0], lw=2, label="analytic (Balle & Wang 2018)")
    valid = epsilons < 1
    ax.plot(epsilons[valid], np.asarray(classic)[valid], color=PALETTE[1], lw=2, label="classic, proof holds")
    ax.plot(epsilons[~valid], np.asarray(classic)[~valid], color=PALETTE[3], lw=2, ls=":",
            label="classic, no proof (epsilon >= 1)")
    ax.axvline(1, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epsilon")
    ax.set_ylabel("sigma (sensitivity 1)")
    ax.set_title(f"delta = {delta:g}", fontsize=10)
    ax.legend(fontsize=8)
    return ax


def plot_composition(ax, ks, curves: Mapping[str, np.ndarray]):
    """Total epsilon of k releases under several composition methods (03)."""
    for i, (name, eps) in enumerate(curves.items()):
        ax.plot(ks, eps, lw=2, color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of releases k")
    ax.set_ylabel("total epsilon")
    ax.legend(fontsize=8)
    return ax


def plot_epsilon_over_steps(ax, dashboard):
    """RDP epsilon over training steps, with the PLD value at the last step (03, the dashboard)."""
    ax.plot(dashboard.curve_steps, dashboard.curve_rdp, color=PALETTE[0], lw=2, label="RDP")
    ax.plot([dashboard.steps], [dashboard.epsilon_pld], "s", color=PALETTE[1], label="PLD (last step)")
    ax.set_xscale("log")
    ax.set_xlabel("steps")
    ax.set_ylabel("epsilon")
    ax.set_title(f"q = {dashboard.sampling_probability:.3g}, sigma = {dashboard.noise_multiplier:.3g}, "
                 f"delta = {dashboard.delta:.0e}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return ax


# --------------------------------------------------------------------------------------------
# 04-dp-sgd
# --------------------------------------------------------------------------------------------


def plot_gradient_norms(ax, norms: np.ndarray, l2_norm_clip: float):
    """Histogram of per-example gradient norms with the clipping norm marked; returns ``ax``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
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
    the selected :class:`labkit.dp.dpsgd.TradeoffPoint` (if any) and points trained live ``(eps, acc)``.

    The selected point and the live points can be moved afterwards with :func:`update_tradeoff`
    (the explorer redraws only those, which keeps a slider move fast).

    Introduced in ``04-dp-sgd.ipynb``.
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
    """Move the selected point and the live points of a :func:`plot_tradeoff` figure; returns ``ax``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
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


# --------------------------------------------------------------------------------------------
# 05-auditing
# --------------------------------------------------------------------------------------------


def plot_roc(ax, results: Sequence, *, epsilon: float | None = None, delta: float = 1e-5, title: str = ""):
    """ROC curves of :class:`labkit.dp.audit.AttackResult` objects on log-log axes (where the low-FPR
    regime is visible), the diagonal of guessing, and, given ``epsilon``, the DP bound no attack can cross.

    Each curve's legend entry gives its AUC with the 95% DeLong interval and its TPR at 1% FPR.

    Introduced in ``05-auditing.ipynb``.
    """
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
    """Proven upper bound (the accountant) and measured lower bound (the audit) of each model, side by side.

    Introduced in ``05-auditing.ipynb``.
    """
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

