"""The non-IID explorer of ``06-federated-averaging.ipynb``.

Sliders for the Dirichlet alpha, the number of clients and the local epochs pick a curve from
the precomputed grid ``data/sweeps/fl_noniid.npz`` (a lookup, :func:`labkit.fl.noniid_lookup`);
a button recomputes the chosen setting live (:func:`labkit.fl.noniid_curve`, about a second)
behind a progress bar. Figures go into an ``Output`` with ``append_display_data``, so nothing
is printed into the cell, and the view's text repr is a fixed sentence (stable for nbval).
An ``alpha``, ``num_clients`` or ``epochs`` that is not on the grid is moved to the nearest grid
value, and ``view.status`` (shown under the sliders) says so.
The view names its parts: ``view.controls[name]`` (``"alpha"``, ``"num_clients"``, ``"epochs"``,
``"recompute"``), ``view.progress`` (the rounds bar) and ``view.output`` (the figure).

Introduced in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import math


class _Canvas:
    """One Matplotlib figure kept for the widget's life, redrawn in place and sent as a PNG.

    Built with ``matplotlib.figure.Figure`` (not pyplot), so the inline backend never shows it
    in the cell; reusing it, with the layout computed once, makes a redraw several times cheaper.
    """

    def __init__(self, figsize=(6.4, 3.0)) -> None:
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=figsize, layout="constrained")
        self.ax = self.fig.add_subplot()

    def png(self, draw):
        import io

        from IPython.display import Image

        self.ax.clear()
        draw(self.ax)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        # The axes' layout is fixed (same limits and labels); constrained layout costs a second
        # draw per save, so keep the first result and switch it off.
        self.fig.set_layout_engine("none")
        return Image(data=buf.getvalue(), format="png")


def _alpha_label(alpha: float) -> str:
    return "IID" if math.isinf(alpha) else f"{alpha:g}"


def _on_grid(name: str, value, options: list, notes: list[str]):
    """The grid value nearest ``value`` (log scale for alpha); a note in ``notes`` when it differs."""
    if value in options:
        return value
    if name == "alpha":
        key = (lambda o: abs(math.log(o) - math.log(value))) if math.isfinite(value) else (lambda o: -o)
    else:
        key = lambda o: abs(o - value)  # noqa: E731
    nearest = min(options, key=key)
    shown = _alpha_label(nearest) if name == "alpha" else nearest
    got = _alpha_label(value) if name == "alpha" else value
    notes.append(f"{name} = {got} is not on the stored grid; showing the nearest, {shown}")
    return nearest


def noniid_explorer(alpha: float = 0.1, num_clients: int = 10, epochs: int = 5):
    """Build the non-IID explorer: alpha, clients and local epochs -> FedAvg convergence curves.

    The chosen setting is drawn beside the IID curve with the same clients and epochs.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    import ipywidgets as w

    from labkit import _validate as v
    from labkit import data, fl
    from labkit.fl.plots import plot_accuracy_curves

    alpha = v.positive("alpha (math.inf for IID)", alpha, finite=False)
    num_clients = v.count("num_clients", num_clients)
    epochs = v.count("epochs", epochs)
    grid = data.load_arrays("sweeps/fl_noniid.npz")
    alphas = [float(a) for a in grid["alpha"]]
    notes: list[str] = []
    alpha = _on_grid("alpha", alpha, alphas, notes)
    num_clients = _on_grid("num_clients", num_clients, [int(k) for k in grid["num_clients"]], notes)
    epochs = _on_grid("epochs", epochs, [int(e) for e in grid["epochs"]], notes)
    status = w.HTML(value="; ".join(notes))
    a_ctl = w.SelectionSlider(options=[(_alpha_label(a), a) for a in alphas], value=float(alpha),
                              description="alpha", continuous_update=False)
    k_ctl = w.SelectionSlider(options=[int(k) for k in grid["num_clients"]], value=int(num_clients),
                              description="clients", continuous_update=False)
    e_ctl = w.SelectionSlider(options=[int(e) for e in grid["epochs"]], value=int(epochs),
                              description="local epochs", continuous_update=False)
    button = w.Button(description="recompute live", tooltip="train this setting now (about a second)")
    bar = w.IntProgress(value=0, min=0, max=fl.NONIID_GRID["rounds"], description="rounds")
    out = w.Output()
    canvas = _Canvas()

    def show(curves) -> None:
        out.clear_output(wait=True)
        out.append_display_data(canvas.png(lambda ax: plot_accuracy_curves(ax, curves, title=(
            f"FedAvg on digits, {k_ctl.value} clients, E = {e_ctl.value}, 5 clients a round"))))

    def stored(_=None) -> None:
        a, k, e = a_ctl.value, k_ctl.value, e_ctl.value
        curves = {f"alpha = {_alpha_label(a)} (stored)": fl.noniid_lookup(grid, a, k, e)}
        if not math.isinf(a):
            curves["IID (stored)"] = fl.noniid_lookup(grid, math.inf, k, e)
        show(curves)

    def live(_=None) -> None:
        a, k, e = a_ctl.value, k_ctl.value, e_ctl.value
        bar.value = 0

        def tick(r: int, _acc: float) -> None:
            bar.value = r

        curve = fl.noniid_curve(a, k, e, progress=tick)
        show({f"alpha = {_alpha_label(a)} (live)": curve,
              f"alpha = {_alpha_label(a)} (stored)": fl.noniid_lookup(grid, a, k, e)})

    for ctl in (a_ctl, k_ctl, e_ctl):
        ctl.observe(stored, names="value")
    button.on_click(live)
    stored()

    class NonIidExplorer(w.VBox):
        def __repr__(self) -> str:
            return "Non-IID explorer: Dirichlet alpha, clients and local epochs -> FedAvg test accuracy per round"

    view = NonIidExplorer([w.HBox([a_ctl, k_ctl, e_ctl])] + ([status] if notes else []) + [w.HBox([button, bar]), out])
    view.controls = {"alpha": a_ctl, "num_clients": k_ctl, "epochs": e_ctl, "recompute": button}
    view.progress, view.output, view.status = bar, out, status
    return view
