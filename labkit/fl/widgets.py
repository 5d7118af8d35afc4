"""The non-IID explorer of ``06-federated-averaging.ipynb`` (and the poisoning and inversion explorers).

Sliders for the Dirichlet alpha, the number of clients and the local epochs, and a method knob
(FedAvg, FedProx with its mu, SCAFFOLD, FedAdam), pick curves from the precomputed grid
``data/sweeps/fl_noniid.npz`` (lookups: :func:`labkit.fl.noniid_lookup`,
:func:`labkit.fl.remedy_curves`); a button recomputes the chosen setting live
(:func:`labkit.fl.noniid_curve`, about a second) behind a progress bar. The figure is an
``ipywidgets.Image`` whose PNG is replaced in place (no clear-and-redraw of an output, so nothing
blinks), and the view's text repr is a fixed sentence (stable for nbval).
An ``alpha``, ``num_clients``, ``epochs`` or ``mu`` that is not on the grid is moved to the
nearest grid value when the view is built, and ``view.status`` (shown under the controls) says so
while that control still shows the value it was moved to;
after that no control changes another: settings that only FedAvg has stored are named in the
status line, and the mu slider is disabled (not reset) unless the method is FedProx.
The view names its parts: ``view.controls[name]`` (``"alpha"``, ``"num_clients"``, ``"epochs"``,
``"method"``, ``"mu"``, ``"recompute"``), ``view.progress`` (the rounds bar), ``view.readout``
(rounds to target per method) and ``view.output`` (the figure, also ``view.image``).

Introduced in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import math

from labkit.i18n import N_, tr

# The attack as the explorer's title names it: the key itself in English, its translation in Chinese.
_ATTACK_NAMES = {"boost": N_("boost"), "sign_flip": N_("sign_flip")}


def _alpha_label(alpha: float) -> str:
    return "IID" if math.isinf(alpha) else f"{alpha:g}"


def _on_grid(name: str, value, options: list, notes: list[str]):
    """The grid value nearest ``value`` (log scale for alpha and mu); a note in ``notes`` when it differs."""
    if value in options:
        return value
    if name == "alpha" and not math.isfinite(value):
        key = lambda o: -o  # noqa: E731
    elif name in ("alpha", "mu") and value > 0:  # log-spaced grids (mu = 1e300 is nearest 1, not 0.01)
        key = lambda o: abs(math.log(o) - math.log(value))  # noqa: E731
    else:
        key = lambda o: abs(o - value)  # noqa: E731
    nearest = min(options, key=key)
    shown = _alpha_label(nearest) if name == "alpha" else nearest
    got = _alpha_label(value) if name == "alpha" else value
    notes.append(tr("{name} = {value} is not on the stored grid; showing the nearest, {nearest}").format(
        name=name, value=got, nearest=shown))
    return nearest



class _SeriesCanvas:
    """The explorer's figure: two series (a mean line and a min-max band over seeds each) and a
    target line. The axes, ticks and target line are drawn once and kept as a background
    (:class:`labkit._widgets.Blitter`); a move restores it and draws only the bands, lines, legend
    and title on top, then encodes the pixels as PNG for an ``ipywidgets.Image`` whose value is
    replaced, so the output never blinks."""

    def __init__(self, target: float, rounds: int, figsize=(6.4, 3.0)) -> None:
        from matplotlib.figure import Figure

        from labkit._widgets import Blitter, detached_title
        from labkit.style import PALETTE

        self.fig = Figure(figsize=figsize)
        self.fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.9)
        self.ax = ax = self.fig.add_subplot()
        self.colors = (PALETTE[7], PALETTE[0])
        self.lines = [ax.plot([], [], color=c, lw=1.8, label=" ")[0] for c in self.colors]
        self.bands = [None, None]
        self.target = ax.axhline(target, color=PALETTE[3], ls="--", lw=1,
                                 label=tr("target {target:.0%}").format(target=target))
        ax.set_xlim(0, rounds)
        ax.set_ylim(0, 1)
        ax.set_xlabel(tr("communication round"))
        ax.set_ylabel(tr("test accuracy"))
        self.blitter = Blitter(self.fig, ax, [])
        self.title = detached_title(ax, fontsize=9)
        self.legend = None

    def png(self, series, title: str) -> bytes:
        """``series``: up to two ``(label, curves [seeds, rounds + 1])``; returns PNG bytes."""
        import numpy as np

        self.blitter.remove_moving(*self.blitter.moving)
        handles = []
        for i, line in enumerate(self.lines):
            if self.bands[i] is not None:
                self.bands[i].remove()
                self.bands[i] = None
            if i < len(series):
                label, curves = series[i]
                curves = np.atleast_2d(curves)
                r = np.arange(curves.shape[1])
                line.set_data(r, curves.mean(axis=0))
                line.set_label(label)
                handles.append(line)
                if len(curves) > 1:
                    self.bands[i] = self.ax.fill_between(r, curves.min(axis=0), curves.max(axis=0),
                                                         color=self.colors[i], alpha=0.2, lw=0)
        if self.legend is not None:
            self.legend.remove()
        self.legend = self.ax.legend(handles=handles + [self.target], loc="lower right", fontsize=8)
        self.title.set_text(title)
        self.blitter.add_moving(*[b for b in self.bands if b is not None], *handles, self.legend, self.title)
        return self.blitter.png()


def _rounds_text(rounds: list, cap: int) -> str:
    """``median [min, max]`` of rounds to target over seeds; a seed that never gets there counts as > cap."""
    import numpy as np

    vals = np.array([cap + 1 if r is None else r for r in rounds])
    show = lambda x: f">{cap}" if x > cap else f"{x:g}"  # noqa: E731
    return f"{show(float(np.median(vals)))} [{show(vals.min())}, {show(vals.max())}]"


def _compare(method: str, rounds: list, reference: list, cap: int) -> str:
    """Whether ``method``'s ranges of rounds to target over seeds overlap FedAvg's (indistinguishable with this
    many seeds), as a sentence."""
    a = [cap + 1 if r is None else r for r in rounds]
    b = [cap + 1 if r is None else r for r in reference]
    if max(a) < min(b):
        return tr("{method} is faster than FedAvg on every seed.").format(method=method)
    if min(a) > max(b):
        return tr("{method} is slower than FedAvg on every seed.").format(method=method)
    return tr("{method} is indistinguishable from FedAvg (the ranges over seeds overlap).").format(method=method)


METHOD_OPTIONS = ("FedAvg", "FedProx", "SCAFFOLD", "FedAdam")
"""The method knob of :func:`noniid_explorer` (FedProx's weight mu has its own slider)."""


def noniid_explorer(alpha: float = 0.1, num_clients: int = 10, epochs: int = 5, method: str = "FedAvg",
                    mu: float = 0.1):
    """Build the non-IID explorer: alpha, clients, local epochs and a method -> convergence curves.

    FedAvg is drawn beside the IID curve with the same clients and epochs; a remedy (FedProx with
    its ``mu``, SCAFFOLD, FedAdam; :data:`labkit.fl.REMEDY_GRID`) beside FedAvg, each as the mean
    over three seeds with their min-max band, and the readout lists every method's rounds to the
    target there (median [min, max] over the seeds). Settings off the remedies grid (5 clients,
    E = 20) show FedAvg's stored seed-0 curve and the status line says so (nothing moves by
    itself); **recompute live** trains the chosen method there. ``mu`` applies to FedProx only:
    its slider is disabled, not reset, for the other methods.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    import ipywidgets as w

    from labkit import _validate as v
    from labkit import data, fl
    from labkit._widgets import image_view

    alpha = v.positive("alpha (math.inf for IID)", alpha, finite=False)
    num_clients = v.count("num_clients", num_clients)
    epochs = v.count("epochs", epochs)
    method = v.choice("method", method, METHOD_OPTIONS)
    mu = v.nonnegative("mu", mu)
    grid = data.load_arrays("sweeps/fl_noniid.npz")
    r = fl.REMEDY_GRID
    target, cap = r["target"], fl.NONIID_GRID["rounds"]
    alphas = [float(a) for a in grid["alpha"]]
    mus = [m for _, name, m in r["methods"] if name == "fedprox"]
    moved: dict[str, tuple] = {}  # control -> (the grid value shown instead, the note saying so)

    def place(name: str, value, options: list):
        notes: list[str] = []
        value = _on_grid(name, value, options, notes)
        if notes:
            moved[name] = (value, notes[0])
        return value

    alpha = place("alpha", alpha, alphas)
    num_clients = place("num_clients", num_clients, [int(k) for k in grid["num_clients"]])
    epochs = place("epochs", epochs, [int(e) for e in grid["epochs"]])
    mu = place("mu", mu, mus)
    status = w.HTML(value=tr("; ").join(note for _, note in moved.values()))
    a_ctl = w.SelectionSlider(options=[(_alpha_label(a), a) for a in alphas], value=float(alpha),
                              description="alpha", continuous_update=False)
    k_ctl = w.SelectionSlider(options=[int(k) for k in grid["num_clients"]], value=int(num_clients),
                              description=tr("clients"), continuous_update=False)
    e_ctl = w.SelectionSlider(options=[int(e) for e in grid["epochs"]], value=int(epochs),
                              description=tr("local epochs"), continuous_update=False)
    m_ctl = w.ToggleButtons(options=list(METHOD_OPTIONS), value=method, description=tr("method"))
    mu_ctl = w.SelectionSlider(options=[(f"{m:g}", m) for m in mus], value=mu, description="FedProx mu",
                               continuous_update=False, disabled=method != "FedProx",
                               tooltip=tr("the proximal weight; applies to FedProx only"))
    button = w.Button(description=tr("recompute live"), tooltip=tr("train this setting now (about a second, seed 0)"))
    bar = w.IntProgress(value=0, min=0, max=cap, description=tr("rounds"))
    readout = w.HTML()
    image = image_view()
    canvas = _SeriesCanvas(target, cap)
    by_label = {label: (name, m) for label, name, m in r["methods"]}

    def label_of(m: str, mu_value: float) -> str:
        return f"FedProx mu={mu_value:g}" if m == "FedProx" else m

    def on_remedy_grid(k: int, e: int) -> bool:
        return k in r["num_clients"] and e in r["epochs"]

    def rounds_readout(a: float, k: int, e: int, chosen: str) -> str:
        rows, ref = [], fl.rounds_over_seeds(fl.remedy_curves(grid, "FedAvg", a, k, e), target)
        for label in grid["methods"]:
            label = str(label)
            rounds = fl.rounds_over_seeds(fl.remedy_curves(grid, label, a, k, e), target)
            text = f"{label}: {_rounds_text(rounds, cap)}"
            rows.append(f"<b>{text}</b>" if label == chosen else text)
        verdict = ("" if chosen == "FedAvg" else " " + _compare(
            chosen, fl.rounds_over_seeds(fl.remedy_curves(grid, chosen, a, k, e), target), ref, cap))
        return tr("Rounds to {target:.0%} test accuracy (median [min, max] over seeds {seeds}; >{cap}: not within "
                  "{cap} rounds): {rows}.").format(target=target, seeds=", ".join(str(s) for s in r["seeds"]),
                                                   cap=cap, rows=tr("; ").join(rows)) + verdict

    def stored(_=None) -> None:
        a, k, e, m = a_ctl.value, k_ctl.value, e_ctl.value, m_ctl.value
        mu_ctl.disabled = m != "FedProx"
        chosen = label_of(m, mu_ctl.value)
        setting = tr("{clients} clients, E = {epochs}, alpha = {alpha}, 5 clients a round").format(
            clients=k, epochs=e, alpha=_alpha_label(a))
        current = {"alpha": a, "num_clients": k, "epochs": e, "mu": mu_ctl.value}
        # a note on a moved start value stays while that control still shows the value it was moved to
        notes = [note for name, (value, note) in moved.items() if current[name] == value]
        if on_remedy_grid(k, e):
            # the readout (which may grow) before the status line (which may shrink): each message
            # re-lays the page out, and the other order paints one frame with the widget shorter
            readout.value = rounds_readout(a, k, e, chosen)
            status.value = tr("; ").join(notes)
            if m == "FedAvg":
                series = [(tr("IID, FedAvg (stored, {seeds} seeds)").format(seeds=len(r["seeds"])),
                           fl.remedy_curves(grid, "FedAvg", math.inf, k, e))] if not math.isinf(a) else []
                series.append((tr("alpha = {alpha}, FedAvg (stored)").format(alpha=_alpha_label(a)),
                               fl.remedy_curves(grid, "FedAvg", a, k, e)))
            else:
                series = [(tr("FedAvg (stored)"), fl.remedy_curves(grid, "FedAvg", a, k, e)),
                          (tr("{method} (stored)").format(method=chosen), fl.remedy_curves(grid, chosen, a, k, e))]
            title = tr("{method}, {setting}: mean and range over seeds").format(method=chosen, setting=setting)
        else:
            if k not in r["num_clients"] and e not in r["epochs"]:
                where = tr("{clients} clients and E = {epochs}").format(clients=k, epochs=e)
            else:
                where = tr("{clients} clients").format(clients=k) if k not in r["num_clients"] else f"E = {e}"
            if m == "FedAvg":
                off_grid = tr("{where}: only FedAvg is stored here (seed 0); the remedies grid has {clients} clients "
                              "and E in {epochs}.")
            else:
                off_grid = tr("{where}: only FedAvg is stored here (seed 0); the remedies grid has {clients} clients "
                              "and E in {epochs}. Press recompute live to train {method} here.")
            status.value = tr("; ").join(notes + [off_grid.format(where=where, clients=r["num_clients"],
                                                               epochs=r["epochs"], method=chosen)])
            readout.value = ""
            series = [(tr("alpha = {alpha}, FedAvg (stored, seed 0)").format(alpha=_alpha_label(a)),
                       fl.noniid_lookup(grid, a, k, e))]
            if m == "FedAvg" and not math.isinf(a):
                series.insert(0, (tr("IID, FedAvg (stored, seed 0)"), fl.noniid_lookup(grid, math.inf, k, e)))
            title = tr("{setting}: seed 0").format(setting=setting)
        image.value = canvas.png(series, title)

    def live(_=None) -> None:
        a, k, e, m = a_ctl.value, k_ctl.value, e_ctl.value, m_ctl.value
        chosen = label_of(m, mu_ctl.value)
        name, mu_value = by_label[chosen]
        bar.value = 0

        def tick(rnd: int, _acc: float) -> None:
            bar.value = rnd

        curve = fl.noniid_curve(a, k, e, method=name, mu=mu_value, progress=tick)
        reference = (fl.remedy_curves(grid, chosen, a, k, e)[:1] if on_remedy_grid(k, e)
                     else fl.noniid_lookup(grid, a, k, e) if m == "FedAvg" else None)
        stored_label = tr("{method} (stored, seed 0)").format(method="FedAvg" if not on_remedy_grid(k, e) else chosen)
        series = [] if reference is None else [(stored_label, reference)]
        series.append((tr("{method} (live, seed 0)").format(method=chosen), curve))
        image.value = canvas.png(series, tr("{method}, {clients} clients, E = {epochs}, alpha = {alpha}: seed 0 live")
                                 .format(method=chosen, clients=k, epochs=e, alpha=_alpha_label(a)))

    for ctl in (a_ctl, k_ctl, e_ctl, m_ctl, mu_ctl):
        ctl.observe(stored, names="value")
    button.on_click(live)
    stored()

    class NonIidExplorer(w.VBox):
        def __repr__(self) -> str:
            return tr("Non-IID explorer: Dirichlet alpha, clients, local epochs and method -> test accuracy per "
                      "round and rounds to target")

    view = NonIidExplorer([w.HBox([a_ctl, k_ctl, e_ctl]), w.HBox([m_ctl, mu_ctl]), status, w.HBox([button, bar]),
                           readout, image])
    view.controls = {"alpha": a_ctl, "num_clients": k_ctl, "epochs": e_ctl, "method": m_ctl, "mu": mu_ctl,
                     "recompute": button}
    view.progress, view.output, view.image, view.status, view.readout = bar, image, image, status, readout
    return view


# --- Poisoning and robust aggregation (notebook 07) ---


class _BarCanvas:
    """A bar chart drawn once by ``draw(ax, values, title)`` and then updated in place (bar lengths,
    value labels, title) over a saved background (:class:`labkit._widgets.Blitter`): the axes, ticks
    and labels are not redrawn. The dashed clean line and the spines are redrawn after the bars, so they
    stay on top as in a full draw (the grid is behind the bars: :func:`labkit.fl.plots.plot_poisoning_bars`)."""

    def __init__(self, draw, figsize=(6.4, 2.6)) -> None:
        self.draw, self.figsize, self.fig = draw, figsize, None

    def png(self, values, title: str) -> bytes:
        from matplotlib.figure import Figure

        from labkit._widgets import Blitter, detached_title

        if self.fig is None:
            self.fig = Figure(figsize=self.figsize, layout="constrained")
            self.ax = self.fig.add_subplot()
            self.draw(self.ax, values, title)
            self.bars = list(self.ax.patches)
            self.labels = list(self.ax.texts)
            self.blitter = Blitter(self.fig, self.ax, [])  # lays out once, then freezes the layout
            self.title = detached_title(self.ax)
            spines = [sp for sp in self.ax.spines.values() if sp.get_visible()]  # drawn over the bars' ends
            self.blitter.add_moving(*self.bars, *self.ax.lines, *spines, *self.labels, self.title)
        else:
            for bar, label, a in zip(self.bars, self.labels, values.values()):
                bar.set_width(a)
                inside = a > 0.5
                label.set_x(a - 0.01 if inside else a + 0.01)
                label.set_text(f"{a:.2f}")
                label.set_horizontalalignment("right" if inside else "left")
                label.set_color("white" if inside else "black")
            self.title.set_text(title)
        return self.blitter.png()


def poisoning_explorer(attackers: int = 2, scale: float = 20.0, attack: str = "boost"):
    """Build the poisoning explorer: attackers, boosting factor and attack -> test accuracy per aggregator.

    Every setting of its controls is read from the stored grid ``data/sweeps/fl_poisoning.npz``
    (:data:`labkit.fl.robust.POISONING_GRID`, through :func:`labkit.fl.robust.poisoning_accuracy`);
    the clean accuracy (no attacker) is drawn beside it.
    None of these rules adds noise, so none buys any privacy (epsilon is infinite; the server reads
    every update): the line under the figure says so. The figure is one ``ipywidgets.Image`` whose
    PNG is replaced in place (the bars, labels and title are redrawn over a saved background). The
    view names its parts: ``view.controls[name]`` (``"attackers"``, ``"scale"``, ``"attack"``) and
    ``view.output`` (the figure's ``Image``, also ``view.image``).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    import ipywidgets as w

    from labkit import _validate as v
    from labkit._widgets import image_view
    from labkit.fl import robust
    from labkit.fl.plots import plot_poisoning_bars

    s = robust.POISONING_SETTINGS
    attackers = v.integer("attackers", attackers, minimum=0, maximum=s["num_clients"] // 2)
    scales = list(robust.POISONING_GRID["scales"])  # the slider offers exactly what the stored grid holds
    scale = v.choice("scale", v.real("scale", scale), scales)
    attack = v.choice("attack", attack, robust.ATTACKS)
    f_ctl = w.IntSlider(value=attackers, min=0, max=s["num_clients"] // 2, description=tr("attackers"),
                        continuous_update=False)
    s_ctl = w.SelectionSlider(options=[(f"{x:g}", x) for x in scales], value=scale, description=tr("scale"),
                              continuous_update=False)
    a_ctl = w.ToggleButtons(options=[(tr("boost (label flip x scale)"), "boost"),
                                     (tr("sign flip x scale"), "sign_flip")],
                            value=attack, description=tr("attack"))
    note = w.HTML(value=tr("Privacy: none of these rules adds noise, so none buys any (epsilon = infinity); "
                           "the server reads every update."))
    image = image_view()
    clean = robust.poisoning_accuracy(0, 1.0)["FedAvg (mean)"]
    canvas = _BarCanvas(lambda ax, acc, title: plot_poisoning_bars(ax, acc, clean=clean, title=title))

    def show(_=None) -> None:
        acc = robust.poisoning_accuracy(f_ctl.value, s_ctl.value, attack=a_ctl.value)
        image.value = canvas.png(acc, tr("{attackers} of {clients} clients attack ({attack}, scale {scale:g}), "
                                         "{rounds} rounds, seed {seed}").format(
            attackers=f_ctl.value, clients=s["num_clients"], attack=tr(_ATTACK_NAMES[a_ctl.value]), scale=s_ctl.value,
            rounds=s["rounds"],
            seed=s["seed"]))

    for ctl in (f_ctl, s_ctl, a_ctl):
        ctl.observe(show, names="value")
    show()

    class PoisoningExplorer(w.VBox):
        def __repr__(self) -> str:
            return tr("Poisoning explorer: attackers, scale and attack -> test accuracy per aggregator")

    view = PoisoningExplorer([w.HBox([f_ctl, s_ctl]), a_ctl, image, note])
    view.controls = {"attackers": f_ctl, "scale": s_ctl, "attack": a_ctl}
    view.output = view.image = image
    return view


def _epsilon_text(eps: float) -> str:
    return tr("infinite (no guarantee)") if math.isinf(eps) else f"{eps:.3g}"


def _digit_montage_png(rows, scale: int = 12) -> bytes:
    """Rows of 8x8 digits as one grayscale PNG (white gaps between digits), drawn without a Matplotlib figure.

    The pixels are those ``matplotlib.pyplot.imsave(..., cmap="gray", vmin=0, vmax=1)`` writes for
    the montage (the gray colormap's levels), stored as one 8-bit channel. The static figure of the
    notebook uses :func:`labkit.fl.plots.plot_digit_rows`; a slider move only needs the pixels.
    """
    import io

    import numpy as np
    from matplotlib import colormaps
    from PIL import Image

    from labkit._widgets import PNG_COMPRESS_LEVEL

    n = len(rows[0])
    canvas = np.ones((len(rows) * 9 - 1, n * 9 - 1))
    for r, digits in enumerate(rows):
        for c in range(n):
            canvas[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = 1.0 - np.clip(np.asarray(digits[c]).reshape(8, 8), 0, 1)
    gray = colormaps["gray"](canvas, bytes=True)[..., 0]  # R = G = B on the gray map
    big = np.repeat(np.repeat(gray, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(big, mode="L").save(buf, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def inversion_explorer(batch_size: int = 4, num_clients: int = 1, noise_multiplier: float = 0.0):
    """Build the inversion explorer: batch size, clients summed, noise multiplier -> DLG's reconstructions.

    Each move runs :func:`labkit.fl.attacks.inversion_point` (about 0.05 s the first time, cached
    after) and shows the target client's digits (top row) above their reconstructions (bottom
    row), the error of each, the mean digit's error (a guess without the update) and the epsilon
    one round at that noise multiplier buys (delta = 1e-5). Values off the sliders' grid
    (:data:`labkit.fl.attacks.INVERSION_GRID`) move to the nearest grid value, and ``view.status``
    says so. The montage is one ``ipywidgets.Image`` whose PNG is replaced in place. The view names
    its parts: ``view.controls[name]`` (``"batch_size"``, ``"num_clients"``, ``"noise_multiplier"``),
    ``view.readout`` and ``view.output`` (the montage's ``Image``, also ``view.image``).

    Introduced in ``06-federated-averaging.ipynb``.
    """
    import ipywidgets as w

    from labkit import _validate as v
    from labkit._widgets import image_view
    from labkit.fl import attacks

    grid = attacks.INVERSION_GRID
    batch_size = v.count("batch_size", batch_size)
    num_clients = v.count("num_clients", num_clients)
    noise_multiplier = v.nonnegative("noise_multiplier", noise_multiplier)
    notes: list[str] = []
    batch_size = _on_grid("batch_size", batch_size, list(grid["batch_size"]), notes)
    num_clients = _on_grid("num_clients", num_clients, list(grid["num_clients"]), notes)
    noise_multiplier = _on_grid("noise_multiplier", noise_multiplier, list(grid["noise_multiplier"]), notes)
    status = w.HTML(value=tr("; ").join(notes))
    b_ctl = w.SelectionSlider(options=list(grid["batch_size"]), value=batch_size, description=tr("batch size"),
                              continuous_update=False)
    k_ctl = w.SelectionSlider(options=list(grid["num_clients"]), value=num_clients, description=tr("clients summed"),
                              continuous_update=False)
    z_ctl = w.SelectionSlider(options=[(f"{z:g}", z) for z in grid["noise_multiplier"]], value=noise_multiplier,
                              description=tr("noise mult."), continuous_update=False)
    readout = w.HTML()
    image = image_view()

    def update(_=None) -> None:
        p = attacks.inversion_point(b_ctl.value, k_ctl.value, z_ctl.value)
        verdict = (tr("recovered") if p.error < attacks.SUCCESS_MSE else
                   tr("not recovered") if p.error > attacks.FAILURE_MSE else tr("partly recovered"))
        readout.value = tr("top: the client's digits; bottom: DLG's reconstructions. Per-pixel MSE {errors} "
                           "(mean {mean:.3f}: {verdict}); the mean digit scores {baseline:.3f}. Epsilon of this "
                           "round: {epsilon} (delta = {delta:g}).").format(
            errors=", ".join(f"{e:.3f}" for e in p.errors), mean=p.error, verdict=verdict, baseline=p.baseline,
            epsilon=_epsilon_text(p.epsilon), delta=p.delta)
        image.value = _digit_montage_png([p.originals, p.reconstructed])

    for ctl in (b_ctl, k_ctl, z_ctl):
        ctl.observe(update, names="value")
    update()

    class InversionExplorer(w.VBox):
        def __repr__(self) -> str:
            return tr("Inversion explorer: batch size, clients summed, noise multiplier -> DLG reconstructions and "
                      "epsilon")

    view = InversionExplorer([w.HBox([b_ctl, k_ctl, z_ctl])] + ([status] if notes else []) + [readout, image])
    view.controls = {"batch_size": b_ctl, "num_clients": k_ctl, "noise_multiplier": z_ctl}
    view.readout, view.output, view.image, view.status = readout, image, image, status
    return view
