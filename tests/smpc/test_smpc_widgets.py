"""The coalition widget of notebook 09 swaps one ``ipywidgets.Image`` in place, its frames equal a full
draw, and its verdicts are the ones the widget showed before it was converted (pinned below)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from widget_frames import pixels as _pixels, widgets_in as _widgets_in  # noqa: E402




# (control, value) -> the verdict text the Output-based widget printed for the same moves (seed 0, secret 42)
PINNED = [
    (None, None,
     'additive 5-of-5: parties 0, 1 add their shares to 63; that number is uniformly random: they learn '
     'nothing.\n'
     'Shamir 3-of-5: 2 colluder(s) < t = 3: 97 of the 97 secrets mod 97 fit their points (each tried by '
     'interpolation): they learn nothing.\n'),
    ('n_colluders', 3,
     'additive 5-of-5: parties 0, 1, 2 add their shares to 54; that number is uniformly random: they learn'
     ' nothing.\n'
     'Shamir 3-of-5: 3 colluder(s) >= t = 3: 1 of the 97 secrets mod 97 fits their points, 42: they hold '
     'the secret.\n'),
    ('threshold', 2,
     'additive 5-of-5: parties 0, 1, 2 add their shares to 54; that number is uniformly random: they learn'
     ' nothing.\n'
     'Shamir 2-of-5: 3 colluder(s) >= t = 2: 1 of the 97 secrets mod 97 fits their points, 42: they hold '
     'the secret.\n'),
    ('n_parties', 8,
     'additive 8-of-8: parties 0, 1, 2 add their shares to 54; that number is uniformly random: they learn'
     ' nothing.\n'
     'Shamir 2-of-8: 3 colluder(s) >= t = 2: 1 of the 97 secrets mod 97 fits their points, 42: they hold '
     'the secret.\n'),
    ('coalition', (1, 6, 7),
     'additive 8-of-8: parties 1, 6, 7 add their shares to 96; that number is uniformly random: they learn'
     ' nothing.\n'
     'Shamir 2-of-8: 3 colluder(s) >= t = 2: 1 of the 97 secrets mod 97 fits their points, 42: they hold '
     'the secret.\n'),
    ('threshold', 8,
     'additive 8-of-8: parties 1, 6, 7 add their shares to 96; that number is uniformly random: they learn'
     ' nothing.\n'
     'Shamir 8-of-8: 3 colluder(s) < t = 8: 97 of the 97 secrets mod 97 fit their points (each tried by '
     'interpolation): they learn nothing.\n'),
    ('n_parties', 4,
     'note: the threshold was 8, more than the 4 parties; lowered to 4.\n'
     'note: colluders [6, 7] are no longer parties; removed.\n'
     'additive 4-of-4: parties 1 add their shares to 5; that number is uniformly random: they learn '
     'nothing.\n'
     'Shamir 4-of-4: 1 colluder(s) < t = 4: 97 of the 97 secrets mod 97 fit their points (each tried by '
     'interpolation): they learn nothing.\n'),
    ('n_colluders', 0,
     'additive 4-of-4: nobody colludes: no share is seen, nothing is learned.\n'
     'Shamir 4-of-4: 0 colluder(s) < t = 4: 97 of the 97 secrets mod 97 fit their points (each tried by '
     'interpolation): they learn nothing.\n'),
]


def test_coalition_widget_swaps_one_image_and_keeps_its_verdicts(monkeypatch):
    import html

    import ipywidgets as w
    import matplotlib

    from labkit.smpc.widgets import coalition_widget

    dpi = matplotlib.rcParams["figure.dpi"]
    cleared = []
    monkeypatch.setattr(w.Output, "clear_output", lambda self, *a, **k: cleared.append(self))
    view = coalition_widget(secret=42, seed=0)
    image, verdict = view.image, view.verdict
    assert isinstance(image, w.Image) and image in view.output.children and verdict in view.output.children
    assert not any(isinstance(x, w.Output) for x in _widgets_in(view))  # nothing to clear, nothing blinks
    assert verdict.layout.min_height  # a fixed floor: the text below does not jump when a note comes and goes
    frames = []
    for control, value, text in PINNED:
        if control is not None:
            view.controls[control].value = value
        assert view.image is image and view.output.children[0] is image  # swapped in place, the same widget
        assert view.output.outputs[1]["text"] == text  # unchanged from the Output-based widget
        assert html.unescape(verdict.value).endswith(text.rstrip("\n") + "</pre>")  # the notes show in the page too
        assert _pixels(image.value).shape == (round(3.4 * dpi), round(7.6 * dpi), 3)
        frames.append(image.value)
    assert all(a != b for a, b in zip(frames, frames[1:]))  # every move drew a new figure
    assert "note:" not in verdict.value  # a note shows once, with the move that caused it
    assert cleared == []


def test_coalition_frames_do_not_depend_on_the_moves_before_them():
    """After any path of moves, the frame equals the one drawn on a new figure for that setting
    (coalition_outputs draws it from scratch), and the blitted canvas equals a full draw of its figure."""
    from labkit import smpc
    from labkit._widgets import full_frame
    from labkit.smpc.widgets import _CoalitionCanvas, _widest, coalition_outputs, coalition_widget

    view = coalition_widget(secret=42, seed=0)
    c = view.controls
    for control, value in [("n_colluders", 3), ("threshold", 2), ("n_parties", 8), ("n_colluders", 7),
                           ("threshold", 8), ("n_parties", 3), ("n_colluders", 0), ("n_parties", 6),
                           ("coalition", (1, 4, 5))]:
        c[control].value = value
        setting = (c["n_parties"].value, c["threshold"].value, c["coalition"].value)
        fresh = base64.b64decode(coalition_outputs(42, *setting, 0)[0]["data"]["image/png"])
        assert np.array_equal(_pixels(view.image.value), _pixels(fresh)), setting

    first = smpc.candidate_curves(42, 5, 3, [0, 1], 0)
    canvas = _CoalitionCanvas(_widest(first))
    for setting in [(5, 3, [0, 1]), (8, 3, [0, 1, 2, 3]), (5, 5, [0, 1, 2, 3, 4]), (4, 2, []), (5, 3, [0, 1])]:
        frame = _pixels(canvas.png(smpc.candidate_curves(42, *setting, 0)))
        assert np.array_equal(frame, full_frame(canvas.fig)[..., :3]), setting


def test_coalition_figure_is_the_static_plot():
    """Each frame of one canvas draws what plot_candidate_curves draws on a new axes at the same place
    (legend included: it changes when candidates stop fitting or a kind of share disappears)."""
    from matplotlib.figure import Figure

    from labkit import smpc
    from labkit._widgets import full_frame
    from labkit.smpc.plots import plot_candidate_curves
    from labkit.smpc.widgets import FIGSIZE, _CoalitionCanvas, _widest

    canvas = None
    for setting in [(6, 3, [0, 2, 5]), (6, 3, [0]), (4, 4, []), (4, 1, [0, 1, 2, 3]), (6, 3, [0, 2, 5])]:
        curves = smpc.candidate_curves(42, *setting, 0)
        canvas = canvas or _CoalitionCanvas(_widest(curves))
        frame = _pixels(canvas.png(curves))
        fig = Figure(figsize=FIGSIZE)
        ax = fig.add_axes(canvas.ax.get_position())
        plot_candidate_curves(ax, curves)
        assert np.array_equal(frame, full_frame(fig)[..., :3]), setting
