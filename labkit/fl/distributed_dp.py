"""Distributed DP under secure aggregation: the distributed discrete Gaussian mechanism.

Kairouz, Liu and Steinke (2021), "The distributed discrete Gaussian mechanism for federated learning
with secure aggregation" (ICML 2021, Algorithms 1 and 2, Theorem 1). Every client

1. clips its flat update to L2 norm ``clip`` (as DP-FedAvg does);
2. pads it to a power of two and rotates it with a randomised Walsh-Hadamard transform (random signs
   from a seed all clients share, then the orthonormal Hadamard matrix), which spreads a spiky
   update over all coordinates so that few of them can wrap around the modulus;
3. scales it by ``1 / gamma`` and rounds every coordinate to an integer at random (up with
   probability equal to the fractional part: unbiased);
4. adds its own share of the noise: discrete Gaussian N_Z(0, sigma^2) per coordinate, with
   sigma = noise_multiplier * clip / (gamma * sqrt(n)) for n expected clients;
5. reduces mod 2^bits and sends the result through secure aggregation
   (:func:`labkit.smpc.secure_aggregate`), so the server learns only the sum mod 2^bits.

The server maps the sum to [-2^(bits-1), 2^(bits-1)), multiplies by gamma, rotates back and
divides by the expected number of clients. The sum of the n noise shares has variance
n sigma^2 = (noise_multiplier * clip / gamma)^2, DP-FedAvg's central noise; it is not exactly a
discrete Gaussian, which Theorem 1 of the paper pays for with a small term tau (:func:`ddg_rdp`).

The noise is drawn with the sampler of Canonne, Kamath and Steinke (2020, "The discrete Gaussian
for differential privacy", Algorithm 3): a discrete Laplace proposal accepted with probability
exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)), vectorised in floating point as TF Privacy's
``discrete_gaussian_utils`` does (the paper's exact version uses rational arithmetic). Uniforms
come from ``os.urandom`` (the operating system's CSPRNG) unless a seeded ``rng`` is given for a
reproducible demonstration, which gives no privacy to anyone who knows the seed.

Secure aggregation here runs in Z_(2^64) and the server reduces the sum mod 2^bits: since 2^bits
divides 2^64, that is the sum a deployment with b-bit masks over Z_(2^bits) computes, while a
message would be ``bits`` bits per coordinate on the wire.

Introduced in ``07-private-federated-learning.ipynb``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labkit import _validate as v
from labkit.fl.fedavg import (Client, History, LocalSGD, RoundResult, _check_test, check_clients, federated_round,
                              init_weights, run_rounds, softmax_model)
from labkit.i18n import tr

RDP_ORDERS = tuple(range(2, 129)) + (256,)
"""Integer Renyi orders for the accounting (those of the paper's code, google-research/federated)."""
MAX_BITS = 30
"""Most bits per coordinate (the sum of n clients stays exact in float64 below 2^53)."""
MAX_SIGMA = 1e12
MAX_SAMPLES = 50_000_000
MAX_DIM = 2**24
MAX_SCALE = 1e6
"""Largest clip, gamma and noise multiplier accepted (beyond it the integer encoding overflows)."""


def _scale(name: str, value, *, zero: bool = False) -> float:
    """A positive (or, with ``zero``, non-negative) finite number up to :data:`MAX_SCALE`."""
    x = v.nonnegative(name, value) if zero else v.positive(name, value)
    if x > MAX_SCALE:
        raise ValueError(f"{name} must be at most {MAX_SCALE:g}; got {x:g}")
    return x


def _uniform(size: int, rng: np.random.Generator | None) -> np.ndarray:
    """``size`` uniforms in (0, 1): 53 bits each from ``os.urandom`` (a CSPRNG), or from ``rng``."""
    if rng is None:
        words = np.frombuffer(os.urandom(8 * size), dtype=np.uint64) >> np.uint64(11)
        return (words.astype(np.float64) + 0.5) * 2.0**-53
    return (np.floor(rng.random(size) * 2.0**53) + 0.5) * 2.0**-53


def sample_discrete_gaussian(sigma: float, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Samples of the discrete Gaussian N_Z(0, sigma^2): P(k) proportional to exp(-k^2 / (2 sigma^2)).

    Canonne, Kamath and Steinke (2020), Algorithm 3: with t = floor(sigma) + 1, draw Y from the
    discrete Laplace distribution P(y) proportional to exp(-|y| / t) (the difference of two
    geometric variables), accept it with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)),
    repeat for the rejected ones. Floating point, as TF Privacy's vectorised sampler.

    Args:
        sigma: the scale, >= 0 (0 gives zeros). The variance is slightly below sigma^2.
        size: number of samples.
        rng: ``None`` (default) for uniforms from ``os.urandom``; a generator or seed for a
            reproducible demonstration (no privacy against whoever knows it).

    Returns:
        An ``int64`` array of ``size`` samples.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    sigma = v.nonnegative("sigma", sigma)
    if sigma > MAX_SIGMA:
        raise ValueError(f"sigma must be at most {MAX_SIGMA:g} (int64 samples); got {sigma:g}")
    size = v.count("size", size, minimum=0, maximum=MAX_SAMPLES)
    rng = None if rng is None else v.generator(rng)
    if sigma == 0 or size == 0:
        return np.zeros(size, dtype=np.int64)
    t = math.floor(sigma) + 1
    parts, need = [], size
    while need > 0:
        m = max(2 * need, 64)
        u = _uniform(3 * m, rng)
        # geometric on {0, 1, ...} with success probability 1 - exp(-1/t): floor(-t log U)
        g1, g2 = np.floor(-t * np.log(u[:m])), np.floor(-t * np.log(u[m:2 * m]))
        y = g1 - g2
        accept = u[2 * m:] < np.exp(-((np.abs(y) - sigma**2 / t) ** 2) / (2 * sigma**2))
        kept = y[accept][:need]
        parts.append(kept)
        need -= kept.size
    return np.concatenate(parts).astype(np.int64)


