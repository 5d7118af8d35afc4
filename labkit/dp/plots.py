"""Figures of the differential-privacy notebooks (01 to 05). Each helper takes an ``ax`` and returns it.

In notebook order:

* ``01-deidentification``: :func:`plot_unique_by_zip` and :func:`plot_recovery_vs_queries` (the
  reconstruction attack on exact subset sums).
* ``02-dp-from-scratch``: :func:`plot_noise_calibration` (also drawn by the calibration widget),
  :func:`plot_log_ratio`, :func:`plot_differencing` (the differencing attack against Laplace noise)
  and :func:`plot_reconstruction` (also drawn by the reconstruction widget).
* ``03-gaussian-accounting``: :func:`plot_sigma_vs_epsilon`, :func:`plot_composition` and
  :func:`plot_epsilon_over_steps` (also drawn by the accountant dashboard).
* ``04-dp-sgd``: :func:`plot_gradient_norms` (per-example gradient norms against the clip) and
  :func:`plot_tradeoff` / :func:`update_tradeoff` (the accuracy-privacy trade-off and its explorer),
  :func:`plot_tuning` / :func:`update_tuning` (accuracy over batch size and epochs at a fixed epsilon, and
  its explorer).
* ``05-auditing``: :func:`plot_roc` (attack ROC curves, log-log) and :func:`plot_epsilon_bounds`
  (measured vs proven epsilon).
* ``05-auditing``, the white-box canary audit: :func:`plot_canary_scores` (the scores with and
  without the canary; also drawn, and updated in place, by the canary-audit widget) and
  :func:`plot_canary_bounds` (the audit against the accountant over sigma).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from labkit import _validate as v
from labkit.dp.audit import dp_tpr_bound
from labkit.i18n import N_, tr
from labkit.style import PALETTE

# Labels and titles the notebooks pass to these helpers (attack names, curve names, titles): marked here so
# that the Chinese edition, whose code cells are the English ones, draws them in Chinese too (tr at drawing).
_NOTEBOOK_LABELS: tuple[str, ...] = (
    N_("least squares"), N_("linear programme"),  # 01, 02
    N_("measured"), N_("Laplace, b = 1 / epsilon"), N_("half the noise"),  # 02
    N_("basic"), N_("advanced"),  # 03 (composition curves; RDP and PLD stay as they are)
    N_("loss threshold"), N_("loss threshold, all"), N_("loss threshold, canaries"),  # 04, 05
    N_("LiRA, all"), N_("LiRA, canaries"), N_("non-private"), N_("non-private MLP, 16 models, leave-one-out"),
)


def _data(name: str, value, *, infinite: bool = False, allow_empty: bool = False, nan: bool = False) -> np.ndarray:
    """Plot data as a float array: no NaN (Matplotlib would leave a silent gap), no inf unless ``infinite``."""
    arr = v.number_array(name, value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of numbers; got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    bad = np.isnan(arr) if infinite else ~np.isfinite(arr)
    if nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        raise ValueError(f"{name} must hold only {'numbers' if infinite else 'finite numbers'}; "
                         f"got {int(bad.sum())} {'NaN' if infinite else 'NaN or inf'}")
    return arr


def _pair(xname: str, x, yname: str, y, **kw) -> tuple[np.ndarray, np.ndarray]:
    a, b = _data(xname, x, **kw), _data(yname, y, **kw)
    v.same_length(**{xname: a, yname: b})
    return a, b


def _attribute(name: str, obj, attr: str):
    if not hasattr(obj, attr):
        raise TypeError(f"{name} must be the result of the labkit function that computes it; got {v._got(obj)}")
    return getattr(obj, attr)


# --------------------------------------------------------------------------------------------
# 01-deidentification
# --------------------------------------------------------------------------------------------


def plot_unique_by_zip(ax, zip_sizes, unique_share, theory_n=None, theory=None):
    """Share of people unique on (ZIP, birth date, sex) per ZIP code, against people per ZIP code (01)."""
    zip_sizes, unique_share = _pair("zip_sizes", zip_sizes, "unique_share", unique_share)
    if theory_n is not None:
        theory_n, theory = _pair("theory_n", theory_n, "theory", theory)
    ax.scatter(zip_sizes, unique_share, s=10, color=PALETTE[0], alpha=0.7, label=tr("ZIP codes (synthetic)"))
    if theory_n is not None:
        ax.plot(theory_n, theory, color=PALETTE[1], lw=2, label=tr("expected share"))
    ax.set_xscale("log")
    ax.set_xlabel(tr("people in the ZIP code"))
    ax.set_ylabel(tr("share unique"))
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return ax


# --------------------------------------------------------------------------------------------
# 02-dp-from-scratch
# --------------------------------------------------------------------------------------------


def plot_noise_calibration(ax, calib):
    """Laplace release of a count on two neighbouring datasets (02, the calibration widget).

    The widget moves the same artists for each new setting with :func:`update_noise_calibration`.
    """
    _data("calib.density", _attribute("calib", calib, "density"))
    ax.plot(calib.x, calib.density, color=PALETTE[0], lw=2, label=_count_label(calib), gid="release")
    ax.plot(calib.x, calib.neighbour_density, color=PALETTE[1], lw=2, ls="--",
            label=_neighbour_label(calib), gid="neighbour")
    ax.axvspan(calib.true_count - calib.error_95, calib.true_count + calib.error_95, color=PALETTE[2], alpha=0.12,
               label=tr("95% of releases"), gid="release-95")
    ax.set_xlabel(tr("released value"))
    ax.set_ylabel(tr("density"))
    ax.set_title(_calibration_title(calib), fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def _count_label(calib) -> str:
    return tr("count = {count}").format(count=calib.true_count)


def _neighbour_label(calib) -> str:
    return tr("neighbour: count = {count} + {sensitivity:g}").format(count=calib.true_count,
                                                                      sensitivity=calib.sensitivity)


def _calibration_title(calib) -> str:
    return tr("Laplace, epsilon = {epsilon:g}, sensitivity = {sensitivity:g}").format(epsilon=calib.epsilon,
                                                                                      sensitivity=calib.sensitivity)


def update_noise_calibration(ax, calib):
    """Move the curves, the 95% band, the limits, title and legend of a :func:`plot_noise_calibration` figure.

    The result looks like a fresh :func:`plot_noise_calibration` of ``calib`` on new axes, without
    a new figure. Introduced in ``02-dp-from-scratch.ipynb`` (the calibration widget).
    """
    _data("calib.density", _attribute("calib", calib, "density"))
    drawn = {a.get_gid(): a for a in list(ax.lines) + list(ax.patches) if a.get_gid()}
    if not {"release", "neighbour", "release-95"} <= set(drawn):
        raise ValueError("ax must hold a plot_noise_calibration figure (draw it first)")
    neighbour, count = _neighbour_label(calib), _count_label(calib)
    # the legend's texts are the labels the curves had: find them by those, in any language
    old_neighbour, old_count = drawn["neighbour"].get_label(), drawn["release"].get_label()
    drawn["release"].set_data(calib.x, calib.density)
    drawn["release"].set_label(count)
    drawn["neighbour"].set_data(calib.x, calib.neighbour_density)
    drawn["neighbour"].set_label(neighbour)
    band = drawn["release-95"]
    band.set_x(calib.true_count - calib.error_95)
    band.set_width(2 * calib.error_95)
    ax.relim()
    ax.autoscale_view()
    ax.set_title(_calibration_title(calib), fontsize=10)
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            if text.get_text() == old_neighbour:
                text.set_text(neighbour)
            elif text.get_text() == old_count:
                text.set_text(count)
    return ax


def plot_log_ratio(ax, centres, log_ratios, epsilon, label="measured"):
    """Bin-by-bin log ratio of two output histograms, with the +/- epsilon band (02)."""
    # NaN in log_ratios marks a bin too sparse to measure (histogram_log_ratio): it is left out of the plot.
    centres = _data("centres", centres, allow_empty=True)
    log_ratios = _data("log_ratios", log_ratios, allow_empty=True, nan=True)
    v.same_length(centres=centres, log_ratios=log_ratios)
    epsilon = v.nonnegative("epsilon", epsilon)
    ax.axhspan(-epsilon, epsilon, color=PALETTE[2], alpha=0.12,
               label=tr("allowed: |log ratio| <= {epsilon:g}").format(epsilon=epsilon))
    ax.plot(centres, log_ratios, "o", ms=3, color=PALETTE[0], label=tr(label) if isinstance(label, str) else label)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel(tr("released value (bin centre)"))
    ax.set_ylabel(tr("log P[M(D) in bin] / P[M(D') in bin]"))
    ax.legend(loc="lower left", fontsize=8)
    return ax


# --------------------------------------------------------------------------------------------
# 03-gaussian-accounting
# --------------------------------------------------------------------------------------------


def plot_sigma_vs_epsilon(ax, epsilons, classic, analytic, delta):
    """Noise of the classic and analytic Gaussian mechanisms over epsilon (03)."""
    epsilons, classic = _pair("epsilons", epsilons, "classic", classic)
    analytic = _data("analytic", analytic)
    v.same_length(epsilons=epsilons, analytic=analytic)
    delta = v.probability("delta", delta)
    ax.plot(epsilons, analytic, color=PALETTE[0], lw=2, label=tr("analytic (Balle & Wang 2018)"))
    valid = epsilons < 1
    ax.plot(epsilons[valid], np.asarray(classic)[valid], color=PALETTE[1], lw=2, label=tr("classic, proof holds"))
    ax.plot(epsilons[~valid], np.asarray(classic)[~valid], color=PALETTE[3], lw=2, ls=":",
            label=tr("classic, no proof (epsilon >= 1)"))
    ax.axvline(1, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epsilon")
    ax.set_ylabel(tr("sigma (sensitivity 1)"))
    ax.set_title(f"delta = {delta:g}", fontsize=10)
    ax.legend(fontsize=8)
    return ax


def plot_composition(ax, ks, curves: Mapping[str, np.ndarray]):
    """Total epsilon of k releases under several composition methods (03)."""
    ks = _data("ks", ks)
    if not hasattr(curves, "items"):
        raise TypeError(f"curves must be a mapping from a method's name to its epsilons; got {v._got(curves)}")
    curves = {name: _data(f"curves[{name!r}]", eps) for name, eps in curves.items()}
    for name, eps in curves.items():
        if len(eps) != len(ks):
            raise ValueError(f"curves[{name!r}] must have one epsilon per k ({len(ks)}); got {len(eps)}")
    for i, (name, eps) in enumerate(curves.items()):
        ax.plot(ks, eps, lw=2, color=PALETTE[i % len(PALETTE)], label=tr(name) if isinstance(name, str) else name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(tr("number of releases k"))
    ax.set_ylabel(tr("total epsilon"))
    ax.legend(fontsize=8)
    return ax


def plot_epsilon_over_steps(ax, dashboard):
    """RDP epsilon over training steps, with the PLD value at the last step (03, the dashboard).

    The dashboard widget moves the same artists for each new setting with :func:`update_epsilon_over_steps`.
    """
    _data("dashboard.curve_rdp", _attribute("dashboard", dashboard, "curve_rdp"), infinite=True)
    ax.plot(dashboard.curve_steps, dashboard.curve_rdp, color=PALETTE[0], lw=2, label="RDP", gid="rdp")
    ax.plot([dashboard.steps], [dashboard.epsilon_pld], "s", color=PALETTE[1], label=tr("PLD (last step)"), gid="pld")
    ax.set_xscale("log")
    ax.set_xlabel(tr("steps"))
    ax.set_ylabel("epsilon")
    ax.set_title(_dashboard_title(dashboard), fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def _dashboard_title(dashboard) -> str:
    return (f"q = {dashboard.sampling_probability:.3g}, sigma = {dashboard.noise_multiplier:.3g}, "
            f"delta = {dashboard.delta:.0e}")


def update_epsilon_over_steps(ax, dashboard):
    """Move the RDP curve, the PLD point, the limits and the title of a :func:`plot_epsilon_over_steps` figure.

    The result looks like a fresh :func:`plot_epsilon_over_steps` of ``dashboard`` on new axes, without
    a new figure. Introduced in ``03-gaussian-accounting.ipynb`` (the dashboard widget).
    """
    _data("dashboard.curve_rdp", _attribute("dashboard", dashboard, "curve_rdp"), infinite=True)
    drawn = {a.get_gid(): a for a in ax.lines if a.get_gid()}
    if not {"rdp", "pld"} <= set(drawn):
        raise ValueError("ax must hold a plot_epsilon_over_steps figure (draw it first)")
    drawn["rdp"].set_data(dashboard.curve_steps, dashboard.curve_rdp)
    drawn["pld"].set_data([dashboard.steps], [dashboard.epsilon_pld])
    ax.relim()
    ax.autoscale_view()
    ax.set_title(_dashboard_title(dashboard), fontsize=10)
    return ax


# --------------------------------------------------------------------------------------------
# 04-dp-sgd
# --------------------------------------------------------------------------------------------


def plot_gradient_norms(ax, norms: np.ndarray, l2_norm_clip: float):
    """Histogram of per-example gradient norms with the clipping norm marked; returns ``ax``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    norms = _data("norms", norms)
    l2_norm_clip = v.positive("l2_norm_clip", l2_norm_clip)
    ax.hist(norms, bins=30, color=PALETTE[0], alpha=0.8)
    ax.axvline(l2_norm_clip, color=PALETTE[3], linestyle="--", label=tr("clip C = {clip:g}").format(clip=l2_norm_clip))
    share = float(np.mean(norms > l2_norm_clip))
    ax.set(xlabel=tr("per-example gradient norm"), ylabel=tr("examples"),
           title=tr("{percent:.0f}% of the batch is clipped").format(percent=100 * share))
    ax.legend()
    return ax


