"""Differential privacy in federated training: user-level DP-FedAvg and record-level DP-SGD at each client.

- User level (McMahan et al. 2018): Poisson client sampling (:func:`poisson_sample`), each
  client's update clipped (:class:`ClippedUpdate`, :func:`clip_update`), Gaussian noise on the sum
  and a fixed denominator (:class:`GaussianSum`); :func:`dp_fedavg_round`, :func:`run_dp_fedavg`,
  accounted by :func:`user_level_epsilon`; :func:`adaptive_clip_value_noise` for adaptive clipping.
- Record level (Abadi et al. 2016): every client runs DP-SGD on its own records
  (:class:`RecordDPSGD`: Poisson sampling of records, per-example clipping, Gaussian noise),
  counting the noisy steps it really ran (notebook 10's hospitals).

Each piece plugs into :func:`labkit.fl.fedavg.federated_round` as a client update or an aggregator.

Introduced in ``07-private-federated-learning.ipynb``; record-level DP-SGD in ``10-capstone-hospitals.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.fl.aggregation import Aggregate
from labkit.fl.fedavg import (Client, ClientResult, History, LocalSGD, RoundResult, Weights, _as_list,
                              _check_test, check_clients, federated_round, init_weights, run_rounds, sgd, softmax_model)
from labkit.fl.models import FlatModel
from labkit.i18n import tr


MAX_CLIENTS = 10**7
"""The most clients a round may sample from (a bound: 10^9 clients would need 8 GB for one draw)."""


def _check_update(update: Weights, name: str = "update") -> list[np.ndarray]:
    """``update`` as a non-empty list of finite numeric arrays: NaN or inf would pass any clip unclipped."""
    if update is None or isinstance(update, (str, bytes)) or v.is_real(update) or isinstance(update, np.ndarray) \
            and update.ndim == 0:
        raise TypeError(f"{name} must be a list of arrays (one per layer); got {update!r}")
    layers = [np.asarray(a) for a in update]
    if not layers:
        raise ValueError(f"{name} must hold at least one layer; got none")
    for i, a in enumerate(layers):
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.bool_):
            raise TypeError(f"{name}[{i}] must be an array of numbers; got dtype {a.dtype}")
        if np.issubdtype(a.dtype, np.inexact) and not np.all(np.isfinite(a)):
            bad = int(np.sum(~np.isfinite(a)))
            raise ValueError(f"{name}[{i}] must hold only finite numbers; got {bad} NaN or inf "
                             "(a non-finite update cannot be clipped)")
    return layers


def clip_update(update: Weights, clip: float) -> Weights:
    """Scale a client's update so its L2 norm over all layers is at most ``clip``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    v.positive("clip", clip)
    update = _check_update(update)
    norm = float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in update)))
    scale = min(1.0, clip / norm) if norm > 0 else 1.0
    return [np.asarray(a) * np.asarray(a).dtype.type(scale) for a in update]  # keeps each layer's dtype


