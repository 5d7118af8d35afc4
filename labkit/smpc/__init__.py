"""Secure multi-party computation: secret sharing, Beaver multiplication, secure aggregation, MPyC.

Public names (introduced in ``09-secure-computation.ipynb``):

- :func:`share` / :func:`reconstruct`: additive sharing over Z_(2^64) with 16 fractional bits
  (resolution 2^-16; values below 2^47 in magnitude; a product is representable below 2^31, but
  its shared truncation fails with probability about |xy| / 2^32 per entry, see
  :func:`truncation_failure_probability`).
- :func:`shamir_share` / :func:`shamir_reconstruct`: t-of-n Shamir sharing over a prime field.
- :class:`TrustedDealer`, :func:`beaver_mul`, :func:`beaver_matmul`, :func:`truncate`,
  :func:`secure_dot`, :func:`secure_linear`, :func:`secure_logistic_scores`: products of shared
  values with Beaver triples from a dealer that is *trusted*.
- :func:`secure_aggregate` / :func:`secure_aggregate_run`: Bonawitz et al. (2017) secure
  aggregation with dropouts (ChaCha20 masks, shares encrypted with ChaCha20-Poly1305), and SecAgg+
  neighbour graphs; :func:`lying_server_attack`: what a server that lies about dropouts reads.
- :func:`run_mpyc_statistic`: a secure mean and maximum computed by three MPyC parties running as
  separate OS processes on 127.0.0.1.

Randomness for shares, masks and seeds comes from OS entropy unless an ``rng`` is passed for a
reproducible demonstration. Importing this package does no work.
"""

from __future__ import annotations

from labkit.smpc.additive import add, add_public, reconstruct, reconstruct_encoded, scale_public_int, share, share_encoded
from labkit.smpc.beaver import (
    TrustedDealer,
    beaver_matmul,
    beaver_mul,
    secure_dot,
    secure_linear,
    secure_logistic_scores,
    truncate,
    truncation_failure_probability,
)
from labkit.smpc.coalition import CoalitionView, coalition_view
from labkit.smpc.mpyc.runner import MPyCResult, mpyc_command_lines, run_mpyc_statistic
from labkit.smpc.ring import FRAC_BITS, MAX_ABS, MAX_PRODUCT_ABS, RING_BITS, decode, encode, random_ring, ring_matmul
from labkit.smpc.secagg import (
    SECAGG_PRIME,
    LyingServerAttack,
    SecAggRun,
    SimulatedClient,
    Transcript,
    decrypt_shares,
    encrypt_shares,
    expand_mask,
    lying_server_attack,
    neighbour_graph,
    secure_aggregate,
    secure_aggregate_run,
)
from labkit.smpc.shamir import PRIME, lagrange_at_zero, shamir_reconstruct, shamir_share

__all__ = [
    "FRAC_BITS", "MAX_ABS", "MAX_PRODUCT_ABS", "PRIME", "RING_BITS", "SECAGG_PRIME",
    "CoalitionView", "LyingServerAttack", "MPyCResult", "SecAggRun", "SimulatedClient", "Transcript", "TrustedDealer",
    "add", "add_public", "beaver_matmul", "beaver_mul", "coalition_view", "decode", "decrypt_shares", "encode",
    "encrypt_shares", "expand_mask", "lagrange_at_zero", "lying_server_attack", "mpyc_command_lines", "neighbour_graph",
    "random_ring", "reconstruct", "reconstruct_encoded", "ring_matmul", "run_mpyc_statistic", "scale_public_int",
    "secure_aggregate", "secure_aggregate_run", "secure_dot", "secure_linear", "secure_logistic_scores",
    "shamir_reconstruct", "shamir_share", "share", "share_encoded", "truncate", "truncation_failure_probability",
]
