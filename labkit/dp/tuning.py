"""Tuning DP-SGD at a fixed epsilon: a precomputed grid and the tuning explorer's compute function.

At a fixed privacy budget, batch size, number of epochs, clipping norm and learning rate are not
free: for each combination the accountant picks the noise multiplier that spends exactly the
budget, and the accuracy follows. :class:`GridConfig` is the recipe (digits, the MLP of notebook 04),
``data/sweeps/dpsgd_grid.npz`` holds its precomputed grid (``python -m tools.build_data
sweeps/dpsgd_grid.npz``), :func:`tuning_at` is the explorer's lookup and :func:`train_tuning_point`
trains one point live.

The learning rate follows a stated rule: ``learning_rate = step_size / l2_norm_clip``, so that
``step_size`` is the largest step the mean clipped gradient can take, whatever the clipping norm;
the grid tries a few step sizes. Choosing the best of them on the test set is optimistic, and on
private data the choice itself costs privacy (Papernot and Steinke 2022): :func:`tuning_at` says when
it picked the best step size.

Introduced in ``04-dp-sgd.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit.dp.accounting import dpsgd_noise_multiplier, dpsgd_steps
from labkit.dp.dpsgd import accuracy, make_mlp, reinitialize, train_dpsgd

GRID_FILE = "sweeps/dpsgd_grid.npz"

#: The arrays a grid holds (see :func:`build_grid`).
GRID_KEYS = frozenset({"target_epsilon", "batch_size", "l2_norm_clip", "epochs", "step_size", "seeds",
                       "noise_multiplier", "accuracy", "nonprivate_accuracy", "num_examples", "num_test",
                       "delta", "hidden"})


@dataclass(frozen=True)
class GridConfig:
    """The recipe and the axes of the fixed-epsilon tuning grid.

    Every point: digits, MLP ``hidden``, Poisson sampling with expected batch ``batch_size``,
    ``epochs`` epochs (``ceil(epochs * n / batch_size)`` steps), clipping norm ``l2_norm_clip``,
    learning rate ``step_size / l2_norm_clip``, and the noise multiplier that gives exactly
    ``target_epsilon`` at ``delta`` under the ``accountant`` (``labkit.dp.dpsgd_noise_multiplier``).
    Each point is trained once per seed in ``seeds``. The non-private reference trains each
    (batch size, epochs, step size) without clipping or noise at learning rate ``step_size``.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    dataset: str = "digits"
    hidden: tuple[int, ...] = (64,)
    targets: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    batch_sizes: tuple[int, ...] = (32, 128, 256, 512, 1024)
    clips: tuple[float, ...] = (0.1, 1.0, 10.0)
    epochs: tuple[int, ...] = (5, 10, 20, 40)
    step_sizes: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
    seeds: tuple[int, ...] = (0, 1, 2)
    delta: float = 1e-5
    accountant: str = "rdp"

    @staticmethod
    def learning_rate(l2_norm_clip: float, step_size: float) -> float:
        """The rule: ``step_size / l2_norm_clip`` (the mean clipped gradient moves at most ``step_size``)."""
        return float(step_size) / float(l2_norm_clip)

    def describe(self) -> str:
        return tr("{dataset}, MLP {hidden}-10, Poisson sampling, learning rate = step size / clip, delta = {delta:g}, "
                  "{accountant} accountant, {seeds} seeds per point").format(
            dataset=self.dataset, hidden="-".join(map(str, self.hidden)), delta=self.delta,
            accountant=self.accountant.upper(), seeds=len(self.seeds))


def _train(ds: Any, model: Any, *, batch_size: int, epochs: int, l2_norm_clip: float | None, noise_multiplier: float,
           learning_rate: float, seed: int, progress: Callable[[int, int], None] | None = None) -> float:
    """Train ``model`` (re-initialised for ``seed``) and return its test accuracy; NaN if it diverged."""
    reinitialize(model, seed)
    try:
        train_dpsgd(model, ds.x_train, ds.y_train, epochs=epochs, batch_size=batch_size, l2_norm_clip=l2_norm_clip,
                    noise_multiplier=noise_multiplier, learning_rate=learning_rate, seed=seed, progress=progress)
    except ValueError as err:
        if "diverged" in str(err):
            return math.nan
        raise
    return accuracy(model, ds.x_test, ds.y_test)


