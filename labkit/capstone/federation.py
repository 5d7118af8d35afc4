"""The capstone's hospital federation: its hospitals, configurations, audit and cost table.

Introduced in ``10-capstone-hospitals.ipynb``. The source document (section 4.3) lets hospitals
encrypt their updates and a central server *decrypt* them and sum: the server then reads every
hospital's update. Here each protection is a configuration of one federation, run on the shared
federated code of :mod:`labkit.fl`, so that what it costs (accuracy, epsilon, time, bytes per
round) and what the server sees can be measured side by side:

* ``plain``: FedAvg (McMahan et al. 2017), the server receives every hospital's update
  (:func:`labkit.fl.plain_sum`).
* ``secagg``: the updates are summed by Bonawitz et al. (2017) secure aggregation
  (:class:`labkit.fl.SecureAggregation`); the server gets masked vectors and the sum.
* ``paillier``: the updates are encrypted under a Paillier key whose private half belongs to a key
  holder that is not the server (:class:`labkit.fl.PaillierAggregation`); the server adds
  ciphertexts and the key holder decrypts only the sum. Values are *packed* many to a plaintext
  (:func:`labkit.he.paillier.pack`, as in BatchCrypt, Zhang et al. 2020), so a 31-parameter update
  fits in one 2048-bit plaintext (31 slots of 66 bits) and costs one ciphertext instead of 31.
* ``threshold``: configuration (b'). The same packed Paillier aggregation, but nobody holds the private
  key: the hospitals hold shares of it (:mod:`labkit.he.threshold`, any ``threshold`` of them decrypt),
  and decrypt only the encrypted sum, each sending a partial decryption that the server combines
  (:class:`ThresholdPaillierAggregation`). The server alone, or with fewer than ``threshold`` hospitals,
  cannot decrypt one hospital's ciphertext.
* your own aggregator: :class:`SecureSumAggregator` turns a secure-sum protocol you write
  (``secure_sum(updates, rng) -> (messages, total)``) into an aggregator, and
  :func:`run_federation`'s ``aggregator`` argument plugs it into any configuration.
* ``secagg + DP``: record-level DP: every hospital runs DP-SGD (Abadi et al. 2016) locally with
  Poisson sampling, clipping and Gaussian noise (:class:`labkit.fl.RecordDPSGD`), calibrated per
  hospital with :func:`labkit.dp.noise_multiplier_for_epsilon` so that every patient gets the same
  epsilon. The steps are counted in one place, :func:`local_steps`: the training loop runs that
  many per round, the noise is calibrated for ``rounds`` times that many, and the reported
  epsilon is computed from the noisy steps the loop counted while it ran.

The model is :class:`labkit.fl.LogisticRegression` (30 weights and a bias, float64); local
training is :class:`labkit.fl.LocalSGD` or :class:`labkit.fl.RecordDPSGD`, the round
:func:`labkit.fl.federated_round`, the loop :func:`labkit.fl.run_rounds`, bytes
:func:`labkit.fl.bytes_per_round` (float64: 8 bytes a parameter).

Public sizes: DP's neighbouring datasets differ by adding or removing one patient, so a
hospital's true record count is private. Each hospital therefore announces a *nominal* size
before training (:attr:`Hospital.nominal_size`, by default its size at the time it announces
it) and fixes it: the sampling rate q = batch_size / nominal size, the number of steps and the
FedAvg weight use the nominal size only, so one patient more or less changes none of them.

Randomness: local shuffling, Poisson sampling and DP noise come from OS entropy unless a
``seed`` (or ``rng``) is passed; the notebook passes seeds so that its outputs are reproducible,
which gives no privacy against a reader who knows the seed. Keys, masks and Paillier randomness
come from OS entropy unless an ``rng`` is passed. Secure aggregation and Paillier give the same
sum whatever their randomness. The data partition is a pure function of its seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any, Callable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.fl import (Aggregate, ClientResult, LocalSGD, LogisticRegression, PaillierAggregation, RecordDPSGD,
                       SecureAggregation, bytes_per_round, federated_round, plain_sum, run_rounds)
from labkit.i18n import N_, pad, text_width, tr

AGGREGATIONS: tuple[str, ...] = ("plain", "secagg", "paillier", "threshold")
KEY_THRESHOLD = 3
"""How many of the 4 hospitals' key shares decrypt in configuration (b') (the secure-aggregation threshold of (b))."""


# --------------------------------------------------------------------------------------------
# Hospitals with skewed data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HospitalSpec:
    """How large a hospital is and how many of its patients have a malignant tumour.

    Attributes:
        name: a label for tables and plots.
        share: the hospital's fraction of all training records (the shares sum to 1).
        malignant_share: the target fraction of malignant cases among its records.
    """

    name: str
    share: float
    malignant_share: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string; got {self.name!r}")
        v.real("share", self.share, low=0.0, high=1.0, low_open=True)
        v.real("malignant_share", self.malignant_share, low=0.0, high=1.0)


HOSPITALS: tuple[HospitalSpec, ...] = (
    HospitalSpec(N_("university (referral)"), 0.40, 0.55),
    HospitalSpec(N_("regional"), 0.28, 0.35),
    HospitalSpec(N_("community"), 0.20, 0.18),
    HospitalSpec(N_("screening clinic"), 0.12, 0.08),
)
"""Four hospitals: a referral centre sees the most patients and the most malignant tumours, a
screening clinic the fewest of both (breast-cancer training split: 426 records, 37% malignant)."""


def apportion(total: int, weights: Sequence[float]) -> np.ndarray:
    """Split the integer ``total`` in proportion to ``weights`` (largest-remainder method).

    Returns non-negative integers that sum to ``total`` exactly.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    total = v.count("total", total, minimum=0)
    w = v.finite_array("weights", weights, ndim=1)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError(f"weights must be a non-empty 1-D array of non-negative numbers with a positive sum; got {weights!r}")
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: int(total - counts.sum())]] += 1
    return counts