def discrete_gaussian_pmf(sigma: float, k: np.ndarray | int) -> np.ndarray:
    """P(X = k) for X ~ N_Z(0, sigma^2), normalised over the integers (the reference for the sampler).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    sigma = v.positive("sigma", sigma)
    if sigma > 1e5:
        raise ValueError(f"sigma must be at most 1e5 (the normaliser sums 80 sigma terms); got {sigma:g}")
    k = np.asarray(v.finite_array("k", k, dtype=np.float64, allow_empty=True))
    span = int(math.ceil(sigma * 40)) + 1
    grid = np.arange(-span, span + 1, dtype=np.float64)
    norm = np.sum(np.exp(-grid**2 / (2 * sigma**2)))
    return np.exp(-k**2 / (2 * sigma**2)) / norm


def _padded_dim(d: int) -> int:
    return 1 << max(0, (d - 1).bit_length())


def _hadamard(x: np.ndarray) -> np.ndarray:
    """The orthonormal Walsh-Hadamard transform of a vector whose length is a power of two."""
    y = x.astype(np.float64).copy()
    n, h = y.shape[0], 1
    while h < n:
        y = y.reshape(-1, 2, h)
        y = np.stack([y[:, 0] + y[:, 1], y[:, 0] - y[:, 1]], axis=1).reshape(-1)
        h *= 2
    return y / math.sqrt(n)


def rotation_signs(dim: int, seed: int) -> np.ndarray:
    """The random signs D of the rotation H D for vectors of ``dim`` coordinates (padded to a power
    of two): public randomness every client and the server derive from one shared ``seed``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    dim = v.count("dim", dim, maximum=MAX_DIM)
    seed = v.integer("seed", seed, minimum=0)
    return np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=_padded_dim(dim))


