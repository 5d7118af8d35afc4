"""Secure aggregation with dropouts (Bonawitz et al. 2017), and SecAgg+ neighbour graphs.

Each client u sends the server only a masked vector

    y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)      (mod 2^64)

where s_uv is a seed that u and v agree on by Diffie-Hellman key agreement (X25519 here) and
b_u is u's private self-mask seed. The pairwise masks cancel in the sum. Every client also
gives t-of-n Shamir shares of its key-agreement secret and of b_u to the others, so when some
clients drop out after the keys are set up, the survivors let the server rebuild what it needs:
the self-mask seeds of survivors and the secret keys of the dropped (never both for one
client). With fewer than t survivors nothing can be unmasked.

SecAgg+ (Bell et al. 2020): each client pairs only with k neighbours in a random graph, so the
per-client cost grows with k (about log n) instead of n.

Teaching implementation, semi-honest model, all parties simulated in one process: the shares
are "relayed encrypted" by the server only in the transcript; a real system also signs
messages, encrypts shares with authenticated encryption, runs a consistency-check round
against a lying server, and expands seeds with AES-CTR rather than NumPy's SFC64. Each
pairwise mask is expanded once for both of its ends (both clients would compute the same
bits).

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from labkit.smpc.ring import FRAC_BITS, check_frac_bits, decode, encode
from labkit.smpc.shamir import random_field_element, shamir_reconstruct, shamir_share

SECAGG_PRIME = 2**521 - 1
"""The field for Shamir shares of 256-bit key-agreement secrets: the Mersenne prime 2^521 - 1."""


def expand_mask(seed: int, length: int) -> np.ndarray:
    """Expand a seed into ``length`` pseudorandom ring elements (``uint64``) with NumPy's SFC64.

    SFC64 (like PCG64) is fast but not a cryptographic PRG; a real system uses AES in counter
    mode (or ChaCha20) keyed with the seed.

    Introduced in ``09-secure-computation.ipynb``.
    """
    return np.random.SFC64(int(seed)).random_raw(int(length))


def _x25519():
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    return X25519PrivateKey, X25519PublicKey


def _pair_seed(private_key, peer_public: bytes) -> int:
    shared = private_key.exchange(_x25519()[1].from_public_bytes(peer_public))
    return int.from_bytes(hashlib.sha256(b"labkit-secagg-pairwise-seed" + shared).digest()[:16], "big")


def neighbour_graph(n_clients: int, k: int | None = None, rng: np.random.Generator | None = None) -> dict[int, tuple[int, ...]]:
    """Who masks with whom: all pairs (``k=None``), or a random k-regular Harary graph (SecAgg+).

    For SecAgg+ the clients are placed on a ring in a random order and each pairs with the k/2
    nearest on either side (Bell et al. 2020, section 3). ``k`` must be even, from 2 to n - 1.
    The order comes from OS entropy unless ``rng`` is given.

    Introduced in ``09-secure-computation.ipynb``.
    """
    n = int(n_clients)
    if k is None or k >= n - 1:
        return {u: tuple(v for v in range(n) if v != u) for u in range(n)}
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2 or k % 2:
        raise ValueError(f"neighbours must be an even integer from 2 to n_clients - 1 = {n - 1}, or None for all pairs; got {k!r}")
    if rng is None:
        order = sorted(range(n), key=lambda _: os.urandom(8))
    else:
        order = [int(i) for i in rng.permutation(n)]
    pos = {u: i for i, u in enumerate(order)}
    graph = {}
    for u in range(n):
        near = {order[(pos[u] + d) % n] for d in range(-(k // 2), k // 2 + 1) if d}
        graph[u] = tuple(sorted(near))
    return graph


@dataclass
class Transcript:
    """What each party saw, round by round (Bonawitz et al. 2017, figure 4, semi-honest).

    Attributes:
        events: ``(round, party, what)`` sentences in order.
        server_received: the vectors the server held: the masked inputs ``y_u`` (``uint64``).
        server_reconstructed: for each client, which secret the server rebuilt:
            ``"self-mask seed"`` (survivor) or ``"key-agreement secret"`` (dropped).
    """

    events: list[tuple[str, str, str]] = field(default_factory=list)
    server_received: dict[int, np.ndarray] = field(default_factory=dict)
    server_reconstructed: dict[int, str] = field(default_factory=dict)

    def log(self, round_name: str, party: str, what: str) -> None:
        self.events.append((round_name, party, what))

    def server_view(self) -> list[str]:
        """The server's events only."""
        return [f"{r}: {w}" for r, p, w in self.events if p == "server"]

    def __repr__(self) -> str:
        return "\n".join(f"[{r}] {p}: {w}" for r, p, w in self.events)


