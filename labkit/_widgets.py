"""What every track's widgets share: figures rendered to PNG for an ``ipywidgets.Image`` swapped in place.

A widget that clears an ``Output`` and appends a new figure lets the browser paint a frame with
no figure at all (the output collapses and the text below it jumps). A widget built on these
helpers holds one ``ipywidgets.Image`` and replaces its ``value``; the browser keeps showing the
old picture until the new one is decoded, so nothing blinks.

* :func:`png_bytes`: a whole Matplotlib figure as PNG bytes (drawn on an Agg canvas of its own,
  so the notebook's backend never displays it).
* :class:`Blitter`: a figure drawn once; later frames restore a saved background and draw only
  the artists that move (a few milliseconds instead of a full draw). One background is kept per
  axes limits and title, so a move that rescales the axes costs one full draw, once (and one new
  layout if wider tick labels would be cut off).
* :func:`full_frame`: the pixels of a full draw (what a blitted frame must equal).
* :func:`image_view`: the ``ipywidgets.Image`` a widget swaps.

A figure whose axes change on every move (limits, ticks) gains little from blitting: keep the
figure, move its artists in place, and call :func:`png_bytes` (no new figure, no new layout).

ipywidgets, Matplotlib and PIL are imported when called, not when this module is imported.
"""

from __future__ import annotations

import io
from typing import Any, Callable, Hashable, Iterable

import numpy as np

PNG_COMPRESS_LEVEL = 1  # zlib level: 1 encodes a 640x300 figure in about 2 ms, 6 (PIL's default) in about 8 ms


def _encode(rgba: np.ndarray) -> bytes:
    """RGB PNG bytes of an RGBA pixel buffer (the alpha channel is dropped: the figures are opaque)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(buf, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _agg_canvas(fig):
    """``fig``'s canvas, made an Agg canvas first if it is not one (whatever the notebook's backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas


def png_bytes(fig) -> bytes:
    """The whole figure drawn now, as PNG bytes; ``fig`` stays open for later frames."""
    canvas = _agg_canvas(fig)
    canvas.draw()
    return _encode(np.asarray(canvas.buffer_rgba()))