def rotate(x: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """H D x: pad ``x`` with zeros to the length of ``signs``, flip signs, Walsh-Hadamard (orthonormal).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    x = v.finite_array("x", x, ndim=1)
    signs = v.finite_array("signs", signs, ndim=1)
    if signs.shape[0] < x.shape[0] or signs.shape[0] & (signs.shape[0] - 1):
        raise ValueError(f"signs must have a power-of-two length >= len(x) = {x.shape[0]} (see rotation_signs); "
                         f"got {signs.shape[0]}")
    padded = np.zeros(signs.shape[0])
    padded[:x.shape[0]] = x
    return _hadamard(padded * signs)


def unrotate(y: np.ndarray, signs: np.ndarray, dim: int) -> np.ndarray:
    """The inverse of :func:`rotate`: D H y, cut back to ``dim`` coordinates.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    y = v.finite_array("y", y, ndim=1)
    signs = v.finite_array("signs", signs, ndim=1)
    if y.shape != signs.shape:
        raise ValueError(f"y and signs must have the same length; got {y.shape[0]} and {signs.shape[0]}")
    dim = v.count("dim", dim, maximum=y.shape[0])
    return (_hadamard(y) * signs)[:dim]


def clip_l2(x: np.ndarray, clip: float) -> np.ndarray:
    """``x`` scaled down to L2 norm at most ``clip`` (unchanged if already inside).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    x = v.finite_array("x", x, ndim=1)
    clip = _scale("clip", clip)
    norm = float(np.linalg.norm(x))
    return x * (clip / norm) if norm > clip else x.copy()


def stochastic_round(x: np.ndarray, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Round every coordinate to floor(x) + 1 with probability x - floor(x), else floor(x): unbiased.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    x = v.finite_array("x", x, ndim=1)
    if np.max(np.abs(x), initial=0.0) >= 2.0**52:
        raise ValueError("x must have magnitudes below 2^52 to round exactly; got larger (raise gamma)")
    rng = None if rng is None else v.generator(rng)
    low = np.floor(x)
    return (low + (_uniform(x.shape[0], rng) < x - low)).astype(np.int64)


def _check_bits(bits) -> int:
    return v.integer("bits", bits, minimum=2, maximum=MAX_BITS)


def client_message(update: np.ndarray, *, clip: float, gamma: float, sigma: float, bits: int, signs: np.ndarray,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """What one client sends into secure aggregation: clip, rotate, scale by 1/gamma, round at random,
    add N_Z(0, sigma^2) noise, reduce mod 2^bits (integers in [0, 2^bits), as ``int64``).

    ``sigma`` is in integer units (after the 1/gamma scaling); 0 adds no noise.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    update = v.finite_array("update", update, ndim=1)
    clip, gamma = _scale("clip", clip), _scale("gamma", gamma)
    sigma = v.nonnegative("sigma", sigma)
    bits = _check_bits(bits)
    rng = None if rng is None else v.generator(rng)
    return np.mod(_client_integers(update, clip, gamma, sigma, signs, rng), 2**bits)


def _client_integers(update, clip, gamma, sigma, signs, rng) -> np.ndarray:
    """The client's noised integer vector before the reduction mod 2^bits."""
    z = rotate(clip_l2(update, clip), signs) / gamma
    return stochastic_round(z, rng) + sample_discrete_gaussian(sigma, z.shape[0], rng)


def to_signed(total: np.ndarray, bits: int) -> np.ndarray:
    """Ring elements mod 2^bits read as integers in [-2^(bits-1), 2^(bits-1)).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    bits = _check_bits(bits)
    t = np.mod(np.asarray(v.finite_array("total", total, dtype=np.float64)).astype(np.int64), 2**bits)
    return np.where(t >= 2 ** (bits - 1), t - 2**bits, t)


def choose_gamma(*, bits: int, clip: float, noise_multiplier: float, n_clients: int, dim: int,
                 k_stddevs: float = 3.9) -> float:
    """The granularity gamma so that ``k_stddevs`` standard deviations of the noisy sum fit in
    [-2^(bits-1), 2^(bits-1)) (Kairouz et al. 2021, section 4.4; TFF's ``_heuristic_scale_factor``
    with flatness rho = 1): 2^bits = 2k sqrt(c^2 n^2 / d + (gamma^2 / 4 + s^2) n) / gamma, with s the
    local noise std in model units (noise_multiplier * clip / sqrt(n)) and d the padded dimension.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    bits = _check_bits(bits)
    clip = _scale("clip", clip)
    z = _scale("noise_multiplier", noise_multiplier, zero=True)
    n = v.count("n_clients", n_clients, maximum=10**6)
    d = _padded_dim(v.count("dim", dim, maximum=MAX_DIM))
    k = v.positive("k_stddevs", k_stddevs)
    if k > 100:
        raise ValueError(f"k_stddevs must be at most 100; got {k:g}")
    room = 2.0 ** (2 * bits) - n * k**2
    if room <= 0:
        raise ValueError(f"bits must leave room for the rounding of {n} clients at {k:g} standard deviations: "
                         f"2^(2 bits) > n k^2 = {n * k**2:.4g}; got bits = {bits}")
    s2 = (z * clip) ** 2 / n
    return 2 * k * math.sqrt(clip**2 * n**2 / d + n * s2) / math.sqrt(room)


def ddg_tau(sigma: float, n_clients: int) -> float:
    """tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k / (k + 1)) (Kairouz et al. 2021, Theorem 1):
    how far the sum of n discrete Gaussians of scale sigma (integer units) is from one discrete Gaussian.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    sigma = v.positive("sigma", sigma)
    if sigma > MAX_SIGMA:
        raise ValueError(f"sigma must be at most {MAX_SIGMA:g}; got {sigma:g}")
    n = v.count("n_clients", n_clients, maximum=10**6)
    return 10.0 * sum(math.exp(-2 * math.pi**2 * sigma**2 * k / (k + 1)) for k in range(1, n))


def ddg_rdp(orders: Sequence[float], *, noise_multiplier: float, clip: float, gamma: float, n_clients: int,
            dim: int) -> np.ndarray:
    """Renyi DP of one round of the distributed discrete Gaussian, without sampling amplification.

    Kairouz et al. (2021): the Renyi bound behind their Theorem 1 (Proposition 14 of the arXiv
    version, as the authors' accounting code in google-research/federated ``distributed_dp``
    computes it), which holds for a per-client scale sigma >= 1/2 in integer units. With L2
    sensitivity Delta = clip / gamma + sqrt(d) after the randomised rounding (d the padded
    dimension), central std n^(1/2) sigma in integer units and s = Delta / (n^(1/2) sigma),
    RDP(alpha) = min(alpha s^2 / 2 + tau d, alpha (s + tau sqrt(d))^2 / 2). The authors' code takes
    the minimum with a third term that needs the L1 sensitivity; leaving it out keeps a valid,
    at most slightly looser bound. As tau -> 0 and gamma -> 0 this is the Gaussian mechanism's
    alpha / (2 z^2).

    Raises:
        ValueError: when sigma = z clip / (gamma sqrt(n)) < 1/2, where the bound is not proved.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    z = _scale("noise_multiplier", noise_multiplier)
    clip, gamma = _scale("clip", clip), _scale("gamma", gamma)
    if gamma < 1e-12 or z * clip / gamma > MAX_SIGMA:
        raise ValueError(f"gamma must be at least 1e-12 and at least noise_multiplier * clip / {MAX_SIGMA:g}; "
                         f"got {gamma:g}")
    n = v.count("n_clients", n_clients, maximum=10**6)
    d = _padded_dim(v.count("dim", dim, maximum=MAX_DIM))
    alphas = np.asarray(v.finite_array("orders", orders, ndim=1))
    if np.any(alphas < 1):
        raise ValueError(f"orders must be >= 1; got {alphas.min():g}")
    sigma = z * clip / (gamma * math.sqrt(n))
    if sigma < 0.5:
        raise ValueError(f"noise_multiplier * clip / (gamma * sqrt(n_clients)) must be at least 1/2 (the bound of "
                         f"Kairouz et al. holds for a per-client sigma >= 1/2 in integer units); got sigma = {sigma:.4g}: "
                         f"lower gamma or raise the noise")
    sensitivity = clip / gamma + math.sqrt(d)
    s = sensitivity / (math.sqrt(n) * sigma)
    tau = ddg_tau(sigma, n)
    return np.minimum(alphas * s**2 / 2 + tau * d, alphas * (s + math.sqrt(d) * tau) ** 2 / 2)


def ddg_epsilon(*, noise_multiplier: float, clip: float, gamma: float, n_clients: int, dim: int, rounds: int,
                delta: float) -> float:
    """Epsilon after ``rounds`` rounds of the distributed discrete Gaussian, converted with dp-accounting's
    RDP conversion. No amplification by sampling: the server picks each cohort and sees who answered,
    so the sample is no secret from the party this guards against; every round costs its full RDP.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    rounds = v.count("rounds", rounds, maximum=10**7)
    delta = v.probability("delta", delta)
    rdp = rounds * ddg_rdp(RDP_ORDERS, noise_multiplier=noise_multiplier, clip=clip, gamma=gamma,
                           n_clients=n_clients, dim=dim)
    return float(compute_epsilon(RDP_ORDERS, rdp, delta)[0])


@dataclass(frozen=True)
class DistributedSum:
    """One distributed-DP aggregation: what the server decoded, and diagnostics of the simulation.

    Attributes:
        total: the decoded sum in model units (gamma times the rotated-back signed sum).
        ring_sum: the sum mod 2^bits of the clients' messages, what secure aggregation gave the server.
        gamma, sigma: the granularity and each client's noise scale (integer units).
        wrapped: coordinates whose true integer sum left [-2^(bits-1), 2^(bits-1)) and wrapped
            around (a diagnostic of the simulation: the server cannot compute it).
    """

    total: np.ndarray
    ring_sum: np.ndarray
    gamma: float
    sigma: float
    wrapped: int


def distributed_dp_sum(updates: Sequence[np.ndarray], *, clip: float, noise_multiplier: float, bits: int,
                       expected_clients: int | None = None, gamma: float | None = None, rotation_seed: int = 0,
                       rng: np.random.Generator | int | None = None, secure: bool = True) -> DistributedSum:
    """Sum the clients' updates with the distributed discrete Gaussian under secure aggregation.

    Args:
        updates: the clients' flat updates (equal length).
        clip: L2 clipping norm of each update.
        noise_multiplier: z; the central noise std is z * clip (model units), split in n shares.
        bits: bits per coordinate of the modular sum (2 to 30).
        expected_clients: n, the number of clients each noise share assumes (default: len(updates)).
        gamma: the granularity; default :func:`choose_gamma`.
        rotation_seed: the public seed of the rotation signs.
        rng: None draws rounding, noise and secure-aggregation keys from OS entropy; a seed or
            generator makes a demonstration reproducible (no privacy against whoever knows it).
        secure: sum through :func:`labkit.smpc.secure_aggregate` (default) or a plain modular sum
            (the same number, faster: for sweeps).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit import smpc

    if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates) or len(updates) == 0:
        raise TypeError(f"updates must be a non-empty sequence of client update vectors; got {updates!r}"[:200])
    xs = [v.finite_array(f"updates[{i}]", u, ndim=1) for i, u in enumerate(updates)]
    if len({x.shape for x in xs}) != 1:
        raise ValueError(f"updates must all have one length; got {sorted({x.shape[0] for x in xs})}")
    clip = _scale("clip", clip)
    z = _scale("noise_multiplier", noise_multiplier, zero=True)
    bits = _check_bits(bits)
    n = len(xs) if expected_clients is None else v.count("expected_clients", expected_clients, maximum=10**6)
    dim = xs[0].shape[0]
    gamma = choose_gamma(bits=bits, clip=clip, noise_multiplier=z, n_clients=n, dim=dim) if gamma is None \
        else _scale("gamma", gamma)
    secure = v.flag("secure", secure)
    rng = None if rng is None else v.generator(rng)
    signs = rotation_signs(dim, v.integer("rotation_seed", rotation_seed, minimum=0))
    sigma = z * clip / (gamma * math.sqrt(n))
    integers = [_client_integers(x, clip, gamma, sigma, signs, rng) for x in xs]
    messages = [np.mod(q, 2**bits) for q in integers]  # what each client sends into secure aggregation
    if secure:
        summed = smpc.secure_aggregate(np.stack(messages).astype(np.float64), rng=rng, frac_bits=0)
        ring_sum = np.mod(np.asarray(summed).astype(np.int64), 2**bits)
    else:
        ring_sum = np.mod(np.sum(messages, axis=0), 2**bits)
    # diagnostic only: the simulation knows the centred integer vectors, the server does not
    true_sum = np.sum(integers, axis=0)
    signed = to_signed(ring_sum, bits)
    wrapped = int(np.sum(signed != true_sum))
    total = unrotate(gamma * signed.astype(np.float64), signs, dim)
    return DistributedSum(total, ring_sum, gamma, sigma, wrapped)


