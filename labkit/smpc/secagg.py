"""Secure aggregation with dropouts (Bonawitz et al. 2017), and SecAgg+ neighbour graphs.

Each client u sends the server only a masked vector

    y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)      (mod 2^64)

where s_uv is a seed that u and v derive (HKDF-SHA256) from an X25519 key agreement between
their *masking* key pairs, and b_u is u's private self-mask seed. The pairwise masks cancel in
the sum. The PRG is the ChaCha20 keystream keyed with the 256-bit seed (RFC 8439, through the
``cryptography`` package), a cryptographic PRG.

Every client also gives t-of-n Shamir shares of its masking secret key and of b_u to the
others. The shares travel through the server encrypted with ChaCha20-Poly1305 (authenticated
encryption) under a key derived (HKDF-SHA256) from a second, *encryption* X25519 key pair, as
in Bonawitz et al. (2017, figure 4): the server relays ciphertexts it cannot read or alter
undetected. When some clients drop out after the shares are sent, the server tells the
survivors who survived; each honest survivor answers, for every client whose shares it holds,
with the share of the self-mask seed (client said to survive) or of the masking secret key
(client said to have dropped), never both. With fewer than t survivors nothing can be unmasked.

A server that lies about who dropped (:func:`lying_server_attack`) collects both kinds of
shares of one client from different honest clients. It reads that client's input exactly when
it gets t shares of each secret: 2t <= h + 2c, with h honest responders and c colluding
clients among the client's share holders.

SecAgg+ (Bell et al. 2020): each client pairs only with k neighbours in a random graph, so the
per-client cost grows with k (about log n) instead of n.

:func:`secure_aggregate_run` calls one function per protocol round, in the order of notebook 09
and of its transcript: ``_advertise_keys`` (round 0), ``_share_keys`` (1), ``_masked_input`` (2)
and ``_unmask`` (3).

Teaching implementation, all parties simulated in one process (each pairwise key and mask is
computed once for both of its ends: both clients would compute the same bits). Not done here:
signatures on the round-0 public keys with a public-key infrastructure (without them an active
server can also swap the public keys it relays and read every share), and the consistency-check round of
the malicious-secure version, which make a lying server detectable.

Keys, seeds and shares come from OS entropy unless a seeded ``rng`` is passed for a
reproducible demonstration; a published seed gives no privacy to whoever holds it.

Introduced in ``09-secure-computation.ipynb``; notebook 10's secure aggregation runs it through
:class:`labkit.fl.SecureAggregation`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from cryptography.exceptions import InvalidTag

from labkit import _validate
from labkit.i18n import N_, tr
from labkit.smpc.ring import FRAC_BITS, check_frac_bits, decode, encode, rng_or_entropy
from labkit.smpc.shamir import random_field_element, shamir_reconstruct, shamir_share

SECAGG_PRIME = 2**521 - 1
"""The field for Shamir shares of 256-bit secrets: the Mersenne prime 2^521 - 1."""

SEED_BITS = 256
"""Mask seeds (pairwise and self-mask) are 256-bit integers: the ChaCha20 key size."""

MASK_NONCE = bytes(16)
"""The 16-byte ChaCha20 nonce of ``cryptography`` (32-bit block counter 0, then a 96-bit nonce of
zeros) used for every mask: each seed keys one keystream only, so a fixed nonce is safe."""

_SHARE_BYTES = (SECAGG_PRIME.bit_length() + 7) // 8  # 66 bytes per share value
MAX_CLIENTS = 10_000
"""Most clients :func:`neighbour_graph` (and so one aggregation round) accepts."""
MAX_MASK_LENGTH = 50_000_000
"""Longest mask :func:`expand_mask` makes (400 MB of ``uint64``)."""


def _client_id(name: str, value) -> int:
    """A client id as it travels in a message: an integer from 0 to 2^32 - 1."""
    return _validate.integer(name, value, minimum=0, maximum=2**32 - 1)


def _key_bytes(name: str, value) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise TypeError(f"{name} must be 32 bytes; got {type(value).__name__}"
                        + (f" of length {len(value)}" if isinstance(value, (bytes, bytearray)) else ""))
    return bytes(value)


def _share_pair(name: str, value) -> tuple[int, int]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a Shamir share (x, y) of two integers; got {value!r}")
    return (_validate.integer(f"{name}[0]", value[0], minimum=0, maximum=2**32 - 1),
            _validate.integer(f"{name}[1]", value[1], minimum=0, maximum=2**(8 * _SHARE_BYTES) - 1))


class ShareDecryptionError(ValueError, InvalidTag):
    """The share ciphertext does not authenticate: a wrong key, sender, recipient, or a changed
    ciphertext. A ``ValueError`` and a ``cryptography.exceptions.InvalidTag`` both."""
_PAIR_SEED_INFO = b"labkit secagg v2: pairwise mask seed"
_SHARE_KEY_INFO = b"labkit secagg v2: share encryption key"
_SHARE_AAD = b"labkit secagg v2: round 1 shares"


def _seed_int(seed: int | bytes) -> int:
    """A mask seed as an integer in [0, 2^256): from 32 bytes (big-endian) or an integer."""
    if isinstance(seed, (bytes, bytearray)):
        if len(seed) != 32:
            raise ValueError(f"seed must be 32 bytes or an integer from 0 to 2^{SEED_BITS} - 1; got {len(seed)} bytes")
        return int.from_bytes(seed, "big")
    return _validate.integer("seed", seed, minimum=0, maximum=2**SEED_BITS - 1)


def expand_mask(seed: int | bytes, length: int) -> np.ndarray:
    """Expand a seed into ``length`` pseudorandom ring elements (``uint64``) with ChaCha20.

    The seed (a 256-bit integer, big-endian, or 32 bytes) is the ChaCha20 key; the nonce is
    :data:`MASK_NONCE` (counter 0). The mask is the keystream read as little-endian ``uint64``
    words: a cryptographic PRG, unlike NumPy's PCG64 or SFC64.

    Raises:
        ValueError: for a seed outside [0, 2^256) (or not 32 bytes long) or a negative length.
        TypeError: for a seed or length that is not an integer.

    Introduced in ``09-secure-computation.ipynb``.
    """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    key = _seed_int(seed).to_bytes(32, "big")
    n = _validate.count("length", length, minimum=0, maximum=MAX_MASK_LENGTH)
    out = np.empty(n, dtype="<u8")
    if n:
        # one keystream call for the whole vector, written straight into the output: the zero
        # plaintext is a calloc'd buffer (zero pages, no memset), so the cost is the cipher's
        Cipher(algorithms.ChaCha20(key, MASK_NONCE), mode=None).encryptor().update_into(
            _zeros(8 * n), out.view(np.uint8))
    return out.view(np.uint64)


_ZERO_CACHE_BYTES = 8 * 2**20


def _zeros(nbytes: int) -> np.ndarray:
    """A read-only buffer of ``nbytes`` zero bytes (the plaintext whose encryption is the keystream)."""
    global _ZERO_BUFFER
    if nbytes > _ZERO_CACHE_BYTES:
        return np.zeros(nbytes, dtype=np.uint8)
    if _ZERO_BUFFER is None:
        _ZERO_BUFFER = np.zeros(_ZERO_CACHE_BYTES, dtype=np.uint8)
        _ZERO_BUFFER.flags.writeable = False
    return _ZERO_BUFFER[:nbytes]


_ZERO_BUFFER: np.ndarray | None = None


def _x25519():
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    return X25519PrivateKey, X25519PublicKey


def _hkdf(shared: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def _pair_seed(private_key, peer_public: bytes) -> int:
    """The pairwise mask seed s_uv: HKDF-SHA256 of the X25519 agreement of the masking keys."""
    shared = private_key.exchange(_x25519()[1].from_public_bytes(peer_public))
    return int.from_bytes(_hkdf(shared, _PAIR_SEED_INFO), "big")


def pairwise_seed(secret_key: int | bytes, peer_public: bytes) -> int:
    """The pairwise mask seed s_uv from client u's masking secret key and client v's public key.

    X25519 agreement, then HKDF-SHA256: client u computes it with its own secret key, client v
    with its own and u's public key, and both get the same 256-bit seed. The server computes it
    only for a client whose masking secret key it rebuilt from t Shamir shares (a dropped
    client), to remove the masks that dangle in the sum.

    Args:
        secret_key: u's X25519 masking secret key, as 32 bytes or as the integer those bytes
            encode big-endian (what Shamir reconstruction returns), from 0 to 2^256 - 1.
        peer_public: v's masking public key, 32 bytes (:attr:`SecAggRun.public_keys`).

    Returns:
        The seed, an integer in [0, 2^256): the key of :func:`expand_mask`.

    Raises:
        TypeError: ``secret_key`` is neither an integer nor bytes, or ``peer_public`` is not 32 bytes.
        ValueError: ``secret_key`` is outside [0, 2^256) or not 32 bytes long.

    Introduced in ``09-secure-computation.ipynb`` (exercise 09.2).
    """
    if isinstance(secret_key, (bytes, bytearray)):
        key = _key_bytes("secret_key", secret_key) if len(secret_key) == 32 else None
        if key is None:
            raise ValueError(f"secret_key must be 32 bytes or an integer from 0 to 2^256 - 1; got {len(secret_key)} bytes")
    else:
        key = _validate.integer("secret_key", secret_key, minimum=0, maximum=2**SEED_BITS - 1).to_bytes(32, "big")
    peer = _key_bytes("peer_public", peer_public)
    return _pair_seed(_x25519()[0].from_private_bytes(key), peer)


def _share_key(private_key, peer_public: bytes) -> bytes:
    """The key that encrypts the shares between two clients: HKDF of the encryption-key agreement."""
    return _hkdf(private_key.exchange(_x25519()[1].from_public_bytes(peer_public)), _SHARE_KEY_INFO)


def _share_nonce(sender: int, recipient: int) -> bytes:
    # one key per pair, used in both directions: the (sender, recipient) order makes each nonce unique,
    # and key pairs are fresh in every round, so each (key, nonce) encrypts exactly one message
    return sender.to_bytes(6, "big") + recipient.to_bytes(6, "big")


def _pack_shares(sender: int, recipient: int, key_share: tuple[int, int], seed_share: tuple[int, int]) -> bytes:
    return b"".join([
        sender.to_bytes(4, "big"), recipient.to_bytes(4, "big"), key_share[0].to_bytes(4, "big"),
        key_share[1].to_bytes(_SHARE_BYTES, "big"), seed_share[1].to_bytes(_SHARE_BYTES, "big"),
    ])


def _unpack_shares(plain: bytes) -> tuple[int, int, tuple[int, int], tuple[int, int]]:
    sender, recipient, x = (int.from_bytes(plain[i:i + 4], "big") for i in (0, 4, 8))
    key_y = int.from_bytes(plain[12:12 + _SHARE_BYTES], "big")
    seed_y = int.from_bytes(plain[12 + _SHARE_BYTES:], "big")
    return sender, recipient, (x, key_y), (x, seed_y)


def encrypt_shares(key: bytes, sender: int, recipient: int, key_share: tuple[int, int],
                   seed_share: tuple[int, int]) -> bytes:
    """ChaCha20-Poly1305 ciphertext of one share pair, as client ``sender`` sends it to ``recipient``.

    The plaintext is sender || recipient || the two Shamir shares (Bonawitz et al. 2017,
    round ShareKeys); the 16-byte Poly1305 tag makes any change by the relaying server fail.

    Introduced in ``09-secure-computation.ipynb``.
    """
    key = _key_bytes("key", key)
    sender, recipient = _client_id("sender", sender), _client_id("recipient", recipient)
    key_share, seed_share = _share_pair("key_share", key_share), _share_pair("seed_share", seed_share)
    return _encrypt_checked(key, sender, recipient, key_share, seed_share)


def _encrypt_checked(key: bytes, sender: int, recipient: int, key_share: tuple[int, int],
                     seed_share: tuple[int, int]) -> bytes:
    """:func:`encrypt_shares` for arguments the protocol itself made (already in range)."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    plain = _pack_shares(sender, recipient, key_share, seed_share)
    return ChaCha20Poly1305(key).encrypt(_share_nonce(sender, recipient), plain, _SHARE_AAD)