@dataclass
class SecAggRun:
    """The outcome of one secure-aggregation round and what it cost.

    Attributes:
        total: the decoded sum of the survivors' vectors (float64).
        survivors, dropped: client ids.
        threshold: t of the t-of-n Shamir sharing.
        graph: each client's masking neighbours.
        masks_expanded: number of mask vectors expanded by a PRG (clients and server).
        transcript: see :class:`Transcript`.
        client_secrets: each client's (key-agreement secret, self-mask seed). Clients never
            send these; they are kept so the notebook can show what a lying server would learn.
        public_keys: the key-agreement public keys the server broadcast.
        frac_bits: fractional bits of the fixed-point encoding.
    """

    total: np.ndarray
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]
    threshold: int
    graph: dict[int, tuple[int, ...]]
    masks_expanded: int
    transcript: Transcript
    client_secrets: dict[int, tuple[bytes, int]] = field(repr=False)
    public_keys: dict[int, bytes] = field(repr=False)
    frac_bits: int = FRAC_BITS


def _check_vectors(client_vectors) -> list[np.ndarray]:
    vecs = list(client_vectors) if not isinstance(client_vectors, np.ndarray) else list(client_vectors)
    if not vecs:
        raise ValueError("client_vectors must hold at least one vector; got none")
    vecs = [np.asarray(v) for v in vecs]
    shapes = {v.shape for v in vecs}
    if len(shapes) != 1 or vecs[0].ndim != 1 or vecs[0].size == 0:
        raise ValueError(f"client_vectors must be n_clients non-empty 1-D vectors of equal length; got shapes {sorted(shapes)}")
    for v in vecs:
        if not (np.issubdtype(v.dtype, np.floating) or np.issubdtype(v.dtype, np.integer)):
            raise TypeError(f"client_vectors must be numeric; got dtype {v.dtype}")
    return vecs


def _default_threshold(holders: int) -> int:
    return holders // 2 + 1