@dataclass(frozen=True)
class DistributedDPSum:
    """Server aggregator (as :class:`labkit.fl.GaussianSum`) for the distributed discrete Gaussian:
    the sum of :func:`distributed_dp_sum` divided by the expected number of clients.

    Introduced in ``07-private-federated-learning.ipynb``.
    """

    noise_multiplier: float
    clip: float
    expected_clients: int
    bits: int
    rng: np.random.Generator | None = None
    secure: bool = True

    def __post_init__(self) -> None:
        _scale("noise_multiplier", self.noise_multiplier, zero=True)
        _scale("clip", self.clip)
        v.count("expected_clients", self.expected_clients, maximum=10**6)
        _check_bits(self.bits)
        if self.rng is not None:
            v.generator(self.rng)
        v.flag("secure", self.secure)

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray):
        from labkit.fl.aggregation import Aggregate

        params = v.finite_array("params", params, ndim=1, dtype=None)
        if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates) or \
                isinstance(updates, np.ndarray) and updates.ndim != 2:
            raise TypeError(f"updates must be a sequence of client update vectors; got {updates!r}"[:200])
        updates = [v.finite_array(f"updates[{i}]", u, ndim=1) for i, u in enumerate(updates)]
        if len(updates) == 0:
            return Aggregate(np.zeros_like(params), 0, 0, tr("no client took part"))
        out = distributed_dp_sum([np.asarray(u, dtype=np.float64) for u in updates], clip=self.clip,
                                 noise_multiplier=self.noise_multiplier, bits=self.bits,
                                 expected_clients=self.expected_clients, rng=self.rng, secure=self.secure)
        total = (out.total / self.expected_clients).astype(params.dtype)
        nbytes = len(updates) * math.ceil(self.bits * out.ring_sum.shape[0] / 8)
        return Aggregate(total, nbytes, 0, tr("only the sum mod 2^{bits} of {count} noised, quantised updates").format(
            bits=self.bits, count=len(updates)))


