"""Helpers shared by the widget tests of every track: a widget's tree, and a PNG frame's pixels and size."""

from __future__ import annotations

import io
from typing import Any, Iterator

import numpy as np


def widgets_in(widget: Any) -> Iterator[Any]:
    """The widget and every widget inside it (depth first)."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from widgets_in(child)


def pixels(png: bytes) -> np.ndarray:
    """The RGB pixels of PNG bytes, as an (height, width, 3) array."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes."""
    from PIL import Image

    return Image.open(io.BytesIO(png)).size