def secure_aggregate_run(
    client_vectors: Sequence[np.ndarray] | np.ndarray,
    dropped: Iterable[int] = (),
    threshold: int | None = None,
    rng: np.random.Generator | None = None,
    *,
    neighbours: int | None = None,
    frac_bits: int = FRAC_BITS,
) -> SecAggRun:
    """Run one round of secure aggregation and return the sum with its transcript.

    Args:
        client_vectors: ``n`` vectors of equal length (one per client), or an ``(n, d)`` array.
        dropped: ids of clients that drop out after the keys and shares are set up, before
            sending their masked vector.
        threshold: t, the number of share holders needed to rebuild a client's secrets.
            Default: a majority of each client's share holders (n // 2 + 1 for all pairs).
        rng: ``None`` (default) draws keys and seeds from OS entropy; a seeded generator gives a
            reproducible demonstration.
        neighbours: ``None`` pairs every client with every other (Bonawitz et al. 2017); an even
            k pairs each client with k neighbours of a random graph (SecAgg+, Bell et al. 2020).
        frac_bits: fractional bits of the fixed-point encoding (default 16).

    Raises:
        ValueError: for bad arguments, values out of the fixed-point range, or fewer survivors
            (overall, or among one client's share holders) than ``threshold``; then nothing is
            decoded.

    Introduced in ``09-secure-computation.ipynb``.
    """
    frac_bits = check_frac_bits(frac_bits)
    x = _check_vectors(client_vectors)
    n, d = len(x), x[0].shape[0]
    per_client_bound = float(2 ** (63 - frac_bits)) / n  # so that the sum stays in the fixed-point range
    dropped_set = set()
    for u in dropped:
        if isinstance(u, bool) or not isinstance(u, (int, np.integer)) or not 0 <= u < n:
            raise ValueError(f"dropped must hold client ids from 0 to {n - 1}; got {u!r}")
        dropped_set.add(int(u))
    graph = neighbour_graph(n, neighbours, rng)
    holders = {u: tuple(sorted(set(graph[u]) | {u})) for u in range(n)}
    max_t = min(len(h) for h in holders.values())
    if threshold is None:
        threshold = _default_threshold(max_t)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or not 1 <= threshold <= max_t:
        raise ValueError(f"threshold must be an integer from 1 to {max_t} (the share holders per client); got {threshold!r}")
    t = int(threshold)
    survivors = tuple(u for u in range(n) if u not in dropped_set)
    tr = Transcript()

    # Round 0, AdvertiseKeys: each client makes a key-agreement key pair and a self-mask seed.
    private_cls, _ = _x25519()
    secrets_: dict[int, tuple[bytes, int]] = {}
    public: dict[int, bytes] = {}
    key_objects = {}
    for u in range(n):
        sk = os.urandom(32) if rng is None else rng.bytes(32)
        b_u = random_field_element(2**128, rng)
        secrets_[u] = (sk, b_u)
        key_objects[u] = private_cls.from_private_bytes(sk)
        public[u] = key_objects[u].public_key().public_bytes_raw()
        tr.log("0 advertise keys", f"client {u}", "sends its public key (32 bytes)")
    tr.log("0 advertise keys", "server", f"broadcasts {n} public keys")

    # Round 1, ShareKeys: t-of-|holders| Shamir shares of sk_u and b_u, relayed encrypted.
    held: dict[int, dict[int, tuple[tuple[int, int], tuple[int, int]]]] = {v: {} for v in range(n)}
    for u in range(n):
        sk_int = int.from_bytes(secrets_[u][0], "big")
        sk_shares = shamir_share(sk_int, len(holders[u]), t, rng, prime=SECAGG_PRIME)
        b_shares = shamir_share(secrets_[u][1], len(holders[u]), t, rng, prime=SECAGG_PRIME)
        for v, s_sk, s_b in zip(holders[u], sk_shares, b_shares):
            held[v][u] = (s_sk, s_b)
        tr.log("1 share keys", f"client {u}", f"sends {len(holders[u])} encrypted share pairs (sk_u, b_u), threshold {t}")
    tr.log("1 share keys", "server", "relays the encrypted shares; it cannot read them")

    # Round 2, MaskedInputCollection: survivors send masked vectors; dropped clients go silent.
    masks = 0
    y = {}
    for u in survivors:
        try:
            y[u] = encode(x[u], frac_bits, max_abs=per_client_bound)
        except ValueError as err:
            raise ValueError(f"client_vectors[{u}]: {err} (the bound is 2^{63 - frac_bits} / n_clients, so the sum fits)") from None
    for u in survivors:
        y[u] += expand_mask(secrets_[u][1], d)
        masks += 1
    for u in range(n):
        for v in graph[u]:
            if v <= u or (u in dropped_set and v in dropped_set):
                continue
            m = expand_mask(_pair_seed(key_objects[u], public[v]), d)
            masks += 1
            if u in y:
                y[u] += m
            if v in y:
                y[v] -= m
    for u in range(n):
        if u in dropped_set:
            tr.log("2 masked input", f"client {u}", "drops out and sends nothing")
        else:
            tr.log("2 masked input", f"client {u}", f"sends its masked vector y_{u} ({d} ring elements)")
            tr.server_received[u] = y[u]
    tr.log("2 masked input", "server", f"received {len(survivors)} masked vectors; {len(dropped_set)} client{'' if len(dropped_set) == 1 else 's'} dropped")

    # Round 3, Unmasking: enough survivors among each client's holders, or stop before decoding.
    if len(survivors) < t:
        tr.log("3 unmask", "server", f"only {len(survivors)} survivors, below the threshold {t}: aborts")
        raise ValueError(
            f"only {len(survivors)} clients survived, fewer than the threshold t={t}; the server cannot remove the masks "
            f"and decodes nothing (survivors must be >= threshold)"
        )
    for u in range(n):
        alive = [v for v in holders[u] if v not in dropped_set]
        if len(alive) < t:
            raise ValueError(
                f"client {u} has only {len(alive)} surviving share holders, fewer than the threshold t={t}; "
                f"nothing is decoded (use more neighbours or a lower threshold)"
            )
    z = np.zeros(d, dtype=np.uint64)
    for u in survivors:
        z += y[u]
    for u in range(n):
        alive = [v for v in holders[u] if v not in dropped_set][:t]
        if u in dropped_set:
            points = [held[v][u][0] for v in alive]
            sk_u = shamir_reconstruct(points, prime=SECAGG_PRIME).to_bytes(32, "big")
            tr.server_reconstructed[u] = "key-agreement secret"
            tr.log("3 unmask", "server", f"rebuilds dropped client {u}'s key-agreement secret from {t} shares")
            for v in graph[u]:
                if v in dropped_set:
                    continue
                m = expand_mask(_pair_seed(private_cls.from_private_bytes(sk_u), public[v]), d)
                masks += 1
                if v < u:  # v added +m, the mask it shares with u
                    z -= m
                else:
                    z += m
        else:
            points = [held[v][u][1] for v in alive]
            b_u = shamir_reconstruct(points, prime=SECAGG_PRIME)
            tr.server_reconstructed[u] = "self-mask seed"
            z -= expand_mask(b_u, d)
            masks += 1
    tr.log("3 unmask", "server", f"rebuilds the self-mask seeds of the {len(survivors)} survivors and removes all masks")
    tr.log("3 unmask", "server", "decodes only the sum")
    return SecAggRun(
        total=decode(z, frac_bits),
        survivors=survivors,
        dropped=tuple(sorted(dropped_set)),
        threshold=t,
        graph=graph,
        masks_expanded=masks,
        transcript=tr,
        client_secrets=secrets_,
        public_keys=public,
        frac_bits=frac_bits,
    )


