"""Widget for ``09-secure-computation.ipynb``: what a coalition of parties can compute.

The compute function is :func:`labkit.smpc.coalition_view` (pure, unit-tested); this view only
draws it. Built from ipywidgets controls and ``interactive_output`` (never ``@interact``).
"""

from __future__ import annotations


def coalition_widget(secret: int = 42, seed: int = 0):
    """Sliders for the number of parties and the threshold, and a choice of colluding parties.

    The shares are redrawn from ``np.random.default_rng(seed)`` at each change, so the same
    settings always show the same picture.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import numpy as np

    from labkit.plots import new_axes
    from labkit.plots.smpc import plot_coalition
    from labkit.smpc import coalition_view

    n = widgets.IntSlider(value=5, min=2, max=8, description="parties")
    t = widgets.IntSlider(value=3, min=1, max=8, description="threshold")
    who = widgets.SelectMultiple(options=list(range(8)), value=(0, 1), rows=8, description="colluders")

    def draw(n_parties: int, threshold: int, coalition: tuple[int, ...]) -> None:
        view = coalition_view(secret, n_parties, min(threshold, n_parties), [c for c in coalition if c < n_parties],
                              np.random.default_rng(seed))
        fig, ax = new_axes(figsize=(6.4, 3.2))
        plot_coalition(ax, view)
        plt.show()
        for line in view.lines():
            print(line)

    out = widgets.interactive_output(draw, {"n_parties": n, "threshold": t, "coalition": who})
    return widgets.VBox([widgets.HBox([widgets.VBox([n, t]), who]), out])
