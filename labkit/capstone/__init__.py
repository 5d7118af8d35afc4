"""The capstone's hospital federation: skewed hospitals, FedAvg, secure aggregation, HE and DP.

Introduced in ``10-capstone-hospitals.ipynb``. The source document (section 4.3) lets hospitals
encrypt their updates and a central server *decrypt* them and sum: the server then reads every
hospital's update. Here each protection is a configuration of one federation loop, so that what it
costs (accuracy, epsilon, time, bytes per round) and what the server sees can be measured side by
side:

* ``plain``: FedAvg (McMahan et al. 2017), the server receives every hospital's update.
* ``secagg``: the updates are summed by Bonawitz et al. (2017) secure aggregation
  (:func:`labkit.smpc.secure_aggregate_run`); the server gets masked vectors and the sum.
* ``paillier``: the updates are encrypted under a Paillier key whose private half belongs to a key
  holder that is not the server (:mod:`labkit.he.paillier`); the server adds ciphertexts and the key
  holder decrypts only the sum. Values are *packed* many to a plaintext (as in BatchCrypt, Zhang et
  al. 2020), so a 31-parameter update fits in one 2048-bit plaintext
  (31 slots of 66 bits) and costs one ciphertext instead of 31.
* ``secagg + DP``: record-level DP: every hospital runs DP-SGD (Abadi et al. 2016) locally with
  Poisson sampling, clipping and Gaussian noise (:func:`labkit.dp.dpsgd.clip_and_sum`,
  :func:`labkit.dp.dpsgd.add_gaussian_noise`), calibrated per hospital with
  :func:`labkit.dp.noise_multiplier_for_epsilon` so that every patient gets the same epsilon.
  The steps are counted in one place, :func:`local_steps`: the training loop runs that many per
  round, the noise is calibrated for ``rounds`` times that many, and the reported epsilon is
  computed from the noisy steps the loop counted while it ran.

The model is logistic regression in NumPy (30 weights and a bias). The federation loop is written
here because ``labkit.fl`` (notebook 06) was not available when the capstone was written; it is
plain FedAvg with data-size weights that the hospitals publish in advance.

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
from typing import Sequence

import numpy as np

AGGREGATIONS: tuple[str, ...] = ("plain", "secagg", "paillier")
FLOAT_BYTES = 8
"""A model parameter or plaintext update entry travels as a float64."""
SHAMIR_SHARE_BYTES = math.ceil(521 / 8)
"""One Shamir share value in secure aggregation's field 2^521 - 1 (66 bytes)."""
X25519_KEY_BYTES = 32


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


HOSPITALS: tuple[HospitalSpec, ...] = (
    HospitalSpec("university (referral)", 0.40, 0.55),
    HospitalSpec("regional", 0.28, 0.35),
    HospitalSpec("community", 0.20, 0.18),
    HospitalSpec("screening clinic", 0.12, 0.08),
)
"""Four hospitals: a referral centre sees the most patients and the most malignant tumours, a
screening clinic the fewest of both (breast-cancer training split: 426 records, 37% malignant)."""