def train_grid_point(ds: Any, model: Any, target_epsilon: float, batch_size: int, l2_norm_clip: float, epochs: int,
                     step_size: float, seed: int, config: GridConfig | None = None, *,
                     noise_multiplier: float | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Train one point of the grid on ``ds`` with ``model`` (re-initialised for ``seed``).

    Returns ``(noise_multiplier, test_accuracy)``; the accuracy is NaN when training diverged. The
    noise multiplier is solved by the accountant unless given (the builder solves it once per
    (epsilon, batch size, epochs) and passes it). The ``make data`` builder reuses one model so that
    TensorFlow traces the loop once; :func:`train_tuning_point` is the same call on a fresh model.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    if config is not None and not isinstance(config, GridConfig):
        raise TypeError(f"config must be a GridConfig or None; got {v._got(config)}")
    cfg = config or GridConfig()
    n = len(ds.x_train)
    target_epsilon = v.positive("target_epsilon", target_epsilon)
    batch_size = v.count("batch_size", batch_size, maximum=n)
    epochs = v.count("epochs", epochs, maximum=10**4)
    clip = v.positive("l2_norm_clip", l2_norm_clip)
    step = v.positive("step_size", step_size)
    if cfg.learning_rate(clip, step) > 1e6:  # TensorFlow trains in float32
        raise ValueError(f"step_size / l2_norm_clip (the learning rate) must be at most 1e6; got step_size={step:g}, "
                         f"l2_norm_clip={clip:g}")
    if noise_multiplier is None:
        noise_multiplier = dpsgd_noise_multiplier(target_epsilon, n, batch_size, epochs, cfg.delta,
                                                  accountant=cfg.accountant)
    sigma = float(noise_multiplier)
    acc = _train(ds, model, batch_size=batch_size, epochs=epochs, l2_norm_clip=clip, noise_multiplier=sigma,
                 learning_rate=cfg.learning_rate(clip, step), seed=seed, progress=progress)
    return sigma, acc


def train_tuning_point(target_epsilon: float, batch_size: int, l2_norm_clip: float, epochs: int, step_size: float,
                       seed: int, config: GridConfig | None = None, *,
                       progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Train one configuration of the grid now, on a fresh model: ``(noise_multiplier, test_accuracy)``.

    The same arguments and seed give the model the grid stored (up to TensorFlow's float
    rounding). The explorer's "Train this point" button calls it with a fresh seed.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit import data

    if config is not None and not isinstance(config, GridConfig):
        raise TypeError(f"config must be a GridConfig or None; got {v._got(config)}")
    cfg = config or GridConfig()
    seed = v.integer("seed", seed, minimum=0)
    ds = data.load(cfg.dataset)
    model = make_mlp(ds.num_features, ds.num_classes, cfg.hidden, seed=seed)
    return train_grid_point(ds, model, target_epsilon, batch_size, l2_norm_clip, epochs, step_size, seed, cfg,
                            progress=progress)


def build_grid(config: GridConfig | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Train every point of the grid (and the non-private reference); the ``make data`` builder's work.

    Returns arrays: the axes ``target_epsilon`` (e,), ``batch_size`` (b,), ``l2_norm_clip`` (c,),
    ``epochs`` (k,), ``step_size`` (s,), ``seeds`` (r,); ``noise_multiplier`` (e, b, k);
    ``accuracy`` (e, b, c, k, s, r) (NaN where training diverged); ``nonprivate_accuracy``
    (b, k, s, r); and the scalars ``num_examples``, ``num_test``, ``delta`` and ``hidden``.
    ``progress(done, total)`` is called after each trained model.

    Introduced in ``04-dp-sgd.ipynb`` (regenerated by ``python -m tools.build_data sweeps/dpsgd_grid.npz``).
    """
    from labkit import data

    if config is not None and not isinstance(config, GridConfig):
        raise TypeError(f"config must be a GridConfig or None; got {v._got(config)}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable progress(done, total) or None; got {v._got(progress)}")
    cfg = config or GridConfig()
    ds = data.load(cfg.dataset)
    n = len(ds.x_train)
    model = make_mlp(ds.num_features, ds.num_classes, cfg.hidden, seed=0)  # reused: traced once
    e, b, c, k, s, r = (len(cfg.targets), len(cfg.batch_sizes), len(cfg.clips), len(cfg.epochs),
                        len(cfg.step_sizes), len(cfg.seeds))
    sigmas = np.zeros((e, b, k))
    acc = np.full((e, b, c, k, s, r), np.nan)
    ref = np.full((b, k, s, r), np.nan)
    total, done = e * b * c * k * s * r + b * k * s * r, 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    for ib, batch in enumerate(cfg.batch_sizes):
        for ik, ep in enumerate(cfg.epochs):
            for ie, eps in enumerate(cfg.targets):
                sigmas[ie, ib, ik] = dpsgd_noise_multiplier(eps, n, batch, ep, cfg.delta, accountant=cfg.accountant)
                for ic, clip in enumerate(cfg.clips):
                    for i_s, step in enumerate(cfg.step_sizes):
                        for ir, seed in enumerate(cfg.seeds):
                            acc[ie, ib, ic, ik, i_s, ir] = train_grid_point(
                                ds, model, eps, batch, clip, ep, step, seed, cfg,
                                noise_multiplier=sigmas[ie, ib, ik])[1]
                            tick()
            for i_s, step in enumerate(cfg.step_sizes):
                for ir, seed in enumerate(cfg.seeds):
                    ref[ib, ik, i_s, ir] = _train(ds, model, batch_size=batch, epochs=ep, l2_norm_clip=None,
                                                  noise_multiplier=0.0, learning_rate=step, seed=seed)
                    tick()
    return {"target_epsilon": np.asarray(cfg.targets, dtype=np.float64),
            "batch_size": np.asarray(cfg.batch_sizes, dtype=np.int64),
            "l2_norm_clip": np.asarray(cfg.clips, dtype=np.float64),
            "epochs": np.asarray(cfg.epochs, dtype=np.int64),
            "step_size": np.asarray(cfg.step_sizes, dtype=np.float64),
            "seeds": np.asarray(cfg.seeds, dtype=np.int64),
            "noise_multiplier": sigmas, "accuracy": acc, "nonprivate_accuracy": ref,
            "num_examples": np.int64(n), "num_test": np.int64(len(ds.x_test)), "delta": np.float64(cfg.delta),
            "hidden": np.asarray(cfg.hidden, dtype=np.int64)}


def load_tuning_grid() -> dict[str, np.ndarray]:
    """The precomputed grid from ``data/sweeps/dpsgd_grid.npz`` (verified against the manifest).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.data import load_arrays

    return load_arrays(GRID_FILE)


# --------------------------------------------------------------------------------------------
# The explorer's compute function
# --------------------------------------------------------------------------------------------


def _check_grid(grid: Any) -> dict:
    if not isinstance(grid, dict) or not GRID_KEYS <= set(grid):
        raise TypeError(f"grid must be the dict of arrays load_tuning_grid() returns; got {v._got(grid)}")
    return grid


def _index(name: str, value: Any, axis: np.ndarray) -> int:
    """The position of ``value`` on a grid axis; a ValueError listing the axis when it is not there."""
    options = ", ".join(f"{x:g}" for x in axis.tolist())
    if not v.is_real(value):
        raise TypeError(f"{name} must be one of the grid's values {options}; got {v._got(value)}")
    hit = np.flatnonzero(np.isclose(axis.astype(np.float64), float(value), rtol=1e-9, atol=0.0))
    if not hit.size:
        raise ValueError(f"{name} must be one of the grid's values {options}; got {value!r} (not in the grid)")
    return int(hit[0])


def _mean_se(values: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard error and count of the finite values (NaN, NaN, 0 when none is finite)."""
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return math.nan, math.nan, 0
    se = float(ok.std(ddof=1) / math.sqrt(ok.size)) if ok.size > 1 else math.nan
    return float(ok.mean()), se, int(ok.size)


@dataclass(frozen=True)
class TuningPoint:
    """One configuration of the grid, as the explorer shows it.

    ``accuracy`` is the mean test accuracy over ``num_seeds`` seeds and ``stderr`` its standard
    error (sample sd / sqrt(seeds)); ``accuracies`` the seeds' values (NaN for a seed whose
    training diverged, which the mean leaves out). ``best_step`` says the step size was not given
    but picked as the best mean over the grid's step sizes (an optimistic choice that, on private
    data, costs privacy). ``steps`` is ``ceil(epochs * num_examples / batch_size)``.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    target_epsilon: float
    batch_size: int
    l2_norm_clip: float
    epochs: int
    step_size: float
    learning_rate: float
    noise_multiplier: float
    steps: int
    accuracy: float
    stderr: float
    num_seeds: int
    accuracies: tuple[float, ...]
    nonprivate_accuracy: float
    best_step: bool
    diverged: int = 0

    def describe(self) -> str:
        """One sentence with the point's setting, noise multiplier, steps and accuracy +/- its standard error."""
        how = tr("best of the grid's step sizes") if self.best_step else tr("given")
        acc = (tr("every seed diverged") if self.num_seeds == 0 else
               tr("test accuracy {accuracy:.3f} +/- {stderr:.3f} (standard error over {seeds} seeds)").format(
                   accuracy=self.accuracy, stderr=self.stderr, seeds=self.num_seeds))
        extra = (tr("; {diverged} seed(s) diverged").format(diverged=self.diverged)
                 if self.diverged and self.num_seeds else "")
        return tr("epsilon {epsilon:g}, batch {batch}, clip {clip:g}, {epochs} epochs = {steps} steps, step size "
                  "{step:g} ({how}; learning rate {lr:g}): noise multiplier {sigma:.3f}; {acc}{extra}").format(
            epsilon=self.target_epsilon, batch=self.batch_size, clip=self.l2_norm_clip, epochs=self.epochs,
            steps=self.steps, step=self.step_size, how=how, lr=self.learning_rate, sigma=self.noise_multiplier,
            acc=acc, extra=extra)

    def __repr__(self) -> str:
        return f"TuningPoint({self.describe()})"


def tuning_at(grid: dict, target_epsilon: float, batch_size: int, l2_norm_clip: float, epochs: int,
              step_size: float | None = None) -> TuningPoint:
    """The explorer's compute function: the grid's noise multiplier, steps and accuracy at one configuration.

    Every argument must be one of the grid's values (no interpolation: a value between grid
    points raises a ValueError that lists the grid's values). ``step_size`` None picks the step
    size with the best mean accuracy over seeds (the point says so: ``best_step``). No training.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    g = _check_grid(grid)
    ie = _index("target_epsilon", target_epsilon, g["target_epsilon"])
    ib = _index("batch_size", batch_size, g["batch_size"])
    ic = _index("l2_norm_clip", l2_norm_clip, g["l2_norm_clip"])
    ik = _index("epochs", epochs, g["epochs"])
    runs = np.asarray(g["accuracy"], dtype=np.float64)[ie, ib, ic, ik]  # (step sizes, seeds)
    if step_size is None:
        means = np.array([_mean_se(row)[0] for row in runs])
        i_s = int(np.nanargmax(means)) if np.isfinite(means).any() else 0
    else:
        i_s = _index("step_size", step_size, g["step_size"])
    mean, se, k = _mean_se(runs[i_s])
    step = float(g["step_size"][i_s])
    clip = float(g["l2_norm_clip"][ic])
    batch, ep, n = int(g["batch_size"][ib]), int(g["epochs"][ik]), int(g["num_examples"])
    ref = np.asarray(g["nonprivate_accuracy"], dtype=np.float64)[ib, ik]
    ref_best = max((_mean_se(row)[0] for row in ref), default=math.nan)
    return TuningPoint(float(g["target_epsilon"][ie]), batch, clip, ep, step, GridConfig.learning_rate(clip, step),
                       float(g["noise_multiplier"][ie, ib, ik]), dpsgd_steps(n, batch, ep), mean, se, k,
                       tuple(float(a) for a in runs[i_s]), float(ref_best), step_size is None,
                       int(runs.shape[1] - k))


@dataclass(frozen=True)
class TuningSlice:
    """Accuracy over batch size, one row per epochs setting, at one epsilon and clipping norm (the figure's lines).

    ``accuracy`` and ``stderr`` have shape (epochs settings, batch sizes); ``step_size`` holds the
    step size used at each cell (the given one, or the best per cell when ``best_step``).

    Introduced in ``04-dp-sgd.ipynb``.
    """

    target_epsilon: float
    l2_norm_clip: float
    batch_sizes: tuple[int, ...]
    epochs: tuple[int, ...]
    accuracy: np.ndarray
    stderr: np.ndarray
    step_size: np.ndarray
    best_step: bool


def tuning_slice(grid: dict, target_epsilon: float, l2_norm_clip: float, step_size: float | None = None) -> TuningSlice:
    """Every (epochs, batch size) cell of the grid at one epsilon and clipping norm (see :class:`TuningSlice`).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    g = _check_grid(grid)
    batches = tuple(int(b) for b in g["batch_size"])
    epochs = tuple(int(k) for k in g["epochs"])
    acc = np.full((len(epochs), len(batches)), np.nan)
    se, steps = acc.copy(), acc.copy()
    for ik, ep in enumerate(epochs):
        for ib, b in enumerate(batches):
            p = tuning_at(g, target_epsilon, b, l2_norm_clip, ep, step_size)
            acc[ik, ib], se[ik, ib], steps[ik, ib] = p.accuracy, p.stderr, p.step_size
    return TuningSlice(float(target_epsilon), float(l2_norm_clip), batches, epochs, acc, se, steps, step_size is None)


@dataclass(frozen=True)
class Difference:
    """``a.accuracy - b.accuracy`` with a 95% Welch interval over the two points' seeds.

    ``significant`` is True when the interval excludes 0; otherwise the two are indistinguishable
    at this number of seeds.

    Introduced in ``04-dp-sgd.ipynb``.
    """

    difference: float
    low: float
    high: float
    dof: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def describe(self) -> str:
        verdict = tr("the intervals separate them") if self.significant else tr("indistinguishable")
        return tr("{difference:+.3f} (95% Welch interval [{low:+.3f}, {high:+.3f}], {dof:.1f} degrees of freedom): "
                  "{verdict}").format(difference=self.difference, low=self.low, high=self.high, dof=self.dof,
                                      verdict=verdict)


def accuracy_difference(a: TuningPoint, b: TuningPoint) -> Difference:
    """The difference of two grid points' mean accuracies, with a 95% Welch t interval.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from scipy import stats

    for name, p in (("a", a), ("b", b)):
        if not isinstance(p, TuningPoint):
            raise TypeError(f"{name} must be a TuningPoint (tuning_at(...)); got {v._got(p)}")
        if p.num_seeds < 2:
            raise ValueError(f"{name} must have at least 2 finite seeds for an interval; got {p.num_seeds}")
    xa = np.asarray(a.accuracies, dtype=np.float64)
    xb = np.asarray(b.accuracies, dtype=np.float64)
    xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    diff = float(xa.mean() - xb.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(diff, diff, diff, math.inf)
    dof = (va + vb) ** 2 / ((va ** 2 / (xa.size - 1) if va else 0.0) + (vb ** 2 / (xb.size - 1) if vb else 0.0))
    half = float(stats.t.ppf(0.975, dof)) * se
    return Difference(diff, diff - half, diff + half, float(dof))
