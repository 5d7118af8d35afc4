"""Secure multi-party computation: secret sharing, Beaver multiplication, secure aggregation, MPyC.

Used by ``09-secure-computation.ipynb`` (all of it) and ``10-capstone-hospitals.ipynb`` (secure
aggregation of the hospitals' updates, through :mod:`labkit.capstone`).

Modules:

- :mod:`~labkit.smpc.ring`: the ring Z_(2^64), fixed-point :func:`encode` / :func:`decode` with 16
  fractional bits (resolution 2^-16; values below 2^47 in magnitude; a product is representable
  below 2^31, but its shared truncation fails with probability about |xy| / 2^32 per entry, see
  :func:`truncation_failure_probability`), :func:`ring_matmul`, :func:`random_ring`.
- :mod:`~labkit.smpc.additive`: :func:`share` / :func:`reconstruct`, additive n-of-n sharing, and
  the local operations on shares (:func:`add`, :func:`add_public`, :func:`scale_public_int`).
- :mod:`~labkit.smpc.shamir`: :func:`shamir_share` / :func:`shamir_reconstruct`, t-of-n Shamir
  sharing over a prime field, :func:`lagrange_at_zero`.
- :mod:`~labkit.smpc.beaver`: :class:`TrustedDealer`, :func:`beaver_mul`, :func:`beaver_matmul`,
  :func:`truncate`, :func:`secure_dot`, :func:`secure_linear`, :func:`secure_logistic_scores`:
  products of shared values with Beaver triples from a dealer that is *trusted*.
- :mod:`~labkit.smpc.secagg`: :func:`secure_aggregate` / :func:`secure_aggregate_run`, Bonawitz et
  al. (2017) secure aggregation with dropouts (ChaCha20 masks, shares encrypted with
  ChaCha20-Poly1305), one function per protocol round, and SecAgg+ neighbour graphs
  (:func:`neighbour_graph`); :func:`pairwise_seed`, the seed s_uv a server rebuilds for a dropped
  client; :func:`lying_server_attack`: what a server that lies about dropouts reads.
- :mod:`~labkit.smpc.variants`: :func:`secagg_variants`, six variants of secure aggregation over two
  rounds, three of them broken on purpose (exercise 09.3), and what the server holds in each.
- :mod:`~labkit.smpc.coalition`: :func:`coalition_view`, what a coalition of parties can compute
  from its shares, and :func:`candidate_curves` / :func:`consistent_secrets`, the polynomials of
  candidate secrets through the colluders' Shamir points and every secret that fits them (the
  widget's compute functions).
- :mod:`labkit.smpc.mpyc`: :func:`run_mpyc_statistic`, a secure mean and maximum computed by
  three MPyC parties running as separate OS processes on 127.0.0.1 (``mpyc/runner.py`` starts and
  stops them; ``mpyc/mpyc_demo.py`` is the party script), and :func:`mpyc_command_lines`.
- :mod:`~labkit.smpc.comparison`: why comparison is the expensive part: :func:`mpyc_operation_costs`
  (MPyC addition, multiplication, x < y, ReLU, maximum: time, messages, rounds), :func:`train_digits_mlp`,
  :func:`fixed_point_error_bound` and :func:`mpyc_mlp_inference`, a secret-shared 64-16-10 ReLU network
  with its cost per layer.
- :mod:`~labkit.smpc.plots`: the notebook's figures (share histograms, coalition, candidate curves, costs).
- :mod:`~labkit.smpc.widgets`: the coalition widget (ipywidgets, imported when called).
- :mod:`~labkit.smpc.checks`: the checks of exercises 09.1 (Beaver multiplication), 09.2 (unmasking a
  round with dropouts) and 09.3 (find the broken variants) (:func:`labkit.exercises.check`).

Randomness for shares, masks, keys and seeds comes from OS entropy unless an ``rng`` (a NumPy
Generator or an integer seed) is passed for a reproducible demonstration. Importing this package
loads NumPy and this package's computation modules only (no cryptography, MPyC, Matplotlib or
ipywidgets) and does no work.
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
from labkit.smpc.coalition import CandidateCurves, CoalitionView, candidate_curves, coalition_view, consistent_secrets
from labkit.smpc.comparison import (
    OperationCosts,
    SecureInference,
    TinyMLP,
    fixed_point_error_bound,
    mpyc_mlp_inference,
    mpyc_operation_costs,
    train_digits_mlp,
)
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
    pairwise_seed,
    secure_aggregate,
    secure_aggregate_run,
)
from labkit.smpc.shamir import PRIME, lagrange_at_zero, shamir_reconstruct, shamir_share
from labkit.smpc.variants import VARIANT_NAMES, ServerView, secagg_variants

__all__ = [
    "FRAC_BITS", "MAX_ABS", "MAX_PRODUCT_ABS", "PRIME", "RING_BITS", "SECAGG_PRIME",
    "VARIANT_NAMES", "CandidateCurves", "CoalitionView", "LyingServerAttack", "MPyCResult", "SecAggRun", "ServerView", "SimulatedClient",
    "Transcript", "TrustedDealer",
    "add", "add_public", "beaver_matmul", "beaver_mul", "candidate_curves", "coalition_view", "consistent_secrets", "decode", "decrypt_shares", "encode",
    "encrypt_shares", "expand_mask", "lagrange_at_zero", "lying_server_attack", "mpyc_command_lines", "neighbour_graph",
    "pairwise_seed", "random_ring", "reconstruct", "reconstruct_encoded", "ring_matmul", "run_mpyc_statistic", "scale_public_int",
    "secagg_variants", "secure_aggregate", "secure_aggregate_run", "secure_dot", "secure_linear", "secure_logistic_scores",
    "shamir_reconstruct", "shamir_share", "share", "share_encoded", "truncate", "truncation_failure_probability",
    "OperationCosts", "SecureInference", "TinyMLP", "fixed_point_error_bound", "mpyc_mlp_inference",
    "mpyc_operation_costs", "train_digits_mlp",
]