def hospital_partition(labels: Sequence[int] | np.ndarray, specs: Sequence[HospitalSpec] = HOSPITALS,
                       seed: int = 0) -> list[np.ndarray]:
    """Deal training records to hospitals with the sizes and label balance of ``specs``.

    Malignant records (label 0) are apportioned by ``share * malignant_share`` and benign ones
    (label 1) by ``share * (1 - malignant_share)``; within each class the records are drawn at
    random. Every record goes to exactly one hospital.

    Args:
        labels: 0/1 labels of the training records (0 = malignant, 1 = benign, as scikit-learn).
        specs: at least two hospitals; shares in (0, 1] summing to 1, malignant shares in [0, 1].
        seed: the partition is a pure function of (labels, specs, seed).

    Returns:
        One sorted int64 index array per hospital.

    Raises:
        ValueError: naming the parameter and its valid range.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0 or not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be a non-empty 1-D array of 0/1 labels (0 = malignant, 1 = benign)")
    if seed is None:
        raise TypeError("seed must be an integer seed >= 0 (the partition is a pure function of it); got None")
    rng = v.generator(seed, "seed")
    if specs is None or isinstance(specs, (str, bytes)) or v.is_real(specs) or \
            not all(isinstance(s, HospitalSpec) for s in specs):
        raise TypeError(f"specs must be a sequence of HospitalSpec; got {specs!r}"[:200])
    if len(specs) < 2:
        raise ValueError(f"specs must describe at least 2 hospitals; got {len(specs)}")
    shares = np.array([s.share for s in specs], dtype=np.float64)
    malignant = np.array([s.malignant_share for s in specs], dtype=np.float64)
    if np.any(shares <= 0) or abs(shares.sum() - 1) > 1e-9:
        raise ValueError(f"hospital shares must be positive and sum to 1; got {shares.tolist()}")
    if np.any((malignant < 0) | (malignant > 1)):
        raise ValueError(f"malignant_share must be in [0, 1] for every hospital; got {malignant.tolist()}")
    parts: list[list[np.ndarray]] = [[] for _ in specs]
    for label, weights in ((0, shares * malignant), (1, shares * (1 - malignant))):
        pool = rng.permutation(np.flatnonzero(y == label))
        counts = apportion(len(pool), weights)
        for k, piece in enumerate(np.split(pool, np.cumsum(counts)[:-1])):
            parts[k].append(piece)
    out = [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
    if min(len(p) for p in out) == 0:
        raise ValueError("a hospital received no records; raise its share")
    return out


@dataclass(frozen=True)
class Hospital:
    """One hospital's private training records.

    Attributes:
        name: a label for tables and plots.
        x, y: the records and their 0/1 labels.
        nominal_size: the size the hospital announced before training, public and fixed. DP-SGD's
            sampling rate, its number of steps and the FedAvg weight use it, never the true count
            (which adding or removing one patient would change). ``None`` means the true count,
            which is fine without DP; :func:`run_federation` refuses it for a DP configuration.
            :func:`make_hospitals` announces each hospital's size when it deals the records.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    nominal_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string; got {self.name!r}")
        x = v.finite_array("x", self.x, ndim=2)
        if self.y is None or isinstance(self.y, (str, bytes)):
            raise TypeError(f"y must be an array of 0/1 labels; got {self.y!r}")
        y = v.finite_array("y", self.y, ndim=1, allow_empty=True)
        if np.any((y < 0) | (y > 1)):
            raise ValueError("y must hold labels in [0, 1] (0 = malignant, 1 = benign); got values outside")
        v.same_length(x=x, y=y)
        if self.nominal_size is not None:
            v.count("nominal_size", self.nominal_size)

    @property
    def size(self) -> int:
        """The true number of records (private under DP)."""
        return int(len(self.y))

    @property
    def public_size(self) -> int:
        """The announced size that training and weighting use: :attr:`nominal_size`, else :attr:`size`."""
        return int(self.nominal_size) if self.nominal_size is not None else self.size

    @property
    def malignant_share(self) -> float:
        return float(np.mean(self.y == 0))


def make_hospitals(x: np.ndarray, y: np.ndarray, specs: Sequence[HospitalSpec] = HOSPITALS,
                   seed: int = 0) -> list[Hospital]:
    """The hospitals of ``specs`` holding the records of :func:`hospital_partition`.

    Each hospital announces its size now, before training, as its fixed :attr:`Hospital.nominal_size`.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    x = v.finite_array("x", x, ndim=2)
    if y is None or isinstance(y, (str, bytes)) or np.ndim(y) != 1:
        raise TypeError(f"y must be a 1-D array of 0/1 labels; got {y!r}"[:200])
    v.same_length(x=x, y=np.asarray(y))
    parts = hospital_partition(y, specs, seed)
    return [Hospital(s.name, np.asarray(x[p], dtype=np.float64), np.asarray(y[p]), nominal_size=len(p))
            for s, p in zip(specs, parts)]


def model_for(hospitals: Sequence[Hospital]) -> LogisticRegression:
    """The federation's model: logistic regression on the hospitals' features (30 for breast cancer).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    _check_hospitals(hospitals, minimum=1)
    return LogisticRegression(int(np.shape(hospitals[0].x)[1]))