class Blitter:
    """A figure whose frames redraw only ``moving`` artists over a saved background.

    Args:
        fig: the figure, with every artist in place (its layout is computed once, then frozen).
        ax: the axes the moving artists belong to.
        moving: the artists that change between frames (lines, markers, the title, a legend, or
            the whole ``ax`` when everything in it moves). They are drawn after the background in the
            order a full draw would draw them (:meth:`draw_order`: z-order, then the axes' order), so a
            frame is the full draw's picture. Add artists created later with :meth:`add_moving`.
        key: a function returning what the background depends on (default: the axes' limits, and
            the title unless it is among the moving artists). A frame whose key has no saved background draws the figure in full once (moving
            artists hidden) and keeps that background.
        max_backgrounds: how many backgrounds to keep (each is one RGBA copy of the figure, about
            0.6 MB for 640x300 pixels); the oldest is dropped first.
        relayout: when a new background's tick labels or legend would be cut by the figure's edge
            (limits that give wider labels than the first frame, a legend grown by a row), lay the
            figure out again (its original
            layout engine, once) and drop the saved backgrounds. Without a layout engine, nothing.

    ``png()`` gives the frame as PNG bytes. :meth:`frame` gives its RGBA pixels (tests compare them
    with a full draw: :func:`full_frame`).
    """

    def __init__(self, fig, ax, moving: Iterable[Any], *, key: Callable[[], Hashable] | None = None,
                 max_backgrounds: int = 24, relayout: bool = True) -> None:
        from labkit import _validate as v

        self.fig, self.ax, self.moving = fig, ax, list(moving)
        self.key = key
        self.max_backgrounds = v.count("max_backgrounds", max_backgrounds)
        self.relayout = bool(relayout)
        self.layouts = 1  # how many times the figure was laid out (tests and benchmarks read it)
        self.canvas = _agg_canvas(fig)
        self._engine = fig.get_layout_engine()
        self.canvas.draw()  # lays the figure out with every artist in place (the title needs room)
        fig.set_layout_engine("none")  # and freezes that layout
        self.backgrounds: dict = {}

    def add_moving(self, *artists: Any) -> None:
        """Artists that moving frames should draw too (created after the Blitter)."""
        self.moving.extend(a for a in artists if a not in self.moving)

    def remove_moving(self, *artists: Any) -> None:
        """Artists no longer drawn (call before ``artist.remove()``)."""
        self.moving = [a for a in self.moving if all(a is not b for b in artists)]

    def draw_order(self) -> list:
        """The moving artists in the order a full draw paints them: by z-order, ties in the axes' order.

        So a frame equals a full draw's picture where moving artists overlap (a marker above a line
        keeps its place). Artists outside the axes' children (the axes itself) keep the list order.
        """
        place = {id(a): i for i, a in enumerate(self.ax.get_children())}
        ranked = sorted(enumerate(self.moving), key=lambda ia: (ia[1].get_zorder(), place.get(id(ia[1]), len(place)), ia[0]))
        return [a for _, a in ranked]

    def _key(self) -> Hashable:
        if self.key is not None:
            return self.key()
        title = "" if any(a is self.ax.title for a in self.moving) else self.ax.get_title()  # a moving title is no part of the background
        return (tuple(np.round(self.ax.get_xlim(), 9)), tuple(np.round(self.ax.get_ylim(), 9)), title)

    def _labels_fit(self) -> bool:
        """Whether the axes' tick labels, axis labels and legend, as last drawn, lie inside the figure."""
        renderer = self.canvas.get_renderer()
        width, height = self.fig.bbox.width, self.fig.bbox.height
        legend = self.ax.get_legend()
        for part in (self.ax.xaxis, self.ax.yaxis, legend):
            if part is None or not part.get_visible():
                continue
            box = part.get_tightbbox(renderer) if part is not legend else part.get_window_extent(renderer)
            if box is not None and (box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5):
                return False
        return True

    def _hidden_draw(self) -> None:
        """A full draw with the moving artists hidden (the background).

        Matplotlib places a title while drawing the axes, and places a hidden one elsewhere: the
        moving texts keep the positions the last full draw with them visible gave them.
        """
        from matplotlib.text import Text

        visible = [a.get_visible() for a in self.moving]
        placed = [(a, a.get_position()) for a in self.moving if isinstance(a, Text)]
        for artist in self.moving:
            artist.set_visible(False)
        try:
            self.canvas.draw()
        finally:
            for artist, was in zip(self.moving, visible):
                artist.set_visible(was)
            for text, position in placed:
                text.set_position(position)

    def _draw_background(self) -> None:
        self._hidden_draw()
        if self.relayout and self._engine is not None and not self._labels_fit():
            self.fig.set_layout_engine(self._engine)
            self.canvas.draw()  # the layout engine runs with every artist in place
            self.fig.set_layout_engine("none")
            self.layouts += 1
            self.backgrounds.clear()  # drawn with the old layout
            self._hidden_draw()

    def frame(self) -> np.ndarray:
        """The current frame's RGBA pixels (a view of the canvas: copy it to keep it)."""
        key = self._key()
        if key not in self.backgrounds:
            self._draw_background()
            while len(self.backgrounds) >= self.max_backgrounds:
                self.backgrounds.pop(next(iter(self.backgrounds)))
            self.backgrounds[key] = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self.backgrounds[key])
        for artist in self.draw_order():
            if artist.get_visible():
                self.ax.draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba())

    def png(self) -> bytes:
        """The current frame as PNG bytes."""
        return _encode(self.frame())


def full_frame(fig) -> np.ndarray:
    """A full draw of ``fig`` now (every artist, in z-order), as a copy of its RGBA pixels."""
    canvas = _agg_canvas(fig)
    canvas.draw()
    return np.array(canvas.buffer_rgba())



def detached_title(ax, fontsize: float | None = None):
    """A copy of ``ax``'s title as a plain text artist (same place, font and colour); the axes title is cleared.

    A title that changes on every move is drawn as a moving artist over one background. The axes'
    own title would be moved up when a background is drawn with it hidden (Matplotlib places a title
    by its drawn extent, and a hidden title has none), so a plain text in its place is drawn instead.
    """
    title = ax.title
    text = ax.text(*title.get_position(), title.get_text(), transform=title.get_transform(),
                   ha=title.get_ha(), va=title.get_va(), fontproperties=title.get_fontproperties(),
                   color=title.get_color())
    if fontsize is not None:
        text.set_fontsize(fontsize)
    ax.set_title("")
    return text


def image_view(png: bytes | None = None) -> Any:
    """An ``ipywidgets.Image`` for a widget's figure; set ``.value`` to new PNG bytes to swap it in place."""
    import ipywidgets as w

    return w.Image(value=png or b"", format="png")
