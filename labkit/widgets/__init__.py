"""Widget views, one module per track (``labkit.widgets.dp``, ``.fl``, ``.he``, ``.smpc``).

Each widget is split in two: a pure compute function in the track's module (no ipywidgets
import, unit-tested, fast enough for 100 ms per slider move) and a view here, built from
``ipywidgets`` controls with ``interactive_output``/``Output`` (never ``@interact``, which breaks
nbval). The view's cell shows only the widget; its figure is drawn into an ``Output``.
"""