def _check_hospitals(hospitals: Sequence[Hospital], minimum: int = 2) -> list[Hospital]:
    """``hospitals`` as a list of at least ``minimum`` :class:`Hospital` with the same number of features."""
    if hospitals is None or isinstance(hospitals, (str, bytes)) or v.is_real(hospitals) or \
            not all(isinstance(h, Hospital) for h in hospitals):
        raise TypeError(f"hospitals must be a sequence of Hospital; got {hospitals!r}"[:200])
    hospitals = list(hospitals)
    if len(hospitals) < minimum:
        raise ValueError(f"hospitals must hold at least {minimum} hospital{'s' if minimum > 1 else ''}; "
                         f"got {len(hospitals)}")
    features = {np.shape(h.x)[1] for h in hospitals}
    if len(features) > 1:
        raise ValueError(f"hospitals must all have the same number of features; got {sorted(features)}")
    return hospitals


def _check_hospital(hospital: Hospital) -> Hospital:
    if not isinstance(hospital, Hospital):
        raise TypeError(f"hospital must be a Hospital; got {hospital!r}"[:200])
    return hospital


def _check_training(training: LocalTraining) -> LocalTraining:
    if not isinstance(training, LocalTraining):
        raise TypeError(f"training must be a LocalTraining; got {training!r}"[:200])
    return training


