"""Figures of the federated-learning notebooks (06, 07). Each helper takes an ``ax`` and returns it."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit.style import PALETTE


def _check_ax(ax):
    """``ax`` must be a Matplotlib ``Axes`` (anything else fails deep inside the drawing)."""
    if not callable(getattr(ax, "plot", None)) or not callable(getattr(ax, "set_xlabel", None)):
        raise TypeError(f"ax must be a Matplotlib Axes (plt.subplots()[1]); got {ax!r}"[:200])
    return ax


def _shown(text):
    """A label or title the caller gave, in the current language when a catalogue has it (else as it is)."""
    return tr(text) if isinstance(text, str) else text


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
        ax.plot(np.arange(len(acc)), acc, color=PALETTE[i % len(PALETTE)], label=_shown(label), lw=1.8)
    if target is not None:
        ax.axhline(target, color=PALETTE[7], ls="--", lw=1, label=tr("target {target:.0%}").format(target=target))
    ax.set_xlabel(tr("communication round"))
    ax.set_ylabel(tr("test accuracy"))
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(_shown(title))
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
    ax.set_xlabel(tr("client"))
    ax.set_ylabel(tr("examples"))
    if title:
        ax.set_title(_shown(title))
    if legend:
        ax.legend(title=tr("class"), ncol=1, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
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
            ax.annotate(_shown(text), (e, a), textcoords="offset points", xytext=(4, -12), fontsize=7)
    if baseline is not None:
        ax.axhline(baseline, color=PALETTE[3], ls="--", lw=1, label=tr("no noise (clipping only)"))
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ticks = [t for t in (0.5, 1, 2, 5, 10, 20, 50, 100) if min(epsilons) / 1.5 <= t <= max(epsilons) * 1.5]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(tr("epsilon (user level)"))
    ax.set_ylabel(tr("test accuracy"))
    ax.legend(loc="lower right", fontsize=8)
    return ax


# --- Poisoning and robust aggregation (notebook 07) ---


def plot_poisoning_curves(ax, attackers: Sequence[int], curves: Mapping[str, tuple], *, clean: float | None = None,
                          title: str = ""):
    """Final test accuracy against the number of malicious clients, one line per aggregator, with error bars.

    Args:
        ax: the Matplotlib axes.
        attackers: the numbers of malicious clients (x axis).
        curves: label -> ``(mean, standard_error)``, as :func:`labkit.fl.robust.poisoning_curve` returns.
        clean: the accuracy without attackers, drawn as a dashed line.
        title: an optional title.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.robust import aggregator_label

    _check_ax(ax)
    x = _curve("attackers", attackers)
    if not hasattr(curves, "items"):
        raise TypeError(f"curves must be a mapping of label -> (mean, standard_error); got {curves!r}"[:200])
    if clean is not None:
        v.real("clean", clean, low=0.0, high=1.0)
    if not isinstance(title, str):
        raise TypeError(f"title must be a string; got {title!r}")
    markers = "osD^v<>p"
    for i, (label, pair) in enumerate(curves.items()):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"curves[{label!r}] must be a (mean, standard_error) pair; got {pair!r}"[:200])
        mean, err = _curve(f"curves[{label!r}] mean", pair[0]), _curve(f"curves[{label!r}] standard error", pair[1])
        v.same_length(attackers=x, mean=mean, standard_error=err)
        ax.errorbar(x + 0.06 * (i - len(curves) / 2), mean, yerr=err, color=PALETTE[i % len(PALETTE)],
                    marker=markers[i % len(markers)], ms=4, capsize=2, lw=1.5, label=aggregator_label(label))
    if clean is not None:
        ax.axhline(clean, color=PALETTE[7], ls="--", lw=1, label=tr("no attacker ({clean:.2f})").format(clean=clean))
    ax.set_xlabel(tr("malicious clients"))
    ax.set_ylabel(tr("test accuracy"))
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(_shown(title), fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    return ax


def plot_poisoning_bars(ax, accuracies: Mapping[str, float], *, clean: float | None = None, title: str = ""):
    """One bar per aggregator: test accuracy after training under attack, with the clean level.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.robust import aggregator_label

    _check_ax(ax)
    if not hasattr(accuracies, "items") or not accuracies:
        raise TypeError(f"accuracies must be a non-empty mapping of label -> accuracy; got {accuracies!r}"[:200])
    values = [v.real(f"accuracies[{k!r}]", a, low=0.0, high=1.0) for k, a in accuracies.items()]
    if clean is not None:
        v.real("clean", clean, low=0.0, high=1.0)
    if not isinstance(title, str):
        raise TypeError(f"title must be a string; got {title!r}")
    y = np.arange(len(values))
    ax.set_axisbelow(True)  # the grid behind the bars (the widget redraws only the bars over it)
    ax.barh(y, values, color=[PALETTE[i % len(PALETTE)] for i in range(len(values))], height=0.6)
    for yi, a in zip(y, values):  # the value inside a long bar, after a short one
        inside = a > 0.5
        ax.text(a - 0.01 if inside else a + 0.01, yi, f"{a:.2f}", va="center", ha="right" if inside else "left",
                fontsize=8, color="white" if inside else "black")
    ax.set_yticks(y)
    ax.set_yticklabels([aggregator_label(k) for k in accuracies])
    ax.invert_yaxis()
    xlabel = tr("test accuracy after training")
    if clean is not None:
        ax.axvline(clean, color=PALETTE[7], ls="--", lw=1)
        xlabel = tr("test accuracy after training (dashed: no attacker, {clean:.2f})").format(clean=clean)
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(_shown(title), fontsize=9)
    return ax


def plot_digit_rows(ax, rows: Mapping[str, np.ndarray], *, errors: Mapping[str, Sequence[float]] | None = None,
                    title: str = ""):
    """A montage of 8x8 digits: one labelled row per entry of ``rows`` (originals, reconstructions...).

    Each row is ``[n, 64]`` pixels in [0, 1] (values outside are clipped for display); every row
    must hold the same number of digits. ``errors[label]`` (one number per digit) is written under
    that row's digits.

    Introduced in ``06-federated-averaging.ipynb`` (gradient inversion).
    """
    _check_ax(ax)
    if not hasattr(rows, "items") or not rows:
        raise TypeError(f"rows must be a non-empty mapping of label -> [n, 64] digits; got {rows!r}"[:200])
    arrays = {str(k): v.finite_array(f"rows[{k!r}]", a, ndim=2) for k, a in rows.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or next(iter(shapes))[1] != 64:
        raise ValueError(f"rows must all have shape [n, 64] with the same n; got {sorted(shapes)}")
    if len(arrays) > 20 or next(iter(shapes))[0] > 40:
        raise ValueError(f"rows must hold at most 20 rows of at most 40 digits; got {len(arrays)} x {next(iter(shapes))[0]}")
    if errors is not None:
        if not hasattr(errors, "items"):
            raise TypeError(f"errors must be a mapping of row label -> one error per digit; got {errors!r}"[:200])
        errors = {str(k): _curve(f"errors[{k!r}]", e) for k, e in errors.items()}
        for k, e in errors.items():
            if k not in arrays or len(e) != next(iter(shapes))[0]:
                raise ValueError(f"errors[{k!r}] must name a row and hold one value per digit")
    if not isinstance(title, str):
        raise TypeError(f"title must be a string; got {title!r}")
    n = next(iter(shapes))[0]
    gap = 1 if errors is None else 3
    canvas = np.full((len(arrays) * (8 + gap) - gap, n * 9 - 1), np.nan)
    for r, a in enumerate(arrays.values()):
        for c in range(n):
            canvas[r * (8 + gap):r * (8 + gap) + 8, c * 9:c * 9 + 8] = np.clip(a[c].reshape(8, 8), 0, 1)
    cmap = __import__("matplotlib").colormaps["gray_r"].with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([r * (8 + gap) + 3.5 for r in range(len(arrays))])
    ax.set_yticklabels([_shown(label) for label in arrays], fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(False)
    if errors is not None:
        for r, label in enumerate(arrays):
            if label in errors:
                for c, e in enumerate(errors[label]):
                    ax.text(c * 9 + 3.5, r * (8 + gap) + 8.9, f"{e:.3f}", ha="center", va="center", fontsize=6)
    if title:
        ax.set_title(_shown(title), fontsize=9)
    return ax
