"""Widget for ``09-secure-computation.ipynb``: what a coalition of parties can compute.

The compute function is :func:`labkit.smpc.coalition_view` (pure, unit-tested); this view only
draws it. Built from ipywidgets controls and an ``Output`` whose ``outputs`` are set directly
(never ``@interact``): nothing is printed into the notebook cell, so nbval sees only the
widget's stable repr.
"""

from __future__ import annotations


def coalition_outputs(secret: int, n_parties: int, threshold: int, coalition, seed: int) -> tuple[dict, ...]:
    """The widget's content for one setting: a PNG of the Shamir shares and the verdict lines.

    Introduced in ``09-secure-computation.ipynb``.
    """
    import base64
    import io

    import matplotlib.pyplot as plt
    import numpy as np

    from labkit.style import new_axes
    from labkit.smpc.plots import plot_coalition
    from labkit.smpc import coalition_view

    view = coalition_view(secret, n_parties, min(threshold, n_parties), [c for c in coalition if c < n_parties],
                          np.random.default_rng(seed))
    fig, ax = new_axes(figsize=(6.4, 3.2))
    plot_coalition(ax, view)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": png, "text/plain": "<Figure: Shamir shares of the secret>"}},
        {"output_type": "stream", "name": "stdout", "text": "\n".join(view.lines()) + "\n"},
    )


def coalition_widget(secret: int = 42, seed: int = 0):
    """Sliders for the number of parties and the threshold, and a choice of colluding parties.

    The shares are redrawn from ``np.random.default_rng(seed)`` at each change, so the same
    settings always show the same picture.

    Returns:
        An ``ipywidgets.VBox`` with two named accessors for scripted use and tests:
        ``controls``, keyed by the :func:`~labkit.smpc.coalition_view` argument each sets
        (``{"n_parties": IntSlider, "threshold": IntSlider, "coalition": SelectMultiple}``), and
        ``output`` (the ``Output`` holding the figure and the verdict).

    Introduced in ``09-secure-computation.ipynb``.
    """
    import ipywidgets as widgets

    n = widgets.IntSlider(value=5, min=2, max=8, description="parties")
    t = widgets.IntSlider(value=3, min=1, max=8, description="threshold")
    who = widgets.SelectMultiple(options=list(range(8)), value=(0, 1), rows=8, description="colluders")
    out = widgets.Output()

    def update(_change=None) -> None:
        out.outputs = coalition_outputs(secret, n.value, t.value, who.value, seed)

    for control in (n, t, who):
        control.observe(update, names="value")
    update()
    box = widgets.VBox([widgets.HBox([widgets.VBox([n, t]), who]), out])
    box.controls = {"n_parties": n, "threshold": t, "coalition": who}
    box.output = out
    return box
