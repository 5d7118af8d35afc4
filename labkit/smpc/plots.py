"""Figures for ``09-secure-computation.ipynb``: share histograms, coalition views, secure-aggregation costs.

Every helper takes a Matplotlib ``ax`` and returns it; colours come from :data:`labkit.style.PALETTE`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit.style import PALETTE


def plot_share_histogram(ax, values: np.ndarray, *, bins: int = 16, label: str = "", color: str | None = None):
    """Histogram of ring elements (``uint64``) scaled to [0, 1), with the uniform level as a line.

    Introduced in ``09-secure-computation.ipynb``.
    """
    u = np.asarray(values, dtype=np.uint64).astype(np.float64) / 2.0**64
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
    f = np.asarray(frac_bits)
    ax.semilogy(f, errors, "o-", color=PALETTE[0], label="measured max |error|")
    ax.semilogy(f, 2.0 ** -f, "--", color=PALETTE[7], label="2^-f")
    ax.set_xlabel("fractional bits f")
    ax.set_ylabel("absolute error")
    ax.legend()
    return ax
