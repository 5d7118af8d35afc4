"""Widget for ``09-secure-computation.ipynb``: what a coalition of parties can compute.

The compute functions are :func:`labkit.smpc.coalition_view` and
:func:`labkit.smpc.candidate_curves` (pure, unit-tested); this view only draws them. Built from
ipywidgets controls (never ``@interact``), an ``ipywidgets.Image`` whose PNG is replaced in place
(:mod:`labkit._widgets`: the figure is drawn once, then a move redraws only the curves, the
markers, the title and the legend over a saved background) and an ``HTML`` block for the verdict
whose height does not collapse between moves. Nothing is printed into the notebook cell, so nbval
sees only the widget's stable repr.
"""

from __future__ import annotations

from labkit.i18n import tr

FIGSIZE = (7.6, 3.4)
VERDICT_LINES = 4  # the verdict's height in lines: two statements and up to two notes



class _CoalitionCanvas:
    """The widget's figure: :func:`labkit.smpc.plots.plot_candidate_curves`' artists, updated in place.

    The layout is computed once for the widest legend (every candidate but the true one missing a
    colluder, both kinds of shares present) and then frozen. A saved background
    (:class:`labkit._widgets.Blitter`) holds the axes, grid, ticks and the legend, one per number of
    parties and legend (the legend changes only when a candidate starts or stops fitting, or a kind
    of share appears); a frame draws the curves, the share markers, the spines and the title over it.
    """

    def __init__(self, widest) -> None:
        from matplotlib.figure import Figure

        from labkit._widgets import Blitter, detached_title
        from labkit.smpc.plots import _candidate_artists

        self.fig = Figure(figsize=FIGSIZE, layout="constrained")
        self.ax = ax = self.fig.add_subplot()
        self.artists = _candidate_artists(ax, len(widest.candidates))
        self.axes_for = self.legend_for = self.legend = None
        self.title = None
        self._set(widest)  # lay out around the widest legend and a title, then freeze that layout
        self.blitter = Blitter(self.fig, ax, [], key=self._key, max_backgrounds=16)
        self.title = detached_title(ax)
        self.blitter.add_moving(*self.artists["curves"], self.artists["honest"], self.artists["held"],
                                *(sp for sp in ax.spines.values() if sp.get_visible()), self.title)  # z-order

    def _key(self):
        return (self.axes_for, self.legend_for)

    def _set(self, curves) -> None:
        from labkit.smpc.plots import _set_candidate_axes, _update_candidate_artists

        handles, title = _update_candidate_artists(self.ax, self.artists, curves)
        if self.axes_for != (curves.n_parties, curves.prime):
            _set_candidate_axes(self.ax, curves.n_parties, curves.prime)
            self.axes_for = (curves.n_parties, curves.prime)
        state = tuple((h.get_label(), h.get_linestyle()) for h in handles)
        if state != self.legend_for:
            if self.legend is not None:
                self.legend.remove()
            self.legend = self.ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
            self.legend_for = state
        if self.title is None:
            self.ax.set_title(title)
        else:
            self.title.set_text(title)

    def png(self, curves) -> bytes:
        """The figure for ``curves`` (a :class:`labkit.smpc.CandidateCurves`), as PNG bytes."""
        self._set(curves)
        return self.blitter.png()