def run_distributed_dp(clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray], *, rounds: int, cohort: int,
                       clip: float, noise_multiplier: float, bits: int | None, lr: float, epochs: int = 1,
                       batch_size: int | None = 10, seed: int | None = None, secure: bool = True) -> History:
    """Train FedAvg with ``cohort`` clients drawn at random each round and distributed DP on their sum.

    ``bits=None`` runs the central-DP reference instead: the same clipped updates, the sum plus
    N(0, (z clip)^2) added by the server (:class:`labkit.fl.GaussianSum`), in float64.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.dp_fedavg import ClippedUpdate, GaussianSum

    v.count("rounds", rounds, maximum=10**5)
    x_test, y_test = _check_test(test)
    check_clients(clients, int(x_test.shape[1]))
    k = v.count("cohort", cohort, maximum=len(clients))
    clip = _scale("clip", clip)
    z = _scale("noise_multiplier", noise_multiplier, zero=True)
    rng = v.generator(seed, "seed")
    num_classes = max(int(np.max(y_test)) + 1, max(int(np.max(c[1])) for c in clients) + 1)
    weights = init_weights(int(x_test.shape[1]), num_classes, rng)
    model = softmax_model(weights)
    if bits is None:
        aggregator = GaussianSum(z, clip, float(k), rng)
    else:
        aggregator = DistributedDPSum(z, clip, k, _check_bits(bits), rng, secure)
    update = ClippedUpdate(LocalSGD(lr, epochs, batch_size, shuffle=False), clip)

    def step(params: np.ndarray, selected: list) -> RoundResult:
        return federated_round(model, params, clients, selected, update, aggregator=aggregator, rng=rng)

    return run_rounds(model, model.flatten(weights), clients, test, rounds=rounds,
                      select=lambda: np.sort(rng.choice(len(clients), size=k, replace=False)), step=step,
                      stop_on_divergence=False)


SWEEP_SETTINGS = {
    "bits": (4, 6, 8, 10, 12, 14, 16), "seeds": (0, 1, 2), "rounds": 50, "cohort": 20, "clip": 0.3,
    "noise_multiplier": 1.0, "lr": 0.3, "epochs": 2, "batch_size": 10, "num_clients": 100, "delta": 1e-5,
    "fixed_gamma_bits": 16,
}
"""The bits sweep of notebook 07 (``data/sweeps/fl_distributed_dp.npz``): digits, 100 IID clients, 20 a
round, 50 rounds, clip 0.3, z = 1; gamma chosen per bits, or fixed at the 16-bit choice (wrap-around)."""


def sweep_clients():
    """The 100 IID digits clients and the test set of notebook 07."""
    from labkit import data
    from labkit.fl.fedavg import client_arrays

    digits = data.load("digits")
    parts = data.partition(digits.y_train, SWEEP_SETTINGS["num_clients"], "iid", seed=0)
    return client_arrays(digits.x_train, digits.y_train, parts), (digits.x_test, digits.y_test)


def bits_sweep(progress=None) -> dict[str, np.ndarray]:
    """Final test accuracy over :data:`SWEEP_SETTINGS` for gamma per bits ("auto"), gamma fixed at the
    16-bit choice ("fixed"), and the central-DP reference; with epsilon and gamma per bits.

    ``progress`` is called once per training run. Introduced in ``07-private-federated-learning.ipynb``.
    """
    S = SWEEP_SETTINGS
    clients, test = sweep_clients()
    dim = test[0].shape[1] * 10 + 10
    kw = dict(rounds=S["rounds"], cohort=S["cohort"], clip=S["clip"], noise_multiplier=S["noise_multiplier"],
              lr=S["lr"], epochs=S["epochs"], batch_size=S["batch_size"], secure=False)
    bits = list(S["bits"])
    auto = np.full((len(bits), len(S["seeds"])), np.nan)
    fixed = np.full_like(auto, np.nan)
    wraps = np.zeros_like(auto)
    gammas, eps = np.full(len(bits), np.nan), np.full(len(bits), np.nan)
    g_fixed = choose_gamma(bits=S["fixed_gamma_bits"], clip=S["clip"], noise_multiplier=S["noise_multiplier"],
                           n_clients=S["cohort"], dim=dim)
    central = np.array([run_distributed_dp(clients, test, bits=None, seed=s, **kw).accuracy[-1] for s in S["seeds"]])
    if progress:
        progress(len(S["seeds"]))
    for i, b in enumerate(bits):
        try:
            gammas[i] = choose_gamma(bits=b, clip=S["clip"], noise_multiplier=S["noise_multiplier"],
                                     n_clients=S["cohort"], dim=dim)
        except ValueError:
            gammas[i] = np.nan  # too few bits for the rounding of 20 clients
        if np.isfinite(gammas[i]):
            eps[i] = ddg_epsilon(noise_multiplier=S["noise_multiplier"], clip=S["clip"], gamma=gammas[i],
                                 n_clients=S["cohort"], dim=dim, rounds=S["rounds"], delta=S["delta"])
        for j, s in enumerate(S["seeds"]):
            if np.isfinite(gammas[i]):
                auto[i, j] = run_distributed_dp(clients, test, bits=b, seed=s, **kw).accuracy[-1]
            fixed[i, j], wraps[i, j] = _fixed_gamma_run(clients, test, b, g_fixed, s, kw)
            if progress:
                progress(2)
    return {"bits": np.asarray(bits, np.int64), "seeds": np.asarray(S["seeds"], np.int64), "auto": auto,
            "fixed": fixed, "fixed_wrapped": wraps, "central": central, "gamma": gammas, "epsilon": eps,
            "fixed_gamma": np.float64(g_fixed),
            "central_epsilon": np.float64(_central_epsilon(S["noise_multiplier"], S["rounds"], S["delta"]))}


def _central_epsilon(z: float, rounds: int, delta: float) -> float:
    """The Gaussian mechanism's epsilon (dp-accounting, RDP) for the same rounds without amplification."""
    import dp_accounting

    acc = dp_accounting.rdp.RdpAccountant(list(RDP_ORDERS))
    acc.compose(dp_accounting.GaussianDpEvent(z), rounds)
    return float(acc.get_epsilon(delta))


