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


# --- Poisoning and robust aggregation (notebook 07) ---


class _BarCanvas:
    """A bar chart drawn once by ``draw(ax, values, title)`` and then updated in place (bar lengths,
    value labels, title): no axes rebuilt, so a redraw is one PNG render."""

    def __init__(self, draw, figsize=(6.4, 2.6)) -> None:
        self.draw, self.figsize, self.fig = draw, figsize, None

    def png(self, values, title: str):
        import io

        from IPython.display import Image
        from matplotlib.figure import Figure

        if self.fig is None:
            self.fig = Figure(figsize=self.figsize, layout="constrained")
            self.ax = self.fig.add_subplot()
            self.draw(self.ax, values, title)
            self.bars = list(self.ax.patches)
            self.labels = [t for t in self.ax.texts]
        else:
            for bar, label, a in zip(self.bars, self.labels, values.values()):
                bar.set_width(a)
                inside = a > 0.5
                label.set_x(a - 0.01 if inside else a + 0.01)
                label.set_text(f"{a:.2f}")
                label.set_horizontalalignment("right" if inside else "left")
                label.set_color("white" if inside else "black")
            self.ax.set_title(title, fontsize=9)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        self.fig.set_layout_engine("none")  # the layout is fixed after the first draw
        return Image(data=buf.getvalue(), format="png")


