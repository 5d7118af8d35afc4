"""The capstone: a federation of four hospitals, on the shared federated code of :mod:`labkit.fl`.

Used by ``10-capstone-hospitals.ipynb``. The hospitals train logistic regression with FedAvg
under four configurations (plain, secure aggregation, packed Paillier with the key shared among the
hospitals (threshold decryption), secure aggregation with record-level DP) and the notebook sets what each costs beside what it protects. The training loop,
the FedAvg round, the model, the aggregators and the Paillier packing are those of
:mod:`labkit.fl`, :mod:`labkit.he.paillier` and :mod:`labkit.smpc.secagg` (through
:class:`labkit.fl.SecureAggregation`); this package keeps only what is the capstone's own.

Modules:

- :mod:`labkit.capstone.federation`: the hospitals (skewed shares and label balance, announced
  sizes), local training and record-level DP settings, the configurations, the federation run
  (with a hook for your own secure sum, :class:`~labkit.capstone.federation.SecureSumAggregator`),
  the membership audit and the cost table;
- :mod:`labkit.capstone.plots`: the figures of notebook 10;
- :mod:`labkit.capstone.checks`: the exercise checks of notebook 10.
"""

from __future__ import annotations

from labkit.capstone.federation import (AGGREGATIONS, CONFIGURATIONS, HOSPITALS, KEY_THRESHOLD, RING, Configuration,
                                        CostRow, CostTable, FederationRun, Hospital, HospitalSpec, LocalTraining,
                                        RecordDP, SecureSumAggregator, ThresholdPaillierAggregation,
                                        accuracy_interval, apportion, cost_row, hospital_epsilons,
                                        hospital_noise_multipliers, hospital_partition, hospital_update, local_steps,
                                        local_update, make_hospitals, membership_audit, model_for, run_federation,
                                        sampling_probability, two_class_logits)

__all__ = [
    "AGGREGATIONS", "CONFIGURATIONS", "HOSPITALS", "KEY_THRESHOLD", "RING", "Configuration", "CostRow", "CostTable", "FederationRun",
    "Hospital", "HospitalSpec", "LocalTraining", "RecordDP", "SecureSumAggregator", "ThresholdPaillierAggregation", "accuracy_interval", "apportion", "cost_row",
    "hospital_epsilons", "hospital_noise_multipliers", "hospital_partition", "hospital_update", "local_steps",
    "local_update", "make_hospitals", "membership_audit", "model_for", "run_federation", "sampling_probability",
    "two_class_logits",
]
