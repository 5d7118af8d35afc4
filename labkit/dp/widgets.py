"""Widgets of the differential-privacy notebooks, in notebook order.

* ``02-dp-from-scratch``: :func:`noise_calibration_widget` (epsilon and sensitivity -> the Laplace
  release of a count); compute function :func:`labkit.dp.mechanisms.noise_calibration`. And
  :func:`reconstruction_widget` (Laplace scale b and number of queries m -> share of bits the
  reconstruction attack recovers, and the epsilon spent); compute functions
  :func:`labkit.dp.reconstruction.reconstruction_point` and
  :func:`~labkit.dp.reconstruction.reconstruction_curve`.
* ``03-gaussian-accounting``: :func:`accountant_widget` (q, sigma, steps, delta -> epsilon under
  RDP and PLD, and over steps); compute function :func:`labkit.dp.accounting.accountant_dashboard`.
* ``04-dp-sgd``: :func:`tradeoff_explorer` (target epsilon -> noise multiplier -> test accuracy,
  and a button that trains the selected point live behind a progress bar); compute function
  :func:`labkit.dp.dpsgd.tradeoff_at` (a lookup into the precomputed sweep
  ``data/sweeps/dpsgd_tradeoff.npz`` and a cached accountant call, well under 100 ms). And
  :func:`tuning_explorer` (at a fixed target epsilon: batch size, clipping norm, epochs and step size ->
  noise multiplier, steps and test accuracy, one line per epochs setting, and a button that trains the
  selected configuration live); compute functions :func:`labkit.dp.tuning.tuning_at` and
  :func:`~labkit.dp.tuning.tuning_slice` (lookups into ``data/sweeps/dpsgd_grid.npz``).
* ``05-auditing``: :func:`canary_audit_widget` (noise multiplier, trials, correct or broken step ->
  the canary audit's bound beside the accountant's epsilon); compute function
  :func:`labkit.dp.canary.canary_audit_point` (cached draws: a move costs a few binary searches).

The compute functions are pure and unit-tested. Each view is an ``ipywidgets.VBox`` whose text
repr is a fixed sentence, so nbval can compare the cell. Its figure is one ``ipywidgets.Image``
whose PNG is replaced in place on every move (:mod:`labkit._widgets`): never an ``Output`` cleared
and refilled, which lets the browser paint a frame without the figure (the view collapses and the
text below it jumps). Each view keeps one Matplotlib figure, moves its artists and, where the axes
stay put, redraws only what moved over a saved background (:class:`labkit._widgets.Blitter`).
Every view names its parts: ``view.controls[name]`` (the sliders and buttons, by parameter name),
``view.status`` (the text readout), ``view.output`` (the figure's ``Image``; also ``view.image``)
and, for the explorers, ``view.readout`` and ``view.progress``. ipywidgets and Matplotlib are
imported when a view is built, not when this module is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit import _validate as v
from labkit._widgets import Blitter, image_view
from labkit.dp.accounting import accountant_dashboard
from labkit.dp.mechanisms import noise_calibration
from labkit.dp.plots import (plot_epsilon_over_steps, plot_noise_calibration, plot_tradeoff, update_epsilon_over_steps,
                             update_noise_calibration, update_tradeoff)
from labkit.i18n import N_, tr
from labkit.style import new_axes


# --------------------------------------------------------------------------------------------
# Shared parts: a view with named accessors, and a figure swapped in place
# --------------------------------------------------------------------------------------------


def _fit(name: str, value: float, low: float, high: float) -> tuple[float, str]:
    """``value`` moved into the slider's range [low, high], and a sentence saying so when it was moved.

    A slider clamps an out-of-range value without a word; the views put this sentence in their
    status line instead, so that the learner sees which value is shown.
    """
    if low <= value <= high:
        return value, ""
    fitted = min(max(value, low), high)
    return fitted, ("<i>" + tr("{name} = {value:g} is outside this slider's range [{low:g}, {high:g}]; "
                               "showing {name} = {fitted:g}.").format(name=name, value=value, low=low, high=high,
                                                                      fitted=fitted) + "</i><br>")


def _view(children: list, description: str, controls: dict[str, Any], output: Any, status: Any, **parts: Any) -> Any:
    """An ``ipywidgets.VBox`` of ``children`` with a fixed repr and named accessors.

    ``controls``, ``output`` and ``status`` (and any ``parts``) become attributes of the view, so
    that code and tests reach a slider as ``view.controls["epsilon"]``, not by its position.
    """
    import ipywidgets as w

    class DpView(w.VBox):
        """A VBox whose text repr is a fixed description (stable for nbval)."""

        def __repr__(self) -> str:
            return description

    view = DpView(children)
    view.controls, view.output, view.image, view.status = dict(controls), output, output, status
    for name, part in parts.items():
        setattr(view, name, part)
    return view


# --------------------------------------------------------------------------------------------
# 02-dp-from-scratch: noise calibration
# --------------------------------------------------------------------------------------------


def _redraw_on_change(controls, text, image, note: str, render) -> None:
    """Redraw ``text`` and swap the PNG of ``image`` now and after every move of ``controls``.

    ``render()`` returns (description, PNG bytes). ``note`` (what was adjusted at construction) is
    shown until the first move.
    """
    notes = [note]

    def update(change=None) -> None:
        if change is not None:
            notes[0] = ""
        description, png = render()
        text.value = notes[0] + description
        image.value = png

    for control in controls:
        control.observe(update, "value")
    update()


def noise_calibration_widget(epsilon: float = 1.0, sensitivity: float = 1.0, true_count: int = 100):
    """Sliders for epsilon and sensitivity -> the Laplace release of a count and its error.

    Controls: ``"epsilon"`` and ``"sensitivity"``; ``view.output`` is the figure's ``ipywidgets.Image``.
    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    epsilon, note_e = _fit("epsilon", v.positive("epsilon", epsilon), 10 ** -1.3, 10.0)
    sensitivity, note_s = _fit("sensitivity", v.positive("sensitivity", sensitivity), 0.5, 10.0)
    true_count = v.count("true_count", true_count, maximum=10**9)
    eps = w.FloatLogSlider(value=epsilon, base=10, min=-1.3, max=1, step=0.05, description="epsilon",
                           continuous_update=False)
    sens = w.FloatSlider(value=sensitivity, min=0.5, max=10, step=0.5, description=tr("sensitivity"),
                         continuous_update=False)
    text = w.HTML()
    out = image_view()
    # One figure, laid out once. Every setting moves the axes, so each new one is a full draw of the
    # same figure (no new figure, no new layout); a setting seen before is a saved frame.
    fig, ax = new_axes(figsize=(6.4, 3.0))
    plot_noise_calibration(ax, noise_calibration(eps.value, sens.value, true_count))
    plt.close(fig)  # not shown by the notebook's backend: the Image shows its PNG
    canvas = Blitter(fig, ax, [], key=lambda: (eps.value, sens.value))

    def render():
        calib = noise_calibration(eps.value, sens.value, true_count)
        update_noise_calibration(ax, calib)
        return calib.describe(), canvas.png()

    _redraw_on_change((eps, sens), text, out, note_e + note_s, render)
    return _view([w.HBox([eps, sens]), text, out],
                 tr("Noise-calibration widget (epsilon, sensitivity -> Laplace release of a count)"),
                 {"epsilon": eps, "sensitivity": sens}, out, text, blitter=canvas)