def decrypt_shares(key: bytes, sender: int, recipient: int, ciphertext: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    """Decrypt and check one share pair; raises ``cryptography.exceptions.InvalidTag`` for a wrong key.

    Raises:
        ShareDecryptionError: (a ``ValueError`` and a ``cryptography.exceptions.InvalidTag``) wrong
            key, sender or recipient, or a ciphertext changed in transit.
        ValueError: a valid ciphertext addressed from or to other clients (a replayed message).

    Introduced in ``09-secure-computation.ipynb``.
    """
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    key = _key_bytes("key", key)
    sender, recipient = _client_id("sender", sender), _client_id("recipient", recipient)
    if not isinstance(ciphertext, (bytes, bytearray)):
        raise TypeError(f"ciphertext must be bytes (see encrypt_shares); got {type(ciphertext).__name__}")
    try:
        plain = ChaCha20Poly1305(key).decrypt(_share_nonce(sender, recipient), bytes(ciphertext), _SHARE_AAD)
    except InvalidTag:
        raise ShareDecryptionError(
            f"the ciphertext does not authenticate as shares from sender {sender} to recipient {recipient} "
            "under this key: a wrong key, sender or recipient, or a ciphertext changed in transit") from None
    s, r, key_share, seed_share = _unpack_shares(plain)
    if (s, r) != (sender, recipient):
        raise ValueError(f"the shares are addressed from {s} to {r}, not from {sender} to {recipient}")
    return key_share, seed_share


def neighbour_graph(n_clients: int, k: int | None = None,
                    rng: np.random.Generator | int | None = None) -> dict[int, tuple[int, ...]]:
    """Who masks with whom: all pairs (``k=None``), or a random k-regular Harary graph (SecAgg+).

    For SecAgg+ the clients are placed on a ring in a random order and each pairs with the k/2
    nearest on either side (Bell et al. 2020, section 3). ``k`` must be even, from 2 to n - 1
    (k >= n - 1 means all pairs). The order comes from OS entropy unless ``rng`` (a generator or
    a seed) is given.

    Introduced in ``09-secure-computation.ipynb``.
    """
    n = _validate.count("n_clients", n_clients, maximum=MAX_CLIENTS)
    rng = rng_or_entropy(rng)
    if k is not None:
        k = _validate.integer("neighbours k", k)
    if k is None or k >= n - 1:
        return {u: tuple(v for v in range(n) if v != u) for u in range(n)}
    if k < 2 or k % 2:
        raise ValueError(f"neighbours k must be an even integer from 2 to n_clients - 1 = {n - 1}, or None for all pairs; got {k}")
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
    """What each party saw, round by round (Bonawitz et al. 2017, figure 4).

    Attributes:
        events: ``(round, party, what)`` sentences in order.
        server_relayed: the round-1 ciphertexts the server relayed, ``(sender, recipient) ->
            bytes`` (ChaCha20-Poly1305; the server has no key for them).
        server_received: the vectors the server held: the masked inputs ``y_u`` (``uint64``).
        server_collected: the round-3 answers: ``client -> {"key": [share, ...], "seed": [...]}``,
            the Shamir shares of that client's masking secret key and self-mask seed.
        server_reconstructed: for each client, which secret the server rebuilt:
            ``"self-mask seed"`` (survivor) or ``"key-agreement secret"`` (dropped).
    """

    events: list[tuple[str, str, str]] = field(default_factory=list)
    server_relayed: dict[tuple[int, int], bytes] = field(default_factory=dict)
    server_received: dict[int, np.ndarray] = field(default_factory=dict)
    server_collected: dict[int, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    server_reconstructed: dict[int, str] = field(default_factory=dict)

    def log(self, round_name: str, party: str, what: str) -> None:
        for name, value in (("round_name", round_name), ("party", party), ("what", what)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string; got {value!r} ({type(value).__name__})")
        self.events.append((round_name, party, what))

    def server_view(self) -> list[str]:
        """The server's events only."""
        return [tr("{round}: {event}").format(round=tr(r), event=w) for r, p, w in self.events if p == "server"]

    def __repr__(self) -> str:
        return "\n".join(tr("[{round}] {party}: {event}").format(round=tr(r), party=_party_name(p), event=w)
                         for r, p, w in self.events)


def _party_name(party: str) -> str:
    """A transcript's party (``"server"`` or ``"client 3"``, kept in English as data) as the learner reads it."""
    if party == "server":
        return tr("server")
    if party.startswith("client ") and party[7:].isdigit():
        return tr("client {u}").format(u=party[7:])
    return party


class SimulatedClient:
    """One client device: its private keys and the shares it decrypted, and how it answers.

    The server side of this module never reads these attributes of an honest client: it only
    calls :meth:`answer` (round 3), as it would send a message to a device. Colluding clients,
    in :func:`lying_server_attack`, hand their whole state to the server.
    """

    def __init__(self, client_id: int, threshold: int, masking_key: bytes, encryption_key: bytes, self_seed: int):
        private_cls, _ = _x25519()
        self.id = _client_id("client_id", client_id)
        self.threshold = _validate.count("threshold", threshold, maximum=MAX_CLIENTS)
        self.masking_key = private_cls.from_private_bytes(_key_bytes("masking_key", masking_key))
        self.encryption_key = private_cls.from_private_bytes(_key_bytes("encryption_key", encryption_key))
        self.self_seed = _validate.integer("self_seed", self_seed, minimum=0, maximum=2**SEED_BITS - 1)
        self.held: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {}  # owner -> (key share, seed share)

    def receive(self, sender: int, ciphertext: bytes, sender_encryption_public: bytes, key: bytes | None = None) -> None:
        """Decrypt the share pair that ``sender`` sent through the server, and keep it.

        ``key`` is the pairwise key if the simulation already derived it for the sender (both
        ends compute the same one); otherwise the client derives it from its own secret key.
        """
        if key is None:
            key = _share_key(self.encryption_key, sender_encryption_public)
        self.held[sender] = decrypt_shares(key, sender, self.id, ciphertext)

    def answer(self, claimed_survivors: Iterable[int]) -> dict[int, tuple[str, tuple[int, int]]]:
        """Round 3 (Unmasking; round 4 in Bonawitz et al.'s figure 4, after the consistency check
        this honest-but-curious version leaves out): the shares an honest client reveals for a
        claimed survivor set.

        For every client whose shares it holds: the self-mask-seed share if the server says that
        client survived, the masking-key share if it says it dropped; never both for one client
        in one answer. It answers nothing if the set leaves it out or holds fewer than t clients.
        """
        survivors = {int(v) for v in claimed_survivors}
        if self.id not in survivors or len(survivors) < self.threshold:
            return {}
        return {owner: ("seed", seed) if owner in survivors else ("key", key)
                for owner, (key, seed) in self.held.items()}


@dataclass
class SecAggRun:
    """The outcome of one secure-aggregation round and what it cost.

    Attributes:
        total: the decoded sum of the survivors' vectors (float64).
        survivors, dropped: client ids.
        threshold: t of the t-of-n Shamir sharing.
        graph: each client's masking neighbours.
        masks_expanded: number of distinct mask vectors expanded by the PRG: each pairwise mask
            once (both of its clients expand the same one), each self-mask, and the masks the
            server expands again to remove them.
        transcript: see :class:`Transcript`.
        public_keys: the masking (key-agreement) public keys the server broadcast, 32 bytes each.
        encryption_public_keys: the share-encryption public keys it broadcast, 32 bytes each.
        frac_bits: fractional bits of the fixed-point encoding.
        clients: the simulated devices (:class:`SimulatedClient`), for :func:`lying_server_attack`.
    """

    total: np.ndarray
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]
    threshold: int
    graph: dict[int, tuple[int, ...]]
    masks_expanded: int
    transcript: Transcript
    public_keys: dict[int, bytes] = field(repr=False)
    encryption_public_keys: dict[int, bytes] = field(repr=False)
    frac_bits: int = FRAC_BITS
    clients: dict[int, SimulatedClient] = field(default_factory=dict, repr=False)

    def holders(self, client: int) -> tuple[int, ...]:
        """The clients that hold Shamir shares of ``client``'s secrets (its neighbours and itself)."""
        return tuple(sorted(set(self.graph[client]) | {client}))


def _check_vectors(client_vectors) -> list[np.ndarray]:
    if client_vectors is None or isinstance(client_vectors, (str, bytes)) or not hasattr(client_vectors, "__iter__") \
            or (isinstance(client_vectors, np.ndarray) and client_vectors.ndim == 0):
        raise TypeError(f"client_vectors must be n vectors of equal length or an (n, d) array; got {client_vectors!r}")
    vecs = [_validate.finite_array(f"client_vectors[{i}]", vec, ndim=1) for i, vec in enumerate(client_vectors)]
    if not vecs:
        raise ValueError("client_vectors must hold at least one vector; got none")
    shapes = {vec.shape for vec in vecs}
    if len(shapes) != 1:
        raise ValueError(f"client_vectors must be n_clients 1-D vectors of equal length; got shapes {sorted(shapes)}")
    return vecs


def _encode_checked(x: np.ndarray, frac_bits: int, max_abs: float) -> np.ndarray:
    """:func:`labkit.smpc.ring.encode` of a vector :func:`_check_vectors` already checked (finite, 1-D):
    the same ring elements, without validating the array a second time; out-of-range values go to
    ``encode`` for its error message."""
    scaled = np.multiply(x, float(2**frac_bits), dtype=np.float64)
    if scaled.size and not float(np.max(np.abs(scaled))) / 2**frac_bits < min(max_abs, 2.0 ** (63 - frac_bits)):
        return encode(x, frac_bits, max_abs=max_abs)  # raises the range error
    return np.rint(scaled, out=scaled).astype(np.int64).view(np.uint64)


def _default_threshold(holders: int) -> int:
    return holders // 2 + 1


def _random_key(rng: np.random.Generator | None) -> bytes:
    return os.urandom(32) if rng is None else rng.bytes(32)


def _pairwise_masks(secret_key: bytes, owner: int, partners: Iterable[int], public: dict[int, bytes], d: int) -> np.ndarray:
    """The pairwise masks client ``owner`` adds to y_u for ``partners``: + PRG(s_uv) for v > u, - PRG(s_uv) for v < u.

    Whoever holds the owner's masking secret key can compute them: the owner itself, or the
    server once it has rebuilt the key of a dropped client from t shares.
    """
    sk = _x25519()[0].from_private_bytes(secret_key)
    total = np.zeros(d, dtype=np.uint64)
    for v in partners:
        m = expand_mask(_pair_seed(sk, public[v]), d)
        total = total + m if owner < v else total - m
    return total


def _strip_masks(y: np.ndarray, owner: int, secret_key: bytes, self_seed: int, graph, public: dict[int, bytes]) -> np.ndarray:
    """y_u minus every mask of client ``owner``, given both of its secrets."""
    d = y.shape[0]
    return y - expand_mask(self_seed, d) - _pairwise_masks(secret_key, owner, graph[owner], public, d)


def _advertise_keys(n: int, t: int, rng: np.random.Generator | None,
                    transcript: Transcript) -> tuple[dict[int, SimulatedClient], dict[int, bytes], dict[int, bytes]]:
    """Round 0, AdvertiseKeys: every client makes two X25519 key pairs (masking, encryption) and a
    self-mask seed b_u, and sends the server its two public keys; the server broadcasts them.

    Returns the simulated clients and the two directories of public keys the server broadcast
    (masking, encryption). Introduced in ``09-secure-computation.ipynb``.
    """
    clients: dict[int, SimulatedClient] = {}
    public: dict[int, bytes] = {}
    enc_public: dict[int, bytes] = {}
    for u in range(n):
        masking, encryption = _random_key(rng), _random_key(rng)
        clients[u] = SimulatedClient(u, t, masking, encryption, random_field_element(2**SEED_BITS, rng))
        public[u] = clients[u].masking_key.public_key().public_bytes_raw()
        enc_public[u] = clients[u].encryption_key.public_key().public_bytes_raw()
        transcript.log(N_("0 advertise keys"), f"client {u}",
                       tr("sends its two public keys (masking, encryption; 32 bytes each)"))
    transcript.log(N_("0 advertise keys"), "server", tr("broadcasts {count} public keys").format(count=2 * n))
    return clients, public, enc_public


def _share_keys(clients: dict[int, SimulatedClient], holders: dict[int, tuple[int, ...]], enc_public: dict[int, bytes],
                t: int, rng: np.random.Generator | None, transcript: Transcript) -> None:
    """Round 1, ShareKeys: every client splits its masking secret key and b_u into t-of-|holders|
    Shamir shares, encrypts each holder's pair with ChaCha20-Poly1305, and the server relays the
    ciphertexts (``transcript.server_relayed``) it cannot read; each holder decrypts and keeps its pair.

    Introduced in ``09-secure-computation.ipynb``.
    """
    share_keys: dict[frozenset, bytes] = {}
    for u, client in clients.items():
        sk_int = int.from_bytes(client.masking_key.private_bytes_raw(), "big")
        sk_shares = shamir_share(sk_int, len(holders[u]), t, rng, prime=SECAGG_PRIME)
        b_shares = shamir_share(client.self_seed, len(holders[u]), t, rng, prime=SECAGG_PRIME)
        for v, s_sk, s_b in zip(holders[u], sk_shares, b_shares):
            if v == u:
                client.held[u] = (s_sk, s_b)  # its own share stays on the device
                continue
            pair = frozenset((u, v))
            if pair not in share_keys:  # both ends derive the same key; computed once here
                share_keys[pair] = _share_key(client.encryption_key, enc_public[v])
            transcript.server_relayed[(u, v)] = _encrypt_checked(share_keys[pair], u, v, s_sk, s_b)
        transcript.log(N_("1 share keys"), f"client {u}",
                       tr("sends {count} encrypted share pairs (masking key, b_u), threshold {t}").format(
                           count=len(holders[u]) - 1, t=t))
    transcript.log(N_("1 share keys"), "server",
                   tr("relays {count} share pairs encrypted with ChaCha20-Poly1305; it cannot read them").format(
                       count=len(transcript.server_relayed)))
    for (u, v), ciphertext in transcript.server_relayed.items():
        clients[v].receive(u, ciphertext, enc_public[u], share_keys[frozenset((u, v))])


def _masked_input(x: list[np.ndarray], clients: dict[int, SimulatedClient], graph: dict[int, tuple[int, ...]],
                  public: dict[int, bytes], dropped: set[int], frac_bits: int,
                  transcript: Transcript) -> tuple[dict[int, np.ndarray], int]:
    """Round 2, MaskedInputCollection: every survivor sends y_u = encode(x_u) + PRG(b_u) + its
    pairwise masks; dropped clients go silent.

    Returns the masked vectors the server received and the number of masks expanded (each
    pairwise mask once: both of its clients would expand the same bits). Introduced in
    ``09-secure-computation.ipynb``.
    """
    n, d = len(x), x[0].shape[0]
    per_client_bound = float(2 ** (63 - frac_bits)) / n  # so that the sum stays in the fixed-point range
    survivors = [u for u in range(n) if u not in dropped]
    masks = 0
    y = {}
    for u in survivors:
        try:
            y[u] = _encode_checked(x[u], frac_bits, per_client_bound)
        except ValueError as err:
            raise ValueError(f"client_vectors[{u}]: {err} (the bound is 2^{63 - frac_bits} / n_clients, so the sum fits)") from None
    for u in survivors:
        y[u] += expand_mask(clients[u].self_seed, d)
        masks += 1
    for u in range(n):
        for v in graph[u]:
            if v <= u or (u in dropped and v in dropped):
                continue
            m = expand_mask(_pair_seed(clients[u].masking_key, public[v]), d)
            masks += 1
            if u in y:
                y[u] += m
            if v in y:
                y[v] -= m
    for u in range(n):
        if u in dropped:
            transcript.log(N_("2 masked input"), f"client {u}", tr("drops out and sends nothing"))
        else:
            transcript.log(N_("2 masked input"), f"client {u}",
                           tr("sends its masked vector y_{u} ({d} ring elements)").format(u=u, d=d))
            transcript.server_received[u] = y[u]
    received = (tr("received {survivors} masked vectors; {dropped} client dropped") if len(dropped) == 1 else
                tr("received {survivors} masked vectors; {dropped} clients dropped"))
    transcript.log(N_("2 masked input"), "server", received.format(survivors=len(survivors), dropped=len(dropped)))
    return y, masks


def _unmask(y: dict[int, np.ndarray], clients: dict[int, SimulatedClient], graph: dict[int, tuple[int, ...]],
            holders: dict[int, tuple[int, ...]], public: dict[int, bytes], dropped: set[int], t: int,
            transcript: Transcript) -> tuple[np.ndarray, int]:
    """Round 3, Unmasking: the server sends the survivor list; each survivor answers one share per
    client (:meth:`SimulatedClient.answer`); the server rebuilds each survivor's b_u and each
    dropped client's masking key, and removes every mask from the sum of the y_u.

    Stops before anything is decoded when fewer than t clients survive, overall or among one
    client's share holders. Returns the unmasked sum (ring elements, not decoded) and the number
    of masks the server expanded. Introduced in ``09-secure-computation.ipynb``.
    """
    n = len(clients)
    survivors = tuple(u for u in range(n) if u not in dropped)
    if len(survivors) < t:
        transcript.log(N_("3 unmask"), "server",
                       tr("only {survivors} survivors, below the threshold {t}: aborts").format(
                           survivors=len(survivors), t=t))
        raise ValueError(
            f"only {len(survivors)} clients survived, fewer than the threshold t={t}; the server cannot remove the masks "
            f"and decodes nothing (survivors must be >= threshold)"
        )
    for u in range(n):
        alive = [v for v in holders[u] if v not in dropped]
        if len(alive) < t:
            raise ValueError(
                f"client {u} has only {len(alive)} surviving share holders, fewer than the threshold t={t}; "
                f"nothing is decoded (use more neighbours or a lower threshold)"
            )
    transcript.log(N_("3 unmask"), "server",
                   tr("sends the survivor list {survivors} to the survivors").format(survivors=list(survivors)))
    collected: dict[int, dict[str, list[tuple[int, int]]]] = {u: {"key": [], "seed": []} for u in range(n)}
    for v in survivors:
        for owner, (kind, point) in clients[v].answer(survivors).items():
            collected[owner][kind].append(point)
    transcript.server_collected = collected
    d = y[survivors[0]].shape[0]
    z = np.zeros(d, dtype=np.uint64)
    for u in survivors:
        z += y[u]
    masks = 0
    for u in range(n):
        if u in dropped:
            sk_u = shamir_reconstruct(collected[u]["key"][:t], prime=SECAGG_PRIME).to_bytes(32, "big")
            transcript.server_reconstructed[u] = "key-agreement secret"
            transcript.log(N_("3 unmask"), "server",
                           tr("rebuilds dropped client {u}'s key-agreement secret from {t} shares").format(u=u, t=t))
            partners = [v for v in graph[u] if v not in dropped]
            z += _pairwise_masks(sk_u, u, partners, public, d)  # u's side of each mask: cancels the survivor's side
            masks += len(partners)
        else:
            b_u = shamir_reconstruct(collected[u]["seed"][:t], prime=SECAGG_PRIME)
            transcript.server_reconstructed[u] = "self-mask seed"
            z -= expand_mask(b_u, d)
            masks += 1
    transcript.log(N_("3 unmask"), "server",
                   tr("rebuilds the self-mask seeds of the {count} survivors and removes all masks").format(
                       count=len(survivors)))
    transcript.log(N_("3 unmask"), "server", tr("decodes only the sum"))
    return z, masks


def secure_aggregate_run(
    client_vectors: Sequence[np.ndarray] | np.ndarray,
    dropped: Iterable[int] = (),
    threshold: int | None = None,
    rng: np.random.Generator | int | None = None,
    *,
    neighbours: int | None = None,
    frac_bits: int = FRAC_BITS,
) -> SecAggRun:
    """Run one round of secure aggregation and return the sum with its transcript.

    The four rounds of Bonawitz et al. (2017), in the order notebook 09 presents them:
    advertise keys, share keys, masked input, unmask.

    Args:
        client_vectors: ``n`` vectors of equal length (one per client), or an ``(n, d)`` array.
        dropped: ids of clients that drop out after the keys and shares are set up, before
            sending their masked vector.
        threshold: t, the number of share holders needed to rebuild a client's secrets.
            Default: a majority of each client's share holders (n // 2 + 1 for all pairs).
        rng: ``None`` (default) draws keys and seeds from OS entropy (``os.urandom`` and
            ``secrets``); a seeded generator (or an integer seed) gives a reproducible
            demonstration and no privacy against anyone who knows the seed.
        neighbours: ``None`` pairs every client with every other (Bonawitz et al. 2017); an even
            k pairs each client with k neighbours of a random graph (SecAgg+, Bell et al. 2020).
        frac_bits: fractional bits of the fixed-point encoding (default 16).

    Raises:
        ValueError: for bad arguments, values out of the fixed-point range, or fewer survivors
            (overall, or among one client's share holders) than ``threshold``; then nothing is
            decoded.
        TypeError: for arguments of the wrong kind (a float client id, a string for ``rng``).

    Introduced in ``09-secure-computation.ipynb``.
    """
    frac_bits = check_frac_bits(frac_bits)
    x = _check_vectors(client_vectors)
    n = len(x)
    if dropped is None or isinstance(dropped, (str, bytes)) or not hasattr(dropped, "__iter__"):
        raise TypeError(f"dropped must be a collection of client ids (empty for none); got {dropped!r}")
    dropped_set = {_validate.integer(f"dropped[{i}]", u, minimum=0, maximum=n - 1) for i, u in enumerate(dropped)}
    rng = rng_or_entropy(rng)
    graph = neighbour_graph(n, neighbours, rng)
    holders = {u: tuple(sorted(set(graph[u]) | {u})) for u in range(n)}
    max_t = min(len(h) for h in holders.values())
    t = _default_threshold(max_t) if threshold is None else _validate.count("threshold", threshold, maximum=max_t)
    transcript = Transcript()
    clients, public, enc_public = _advertise_keys(n, t, rng, transcript)
    _share_keys(clients, holders, enc_public, t, rng, transcript)
    y, masks_sent = _masked_input(x, clients, graph, public, dropped_set, frac_bits, transcript)
    z, masks_removed = _unmask(y, clients, graph, holders, public, dropped_set, t, transcript)
    return SecAggRun(
        total=decode(z, frac_bits),
        survivors=tuple(u for u in range(n) if u not in dropped_set),
        dropped=tuple(sorted(dropped_set)),
        threshold=t,
        graph=graph,
        masks_expanded=masks_sent + masks_removed,
        transcript=transcript,
        public_keys=public,
        encryption_public_keys=enc_public,
        frac_bits=frac_bits,
        clients=clients,
    )


def secure_aggregate(client_vectors: Sequence[np.ndarray] | np.ndarray, dropped: Iterable[int] = (),
                     threshold: int | None = None, rng: np.random.Generator | int | None = None,
                     **options: Any) -> np.ndarray:
    """The sum of the vectors of the clients not in ``dropped``, by secure aggregation.

    :func:`secure_aggregate_run` without the transcript: the same arguments, and ``options`` are
    its keyword-only ones (``neighbours``, ``frac_bits``). Keys, seeds and masks come from OS
    entropy unless ``rng`` is passed for a reproducible demonstration. The result equals the
    plain sum up to the fixed-point rounding (at most n_clients * 2^-17 per entry with 16
    fractional bits).

    Raises:
        ValueError: when fewer clients survive than ``threshold`` (nothing is decoded), or for
            bad arguments.

    Introduced in ``09-secure-computation.ipynb``.
    """
    return secure_aggregate_run(client_vectors, dropped, threshold, rng, **options).total


@dataclass(frozen=True)
class LyingServerAttack:
    """What a server that lies about one client's dropout collected, and whether it read the input.

    Attributes:
        target: the surviving client the server attacks.
        threshold: t.
        told_dropped: honest share holders told "target dropped" (each gave a masking-key share).
        told_survived: honest share holders told "target survived" (each gave a self-mask-seed
            share), the target among them.
        colluders: colluding share holders of the target (each gave both shares).
        key_shares, seed_shares: shares of the target's masking secret key and self-mask seed the
            server collected.
        recovered: the target's decoded input, or ``None`` if the server could not rebuild both.
    """

    target: int
    threshold: int
    told_dropped: tuple[int, ...]
    told_survived: tuple[int, ...]
    colluders: tuple[int, ...]
    key_shares: int
    seed_shares: int
    recovered: np.ndarray | None = field(repr=False)

    @property
    def honest_responders(self) -> int:
        return len(self.told_dropped) + len(self.told_survived)

    @property
    def counting_condition(self) -> bool:
        """2t <= h + 2c: enough answers for t shares of each secret, however the server splits them."""
        return 2 * self.threshold <= self.honest_responders + 2 * len(self.colluders)

    @property
    def succeeded(self) -> bool:
        return self.recovered is not None

    def line(self) -> str:
        h, c, t = self.honest_responders, len(self.colluders), self.threshold
        text = (tr("t = {t}, h = {h}, c = {c}: 2t = {two_t} {relation} h + 2c = {total}; {keys} key shares, "
                   "{seeds} seed shares: reads the input") if self.succeeded else
                tr("t = {t}, h = {h}, c = {c}: 2t = {two_t} {relation} h + 2c = {total}; {keys} key shares, "
                   "{seeds} seed shares: cannot rebuild both secrets"))
        return text.format(t=t, h=h, c=c, two_t=2 * t, relation="<=" if self.counting_condition else ">",
                           total=h + 2 * c, keys=self.key_shares, seeds=self.seed_shares)


def lying_server_attack(run: SecAggRun, target: int, colluders: Iterable[int] = (),
                        told_dropped: Iterable[int] | None = None) -> LyingServerAttack:
    """A malicious server tells some clients that ``target`` dropped and the others that it survived.

    After round 2 the server holds y_target. In round 3 it sends the honest share holders told
    "dropped" the survivor list without the target (every other client listed, so the list is
    long enough to be answered) and the others the true list. Each honest client answers with
    one share per client (:meth:`SimulatedClient.answer`); colluding clients give the server
    both of their shares. If the server holds t shares of the target's masking secret key and
    t of its self-mask seed, it strips every mask from y_target. Only shares are used: the
    target's secrets are rebuilt by Lagrange interpolation, exactly as in the honest round.

    Args:
        run: a finished round (:func:`secure_aggregate_run`).
        target: a survivor whose masked vector the server holds.
        colluders: clients that give the server everything they hold (not the target).
        told_dropped: the honest share holders to tell "target dropped"; default: as many as
            the masking key still needs (t minus the colluding holders), the rest told the truth.

    Returns:
        A :class:`LyingServerAttack`; ``recovered`` is the decoded input only if both secrets
        were rebuilt, which happens exactly when 2t <= h + 2c (h honest surviving holders of
        the target, the target included; c colluding holders).

    Introduced in ``09-secure-computation.ipynb``.
    """
    if not isinstance(run, SecAggRun):
        raise TypeError(f"run must be a SecAggRun (see secure_aggregate_run); got {type(run).__name__}")
    for name, value in (("colluders", colluders), ("told_dropped", told_dropped)):
        if (value is None and name == "colluders") or isinstance(value, (str, bytes)) or \
                (value is not None and not hasattr(value, "__iter__")):
            raise TypeError(f"{name} must be a collection of client ids; got {value!r}")
    n = len(run.graph)
    target = _validate.integer("target", target)
    if target not in run.transcript.server_received:
        raise ValueError(f"target must be a survivor whose masked vector the server holds, one of "
                         f"{list(run.survivors)}; got {target}")
    colluding = tuple(sorted({_validate.integer(f"colluders[{i}]", c) for i, c in enumerate(colluders)}))
    if any(not 0 <= c < n for c in colluding) or target in colluding:
        raise ValueError(f"colluders must be client ids from 0 to {n - 1}, not the target {target}; got {colluding}")
    t = run.threshold
    holders = run.holders(target)
    colluding_holders = tuple(c for c in colluding if c in holders)
    honest = [v for v in holders if v in run.survivors and v not in colluding]
    others = [v for v in honest if v != target]
    if told_dropped is None:
        lied_to = tuple(others[:max(0, min(len(others), t - len(colluding_holders)))])
    else:
        lied_to = tuple(sorted({_validate.integer(f"told_dropped[{i}]", v) for i, v in enumerate(told_dropped)}))
        if any(v not in others for v in lied_to):
            raise ValueError(f"told_dropped must be honest surviving share holders of client {target} other than "
                             f"it, from {others}; got {lied_to}")
    truthful = tuple(v for v in honest if v not in lied_to)
    everyone = set(range(n))
    answers = [run.clients[v].answer(everyone - {target}) for v in lied_to]
    answers += [run.clients[v].answer(run.survivors) for v in truthful]
    keys = [point for a in answers for owner, (kind, point) in a.items() if owner == target and kind == "key"]
    seeds = [point for a in answers for owner, (kind, point) in a.items() if owner == target and kind == "seed"]
    for c in colluding_holders:  # a colluder hands over both shares it holds
        key_share, seed_share = run.clients[c].held[target]
        keys.append(key_share)
        seeds.append(seed_share)
    recovered = None
    if len(keys) >= t and len(seeds) >= t:
        sk = shamir_reconstruct(keys[:t], prime=SECAGG_PRIME).to_bytes(32, "big")
        b = shamir_reconstruct(seeds[:t], prime=SECAGG_PRIME)
        y = run.transcript.server_received[target]
        recovered = decode(_strip_masks(y, target, sk, b, run.graph, run.public_keys), run.frac_bits)
    return LyingServerAttack(target, t, lied_to, truthful, colluding_holders, len(keys), len(seeds), recovered)


__all__ = [
    "MASK_NONCE",
    "SECAGG_PRIME",
    "SEED_BITS",
    "LyingServerAttack",
    "SecAggRun",
    "SimulatedClient",
    "Transcript",
    "decrypt_shares",
    "encrypt_shares",
    "expand_mask",
    "lying_server_attack",
    "neighbour_graph",
    "secure_aggregate",
    "secure_aggregate_run",
]
