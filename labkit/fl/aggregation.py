"""Server-side aggregators: how the server gets the sum of the clients' (weighted) updates, and what it sees.

An aggregator is a callable ``aggregator(updates, params) -> Aggregate``: ``updates`` are the
clients' flat, already weighted updates, ``params`` the current global model (for the shape and
dtype of an empty sum). It returns the sum, the bytes it took and a description of what the
server held, in the spirit of TensorFlow Federated's aggregation factories
(``tff.aggregators``) and Flower's strategies:

- :func:`plain_sum`: the server receives every update in the clear (FedAvg, notebooks 06 and 10);
- :class:`SecureAggregation`: Bonawitz et al. (2017) secure aggregation of
  :func:`labkit.smpc.secure_aggregate_run`; the server gets masked vectors and the sum;
- :class:`PaillierAggregation`: updates packed many to a plaintext
  (:func:`labkit.he.paillier.pack`) and encrypted under a key whose private half a separate key
  holder keeps; the server multiplies ciphertexts, the key holder decrypts only the sum;
- DP-FedAvg's noisy sum is :class:`labkit.fl.dp_fedavg.GaussianSum`.

Bytes: an update entry travels at its dtype's size (float32: 4 bytes, float64: 8), as
:func:`labkit.fl.bytes_per_round` counts the model's broadcast.

Introduced in ``10-capstone-hospitals.ipynb`` (the plain sum in ``06-federated-averaging.ipynb``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr

SHAMIR_SHARE_BYTES = math.ceil(521 / 8)
"""One Shamir share value in secure aggregation's field 2^521 - 1 (66 bytes)."""


@dataclass(frozen=True)
class Aggregate:
    """One round's aggregation: the sum, the bytes it took, and what the server held.

    Attributes:
        total: the decoded sum of the clients' (weighted) updates.
        bytes_up: bytes sent by clients (and, for HE, the key holder) to the server.
        bytes_down: bytes the server sent out (public keys, relayed shares, ciphertexts to the
            key holder), not counting the new model's broadcast.
        server_held: a description of the values the server received.
    """

    total: np.ndarray
    bytes_up: int
    bytes_down: int
    server_held: str


def _stack(updates: Sequence[np.ndarray], params: np.ndarray | None, *, finite: bool = True) -> list[np.ndarray]:
    """``updates`` as a list of numeric arrays of one shape (that of ``params`` when given), finite
    unless ``finite=False`` (the plain sum passes a diverged update on: :func:`labkit.fl.run_rounds`
    reports the divergence)."""
    if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates) or \
            isinstance(updates, np.ndarray) and updates.ndim == 0:
        raise TypeError(f"updates must be a sequence of client update arrays; got {updates!r}"[:200])
    if params is not None:
        params = v.finite_array("params", params, dtype=None)
        if not np.issubdtype(params.dtype, np.number):
            raise TypeError(f"params must be an array of numbers; got dtype {params.dtype}")
    if len(updates) == 0 and params is None:
        raise ValueError("updates must hold at least one client update; got none")
    out = []
    for i, u in enumerate(updates):
        if finite:
            u = v.finite_array(f"updates[{i}]", u, dtype=None)
        elif u is None or isinstance(u, (str, bytes)):
            raise TypeError(f"updates[{i}] must be an array of numbers; got {u!r}")
        u = np.asarray(u)
        if not np.issubdtype(u.dtype, np.number):
            raise TypeError(f"updates[{i}] must be an array of numbers; got dtype {u.dtype}")
        if params is not None and u.shape != params.shape:
            raise ValueError(f"updates[{i}] and params must have the same shape; got {u.shape} and {params.shape}")
        if out and u.shape != out[0].shape:
            raise ValueError(f"updates[{i}] must have the shape of updates[0] {out[0].shape}; got {u.shape}")
        out.append(u)
    return out


def plain_sum(updates: Sequence[np.ndarray], params: np.ndarray | None = None) -> Aggregate:
    """The server receives every update in the clear and adds them, in order, in their dtype.

    Introduced in ``06-federated-averaging.ipynb``; in ``10-capstone-hospitals.ipynb`` it is
    configuration (a).
    """
    u = _stack(updates, params, finite=False)
    if not u:
        return Aggregate(np.zeros_like(params), 0, 0, tr("no updates"))
    total = u[0]
    for x in u[1:]:
        total = total + x
    size = int(total.size)
    return Aggregate(total, len(u) * size * total.dtype.itemsize, 0,
                     tr("{count} updates of {size} floats in the clear").format(count=len(u), size=size))


