"""Gradient inversion (labkit.fl.attacks, notebook 06): the exact softmax inversion against the client's
own work (one example's gradient), one DLG attack at the notebook's setting (64-32-10 MLP, batch 4,
300 Adam steps, TensorFlow), the stronger attack on the sum of 10 one-digit clients (batch 10), and the
inversion explorer's slider move, uncached (one attack plus the figure) and cached (the figure only)."""

from __future__ import annotations

import contextlib
import io
import statistics

from benchmarks.harness import Comparison, Measurement, seconds


def _softmax_case():
    import numpy as np

    from labkit import data, fl

    d = data.load("digits")
    w0 = fl.init_weights(64, 10, np.random.default_rng(0))
    x, y = d.x_train[5:6], d.y_train[5:6]
    _, (gw, gb) = fl.loss_and_gradients(w0, x, y)
    return (lambda: fl.invert_softmax_gradient(gw, gb)), (lambda: fl.loss_and_gradients(w0, x, y))


_INVERT, _GRADIENT = None, None


def _pair():
    global _INVERT, _GRADIENT
    if _INVERT is None:
        _INVERT, _GRADIENT = _softmax_case()
    return _INVERT, _GRADIENT


def _dlg_seconds() -> float:
    import numpy as np

    from labkit import data, fl

    d = data.load("digits")
    mlp = fl.init_mlp(np.random.default_rng(0))
    x, y = d.x_train[:4], d.y_train[:4]
    g = fl.mlp_gradients(mlp, x, y)
    fl.dlg_attack(g, mlp, 4, steps=50, rng=0)  # tracing the compiled loop is a one-off
    return statistics.median(seconds(lambda s=s: fl.dlg_attack(g, mlp, 4, rng=s)) for s in range(5))


def _whole_sum_seconds() -> float:
    import numpy as np

    from labkit import data, fl

    d = data.load("digits")
    mlp = fl.init_mlp(np.random.default_rng(0))
    idx = np.random.default_rng(10).choice(len(d.y_train), 10, replace=False)
    g = fl.observed_gradient(mlp, [(d.x_train[i:i + 1], d.y_train[i:i + 1]) for i in idx])
    fl.dlg_attack(g, mlp, 10, d.y_train[idx], steps=50, rng=0)  # tracing for batch 10 is a one-off
    return statistics.median(seconds(lambda s=s: fl.dlg_attack(g, mlp, 10, d.y_train[idx], rng=s)) for s in range(5))


def _slider_ms(cached: bool) -> float:
    from labkit.fl import attacks
    from labkit.fl.widgets import inversion_explorer
    from labkit.style import use_style

    use_style()
    with contextlib.redirect_stdout(io.StringIO()):  # Output.clear_output prints escapes outside a kernel
        view = inversion_explorer(batch_size=4)
        z = view.controls["noise_multiplier"]
        times = []
        values = attacks.INVERSION_GRID["noise_multiplier"][1:] + (0.0,)
        if cached:
            for value in values:  # untimed: every point computed once, so the timed moves only redraw
                z.value = value
        for value in values:
            if not cached:
                attacks._inversion_point.cache_clear()
            times.append(seconds(lambda v=value: setattr(z, "value", v)))
    return 1e3 * statistics.median(times)


def rows() -> list:
    return [
        Comparison("invert_softmax_gradient: one digit from its update (vs the client computing that update)",
                   lambda: _pair()[0](), lambda: _pair()[1](), "loss_and_gradients, 1 example", repeats=21,
                   note="softmax regression 64 x 10"),
        Measurement("DLG attack at notebook 06's setting (batch 4, 300 Adam steps), median of 5 seeds", _dlg_seconds, "s",
                    note="after a one-off trace"),
        Measurement("DLG on the sum of 10 one-digit clients (batch 10, 300 Adam steps), median of 5 seeds",
                    _whole_sum_seconds, "s", note="notebook 06's stronger attacker; after a one-off trace"),
        Measurement("inversion widget: slider move, uncached (one attack + figure), median", lambda: _slider_ms(False),
                    "ms", "<= 100 ms"),
        Measurement("inversion widget: slider move, cached (figure only), median", lambda: _slider_ms(True), "ms",
                    "<= 100 ms"),
    ]
