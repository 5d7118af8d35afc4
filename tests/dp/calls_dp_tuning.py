"""Bad-input campaign specs for labkit.dp.tuning and its figure and widget (see tests/campaign.py).

The grid is the stored one (data/sweeps/dpsgd_grid.npz); the training calls use two epochs on digits.
"""

from campaign import Call, Fresh

T = "labkit.dp.tuning:"
P = "labkit.dp.plots:"
W = "labkit.dp.widgets:"


def _grid():
    from labkit.dp.tuning import load_tuning_grid

    return load_tuning_grid()


def _point():
    from labkit.dp.tuning import tuning_at

    return tuning_at(_grid(), 1.0, 128, 1.0, 10, 1.0)


def _other():
    from labkit.dp.tuning import tuning_at

    return tuning_at(_grid(), 1.0, 512, 1.0, 40, 1.0)


def _slice():
    from labkit.dp.tuning import tuning_slice

    return tuning_slice(_grid(), 1.0, 1.0, None)


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    from labkit.style import new_axes

    return new_axes()[1]


def _digits():
    from labkit import data

    return data.load("digits")


def _model():
    from labkit.dp.dpsgd import make_mlp

    return make_mlp(64, 10, (8,), seed=0)


CALLS = [
    Call(T + "tuning_at", dict(grid=Fresh(_grid), target_epsilon=1.0, batch_size=128, l2_norm_clip=1.0, epochs=10,
                               step_size=1.0),
         accepts={"step_size": {"none"}}),  # None: the best step size of the grid (documented)
    Call(T + "tuning_slice", dict(grid=Fresh(_grid), target_epsilon=1.0, l2_norm_clip=1.0, step_size=1.0),
         accepts={"step_size": {"none"}}),
    Call(T + "accuracy_difference", dict(a=Fresh(_point), b=Fresh(_other)), kinds={"a": "object", "b": "object"}),
    Call(T + "train_tuning_point", dict(target_epsilon=4.0, batch_size=256, l2_norm_clip=1.0, epochs=2, step_size=1.0,
                                        seed=0, config=None, progress=None),
         accepts={"config": {"none"}, "progress": {"none"}, "seed": {"zero"},  # seed 0 is a seed
                  # 1e300 epsilon: the accountant's noise multiplier for it is tiny but valid
                  "target_epsilon": {"huge"}},
         skip={"progress": "a callback"}, timeout=60.0),
    Call(T + "train_grid_point", dict(ds=Fresh(_digits), model=Fresh(_model), target_epsilon=4.0, batch_size=256,
                                      l2_norm_clip=1.0, epochs=2, step_size=1.0, seed=0, config=None,
                                      noise_multiplier=None, progress=None),
         accepts={"config": {"none"}, "noise_multiplier": {"none"}, "progress": {"none"}, "target_epsilon": {"huge"}},
         skip={"ds": "a labkit.data dataset", "model": "a Keras model (make_mlp)", "progress": "a callback",
               "seed": "passed to train_dpsgd, which checks it", "noise_multiplier": "checked by train_dpsgd"},
         timeout=60.0),
    Call(P + "plot_tuning", dict(ax=Fresh(_ax), tuning_slice=Fresh(_slice), point=None, live=(), ylim=None),
         skip={"ax": "a matplotlib Axes", "point": "a TuningPoint or None", "live": "optional points",
               "ylim": "optional (low, high), passed to Matplotlib"},
         kinds={"tuning_slice": "object"}),
    # Values off the grid move to the nearest grid value and the status line says so (documented).
    Call(W + "tuning_explorer", dict(target_epsilon=1.0, batch_size=256, l2_norm_clip=1.0, epochs=20, step_size=1.0,
                                     grid=Fresh(_grid)),
         accepts={"target_epsilon": {"huge"}, "batch_size": {"huge", "fraction"}, "l2_norm_clip": {"huge"},
                  "epochs": {"huge", "fraction"}, "step_size": {"none", "huge"}, "grid": {"none"}},
         timeout=60.0),
]

EXCLUDED = {
    "labkit.dp.tuning:GridConfig": "a frozen recipe of constants (the precomputed grid's)",
    "labkit.dp.tuning:TuningPoint": "a result dataclass (built by tuning_at)",
    "labkit.dp.tuning:TuningSlice": "a result dataclass (built by tuning_slice)",
    "labkit.dp.tuning:Difference": "a result dataclass (built by accuracy_difference)",
    "labkit.dp.tuning:load_tuning_grid": "no arguments (loads a verified data file)",
    "labkit.dp.tuning:build_grid": "minutes per call (the make data builder); its config is a GridConfig, checked",
    "labkit.dp.plots:update_tuning": "moves the artists of a plot_tuning figure; its inputs come from plot_tuning's",
}
