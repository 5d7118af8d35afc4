"""The FL explorers of notebooks 06 and 07 swap one ``ipywidgets.Image`` in place (no ``Output`` cleared
and refilled), and a frame does not depend on the moves before it."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from widget_frames import pixels as _pixels, widgets_in as _widgets_in  # noqa: E402




def _moves_swap_one_image(view, moves, monkeypatch) -> list[bytes]:
    """Apply ``moves``; check the same Image stays in the view, is never an Output, and changes each move."""
    import ipywidgets as w

    cleared = []
    monkeypatch.setattr(w.Output, "clear_output", lambda self, *a, **k: cleared.append(self))
    image = view.output
    assert isinstance(image, w.Image) and view.image is image and image in list(_widgets_in(view))
    assert not any(isinstance(x, w.Output) for x in _widgets_in(view))
    frames = [image.value]
    for control, value in moves:
        view.controls[control].value = value
        assert view.output is image and view.image is image and image in list(_widgets_in(view))
        frames.append(image.value)
    assert all(a != b for a, b in zip(frames, frames[1:])), "a move left the figure unchanged"
    assert cleared == []
    return frames


NONIID_MOVES = [("alpha", math.inf), ("method", "FedProx"), ("epochs", 20), ("epochs", 5), ("num_clients", 20),
                ("method", "SCAFFOLD"), ("alpha", 0.3)]


def test_noniid_explorer_swaps_one_image(monkeypatch):
    from labkit.fl.widgets import noniid_explorer

    view = noniid_explorer()
    frames = _moves_swap_one_image(view, NONIID_MOVES, monkeypatch)
    assert {_pixels(f).shape[:2] for f in frames} == {_pixels(frames[0]).shape[:2]}
    image, before = view.image, bytes(view.image.value)
    view.controls["recompute"].click()  # the live curve is drawn into the same Image
    assert view.image is image and bytes(image.value) != before and view.progress.value == view.progress.max


def test_noniid_frames_do_not_depend_on_the_moves_before_them():
    """Bands, lines and legend of one setting leave nothing behind in the next: after a path of
    moves, the frame equals the first frame of a view built at that setting."""
    from labkit.fl.widgets import noniid_explorer

    view = noniid_explorer()
    for control, value in NONIID_MOVES:
        view.controls[control].value = value
        c = view.controls
        fresh = noniid_explorer(alpha=c["alpha"].value, num_clients=c["num_clients"].value, epochs=c["epochs"].value,
                                method=c["method"].value, mu=c["mu"].value)
        assert np.array_equal(_pixels(view.image.value), _pixels(fresh.image.value)), (control, value)


def test_poisoning_explorer_swaps_one_image_and_draws_what_a_full_draw_draws(monkeypatch):
    from labkit import fl
    from labkit._widgets import full_frame
    from labkit.fl.plots import plot_poisoning_bars
    from labkit.fl.widgets import _BarCanvas, poisoning_explorer

    view = poisoning_explorer(attackers=2, scale=20.0)
    _moves_swap_one_image(view, [("attackers", 4), ("scale", 100.0), ("attack", "sign_flip"), ("attackers", 0)],
                          monkeypatch)
    fresh = poisoning_explorer(attackers=0, scale=100.0, attack="sign_flip")
    assert np.array_equal(_pixels(view.image.value), _pixels(fresh.image.value))

    # the bars, their labels, the dashed clean line over them and the spines, as a full draw has them
    canvas = _BarCanvas(lambda ax, acc, title: plot_poisoning_bars(ax, acc, clean=0.9, title=title))
    canvas.png(fl.poisoning_accuracy(2, 20.0), "two attackers")
    for attackers in (6, 0, 3):
        frame = _pixels(canvas.png(fl.poisoning_accuracy(attackers, 20.0), f"{attackers} attackers"))
        assert np.array_equal(frame, full_frame(canvas.fig)[..., :3]), attackers


def test_inversion_explorer_swaps_one_image(monkeypatch):
    from labkit.fl.widgets import inversion_explorer

    view = inversion_explorer(batch_size=4, num_clients=1, noise_multiplier=0.0)
    frames = _moves_swap_one_image(view, [("noise_multiplier", 1.0), ("batch_size", 1), ("num_clients", 5)],
                                   monkeypatch)
    assert _pixels(frames[0]).shape == (2 * 9 * 12 - 12, 4 * 9 * 12 - 12, 3)  # 2 rows of 4 digits, 12 px a pixel
    assert _pixels(frames[-1]).shape == (2 * 9 * 12 - 12, 9 * 12 - 12, 3)


def test_digit_montage_has_the_pixels_imsave_writes():
    """The montage, encoded straight from the digits, decodes to what Matplotlib's imsave wrote before."""
    from matplotlib.image import imsave

    from labkit.fl.widgets import _digit_montage_png

    rng = np.random.default_rng(0)
    rows = [rng.uniform(-0.2, 1.2, size=(3, 64)), rng.uniform(0, 1, size=(3, 64))]
    canvas = np.ones((17, 26))
    for r, digits in enumerate(rows):
        for c in range(3):
            canvas[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = 1.0 - np.clip(digits[c].reshape(8, 8), 0, 1)
    buf = io.BytesIO()
    imsave(buf, np.kron(canvas, np.ones((12, 12))), cmap="gray", vmin=0, vmax=1, format="png")
    assert np.array_equal(_pixels(_digit_montage_png(rows)), _pixels(buf.getvalue()))