def apportion(total: int, weights: Sequence[float]) -> np.ndarray:
    """Split the integer ``total`` in proportion to ``weights`` (largest-remainder method).

    Returns non-negative integers that sum to ``total`` exactly.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    w = np.asarray(weights, dtype=np.float64)
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 0:
        raise ValueError(f"total must be a non-negative integer; got {total!r}")
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
    if len(specs) < 2:
        raise ValueError(f"specs must describe at least 2 hospitals; got {len(specs)}")
    shares = np.array([s.share for s in specs], dtype=np.float64)
    malignant = np.array([s.malignant_share for s in specs], dtype=np.float64)
    if np.any(shares <= 0) or abs(shares.sum() - 1) > 1e-9:
        raise ValueError(f"hospital shares must be positive and sum to 1; got {shares.tolist()}")
    if np.any((malignant < 0) | (malignant > 1)):
        raise ValueError(f"malignant_share must be in [0, 1] for every hospital; got {malignant.tolist()}")
    rng = np.random.default_rng(seed)
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
        n = self.nominal_size
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError(f"nominal_size must be an integer >= 1 or None; got {n!r}")

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
    parts = hospital_partition(y, specs, seed)
    return [Hospital(s.name, np.asarray(x[p], dtype=np.float64), np.asarray(y[p]), nominal_size=len(p))
            for s, p in zip(specs, parts)]


# --------------------------------------------------------------------------------------------
# The model: logistic regression as one parameter vector [w_1..w_d, b]
# --------------------------------------------------------------------------------------------


def logits(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The logit w.x + b of every row of ``x`` (the last entry of ``params`` is the bias b)."""
    params = np.asarray(params, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if params.ndim != 1 or x.ndim != 2 or x.shape[1] + 1 != params.size:
        raise ValueError(f"params must have {x.shape[-1] + 1} entries (weights and a bias) for x of shape {x.shape}; got {params.shape}")
    return x @ params[:-1] + params[-1]


def two_class_logits(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logits ``[0, z]`` per row, so that a softmax gives (1 - sigmoid(z), sigmoid(z)).

    The form :mod:`labkit.dp.audit` expects (``(examples, classes)``).
    """
    z = logits(params, x)
    return np.column_stack([np.zeros_like(z), z])


def accuracy(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose predicted label (logit > 0 means benign) equals ``y``."""
    return float(np.mean((logits(params, x) > 0).astype(np.int64) == np.asarray(y)))


def logistic_gradients(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Per-example gradients of the log loss: ``[(n, d) for the weights, (n,) for the bias]``.

    For logistic regression the gradient of example i is (sigmoid(z_i) - y_i) * [x_i, 1], so no
    automatic differentiation is needed. The list form is what
    :func:`labkit.dp.dpsgd.clip_and_sum` takes.
    """
    p = 1.0 / (1.0 + np.exp(-np.clip(logits(params, x), -500, 500)))
    err = p - np.asarray(y, dtype=np.float64)
    return [err[:, None] * np.asarray(x, dtype=np.float64), err]


# --------------------------------------------------------------------------------------------
# Local training at a hospital
# --------------------------------------------------------------------------------------------


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
        if not self.epochs > 0:
            raise ValueError(f"epochs must be > 0; got {self.epochs!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {self.batch_size!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0; got {self.learning_rate!r}")


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
        if not self.target_epsilon > 0:
            raise ValueError(f"target_epsilon must be > 0; got {self.target_epsilon!r}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1); got {self.delta!r}")
        if not self.l2_norm_clip > 0:
            raise ValueError(f"l2_norm_clip must be > 0; got {self.l2_norm_clip!r}")


def local_steps(hospital: Hospital, training: LocalTraining) -> int:
    """The number of SGD steps a hospital takes in one round: ``ceil(epochs * n / batch_size)``.

    ``n`` is the hospital's public (nominal) size. This is the one place where steps are counted:
    :func:`local_update` runs this many steps per round, and :func:`hospital_noise_multipliers`
    calibrates the noise for ``rounds`` times this many. Rounding up happens per round, so R rounds
    run ``R * ceil(epochs * n / b)`` steps, which can exceed ``ceil(R * epochs * n / b)``.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    from labkit.dp import dpsgd_steps

    return dpsgd_steps(hospital.public_size, training.batch_size, training.epochs)


def sampling_probability(hospital: Hospital, training: LocalTraining) -> float:
    """DP-SGD's Poisson sampling rate at a hospital: ``min(1, batch_size / nominal size)``."""
    return min(1.0, training.batch_size / hospital.public_size)


def train_locally(params: np.ndarray, hospital: Hospital, training: LocalTraining,
                  rng: np.random.Generator | None = None, *, noise_multiplier: float | None = None,
                  l2_norm_clip: float = 1.0) -> tuple[np.ndarray, int]:
    """:func:`local_update`, also returning the number of noisy (DP-SGD) steps the loop took.

    The count is incremented in the loop, once per noise draw, so the accountant is fed what
    really ran. It is 0 without ``noise_multiplier``.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    if rng is None:
        rng = np.random.default_rng()  # OS entropy
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None; got {type(rng).__name__}")
    w = np.array(params, dtype=np.float64)
    n, b, lr = hospital.size, training.batch_size, training.learning_rate
    total = local_steps(hospital, training)
    if noise_multiplier is None:
        steps_done = 0
        while steps_done < total:
            order = rng.permutation(n)
            for start in range(0, n, b):
                if steps_done == total:
                    break
                idx = order[start:start + b]
                gw, gb = logistic_gradients(w, hospital.x[idx], hospital.y[idx])
                w -= lr * np.r_[gw.mean(axis=0), gb.mean()]
                steps_done += 1
        return w, 0
    from labkit.dp.dpsgd import add_gaussian_noise, clip_and_sum

    q = sampling_probability(hospital, training)
    noisy_steps = 0
    for _ in range(total):
        idx = np.flatnonzero(rng.random(n) < q)
        per_example = logistic_gradients(w, hospital.x[idx], hospital.y[idx])
        summed, _norms = clip_and_sum(per_example, l2_norm_clip) if len(idx) else ([np.zeros(w.size - 1), np.zeros(())], None)
        noisy = add_gaussian_noise(summed, l2_norm_clip, noise_multiplier, rng)
        noisy_steps += 1
        w -= lr * np.r_[noisy[0], noisy[1]] / b
    return w, noisy_steps


def local_update(params: np.ndarray, hospital: Hospital, training: LocalTraining,
                 rng: np.random.Generator | None = None, *, noise_multiplier: float | None = None,
                 l2_norm_clip: float = 1.0) -> np.ndarray:
    """Train from ``params`` on one hospital's records and return the new parameters.

    Runs :func:`local_steps` steps. Without ``noise_multiplier``: mini-batch SGD over shuffled
    records. With it: DP-SGD with Poisson sampling (each record joins a step with probability
    q = batch_size / nominal size, :func:`sampling_probability`), per-example clipping to
    ``l2_norm_clip``, Gaussian noise of standard deviation ``noise_multiplier * l2_norm_clip`` on
    the clipped sum, divided by the expected batch size. This is the mechanism that
    :func:`labkit.dp.poisson_gaussian_epsilon` accounts for. ``rng`` drives shuffling, sampling and
    noise; ``None`` draws OS entropy (pass a generator only for a reproducible demonstration).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    return train_locally(params, hospital, training, rng, noise_multiplier=noise_multiplier,
                         l2_norm_clip=l2_norm_clip)[0]


def hospital_noise_multipliers(hospitals: Sequence[Hospital], training: LocalTraining, dp: RecordDP,
                               rounds: int) -> list[float]:
    """Each hospital's noise multiplier for ``dp.target_epsilon`` after ``rounds`` rounds.

    A patient's records sit in one hospital only, so a patient's epsilon is that hospital's DP-SGD
    epsilon over all its local steps: Poisson sampling q = batch_size / nominal size, and
    ``rounds * local_steps`` steps, exactly the steps :func:`local_update` will run
    (:func:`labkit.dp.noise_multiplier_for_epsilon`, RDP accountant).
    """
    from labkit.dp import noise_multiplier_for_epsilon

    return [noise_multiplier_for_epsilon(dp.target_epsilon, sampling_probability(h, training),
                                         rounds * local_steps(h, training), dp.delta)
            for h in hospitals]


def hospital_epsilons(hospitals: Sequence[Hospital], training: LocalTraining, noise_multipliers: Sequence[float],
                      delta: float, steps: Sequence[int]) -> list[float]:
    """The record-level epsilon each hospital's patients get after ``steps[k]`` noisy steps at hospital k.

    Pass the steps that really ran (:attr:`FederationRun.steps`); RDP accountant,
    :func:`labkit.dp.poisson_gaussian_epsilon`.
    """
    from labkit.dp import poisson_gaussian_epsilon

    return [poisson_gaussian_epsilon(sampling_probability(h, training), s, int(k), delta)
            for h, s, k in zip(hospitals, noise_multipliers, steps)]


# --------------------------------------------------------------------------------------------
# Aggregation: the server gets the weighted sum of updates, and sees...
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    """One round's aggregation: the sum, the bytes it took, and what the server held.

    Attributes:
        total: the decoded sum of the hospitals' (weighted) updates.
        bytes_up: bytes sent by hospitals (and, for HE, the key holder) to the server.
        bytes_down: bytes the server sent out (public keys, relayed shares, ciphertexts to the
            key holder), not counting the new model's broadcast.
        server_held: a description of the values the server received.
    """

    total: np.ndarray
    bytes_up: int
    bytes_down: int
    server_held: str


def aggregate_plain(updates: Sequence[np.ndarray]) -> Aggregate:
    """The source document's server, minus the pointless encryption: it receives every update."""
    u = np.asarray(updates, dtype=np.float64)
    return Aggregate(u.sum(axis=0), int(u.shape[0] * u.shape[1] * FLOAT_BYTES), 0,
                     f"{u.shape[0]} updates of {u.shape[1]} floats in the clear")


def secagg_bytes(run) -> tuple[int, int]:
    """Bytes of one secure-aggregation round, counted from what a :class:`labkit.smpc.SecAggRun` sent.

    Up: each client's two 32-byte X25519 public keys (masking, share encryption); the
    ChaCha20-Poly1305 ciphertexts of its Shamir share pairs, one per other share holder, at their
    real length (:attr:`labkit.smpc.Transcript.server_relayed`); its masked vector (8 bytes per
    entry); and in the unmasking round every share the survivors answered with (66 bytes each,
    :attr:`labkit.smpc.Transcript.server_collected`). Down: the server broadcasts every public key
    to every client and relays every encrypted share pair. Signatures (not implemented), the
    survivor list and message headers are not counted.
    """
    n = len(run.graph)
    tr = run.transcript
    keys_up = sum(len(k) for k in run.public_keys.values()) + sum(len(k) for k in run.encryption_public_keys.values())
    shares = sum(len(c) for c in tr.server_relayed.values())
    masked = sum(int(v.nbytes) for v in tr.server_received.values())
    unmask = SHAMIR_SHARE_BYTES * sum(len(kinds["key"]) + len(kinds["seed"]) for kinds in tr.server_collected.values())
    keys_down = n * keys_up
    return keys_up + shares + masked + unmask, keys_down + shares


def aggregate_secagg(updates: Sequence[np.ndarray], rng: np.random.Generator | None = None) -> Aggregate:
    """Sum the updates with :func:`labkit.smpc.secure_aggregate_run` (all pairs, no dropout).

    Keys and masks come from OS entropy unless ``rng`` is given; the sum is the same either way
    (fixed point with 16 fractional bits).
    """
    from labkit.smpc import secure_aggregate_run

    u = np.asarray(updates, dtype=np.float64)
    run = secure_aggregate_run(u, rng=rng)
    up, down = secagg_bytes(run)
    return Aggregate(np.asarray(run.total), up, down,
                     f"{len(run.transcript.server_received)} masked vectors (uniform mod 2^64) and their sum")


PACK_FRAC_BITS = 32
"""Fixed-point fractional bits of a packed Paillier slot."""
PACK_VALUE_BITS = 64
"""A slot value is round(x * 2^32) + 2^63, so |x| < 2^31."""


def pack_slot_bits(num_summands: int) -> int:
    """Bits per packed slot so that ``num_summands`` offset values add without carrying over."""
    if isinstance(num_summands, bool) or not isinstance(num_summands, (int, np.integer)) or num_summands < 1:
        raise ValueError(f"num_summands must be an integer >= 1; got {num_summands!r}")
    return PACK_VALUE_BITS + int(num_summands - 1).bit_length()


def pack(values: np.ndarray, key_bits: int, num_summands: int) -> list[int]:
    """Pack a float vector into as few Paillier plaintexts as fit (slots of :func:`pack_slot_bits`).

    Each value becomes the non-negative integer round(x * 2^32) + 2^63 in its own slot of a big
    integer; adding up to ``num_summands`` such plaintexts adds every slot without overflow into
    its neighbour. This is the batching idea of BatchCrypt (Zhang et al. 2020, USENIX ATC),
    simplified: unsigned slots with an offset that :func:`unpack` removes.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array; got shape {v.shape}")
    if not np.all(np.abs(v) < 2.0 ** (PACK_VALUE_BITS - 1 - PACK_FRAC_BITS)):
        raise ValueError(f"values must be finite with |x| < 2^{PACK_VALUE_BITS - 1 - PACK_FRAC_BITS}")
    width = pack_slot_bits(num_summands)
    per = (int(key_bits) - 1) // width
    if per < 1:
        raise ValueError(f"key_bits must exceed the slot width {width}; got {key_bits}")
    offset = 1 << (PACK_VALUE_BITS - 1)
    ints = [int(round(x * 2**PACK_FRAC_BITS)) + offset for x in v.tolist()]
    out = []
    for start in range(0, len(ints), per):
        m = 0
        for j, a in enumerate(ints[start:start + per]):
            m |= a << (width * j)
        out.append(m)
    return out


def unpack(plaintexts: Sequence[int], length: int, num_summands: int, key_bits: int) -> np.ndarray:
    """Inverse of :func:`pack` for the sum of ``num_summands`` packed vectors of ``length`` values.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    width = pack_slot_bits(num_summands)
    per = (int(key_bits) - 1) // width
    if len(plaintexts) != math.ceil(length / max(per, 1)):
        raise ValueError(f"{length} values need {math.ceil(length / max(per, 1))} plaintexts of {key_bits} bits; got {len(plaintexts)}")
    mask = (1 << width) - 1
    offset = num_summands << (PACK_VALUE_BITS - 1)
    out: list[float] = []
    for m in plaintexts:
        m = int(m)
        for _ in range(min(per, length - len(out))):
            out.append(((m & mask) - offset) / 2**PACK_FRAC_BITS)
            m >>= width
    return np.asarray(out)


def aggregate_paillier(updates: Sequence[np.ndarray], public_key, private_key,
                       rng: np.random.Generator | None = None) -> Aggregate:
    """Sum packed, Paillier-encrypted updates; only the key holder (not the server) decrypts.

    Each hospital packs its update (:func:`pack`) and encrypts each plaintext with
    ``public_key.raw_encrypt`` (fresh r from OS entropy unless ``rng``); the server multiplies the
    ciphertexts (``raw_add``), and sends the encrypted sum to the key holder, who decrypts it with
    ``private_key.raw_decrypt`` and returns the plaintext sum. A ciphertext travels as
    ceil(bits(n^2) / 8) bytes.
    """
    u = np.asarray(updates, dtype=np.float64)
    k, d = u.shape
    cts = []
    for row in u:
        cts.append([public_key.raw_encrypt(m, rng=rng) for m in pack(row, public_key.bits, k)])
    total = cts[0]
    for row in cts[1:]:
        total = [public_key.raw_add(a, b) for a, b in zip(total, row)]
    summed = unpack([private_key.raw_decrypt(c) for c in total], d, k, public_key.bits)
    ct_bytes = (public_key.nsquare.bit_length() + 7) // 8
    per_hospital = len(cts[0])
    up = k * per_hospital * ct_bytes + d * FLOAT_BYTES  # hospitals' ciphertexts, key holder's plaintext sum
    down = per_hospital * ct_bytes  # the encrypted sum to the key holder
    return Aggregate(summed, up, down, f"{k * per_hospital} ciphertexts ({per_hospital} per hospital); the key holder sees the sum")


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
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {', '.join(map(repr, AGGREGATIONS))}; got {self.aggregation!r}")


CONFIGURATIONS: tuple[Configuration, ...] = (
    Configuration("a", "(a) FedAvg", "plain"),
    Configuration("b", "(b) + secure aggregation", "secagg"),
    Configuration("b'", "(b') + Paillier aggregation", "paillier"),
    Configuration("c", "(c) + secure aggregation + record-level DP", "secagg", RecordDP()),
)


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

    if isinstance(records, bool) or not isinstance(records, (int, np.integer)) or records < 1:
        raise ValueError(f"records must be an integer >= 1; got {records!r}")
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be in [0, 1]; got {accuracy!r}")
    return clopper_pearson(int(round(accuracy * records)), int(records), alpha)


def run_federation(hospitals: Sequence[Hospital], config: Configuration, x_test: np.ndarray, y_test: np.ndarray, *,
                   rounds: int = 10, training: LocalTraining | None = None, seed: int | None = None, keys=None,
                   crypto_rng: np.random.Generator | None = None) -> FederationRun:
    """Run FedAvg for ``rounds`` rounds under ``config`` and measure it.

    Every round the server broadcasts the global model; each hospital trains locally
    (:func:`local_update`) and sends its update (new - old) scaled by its public weight
    n_k / N (nominal sizes, :attr:`Hospital.public_size`); the server adds the scaled updates
    (:func:`aggregate_plain`, :func:`aggregate_secagg` or :func:`aggregate_paillier`) and moves the
    model by the sum.

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
            (the private key stands for the separate key holder).
        crypto_rng: randomness for masks and ciphertexts; ``None`` (default) uses OS entropy.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1; got {rounds!r}")
    if len(hospitals) < 2:
        raise ValueError(f"hospitals must hold at least 2 hospitals; got {len(hospitals)}")
    if config.aggregation == "paillier" and keys is None:
        raise ValueError("keys=(public_key, private_key) is required for aggregation='paillier'")
    if config.dp is not None and any(h.nominal_size is None for h in hospitals):
        raise ValueError("record-level DP needs every hospital's nominal_size fixed before training: under add/remove "
                         "adjacency the true record count is private")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None (OS entropy); got {seed!r}")
    training = training or LocalTraining()
    start = time.perf_counter()
    sizes = np.array([h.public_size for h in hospitals], dtype=np.float64)
    weights = sizes / sizes.sum()  # public: hospitals announce their (nominal) sizes before training
    if seed is None:
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence().spawn(len(hospitals))]  # OS entropy
    else:
        rngs = [np.random.default_rng([seed, k]) for k in range(len(hospitals))]
    sigmas: list[float] = []
    planned: list[int] = []
    steps = [0] * len(hospitals)
    if config.dp is not None:
        sigmas = hospital_noise_multipliers(hospitals, training, config.dp, rounds)
        planned = [rounds * local_steps(h, training) for h in hospitals]
    params = np.zeros(hospitals[0].x.shape[1] + 1)
    history = [accuracy(params, x_test, y_test)]
    bytes_round, held = 0, ""
    for _ in range(rounds):
        updates = []
        for k, h in enumerate(hospitals):
            kw = {} if config.dp is None else {"noise_multiplier": sigmas[k], "l2_norm_clip": config.dp.l2_norm_clip}
            new, noisy_steps = train_locally(params, h, training, rngs[k], **kw)
            steps[k] += noisy_steps
            updates.append(weights[k] * (new - params))
        if config.aggregation == "plain":
            agg = aggregate_plain(updates)
        elif config.aggregation == "secagg":
            agg = aggregate_secagg(updates, crypto_rng)
        else:
            agg = aggregate_paillier(updates, keys[0], keys[1], crypto_rng)
        params = params + agg.total
        history.append(accuracy(params, x_test, y_test))
        broadcast = len(hospitals) * params.size * FLOAT_BYTES
        bytes_round, held = agg.bytes_up + agg.bytes_down + broadcast, agg.server_held
    seconds = time.perf_counter() - start
    if config.dp is None:
        return FederationRun(config, params, history, int(bytes_round), held, seconds, test_records=len(y_test))
    if steps != planned:  # the noise was calibrated for `planned` steps
        raise RuntimeError(f"DP-SGD ran {steps} noisy steps per hospital; the noise was calibrated for {planned}")
    eps = hospital_epsilons(hospitals, training, sigmas, config.dp.delta, steps)
    return FederationRun(config, params, history, int(bytes_round), held, seconds, sigmas, eps, steps,
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
    """
    from labkit.dp.audit import loss_threshold_attack

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

    HEAD = ("configuration", "test accuracy [95% CI]", "epsilon (record)", "bytes / round", "MIA AUC [95% CI]",
            "MIA TPR@1%FPR", "the server sees")

    def cells(self) -> list[list[str]]:
        out = []
        for r in self.rows:
            eps = "inf (no DP)" if math.isinf(r.epsilon) else f"{r.epsilon:.2f}"
            auc = f"{r.attack_auc:.2f} [{r.attack_auc_low:.2f}, {r.attack_auc_high:.2f}]"
            acc = f"{r.accuracy:.3f}"
            if math.isfinite(r.accuracy_low) and math.isfinite(r.accuracy_high):
                acc += f" [{r.accuracy_low:.2f}, {r.accuracy_high:.2f}]"
            out.append([r.label, acc, eps, f"{r.bytes_per_round:,}", auc,
                        f"{r.attack_tpr_1pct:.2f}", r.server_sees])
        return out

    def __repr__(self) -> str:
        rows = [list(self.HEAD)] + self.cells()
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEAD))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in self.HEAD)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{escape(c)}</td>" for c in r) + "</tr>"
                       for r in self.cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cost_row(run: FederationRun, attack) -> CostRow:
    """A :class:`CostRow` from a run and its :func:`membership_audit`.

    The AUC carries its 95% DeLong interval, the test accuracy its 95% Clopper-Pearson interval
    (:attr:`FederationRun.accuracy_interval`).
    """
    acc_low, acc_high = run.accuracy_interval if run.test_records else (math.nan, math.nan)
    return CostRow(run.config.label, run.test_accuracy[-1], run.epsilon, run.bytes_per_round, attack.auc,
                   attack.tpr_at_1pct, run.server_held, attack.auc_low, attack.auc_high, acc_low, acc_high)


__all__ = [
    "AGGREGATIONS", "CONFIGURATIONS", "HOSPITALS", "Aggregate", "Configuration", "CostRow", "CostTable",
    "FederationRun", "Hospital", "HospitalSpec", "LocalTraining", "RecordDP", "accuracy", "accuracy_interval",
    "aggregate_paillier",
    "aggregate_plain", "aggregate_secagg", "apportion", "cost_row", "hospital_epsilons", "hospital_noise_multipliers",
    "hospital_partition", "local_steps", "local_update", "logistic_gradients", "logits", "make_hospitals",
    "membership_audit", "pack", "pack_slot_bits", "run_federation", "sampling_probability", "secagg_bytes",
    "train_locally", "two_class_logits", "unpack",
]
