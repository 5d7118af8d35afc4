"""Bad-input campaign specs for the in-place figure updates the DP widgets use (see tests/campaign.py).

Each update is called on an ax its ``plot_*`` function has drawn (a figure the widget keeps), with a
new setting's result object.
"""

from campaign import Call, Fresh

P = "labkit.dp.plots:"


def _calib():
    from labkit.dp import noise_calibration

    return noise_calibration(2.0, 1.0, 100, 11)


def _dashboard():
    from labkit.dp import accountant_dashboard

    return accountant_dashboard(0.01, 1.1, 100, 1e-5, num_points=5)


def _drawn(plot, make):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.dp import plots

    ax = plt.figure().add_subplot()
    getattr(plots, plot)(ax, make())
    return ax


def _calibration_ax():
    from labkit.dp import noise_calibration

    return _drawn("plot_noise_calibration", lambda: noise_calibration(1.0, 1.0, 100, 11))


def _dashboard_ax():
    return _drawn("plot_epsilon_over_steps", _dashboard)


CALLS = [
    Call(P + "update_noise_calibration", dict(ax=Fresh(_calibration_ax), calib=Fresh(_calib)),
         skip={"ax": "a matplotlib Axes holding a plot_noise_calibration figure"}),
    Call(P + "update_epsilon_over_steps", dict(ax=Fresh(_dashboard_ax), dashboard=Fresh(_dashboard)),
         skip={"ax": "a matplotlib Axes holding a plot_epsilon_over_steps figure"}),
]

EXCLUDED: dict[str, str] = {}