def secure_aggregate(
    client_vectors: Sequence[np.ndarray] | np.ndarray,
    dropped: Iterable[int] = (),
    threshold: int | None = None,
    rng: np.random.Generator | None = None,
    *,
    neighbours: int | None = None,
    frac_bits: int = FRAC_BITS,
) -> np.ndarray:
    """The sum of the vectors of the clients not in ``dropped``, by secure aggregation.

    Same arguments as :func:`secure_aggregate_run` (which also returns the transcript). Keys,
    seeds and masks come from OS entropy unless ``rng`` is passed for a reproducible
    demonstration. The result equals the plain sum up to the fixed-point rounding
    (at most n_clients * 2^-17 per entry with 16 fractional bits).

    Raises:
        ValueError: when fewer clients survive than ``threshold`` (nothing is decoded), or for
            bad arguments.

    Introduced in ``09-secure-computation.ipynb``.
    """
    return secure_aggregate_run(client_vectors, dropped, threshold, rng, neighbours=neighbours, frac_bits=frac_bits).total


def unmask_with_both_secrets(run: SecAggRun, client: int) -> np.ndarray:
    """What a lying server learns if it obtains *both* secrets of one surviving client.

    A server that tells some clients "u dropped" (and collects shares of u's key-agreement
    secret) and others "u survived" (and collects shares of u's self-mask seed) can strip every
    mask from y_u and read x_u. Honest clients answer for each client with one kind of share
    only, and the malicious-secure protocol adds a consistency check so that they all agree on
    who dropped. Returns the decoded x_u.

    Introduced in ``09-secure-computation.ipynb``.
    """
    if client not in run.transcript.server_received:
        raise ValueError(f"client must be a survivor whose masked vector the server holds; got {client!r}")
    y = run.transcript.server_received[client].copy()
    sk, b = run.client_secrets[client]
    d = y.shape[0]
    y -= expand_mask(b, d)
    for v in run.graph[client]:
        m = expand_mask(_pair_seed(_x25519()[0].from_private_bytes(sk), run.public_keys[v]), d)
        if client < v:
            y -= m
        else:
            y += m
    return decode(y, run.frac_bits)


__all__ = [
    "SECAGG_PRIME",
    "SecAggRun",
    "Transcript",
    "expand_mask",
    "neighbour_graph",
    "secure_aggregate",
    "secure_aggregate_run",
    "unmask_with_both_secrets",
]
