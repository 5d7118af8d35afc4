"""The CKKS parameter explorer of ``08-homomorphic-encryption.ipynb``.

The compute function is :func:`labkit.he.ckks.check_params` (pure, unit-tested, well under a
millisecond per call once SEAL's prime search is cached); this module only builds the view. The
view writes into an ``ipywidgets.Output`` by setting its outputs (``append_stdout`` /
``append_display_data``), so rendering sends no ``clear_output`` message and the notebook cell
that displays the widget stays stable under nbval.
"""

from __future__ import annotations

import io

from labkit import _validate as v
from labkit.he.ckks import check_params, load_sweep

DEGREES = (1024, 2048, 4096, 8192, 16384, 32768)
SCALE_RANGE = (10, 60)


def _figure_png(report) -> bytes:
    """The modulus-budget figure as PNG bytes (drawn without pyplot, so nothing auto-displays)."""
    from matplotlib.figure import Figure

    from labkit.he.plots import plot_modulus_budget

    fig = Figure(figsize=(6.4, 1.9), dpi=90, layout="constrained")
    plot_modulus_budget(fig.add_subplot(), report)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def ckks_explorer(poly_modulus_degree: int = 8192, coeff_mod_bit_sizes: str = "60, 40, 40, 60", scale_bits: int = 40):
    """A widget: N (dropdown), coefficient modulus bit sizes (text), scale bits (slider) -> report and figure.

    Invalid combinations are explained in words (see :func:`labkit.he.ckks.check_params`),
    never raised. The starting values themselves are checked: an N that is not in the dropdown,
    ``coeff_mod_bit_sizes`` that is not a string, or ``scale_bits`` outside the slider's 10 to 60
    raise a ValueError or TypeError naming the argument (the widget never clamps them silently).

    Returns:
        An ``ipywidgets.VBox`` with two named accessors for scripted use and tests:
        ``controls``, keyed by the :func:`~labkit.he.ckks.check_params` argument each sets
        (``{"poly_modulus_degree": Dropdown, "coeff_mod_bit_sizes": Text, "scale_bits":
        IntSlider}``), and ``output`` (the ``Output`` holding the report and the figure).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    import ipywidgets as w
    from IPython.display import Image

    v.choice("poly_modulus_degree", poly_modulus_degree, DEGREES)
    if not isinstance(coeff_mod_bit_sizes, str):
        raise TypeError(f"coeff_mod_bit_sizes must be a string such as '60, 40, 40, 60'; got {coeff_mod_bit_sizes!r}")
    v.integer("scale_bits", scale_bits, minimum=SCALE_RANGE[0], maximum=SCALE_RANGE[1])
    sweep = load_sweep()
    degree = w.Dropdown(options=list(DEGREES), value=poly_modulus_degree,
                        description="N")
    bits = w.Text(value=coeff_mod_bit_sizes, description="bit sizes", continuous_update=False)
    scale = w.IntSlider(value=scale_bits, min=SCALE_RANGE[0], max=SCALE_RANGE[1], step=1, description="scale bits", continuous_update=False)
    out = w.Output()

    def render(_change=None) -> None:
        report = check_params(degree.value, bits.value, scale.value, sweep)
        out.outputs = ()
        out.append_stdout(report.describe() + "\n")
        out.append_display_data(Image(data=_figure_png(report), format="png"))

    for control in (degree, bits, scale):
        control.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([degree, scale]), bits, out])
    box.controls = {"poly_modulus_degree": degree, "coeff_mod_bit_sizes": bits, "scale_bits": scale}
    box.output = out
    return box