def two_class_logits(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logits ``[0, z]`` per row, so that a softmax gives (1 - sigmoid(z), sigmoid(z)).

    The form :mod:`labkit.dp.audit` expects (``(examples, classes)``).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    x = v.finite_array("x", x, ndim=2)
    z = LogisticRegression(int(x.shape[1])).logits(params, x)
    return np.column_stack([np.zeros_like(z), z])


# --------------------------------------------------------------------------------------------
# Local training at a hospital
# --------------------------------------------------------------------------------------------


MAX_EPOCHS = 10_000
"""The most local epochs per round (a bound: DP-SGD's accountant and the training loop grow with it)."""
MAX_ROUNDS = 10_000
"""The most FedAvg rounds a federation or its noise calibration may ask for."""


@dataclass(frozen=True)
class LocalTraining:
    """What each hospital does with the global model in one round.

    Attributes:
        epochs: local passes over the hospital's records per round.
        batch_size: mini-batch size (the *expected* batch size under DP's Poisson sampling).
        learning_rate: SGD step size.
    """

    epochs: float = 1.0
    batch_size: int = 8
    learning_rate: float = 0.1

    def __post_init__(self) -> None:
        v.real("epochs", self.epochs, low=0.0, low_open=True, high=MAX_EPOCHS)
        v.count("batch_size", self.batch_size)
        v.positive("learning_rate", self.learning_rate)


@dataclass(frozen=True)
class RecordDP:
    """Record-level (patient-level) DP: every hospital runs DP-SGD on its own records.

    Attributes:
        target_epsilon: every hospital calibrates its noise so that its patients get this epsilon
            after all rounds (smaller hospitals need more noise).
        delta: the delta of the guarantee (well below 1 / records per hospital).
        l2_norm_clip: per-example gradient clipping norm C.
    """

    target_epsilon: float = 3.0
    delta: float = 1e-5
    l2_norm_clip: float = 1.0

    def __post_init__(self) -> None:
        v.positive("target_epsilon", self.target_epsilon)  # finite: an infinite target is no guarantee
        v.probability("delta", self.delta)
        v.positive("l2_norm_clip", self.l2_norm_clip)


def local_steps(hospital: Hospital, training: LocalTraining) -> int:
    """The number of SGD steps a hospital takes in one round: ``ceil(epochs * n / batch_size)``.

    ``n`` is the hospital's public (nominal) size. This is the one place where steps are counted:
    :func:`hospital_update` runs this many steps per round, and :func:`hospital_noise_multipliers`
    calibrates the noise for ``rounds`` times this many. Rounding up happens per round, so R rounds
    run ``R * ceil(epochs * n / b)`` steps, which can exceed ``ceil(R * epochs * n / b)``.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    from labkit.dp import dpsgd_steps

    _check_hospital(hospital)
    _check_training(training)
    return dpsgd_steps(hospital.public_size, training.batch_size, training.epochs)


def sampling_probability(hospital: Hospital, training: LocalTraining) -> float:
    """DP-SGD's Poisson sampling rate at a hospital: ``min(1, batch_size / nominal size)``.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    _check_hospital(hospital)
    _check_training(training)
    return min(1.0, training.batch_size / hospital.public_size)


def hospital_update(hospital: Hospital, training: LocalTraining, noise_multiplier: float | None = None,
                    l2_norm_clip: float = 1.0) -> LocalSGD | RecordDPSGD:
    """The client update a hospital runs each round: :func:`local_steps` steps of
    :class:`labkit.fl.LocalSGD` (shuffled mini-batches), or with ``noise_multiplier`` of
    :class:`labkit.fl.RecordDPSGD` (Poisson sampling at q = :func:`sampling_probability`,
    per-example clipping to ``l2_norm_clip``, Gaussian noise, the noisy sum divided by the
    expected batch size). ``noise_multiplier`` must lie in (0, 10^4], the range in which
    :func:`hospital_epsilons` can account for it: a DP update whose epsilon cannot be computed is refused.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    steps = local_steps(hospital, training)
    v.positive("l2_norm_clip", l2_norm_clip)
    if noise_multiplier is not None:
        v.real("noise_multiplier", noise_multiplier, low=0.0, low_open=True, high=1e4)
    if noise_multiplier is None:
        return LocalSGD(training.learning_rate, batch_size=training.batch_size, steps=steps)
    return RecordDPSGD(training.learning_rate, steps, training.batch_size, sampling_probability(hospital, training),
                       noise_multiplier, l2_norm_clip)


def local_update(params: np.ndarray, hospital: Hospital, training: LocalTraining,
                 rng: np.random.Generator | None = None, *, noise_multiplier: float | None = None,
                 l2_norm_clip: float = 1.0) -> np.ndarray:
    """Train from ``params`` on one hospital's records (:func:`hospital_update`) and return the new parameters.

    ``rng`` drives shuffling, sampling and noise; ``None`` draws OS entropy (pass a generator only
    for a reproducible demonstration).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    _check_hospital(hospital)
    params = v.finite_array("params", params, ndim=1)
    if params.size != np.shape(hospital.x)[1] + 1:
        raise ValueError(f"params must have {np.shape(hospital.x)[1] + 1} entries (weights and a bias); "
                         f"got {params.size}")
    rng = v.generator(rng)
    update = hospital_update(hospital, training, noise_multiplier, l2_norm_clip)
    result: ClientResult = update(LogisticRegression(int(np.shape(hospital.x)[1])), params, hospital.x, hospital.y, rng)
    return params + result.update


def hospital_noise_multipliers(hospitals: Sequence[Hospital], training: LocalTraining, dp: RecordDP,
                               rounds: int) -> list[float]:
    """Each hospital's noise multiplier for ``dp.target_epsilon`` after ``rounds`` rounds.

    A patient's records sit in one hospital only, so a patient's epsilon is that hospital's DP-SGD
    epsilon over all its local steps: Poisson sampling q = batch_size / nominal size, and
    ``rounds * local_steps`` steps, exactly the steps :func:`hospital_update` will run
    (:func:`labkit.dp.noise_multiplier_for_epsilon`, RDP accountant).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    from labkit.dp import noise_multiplier_for_epsilon

    hospitals = _check_hospitals(hospitals, minimum=1)
    _check_training(training)
    if not isinstance(dp, RecordDP):
        raise TypeError(f"dp must be a RecordDP; got {dp!r}"[:200])
    rounds = v.count("rounds", rounds, maximum=MAX_ROUNDS)
    return [noise_multiplier_for_epsilon(dp.target_epsilon, sampling_probability(h, training),
                                         rounds * local_steps(h, training), dp.delta)
            for h in hospitals]


def hospital_epsilons(hospitals: Sequence[Hospital], training: LocalTraining, noise_multipliers: Sequence[float],
                      delta: float, steps: Sequence[int]) -> list[float]:
    """The record-level epsilon each hospital's patients get after ``steps[k]`` noisy steps at hospital k.

    Pass the steps that really ran (:attr:`FederationRun.steps`); RDP accountant,
    :func:`labkit.dp.poisson_gaussian_epsilon`.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    from labkit.dp import poisson_gaussian_epsilon

    hospitals = _check_hospitals(hospitals, minimum=1)
    _check_training(training)
    for name, seq in (("noise_multipliers", noise_multipliers), ("steps", steps)):
        if seq is None or isinstance(seq, (str, bytes)) or v.is_real(seq) or not hasattr(seq, "__len__"):
            raise TypeError(f"{name} must be a sequence with one entry per hospital; got {seq!r}")
    v.same_length(hospitals=hospitals, noise_multipliers=noise_multipliers, steps=steps)
    noise_multipliers = [v.positive(f"noise_multipliers[{k}]", s) for k, s in enumerate(noise_multipliers)]
    steps = [v.count(f"steps[{k}]", s, minimum=0, maximum=MAX_ROUNDS * MAX_EPOCHS * 10**3) for k, s in enumerate(steps)]
    v.probability("delta", delta)
    return [poisson_gaussian_epsilon(sampling_probability(h, training), s, int(k), delta)
            for h, s, k in zip(hospitals, noise_multipliers, steps)]


# --------------------------------------------------------------------------------------------
# The federation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    """One row of the cost table: an aggregation, with or without record-level DP."""

    key: str
    label: str
    aggregation: str
    dp: RecordDP | None = None

    def __post_init__(self) -> None:
        for name in ("key", "label"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string; got {getattr(self, name)!r}")
        v.choice("aggregation", self.aggregation, AGGREGATIONS)
        if self.dp is not None and not isinstance(self.dp, RecordDP):
            raise TypeError(f"dp must be a RecordDP or None; got {self.dp!r}")


CONFIGURATIONS: tuple[Configuration, ...] = (
    Configuration("a", N_("(a) FedAvg"), "plain"),
    Configuration("b", N_("(b) + secure aggregation"), "secagg"),
    Configuration("b'", N_("(b') + threshold Paillier aggregation"), "threshold"),
    Configuration("c", N_("(c) + secure aggregation + record-level DP"), "secagg", RecordDP()),
)


@dataclass(frozen=True)
class ThresholdPaillierAggregation:
    """Sum packed, Paillier-encrypted updates; the hospitals, not a key holder, decrypt the sum together.

    Each hospital packs its update (:func:`labkit.he.paillier.pack`) and encrypts it under the public
    key; the server multiplies the ciphertexts and sends the encrypted sum to the first ``threshold``
    share holders; each returns its partial decryption c^(d_i) mod n^2
    (:func:`labkit.he.threshold.partial_decrypt`) and the server combines them
    (:func:`labkit.he.threshold.combine`) into the plaintext sum. A share holder decrypts only what
    it is sent (honest-but-curious: nothing here proves a partial correct, see :mod:`labkit.he.threshold`).

    Bytes: each hospital's ciphertexts up, the encrypted sum down to each of ``threshold`` holders,
    their partial decryptions (one ciphertext-sized value per plaintext) up.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    public_key: Any
    shares: tuple
    rng: np.random.Generator | None = None

    def __post_init__(self) -> None:
        from labkit.he.paillier import PublicKey
        from labkit.he.threshold import KeyShare

        if not isinstance(self.public_key, PublicKey):
            raise TypeError(f"public_key must be a labkit.he.paillier PublicKey; got {self.public_key!r}"[:200])
        if isinstance(self.shares, (str, bytes)) or not hasattr(self.shares, "__len__") or not self.shares or \
                not all(isinstance(s, KeyShare) for s in self.shares):
            raise TypeError(f"shares must be a non-empty list of labkit.he.threshold KeyShare; got {self.shares!r}"[:200])
        if any(s.public_key != self.public_key for s in self.shares):
            raise ValueError("shares must belong to public_key")
        if len(self.shares) < self.shares[0].threshold:
            raise ValueError(f"shares must number at least their threshold {self.shares[0].threshold}; got {len(self.shares)}")
        object.__setattr__(self, "shares", tuple(self.shares))
        if self.rng is not None:
            object.__setattr__(self, "rng", v.generator(self.rng))

    @property
    def threshold(self) -> int:
        return self.shares[0].threshold

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray | None = None) -> Aggregate:
        from labkit.fl.aggregation import _packed_encrypted_sum
        from labkit.he.paillier import unpack
        from labkit.he.threshold import combine, partial_decrypt

        pk = self.public_key
        if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates) or len(updates) == 0:
            raise ValueError(f"updates must hold at least one client update; got {updates!r}"[:200])
        u = np.asarray([v.finite_array(f"updates[{i}]", x) for i, x in enumerate(updates)], dtype=np.float64)
        if u.ndim != 2:
            raise ValueError(f"updates must be flat vectors of one length (one per client); got shape {u.shape}")
        if params is not None:
            params = v.finite_array("params", params)
        if params is not None and np.shape(params) != u.shape[1:]:
            raise ValueError(f"updates and params must have the same shape; got {u.shape[1:]} and {np.shape(params)}")
        k, d = u.shape
        total, per_client = _packed_encrypted_sum(pk, u, self.rng)
        holders = self.shares[:self.threshold]
        plain = [combine(pk, [partial_decrypt(s, c) for s in holders]) for c in total]
        summed = unpack(plain, d, k, pk.bits)
        ct_bytes = (pk.nsquare.bit_length() + 7) // 8
        t = len(holders)
        up = k * per_client * ct_bytes + t * per_client * ct_bytes  # ciphertexts, then partial decryptions
        down = t * per_client * ct_bytes  # the encrypted sum to each share holder
        return Aggregate(summed, up, down,
                         tr("{count} ciphertexts ({per_client} per hospital) and {partials} partial decryptions of "
                            "their sum").format(count=k * per_client, per_client=per_client, partials=t * per_client))


RING = 2**64
"""The messages of a secure sum are elements of Z_(2^64), the ring of :mod:`labkit.smpc.ring`."""


def _ring_vector(name: str, value: Any, size: int) -> np.ndarray:
    """``value`` as a ``uint64`` vector of ``size`` elements of Z_(2^64).

    NumPy integer arrays keep their bits (an ``int64`` is read as its two's-complement element);
    Python integers must already lie in [0, 2^64), reduced modulo 2^64: a larger or negative number
    does not fit in 8 bytes, and its size says something about the value it hides. Floats are
    refused: a float cannot be masked uniformly.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    size = v.count("size", size)
    if value is None or isinstance(value, (str, bytes)) or v.is_real(value) or v.is_bool(value):
        raise TypeError(f"{name} must be a vector of {size} elements of Z_(2^64) (uint64); got {value!r}"[:200])
    arr = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)  # Python ints stay exact
    if arr.dtype == object:
        items = arr.ravel().tolist()
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in items):
            raise TypeError(f"{name} must hold integers modulo 2^64; got {value!r}"[:200])
        if not all(0 <= int(x) < RING for x in items):
            raise ValueError(f"{name} must hold integers in [0, 2^64) (reduce them modulo 2^64); got a value outside")
        arr = np.array([int(x) for x in items], dtype=np.uint64).reshape(arr.shape)
    elif arr.dtype.kind not in "iu" or arr.dtype.itemsize > 8:
        raise TypeError(f"{name} must be a vector of elements of Z_(2^64) (uint64, as labkit.smpc.encode returns); "
                        f"got dtype {arr.dtype}")
    elif arr.dtype.kind == "i":
        arr = arr.astype(np.int64).view(np.uint64)
    else:
        arr = arr.astype(np.uint64)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},); got {arr.shape}")
    return arr


