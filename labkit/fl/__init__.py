"""Federated learning: FedSGD, FedAvg and DP-FedAvg from scratch on one shared federated core, and the same with TFF.

Used by ``06-federated-averaging.ipynb`` (FedSGD, FedAvg, non-IID clients, bytes),
``07-private-federated-learning.ipynb`` (user-level DP-FedAvg, TFF's DP and secure aggregators)
and ``10-capstone-hospitals.ipynb`` (:mod:`labkit.capstone` runs its hospitals on this code).

The from-scratch code trains on flat parameter vectors through three pluggable parts, in the
spirit of TensorFlow Federated's aggregation factories and Flower's strategies: a model, a
client-side update and a server-side aggregator. The softmax-regression path runs in float32 so
that every step can be set beside TFF's (the notebook checks that the weights agree to 1e-5).

Modules:

- :mod:`labkit.fl.models`: softmax and logistic regression behind one interface on flat vectors;
- :mod:`labkit.fl.fedavg`: client data, the local SGD loop (:func:`sgd`), the plain client update
  (:class:`LocalSGD`), the federated round (:func:`federated_round`), the run loop
  (:func:`run_rounds`), bytes per round, and the ``[W, b]`` helpers of notebooks 06 and 07;
- :mod:`labkit.fl.dp_fedavg`: clipping, Poisson sampling, DP-FedAvg's noisy sum, record-level
  DP-SGD as a client update, user-level accounting, adaptive-clip noise;
- :mod:`labkit.fl.remedies`: remedies for non-IID clients: FedProx's proximal step, SCAFFOLD's control
  variates and server optimisers (FedAvgM, FedAdam, FedYogi; Reddi et al. 2021) of notebook 06;
- :mod:`labkit.fl.distributed_dp`: distributed DP under secure aggregation: clipped, rotated,
  quantised updates with discrete Gaussian noise summed mod 2^b, and its accounting (notebook 07);
- :mod:`labkit.fl.aggregation`: server aggregators (plain sum, secure aggregation, packed Paillier);
- :mod:`labkit.fl.tff`: TensorFlow Federated (the worker guard, and FedAvg, DP-FedAvg and secure
  aggregation run with TFF); TensorFlow Federated itself loads only when a TFF function is called;
- :mod:`labkit.fl.attacks`: gradient inversion (exact for softmax regression, DLG on a small MLP);
- :mod:`labkit.fl.sweeps`: the precomputed sweeps of notebook 06 (``make data``);
- :mod:`labkit.fl.robust`: poisoning (boosted and sign-flipped updates) and robust aggregation
  (median, trimmed mean, Krum, clipped mean) of notebook 07;
- :mod:`labkit.fl.plots`, :mod:`labkit.fl.widgets`: figures and the non-IID explorer;
- :mod:`labkit.fl.checks`: the exercise checks of notebooks 06 and 07.

Importing ``labkit.fl`` loads NumPy only: TensorFlow and TFF load inside the TFF functions.
"""

from __future__ import annotations

from labkit.fl.aggregation import Aggregate, PaillierAggregation, SecureAggregation, plain_sum, secagg_bytes
from labkit.fl.attacks import (DLGResult, InversionPoint, dlg_attack, infer_labels, init_mlp, inversion_point,
                               invert_softmax_gradient, matched_reconstructions, mlp_gradients, observed_gradient,
                               reconstruction_error, round_epsilon)
from labkit.fl.dp_fedavg import (ClippedUpdate, GaussianSum, RecordDPSGD, adaptive_clip_value_noise,
                                 check_user_delta, clip_update, dp_fedavg_round, poisson_sample, run_dp_fedavg,
                                 user_level_epsilon)
from labkit.fl.distributed_dp import DistributedDPSum, ddg_epsilon, distributed_dp_sum, run_distributed_dp
from labkit.fl.fedavg import (Client, ClientResult, History, LocalSGD, RoundResult, Weights,
                              accuracy, bytes_per_round, check_clients, client_arrays, epoch_batches, epoch_orders,
                              federated_round, fedavg_round, fedavgm_round, fedsgd_round, init_weights, local_sgd,
                              loss_and_gradients, max_abs_difference, rounds_to_target, run_federated, run_rounds,
                              sgd, weighted_average)
from labkit.fl.models import FlatModel, LogisticRegression, SoftmaxRegression
from labkit.fl.robust import (POISONING_SETTINGS, PoisonedUpdate, RobustAggregator, clipped_mean, coordinate_median,
                              krum, krum_scores, poisoning_accuracy, poisoning_curve, run_poisoned, trimmed_mean)
from labkit.fl.remedies import ProxSGD, Scaffold, ServerOptimizer, fedopt_round, run_method
from labkit.fl.sweeps import (NONIID_GRID, PAPER_TABLE2, REMEDY_GRID, TABLE2_SETTINGS, noniid_curve, noniid_lookup,
                              remedy_curves, rounds_over_seeds, table2_clients, table2_rounds)
from labkit.fl.tff import (client_datasets, run_tff_fedavg, tff_dp_fedavg, tff_fedavg, tff_secure_fedavg,
                          tff_secure_sum_demo)


__all__ = [
    "Aggregate", "Client", "ClientResult", "ClippedUpdate", "FlatModel", "GaussianSum",
    "History", "LocalSGD", "LogisticRegression", "NONIID_GRID", "PAPER_TABLE2", "PaillierAggregation",
    "RecordDPSGD", "RoundResult", "SecureAggregation", "SoftmaxRegression", "TABLE2_SETTINGS", "Weights",
    "accuracy", "adaptive_clip_value_noise", "bytes_per_round", "check_clients", "check_user_delta",
    "client_arrays", "clip_update", "dp_fedavg_round", "epoch_batches", "epoch_orders", "federated_round",
    "fedavg_round", "fedavgm_round", "fedsgd_round", "init_weights", "local_sgd", "loss_and_gradients",
    "max_abs_difference",
    "noniid_curve", "noniid_lookup", "plain_sum", "poisson_sample", "rounds_to_target", "run_dp_fedavg",
    "run_federated", "run_rounds", "secagg_bytes", "sgd", "table2_clients", "table2_rounds", "user_level_epsilon",
    "weighted_average", "client_datasets", "run_tff_fedavg", "tff_dp_fedavg",
    "tff_fedavg", "tff_secure_fedavg", "tff_secure_sum_demo",
    "DLGResult", "InversionPoint", "dlg_attack", "infer_labels", "init_mlp", "inversion_point",
    "invert_softmax_gradient", "matched_reconstructions", "mlp_gradients", "observed_gradient",
    "reconstruction_error", "round_epsilon",
    "DistributedDPSum", "ddg_epsilon", "distributed_dp_sum", "run_distributed_dp",
    "POISONING_SETTINGS", "PoisonedUpdate", "RobustAggregator", "clipped_mean", "coordinate_median", "krum",
    "krum_scores", "poisoning_accuracy", "poisoning_curve", "run_poisoned", "trimmed_mean",
    "ProxSGD", "REMEDY_GRID", "Scaffold", "ServerOptimizer", "fedopt_round", "remedy_curves",
    "rounds_over_seeds", "run_method",
]