def secagg_bytes(run: Any) -> tuple[int, int]:
    """Bytes of one secure-aggregation round, counted from what a :class:`labkit.smpc.SecAggRun` sent.

    Up: each client's two 32-byte X25519 public keys (masking, share encryption); the
    ChaCha20-Poly1305 ciphertexts of its Shamir share pairs, one per other share holder, at their
    real length (:attr:`labkit.smpc.Transcript.server_relayed`); its masked vector (8 bytes per
    entry); and in the unmasking round every share the survivors answered with (66 bytes each,
    :attr:`labkit.smpc.Transcript.server_collected`). Down: the server broadcasts every public key
    to every client and relays every encrypted share pair. Signatures (not implemented), the
    survivor list and message headers are not counted.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """
    if not all(hasattr(run, a) for a in ("graph", "transcript", "public_keys", "encryption_public_keys")):
        raise TypeError(f"run must be a labkit.smpc.SecAggRun (from secure_aggregate_run); got {run!r}"[:200])
    n = len(run.graph)
    transcript = run.transcript
    keys_up = sum(len(k) for k in run.public_keys.values()) + sum(len(k) for k in run.encryption_public_keys.values())
    shares = sum(len(c) for c in transcript.server_relayed.values())
    masked = sum(int(v.nbytes) for v in transcript.server_received.values())
    unmask = SHAMIR_SHARE_BYTES * sum(len(kinds["key"]) + len(kinds["seed"])
                                      for kinds in transcript.server_collected.values())
    keys_down = n * keys_up
    return keys_up + shares + masked + unmask, keys_down + shares


@dataclass(frozen=True)
class SecureAggregation:
    """Sum the updates with :func:`labkit.smpc.secure_aggregate_run` (all pairs, no dropout).

    Keys and masks come from OS entropy unless ``rng`` is given; the sum is the same either way
    (fixed point with 16 fractional bits).

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    rng: np.random.Generator | None = None

    def __post_init__(self) -> None:
        if self.rng is not None:
            object.__setattr__(self, "rng", v.generator(self.rng))

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray | None = None) -> Aggregate:
        from labkit.smpc import secure_aggregate_run

        u = np.asarray(_stack(updates, params), dtype=np.float64)
        if len(u) < 2:
            raise ValueError(f"updates must hold at least 2 client updates for secure aggregation; got {len(u)}")
        run = secure_aggregate_run(u, rng=self.rng)
        up, down = secagg_bytes(run)
        return Aggregate(np.asarray(run.total), up, down,
                         tr("{count} masked vectors (uniform mod 2^64) and their sum").format(
                             count=len(run.transcript.server_received)))


def _packed_encrypted_sum(pk: Any, updates: np.ndarray, rng: np.random.Generator | None) -> tuple[list[int], int]:
    """What every client and the server do in packed Paillier aggregation: each client packs its row of
    ``updates`` (:func:`labkit.he.paillier.pack`) and encrypts each plaintext (fresh r from OS entropy
    unless ``rng``); the server multiplies the ciphertexts. Returns the encrypted sum and the number of
    ciphertexts per client. Decrypting the sum is the caller's: one key holder
    (:class:`PaillierAggregation`) or several share holders (the capstone's threshold configuration)."""
    from labkit.he.paillier import pack

    k = len(updates)
    cts = [[pk.raw_encrypt(m, rng=rng) for m in pack(row, pk.bits, k)] for row in updates]
    total = cts[0]
    for row in cts[1:]:
        total = [pk.raw_add(a, b) for a, b in zip(total, row)]
    return total, len(cts[0])


@dataclass(frozen=True)
class PaillierAggregation:
    """Sum packed, Paillier-encrypted updates; only the key holder (not the server) decrypts.

    Each client packs its update (:func:`labkit.he.paillier.pack`) and encrypts each plaintext
    with ``public_key.raw_encrypt`` (fresh r from OS entropy unless ``rng``); the server
    multiplies the ciphertexts (``raw_add``) and sends the encrypted sum to the key holder, who
    decrypts it with ``private_key.raw_decrypt`` and returns the plaintext sum. A ciphertext
    travels as ceil(bits(n^2) / 8) bytes, the plaintext sum at its dtype's size.

    Introduced in ``10-capstone-hospitals.ipynb``.
    """

    public_key: Any
    private_key: Any
    rng: np.random.Generator | None = None

    def __post_init__(self) -> None:
        if not all(hasattr(self.public_key, a) for a in ("raw_encrypt", "raw_add", "bits", "nsquare")):
            raise TypeError(f"public_key must be a labkit.he.paillier public key; got {self.public_key!r}"[:200])
        if not hasattr(self.private_key, "raw_decrypt"):
            raise TypeError(f"private_key must be a labkit.he.paillier private key; got {self.private_key!r}"[:200])
        if self.rng is not None:
            object.__setattr__(self, "rng", v.generator(self.rng))

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray | None = None) -> Aggregate:
        from labkit.he.paillier import unpack

        pk, sk = self.public_key, self.private_key
        updates = _stack(updates, params)
        if not updates:
            raise ValueError("updates must hold at least one client update; got none")
        u = np.asarray(updates, dtype=np.float64)
        if u.ndim != 2:
            raise ValueError(f"updates must be flat vectors (one per client); got shape {u.shape[1:]}")
        k, d = u.shape
        total, per_client = _packed_encrypted_sum(pk, u, self.rng)
        summed = unpack([sk.raw_decrypt(c) for c in total], d, k, pk.bits)
        ct_bytes = (pk.nsquare.bit_length() + 7) // 8
        up = k * per_client * ct_bytes + d * np.asarray(updates[0]).dtype.itemsize  # clients' ciphertexts, key holder's plaintext sum
        down = per_client * ct_bytes  # the encrypted sum to the key holder
        return Aggregate(summed, up, down,
                         tr("{count} ciphertexts ({per_client} per hospital); the key holder sees the sum").format(
                             count=k * per_client, per_client=per_client))