def _coalition_content(secret, n_parties, threshold, coalition, seed):
    """(text lines, CandidateCurves) of one setting, with a "note: ..." line first for each adjustment."""
    from labkit import _validate
    from labkit.smpc import candidate_curves, coalition_view

    n_parties = _validate.count("n_parties", n_parties, minimum=2, maximum=12)
    threshold = _validate.count("threshold", threshold)
    if isinstance(coalition, (str, bytes)) or not hasattr(coalition, "__iter__"):
        raise TypeError(f"coalition must be a collection of party indices; got {coalition!r}")
    members = [_validate.integer(f"coalition[{k}]", c, minimum=0) for k, c in enumerate(coalition)]
    _validate.generator(seed, "seed")  # checked before any adjustment is noted
    notes = []
    if threshold > n_parties:
        notes.append(tr("note: threshold {threshold} is more than the {parties} parties; shown with threshold "
                        "{parties}.").format(threshold=threshold, parties=n_parties))
        threshold = n_parties
    outside = [c for c in members if c >= n_parties]
    if outside:
        notes.append(tr("note: colluders {outside} are not among parties 0..{last}; left out.").format(
            outside=outside, last=n_parties - 1))
    kept = [c for c in members if c < n_parties]
    # each from its own generator seeded with ``seed``: candidate_curves(..., default_rng(seed)) draws this figure
    view = coalition_view(secret, n_parties, threshold, kept, _validate.generator(seed, "seed"))
    curves = candidate_curves(secret, n_parties, threshold, kept, _validate.generator(seed, "seed"))
    return notes + [view.lines()[0], tr("Shamir {t}-of-{n}: {verdict}").format(t=threshold, n=n_parties,
                                                                               verdict=curves.summary())], curves


def _widest(curves):
    """A setting like ``curves`` whose legend is the widest: one colluder at threshold 1."""
    from labkit.smpc import candidate_curves

    return candidate_curves(curves.secret, curves.n_parties, 1, [0], 0, prime=curves.prime,
                            n_candidates=len(curves.candidates))


def _outputs(png: bytes, text: str) -> tuple[dict, ...]:
    import base64

    return (
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": base64.b64encode(png).decode("ascii"),
                  "text/plain": tr("<Figure: candidate secrets through the colluders' Shamir points>")}},
        {"output_type": "stream", "name": "stdout", "text": text},
    )


def coalition_outputs(secret: int, n_parties: int, threshold: int, coalition, seed: int) -> tuple[dict, ...]:
    """The widget's content for one setting: a PNG of the candidate curves and the verdict lines.

    The figure is :func:`labkit.smpc.plots.plot_candidate_curves`' drawing (the widget's frame for
    that setting, pixel for pixel): for five candidate secrets, the polynomial through (0, s) and the
    colluders' Shamir points. The text gives what the coalition computes under additive n-of-n
    sharing and how many of the field's secrets fit its Shamir points (counted by interpolating for
    every one of them). Returned as two notebook outputs (``display_data`` with the PNG in base64,
    ``stream`` with the text).

    A threshold above ``n_parties`` is shown as ``n_parties``, and colluders whose index is not a
    party are left out; either adjustment is said in a first "note:" line of the text (the widget
    keeps its controls within range, so it happens only for direct calls). Anything that is not an
    integer (or a seed that :func:`labkit._validate.generator` refuses) raises, naming the argument.

    Introduced in ``09-secure-computation.ipynb``.
    """
    lines, curves = _coalition_content(secret, n_parties, threshold, coalition, seed)
    return _outputs(_CoalitionCanvas(_widest(curves)).png(curves), "\n".join(lines) + "\n")


def _verdict_html(lines: list[str]) -> str:
    import html

    return ("<pre style='margin: 0; white-space: pre-wrap; font-size: 12px; line-height: 18px'>"
            + html.escape("\n".join(lines)) + "</pre>")


