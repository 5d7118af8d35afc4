"""Widgets of the differential-privacy notebooks: noise calibration (02) and the accountant dashboard (03).

The compute functions are :func:`labkit.dp.noise_calibration` and
:func:`labkit.dp.accountant_dashboard` (pure, unit-tested, tens of milliseconds). Views are built
from ``ipywidgets`` controls and an ``Output`` that is filled with
``Output.append_display_data`` rather than captured: nothing is printed into the cell itself,
so the stored notebook stays stable under nbval, and the view's text repr is a fixed sentence.
"""

from __future__ import annotations

from typing import Callable


def _figure_png(draw: Callable, figsize=(6.4, 3.0)):
    import matplotlib.pyplot as plt
    from IPython.display import Image

    from labkit.plots import new_axes

    fig, ax = new_axes(figsize=figsize)
    draw(ax)
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return Image(data=buf.getvalue(), format="png")


def _view_class():
    import ipywidgets as w

    class DpView(w.VBox):
        """A VBox whose text repr is a fixed description (stable for nbval)."""

        description_text = ""

        def __repr__(self) -> str:
            return self.description_text

    return DpView


def noise_calibration_widget(epsilon: float = 1.0, sensitivity: float = 1.0, true_count: int = 100):
    """Sliders for epsilon and sensitivity -> the Laplace release of a count and its error (02)."""
    import ipywidgets as w

    from labkit.dp import noise_calibration
    from labkit.plots.dp import plot_noise_calibration

    eps = w.FloatLogSlider(value=epsilon, base=10, min=-1.3, max=1, step=0.05, description="epsilon",
                           continuous_update=False)
    sens = w.FloatSlider(value=sensitivity, min=0.5, max=10, step=0.5, description="sensitivity",
                         continuous_update=False)
    text = w.HTML()
    out = w.Output()

    def update(_=None) -> None:
        calib = noise_calibration(eps.value, sens.value, true_count)
        text.value = calib.describe()
        out.outputs = ()
        out.append_display_data(_figure_png(lambda ax: plot_noise_calibration(ax, calib)))

    eps.observe(update, "value")
    sens.observe(update, "value")
    update()
    view = _view_class()([w.HBox([eps, sens]), text, out])
    view.description_text = "Noise-calibration widget (epsilon, sensitivity -> Laplace release of a count)"
    return view


def accountant_widget(sampling_probability: float = 256 / 60000, noise_multiplier: float = 1.1,
                      steps: int = 14063, delta: float = 1e-5):
    """Sliders for q, sigma, steps and delta -> epsilon under RDP and PLD, and over steps (03)."""
    import ipywidgets as w

    from labkit.dp import accountant_dashboard
    from labkit.plots.dp import plot_epsilon_over_steps

    q = w.FloatLogSlider(value=sampling_probability, base=10, min=-4, max=0, step=0.05, description="q",
                         continuous_update=False)
    sigma = w.FloatSlider(value=noise_multiplier, min=0.5, max=5.0, step=0.05, description="sigma",
                          continuous_update=False)
    k = w.IntSlider(value=steps, min=1, max=50000, step=1, description="steps", continuous_update=False)
    d = w.FloatLogSlider(value=delta, base=10, min=-10, max=-3, step=1, description="delta",
                         continuous_update=False)
    text = w.HTML()
    out = w.Output()

    def update(_=None) -> None:
        board = accountant_dashboard(q.value, sigma.value, int(k.value), d.value)
        text.value = board.describe()
        out.outputs = ()
        out.append_display_data(_figure_png(lambda ax: plot_epsilon_over_steps(ax, board)))

    for control in (q, sigma, k, d):
        control.observe(update, "value")
    update()
    view = _view_class()([w.HBox([q, sigma]), w.HBox([k, d]), text, out])
    view.description_text = "Accountant dashboard (q, sigma, steps, delta -> epsilon under RDP and PLD)"
    return view
