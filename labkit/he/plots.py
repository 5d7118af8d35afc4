"""Figures for ``08-homomorphic-encryption.ipynb``: the polynomial sigmoid and the CKKS modulus budget.

Every helper takes a Matplotlib ``ax``, draws, and returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit.style import PALETTE

if TYPE_CHECKING:  # pragma: no cover
    from labkit.he.ckks import CkksReport


def plot_sigmoid_approximation(ax, coef: Sequence[float], bound: float, logits: np.ndarray | None = None, *,
                               error: bool = False):
    """The sigmoid and its polynomial approximation (or, with ``error=True``, their absolute difference).

    Args:
        ax: the Matplotlib axes.
        coef: polynomial coefficients from the constant term up (:func:`labkit.he.ckks.fit_sigmoid_polynomial`).
        bound: the fitting interval [-bound, bound], shaded.
        logits: optional logits to mark along the horizontal axis (e.g. the test set's).
        error: plot |polynomial - sigmoid| on a log scale instead of both curves.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    coef = v.finite_array("coef", coef, ndim=1)
    from labkit.he.ckks import MAX_SIGMOID_BOUND

    bound = v.real("bound", bound, low=0.0, high=MAX_SIGMOID_BOUND, low_open=True)
    if logits is not None:
        logits = v.finite_array("logits", logits, ndim=1)
    z = np.linspace(-1.5 * bound, 1.5 * bound, 601)
    exact = 1.0 / (1.0 + np.exp(-z))
    approx = np.polynomial.polynomial.polyval(z, coef)
    ax.axvspan(-bound, bound, color=PALETTE[5], alpha=0.12, label=tr("fit interval [-{bound:g}, {bound:g}]").format(bound=bound))
    if error:
        ax.semilogy(z, np.abs(approx - exact) + 1e-12, color=PALETTE[3],
                    label=tr("|degree-{degree} poly - sigmoid|").format(degree=len(coef) - 1))
        ax.set_ylabel(tr("absolute error"))
        ax.set_ylim(1e-4, 10)
    else:
        ax.plot(z, exact, color=PALETTE[0], label="sigmoid")
        ax.plot(z, approx, color=PALETTE[1], linestyle="--",
                label=tr("degree-{degree} polynomial").format(degree=len(coef) - 1))
        ax.set_ylim(-0.5, 1.5)
        ax.set_ylabel(tr("probability"))
    if logits is not None:
        lo, hi = ax.get_ylim()
        ymark = lo * 1.5 if error else lo + 0.05 * (hi - lo)
        ax.plot(logits, np.full(len(logits), ymark), "|", color=PALETTE[7], alpha=0.5, markersize=10,
                label=tr("test-set logits"))
    ax.set_xlabel(tr("logit z = w.x + b"))
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_modulus_budget(ax, report: "CkksReport"):
    """The coefficient modulus as stacked primes (data primes, then the special prime) against the
    128-bit-security limit for N, with the scale marked on each middle prime.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    from labkit.he.ckks import CkksReport

    if not isinstance(report, CkksReport):
        raise TypeError(f"report must be a CkksReport (see labkit.he.ckks.check_params); got {type(report).__name__}")
    bits = list(report.coeff_mod_bit_sizes)
    left = 0
    for i, b in enumerate(bits):
        if i == len(bits) - 1 and len(bits) > 1:
            colour, label = PALETTE[4], tr("special prime (key switching)")
        elif i == 0:
            colour, label = PALETTE[0], tr("first prime (integer part + scale)")
        else:
            colour, label = PALETTE[2], tr("middle prime (one rescale each)")
        ax.barh(0, b, left=left, color=colour, edgecolor="white", label=label if label not in
                [t.get_label() for t in ax.patches] else "_nolegend_")
        ax.text(left + b / 2, 0, str(b), ha="center", va="center", fontsize=8, color="white")
        left += b
    if report.max_bits:
        ax.axvline(report.max_bits, color=PALETTE[3], linestyle="--",
                   label=tr("limit for N={degree}: {bits} bits").format(degree=report.poly_modulus_degree,
                                                                         bits=report.max_bits))
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    ax.legend(seen.values(), seen.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(0, max(left, report.max_bits or 0) * 1.05 + 1)
    ax.set_title(_budget_title(report), fontsize=9)
    ax.set_xlabel(tr("bits"))
    return ax


def _budget_title(report: "CkksReport") -> str:
    """The title of :func:`plot_modulus_budget` (the explorer redraws only it when only the scale moves)."""
    text = (tr("coefficient modulus: {bits} bits (valid); depth {depth}, scale 2^{scale}") if report.valid else
            tr("coefficient modulus: {bits} bits (cannot work); depth {depth}, scale 2^{scale}"))
    return text.format(bits=sum(report.coeff_mod_bit_sizes), depth=report.depth, scale=report.scale_bits)
