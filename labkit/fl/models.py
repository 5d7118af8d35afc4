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
        v.count("num_features", self.num_features)
        v.count("num_classes", self.num_classes)

    @property
    def num_params(self) -> int:
        return self.num_features * self.num_classes + self.num_classes

    def layers(self, params: np.ndarray) -> list[np.ndarray]:
        """``[W (features x classes), b (classes,)]``: views into ``params``."""
        cut = self.num_features * self.num_classes
        return [params[:cut].reshape(self.num_features, self.num_classes), params[cut:]]

    def flatten(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """The flat vector of ``[W, b]`` (a new float32 array)."""
        return np.concatenate([np.asarray(a, dtype=self.dtype).ravel() for a in layers])

    def init(self, rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
        """W ~ N(0, scale^2), b = 0, float32 (drawn as a [features, classes] matrix)."""
        w = (rng.standard_normal((self.num_features, self.num_classes)) * scale).astype(self.dtype)
        return self.flatten([w, np.zeros(self.num_classes, dtype=self.dtype)])

    def logits(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        w, b = self.layers(params)
        return x @ w + b

    def loss_and_gradient(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean cross-entropy on a batch and its flat gradient ``[dW.ravel(), db]`` (float32)."""
        p = _softmax(self.logits(params, x))
        n = len(y)
        loss = float(-np.mean(np.log(p[np.arange(n), y] + 1e-12)))
        g = p
        g[np.arange(n), y] -= 1.0
        g /= np.float32(n)
        return loss, self.flatten([x.T @ g, g.sum(axis=0)])

    def per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """One gradient per example: ``[(n, features, classes), (n, classes)]``."""
        g = _softmax(self.logits(params, x))
        g[np.arange(len(y)), y] -= 1.0
        return [x[:, :, None] * g[:, None, :], g]

    def predict(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(params, x), axis=1)

    def accuracy(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        """Share of examples whose highest logit is the true class."""
        return float(np.mean(self.predict(params, x) == y))


@dataclass(frozen=True)
class LogisticRegression:
    """Binary logistic regression in float64; ``params = [w_1..w_d, b]`` (the bias last).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    num_features: int
    dtype: type = np.float64

    def __post_init__(self) -> None:
        v.count("num_features", self.num_features)

    @property
    def num_params(self) -> int:
        return self.num_features + 1

    def layers(self, params: np.ndarray) -> list[np.ndarray]:
        return [params[:-1], params[-1:]]

    def flatten(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(a, dtype=self.dtype).ravel() for a in layers])

    def init(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """All zeros (the log loss is convex: no symmetry to break)."""
        return np.zeros(self.num_params, dtype=self.dtype)

    def logits(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The logit w.x + b of every row of ``x``."""
        params = np.asarray(params, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        if params.ndim != 1 or x.ndim != 2 or x.shape[1] + 1 != params.size:
            raise ValueError(f"params must have {x.shape[-1] + 1} entries (weights and a bias) for x of shape "
                             f"{x.shape}; got {params.shape}")
        return x @ params[:-1] + params[-1]

    @staticmethod
    def _error(z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """sigmoid(z) - y per example: the factor of every gradient of the log loss."""
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))) - np.asarray(y, dtype=np.float64)

    def per_example_gradients(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Per-example gradients of the log loss: ``[(n, d) for the weights, (n,) for the bias]``.

        The gradient of example i is (sigmoid(z_i) - y_i) * [x_i, 1]: no automatic
        differentiation needed. The list form is what :func:`labkit.dp.dpsgd.clip_and_sum` takes.
        """
        err = self._error(self.logits(params, x), y)
        return [err[:, None] * np.asarray(x, dtype=np.float64), err]

    def loss_and_gradient(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean log loss on a batch and its flat gradient (the mean of the per-example gradients)."""
        z = self.logits(params, x)
        err = self._error(z, y)
        gw = err[:, None] * np.asarray(x, dtype=np.float64)
        loss = float(np.mean(np.logaddexp(0.0, z) - np.asarray(y, dtype=np.float64) * z))
        return loss, np.r_[gw.mean(axis=0), err.mean()]

    def predict(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """1 where the logit is positive (benign in scikit-learn's breast-cancer labels), else 0."""
        return (self.logits(params, x) > 0).astype(np.int64)

    def accuracy(self, params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(params, x) == np.asarray(y)))
