"""Figures of the federated-learning notebooks (06, 07). Each helper takes an ``ax`` and returns it."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from labkit import _validate as v
from labkit.style import PALETTE


def _check_ax(ax):
    """``ax`` must be a Matplotlib ``Axes`` (anything else fails deep inside the drawing)."""
    if not callable(getattr(ax, "plot", None)) or not callable(getattr(ax, "set_xlabel", None)):
        raise TypeError(f"ax must be a Matplotlib Axes (plt.subplots()[1]); got {ax!r}"[:200])
    return ax


def _curve(name: str, values, *, allow_empty: bool = False) -> np.ndarray:
    """``values`` as a finite 1-D array (a plot refuses NaN: it would draw a gap without a word)."""
    return v.finite_array(name, values, ndim=1, allow_empty=allow_empty)


def plot_accuracy_curves(ax, curves: Mapping[str, Sequence[float]], *, target: float | None = None,
                         title: str = ""):
    """Test accuracy against communication round, one line per label; optional target line.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_ax(ax)
    if not hasattr(curves, "items"):
        raise TypeError(f"curves must be a mapping of label -> accuracies; got {curves!r}"[:200])
    curves = {label: _curve(f"curves[{label!r}]", acc) for label, acc in curves.items()}
    if target is not None:
        v.real("target", target, low=0.0, high=1.0)
    if not isinstance(title, str):
        raise TypeError(f"title must be a string; got {title!r}")
    for i, (label, acc) in enumerate(curves.items()):
        ax.plot(np.arange(len(acc)), acc, color=PALETTE[i % len(PALETTE)], label=label, lw=1.8)
    if target is not None:
        ax.axhline(target, color=PALETTE[7], ls="--", lw=1, label=f"target {target:.0%}")
    ax.set_xlabel("communication round")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_client_labels(ax, label_counts: np.ndarray, *, title: str = "", legend: bool = True):
    """Stacked bars: how many examples of each class every client holds (legend outside, right).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    _check_ax(ax)
    counts = v.finite_array("label_counts", label_counts, ndim=2)
    if np.any(counts < 0):
        raise ValueError("label_counts must be >= 0 (numbers of examples)")
    if not isinstance(title, str):
        raise TypeError(f"title must be a string; got {title!r}")
    v.flag("legend", legend)
    bottom = np.zeros(counts.shape[0])
    colours = list(PALETTE) + ["#999999", "#882255"]  # ten classes: Okabe-Ito, grey, wine
    for k in range(counts.shape[1]):
        ax.bar(np.arange(counts.shape[0]), counts[:, k], bottom=bottom, color=colours[k % len(colours)],
               label=str(k), width=0.85)
        bottom += counts[:, k]
    ax.set_xlabel("client")
    ax.set_ylabel("examples")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(title="class", ncol=1, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_privacy_utility(ax, epsilons: Sequence[float], accuracies: Sequence[float], *,
                         errors: Sequence[float] | None = None, labels: Sequence[str] | None = None,
                         baseline: float | None = None):
    """Accuracy against epsilon (log scale) for DP-FedAvg runs, with the non-private level.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    _check_ax(ax)
    epsilons = _curve("epsilons", epsilons)
    if np.any(epsilons <= 0):
        raise ValueError("epsilons must be > 0 (the axis is logarithmic)")
    accuracies = _curve("accuracies", accuracies)
    v.same_length(epsilons=epsilons, accuracies=accuracies)
    if errors is not None:
        errors = _curve("errors", errors)
        v.same_length(epsilons=epsilons, errors=errors)
        if np.any(errors < 0):
            raise ValueError("errors must be >= 0")
    if labels is not None:
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
            raise TypeError(f"labels must be a sequence of strings; got {labels!r}")
        v.same_length(epsilons=epsilons, labels=labels)
    if baseline is not None:
        v.real("baseline", baseline, low=0.0, high=1.0)
    ax.errorbar(epsilons, accuracies, yerr=errors, color=PALETTE[0], marker="o", capsize=3, label="DP-FedAvg")
    if labels is not None:
        for e, a, text in zip(epsilons, accuracies, labels):
            ax.annotate(text, (e, a), textcoords="offset points", xytext=(4, -12), fontsize=7)
    if baseline is not None:
        ax.axhline(baseline, color=PALETTE[3], ls="--", lw=1, label="no noise (clipping only)")
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ticks = [t for t in (0.5, 1, 2, 5, 10, 20, 50, 100) if min(epsilons) / 1.5 <= t <= max(epsilons) * 1.5]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("epsilon (user level)")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="lower right", fontsize=8)
    return ax