# --------------------------------------------------------------------------------------------
# 03-gaussian-accounting: the accountant dashboard
# --------------------------------------------------------------------------------------------


def _round_up(x: float) -> float:
    """The smallest of 1, 2 and 5 times a power of ten that is at least ``x`` (> 0): an axis top that few moves change."""
    power = 10.0 ** np.floor(np.log10(x))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10.0 * power


def accountant_widget(sampling_probability: float = 256 / 60000, noise_multiplier: float = 1.1,
                      steps: int = 14063, delta: float = 1e-5):
    """Sliders for q, sigma, steps and delta -> epsilon under RDP and PLD, and over steps.

    Controls: ``"sampling_probability"``, ``"noise_multiplier"``, ``"steps"`` and ``"delta"``;
    ``view.output`` is the figure's ``ipywidgets.Image``. Introduced in ``03-gaussian-accounting.ipynb``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    sampling_probability, note_q = _fit("sampling_probability",
                                        v.probability("sampling_probability", sampling_probability, one=True), 1e-4, 1.0)
    noise_multiplier, note_m = _fit("noise_multiplier", v.positive("noise_multiplier", noise_multiplier), 0.5, 5.0)
    steps, note_k = _fit("steps", v.count("steps", steps), 1, 50000)
    delta, note_d = _fit("delta", v.probability("delta", delta), 1e-10, 1e-3)
    q = w.FloatLogSlider(value=sampling_probability, base=10, min=-4, max=0, step=0.05, description="q",
                         continuous_update=False)
    sigma = w.FloatSlider(value=noise_multiplier, min=0.5, max=5.0, step=0.05, description="sigma",
                          continuous_update=False)
    k = w.IntSlider(value=steps, min=1, max=50000, step=1, description=tr("steps"), continuous_update=False)
    d = w.FloatLogSlider(value=delta, base=10, min=-10, max=-3, step=1, description="delta",
                         continuous_update=False)
    text = w.HTML()
    out = image_view()
    # One figure, laid out once. The x-axis spans the whole steps slider and the y-axis runs from 0 to
    # a round number (1, 2 or 5 times a power of ten) above the curve, so most moves keep the axes and
    # redraw only the curve, the PLD point and the title over a saved background (a few ms instead
    # of a full draw); a move that needs a taller axis draws it in full once.
    fig, ax = new_axes(figsize=(6.4, 3.0))
    plot_epsilon_over_steps(ax, accountant_dashboard(q.value, sigma.value, int(k.value), d.value))
    plt.close(fig)  # not shown by the notebook's backend: the Image shows its PNG
    moving = [line for line in ax.lines if line.get_gid() in ("rdp", "pld")] + [ax.title]

    def fix_limits(board) -> None:
        ax.set_xlim(0.8, 50000 * 1.25)
        top = max(float(np.max(board.curve_rdp)), float(board.epsilon_pld))
        if np.isfinite(top) and top > 0:
            ax.set_ylim(0.0, _round_up(1.05 * top))

    fix_limits(accountant_dashboard(q.value, sigma.value, int(k.value), d.value))
    canvas = Blitter(fig, ax, moving)

    def render():
        board = accountant_dashboard(q.value, sigma.value, int(k.value), d.value)
        update_epsilon_over_steps(ax, board)
        fix_limits(board)
        return board.describe(), canvas.png()

    _redraw_on_change((q, sigma, k, d), text, out, note_q + note_m + note_k + note_d, render)
    return _view([w.HBox([q, sigma]), w.HBox([k, d]), text, out],
                 tr("Accountant dashboard (q, sigma, steps, delta -> epsilon under RDP and PLD)"),
                 {"sampling_probability": q, "noise_multiplier": sigma, "steps": k, "delta": d}, out, text,
                 blitter=canvas)


# --------------------------------------------------------------------------------------------
# 04-dp-sgd: the accuracy-privacy trade-off explorer
# --------------------------------------------------------------------------------------------


def tradeoff_explorer(target_epsilon: float = 2.0, sweep: dict | None = None) -> Any:
    """A widget: target epsilon (log slider, 0.5 to 16 at delta = 1e-5) -> noise multiplier and accuracy.

    Controls: ``"epsilon"`` (the slider) and ``"train"`` (the button); ``readout`` (noise
    multiplier and expected accuracy), ``output`` (the figure: an ``ipywidgets.Image`` whose PNG is
    swapped in place; also ``image``), ``progress`` (the epochs bar) and
    ``status`` (the live point's accuracy with its interval). Two methods for scripted use:
    ``set_epsilon(value)`` (what a slider move does) and ``train_point(epsilon=None)`` (what the
    button does, at the slider's epsilon or at ``epsilon`` in [0.5, 16] without moving the slider, so
    that a notebook cell can train a point and leave the view where its cell put it; returns
    ``(epsilon, noise_multiplier, test_accuracy)``).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from labkit.data import load as load_dataset
    from labkit.dp.dpsgd import TradeoffConfig, load_tradeoff_sweep, train_tradeoff_point, tradeoff_at

    if sweep is not None and not isinstance(sweep, dict):
        raise TypeError(f"sweep must be a dict of arrays (load_tradeoff_sweep()) or None; got {v._got(sweep)}")
    target_epsilon, note = _fit("target_epsilon", v.positive("target_epsilon", target_epsilon), 0.5, 16.0)
    data = load_tradeoff_sweep() if sweep is None else sweep
    cfg = TradeoffConfig()
    live: list[tuple[float, float]] = []

    slider = w.FloatLogSlider(value=target_epsilon, base=2, min=-1, max=4, step=0.25, description="epsilon",
                              continuous_update=False, readout_format=".2f")
    readout = w.HTML()
    out = image_view()
    button = w.Button(description=tr("Train this point"),
                      tooltip=tr("train one model at this epsilon now (a few seconds)"))
    bar = w.IntProgress(value=0, min=0, max=cfg.epochs, description=tr("epochs"))
    status = w.HTML(value=note)

    # One figure, drawn once; a slider move only redraws the selected point, its bar, the live
    # points and the title over the saved background, in z-order: the live stars (zorder 6) after
    # the selected diamond (4), so a point trained at the selected epsilon stays visible.
    fig, ax = new_axes(figsize=(6.4, 3.2))
    plot_tradeoff(ax, data, tradeoff_at(data, float(slider.value), cfg))
    gids = {a.get_gid(): a for a in list(ax.lines) + list(ax.collections) if a.get_gid()}
    plt.close(fig)  # not shown by the notebook's backend: the Image shows its PNG
    canvas = Blitter(fig, ax, [gids["selected-bar"], gids["selected"], gids["live"], ax.title])

    def redraw(_=None) -> None:
        point = tradeoff_at(data, float(slider.value), cfg)
        readout.value = tr("<b>epsilon = {epsilon:.2f}</b> (delta = {delta:g}) needs noise multiplier <b>{sigma:.2f}</b>; "
                           "expected test accuracy <b>{accuracy:.3f}</b> +/- {sd:.3f} (sd over {seeds} seeds; non-private "
                           "{nonprivate:.3f}). Recipe: {recipe}.").format(
            epsilon=point.target_epsilon, delta=cfg.delta, sigma=point.noise_multiplier, accuracy=point.accuracy,
            sd=(point.high - point.low) / 2, seeds=point.num_seeds, nonprivate=point.nonprivate_accuracy,
            recipe=cfg.describe())
        update_tradeoff(ax, point, live)
        out.value = canvas.png()

    def train(epsilon: float | None = None) -> tuple[float, float, float]:
        eps = float(slider.value) if epsilon is None else v.real("epsilon", epsilon, low=0.5, high=16.0)
        button.disabled = True
        bar.value = 0
        status.value = tr("training at epsilon = {epsilon:.2f}...").format(epsilon=eps)

        def progress(done: int, total: int) -> None:
            bar.max, bar.value = total, done

        try:
            sigma, acc = train_tradeoff_point(eps, 1000 + len(live), cfg, progress=progress)
        finally:
            button.disabled = False
        live.append((eps, acc))
        n_test = len(load_dataset(cfg.dataset).y_test)
        half = 1.96 * float(np.sqrt(acc * (1 - acc) / n_test))  # 95% normal interval over the test examples
        status.value = tr("trained live at epsilon = {epsilon:.2f}: test accuracy {accuracy:.3f} +/- {half:.3f} "
                          "(95%, {n_test} test examples; seed {seed})").format(
            epsilon=eps, accuracy=acc, half=half, n_test=n_test, seed=1000 + len(live) - 1)
        redraw()
        return eps, sigma, acc

    slider.observe(redraw, "value")
    button.on_click(lambda _button: train())
    redraw()

    def set_epsilon(value: float) -> None:
        fitted, note = _fit("epsilon", v.positive("value", value), 0.5, 16.0)
        status.value = note
        slider.value = fitted

    return _view([slider, readout, out, w.HBox([button, bar]), status],
                 tr("Accuracy-privacy trade-off explorer (target epsilon -> noise multiplier -> test accuracy)"),
                 {"epsilon": slider, "train": button}, out, status, readout=readout, progress=bar,
                 set_epsilon=set_epsilon, train_point=train, blitter=canvas)


# --------------------------------------------------------------------------------------------
# 04-dp-sgd: tuning at a fixed epsilon
# --------------------------------------------------------------------------------------------


def _on_grid(name: str, value: Any, axis: Any) -> tuple[Any, str]:
    """``value`` if it is on the grid ``axis``, else the nearest grid value (in log scale) and a sentence saying so."""
    axis = [a.item() if hasattr(a, "item") else a for a in axis]
    x = v.positive(name, value)
    for a in axis:
        if np.isclose(a, x, rtol=1e-9, atol=0.0):
            return a, ""
    nearest = min(axis, key=lambda a: abs(np.log(a) - np.log(x)))
    return nearest, ("<i>" + tr("{name} = {value:g} is not in the grid ({values}); showing {name} = {nearest:g}.").format(
        name=name, value=x, values=", ".join(f"{a:g}" for a in axis), nearest=nearest) + "</i><br>")


def tuning_explorer(target_epsilon: float = 1.0, batch_size: int = 256, l2_norm_clip: float = 1.0, epochs: int = 20,
                    step_size: float | None = None, grid: dict | None = None) -> Any:
    """A widget: at a fixed target epsilon, batch size x clipping norm x epochs x step size -> noise and accuracy.

    Controls (``view.controls``): ``"epsilon"``, ``"batch_size"``, ``"l2_norm_clip"``, ``"epochs"``
    (selection sliders over the grid's values, so every combination shown is a grid point),
    ``"step_size"`` (a dropdown: "best" or one of the grid's step sizes) and ``"train"`` (the
    button that trains the selected configuration live). Parts: ``readout`` (noise multiplier,
    steps, accuracy +/- standard error), ``image`` (the figure: an ``ipywidgets.Image`` whose
    PNG is swapped in place on each move, no flicker), ``progress`` (the epochs bar) and
    ``status`` (notes: an argument moved to the nearest grid value, the live point's result).
    Methods for scripted use: ``select(**values)`` (what control moves do; a value off the grid
    moves to the nearest grid value and the status says so), ``point()`` (the current
    :class:`labkit.dp.tuning.TuningPoint`) and ``train_point()`` (what the button does; returns the
    point trained and its live accuracy). Compute function: :func:`labkit.dp.tuning.tuning_at`
    and :func:`~labkit.dp.tuning.tuning_slice` (lookups into ``data/sweeps/dpsgd_grid.npz``).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from labkit.dp.plots import plot_tuning, update_tuning
    from labkit.dp.tuning import GridConfig, load_tuning_grid, train_tuning_point, tuning_at, tuning_slice

    if grid is not None and not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict of arrays (load_tuning_grid()) or None; got {v._got(grid)}")
    data = load_tuning_grid() if grid is None else grid
    cfg = GridConfig()
    axes = {"target_epsilon": data["target_epsilon"].tolist(), "batch_size": [int(b) for b in data["batch_size"]],
            "l2_norm_clip": data["l2_norm_clip"].tolist(), "epochs": [int(k) for k in data["epochs"]],
            "step_size": data["step_size"].tolist()}
    notes = []
    start = {}
    for name, value in (("target_epsilon", target_epsilon), ("batch_size", batch_size), ("l2_norm_clip", l2_norm_clip),
                        ("epochs", epochs)):
        start[name], note = _on_grid(name, value, axes[name])
        notes.append(note)
    if step_size is None:
        start["step_size"] = None
    else:
        start["step_size"], note = _on_grid("step_size", step_size, axes["step_size"])
        notes.append(note)

    def slider(name: str, label: str):
        return w.SelectionSlider(options=[(f"{a:g}", a) for a in axes[name]], value=start[name], description=label,
                                 continuous_update=False)

    controls = {"epsilon": slider("target_epsilon", "epsilon"), "batch_size": slider("batch_size", tr("batch size")),
                "l2_norm_clip": slider("l2_norm_clip", tr("clip")), "epochs": slider("epochs", tr("epochs")),
                "step_size": w.Dropdown(options=[(tr("best"), None)] + [(f"{a:g}", a) for a in axes["step_size"]],
                                        value=start["step_size"], description=tr("step size"))}
    keys = {"epsilon": "target_epsilon", "batch_size": "batch_size", "l2_norm_clip": "l2_norm_clip",
            "epochs": "epochs", "step_size": "step_size"}
    readout = w.HTML()
    image = image_view()
    button = w.Button(description=tr("Train this point"), tooltip=tr("train the selected configuration now (seconds)"))
    bar = w.IntProgress(value=0, min=0, max=1, description=tr("epochs"))
    status = w.HTML(value="".join(notes))
    live: list[dict] = []
    slices: dict = {}  # (epsilon, clip, step size) -> TuningSlice: a lookup once, then a dict hit

    def get_slice(eps: float, clip: float, step: float | None):
        key = (eps, clip, step)
        if key not in slices:
            slices[key] = tuning_slice(data, *key)
        return slices[key]

    def ylim(eps: float, step: float | None, extra: list) -> tuple[float, float]:
        """One y-range per epsilon and step-size choice (every clip, epochs and batch there), widened for live points.

        Fixed while the batch size, epochs or clip move, so those moves only redraw the data artists.
        """
        means = np.concatenate([get_slice(eps, clip, step).accuracy.ravel() for clip in axes["l2_norm_clip"]])
        shown = [float(a) for a in means[np.isfinite(means)]] + list(extra)
        low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
        return round(max(0.0, low - 0.04), 2), round(min(1.02, high + 0.04), 2)

    def values() -> dict:
        return {keys[name]: c.value for name, c in controls.items()}

    def current():
        s = values()
        return tuning_at(data, s["target_epsilon"], s["batch_size"], s["l2_norm_clip"], s["epochs"], s["step_size"])

    fig, ax = new_axes(figsize=(7.2, 3.4))
    plt.close(fig)  # not shown by the notebook's backend: the Image widget shows its PNG
    s0 = values()
    plot_tuning(ax, get_slice(s0["target_epsilon"], s0["l2_norm_clip"], s0["step_size"]), current(),
                ylim=ylim(s0["target_epsilon"], s0["step_size"], []))
    moving = [a for a in list(ax.lines) + list(ax.collections) if a.get_gid()]
    canvas = Blitter(fig, ax, moving)  # one background per y-range and title (they change with epsilon)

    def compute() -> tuple[Any, Any, list]:
        """The lookup a move needs: the selected point, its slice and the live points on that slice."""
        s = values()
        point = current()
        sl = get_slice(s["target_epsilon"], s["l2_norm_clip"], s["step_size"])
        pts = [(p["batch_size"], p["accuracy"]) for p in live
               if p["target_epsilon"] == s["target_epsilon"] and p["l2_norm_clip"] == s["l2_norm_clip"]]
        return point, sl, pts, ylim(s["target_epsilon"], s["step_size"], [a for _, a in pts])

    def redraw(change=None) -> None:
        if change is not None and notes:
            notes.clear()
            status.value = ""
        point, sl, pts, limits = compute()
        chosen = tr(" (the best mean over the grid's step sizes, chosen on the test set: optimistic, and on private data "
                    "the choice itself costs privacy)") if point.best_step else ""
        if point.num_seeds == 0:
            acc = tr("<b>every seed diverged</b> at this step size: choose a smaller one")
        elif point.diverged:
            acc = tr("test accuracy <b>{accuracy:.3f}</b> +/- {stderr:.3f} (standard error over {seeds} seeds; "
                     "{diverged} diverged)").format(accuracy=point.accuracy, stderr=point.stderr,
                                                    seeds=point.num_seeds, diverged=point.diverged)
        else:
            acc = tr("test accuracy <b>{accuracy:.3f}</b> +/- {stderr:.3f} (standard error over {seeds} seeds)").format(
                accuracy=point.accuracy, stderr=point.stderr, seeds=point.num_seeds)
        readout.value = tr("<b>epsilon = {epsilon:g}</b> (delta = {delta:g}), batch {batch}, {epochs} epochs = "
                           "<b>{steps} steps</b>: noise multiplier <b>{sigma:.3f}</b>; clip {clip:g}, step size "
                           "{step:g}{chosen}, learning rate {lr:g}; {acc}. Non-private (same batch and epochs, best "
                           "step size): {nonprivate:.3f}.").format(
            epsilon=point.target_epsilon, delta=float(data['delta']), batch=point.batch_size, epochs=point.epochs,
            steps=point.steps, sigma=point.noise_multiplier, clip=point.l2_norm_clip, step=point.step_size,
            chosen=chosen, lr=point.learning_rate, acc=acc, nonprivate=point.nonprivate_accuracy)
        update_tuning(ax, sl, point, pts, limits)
        image.value = canvas.png()

    def train(_=None) -> tuple[Any, float]:
        point = current()
        seed = 1000 + len(live)
        button.disabled = True
        bar.value, bar.max = 0, point.epochs
        status.value = tr("training {point} live, seed {seed}...").format(point=point.describe(), seed=seed)

        def progress(done: int, total: int) -> None:
            bar.max, bar.value = total, done

        try:
            _, acc = train_tuning_point(point.target_epsilon, point.batch_size, point.l2_norm_clip, point.epochs,
                                        point.step_size, seed, cfg, progress=progress)
        finally:
            button.disabled = False
        n_test = int(data["num_test"])
        if np.isfinite(acc):
            live.append({"target_epsilon": point.target_epsilon, "batch_size": point.batch_size,
                         "l2_norm_clip": point.l2_norm_clip, "accuracy": acc})
            half = 1.96 * float(np.sqrt(acc * (1 - acc) / n_test))  # 95% normal interval over the test examples
            status.value = tr("trained live (seed {seed}; a star on the figure): test accuracy {accuracy:.3f} +/- "
                              "{half:.3f} (95%, {n_test} test examples); the grid's mean at this point is {mean:.3f} "
                              "+/- {stderr:.3f} (standard error, {seeds} seeds).").format(
                seed=seed, accuracy=acc, half=half, n_test=n_test, mean=point.accuracy, stderr=point.stderr,
                seeds=point.num_seeds)
        else:
            status.value = tr("trained live (seed {seed}): training diverged at this step size.").format(seed=seed)
        redraw()
        return point, acc

    def select(**kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(keys.values()))
        if unknown:
            raise TypeError(f"select() takes {', '.join(keys.values())}; got {', '.join(unknown)}")
        said = []
        for name, control in controls.items():
            key = keys[name]
            if key not in kwargs:
                continue
            if key == "step_size" and kwargs[key] is None:
                control.value = None
                continue
            value, note = _on_grid(key, kwargs[key], axes[key])
            said.append(note)
            control.value = value
        status.value = "".join(said)

    for name, control in controls.items():
        control.observe(redraw, "value")
    button.on_click(train)
    redraw()

    return _view([w.HBox([controls["epsilon"], controls["batch_size"]]), w.HBox([controls["l2_norm_clip"],
                  controls["epochs"]]), controls["step_size"], readout, image, w.HBox([button, bar]), status],
                 tr("Tuning explorer (fixed epsilon: batch size, clip, epochs, step size -> noise multiplier, steps, "
                    "test accuracy)"),
                 {**controls, "train": button}, image, status, readout=readout, image=image, progress=bar,
                 select=select, point=current, train_point=train, compute=compute, blitter=canvas)


# --------------------------------------------------------------------------------------------
# 05-auditing: the white-box canary audit of one step
# --------------------------------------------------------------------------------------------

CANARY_TRIALS: tuple[int, ...] = (10_000, 100_000, 1_000_000, 4_000_000)
# what the step toggle shows for each implementation of labkit.dp.canary.IMPLEMENTATIONS
_IMPLEMENTATION_LABELS: dict[str, str] = {"correct": N_("correct"), "broken": N_("broken")}


def canary_audit_widget(noise_multiplier: float = 2.0, trials: int = 4_000_000, implementation: str = "correct",
                        l2_norm_clip: float = 10.0, delta: float = 1e-5) -> Any:
    """Noise multiplier, number of trials and correct/broken step -> the canary audit's bound beside the accountant's epsilon.

    Controls: ``"noise_multiplier"``, ``"trials"`` and ``"implementation"``. The compute function is
    :func:`labkit.dp.canary.canary_audit_point`; the draws of every trial count are made when the
    view is built, so a move costs a few binary searches. The figure is drawn once; a move updates
    its histograms and threshold in place (:func:`labkit.dp.plots.plot_canary_scores` on the same
    ax) and redraws only the axes; ``view.output`` is the figure's ``ipywidgets.Image``, its PNG
    swapped in place. Introduced in ``05-auditing.ipynb``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from labkit.dp.canary import IMPLEMENTATIONS, canary_audit_point
    from labkit.dp.plots import plot_canary_scores

    sigma, note = _fit("noise_multiplier", v.positive("noise_multiplier", noise_multiplier), 0.5, 5.0)
    trials = v.choice("trials", trials, CANARY_TRIALS)
    implementation = v.choice("implementation", implementation, IMPLEMENTATIONS)
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    delta = v.probability("delta", delta)
    for n in CANARY_TRIALS:  # fill the cache of draws now, not at the first move
        canary_audit_point(sigma, n, implementation, l2_norm_clip=clip, delta=delta)
    controls = {
        "noise_multiplier": w.FloatSlider(value=sigma, min=0.5, max=5.0, step=0.1, description="sigma",
                                          continuous_update=False),
        "trials": w.Dropdown(options=[(f"{n:,}", n) for n in CANARY_TRIALS], value=trials, description=tr("trials")),
        "implementation": w.ToggleButtons(options=[(tr(_IMPLEMENTATION_LABELS.get(name, name)), name)
                                                   for name in IMPLEMENTATIONS],
                                          value=implementation, description=tr("step")),
    }
    text, out = w.HTML(), image_view()

    def point():
        return canary_audit_point(controls["noise_multiplier"].value, controls["trials"].value,
                                  controls["implementation"].value, l2_norm_clip=clip, delta=delta)

    # One figure, laid out once. Its ticks move with the scores, so the whole axes is the moving
    # artist: a move redraws the axes over a blank background, without a new figure or layout.
    first = point()
    fig, ax = new_axes(figsize=(6.4, 3.0))
    plot_canary_scores(ax, first.sample_in, first.sample_out, first.audit.threshold)
    plt.close(fig)  # not shown by the notebook's backend: the Image shows its PNG
    canvas = Blitter(fig, ax, [ax], key=lambda: "blank")  # one background: the figure without its axes
    notes = [note]

    def redraw(change=None) -> None:
        if change is not None:
            notes[0] = ""
        p = point()
        a = p.audit
        if a.epsilon > p.claimed_epsilon:
            verdict = tr("The audit refutes the accountant's claim.")
        else:
            verdict = tr("The audit reaches {share:.0%} of the accountant's epsilon.").format(
                share=a.epsilon / p.claimed_epsilon)
        step = (tr("correct step (C = {clip:g})") if p.implementation == "correct" else
                tr("broken step (C = {clip:g})") if p.implementation == "broken" else
                tr("{implementation} step (C = {clip:g})")).format(implementation=p.implementation, clip=clip)
        text.value = (notes[0] + tr("sigma = {sigma:g}, {trials:,} steps with and {trials:,} without the canary, "
                                    "delta = {delta:g}, {step}:<br>audit: epsilon &ge; <b>{epsilon:.2f}</b> (95%) "
                                    "&mdash; accountant claims <b>{claimed:.2f}</b>; true epsilon {true:.2f}. "
                                    "{verdict}").format(
            sigma=p.noise_multiplier, trials=p.trials, delta=delta, step=step, epsilon=a.epsilon,
            claimed=p.claimed_epsilon, true=p.true_epsilon, verdict=verdict))
        plot_canary_scores(ax, p.sample_in, p.sample_out, a.threshold)
        out.value = canvas.png()

    for control in controls.values():
        control.observe(redraw, "value")
    redraw()
    return _view([*controls.values(), text, out], tr("canary audit widget (noise multiplier, trials, step)"),
                 controls, out, text, blitter=canvas)


# --------------------------------------------------------------------------------------------
# 02-dp-from-scratch: the reconstruction attack against Laplace noise
# --------------------------------------------------------------------------------------------

RECONSTRUCTION_QUERIES: tuple[int, ...] = (100, 200, 400, 800)


def reconstruction_widget(noise_scale: float = 3.0, num_queries: int = 400, num_people: int = 100,
                          num_seeds: int = 5) -> Any:
    """Laplace scale b and number of queries m -> share of bits the reconstruction recovers, and the epsilon spent.

    Controls: ``"noise_scale"`` (log slider, 0.1 to 100) and ``"num_queries"`` (100, 200, 400 or 800).
    The compute functions are :func:`labkit.dp.reconstruction.reconstruction_point` and
    :func:`~labkit.dp.reconstruction.reconstruction_curve` (cached solves: a move costs a rounding per
    seed). Each m's figure is drawn once; a move redraws only the selected point over it, and
    ``view.output`` (an ``ipywidgets.Image``) gets the new PNG in place.
    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from labkit.dp.plots import plot_reconstruction
    from labkit.dp.reconstruction import reconstruction_curve, reconstruction_point

    b, note = _fit("noise_scale", v.positive("noise_scale", noise_scale), 0.1, 100.0)
    m = v.choice("num_queries", num_queries, RECONSTRUCTION_QUERIES)
    n = v.count("num_people", num_people, minimum=10, maximum=200)
    k = v.count("num_seeds", num_seeds, minimum=2, maximum=10)
    grid = np.geomspace(0.1, 100.0, 41)
    for queries in RECONSTRUCTION_QUERIES:  # solve every table now, not at the first move
        reconstruction_curve(grid, n, queries, k)
    controls = {
        "noise_scale": w.FloatLogSlider(value=b, base=10, min=-1, max=2, step=0.05, description=tr("noise b"),
                                        continuous_update=False),
        "num_queries": w.Dropdown(options=list(RECONSTRUCTION_QUERIES), value=m, description=tr("queries m")),
    }
    text, out = w.HTML(), image_view()
    figures: dict[int, tuple[Blitter, Any]] = {}

    def figure_for(point) -> tuple[Blitter, Any]:
        if point.num_queries not in figures:
            fig, ax = new_axes(figsize=(6.4, 3.4))
            plot_reconstruction(ax, reconstruction_curve(grid, n, point.num_queries, k), point)
            marker = next(line for line in ax.lines if line.get_gid() == "selected")
            plt.close(fig)
            figures[point.num_queries] = (Blitter(fig, ax, [marker]), marker)
        return figures[point.num_queries]

    notes = [note]

    def redraw(change=None) -> None:
        if change is not None:
            notes[0] = ""
        point = reconstruction_point(float(controls["noise_scale"].value), n, int(controls["num_queries"].value), k)
        canvas, marker = figure_for(point)
        marker.set_data([point.noise_scale], [point.mean])
        text.value = notes[0] + point.describe()
        out.value = canvas.png()

    for control in controls.values():
        control.observe(redraw, "value")
    redraw()
    return _view([w.HBox(list(controls.values())), text, out],
                 tr("Reconstruction widget (Laplace scale b, queries m -> share of bits recovered, epsilon spent)"),
                 controls, out, text)
