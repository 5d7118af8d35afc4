"""labkit._widgets: a blitted frame is the full draw's picture, PNGs decode to the figure's size, the
background cache stays bounded, and a frame whose tick labels would be cut is laid out again."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from labkit import _widgets as W  # noqa: E402


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _figure():
    """A static curve, a moving line (drawn on top: the highest zorder) and a moving title."""
    fig = Figure(figsize=(4.0, 2.5), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    x = np.linspace(0, 1, 50)
    ax.plot(x, x**2, color="C0", zorder=1)
    moving, = ax.plot(x, 0.5 + 0 * x, color="C3", lw=2, zorder=5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("start")
    return fig, ax, moving


def test_png_bytes_decodes_to_the_figure_size_and_drops_alpha():
    fig, _, _ = _figure()
    png = W.png_bytes(fig)
    image = Image.open(io.BytesIO(png))
    assert image.size == (320, 200) and image.mode == "RGB"


def test_a_blitted_frame_equals_a_full_redraw_after_a_move_and_after_a_limit_change():
    fig, ax, moving = _figure()
    blitter = W.Blitter(fig, ax, [moving, ax.title])
    first = blitter.frame().copy()
    x = np.linspace(0, 1, 50)
    moving.set_data(x, 0.2 + 0.6 * x)  # a move: the background is reused
    ax.set_title("moved")
    frame = blitter.frame().copy()
    assert len(blitter.backgrounds) == 1
    assert not np.array_equal(frame, first)  # the frame did change
    assert np.array_equal(frame, W.full_frame(fig))
    ax.set_ylim(0, 2)  # a limit change: a new background, drawn in full once
    frame = blitter.frame().copy()
    assert len(blitter.backgrounds) == 2
    assert np.array_equal(frame, W.full_frame(fig))
    ax.set_ylim(0, 1)  # back: the first background again, no new draw
    moving.set_data(x, 0.9 - 0.5 * x)
    assert np.array_equal(blitter.frame().copy(), W.full_frame(fig)) and len(blitter.backgrounds) == 2
    # png() encodes exactly the frame
    assert np.array_equal(decode(blitter.png()), W.full_frame(fig)[..., :3])


def test_a_stale_background_would_be_seen():
    """The equality above can fail: a background kept across a limit change shows the old ticks."""
    fig, ax, moving = _figure()
    blitter = W.Blitter(fig, ax, [moving], key=lambda: "one background")
    blitter.frame()
    ax.set_ylim(-1, 2)
    assert not np.array_equal(blitter.frame().copy(), W.full_frame(fig))


def test_a_title_among_the_moving_artists_is_no_part_of_the_key_but_a_static_title_is():
    fig, ax, moving = _figure()
    blitter = W.Blitter(fig, ax, [moving, ax.title])
    for title in ("a", "b", "c"):
        ax.set_title(title)
        blitter.frame()
    assert len(blitter.backgrounds) == 1
    fig, ax, moving = _figure()
    static = W.Blitter(fig, ax, [moving])
    for title in ("a", "b", "c"):
        ax.set_title(title)
        assert np.array_equal(static.frame().copy(), W.full_frame(fig))
    assert len(static.backgrounds) == 3


def test_the_background_cache_is_bounded():
    fig, ax, moving = _figure()
    blitter = W.Blitter(fig, ax, [moving], max_backgrounds=3)
    for top in range(2, 9):
        ax.set_ylim(0, top)
        assert np.array_equal(blitter.frame().copy(), W.full_frame(fig))
    assert len(blitter.backgrounds) == 3
    with pytest.raises(ValueError, match="max_backgrounds"):
        W.Blitter(fig, ax, [moving], max_backgrounds=0)


def _long_labels(ax):
    ax.set_ylim(0, 1e6)
    ax.set_yticks([0, 5e5, 1e6], labels=["nothing at all", "half a million", "one million"])


def _yaxis_inside(fig, ax) -> bool:
    box = ax.yaxis.get_tightbbox(fig.canvas.get_renderer())
    return box.x0 >= -0.5


@pytest.mark.parametrize("relayout", [True, False])
def test_wider_tick_labels_get_a_new_layout_once(relayout):
    fig, ax, moving = _figure()
    blitter = W.Blitter(fig, ax, [moving, ax.title], relayout=relayout)
    blitter.frame()
    _long_labels(ax)
    frame = blitter.frame().copy()
    if relayout:
        assert blitter.layouts == 2 and _yaxis_inside(fig, ax)
        assert np.array_equal(frame, W.full_frame(fig))
        assert len(blitter.backgrounds) == 1  # the old layout's background was dropped
        blitter.frame()
        assert blitter.layouts == 2  # once, not on every frame
    else:  # what the relayout prevents: labels cut at the figure's edge
        assert blitter.layouts == 1 and not _yaxis_inside(fig, ax)


def test_add_and_remove_moving():
    fig, ax, moving = _figure()
    blitter = W.Blitter(fig, ax, [])
    later, = ax.plot([0, 1], [1, 0], color="C2", zorder=6)
    blitter.add_moving(moving, later, moving)
    assert blitter.moving == [moving, later]
    later.set_data([0, 1], [0.3, 0.7])
    assert np.array_equal(blitter.frame().copy(), W.full_frame(fig))
    blitter.remove_moving(later)
    later.remove()
    assert blitter.moving == [moving]
    assert np.array_equal(blitter.frame().copy(), W.full_frame(fig))


def test_image_view_is_a_png_image_widget():
    import ipywidgets as w

    fig, _, _ = _figure()
    png = W.png_bytes(fig)
    image = W.image_view(png)
    assert isinstance(image, w.Image) and image.format == "png" and image.value == png
    assert W.image_view().value == b""