@dataclass
class SecureSumAggregator:
    """A federation aggregator ``(updates, params) -> Aggregate`` built from a secure sum you write.

    ``secure_sum(updates, rng) -> (messages, total)`` runs one round: ``updates`` are the hospitals'
    scaled updates (float64 vectors), ``rng`` a generator for masks or shares; ``messages[k]`` is what
    hospital k sends the server, a vector of elements of Z_(2^64) (:func:`_ring_vector`), and ``total``
    the sum the server decodes from the messages alone (fixed point, :func:`labkit.smpc.decode`).
    Each call checks that the messages decode to ``total`` within 1e-9, and keeps the round's
    updates and messages in :attr:`rounds`, so that you can compare what the server received with
    what the hospitals put in.

    Bytes up: 8 per message entry. What the hospitals exchange among themselves to agree on masks or
    shares is not counted (:class:`labkit.fl.SecureAggregation` counts it for Bonawitz et al. 2017).

    Attributes:
        secure_sum: the protocol.
        rng: masks and shares; ``None`` (default) draws every round's generator from OS entropy.
        rounds: per round, ``(updates, messages)``: the float64 updates and the ``uint64`` messages.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    secure_sum: Callable[[list, np.random.Generator], Any]
    rng: np.random.Generator | None = None
    rounds: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not callable(self.secure_sum):
            raise TypeError(f"secure_sum must be a function (updates, rng) -> (messages, total); "
                            f"got {self.secure_sum!r}"[:200])
        if self.rng is not None:
            self.rng = v.generator(self.rng)

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray | None = None) -> Aggregate:
        from labkit.smpc import decode

        if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates) or \
                not hasattr(updates, "__len__"):
            raise TypeError(f"updates must be a sequence of update vectors; got {updates!r}"[:200])
        u = [v.finite_array(f"updates[{k}]", x, ndim=1) for k, x in enumerate(updates)]
        if len(u) < 2:
            raise ValueError(f"updates must hold at least 2 hospitals' updates for a secure sum; got {len(u)}")
        d = u[0].size
        for k, x in enumerate(u):
            if x.size != d:
                raise ValueError(f"updates[{k}] must have {d} entries like updates[0]; got {x.size}")
        if params is not None:
            params = v.finite_array("params", params, ndim=1, dtype=None)
            if params.size != d:
                raise ValueError(f"params must have {d} entries like the updates; got {params.size}")
        rng = self.rng if self.rng is not None else np.random.default_rng()
        out = self.secure_sum([x.copy() for x in u], rng)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"secure_sum must return (messages, total); got {out!r}"[:200])
        messages, total = out
        if messages is None or isinstance(messages, (str, bytes)) or not hasattr(messages, "__len__") or \
                len(messages) != len(u):
            raise ValueError(f"secure_sum must return one message per hospital ({len(u)}); got {messages!r}"[:200])
        ring = [_ring_vector(f"messages[{k}]", m, d) for k, m in enumerate(messages)]
        total = v.finite_array("total", total, ndim=1)
        if total.size != d:
            raise ValueError(f"secure_sum's total must have {d} entries; got {total.size}")
        server = decode(np.sum(ring, axis=0, dtype=np.uint64))
        if not np.allclose(total, server, rtol=0.0, atol=1e-9):
            raise ValueError("secure_sum's total must be what the server decodes from the messages alone "
                             f"(off by up to {float(np.max(np.abs(total - server))):.3g})")
        self.rounds.append(([x.copy() for x in u], [m.copy() for m in ring]))
        dtype = u[0].dtype if params is None else params.dtype
        return Aggregate(server.astype(dtype), len(u) * d * 8, 0,
                         tr("{count} messages of {size} elements of Z_(2^64) from your protocol").format(count=len(u),
                                                                                                       size=d))


@dataclass
class FederationRun:
    """What one configuration produced and cost.

    Attributes:
        config: the configuration.
        params: the final global model.
        test_accuracy: test accuracy after each round (index 0 = the initial model).
        bytes_per_round: total bytes sent in one round (all parties, model broadcast included).
        server_held: what the server received in a round.
        seconds: wall time of the whole run (timing varies run to run).
        noise_multipliers: per-hospital DP-SGD noise multipliers (empty without DP).
        epsilons: per-hospital record-level epsilons (empty without DP), for the noisy steps
            counted in :attr:`steps`.
        steps: per-hospital number of noisy DP-SGD steps counted while training ran (empty
            without DP).
        test_records: how many held-out records :attr:`test_accuracy` was measured on.
    """

    config: Configuration
    params: np.ndarray
    test_accuracy: list[float]
    bytes_per_round: int
    server_held: str
    seconds: float
    noise_multipliers: list[float] = field(default_factory=list)
    epsilons: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    test_records: int = 0

    @property
    def epsilon(self) -> float:
        """The worst patient's epsilon (``inf`` without DP)."""
        return max(self.epsilons) if self.epsilons else math.inf

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """95% confidence interval of the final test accuracy (:func:`accuracy_interval`)."""
        return accuracy_interval(self.test_accuracy[-1], self.test_records)


