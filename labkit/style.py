"""Plot style and the figure helpers shared by the notebooks.

Every helper takes a Matplotlib ``ax`` and returns it. Colours come from one palette,
Okabe & Ito (2008), which stays distinguishable for readers with colour-vision deficiency.
Introduced in ``00-index.ipynb``.
"""

from __future__ import annotations

from typing import Any

from labkit import _validate as v

# Okabe-Ito: black first is left out so that lines stand out on white.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

# The most columns (and rows) of axes new_axes draws: beyond this a figure is unreadable, and a
# mistaken huge count would take minutes to lay out.
MAX_AXES = 20


def use_style() -> None:
    """Apply the lab's Matplotlib style: palette, readable sizes, light grid."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def new_axes(ncols: int = 1, nrows: int = 1, **kwargs: Any):
    """Create a figure and axes in the lab style (``plt.subplots`` with a tight layout).

    Raises:
        TypeError, ValueError: ``ncols`` or ``nrows`` is not a count from 1 to :data:`MAX_AXES`.
    """
    import matplotlib.pyplot as plt

    ncols, nrows = v.count("ncols", ncols, maximum=MAX_AXES), v.count("nrows", nrows, maximum=MAX_AXES)
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)