def poisoning_explorer(attackers: int = 2, scale: float = 20.0, attack: str = "boost"):
    """Build the poisoning explorer: attackers, boosting factor and attack -> test accuracy per aggregator.

    Each setting trains five models once (:func:`labkit.fl.robust.poisoning_accuracy`, a few tenths
    of a second), then comes from its cache; the clean accuracy (no attacker) is drawn beside it.
    None of these rules adds noise, so none buys any privacy (epsilon is infinite; the server reads
    every update): the line under the figure says so. The view names its parts:
    ``view.controls[name]`` (``"attackers"``, ``"scale"``, ``"attack"``) and ``view.output``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    import ipywidgets as w

    from labkit import _validate as v
    from labkit.fl import robust
    from labkit.fl.plots import plot_poisoning_bars

    s = robust.POISONING_SETTINGS
    attackers = v.integer("attackers", attackers, minimum=0, maximum=s["num_clients"] // 2)
    scales = [1.0, 3.0, 10.0, 20.0, 50.0, 100.0]
    scale = v.choice("scale", v.real("scale", scale), scales)
    attack = v.choice("attack", attack, robust.ATTACKS)
    f_ctl = w.IntSlider(value=attackers, min=0, max=s["num_clients"] // 2, description="attackers",
                        continuous_update=False)
    s_ctl = w.SelectionSlider(options=[(f"{x:g}", x) for x in scales], value=scale, description="scale",
                              continuous_update=False)
    a_ctl = w.ToggleButtons(options=[("boost (label flip x scale)", "boost"), ("sign flip x scale", "sign_flip")],
                            value=attack, description="attack")
    note = w.HTML(value="Privacy: none of these rules adds noise, so none buys any (epsilon = infinity); "
                        "the server reads every update.")
    out = w.Output()
    clean = robust.poisoning_accuracy(0, 1.0)["FedAvg (mean)"]
    canvas = _BarCanvas(lambda ax, acc, title: plot_poisoning_bars(ax, acc, clean=clean, title=title))

    def show(_=None) -> None:
        acc = robust.poisoning_accuracy(f_ctl.value, s_ctl.value, attack=a_ctl.value)
        out.clear_output(wait=True)
        out.append_display_data(canvas.png(acc, f"{f_ctl.value} of {s['num_clients']} clients attack ({a_ctl.value}, "
                                                f"scale {s_ctl.value:g}), {s['rounds']} rounds, seed {s['seed']}"))

    for ctl in (f_ctl, s_ctl, a_ctl):
        ctl.observe(show, names="value")
    show()

    class PoisoningExplorer(w.VBox):
        def __repr__(self) -> str:
            return "Poisoning explorer: attackers, scale and attack -> test accuracy per aggregator"

    view = PoisoningExplorer([w.HBox([f_ctl, s_ctl]), a_ctl, out, note])
    view.controls = {"attackers": f_ctl, "scale": s_ctl, "attack": a_ctl}
    view.output = out
    return view


def _epsilon_text(eps: float) -> str:
    return "infinite (no guarantee)" if math.isinf(eps) else f"{eps:.3g}"


def _digit_montage_png(rows, scale: int = 12):
    """Rows of 8x8 digits as one PNG (white gaps between digits), drawn without a Matplotlib figure.

    The static figure of the notebook uses :func:`labkit.fl.plots.plot_digit_rows`; a slider move
    only needs the pixels, and encoding them directly takes milliseconds, not a figure redraw.
    """
    import io

    import numpy as np
    from IPython.display import Image
    from matplotlib.image import imsave

    n = len(rows[0])
    canvas = np.ones((len(rows) * 9 - 1, n * 9 - 1))
    for r, digits in enumerate(rows):
        for c in range(n):
            canvas[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = 1.0 - np.clip(np.asarray(digits[c]).reshape(8, 8), 0, 1)
    buf = io.BytesIO()
    imsave(buf, np.kron(canvas, np.ones((scale, scale))), cmap="gray", vmin=0, vmax=1, format="png")
    return Image(data=buf.getvalue(), format="png")


def inversion_explorer(batch_size: int = 4, num_clients: int = 1, noise_multiplier: float = 0.0):
    """Build the inversion explorer: batch size, clients summed, noise multiplier -> DLG's reconstructions.

    Each move runs :func:`labkit.fl.attacks.inversion_point` (about 0.05 s the first time, cached
    after) and shows the target client's digits (top row) above their reconstructions (bottom
    row), the error of each, the mean digit's error (a guess without the update) and the epsilon
    one round at that noise multiplier buys (delta = 1e-5). Values off the sliders' grid
    (:data:`labkit.fl.attacks.INVERSION_GRID`) move to the nearest grid value, and ``view.status``
    says so. The view names its parts: ``view.controls[name]`` (``"batch_size"``,
    ``"num_clients"``, ``"noise_multiplier"``), ``view.readout`` and ``view.output``.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    import ipywidgets as w

    from labkit import _validate as v
    from labkit.fl import attacks

    grid = attacks.INVERSION_GRID
    batch_size = v.count("batch_size", batch_size)
    num_clients = v.count("num_clients", num_clients)
    noise_multiplier = v.nonnegative("noise_multiplier", noise_multiplier)
    notes: list[str] = []
    batch_size = _on_grid("batch_size", batch_size, list(grid["batch_size"]), notes)
    num_clients = _on_grid("num_clients", num_clients, list(grid["num_clients"]), notes)
    noise_multiplier = _on_grid("noise_multiplier", noise_multiplier, list(grid["noise_multiplier"]), notes)
    status = w.HTML(value="; ".join(notes))
    b_ctl = w.SelectionSlider(options=list(grid["batch_size"]), value=batch_size, description="batch size",
                              continuous_update=False)
    k_ctl = w.SelectionSlider(options=list(grid["num_clients"]), value=num_clients, description="clients summed",
                              continuous_update=False)
    z_ctl = w.SelectionSlider(options=[(f"{z:g}", z) for z in grid["noise_multiplier"]], value=noise_multiplier,
                              description="noise mult.", continuous_update=False)
    readout = w.HTML()
    out = w.Output()

    def update(_=None) -> None:
        p = attacks.inversion_point(b_ctl.value, k_ctl.value, z_ctl.value)
        verdict = ("recovered" if p.error < attacks.SUCCESS_MSE else
                   "not recovered" if p.error > attacks.FAILURE_MSE else "partly recovered")
        readout.value = (f"top: the client's digits; bottom: DLG's reconstructions. Per-pixel MSE "
                         f"{', '.join(f'{e:.3f}' for e in p.errors)} (mean {p.error:.3f}: {verdict}); "
                         f"the mean digit scores {p.baseline:.3f}. Epsilon of this round: "
                         f"{_epsilon_text(p.epsilon)} (delta = {p.delta:g}).")
        out.clear_output(wait=True)
        out.append_display_data(_digit_montage_png([p.originals, p.reconstructed]))

    for ctl in (b_ctl, k_ctl, z_ctl):
        ctl.observe(update, names="value")
    update()

    class InversionExplorer(w.VBox):
        def __repr__(self) -> str:
            return "Inversion explorer: batch size, clients summed, noise multiplier -> DLG reconstructions and epsilon"

    view = InversionExplorer([w.HBox([b_ctl, k_ctl, z_ctl])] + ([status] if notes else []) + [readout, out])
    view.controls = {"batch_size": b_ctl, "num_clients": k_ctl, "noise_multiplier": z_ctl}
    view.readout, view.output, view.status = readout, out, status
    return view