def accuracy_interval(accuracy: float, records: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) ``1 - alpha`` confidence interval of an accuracy measured on ``records`` records.

    On 143 test records an accuracy of 0.951 has the interval [0.90, 0.98], about 8 points wide: two
    models whose intervals overlap are indistinguishable on them (:func:`labkit.dp.audit.indistinguishable`).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    from labkit.dp.audit import clopper_pearson

    v.count("records", records)
    v.real("accuracy", accuracy, low=0.0, high=1.0)
    v.probability("alpha", alpha)
    return clopper_pearson(int(round(accuracy * records)), int(records), alpha)


def _hospital_shares(keys: Any, hospitals: int) -> list:
    """The hospitals' key shares: given, or dealt from a private key (:data:`KEY_THRESHOLD` of them decrypt)."""
    from labkit.he.paillier import PrivateKey
    from labkit.he.threshold import split_key

    if isinstance(keys[1], PrivateKey):
        if keys[1].public_key != keys[0]:
            raise ValueError("keys: the private key does not belong to the public key")
        return split_key(keys[1], hospitals, min(KEY_THRESHOLD, hospitals))
    return list(keys[1]) if hasattr(keys[1], "__len__") and not isinstance(keys[1], (str, bytes)) else keys[1]


def run_federation(hospitals: Sequence[Hospital], config: Configuration, x_test: np.ndarray, y_test: np.ndarray, *,
                   rounds: int = 10, training: LocalTraining | None = None, seed: int | None = None, keys: Any = None,
                   crypto_rng: np.random.Generator | None = None,
                   aggregator: Callable[[list, np.ndarray], Aggregate] | None = None) -> FederationRun:
    """Run FedAvg for ``rounds`` rounds under ``config`` and measure it.

    Every round the server broadcasts the global model; each hospital trains locally
    (:func:`hospital_update`) and sends its update (new - old) scaled by its public weight
    n_k / N (nominal sizes, :attr:`Hospital.public_size`); the server adds the scaled updates with
    the configuration's aggregator and moves the model by the sum (:func:`labkit.fl.federated_round`).

    Args:
        hospitals: the federation (at least 2).
        config: one of :data:`CONFIGURATIONS` (or your own).
        x_test, y_test: held-out records for the accuracy curve.
        rounds: FedAvg rounds (>= 1).
        training: local training; default :class:`LocalTraining`.
        seed: seeds local shuffling, Poisson sampling and DP noise (one stream per hospital), for a
            reproducible demonstration only: anyone who knows the seed can subtract the noise.
            ``None`` (default) draws them from OS entropy.
        keys: ``(public_key, private_key)`` of :mod:`labkit.he.paillier` for ``"paillier"``
            (the private key stands for the separate key holder); for ``"threshold"`` (b'),
            ``(public_key, shares)`` with the hospitals' :class:`labkit.he.threshold.KeyShare` list, or
            ``(public_key, private_key)``, which is then dealt to the hospitals (:data:`KEY_THRESHOLD`
            of them decrypt, OS entropy) before training.
        crypto_rng: randomness for masks and ciphertexts; ``None`` (default) uses OS entropy.
        aggregator: a server aggregator ``(updates, params) -> Aggregate`` used in place of the
            configuration's (for example a :class:`SecureSumAggregator`); the configuration still
            decides DP. ``None`` (default): the configuration's aggregation.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    v.count("rounds", rounds, maximum=MAX_ROUNDS)
    if aggregator is not None and not callable(aggregator):
        raise TypeError(f"aggregator must be a callable (updates, params) -> Aggregate or None; got {aggregator!r}"[:200])
    hospitals = _check_hospitals(hospitals)
    if not isinstance(config, Configuration):
        raise TypeError(f"config must be a Configuration; got {config!r}"[:200])
    if training is not None:
        _check_training(training)
    x_test = v.finite_array("x_test", x_test, ndim=2)
    if x_test.shape[1] != np.shape(hospitals[0].x)[1]:
        raise ValueError(f"x_test must have {np.shape(hospitals[0].x)[1]} columns like the hospitals' records; "
                         f"got shape {x_test.shape}")
    if y_test is None or isinstance(y_test, (str, bytes)) or np.ndim(y_test) != 1 or \
            not np.all(np.isin(np.asarray(y_test), (0, 1))):
        raise ValueError(f"y_test must be a 1-D array of 0/1 labels; got {y_test!r}"[:200])
    v.same_length(x_test=x_test, y_test=y_test)
    if crypto_rng is not None:
        crypto_rng = v.generator(crypto_rng, "crypto_rng")
    if keys is not None and (isinstance(keys, (str, bytes)) or v.is_real(keys) or len(keys) != 2):
        raise TypeError(f"keys must be (public_key, private_key) or None; got {keys!r}"[:200])
    if config.aggregation in ("paillier", "threshold") and keys is None and aggregator is None:
        raise ValueError(f"keys=(public_key, private_key) is required for aggregation={config.aggregation!r}")
    if config.dp is not None and any(h.nominal_size is None for h in hospitals):
        raise ValueError("record-level DP needs every hospital's nominal_size fixed before training: under add/remove "
                         "adjacency the true record count is private")
    if seed is not None:
        v.generator(seed, "seed")  # an int >= 0 or None (a Generator cannot seed one stream per hospital)
        if not v.is_integer(seed):
            raise TypeError(f"seed must be an integer seed >= 0 or None; got {seed!r}")
    training = training or LocalTraining()
    start = time.perf_counter()
    sizes = [h.public_size for h in hospitals]  # public: hospitals announce their (nominal) sizes before training
    if seed is None:
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence().spawn(len(hospitals))]  # OS entropy
    else:
        rngs = [np.random.default_rng([seed, k]) for k in range(len(hospitals))]
    sigmas: list[float] = []
    if config.dp is not None:
        sigmas = hospital_noise_multipliers(hospitals, training, config.dp, rounds)
        updates = [hospital_update(h, training, s, config.dp.l2_norm_clip) for h, s in zip(hospitals, sigmas)]
    else:
        updates = [hospital_update(h, training) for h in hospitals]
    if aggregator is None and config.aggregation == "plain":
        aggregator = plain_sum
    elif aggregator is None and config.aggregation == "secagg":
        aggregator = SecureAggregation(crypto_rng)
    elif aggregator is None and config.aggregation == "threshold":
        aggregator = ThresholdPaillierAggregation(keys[0], _hospital_shares(keys, len(hospitals)), crypto_rng)
    elif aggregator is None:
        aggregator = PaillierAggregation(keys[0], keys[1], crypto_rng)
    model = model_for(hospitals)
    clients = [(h.x, h.y) for h in hospitals]
    everyone = list(range(len(hospitals)))

    def step(params: np.ndarray, selected: list) -> Any:
        return federated_round(model, params, clients, selected, updates, aggregator=aggregator,
                               client_weights=sizes, rng=rngs)

    hist = run_rounds(model, model.init(), clients, (x_test, y_test), rounds=rounds, select=lambda: everyone,
                      step=step, stop_on_divergence=False)
    params, agg = hist.weights, hist.aggregate
    broadcast = len(hospitals) * bytes_per_round(params, len(hospitals))["per_client_down"]
    bytes_round, held = agg.bytes_up + agg.bytes_down + broadcast, agg.server_held
    seconds = time.perf_counter() - start
    if config.dp is None:
        return FederationRun(config, params, hist.accuracy, int(bytes_round), held, seconds, test_records=len(y_test))
    planned = [rounds * local_steps(h, training) for h in hospitals]
    steps = hist.noisy_steps
    if steps != planned:  # the noise was calibrated for `planned` steps
        raise RuntimeError(f"DP-SGD ran {steps} noisy steps per hospital; the noise was calibrated for {planned}")
    eps = hospital_epsilons(hospitals, training, sigmas, config.dp.delta, steps)
    return FederationRun(config, params, hist.accuracy, int(bytes_round), held, seconds, sigmas, eps, steps,
                         test_records=len(y_test))


# --------------------------------------------------------------------------------------------
# Audit and the cost table
# --------------------------------------------------------------------------------------------


def membership_audit(params: np.ndarray, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                     y_test: np.ndarray):
    """The loss-threshold attack of notebook 05 (:func:`labkit.dp.audit.loss_threshold_attack`) on a model.

    Members are the federation's training records, non-members the held-out test records; the
    attacker is the outsider who holds the released model. Returns a
    :class:`labkit.dp.audit.AttackResult` (AUC with its 95% DeLong interval, TPR at 1% FPR).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    from labkit.dp.audit import loss_threshold_attack

    x_train = v.finite_array("x_train", x_train, ndim=2)
    x_test = v.finite_array("x_test", x_test, ndim=2)
    for name, labels, xs in (("y_train", y_train, x_train), ("y_test", y_test, x_test)):
        if labels is None or isinstance(labels, (str, bytes)) or np.ndim(labels) != 1 or \
                not np.all(np.isin(np.asarray(labels), (0, 1))):
            raise ValueError(f"{name} must be a 1-D array of 0/1 labels; got {labels!r}"[:200])
        v.same_length(**{name.replace("y", "x"): xs, name: labels})
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"x_train and x_test must have the same columns; got {x_train.shape} and {x_test.shape}")
    x = np.concatenate([x_train, x_test])
    y = np.concatenate([y_train, y_test]).astype(np.int64)
    members = np.r_[np.ones(len(y_train), bool), np.zeros(len(y_test), bool)]
    return loss_threshold_attack(two_class_logits(params, x), y, members)


