"""The models federated training runs, behind one small interface on flat parameter vectors.

A model here is a shape and a few pure functions of a *flat* parameter vector ``params`` (one
1-D NumPy array: every weight, then every bias). The federated code (:mod:`labkit.fl.fedavg`,
:mod:`labkit.fl.dp_fedavg`, :mod:`labkit.fl.aggregation`) sees only flat vectors, so a client's
update is ``new - old``, a clip is one norm and an aggregator sums vectors:

- :class:`SoftmaxRegression`: ``x @ W + b`` with a softmax, float32 (notebooks 06 and 07,
  compared with TensorFlow Federated's Keras model of the same shape);
- :class:`LogisticRegression`: ``x @ w + b`` with a sigmoid, float64 (notebook 10's hospitals).

Each has ``num_params``, ``dtype``, ``init``, ``loss_and_gradient`` (mean loss over a batch and
its gradient, flat), ``per_example_gradients`` (one array per layer, for DP-SGD's clipping),
``predict`` and ``accuracy``; ``layers`` / ``flatten`` convert to and from the per-layer form.

Introduced in ``06-federated-averaging.ipynb``; the logistic model in ``10-capstone-hospitals.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from labkit import _validate as v


class FlatModel(Protocol):
    """What federated training needs from a model (every argument ``params`` is a flat vector)."""

    num_params: int
    dtype: type

    def init(self, rng: np.random.Generator) -> np.ndarray: ...

    def layers(self, params: np.ndarray) -> list[np.ndarray]: ...

    def flatten(self, layers: Sequence[np.ndarray]) -> np.ndarray: ...

    def loss_and_gradient(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]: ...

    def per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]: ...

    def predict(self, params: np.ndarray, x: np.ndarray) -> np.ndarray: ...

    def accuracy(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float: ...


MAX_FEATURES = 10**6
"""The most input features a model may have (a bound: a 10^9-feature model would not fit in memory)."""
MAX_CLASSES = 10**4
"""The most classes a softmax model may have."""


def _numbers(name: str, value: np.ndarray, ndim: int, allow_empty: bool, finite: bool = True) -> np.ndarray:
    """``value`` as a finite array of numbers of ``ndim`` dimensions, in its own dtype (no conversion:
    float32 stays float32, float64 stays float64, as the computations below always did)."""
    if finite:
        arr = v.finite_array(name, value, ndim=ndim, dtype=None, allow_empty=allow_empty)
    else:  # shape and kind only: a diverged model (all NaN) is still cut into its layers
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be an array of numbers; got {value!r}")
        arr = np.asarray(value)
        if arr.ndim != ndim:
            raise ValueError(f"{name} must have {ndim} dimension{'s' if ndim != 1 else ''}; got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be an array of numbers; got dtype {arr.dtype}")
    return arr


def _check_params(params: np.ndarray, num_params: int, dtype: type, finite: bool = True) -> np.ndarray:
    """``params`` as a finite 1-D array of ``num_params`` entries (a ValueError/TypeError naming it)."""
    arr = _numbers("params", params, 1, False, finite)
    if arr.size != num_params:
        raise ValueError(f"params must have {num_params} entries for this model; got {arr.size}")
    return arr


def _check_layers(layers: Sequence[np.ndarray], shapes: list[tuple[int, ...]]) -> None:
    """``layers`` must be one finite numeric array per layer, of ``shapes`` (sizes may also match flat)."""
    if layers is None or isinstance(layers, (str, bytes)) or v.is_real(layers) or \
            isinstance(layers, np.ndarray) and layers.ndim < 2 or len(layers) != len(shapes):
        raise TypeError(f"layers must be {len(shapes)} arrays of shapes {shapes}; got {layers!r}"[:200])
    for i, (a, shape) in enumerate(zip(layers, shapes)):
        arr = _numbers(f"layers[{i}]", a, np.ndim(a), True, finite=False)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"layers[{i}] must have shape {shape}; got {arr.shape}")


def _check_x(x: np.ndarray, num_features: int, dtype: type) -> np.ndarray:
    """``x`` as a finite [n, num_features] array."""
    arr = _numbers("x", x, 2, True)
    if arr.shape[1] != num_features:
        raise ValueError(f"x must have {num_features} columns (the model's features); got shape {arr.shape}")
    return arr


def _check_y(y: np.ndarray, n: int, *, num_classes: int | None = None) -> np.ndarray:
    """``y`` as n labels: integers in [0, num_classes) for softmax regression; for logistic
    regression (``num_classes`` None) numbers in [0, 1] (0/1 labels, or soft labels: the log loss is
    defined for any target probability)."""
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of labels; got {y!r}")
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"y must hold one label per row of x ({n}); got shape {arr.shape}")
    if not arr.size:
        return arr
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_) and num_classes is not None:
        raise TypeError(f"y must be an array of numeric labels; got dtype {arr.dtype}")
    if num_classes is None:
        if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError("y must hold labels in [0, 1]; got NaN, inf or values outside")
        return arr
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise ValueError(f"y must hold integer labels; got dtype {arr.dtype} with NaN, inf or fractions")
    if arr.min() < 0 or arr.max() >= num_classes:
        raise ValueError(f"y must hold labels in [0, {num_classes - 1}]; got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64, copy=False)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SoftmaxRegression:
    """Softmax regression (one dense layer ``x @ W + b``) in float32; ``params = [W.ravel(), b]``.

    Introduced in ``06-federated-averaging.ipynb``.
    """

    num_features: int
    num_classes: int
    dtype: type = np.float32

    def __post_init__(self) -> None:
        v.count("num_features", self.num_features, maximum=MAX_FEATURES)
        v.count("num_classes", self.num_classes, maximum=MAX_CLASSES)

    @property
    def num_params(self) -> int:
        return self.num_features * self.num_classes + self.num_classes

    def layers(self, params: np.ndarray) -> list[np.ndarray]:
        """``[W (features x classes), b (classes,)]``: views into ``params``."""
        params = _check_params(params, self.num_params, self.dtype, finite=False)
        cut = self.num_features * self.num_classes
        return [params[:cut].reshape(self.num_features, self.num_classes), params[cut:]]

    def flatten(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """The flat vector of ``[W, b]`` (a new float32 array)."""
        _check_layers(layers, [(self.num_features, self.num_classes), (self.num_classes,)])
        return np.concatenate([np.asarray(a, dtype=self.dtype).ravel() for a in layers])

    def init(self, rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
        """W ~ N(0, scale^2), b = 0, float32 (drawn as a [features, classes] matrix)."""
        rng = v.generator(rng)
        v.nonnegative("scale", scale)
        with np.errstate(over="ignore"):
            w = (rng.standard_normal((self.num_features, self.num_classes)) * scale).astype(self.dtype)
        if not np.all(np.isfinite(w)):
            raise ValueError(f"scale = {scale!r} overflows {np.dtype(self.dtype).name} weights; use a small scale")
        return self.flatten([w, np.zeros(self.num_classes, dtype=self.dtype)])

    def logits(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``x @ W + b`` for every row of ``x`` (both checked: finite, of the model's shape)."""
        return self._raw_logits(_check_params(params, self.num_params, self.dtype),
                                _check_x(x, self.num_features, self.dtype))

    # The _raw_ methods skip the checks: the SGD loop checks its data once (:meth:`_check_data`),
    # then calls them for every batch.

    def _check_data(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = _check_x(x, self.num_features, self.dtype)
        return x, _check_y(y, len(x), num_classes=self.num_classes)

    def _raw_logits(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        cut = self.num_features * self.num_classes
        return x @ params[:cut].reshape(self.num_features, self.num_classes) + params[cut:]

    def _raw_loss_and_gradient(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        p = _softmax(self._raw_logits(params, x))
        n = len(y)
        loss = float(-np.mean(np.log(p[np.arange(n), y] + 1e-12)))
        g = p
        g[np.arange(n), y] -= 1.0
        g /= np.float32(n)
        return loss, np.concatenate([np.asarray(a, dtype=self.dtype).ravel() for a in (x.T @ g, g.sum(axis=0))])

    def _raw_per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        g = _softmax(self._raw_logits(params, x))
        g[np.arange(len(y)), y] -= 1.0
        return [x[:, :, None] * g[:, None, :], g]

    def loss_and_gradient(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean cross-entropy on a batch and its flat gradient ``[dW.ravel(), db]`` (float32)."""
        x, y = self._check_data(x, y)
        if len(y) == 0:
            raise ValueError("x and y must hold at least one example; got none")
        return self._raw_loss_and_gradient(_check_params(params, self.num_params, self.dtype), x, y)

    def per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """One gradient per example: ``[(n, features, classes), (n, classes)]``."""
        x, y = self._check_data(x, y)
        return self._raw_per_example_gradients(_check_params(params, self.num_params, self.dtype), x, y)

    def predict(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(params, x), axis=1)

    def accuracy(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        """Share of examples whose highest logit is the true class."""
        pred = self.predict(params, x)
        y = _check_y(y, len(pred), num_classes=self.num_classes)
        if len(y) == 0:
            raise ValueError("x and y must hold at least one example; got none")
        return float(np.mean(pred == y))


@dataclass(frozen=True)
class LogisticRegression:
    """Binary logistic regression in float64; ``params = [w_1..w_d, b]`` (the bias last).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    num_features: int
    dtype: type = np.float64

    def __post_init__(self) -> None:
        v.count("num_features", self.num_features, maximum=MAX_FEATURES)

    @property
    def num_params(self) -> int:
        return self.num_features + 1

    def layers(self, params: np.ndarray) -> list[np.ndarray]:
        """``[w (features,), b (1,)]``: views into ``params``."""
        params = _check_params(params, self.num_params, self.dtype, finite=False)
        return [params[:-1], params[-1:]]

    def flatten(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """The flat vector of ``[w, b]`` (a new float64 array)."""
        _check_layers(layers, [(self.num_features,), (1,)])
        return np.concatenate([np.asarray(a, dtype=self.dtype).ravel() for a in layers])

    def init(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """All zeros (the log loss is convex: no symmetry to break); ``rng`` is checked, not used."""
        if rng is not None:
            v.generator(rng)
        return np.zeros(self.num_params, dtype=self.dtype)

    def logits(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The logit w.x + b of every row of ``x``."""
        x = v.finite_array("x", x, ndim=2, allow_empty=True)
        params = v.finite_array("params", params, ndim=1)
        if x.shape[1] + 1 != params.size:
            raise ValueError(f"params must have {x.shape[1] + 1} entries (weights and a bias) for x of shape "
                             f"{x.shape}; got {params.shape}")
        return self._raw_logits(params, x)

    # The _raw_ methods skip the checks: the SGD loop checks its data once (:meth:`_check_data`),
    # then calls them for every batch.

    def _check_data(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = v.finite_array("x", x, ndim=2, allow_empty=True)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} columns (the model's features); got shape {x.shape}")
        return x, _check_y(y, len(x))

    @staticmethod
    def _raw_logits(params: np.ndarray, x: np.ndarray) -> np.ndarray:
        return x @ params[:-1] + params[-1]

    def _raw_per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        err = self._error(self._raw_logits(params, x), y)
        return [err[:, None] * x, err]

    @staticmethod
    def _error(z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """sigmoid(z) - y per example: the factor of every gradient of the log loss."""
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))) - np.asarray(y, dtype=np.float64)

    def per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Per-example gradients of the log loss: ``[(n, d) for the weights, (n,) for the bias]``.

        The gradient of example i is (sigmoid(z_i) - y_i) * [x_i, 1]: no automatic
        differentiation needed. The list form is what :func:`labkit.dp.dpsgd.clip_and_sum` takes.
        """
        x, y = self._check_data(x, y)
        return self._raw_per_example_gradients(_check_params(params, self.num_params, np.float64), x, y)

    def loss_and_gradient(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean log loss on a batch and its flat gradient (the mean of the per-example gradients)."""
        z = self.logits(params, x)
        y = _check_y(y, len(z))
        if len(y) == 0:
            raise ValueError("x and y must hold at least one example; got none")
        err = self._error(z, y)
        gw = err[:, None] * np.asarray(x, dtype=np.float64)
        loss = float(np.mean(np.logaddexp(0.0, z) - np.asarray(y, dtype=np.float64) * z))
        return loss, np.r_[gw.mean(axis=0), err.mean()]

    def predict(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """1 where the logit is positive (benign in scikit-learn's breast-cancer labels), else 0."""
        return (self.logits(params, x) > 0).astype(np.int64)

    def accuracy(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        """Share of examples whose predicted label is ``y``."""
        pred = self.predict(params, x)
        y = _check_y(y, len(pred))
        if len(y) == 0:
            raise ValueError("x and y must hold at least one example; got none")
        return float(np.mean(pred == y))