def _fixed_gamma_run(clients, test, bits: int, gamma: float, seed: int, kw: dict) -> tuple[float, float]:
    """One run with a fixed gamma (so that few bits wrap around); returns accuracy and mean wrapped
    coordinates per round."""
    from labkit.fl.dp_fedavg import ClippedUpdate
    from labkit.fl.aggregation import Aggregate

    x_test, y_test = test
    rng = v.generator(seed, "seed")
    weights = init_weights(int(x_test.shape[1]), 10, rng)
    model = softmax_model(weights)
    update = ClippedUpdate(LocalSGD(kw["lr"], kw["epochs"], kw["batch_size"], shuffle=False), kw["clip"])
    wrapped: list[int] = []

    def aggregator(updates, params):
        out = distributed_dp_sum([np.asarray(u, np.float64) for u in updates], clip=kw["clip"],
                                 noise_multiplier=kw["noise_multiplier"], bits=bits, gamma=gamma,
                                 expected_clients=kw["cohort"], rng=rng, secure=False)
        wrapped.append(out.wrapped)
        return Aggregate((out.total / kw["cohort"]).astype(params.dtype), 0, 0, "")

    def step(params, selected):
        return federated_round(model, params, clients, selected, update, aggregator=aggregator, rng=rng)

    hist = run_rounds(model, model.flatten(weights), clients, test, rounds=kw["rounds"],
                      select=lambda: np.sort(rng.choice(len(clients), size=kw["cohort"], replace=False)), step=step,
                      stop_on_divergence=False)
    acc = hist.accuracy[-1]
    return (float(acc) if np.isfinite(acc) else 0.0), float(np.mean(wrapped))