def poisson_sample(num_clients: int, q: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Each client joins the round independently with probability ``q`` (Poisson sampling).

    This is the sampling the accountant (:func:`labkit.dp.poisson_gaussian_epsilon`) assumes;
    :class:`RecordDPSGD` samples records the same way.

    Args:
        rng: draws the sample; None (the default) uses a fresh generator seeded from OS
            entropy. Pass a seeded generator only for a reproducible demonstration.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    v.count("num_clients", num_clients, maximum=MAX_CLIENTS)
    v.probability("q", q, one=True)
    rng = v.generator(rng)
    return np.flatnonzero(rng.random(num_clients) < q)


@dataclass(frozen=True)
class ClippedUpdate:
    """A client update clipped to L2 norm ``clip`` over all layers (DP-FedAvg's client side).

    Introduced in ``07-private-federated-learning.ipynb``.
    """

    inner: Callable[..., ClientResult]
    clip: float

    def __post_init__(self) -> None:
        if not callable(self.inner):
            raise TypeError(f"inner must be a client update (a callable such as LocalSGD); got {self.inner!r}")
        v.positive("clip", self.clip)

    def __call__(self, model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator | None = None) -> ClientResult:
        result = self.inner(model, params, x, y, rng)
        if not np.all(np.isfinite(result.update)):
            raise ValueError("local training diverged: the client's update is not finite and cannot be clipped "
                             "(lower lr)")
        return ClientResult(model.flatten(clip_update(model.layers(result.update), self.clip)), result.noisy_steps)


@dataclass(frozen=True)
class GaussianSum:
    """DP-FedAvg's server side: the sum plus N(0, (noise_multiplier * clip)^2) per coordinate,
    divided by the *expected* number of clients (a fixed denominator), as TFF's
    ``DifferentiallyPrivateFactory.gaussian_fixed``.

    ``noise_multiplier = 0`` adds no noise (clipping only: no DP guarantee). ``rng`` None draws the
    noise from OS entropy; a seeded generator makes a demonstration reproducible and gives no privacy
    against anyone who knows the seed.

    Introduced in ``07-private-federated-learning.ipynb``.
    """

    noise_multiplier: float
    clip: float
    expected_clients: float
    rng: np.random.Generator | None = None

    def __post_init__(self) -> None:
        v.nonnegative("noise_multiplier", self.noise_multiplier)
        v.positive("clip", self.clip)
        v.positive("expected_clients", self.expected_clients)
        if self.rng is not None:
            v.generator(self.rng)

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray) -> Aggregate:
        params = v.finite_array("params", params, dtype=None)
        if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates):
            raise TypeError(f"updates must be a sequence of client update arrays; got {updates!r}")
        for i, u in enumerate(_check_update(list(updates) or [params], "updates")):
            if u.shape != params.shape:
                raise ValueError(f"updates[{i}] must have the shape of params {params.shape}; got {u.shape}")
        total = np.zeros_like(params)
        for u in updates:
            total = total + u
        std = self.noise_multiplier * self.clip
        if std > 0:
            rng = v.generator(self.rng)
            with np.errstate(over="ignore"):
                total = (total + rng.normal(0.0, std, size=total.shape)).astype(params.dtype)
            if not np.all(np.isfinite(total)):
                raise ValueError(f"noise_multiplier * clip = {std:g} overflows the parameters' {params.dtype} "
                                 "(lower noise_multiplier or clip)")
        denominator = params.dtype.type(self.expected_clients)
        if not np.isfinite(denominator):
            raise ValueError(f"expected_clients must fit the parameters' {params.dtype}; got {self.expected_clients:g}")
        held = (tr("{count} clipped updates in the clear; the released sum is noisy") if std > 0 else
                tr("{count} clipped updates in the clear; noise_multiplier 0: the released sum is not private"))
        return Aggregate(total / denominator, len(updates) * total.nbytes, 0, held.format(count=len(updates)))


MAX_STEPS = 10**6
"""The most local DP-SGD steps a client update may run (a bound, so that a typo cannot run for hours)."""


@dataclass(frozen=True)
class RecordDPSGD:
    """Record-level DP-SGD as a client update: ``steps`` steps of Poisson sampling (rate ``q``),
    per-example clipping to ``l2_norm_clip`` (:func:`labkit.dp.dpsgd.clip_and_sum`), Gaussian noise of
    standard deviation ``noise_multiplier * l2_norm_clip`` on the clipped sum
    (:func:`labkit.dp.dpsgd.add_gaussian_noise`), divided by the public ``expected_batch_size``.

    The noisy steps are counted in the loop, once per noise draw, and returned with the update, so
    the accountant is fed what really ran. This is the mechanism
    :func:`labkit.dp.poisson_gaussian_epsilon` accounts for.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    lr: float
    steps: int
    expected_batch_size: int
    q: float
    noise_multiplier: float
    l2_norm_clip: float = 1.0

    def __post_init__(self) -> None:
        v.positive("lr", self.lr)
        v.count("steps", self.steps, minimum=0, maximum=MAX_STEPS)
        v.count("expected_batch_size", self.expected_batch_size)
        v.probability("q", self.q, one=True)
        v.nonnegative("noise_multiplier", self.noise_multiplier)
        v.positive("l2_norm_clip", self.l2_norm_clip)

    def __call__(self, model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator | None = None) -> ClientResult:
        from labkit.dp.dpsgd import add_gaussian_noise, clip_and_sum

        rng = v.generator(rng)
        if not callable(getattr(model, "per_example_gradients", None)):
            raise TypeError(f"model must be a labkit.fl model (LogisticRegression, SoftmaxRegression); got {model!r}")
        model.logits(params, x)  # checks params and x: finite, of the model's shape
        if callable(getattr(model, "_check_data", None)):
            x, y = model._check_data(x, y)  # once; the loop calls the unchecked per-example gradients
        elif len(y) != len(x):
            raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
        per_example_gradients = getattr(model, "_raw_per_example_gradients", model.per_example_gradients)
        noisy_steps = 0

        def gradient(w: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
            nonlocal noisy_steps
            per_example = per_example_gradients(w, bx, by)
            summed = clip_and_sum(per_example, self.l2_norm_clip)[0] if len(by) else \
                [np.zeros(g.shape[1:]) for g in per_example]
            noisy = add_gaussian_noise(summed, self.l2_norm_clip, self.noise_multiplier, rng)
            noisy_steps += 1
            return model.flatten(noisy) / self.expected_batch_size

        batches = (poisson_sample(len(y), self.q, rng) for _ in range(self.steps))
        new = sgd(model, params, x, y, self.lr, batches, gradient)
        return ClientResult(new - params, noisy_steps)


def check_user_delta(delta: float, num_users: int) -> None:
    """Raise ValueError unless ``delta`` is far below ``1 / num_users``.

    A mechanism that publishes each user's whole data with probability delta is (0, delta)-DP:
    it exposes delta * K users in expectation. User-level DP is therefore only meaningful when
    delta * K is small; this check asks for delta <= 1 / (100 K), at most one exposed user in
    a hundred runs of such a mechanism.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    v.count("num_users", num_users)
    v.probability("delta", delta)
    bound = 1.0 / (100 * int(num_users))
    if delta > bound:
        raise ValueError(
            f"delta must be at most 1 / (100 K) = {bound:.0e} for K = {num_users} users; got {delta!r}. "
            f"A mechanism that publishes each user's data with probability delta meets (0, delta)-DP "
            f"and would expose delta * K = {delta * num_users:.2g} users in expectation (K is num_users)")