def coalition_widget(secret: int = 42, seed: int = 0):
    """Sliders for the number of parties, the threshold and the number of colluders, and a choice of colluders.

    Moving the colluders slider across the threshold shows every candidate secret's curve fitting
    the colluders' points (below t) and then only the true secret's (at t). The slider takes the
    colluders from the selection list (adding the lowest free parties, dropping the last chosen);
    choosing colluders in the list moves the slider to their number.

    The shares are redrawn from ``np.random.default_rng(seed)`` at each change, so the same
    settings always show the same picture. The figure is one ``ipywidgets.Image`` whose PNG is
    replaced in place (nothing is cleared, so nothing blinks); the verdict is an ``HTML`` block
    at least four lines high.

    Returns:
        An ``ipywidgets.VBox`` with named accessors for scripted use and tests:
        ``controls``, keyed by the :func:`~labkit.smpc.coalition_view` argument each sets
        (``{"n_parties": IntSlider, "threshold": IntSlider, "coalition": SelectMultiple}``, and
        ``"n_colluders"``, the IntSlider for how many collude); ``image`` (the figure's
        ``ipywidgets.Image``); ``verdict`` (the ``HTML`` text);
        and ``output``, the box holding both, whose read-only ``outputs`` gives them in the form
        :func:`coalition_outputs` returns.

    The threshold slider's maximum and the colluders' options follow the number of parties: when
    fewer parties leave the threshold or some colluders out of range, they are lowered or dropped,
    and the verdict's first line says so ("note: ...").

    Introduced in ``09-secure-computation.ipynb``.
    """
    import ipywidgets as widgets

    from labkit import _validate
    from labkit._widgets import image_view
    from labkit.smpc.coalition import SMALL_PRIME

    secret = _validate.integer("secret", secret, minimum=0, maximum=SMALL_PRIME - 1)
    _validate.generator(seed, "seed")
    n = widgets.IntSlider(value=5, min=2, max=8, description=tr("parties"))
    t = widgets.IntSlider(value=3, min=1, max=5, description=tr("threshold"))
    who = widgets.SelectMultiple(options=list(range(5)), value=(0, 1), rows=8, description=tr("colluders"))
    k = widgets.IntSlider(value=2, min=0, max=5, description=tr("# colluders"))
    image = image_view()
    verdict = widgets.HTML(layout=widgets.Layout(min_height=f"{18 * VERDICT_LINES}px"))
    state = {"busy": False, "notes": [], "canvas": None, "text": ""}

    class CoalitionOutput(widgets.VBox):
        """The figure and the verdict; ``outputs`` shows them as :func:`coalition_outputs` returns them."""

        @property
        def outputs(self) -> tuple[dict, ...]:
            return _outputs(image.value, state["text"])

    out = CoalitionOutput([image, verdict])

    def update(_change=None) -> None:
        if state["busy"]:
            return
        lines, curves = _coalition_content(secret, n.value, t.value, who.value, seed)
        lines = state["notes"] + lines
        state["notes"] = []
        if state["canvas"] is None:
            state["canvas"] = _CoalitionCanvas(_widest(curves))
        image.value = state["canvas"].png(curves)
        state["text"] = "\n".join(lines) + "\n"
        verdict.value = _verdict_html(lines)

    def follow_parties(change) -> None:
        parties = change["new"]
        state["busy"] = True  # one redraw after all controls are adjusted
        try:
            notes = []
            if t.value > parties:
                notes.append(tr("note: the threshold was {threshold}, more than the {parties} parties; lowered to "
                                "{parties}.").format(threshold=t.value, parties=parties))
            dropped = [c for c in who.value if c >= parties]
            if dropped:
                notes.append(tr("note: colluders {dropped} are no longer parties; removed.").format(dropped=dropped))
            kept = tuple(c for c in who.value if c < parties)
            t.max = parties
            who.options = list(range(parties))
            who.value = kept
            k.max = parties
            k.value = len(kept)
            state["notes"] = notes
        finally:
            state["busy"] = False
        update()

    def follow_count(change) -> None:
        if state["busy"]:
            return
        chosen = list(who.value)[:change["new"]]
        chosen += [i for i in range(n.value) if i not in chosen][:change["new"] - len(chosen)]
        state["busy"] = True
        try:
            who.value = tuple(sorted(chosen))
        finally:
            state["busy"] = False
        update()

    def follow_choice(_change) -> None:
        if state["busy"]:
            return
        state["busy"] = True
        try:
            k.value = len(who.value)
        finally:
            state["busy"] = False
        update()

    n.observe(follow_parties, names="value")
    t.observe(update, names="value")
    who.observe(follow_choice, names="value")
    k.observe(follow_count, names="value")
    update()
    box = widgets.VBox([widgets.HBox([widgets.VBox([n, t, k]), who]), out])
    box.controls = {"n_parties": n, "threshold": t, "coalition": who, "n_colluders": k}
    box.output, box.image, box.verdict = out, image, verdict
    return box