SWEEP_FILE = "sweeps/fl_distributed_dp.npz"


def load_bits_sweep() -> dict[str, np.ndarray]:
    """The precomputed :func:`bits_sweep` (``make data`` writes it; verified against the manifest).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit import data

    return data.load_arrays(SWEEP_FILE)


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the last axis and the half-width of its Student-t interval (NaN rows stay NaN).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from scipy import stats

    values = np.asarray(v.number_array("values", values))
    if np.any(np.isinf(values)):
        raise ValueError("values must be finite or NaN (a missing run); got an infinity")
    if values.ndim < 1 or values.shape[-1] < 2:
        raise ValueError(f"values must hold at least 2 seeds along the last axis; got shape {values.shape}")
    confidence = v.probability("confidence", confidence)
    k = values.shape[-1]
    half = stats.t.ppf(0.5 + confidence / 2, k - 1) * np.std(values, axis=-1, ddof=1) / math.sqrt(k)
    return np.mean(values, axis=-1), half


def plot_bits_sweep(ax, sweep: dict):
    """Accuracy against bits per coordinate: gamma chosen per bits, gamma fixed, central DP (95% t-intervals).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.style import PALETTE

    if not hasattr(ax, "errorbar"):
        raise TypeError(f"ax must be a matplotlib Axes; got {type(ax).__name__}")
    if not isinstance(sweep, dict) or not {"bits", "auto", "fixed", "central"} <= set(sweep):
        raise TypeError("sweep must be the dict of load_bits_sweep (bits, auto, fixed, central)")
    bits = np.asarray(sweep["bits"])
    for key, label, colour, marker in (("auto", tr("gamma chosen for the bits"), PALETTE[0], "o"),
                                       ("fixed", tr("gamma fixed at its 16-bit value"), PALETTE[1], "s")):
        mean, half = mean_interval(sweep[key])
        ax.errorbar(bits, mean, yerr=half, color=colour, marker=marker, capsize=3, label=label)
    c_mean, c_half = mean_interval(sweep["central"])
    ax.axhspan(c_mean - c_half, c_mean + c_half, color=PALETTE[2], alpha=0.25,
               label=tr("central DP (server adds noise)"))
    ax.set_xlabel(tr("bits per coordinate (modulus 2^bits)"))
    ax.set_ylabel(tr("test accuracy after 50 rounds"))
    ax.set_ylim(0, 1)
    ax.legend(loc="center right")
    return ax


__all__ = [
    "DistributedDPSum", "DistributedSum", "RDP_ORDERS", "choose_gamma", "clip_l2", "client_message", "ddg_epsilon",
    "ddg_rdp", "ddg_tau", "discrete_gaussian_pmf", "distributed_dp_sum", "rotate", "rotation_signs",
    "run_distributed_dp", "sample_discrete_gaussian", "SWEEP_SETTINGS", "bits_sweep", "sweep_clients", "SWEEP_FILE", "load_bits_sweep", "mean_interval",
    "plot_bits_sweep", "stochastic_round", "to_signed", "unrotate",
]