def user_level_epsilon(q: float, noise_multiplier: float, rounds: int, delta: float, num_users: int,
                       accountant: str = "rdp") -> float:
    """User-level epsilon of DP-FedAvg: ``rounds`` Poisson-subsampled Gaussian mechanisms.

    Calls :func:`labkit.dp.poisson_gaussian_epsilon` (add-or-remove-one-user adjacency) after
    :func:`check_user_delta`, so a delta that is not far below 1/K is refused.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit import dp

    check_user_delta(delta, num_users)
    v.probability("q", q, one=True)
    v.positive("noise_multiplier", noise_multiplier)
    v.count("rounds", rounds, maximum=MAX_STEPS)
    return dp.poisson_gaussian_epsilon(q, noise_multiplier, rounds, delta, accountant)


def adaptive_clip_value_noise(noise_multiplier: float, expected_clients: float,
                              clipped_count_stddev: float | None = None) -> float:
    """The noise multiplier that adaptive clipping puts on the updates, for a total ``noise_multiplier``.

    Adaptive clipping (Andrew et al. 2021) also releases a noisy count of clipped clients
    (standard deviation ``clipped_count_stddev``, TFF's default 0.05 * ``expected_clients``).
    The two Gaussian releases together cost what one Gaussian mechanism with
    ``(z_value**-2 + (2 * clipped_count_stddev)**-2) ** -0.5`` costs, so TFF's
    ``DifferentiallyPrivateFactory.gaussian_adaptive`` raises the noise on the updates to
    ``z_value = (z**-2 - (2 * clipped_count_stddev)**-2) ** -0.5``: the accountant is then
    given the total ``z`` and the quantile estimate is paid for.

    Raises:
        ValueError: when ``clipped_count_stddev`` is too small for the requested total
            (z >= 2 * clipped_count_stddev), as TFF does.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    v.positive("noise_multiplier", noise_multiplier)
    v.positive("expected_clients", expected_clients)
    if clipped_count_stddev is None and not math.isfinite(0.05 * expected_clients):
        raise ValueError(f"expected_clients must be at most {1e300:g}; got {expected_clients!r}")
    sb = 0.05 * expected_clients if clipped_count_stddev is None else v.positive("clipped_count_stddev",
                                                                                 clipped_count_stddev)
    if not noise_multiplier < 2 * sb:
        raise ValueError(f"clipped_count_stddev must exceed noise_multiplier / 2 = {noise_multiplier / 2:g}; got {sb:g}")
    return float((noise_multiplier ** -2 - (2 * sb) ** -2) ** -0.5)


def _check_dp_args(*, lr: float, epochs: int, batch_size: int | None, clip: float, noise_multiplier: float,
                   expected_clients: float | None = None) -> None:
    """DP-FedAvg's numbers, checked before any training: finite, in range (the guarantee rests on them)."""
    v.positive("lr", lr)
    v.count("epochs", epochs, maximum=MAX_STEPS)
    if batch_size is not None:
        v.count("batch_size", batch_size)
    v.positive("clip", clip)
    v.nonnegative("noise_multiplier", noise_multiplier)
    if expected_clients is not None:
        v.positive("expected_clients", expected_clients)


def _check_selected(selected: Sequence[int], num_clients: int) -> list[int]:
    """``selected`` as a list of distinct client indices in [0, num_clients)."""
    if selected is None or isinstance(selected, (str, bytes)) or v.is_real(selected):
        raise TypeError(f"selected must be a sequence of client indices; got {selected!r}")
    out = [v.integer("selected", k, minimum=0, maximum=num_clients - 1) for k in selected]
    if len(set(out)) != len(out):
        raise ValueError(f"selected must name each client at most once; got {out}")
    return out


def _dp_round(model: FlatModel, params: np.ndarray, clients: Sequence[Client], selected: Sequence[int], *, lr: float,
              epochs: int, batch_size: int | None, clip: float, noise_multiplier: float, expected_clients: float,
              rng: np.random.Generator | None) -> RoundResult:
    return federated_round(model, params, clients, selected,
                           ClippedUpdate(LocalSGD(lr, epochs, batch_size, shuffle=False), clip),
                           aggregator=GaussianSum(noise_multiplier, clip, expected_clients, rng))


def dp_fedavg_round(weights: Weights, clients: Sequence[Client], selected: Sequence[int], *, lr: float,
                    epochs: int, batch_size: int | None, clip: float, noise_multiplier: float,
                    expected_clients: float, rng: np.random.Generator | None = None) -> Weights:
    """One round of DP-FedAvg (McMahan et al. 2018, "Learning differentially private recurrent
    language models", Algorithm 1 with a fixed denominator).

    Each selected client trains locally and clips its update to L2 norm ``clip``
    (:class:`ClippedUpdate`); the server adds N(0, (noise_multiplier * clip)^2) to each
    coordinate of the sum and divides by the *expected* number of clients ``expected_clients``
    (q * K), not the actual one (:class:`GaussianSum`), so one client's presence changes the
    released average by at most ``clip / expected_clients``.

    Args:
        rng: draws the Gaussian noise. None (the default) uses a fresh generator seeded from
            OS entropy. A seeded generator makes a demonstration reproducible and gives no
            privacy against anyone who knows the seed: they can subtract the noise.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    _check_dp_args(lr=lr, epochs=epochs, batch_size=batch_size, clip=clip, noise_multiplier=noise_multiplier,
                   expected_clients=expected_clients)
    rng = v.generator(rng)
    model = softmax_model(_check_update(weights, "weights"))
    check_clients(clients, model.num_features)
    selected = _check_selected(selected, len(clients))
    result = _dp_round(model, model.flatten(weights), clients, selected, lr=lr, epochs=epochs, batch_size=batch_size,
                       clip=clip, noise_multiplier=noise_multiplier, expected_clients=expected_clients, rng=rng)
    return _as_list(model, result.params)


def run_dp_fedavg(clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray], *, rounds: int, q: float,
                  clip: float, noise_multiplier: float, lr: float, epochs: int = 1, batch_size: int | None = 10,
                  seed: int | None = None, initial: Weights | None = None) -> History:
    """Train with user-level DP-FedAvg from scratch: Poisson client sampling, clipping, noise.

    Returns a :class:`History` whose ``clients_per_round`` records how many clients each round
    actually sampled. ``seed`` seeds the initial weights, the sampling and the noise; None (the
    default) draws them from OS entropy. A seed makes a demonstration reproducible and gives no
    privacy against anyone who knows it.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    v.count("rounds", rounds, maximum=MAX_STEPS)
    v.probability("q", q, one=True)
    _check_dp_args(lr=lr, epochs=epochs, batch_size=batch_size, clip=clip, noise_multiplier=noise_multiplier)
    x_test, y_test = _check_test(test)
    num_features = int(x_test.shape[1])
    check_clients(clients, num_features)
    rng = v.generator(seed, "seed")
    if initial is not None:
        initial = _check_update(initial, "initial")
        if len(initial) != 2 or initial[0].shape[0] != num_features:
            raise ValueError(f"initial must be [W, b] with W of {num_features} rows; got shapes "
                             f"{[a.shape for a in initial]}")
    num_classes = max(int(np.max(y_test)) + 1, max(int(np.max(c[1])) for c in clients) + 1)
    weights = [a.copy() for a in initial] if initial is not None else init_weights(num_features, num_classes, rng)
    model = softmax_model(weights)
    expected = q * len(clients)

    def step(params: np.ndarray, selected: list) -> RoundResult:
        return _dp_round(model, params, clients, selected, lr=lr, epochs=epochs, batch_size=batch_size, clip=clip,
                         noise_multiplier=noise_multiplier, expected_clients=expected, rng=rng)

    hist = run_rounds(model, model.flatten(weights), clients, test, rounds=rounds,
                      select=lambda: poisson_sample(len(clients), q, rng), step=step, stop_on_divergence=False)
    if not np.all(np.isfinite(hist.weights)):
        raise ValueError(f"lr = {lr!r} made DP-FedAvg diverge: the weights are no longer finite; lower lr")
    hist.weights = _as_list(model, hist.weights)
    return hist
