"""Figures for ``09-secure-computation.ipynb``: share histograms, coalition views, secure-aggregation costs.

Every helper takes a Matplotlib ``ax`` and returns it; colours come from :data:`labkit.style.PALETTE`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit import _validate
from labkit.style import PALETTE

MAX_BINS = 10_000


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
    ax.hist(u, bins=bins, range=(0, 1), color=color or PALETTE[0], alpha=0.8, label=label or None)
    ax.axhline(len(u) / bins, color=PALETTE[7], lw=1, ls="--", label="uniform")
    ax.set_xlabel("share / 2^64")
    ax.set_ylabel("count")
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
    ax.axhline(view.secret, color=PALETTE[7], lw=1, ls="--", label=f"secret = {view.secret}")
    ax.set_xticks(xs, [f"P{i}" for i in range(view.n_parties)])
    ax.set_ylim(0, view.prime)
    verdict = "recovers" if view.shamir_recovers else "learns nothing"
    ax.set_title(f"Shamir {view.threshold}-of-{view.n_parties} mod {view.prime}: coalition of {len(view.coalition)} {verdict}")
    ax.set_ylabel("share f(i)")
    ax.legend(loc="upper right")
    return ax


def plot_secagg_cost(ax, n_clients: Sequence[int], all_pairs: Sequence[float], graph: Sequence[float], *,
                     k: int, ylabel: str = "masks expanded per round"):
    """Cost of secure aggregation against the number of clients: all pairs vs a k-neighbour graph.

    Introduced in ``09-secure-computation.ipynb``.
    """
    n_clients = _validate.finite_array("n_clients", n_clients, ndim=1)
    all_pairs = _validate.finite_array("all_pairs", all_pairs, ndim=1)
    graph = _validate.finite_array("graph", graph, ndim=1)
    _validate.same_length(n_clients=n_clients, all_pairs=all_pairs, graph=graph)
    k = _validate.count("k", k, minimum=2, maximum=1_000_000)
    ax.plot(n_clients, all_pairs, "o-", color=PALETTE[0], label="all pairs (Bonawitz et al. 2017)")
    ax.plot(n_clients, graph, "s-", color=PALETTE[1], label=f"{k} neighbours (SecAgg+)")
    ax.set_xlabel("clients")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_fixed_point_error(ax, frac_bits: Sequence[int], errors: Sequence[float]):
    """Largest error of a fixed-point product against the fractional bits, with the 2^-f line.

    Introduced in ``09-secure-computation.ipynb``.
    """
    f = _validate.finite_array("frac_bits", frac_bits, ndim=1)
    errors = _validate.finite_array("errors", errors, ndim=1)
    _validate.same_length(frac_bits=f, errors=errors)
    ax.semilogy(f, errors, "o-", color=PALETTE[0], label="measured max |error|")
    ax.semilogy(f, 2.0 ** -f, "--", color=PALETTE[7], label="2^-f")
    ax.set_xlabel("fractional bits f")
    ax.set_ylabel("absolute error")
    ax.legend()
    return ax
