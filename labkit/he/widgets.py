"""The CKKS parameter explorer of ``08-homomorphic-encryption.ipynb``.

The compute function is :func:`labkit.he.ckks.check_params` (pure, unit-tested, well under a
millisecond per call once SEAL's prime search is cached); this module only builds the view. The
view keeps one Matplotlib figure and shows it in one ``ipywidgets.Image`` whose PNG is replaced
in place on every move (:mod:`labkit._widgets`; a scale move redraws only the title), and the report in an ``ipywidgets.HTML`` of fixed
height: nothing is cleared and refilled, so the widget never collapses between two frames and
the notebook cell that displays it stays stable under nbval.
"""

from __future__ import annotations

import html

from labkit import _validate as v
from labkit._widgets import Blitter, image_view
from labkit.i18n import tr
from labkit.he.ckks import check_params, load_sweep

DEGREES = (1024, 2048, 4096, 8192, 16384, 32768)
SCALE_RANGE = (10, 60)
REPORT_HEIGHT = "15em"  # the longest report (10 lines, two of them warnings that wrap) without a jump


def _report_html(report) -> str:
    """The report's text as preformatted HTML (wrapped, escaped)."""
    return ('<pre style="white-space: pre-wrap; margin: 0; font-size: 12px; line-height: 1.35">'
            f"{html.escape(report.describe())}</pre>")


def _bars(report) -> tuple:
    """What the modulus-budget figure shows besides its title: the primes, N and its limit."""
    return tuple(report.coeff_mod_bit_sizes), report.poly_modulus_degree, report.max_bits


def ckks_explorer(poly_modulus_degree: int = 8192, coeff_mod_bit_sizes: str = "60, 40, 40, 60", scale_bits: int = 40):
    """A widget: N (dropdown), coefficient modulus bit sizes (text), scale bits (slider) -> report and figure.

    Invalid combinations are explained in words (see :func:`labkit.he.ckks.check_params`),
    never raised. The starting values themselves are checked: an N that is not in the dropdown,
    ``coeff_mod_bit_sizes`` that is not a string, or ``scale_bits`` outside the slider's 10 to 60
    raise a ValueError or TypeError naming the argument (the widget never clamps them silently).

    Returns:
        An ``ipywidgets.VBox`` with named accessors for scripted use and tests:
        ``controls``, keyed by the :func:`~labkit.he.ckks.check_params` argument each sets
        (``{"poly_modulus_degree": Dropdown, "coeff_mod_bit_sizes": Text, "scale_bits":
        IntSlider}``), ``report`` (an ``ipywidgets.HTML`` of fixed height holding the report
        text), ``output`` (the figure: an ``ipywidgets.Image`` whose PNG is swapped in place on
        each move; also ``image``) and ``current()`` (the :class:`~labkit.he.ckks.CkksReport` shown).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    import ipywidgets as w
    from matplotlib.figure import Figure

    from labkit.he.plots import _budget_title, plot_modulus_budget

    v.choice("poly_modulus_degree", poly_modulus_degree, DEGREES)
    if not isinstance(coeff_mod_bit_sizes, str):
        raise TypeError(f"coeff_mod_bit_sizes must be a string such as '60, 40, 40, 60'; got {coeff_mod_bit_sizes!r}")
    v.integer("scale_bits", scale_bits, minimum=SCALE_RANGE[0], maximum=SCALE_RANGE[1])
    sweep = load_sweep()
    degree = w.Dropdown(options=list(DEGREES), value=poly_modulus_degree,
                        description="N")
    bits = w.Text(value=coeff_mod_bit_sizes, description=tr("bit sizes"), continuous_update=False)
    scale = w.IntSlider(value=scale_bits, min=SCALE_RANGE[0], max=SCALE_RANGE[1], step=1, description=tr("scale bits"), continuous_update=False)
    text = w.HTML(layout=w.Layout(height=REPORT_HEIGHT, overflow="auto"))
    image = image_view()
    # One figure (no pyplot, so nothing auto-displays), laid out once. The bars, the limit and the
    # legend depend on N and the primes only: a scale move redraws the title over the saved
    # background; new primes or a new N redraw the bars in place and the figure once.
    fig = Figure(figsize=(6.4, 1.9), dpi=90, layout="constrained")
    ax = fig.add_subplot()
    shown = [check_params(degree.value, bits.value, scale.value, sweep)]
    plot_modulus_budget(ax, shown[0])
    plotted = [_bars(shown[0])]
    canvas = Blitter(fig, ax, [ax.title], key=lambda: plotted[0])

    def render(_change=None) -> None:
        report = check_params(degree.value, bits.value, scale.value, sweep)
        shown[0] = report
        text.value = _report_html(report)
        if _bars(report) != plotted[0]:
            for artist in list(ax.patches) + list(ax.texts) + list(ax.lines):
                artist.remove()
            plot_modulus_budget(ax, report)
            plotted[0] = _bars(report)
        ax.set_title(_budget_title(report), fontsize=9)
        image.value = canvas.png()

    for control in (degree, bits, scale):
        control.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([degree, scale]), bits, text, image])
    box.controls = {"poly_modulus_degree": degree, "coeff_mod_bit_sizes": bits, "scale_bits": scale}
    box.output = box.image = image
    box.report = text
    box.current = lambda: shown[0]
    box.blitter = canvas
    return box
