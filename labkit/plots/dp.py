"""Figures of the differential-privacy notebooks (01-03). Each helper takes an ``ax`` and returns it."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from labkit.plots import PALETTE


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
