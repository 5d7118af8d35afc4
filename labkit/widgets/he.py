"""The CKKS parameter explorer of ``08-homomorphic-encryption.ipynb``.

The compute function is :func:`labkit.he.ckks.check_params` (pure, unit-tested, about a
millisecond per call once SEAL's prime search is cached); this module only builds the view.
"""

from __future__ import annotations

from labkit.he.ckks import check_params, load_sweep


def ckks_explorer(poly_modulus_degree: int = 8192, coeff_mod_bit_sizes: str = "60, 40, 40, 60", scale_bits: int = 40):
    """A widget: N (dropdown), coefficient modulus bit sizes (text), scale bits (slider) -> report and figure.

    Invalid combinations are explained in words (see :func:`labkit.he.ckks.check_params`),
    never raised. Returns an ``ipywidgets.VBox``.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from labkit.plots import new_axes
    from labkit.plots.he import plot_modulus_budget

    sweep = load_sweep()
    degree = w.Dropdown(options=[1024, 2048, 4096, 8192, 16384, 32768], value=poly_modulus_degree,
                        description="N")
    bits = w.Text(value=coeff_mod_bit_sizes, description="bit sizes", continuous_update=False)
    scale = w.IntSlider(value=scale_bits, min=10, max=60, step=1, description="scale bits", continuous_update=False)

    def show(n: int, text: str, s: int) -> None:
        report = check_params(n, text, s, sweep)
        print(report.describe())
        fig, ax = new_axes(figsize=(6.4, 1.9))
        plot_modulus_budget(ax, report)
        plt.show()

    out = w.interactive_output(show, {"n": degree, "text": bits, "s": scale})
    return w.VBox([w.HBox([degree, scale]), bits, out])
