"""Figures for ``09-secure-computation.ipynb``: share histograms, coalition views, secure-aggregation costs.

Every helper takes a Matplotlib ``ax`` and returns it; colours come from :data:`labkit.style.PALETTE`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit import _validate
from labkit.i18n import N_, tr
from labkit.style import PALETTE

MAX_BINS = 10_000
# Labels and titles notebook 09's own code passes to these plots (its code cells are the same in both
# editions), marked here so that the Chinese edition's figures show them in Chinese.
_NOTEBOOK_LABELS: tuple[str, ...] = (
    N_("secret 0"), N_("secret 1000000"), N_("y_0 as the server sees it"),
    N_("one operation, 64 entries"), N_("64-16-10 network, 8 digits"),
)


def plot_share_histogram(ax, values: np.ndarray, *, bins: int = 16, label: str = "", color: str | None = None):
    """Histogram of ring elements (``uint64``) scaled to [0, 1), with the uniform level as a line.

    Introduced in ``09-secure-computation.ipynb``.
    """
    from labkit.smpc.ring import ring_array

    arr = ring_array("values", values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array of ring elements; got shape {arr.shape}")
    bins = _validate.count("bins", bins, maximum=MAX_BINS)
    u = arr.astype(np.float64) / 2.0**64
    ax.hist(u, bins=bins, range=(0, 1), color=color or PALETTE[0], alpha=0.8, label=tr(label) or None)
    ax.axhline(len(u) / bins, color=PALETTE[7], lw=1, ls="--", label=tr("uniform"))
    ax.set_xlabel(tr("share / 2^64"))
    ax.set_ylabel(tr("count"))
    ax.legend(loc="lower right")
    return ax


def plot_coalition(ax, view):
    """Shares of one secret under Shamir sharing, the coalition's highlighted (a :class:`CoalitionView`).

    Introduced in ``09-secure-computation.ipynb``.
    """
    from labkit.smpc.coalition import CoalitionView

    if not isinstance(view, CoalitionView):
        raise TypeError(f"view must be a CoalitionView (see coalition_view); got {type(view).__name__}")
    xs = [x for x, _ in view.shamir_points]
    ys = [y for _, y in view.shamir_points]
    colours = [PALETTE[3] if i in view.coalition else PALETTE[5] for i in range(view.n_parties)]
    ax.bar(xs, ys, color=colours)
    ax.axhline(view.secret, color=PALETTE[7], lw=1, ls="--", label=tr("secret = {secret}").format(secret=view.secret))
    ax.set_xticks(xs, [f"P{i}" for i in range(view.n_parties)])
    ax.set_ylim(0, view.prime)
    title = (tr("Shamir {t}-of-{n} mod {p}: coalition of {c} recovers") if view.shamir_recovers else
             tr("Shamir {t}-of-{n} mod {p}: coalition of {c} learns nothing"))
    ax.set_title(title.format(t=view.threshold, n=view.n_parties, p=view.prime, c=len(view.coalition)))
    ax.set_ylabel(tr("share f(i)"))
    ax.legend(loc="upper right")
    return ax


def plot_candidate_curves(ax, curves):
    """Each candidate secret's polynomial over the field, through the colluders' points (a :class:`CandidateCurves`).

    Over a prime field a polynomial is a set of points, one per x = 0..n: each candidate's values
    are drawn as points joined by thin lines (the lines only guide the eye). A candidate whose
    polynomial misses a colluder's point is drawn dashed and faded. The colluders' shares are black
    squares; the other parties' shares, which the colluders do not see, are open grey circles.

    Introduced in ``09-secure-computation.ipynb``.
    """
    from labkit.smpc.coalition import CandidateCurves

    if not isinstance(curves, CandidateCurves):
        raise TypeError(f"curves must be a CandidateCurves (see candidate_curves); got {type(curves).__name__}")
    artists = _candidate_artists(ax, len(curves.candidates))
    handles, title = _update_candidate_artists(ax, artists, curves)
    _set_candidate_axes(ax, curves.n_parties, curves.prime)
    ax.set_title(title)
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    return ax


def _candidate_artists(ax, n_candidates: int) -> dict:
    """The empty artists of :func:`plot_candidate_curves` (one line per candidate, then the unseen and
    the held shares), for :func:`_update_candidate_artists` to fill; the coalition widget keeps them
    and updates them in place.

    Introduced in ``09-secure-computation.ipynb``.
    """
    colours = [c for c in PALETTE if c not in ("#000000", "#F0E442")]  # black marks the shares; yellow is faint
    lines = [ax.plot([], [], color=colours[k % len(colours)], marker="o", ms=4)[0] for k in range(n_candidates)]
    honest = ax.plot([], [], "o", ms=10, mfc="none", mec=PALETTE[7], alpha=0.4, label=tr("others' shares (unseen)"))[0]
    held = ax.plot([], [], "s", ms=8, color=PALETTE[7], label=tr("colluders' shares"))[0]
    return {"curves": lines, "honest": honest, "held": held}


def _update_candidate_artists(ax, artists: dict, curves) -> tuple[list, str]:
    """Set :func:`_candidate_artists`' data and styles for ``curves`` (the axes: :func:`_set_candidate_axes`).

    Returns the legend handles (the candidates, then the share markers that have points) and the
    title; the caller draws them (the widget keeps its own title and legend artists).

    Introduced in ``09-secure-computation.ipynb``.
    """
    n, p = curves.n_parties, curves.prime
    if len(artists["curves"]) != len(curves.candidates):
        raise ValueError(f"artists must hold one line per candidate ({len(curves.candidates)}); "
                         f"got {len(artists['curves'])}")
    xs = list(range(n + 1))
    handles = []
    for line, s, values, fits in zip(artists["curves"], curves.candidates, curves.curves, curves.fits):
        line.set_data(xs, values)
        line.set_linestyle("-" if fits else "--")
        line.set_linewidth(0.9 if fits else 0.7)
        line.set_alpha(0.9 if fits else 0.35)
        if s == curves.secret:
            label = tr("s = {s} (true)") if fits else tr("s = {s} (true): misses a colluder")
        else:
            label = "s = {s}" if fits else tr("s = {s}: misses a colluder")
        line.set_label(label.format(s=s))
        handles.append(line)
    honest = [pt for i, pt in enumerate(curves.shamir_points) if i not in curves.coalition]
    held = [curves.shamir_points[i] for i in curves.coalition]
    for line, pts in ((artists["honest"], honest), (artists["held"], held)):
        line.set_data([x for x, _ in pts], [y for _, y in pts])
        if pts:
            handles.append(line)
    c, t = len(curves.coalition), curves.threshold
    return handles, tr("Shamir {t}-of-{n} mod {p}, {c} colluder(s): {k} of {p} secrets fit").format(
        t=t, n=n, p=p, c=c, k=len(curves.consistent))


def _set_candidate_axes(ax, n_parties: int, prime: int) -> None:
    """The x ticks (the secret, then P0..P{n-1}), the x range autoscaling gives x = 0..n, and the y range."""
    xs = list(range(n_parties + 1))
    ax.set_xticks(xs, [tr("secret")] + [f"P{i}" for i in range(n_parties)])
    ax.relim()
    ax.autoscale_view(scaley=False)
    ax.set_ylim(-2, prime + 1)
    ax.set_ylabel(tr("value mod {prime}").format(prime=prime))


def plot_secagg_cost(ax, n_clients: Sequence[int], all_pairs: Sequence[float], graph: Sequence[float], *,
                     k: int, ylabel: str = N_("masks expanded per round")):
    """Cost of secure aggregation against the number of clients: all pairs vs a k-neighbour graph.

    Introduced in ``09-secure-computation.ipynb``.
    """
    n_clients = _validate.finite_array("n_clients", n_clients, ndim=1)
    all_pairs = _validate.finite_array("all_pairs", all_pairs, ndim=1)
    graph = _validate.finite_array("graph", graph, ndim=1)
    _validate.same_length(n_clients=n_clients, all_pairs=all_pairs, graph=graph)
    k = _validate.count("k", k, minimum=2, maximum=1_000_000)
    ax.plot(n_clients, all_pairs, "o-", color=PALETTE[0], label=tr("all pairs (Bonawitz et al. 2017)"))
    ax.plot(n_clients, graph, "s-", color=PALETTE[1], label=tr("{k} neighbours (SecAgg+)").format(k=k))
    ax.set_xlabel(tr("clients"))
    ax.set_ylabel(tr(ylabel))
    ax.legend()
    return ax


def plot_fixed_point_error(ax, frac_bits: Sequence[int], errors: Sequence[float]):
    """Largest error of a fixed-point product against the fractional bits, with the 2^-f line.

    Introduced in ``09-secure-computation.ipynb``.
    """
    f = _validate.finite_array("frac_bits", frac_bits, ndim=1)
    errors = _validate.finite_array("errors", errors, ndim=1)
    _validate.same_length(frac_bits=f, errors=errors)
    ax.semilogy(f, errors, "o-", color=PALETTE[0], label=tr("measured max |error|"))
    ax.semilogy(f, 2.0 ** -f, "--", color=PALETTE[7], label="2^-f")
    ax.set_xlabel(tr("fractional bits f"))
    ax.set_ylabel(tr("absolute error"))
    ax.legend()
    return ax


def plot_mpyc_costs(ax, labels: Sequence[str], seconds: Sequence[float], rounds: Sequence[float], *,
                    title: str = ""):
    """Horizontal bars of median time per step (log scale), each labelled with its rounds.

    ``labels``, ``seconds`` (> 0) and ``rounds`` (>= 0) hold one entry per operation or layer (from
    :func:`labkit.smpc.comparison.mpyc_operation_costs` or :func:`~labkit.smpc.comparison.mpyc_mlp_inference`).

    Introduced in ``09-secure-computation.ipynb``.
    """
    if isinstance(labels, str) or not hasattr(labels, "__iter__") or not all(isinstance(s, str) for s in labels):
        raise TypeError(f"labels must be a list of strings; got {labels!r}")
    secs = _validate.finite_array("seconds", seconds, ndim=1)
    rnds = _validate.finite_array("rounds", rounds, ndim=1)
    labels = list(labels)
    if not (len(labels) == secs.size == rnds.size) or secs.size == 0:
        raise ValueError(f"labels, seconds and rounds must have one entry per step (at least one); "
                         f"got {len(labels)}, {secs.size} and {rnds.size}")
    if np.any(secs <= 0) or np.any(rnds < 0):
        raise ValueError(f"seconds must be > 0 and rounds >= 0; got {secs.tolist()} and {rnds.tolist()}")
    y = np.arange(secs.size)[::-1]
    ax.barh(y, secs * 1e3, color=[PALETTE[i % len(PALETTE)] for i in range(secs.size)], alpha=0.85)
    ax.set_xscale("log")
    ax.set_yticks(y, [tr(label) for label in labels])
    for yi, s, r in zip(y, secs, rnds):
        text = tr("{rounds:.0f} round") if round(r) == 1 else tr("{rounds:.0f} rounds")
        ax.text(s * 1e3 * 1.15, yi, text.format(rounds=r), va="center", fontsize=9)
    ax.set_xlim(secs.min() * 1e3 / 2, secs.max() * 1e3 * 12)
    ax.set_xlabel(tr("median time (ms, log scale)"))
    if title:
        ax.set_title(tr(title))
    return ax