def plot_tradeoff(ax, sweep: dict, point=None, live: Sequence[tuple[float, float]] = ()):
    """Test accuracy over target epsilon: sweep means with +/- 1 sd bars, the non-private line,
    the selected :class:`labkit.dp.dpsgd.TradeoffPoint` (if any) and points trained live ``(eps, acc)``.

    The selected point and the live points can be moved afterwards with :func:`update_tradeoff`
    (the explorer redraws only those, which keeps a slider move fast).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    if not isinstance(sweep, Mapping) or not {"target_epsilon", "accuracy", "nonprivate_accuracy", "delta"} <= set(sweep):
        raise TypeError(f"sweep must be the dict of arrays load_tradeoff_sweep() returns; got {v._got(sweep)}")
    eps = _data("sweep['target_epsilon']", sweep["target_epsilon"])
    acc = np.asarray(sweep["accuracy"])
    ax.errorbar(eps, acc.mean(axis=1), yerr=acc.std(axis=1), color=PALETTE[0], marker="o", markersize=4,
                capsize=2, label=tr("DP-SGD, mean +/- sd over {seeds} seeds").format(seeds=acc.shape[1]))
    ref = float(np.mean(sweep["nonprivate_accuracy"]))
    ax.axhline(ref, color=PALETTE[7], linestyle=":", label=tr("non-private ({accuracy:.3f})").format(accuracy=ref))
    ax.plot([], [], color=PALETTE[3], linewidth=3, zorder=3, gid="selected-bar")
    ax.plot([], [], color=PALETTE[3], marker="D", markersize=8, linestyle="none", zorder=4, gid="selected",
            label=tr("selected epsilon"))
    # the live star above the diamond (a live point trained at the selected epsilon stays visible)
    ax.scatter([], [], color=PALETTE[1], edgecolors="black", linewidths=0.6, marker="*", s=170, zorder=6, gid="live",
               label=tr("trained live"))
    ax.set_xscale("log")
    ax.set_xticks([0.5, 1, 2, 4, 8, 16], labels=["0.5", "1", "2", "4", "8", "16"])
    ax.set(xlabel=tr("target epsilon (delta = {delta:g})").format(delta=float(sweep['delta'])),
           ylabel=tr("test accuracy"), ylim=(0, 1.02), xlim=(0.42, 19))
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
        ax.set_title(tr("epsilon = {epsilon:.2f}: noise multiplier {sigma:.2f}, accuracy {accuracy:.3f} +/- {sd:.3f} "
                        "(sd, {seeds} seeds)").format(epsilon=point.target_epsilon, sigma=point.noise_multiplier,
                                                      accuracy=point.accuracy, sd=(point.high - point.low) / 2,
                                                      seeds=point.num_seeds), fontsize=9)
    artists["live"].set_offsets(np.asarray(live, dtype=float).reshape(-1, 2))
    return ax


def plot_tuning(ax, tuning_slice, point=None, live: Sequence[tuple[float, float]] = (), ylim=None):
    """Test accuracy over batch size at one fixed epsilon, one line per epochs setting (+/- 1 standard error).

    ``tuning_slice`` is a :class:`labkit.dp.tuning.TuningSlice`; ``point`` a
    :class:`labkit.dp.tuning.TuningPoint` (the selected configuration, an open diamond with its
    standard-error bar); ``live`` points trained live ``(batch_size, accuracy)`` (stars drawn above
    the diamond, so a live point on the selected configuration stays visible). The explorer moves
    everything in place with :func:`update_tuning`. ``ylim`` fixes the y-range (default: fitted to
    what is shown).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from matplotlib.collections import LineCollection

    from labkit.dp.tuning import TuningSlice

    if not isinstance(tuning_slice, TuningSlice):
        raise TypeError(f"tuning_slice must be a TuningSlice (labkit.dp.tuning.tuning_slice); got {v._got(tuning_slice)}")
    batches = np.asarray(tuning_slice.batch_sizes, dtype=float)
    for i, ep in enumerate(tuning_slice.epochs):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(batches, tuning_slice.accuracy[i], color=color, marker="o", markersize=4, gid=f"epochs-{i}",
                label=tr("{epochs} epochs").format(epochs=ep))
        ax.add_collection(LineCollection([], colors=color, linewidths=1.5, gid=f"epochs-{i}-se"))
    ax.plot([], [], color=PALETTE[7], linewidth=2.5, gid="selected-bar")
    ax.plot([], [], marker="D", markersize=13, markerfacecolor="none", markeredgecolor="black", markeredgewidth=2,
            linestyle="none", zorder=4, gid="selected", label=tr("selected"))
    ax.scatter([], [], color=PALETTE[4], edgecolors="black", linewidths=0.5, marker="*", s=110, zorder=6, gid="live",
               label=tr("trained live"))
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches, labels=[str(int(b)) for b in batches])
    ax.minorticks_off()
    ax.set(xlabel=tr("expected batch size (Poisson)"), ylabel=tr("test accuracy"),
           xlim=(batches[0] / 1.4, batches[-1] * 1.4))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    update_tuning(ax, tuning_slice, point, live, ylim)
    return ax


