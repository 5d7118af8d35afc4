"""Widget for ``09-secure-computation.ipynb``: what a coalition of parties can compute.

The compute functions are :func:`labkit.smpc.coalition_view` and
:func:`labkit.smpc.candidate_curves` (pure, unit-tested); this view only draws them. Built from
ipywidgets controls and an ``Output`` whose ``outputs`` are set directly (never ``@interact``):
nothing is printed into the notebook cell, so nbval sees only the widget's stable repr.
"""

from __future__ import annotations


def coalition_outputs(secret: int, n_parties: int, threshold: int, coalition, seed: int) -> tuple[dict, ...]:
    """The widget's content for one setting: a PNG of the candidate curves and the verdict lines.

    The figure is :func:`labkit.smpc.plots.plot_candidate_curves`: for five candidate secrets, the
    polynomial through (0, s) and the colluders' Shamir points. The text gives what the coalition
    computes under additive n-of-n sharing and how many of the field's secrets fit its Shamir points
    (counted by interpolating for every one of them).

    A threshold above ``n_parties`` is shown as ``n_parties``, and colluders whose index is not a
    party are left out; either adjustment is said in a first "note:" line of the text (the widget
    keeps its controls within range, so it happens only for direct calls). Anything that is not an
    integer (or a seed that :func:`labkit._validate.generator` refuses) raises, naming the argument.

    Introduced in ``09-secure-computation.ipynb``.
    """
    import base64
    import io

    import matplotlib.pyplot as plt

    from labkit import _validate
    from labkit.style import new_axes
    from labkit.smpc.plots import plot_candidate_curves
    from labkit.smpc import candidate_curves, coalition_view

    n_parties = _validate.count("n_parties", n_parties, minimum=2, maximum=12)
    threshold = _validate.count("threshold", threshold)
    if isinstance(coalition, (str, bytes)) or not hasattr(coalition, "__iter__"):
        raise TypeError(f"coalition must be a collection of party indices; got {coalition!r}")
    members = [_validate.integer(f"coalition[{k}]", c, minimum=0) for k, c in enumerate(coalition)]
    _validate.generator(seed, "seed")  # checked before any adjustment is noted
    notes = []
    if threshold > n_parties:
        notes.append(f"note: threshold {threshold} is more than the {n_parties} parties; shown with threshold {n_parties}.")
        threshold = n_parties
    outside = [c for c in members if c >= n_parties]
    if outside:
        notes.append(f"note: colluders {outside} are not among parties 0..{n_parties - 1}; left out.")
    kept = [c for c in members if c < n_parties]
    # each from its own generator seeded with ``seed``: candidate_curves(..., default_rng(seed)) draws this figure
    view = coalition_view(secret, n_parties, threshold, kept, _validate.generator(seed, "seed"))
    curves = candidate_curves(secret, n_parties, threshold, kept, _validate.generator(seed, "seed"))
    fig, ax = new_axes(figsize=(7.6, 3.4))
    plot_candidate_curves(ax, curves)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    text = notes + [view.lines()[0], f"Shamir {threshold}-of-{n_parties}: " + curves.summary()]
    return (
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": png, "text/plain": "<Figure: candidate secrets through the colluders' Shamir points>"}},
        {"output_type": "stream", "name": "stdout", "text": "\n".join(text) + "\n"},
    )


def coalition_widget(secret: int = 42, seed: int = 0):
    """Sliders for the number of parties, the threshold and the number of colluders, and a choice of colluders.

    Moving the colluders slider across the threshold shows every candidate secret's curve fitting
    the colluders' points (below t) and then only the true secret's (at t). The slider takes the
    colluders from the selection list (adding the lowest free parties, dropping the last chosen);
    choosing colluders in the list moves the slider to their number.

    The shares are redrawn from ``np.random.default_rng(seed)`` at each change, so the same
    settings always show the same picture.

    Returns:
        An ``ipywidgets.VBox`` with two named accessors for scripted use and tests:
        ``controls``, keyed by the :func:`~labkit.smpc.coalition_view` argument each sets
        (``{"n_parties": IntSlider, "threshold": IntSlider, "coalition": SelectMultiple}``, and
        ``"n_colluders"``, the IntSlider for how many collude), and
        ``output`` (the ``Output`` holding the figure and the verdict).

    The threshold slider's maximum and the colluders' options follow the number of parties: when
    fewer parties leave the threshold or some colluders out of range, they are lowered or dropped,
    and the verdict's first line says so ("note: ...").

    Introduced in ``09-secure-computation.ipynb``.
    """
    import ipywidgets as widgets

    from labkit import _validate
    from labkit.smpc.coalition import SMALL_PRIME

    secret = _validate.integer("secret", secret, minimum=0, maximum=SMALL_PRIME - 1)
    _validate.generator(seed, "seed")
    n = widgets.IntSlider(value=5, min=2, max=8, description="parties")
    t = widgets.IntSlider(value=3, min=1, max=5, description="threshold")
    who = widgets.SelectMultiple(options=list(range(5)), value=(0, 1), rows=8, description="colluders")
    k = widgets.IntSlider(value=2, min=0, max=5, description="# colluders")
    out = widgets.Output()
    state = {"busy": False, "notes": []}

    def update(_change=None) -> None:
        if state["busy"]:
            return
        outputs = coalition_outputs(secret, n.value, t.value, who.value, seed)
        if state["notes"]:
            text = "\n".join(state["notes"]) + "\n" + outputs[1]["text"]
            outputs = (outputs[0], {**outputs[1], "text": text})
            state["notes"] = []
        out.outputs = outputs

    def follow_parties(change) -> None:
        parties = change["new"]
        state["busy"] = True  # one redraw after all controls are adjusted
        try:
            notes = []
            if t.value > parties:
                notes.append(f"note: the threshold was {t.value}, more than the {parties} parties; lowered to {parties}.")
            dropped = [c for c in who.value if c >= parties]
            if dropped:
                notes.append(f"note: colluders {dropped} are no longer parties; removed.")
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
    box.output = out
    return box