@dataclass(frozen=True)
class CostRow:
    """One configuration's stable numbers (timings are kept apart: they vary run to run).

    The attack's AUC comes with its 95% DeLong interval ``[attack_auc_low, attack_auc_high]``, the
    test accuracy with its 95% Clopper-Pearson interval ``[accuracy_low, accuracy_high]``.
    """

    label: str
    accuracy: float
    epsilon: float
    bytes_per_round: int
    attack_auc: float
    attack_tpr_1pct: float
    server_sees: str
    attack_auc_low: float
    attack_auc_high: float
    accuracy_low: float = math.nan
    accuracy_high: float = math.nan


@dataclass(frozen=True)
class CostTable:
    """The capstone's cost table: renders as text and as HTML."""

    rows: tuple[CostRow, ...]

    HEAD = (N_("configuration"), N_("test accuracy [95% CI]"), N_("epsilon (record)"), N_("bytes / round"),
            N_("MIA AUC [95% CI]"), N_("MIA TPR@1%FPR"), N_("the server sees"))

    def cells(self) -> list[list[str]]:
        """The table's cells, row by row, as the learner reads them (the labels in the current language)."""
        out = []
        for r in self.rows:
            eps = tr("inf (no DP)") if math.isinf(r.epsilon) else f"{r.epsilon:.2f}"
            auc = f"{r.attack_auc:.2f} [{r.attack_auc_low:.2f}, {r.attack_auc_high:.2f}]"
            acc = f"{r.accuracy:.3f}"
            if math.isfinite(r.accuracy_low) and math.isfinite(r.accuracy_high):
                acc += f" [{r.accuracy_low:.2f}, {r.accuracy_high:.2f}]"
            out.append([tr(r.label), acc, eps, f"{r.bytes_per_round:,}", auc,
                        f"{r.attack_tpr_1pct:.2f}", r.server_sees])
        return out

    def __repr__(self) -> str:
        rows = [[tr(h) for h in self.HEAD]] + self.cells()
        widths = [max(text_width(r[i]) for r in rows) for i in range(len(self.HEAD))]
        return "\n".join("  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(tr(h))}</th>" for h in self.HEAD)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{escape(c)}</td>" for c in r) + "</tr>"
                       for r in self.cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cost_row(run: FederationRun, attack) -> CostRow:
    """A :class:`CostRow` from a run and its :func:`membership_audit`.

    The AUC carries its 95% DeLong interval, the test accuracy its 95% Clopper-Pearson interval
    (:attr:`FederationRun.accuracy_interval`).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    if not isinstance(run, FederationRun):
        raise TypeError(f"run must be a FederationRun; got {run!r}"[:200])
    if not all(hasattr(attack, a) for a in ("auc", "tpr_at_1pct", "auc_low", "auc_high")):
        raise TypeError(f"attack must be the result of membership_audit; got {attack!r}"[:200])
    acc_low, acc_high = run.accuracy_interval if run.test_records else (math.nan, math.nan)
    return CostRow(run.config.label, run.test_accuracy[-1], run.epsilon, run.bytes_per_round, attack.auc,
                   attack.tpr_at_1pct, run.server_held, attack.auc_low, attack.auc_high, acc_low, acc_high)
