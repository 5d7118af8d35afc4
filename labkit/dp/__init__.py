"""Differential privacy: de-identification, mechanisms, accounting, DP-SGD and auditing.

Used by notebooks ``01-deidentification``, ``02-dp-from-scratch``, ``03-gaussian-accounting``,
``04-dp-sgd`` and ``05-auditing`` (its checks also serve ``00``); ``07-private-federated-learning``,
``09-secure-computation`` and ``10-capstone-hospitals`` use its accountants, DP-SGD steps and attack
statistics.

Modules:

* :mod:`labkit.dp.deid`: a seeded synthetic population and a linkage attack on "de-identified"
  records (01).
* :mod:`labkit.dp.mechanisms`: randomized response, Laplace, Gaussian and a (0, delta)-DP leak;
  empirical epsilon and delta on neighbouring datasets; the noise-calibration widget's compute
  function (02).
* :mod:`labkit.dp.calibration`: the Gaussian mechanism's exact delta and its sigma or epsilon
  (Balle & Wang 2018) (03).
* :mod:`labkit.dp.accounting`: dp-accounting's RDP and PLD accountants for the subsampled
  Gaussian, the noise-multiplier search, composition, RDP curves, ``epsilon_report`` and the
  accountant dashboard's compute function (03; used by 04, 05, 07 and 10).
* :mod:`labkit.dp.dpsgd`: DP-SGD written out, the fast trainer (ghost norms for Dense layers, exact
  per-example norms for Conv2D; an MLP and a small CNN), tensorflow-privacy
  with its microbatch trap guarded, and the accuracy-privacy trade-off (04, 05).
* :mod:`labkit.dp.tuning`: a precomputed grid over batch size, clipping norm, epochs and step size at
  fixed target epsilons, its lookups and a Welch interval for differences (04).
* :mod:`labkit.dp.selection`: the privacy cost of tuning: releasing the best of several runs,
  composed or with a random number of runs (Papernot and Steinke 2022), and exact best-of-K checks (04).
* :mod:`labkit.dp.features`: a scattering transform (fixed filters), features pre-trained on public
  digits, and the comparison of DP-SGD on pixels, on features and end to end (04).
* :mod:`labkit.dp.audit`: membership-inference attacks (loss threshold, LiRA) and an empirical
  lower bound on epsilon (05; previewed in 04).
* :mod:`labkit.dp.canary`: a white-box gradient-canary audit of one DP-SGD step, a one-run audit
  (Steinke, Nasr and Jagielski 2023) and a deliberately broken DP-SGD for the audit to catch (05).
* :mod:`labkit.dp.reconstruction`: attacks on exact aggregates, a differencing attack and a
  Dinur-Nissim reconstruction from subset sums (01), defeated by Laplace noise (02).
* :mod:`labkit.dp.plots`: the figures of 01 to 05 (each helper takes an ``ax`` and returns it).
* :mod:`labkit.dp.widgets`: the noise-calibration widget (02), the accountant dashboard (03)
  and the trade-off explorer (04).
* :mod:`labkit.dp.checks`: the exercise checks of 00 to 03.
* :mod:`labkit.dp.training_checks`: the exercise checks of 04 (DP-SGD) and 05 (auditing).

This package re-exports the mechanisms, calibration and accounting functions, so that notebooks
call ``dp.laplace_mechanism`` or ``dp.dpsgd_epsilon``. Importing it loads NumPy and nothing
heavier: dp-accounting, SciPy and TensorFlow are imported by the functions that need them.
"""

from labkit.dp.accounting import (
    ACCOUNTANTS,
    Accountant,
    AccountantDashboard,
    accountant_dashboard,
    advanced_composition,
    basic_composition,
    dpsgd_epsilon,
    dpsgd_noise_multiplier,
    dpsgd_steps,
    epsilon_report,
    group_privacy,
    noise_multiplier_for_epsilon,
    poisson_gaussian_epsilon,
    rdp_epsilon_curve,
    rdp_epsilon_old_conversion,
    user_level_epsilon_by_group_privacy,
)
from labkit.dp.calibration import GAUSSIAN_METHODS, gaussian_delta, gaussian_epsilon, gaussian_sigma
from labkit.dp.mechanisms import (
    EmpiricalEpsilon,
    NoiseCalibration,
    empirical_delta,
    empirical_epsilon,
    empirical_epsilon_interval,
    estimate_proportion,
    gaussian_mechanism,
    histogram_log_ratio,
    laplace_mechanism,
    noise_calibration,
    randomized_response,
    randomized_response_std,
    release_each_record,
    truthful_probability,
)
from labkit.dp.selection import TuningCost, best_of_runs_rdp, tuning_cost

__all__ = [
    "TuningCost", "best_of_runs_rdp", "tuning_cost",  # the privacy cost of tuning (04)
    # mechanisms (02)
    "laplace_mechanism", "gaussian_mechanism", "randomized_response", "truthful_probability",
    "estimate_proportion", "randomized_response_std", "release_each_record",
    "histogram_log_ratio", "empirical_epsilon", "EmpiricalEpsilon", "empirical_epsilon_interval",
    "empirical_delta", "noise_calibration", "NoiseCalibration",
    # Gaussian calibration (03)
    "GAUSSIAN_METHODS", "gaussian_delta", "gaussian_sigma", "gaussian_epsilon",
    # accounting (03)
    "Accountant", "ACCOUNTANTS", "dpsgd_steps", "poisson_gaussian_epsilon", "dpsgd_epsilon",
    "noise_multiplier_for_epsilon", "dpsgd_noise_multiplier", "basic_composition", "advanced_composition",
    "rdp_epsilon_curve", "rdp_epsilon_old_conversion", "epsilon_report", "accountant_dashboard",
    "AccountantDashboard",
    "group_privacy", "user_level_epsilon_by_group_privacy",  # group privacy (04)
]