def update_tuning(ax, tuning_slice, point=None, live: Sequence[tuple[float, float]] = (), ylim=None):
    """Move the lines, error bars, selected point, live points, y-range and title of a :func:`plot_tuning` figure.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    artists = {a.get_gid(): a for a in list(ax.lines) + list(ax.collections) if a.get_gid()}
    batches = np.asarray(tuning_slice.batch_sizes, dtype=float)
    acc, se = np.asarray(tuning_slice.accuracy, dtype=float), np.nan_to_num(np.asarray(tuning_slice.stderr, dtype=float))
    for i in range(len(tuning_slice.epochs)):
        artists[f"epochs-{i}"].set_data(batches, acc[i])
        artists[f"epochs-{i}-se"].set_segments([[(b, m - s), (b, m + s)] for b, m, s in zip(batches, acc[i], se[i])
                                                if math.isfinite(m)])
    shown = [a for a in acc.ravel() if math.isfinite(a)]
    pts = np.asarray(live, dtype=float).reshape(-1, 2)
    shown += [a for a in pts[:, 1]]
    if point is not None and math.isfinite(point.accuracy):
        shown.append(point.accuracy)
    if ylim is None:
        low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
        ylim = (max(0.0, low - 0.04), min(1.02, high + 0.03))
    ax.set_ylim(*ylim)
    if point is None or not math.isfinite(point.accuracy):
        artists["selected"].set_data([], [])
        artists["selected-bar"].set_data([], [])
    else:
        s = 0.0 if not math.isfinite(point.stderr) else point.stderr
        artists["selected"].set_data([point.batch_size], [point.accuracy])
        artists["selected-bar"].set_data([point.batch_size] * 2, [point.accuracy - s, point.accuracy + s])
    artists["live"].set_offsets(pts)
    if tuning_slice.best_step:
        title = tr("epsilon = {epsilon:g}, clip {clip:g}, best step size per point (mean +/- 1 standard error over "
                   "seeds)").format(epsilon=tuning_slice.target_epsilon, clip=tuning_slice.l2_norm_clip)
    else:
        title = tr("epsilon = {epsilon:g}, clip {clip:g}, step size {step:g} (mean +/- 1 standard error over "
                   "seeds)").format(epsilon=tuning_slice.target_epsilon, clip=tuning_slice.l2_norm_clip,
                                    step=float(tuning_slice.step_size.flat[0]))
    ax.set_title(title, fontsize=9)
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
    if epsilon is not None:
        epsilon = v.nonnegative("epsilon", epsilon, finite=False)
    delta = v.probability("delta", delta, zero=True)
    if isinstance(results, (str, bytes)) or not hasattr(results, "__iter__") or \
            not all(hasattr(r, "fpr") for r in results):
        raise TypeError(f"results must be a sequence of AttackResult objects; got {v._got(results)}")
    grid = np.logspace(-4, 0, 200)
    ax.plot(grid, grid, color=PALETTE[7], linestyle=":", label=tr("guessing"))
    if epsilon is not None and math.isfinite(epsilon):
        ax.plot(grid, dp_tpr_bound(grid, epsilon, delta), color=PALETTE[3], linestyle="--",
                label=tr("({epsilon:g}, {delta:g})-DP limit").format(epsilon=epsilon, delta=delta))
    for i, r in enumerate(results):
        name = tr(r.name) if isinstance(r.name, str) else r.name
        ax.plot(np.maximum(r.fpr, 1e-4), np.maximum(r.tpr, 1e-4), color=PALETTE[i % 6],
                label=tr("{name}\nAUC {auc:.3f}, 95% CI [{low:.3f}, {high:.3f}]; TPR@1% {tpr:.3f}").format(
                    name=name, auc=r.auc, low=r.auc_low, high=r.auc_high, tpr=r.tpr_at_1pct))
    ax.set(xscale="log", yscale="log", xlim=(1e-4, 1), ylim=(1e-4, 1.05), xlabel=tr("false-positive rate"),
           ylabel=tr("true-positive rate"), title=tr(title) if isinstance(title, str) else title)
    ax.legend(loc="lower right", fontsize=7)
    return ax


def plot_epsilon_bounds(ax, labels: Sequence[str], upper: Sequence[float], lower: Sequence[float],
                        point: Sequence[float] | None = None):
    """Proven upper bound (the accountant) and measured lower bound (the audit) of each model, side by side.

    Introduced in ``05-auditing.ipynb``.
    """
    upper = _data("upper", upper, infinite=True)  # inf: no finite proven bound ("none")
    lower = _data("lower", lower)
    v.same_length(labels=labels, upper=upper, lower=lower)
    if point is not None:
        point = _data("point", point, infinite=True)
        v.same_length(labels=labels, point=point)
    x = np.arange(len(labels))
    up = np.array([u if math.isfinite(u) else np.nan for u in upper])
    ax.bar(x - 0.2, np.nan_to_num(up, nan=0.0), width=0.4, color=PALETTE[0], label=tr("proven upper bound (RDP)"))
    for xi, u in zip(x, up):
        if np.isnan(u):
            ax.text(xi - 0.2, 0.3, tr("none"), ha="center", fontsize=8, color=PALETTE[0])
    ax.bar(x + 0.2, lower, width=0.4, color=PALETTE[1],
           label=tr("audit lower bound (95%, nominal: guesses not independent)"))
    if point is not None:
        ax.scatter(x + 0.2, np.minimum(point, 20), color=PALETTE[3], marker="_", s=200, zorder=3,
                   label=tr("audit point estimate (capped at 20)"))
    ax.set_xticks(x, labels=[tr(s) if isinstance(s, str) else s for s in labels])
    ax.set(ylabel="epsilon", xlabel=tr("model"))
    ax.legend(fontsize=8)
    return ax



# --------------------------------------------------------------------------------------------
# 05-auditing: the white-box canary audit of one DP-SGD step
# --------------------------------------------------------------------------------------------


def plot_canary_scores(ax, scores_in, scores_out, threshold: float | None = None, *, title: str = ""):
    """Histograms of the adversary's scores with the canary and without (log density, so that the tail
    where the threshold sits is visible), and the audit's threshold.

    Called again on an ax it has drawn on, it moves its histograms, threshold and axis limits in
    place instead of drawing new ones (what :func:`labkit.dp.widgets.canary_audit_widget` does on a
    slider move: no new figure, no new layout).

    Introduced in ``05-auditing.ipynb`` (also drawn by :func:`labkit.dp.widgets.canary_audit_widget`).
    """
    s_in, s_out = _data("scores_in", scores_in), _data("scores_out", scores_out)
    if threshold is not None:
        threshold = v.real("threshold", threshold)
    if not isinstance(title, str):
        raise TypeError(f"title must be a string; got {v._got(title)}")
    lo = float(min(np.quantile(s_in, 0.0005), np.quantile(s_out, 0.0005)))
    hi = float(max(np.quantile(s_in, 0.9995), np.quantile(s_out, 0.9995)))
    if threshold is not None:
        hi = max(hi, threshold + 0.05 * (hi - lo))
    if hi <= lo:
        hi = lo + 1.0
    bins = np.linspace(lo, hi, 80)
    dens_out = np.histogram(s_out, bins=bins, density=True)[0]
    dens_in = np.histogram(s_in, bins=bins, density=True)[0]
    positive = np.r_[dens_out, dens_in]
    positive = positive[positive > 0]
    ylim = (float(positive.min()) / 2, float(positive.max()) * 2) if positive.size else (1e-3, 1.0)
    label = tr("threshold {threshold:.2f}").format(threshold=threshold) if threshold is not None else ""
    drawn = {a.get_gid(): a for a in list(ax.patches) + list(ax.lines) if a.get_gid()}
    if "canary-out" in drawn and "canary-in" in drawn:  # an update of a figure this function drew
        drawn["canary-out"].set_data(dens_out, bins)
        drawn["canary-in"].set_data(dens_in, bins)
        line = drawn.get("canary-threshold")
        if line is not None and threshold is not None:
            old = line.get_label()  # the legend's text for the threshold, in any language
            line.set_xdata([threshold, threshold])
            line.set_label(label)
            legend = ax.get_legend()
            if legend is not None:
                for text in legend.get_texts():
                    if text.get_text() == old:
                        text.set_text(label)
        ax.set_xlim(lo, hi)
        ax.set_ylim(*ylim)
        if title:
            ax.set_title(tr(title))
        return ax
    ax.stairs(dens_out, bins, fill=True, color=PALETTE[0], alpha=0.6, label=tr("canary out"), gid="canary-out")
    ax.stairs(dens_in, bins, fill=True, color=PALETTE[1], alpha=0.6, label=tr("canary in"), gid="canary-in")
    if threshold is not None:
        ax.axvline(threshold, color=PALETTE[3], linestyle="--", label=label, gid="canary-threshold")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(*ylim)
    ax.set(xlabel=tr("score: projection of the update on the canary, in units of C"),
           ylabel=tr("density (log scale)"), title=tr(title))
    ax.legend(fontsize=8)
    return ax


def plot_canary_bounds(ax, noise_multipliers, accountant, lower, *, broken_lower=None, broken_true=None,
                       claimed: float | None = None):
    """The canary audit's lower bound against the accountant's epsilon, over noise multipliers (log y).

    ``broken_lower`` (optional) is the audit of the broken step at the same noise multipliers and
    ``broken_true`` (optional) that step's true epsilon; ``claimed`` draws a horizontal line at an
    epsilon someone claimed.

    Introduced in ``05-auditing.ipynb``.
    """
    sig, acc = _pair("noise_multipliers", noise_multipliers, "accountant", accountant)
    low = _data("lower", lower)
    v.same_length(noise_multipliers=sig, lower=low)
    ax.plot(sig, acc, color=PALETTE[0], marker="o", label=tr("accountant (exact, one Gaussian step)"))
    ax.plot(sig, low, color=PALETTE[1], marker="s", label=tr("canary audit, correct step (95% lower bound)"))
    ax.fill_between(sig, 0.7 * acc, acc, color=PALETTE[0], alpha=0.15, label=tr("within 30% of the accountant"))
    if broken_lower is not None:
        brk = _data("broken_lower", broken_lower)
        v.same_length(noise_multipliers=sig, broken_lower=brk)
        ax.plot(sig, brk, color=PALETTE[3], marker="^", label=tr("canary audit, broken step (95% lower bound)"))
    if broken_true is not None:
        true = _data("broken_true", broken_true)
        v.same_length(noise_multipliers=sig, broken_true=true)
        ax.plot(sig, true, color=PALETTE[3], linestyle=":", label=tr("broken step, true epsilon"))
    if claimed is not None:
        claimed = v.positive("claimed", claimed)
        ax.axhline(claimed, color=PALETTE[7], linestyle=":", label=tr("claimed epsilon {epsilon:g}").format(epsilon=claimed))
    ax.set(yscale="log", xlabel=tr("noise multiplier sigma"), ylabel="epsilon",
           title=tr("audit of one step vs the accountant"))
    top = max(float(np.max(line.get_ydata())) for line in ax.lines if len(line.get_ydata()))
    ax.set_ylim(top=top * 20)  # room above the curves for the legend
    ax.legend(fontsize=7, loc="upper right")
    return ax


# --------------------------------------------------------------------------------------------
# 01-deidentification and 02-dp-from-scratch: attacks on aggregates (labkit.dp.reconstruction)
# --------------------------------------------------------------------------------------------


def _seeds_by_x(name: str, value, length: int) -> np.ndarray:
    arr = v.finite_array(name, value, ndim=2)
    if arr.shape[1] != length or arr.shape[0] < 2:
        raise ValueError(f"{name} must have shape (seeds >= 2, {length}); got {arr.shape}")
    return arr


def _mean_band(ax, x, shares: np.ndarray, color: str, label: str, marker: str = ""):
    mean, sd = shares.mean(axis=0), shares.std(axis=0, ddof=1)
    ax.plot(x, mean, marker or "-", color=color, lw=2, ms=4,
            label=tr("{label} (mean, band: +/- 1 sd over {seeds} seeds)").format(label=tr(label), seeds=shares.shape[0]))
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.18, lw=0)


def plot_differencing(ax, epsilons, success, bound, sim_epsilons=None, simulated=None, standard_errors=None):
    """The differencing attack's success against epsilon per count, beside the bound e^eps / (1 + e^eps) (02).

    ``sim_epsilons``, ``simulated`` and ``standard_errors`` (optional, together) add simulated shares
    with 95% error bars (+/- 1.96 standard errors).
    """
    epsilons, success = _pair("epsilons", epsilons, "success", success)
    _, bound = _pair("epsilons", epsilons, "bound", bound)
    if np.any(epsilons <= 0):
        raise ValueError("epsilons must all be > 0 (the x axis is logarithmic)")
    ax.plot(epsilons, bound, color=PALETTE[1], lw=2, ls="--", label=tr("epsilon-DP bound e^eps / (1 + e^eps)"))
    ax.plot(epsilons, success, color=PALETTE[0], lw=2, label=tr("attack: exact success probability"))
    if simulated is not None or sim_epsilons is not None or standard_errors is not None:
        if simulated is None or sim_epsilons is None or standard_errors is None:
            raise ValueError("sim_epsilons, simulated and standard_errors must be given together")
        sx, sy = _pair("sim_epsilons", sim_epsilons, "simulated", simulated)
        _, se = _pair("sim_epsilons", sim_epsilons, "standard_errors", standard_errors)
        ax.errorbar(sx, sy, yerr=1.96 * se, fmt="o", ms=4, color=PALETTE[2], label=tr("simulated (95% error bars)"))
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":", label=tr("coin flip"))
    ax.set_xscale("log")
    ax.set_xlabel(tr("epsilon of each count (Laplace scale b = 1 / epsilon)"))
    ax.set_ylabel(tr("chance the guess is right"))
    ax.set_ylim(0.45, 1.02)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_recovery_vs_queries(ax, num_queries, shares: Mapping[str, np.ndarray], majority, num_people: int):
    """Share of bits recovered from exact subset sums against the number of queries, per attack (01).

    ``shares`` maps an attack's name to an array of shape (seeds, len(num_queries)); ``majority`` holds
    the majority-guess share of each seed.
    """
    x = _data("num_queries", num_queries)
    majority = _data("majority", majority)
    n = v.count("num_people", num_people, maximum=10**6)
    if not isinstance(shares, Mapping):
        raise TypeError(f"shares must be a dict of attack name -> array (seeds, len(num_queries)); got {v._got(shares)}")
    if not shares:
        raise ValueError("shares must name at least one attack")
    ax.axhspan(majority.mean() - majority.std(ddof=1), majority.mean() + majority.std(ddof=1), color="0.6", alpha=0.25,
               label=tr("guess the majority (+/- 1 sd)"))
    for i, (label, arr) in enumerate(shares.items()):
        _mean_band(ax, x, _seeds_by_x(f"shares[{label!r}]", arr, x.size), PALETTE[i % len(PALETTE)], label, "o-")
    ax.axvline(n, color="0.3", lw=0.8, ls=":", label=f"m = n = {n}")
    ax.set_xlabel(tr("number of subset-sum queries m (exact answers)"))
    ax.set_ylabel(tr("share of bits recovered"))
    ax.set_ylim(0.3, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_reconstruction(ax, curve, point=None, lp_scales=None, lp_recovered=None):
    """Share of bits recovered against the Laplace scale b, with the epsilon m / b on the top axis (02).

    ``curve`` is a :func:`labkit.dp.reconstruction.reconstruction_curve` result (least squares);
    ``point`` (optional) a :func:`~labkit.dp.reconstruction.reconstruction_point`, marked; ``lp_scales``
    and ``lp_recovered`` (optional, shape (seeds, scales)) add the linear programme's shares.
    Also drawn by the reconstruction widget.
    """
    scales = _data("curve.noise_scales", _attribute("curve", curve, "noise_scales"))
    if np.any(scales <= 0):
        raise ValueError("curve.noise_scales must all be > 0 (the x axis is logarithmic)")
    recovered = _seeds_by_x("curve.recovered", curve.recovered, scales.size)
    majority = _data("curve.majority", curve.majority)
    m, n = curve.num_queries, curve.num_people
    ax.axhspan(majority.mean() - majority.std(ddof=1), majority.mean() + majority.std(ddof=1), color="0.6", alpha=0.25,
               label=tr("guess the majority (+/- 1 sd)"))
    _mean_band(ax, scales, recovered, PALETTE[0], N_("least squares"))
    if lp_scales is not None or lp_recovered is not None:
        if lp_scales is None or lp_recovered is None:
            raise ValueError("lp_scales and lp_recovered must be given together")
        lx = _data("lp_scales", lp_scales)
        lp = _seeds_by_x("lp_recovered", lp_recovered, lx.size)
        ax.errorbar(lx, lp.mean(axis=0), yerr=lp.std(axis=0, ddof=1), fmt="s", ms=4, capsize=2, color=PALETTE[1],
                    label=tr("linear programme (mean +/- 1 sd)"))
    ax.axvline(math.sqrt(n), color="0.3", lw=0.8, ls=":", label=f"b = sqrt(n) = {math.sqrt(n):.3g}")
    if point is not None:
        b = v.positive("point.noise_scale", _attribute("point", point, "noise_scale"))
        ax.plot([b], [point.mean], "D", ms=8, color=PALETTE[3], gid="selected", label=tr("selected setting (mean)"))
    ax.set_xscale("log")
    ax.set_xlabel(tr("Laplace scale b of each answer"))
    ax.set_ylabel(tr("share of bits recovered"))
    ax.set_ylim(0.3, 1.02)
    top = ax.secondary_xaxis("top", functions=(lambda b: m / np.maximum(b, 1e-12), lambda e: m / np.maximum(e, 1e-12)))
    top.set_xlabel(tr("epsilon spent on the {m} answers (basic composition m / b, an upper bound)").format(m=m),
                   fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    return ax
