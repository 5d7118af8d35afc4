"""Bad-input campaign specs for labkit.dp (see tests/campaign.py).

One working call per public function of labkit.dp (mechanisms, calibration, accounting, deid, dpsgd,
audit, plots, widgets); the exercise checks (labkit.dp.checks) are excluded. Every call is small:
tiny arrays, models of a few units, one epoch on a few dozen rows.
"""

import numpy as np

import campaign
from campaign import Call, Fresh


def _rng():
    return np.random.default_rng(0)


def _x(n=24, d=4):
    return np.random.default_rng(1).normal(size=(n, d)).astype(np.float32)


def _y(n=24):
    return np.arange(n) % 2


def _mlp():
    from labkit.dp.dpsgd import make_mlp

    return make_mlp(4, 2, (4,), seed=0)


def _per_example():
    # Two variables of one shape, so that the engine can inject NaN/inf into the stack (ragged lists are
    # covered by the hypothesis test in test_dp_bad_input.py).
    g = np.random.default_rng(2)
    return [g.normal(size=(6, 3)), g.normal(size=(6, 3))]


def _summed():
    g = np.random.default_rng(3)
    return [g.normal(size=3), g.normal(size=3)]


def _pop():
    from labkit.dp.deid import synthetic_population

    return synthetic_population(20, 0)


def _tables():
    from labkit.dp.deid import medical_records, synthetic_population, voter_list

    pop = synthetic_population(20, 0)
    rec, rt = medical_records(pop, 30, 0)
    vot, vt = voter_list(pop, 0.6, 0)
    return rec, vot, rt, vt


def _logits():
    return np.random.default_rng(4).normal(size=(20, 3))


def _labels():
    return np.arange(20) % 3


def _members():
    return np.arange(20) % 2 == 0


def _scores():
    return np.random.default_rng(5).normal(size=20) + _members()


def _shadows():
    from labkit.dp.audit import ShadowSet

    g = np.random.default_rng(6)
    return ShadowSet(conf=g.normal(size=(4, 20)), loss=g.random(size=(4, 20)), members=g.random((4, 20)) < 0.5)


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _dashboard():
    from labkit.dp import accountant_dashboard

    return accountant_dashboard(0.01, 1.1, 100, 1e-5, num_points=5)


def _calib():
    from labkit.dp import noise_calibration

    return noise_calibration(1.0, 1.0, 100, 11)


def _attack():
    from labkit.dp.audit import loss_threshold_attack

    return [loss_threshold_attack(_logits(), _labels(), _members())]


def _sweep():
    from labkit.dp.dpsgd import load_tradeoff_sweep

    return load_tradeoff_sweep()


A = "labkit.dp.accounting:"
M = "labkit.dp.mechanisms:"
C = "labkit.dp.calibration:"
D = "labkit.dp.deid:"
S = "labkit.dp.dpsgd:"
U = "labkit.dp.audit:"
P = "labkit.dp.plots:"
RC = "labkit.dp.reconstruction:"


def _subsets():
    return np.random.default_rng(5).integers(0, 2, size=(12, 6))


def _secret():
    return np.array([1, 0, 0, 1, 1, 0])


def _curve():
    from labkit.dp.reconstruction import reconstruction_curve

    return reconstruction_curve(np.array([0.5, 2.0]), 10, 20, 2)

W = "labkit.dp.widgets:"

REAL_VALUE = {"negative", "zero", "huge"}  # any real count or sum may be released
# A huge epsilon or sensitivity is a valid (useless) privacy parameter: the result is right, the noise tiny or huge.
HUGE = {"huge"}

CALLS = [
    # ---- mechanisms (02)
    Call(M + "laplace_mechanism", dict(value=3.0, sensitivity=1.0, epsilon=1.0, rng=Fresh(_rng)),
         accepts={"value": REAL_VALUE, "sensitivity": HUGE, "epsilon": HUGE}),
    Call(M + "gaussian_mechanism", dict(value=3.0, sensitivity=1.0, epsilon=1.0, delta=1e-5, rng=Fresh(_rng),
                                        method="analytic"),
         accepts={"value": REAL_VALUE, "sensitivity": HUGE, "epsilon": HUGE}),
    Call(M + "randomized_response", dict(bits=np.array([0, 1, 1, 0]), epsilon=1.0, rng=Fresh(_rng)),
         # bits of any shape (a scalar, none, a table) come back in that shape; a huge epsilon is truthful
         accepts={"bits": {"empty", "scalar", "extra_axis"}, "epsilon": HUGE}),
    Call(M + "release_each_record", dict(records=np.arange(10.0), delta=0.1, rng=Fresh(_rng)),
         # delta 0 releases nothing (documented: [0, 1]); records are opaque rows, published as they are
         accepts={"delta": {"zero"}, "records": {"empty", "nan_entry", "inf_entry", "extra_axis"}}),
    Call(M + "truthful_probability", dict(epsilon=1.0), accepts={"epsilon": HUGE}),  # probability 1
    Call(M + "laplace_histogram", dict(values=np.array([1.0, 2.5, 2.7, 9.0]), bin_edges=np.array([0.0, 2.0, 4.0]),
                                       epsilon=1.0, rng=Fresh(_rng)),
         # no records is an empty histogram; values outside the edges, or any real value, fall in no bin or one
         accepts={"values": {"empty", "negative", "zero", "huge"}, "epsilon": HUGE}),
    Call(M + "estimate_proportion", dict(responses=np.array([0, 1, 1, 0, 1]), epsilon=1.0),
         accepts={"responses": {"scalar", "extra_axis"}, "epsilon": HUGE}),  # the mean of any 0/1 array
    Call(M + "randomized_response_std", dict(num_respondents=100, epsilon=1.0),
         accepts={"num_respondents": {"huge"}, "epsilon": HUGE}),  # a closed form: any count is fine
    Call(M + "histogram_log_ratio", dict(samples=np.linspace(0, 1, 200), neighbour_samples=np.linspace(0.1, 1.1, 200),
                                         bins=np.linspace(0, 1.1, 5), min_count=10),
         # outputs of any shape are flattened; a min_count no bin reaches gives NaN everywhere (documented)
         accepts={"samples": {"extra_axis"}, "neighbour_samples": {"extra_axis"}, "min_count": {"huge"}},
         nonfinite_ok={"min_count"}),  # NaN is the documented marker of a bin below min_count
    Call(M + "empirical_epsilon", dict(samples=np.linspace(0, 1, 200), neighbour_samples=np.linspace(0.1, 1.1, 200),
                                       bins=np.linspace(0, 1.1, 5), min_count=10),
         accepts={"samples": {"extra_axis"}, "neighbour_samples": {"extra_axis"}}),  # flattened
    Call(M + "empirical_epsilon_interval", dict(samples=np.linspace(0, 1, 200),
                                                neighbour_samples=np.linspace(0.1, 1.1, 200),
                                                bins=np.linspace(0, 1.1, 5), min_count=10, confidence=0.95),
         accepts={"samples": {"extra_axis"}, "neighbour_samples": {"extra_axis"}}),  # flattened
    Call(M + "empirical_delta", dict(samples=np.linspace(0, 1, 200), neighbour_samples=np.linspace(0.1, 1.1, 200),
                                     epsilon=0.5, num_thresholds=20),
         # delta at epsilon 0 is the total-variation distance; outputs of any shape are flattened
         accepts={"epsilon": {"zero"}, "samples": {"extra_axis"}, "neighbour_samples": {"extra_axis"}}),
    Call(M + "noise_calibration", dict(epsilon=1.0, sensitivity=1.0, true_count=100, num_points=11),
         accepts={"epsilon": HUGE, "sensitivity": HUGE, "true_count": {"huge"}}),
    # ---- calibration (03)
    Call(C + "gaussian_delta", dict(sigma=1.0, epsilon=1.0, sensitivity=1.0),
         accepts={"epsilon": {"zero", "huge"}, "sigma": HUGE, "sensitivity": HUGE}),  # delta(0), delta(huge) defined
    Call(C + "gaussian_sigma", dict(epsilon=1.0, delta=1e-5, sensitivity=1.0, method="analytic"),
         accepts={"epsilon": HUGE, "sensitivity": HUGE}),
    Call(C + "gaussian_epsilon", dict(sigma=1.0, delta=1e-5, sensitivity=1.0), accepts={"sigma": HUGE}),  # epsilon 0
    # ---- accounting (03)
    Call(A + "dpsgd_steps", dict(num_examples=1000, batch_size=100, epochs=2.0)),
    Call(A + "poisson_gaussian_epsilon", dict(sampling_probability=0.01, noise_multiplier=1.1, steps=100, delta=1e-5,
                                              accountant="rdp", pld_discretization=1e-3)),
    Call(A + "dpsgd_epsilon", dict(num_examples=1000, batch_size=10, noise_multiplier=1.1, epochs=1.0, delta=1e-5,
                                   accountant="rdp")),
    Call(A + "noise_multiplier_for_epsilon", dict(target_epsilon=2.0, sampling_probability=0.01, steps=100,
                                                  delta=1e-5, accountant="rdp")),
    Call(A + "dpsgd_noise_multiplier", dict(target_epsilon=2.0, num_examples=1000, batch_size=10, epochs=1.0,
                                            delta=1e-5, accountant="rdp")),
    Call(A + "basic_composition", dict(epsilon=1.0, delta=1e-5, k=10),
         accepts={"delta": {"zero"}, "epsilon": HUGE}),  # pure DP; k epsilon is right for any epsilon
    Call(A + "advanced_composition", dict(epsilon=1.0, delta=1e-5, k=10, delta_slack=1e-5),
         accepts={"delta": {"zero"}}),  # pure DP
    Call(A + "group_privacy", dict(epsilon=1.0, delta=1e-5, group_size=3),
         accepts={"delta": {"zero"}, "epsilon": {"zero", "huge"}}),  # pure DP; epsilon 0 is exact; k epsilon for any
    Call(A + "user_level_epsilon_by_group_privacy", dict(sampling_probability=0.01, noise_multiplier=1.1, steps=100,
                                                         delta=1e-5, records_per_user=3)),
    Call(A + "rdp_epsilon_curve", dict(sampling_probability=0.01, noise_multiplier=1.1, steps=np.array([1, 10, 100]),
                                       delta=1e-5)),
    Call(A + "rdp_epsilon_old_conversion", dict(sampling_probability=0.01, noise_multiplier=1.1, steps=100,
                                                delta=1e-5)),
    Call(A + "epsilon_report", dict(num_examples=1000, batch_size=10, noise_multiplier=1.1, epochs=1.0, delta=1e-5)),
    Call(A + "accountant_dashboard", dict(sampling_probability=0.01, noise_multiplier=1.1, steps=100, delta=1e-5,
                                          num_points=5)),
    # ---- de-identification (01)
    Call(D + "synthetic_population", dict(num_zip_codes=20, seed=0, zip_codes_per_prefix=40), kinds={"seed": "rng"}),
    Call(D + "zip_prefix_sizes", dict(population=Fresh(_pop))),
    Call(D + "birth_year", dict(birth_day=np.array([0, 365, 20000])), accepts={"birth_day": {"empty"}}),  # elementwise
    Call(D + "quasi_identifier_key", dict(zip_code=np.array([12345, 54321]), birth_day=np.array([100, 200]),
                                          sex=np.array([0, 1]), zip_digits=5, birth="day"),
         kinds={"zip_digits": "choice"}, accepts={"zip_digits": {"number"}}),  # the "number" bad value is 3: valid
    Call(D + "unique_share", dict(keys=np.array([1, 2, 2, 3]))),
    Call(D + "group_sizes", dict(keys=np.array([1, 2, 2, 3]))),
    Call(D + "unique_share_by_zip", dict(population=Fresh(_pop))),
    Call(D + "cell_probabilities", dict()),
    Call(D + "expected_unique_share", dict(zip_population=np.array([100.0, 1000.0])),
         accepts={"zip_population": {"scalar"}}),  # one ZIP code: a float (documented)
    Call(D + "format_day", dict(day=20000), accepts={"day": {"negative", "zero"}}),  # days before 1900 / 1900-01-01
    Call(D + "medical_records", dict(population=Fresh(_pop), num_records=30, seed=0), kinds={"seed": "rng"}),
    Call(D + "voter_list", dict(population=Fresh(_pop), coverage=0.6, seed=0), kinds={"seed": "rng"}),
    Call(D + "unique_matches", dict(record_keys=np.array([5, 7, 7, 9]), voter_keys=np.array([7, 9, 9, 11]))),
    Call(D + "homogeneous_records", dict(keys=np.array([1, 1, 2, 3, 3]), sensitive=np.array(["a", "a", "b", "a", "c"])),
         kinds={"sensitive": "array"}),
    Call(D + "link", dict(records=Fresh(lambda: _tables()[0]), voters=Fresh(lambda: _tables()[1]),
                          record_truth=Fresh(lambda: _tables()[2]), voter_truth=Fresh(lambda: _tables()[3]))),
    # ---- DP-SGD (04)
    Call(S + "make_mlp", dict(num_features=4, num_classes=2, hidden=(4,), seed=0), kinds={"hidden": "array"},
         accepts={"hidden": {"empty"}, "seed": {"zero"}}),  # () is a linear model; 0 is a seed
    Call(S + "dense_layers", dict(model=Fresh(_mlp))),
    Call(S + "reinitialize", dict(model=Fresh(_mlp), seed=1), accepts={"seed": {"zero"}}),
    Call(S + "accuracy", dict(model=Fresh(_mlp), x=Fresh(_x), y=Fresh(_y))),
    Call(S + "predict_logits", dict(model=Fresh(_mlp), x=Fresh(_x))),
    Call(S + "per_example_gradients", dict(model=Fresh(_mlp), x=Fresh(lambda: _x(6)), y=Fresh(lambda: _y(6)))),
    Call(S + "clip_and_sum", dict(per_example=Fresh(_per_example), l2_norm_clip=1.0), kinds={"per_example": "array"},
         # a clipping norm nothing reaches: the plain sum; a bare ndarray is one variable (documented)
         accepts={"l2_norm_clip": HUGE, "per_example": {"extra_axis"}}),
    Call(S + "add_gaussian_noise", dict(summed=Fresh(_summed), l2_norm_clip=1.0, noise_multiplier=1.1, rng=Fresh(_rng)),
         kinds={"summed": "array"},
         # sigma 0: no noise (the non-private reference); huge noise is a valid, useless release
         # a bare ndarray is one variable, possibly with no coordinates (documented)
         accepts={"noise_multiplier": {"zero", "huge"}, "l2_norm_clip": HUGE, "summed": {"empty", "extra_axis"}}),
    Call(S + "noisy_gradient", dict(per_example=Fresh(_per_example), l2_norm_clip=1.0, noise_multiplier=1.1,
                                    expected_batch_size=6, rng=Fresh(_rng)), kinds={"per_example": "array"},
         # sigma 0: clipped SGD; huge clip: nothing clipped, huge noise or batch: valid, useless; a bare ndarray is
         # one variable, and an empty batch (zero rows) gives the noise alone (documented)
         accepts={"noise_multiplier": {"zero", "huge"}, "l2_norm_clip": HUGE, "expected_batch_size": {"huge"},
                  "per_example": {"empty", "extra_axis"}}),
    Call(S + "dpsgd_step", dict(model=Fresh(_mlp), x=Fresh(lambda: _x(6)), y=Fresh(lambda: _y(6)), l2_norm_clip=1.0,
                                noise_multiplier=1.1, learning_rate=0.1, rng=Fresh(_rng), expected_batch_size=6),
         # None: len(x); a huge expected batch size is a tiny (valid) step
         accepts={"noise_multiplier": {"zero"}, "expected_batch_size": {"none", "huge"}}),
    Call(S + "ghost_clipped_sum", dict(model=Fresh(_mlp), x=Fresh(_x), y=Fresh(_y), l2_norm_clip=1.0, conv_norms="auto"),
         accepts={"l2_norm_clip": HUGE}, kinds={"conv_norms": "choice"}),  # nothing clipped
    Call(S + "train_dpsgd", dict(model=Fresh(_mlp), x=Fresh(_x), y=Fresh(_y), epochs=1, batch_size=8, l2_norm_clip=1.0,
                                 noise_multiplier=1.1, learning_rate=0.1, sampling="poisson", seed=0,
                                 progress=None, num_examples=24),
         kinds={"seed": "rng"}, skip={"progress": "a callback"},
         accepts={"noise_multiplier": {"zero"},  # sigma 0 with clipping: clipped SGD, documented
                  "seed": {"none"}, "num_examples": {"none"}}),
    Call(S + "check_microbatches", dict(num_examples=24, batch_size=8, num_microbatches=4),
         accepts={"num_examples": {"huge"}}),  # 8 divides every batch of 10^9 examples
    Call(S + "source_document_noise", dict(data=Fresh(_x), epsilon=1.0, rng=Fresh(_rng)), accepts={"epsilon": HUGE}),
    Call(S + "train_on_noisy_inputs", dict(x=Fresh(_x), y=Fresh(_y), epsilon=1.0, num_classes=2, epochs=1,
                                           batch_size=8, learning_rate=0.02, hidden=(4,), seed=0),
         kinds={"hidden": "array"}, accepts={"hidden": {"empty"}, "seed": {"zero"}, "epsilon": HUGE}),
    Call(S + "tradeoff_at", dict(sweep=Fresh(_sweep), target_epsilon=2.0), skip={"config": "a dataclass"}),
    Call(S + "TrainResult.epsilon", dict(delta=1e-5, accountant="rdp"),
         self_kwargs=dict(model=None, num_examples=24, batch_size=8, epochs=1, steps=3, sampling="poisson",
                          noise_multiplier=1.1, l2_norm_clip=1.0, learning_rate=0.1)),
    # ---- auditing (05)
    # stacks (models, n, classes) are documented
    Call(U + "cross_entropy", dict(logits=Fresh(_logits), labels=Fresh(_labels)), accepts={"logits": {"extra_axis"}}),
    Call(U + "scaled_confidence", dict(logits=Fresh(_logits), labels=Fresh(_labels)),
         accepts={"logits": {"extra_axis"}}),
    Call(U + "roc_curve", dict(scores=Fresh(_scores), members=Fresh(_members)), kinds={"members": "array"}),
    Call(U + "auc", dict(fpr=np.array([0.0, 0.5, 1.0]), tpr=np.array([0.0, 0.8, 1.0]))),
    Call(U + "auc_ci", dict(scores=Fresh(_scores), members=Fresh(_members), alpha=0.05), kinds={"members": "array"}),
    Call(U + "indistinguishable", dict(a=(0.1, 0.3), b=(0.2, 0.4))),
    Call(U + "tpr_at_fpr", dict(fpr=np.array([0.0, 0.5, 1.0]), tpr=np.array([0.0, 0.8, 1.0]), max_fpr=0.01),
         accepts={"max_fpr": {"zero"}}),  # TPR at FPR 0 is defined
    Call(U + "loss_threshold_attack", dict(logits=Fresh(_logits), labels=Fresh(_labels), members=Fresh(_members),
                                           name="loss threshold"),
         kinds={"members": "array"}, accepts={"name": {"unknown", "number"}}),  # a free label
    Call(U + "lira_scores", dict(target_conf=np.linspace(-1, 1, 20), shadow_conf=Fresh(lambda: _shadows().conf),
                                 shadow_in=Fresh(lambda: _shadows().members), global_variance=True),
         kinds={"shadow_in": "array"}),
    Call(U + "leave_one_out_attacks", dict(shadows=Fresh(_shadows), global_variance=True)),
    Call(U + "clopper_pearson", dict(successes=3, trials=10, alpha=0.05),
         accepts={"successes": {"zero"}, "trials": {"huge"}}),  # valid outcomes
    Call(U + "epsilon_lower_bound", dict(true_positives=30, positives=50, false_positives=2, negatives=50, delta=1e-5,
                                         alpha=0.05),
         # valid counts (no hit, no false alarm, a huge number of guesses); delta 0 is pure DP
         accepts={"true_positives": {"zero"}, "false_positives": {"zero"}, "positives": {"huge"},
                  "negatives": {"huge"}, "delta": {"zero"}}),
    Call(U + "empirical_epsilon", dict(scores=Fresh(_scores), members=Fresh(_members), delta=1e-5, alpha=0.05, seed=0),
         kinds={"members": "array", "seed": "rng"}),
    Call(U + "dp_tpr_bound", dict(fpr=np.array([0.0, 0.1, 1.0]), epsilon=1.0, delta=1e-5),
         accepts={"epsilon": {"zero", "inf", "huge"},  # eps 0 / inf (documented) are the two ends of the bound
                  "delta": {"zero"},  # pure DP
                  "fpr": {"empty", "scalar", "extra_axis"}}),  # elementwise over any shape (documented)
    Call(U + "dpsgd_trainer", dict(x=Fresh(_x), y=Fresh(_y), num_classes=2, hidden=(4,), epochs=1, batch_size=4,
                                   l2_norm_clip=1.0, noise_multiplier=1.1, learning_rate=0.1, sampling="poisson",
                                   num_examples=12),
         kinds={"hidden": "array"},
         # () is a linear model; no clipping (None) with sigma 1.1 is refused when training starts, as in train_dpsgd
         accepts={"noise_multiplier": {"zero"}, "num_examples": {"none"}, "hidden": {"empty"}}),
    Call(U + "train_shadow_set", dict(labels=Fresh(_labels), train_logits=lambda idx, seed: _logits(), num_models=3,
                                      seed=0, progress=None),
         skip={"train_logits": "a callback", "progress": "a callback"}, kinds={"seed": "rng"}),
    # ---- plots
    # ---- the canary audit (05, labkit.dp.canary)
    Call("labkit.dp.canary:broken_noisy_gradient", dict(per_example=Fresh(_per_example), l2_norm_clip=1.0,
         noise_multiplier=1.0, expected_batch_size=6, rng=Fresh(_rng)), accepts={"noise_multiplier": {"zero", "huge"},
         "l2_norm_clip": {"huge"}, "expected_batch_size": {"huge"}}),  # sigma 0: no noise (documented); huge: valid
    Call("labkit.dp.canary:canary_step_scores", dict(per_example=np.random.default_rng(4).normal(size=(6, 3)),
         canary=np.array([5.0, 0.0, 0.0]), l2_norm_clip=1.0, noise_multiplier=1.0, trials=50, rng=Fresh(_rng),
         implementation="correct"), accepts={"noise_multiplier": {"huge"}, "l2_norm_clip": {"huge"}}),
    Call("labkit.dp.canary:step_score", dict(update=np.array([1.0, 2.0, 3.0]), known_sum=np.array([0.0, 1.0, 0.0]),
         canary_direction=np.array([1.0, 0.0, 0.0]), l2_norm_clip=1.0), accepts={"l2_norm_clip": {"huge"}}),
    Call("labkit.dp.canary:canary_epsilon", dict(scores_in=np.linspace(0.5, 2.5, 60), scores_out=np.linspace(-1, 1, 60),
         delta=1e-5, alpha=0.05, selection=0.2, seed=0),
         accepts={"delta": {"zero"}, "seed": {"zero", "none", "huge"}}),  # delta 0: pure DP; seed None: OS entropy
    Call("labkit.dp.canary:gaussian_step_epsilon", dict(noise_multiplier=1.0, delta=1e-5, l2_norm_clip=10.0,
         implementation="broken"), accepts={"noise_multiplier": {"huge"}}),  # huge noise: epsilon 0
    Call("labkit.dp.canary:one_run_p_value", dict(num_canaries=100, guesses=20, correct=15, epsilon=1.0, delta=1e-5),
         accepts={"epsilon": {"zero", "huge"}, "correct": {"zero"}, "delta": {"zero"},
                  "num_canaries": {"huge"}}),  # a p-value at eps 0 or huge; 0 right: p = 1; delta 0: pure DP
    Call("labkit.dp.canary:one_run_epsilon", dict(num_canaries=100, guesses=20, correct=15, delta=1e-5, alpha=0.05),
         accepts={"correct": {"zero"}, "delta": {"zero"}, "num_canaries": {"huge"}}),  # no right guess proves nothing: 0
    Call("labkit.dp.canary:one_run_audit", dict(scores=np.linspace(-1, 1, 40), included=np.arange(40) % 2 == 0,
         guesses=10, delta=1e-5, alpha=0.05), kinds={"included": "array"}, accepts={"delta": {"zero"}}),
    Call("labkit.dp.canary:one_run_gaussian_scores", dict(num_canaries=50, noise_multiplier=1.0, rng=Fresh(_rng),
         l2_norm_clip=1.0), accepts={"noise_multiplier": {"huge"}, "l2_norm_clip": {"huge"}}),
    Call("labkit.dp.canary:canary_audit_point", dict(noise_multiplier=2.0, trials=1000, implementation="correct",
         l2_norm_clip=10.0, delta=1e-5, alpha=0.05, seed=0), accepts={"l2_norm_clip": {"huge"}, "seed": {"zero", "huge"}}),
    Call(P + "plot_canary_scores", dict(ax=Fresh(_ax), scores_in=np.linspace(0, 2, 50), scores_out=np.linspace(-1, 1, 50),
         threshold=1.0, title=""), accepts={"threshold": {"negative", "zero", "huge", "none"}, "title": {"unknown"}}, skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_canary_bounds", dict(ax=Fresh(_ax), noise_multipliers=np.array([1.0, 2.0]),
         accountant=np.array([4.4, 2.0]), lower=np.array([3.5, 1.6]), broken_lower=np.array([9.0, 8.0]), claimed=1.0),
         accepts={"broken_lower": {"none"}, "claimed": {"none", "huge"}}, skip={"ax": "a matplotlib Axes"}),
    # ---- attacks on aggregates (01, 02, labkit.dp.reconstruction)
    Call(RC + "differencing_success", dict(epsilon=1.0), accepts={"epsilon": {"inf", "huge"}}),  # inf: exact counts
    Call(RC + "simulate_differencing", dict(epsilon=1.0, trials=100, rng=Fresh(_rng), others=5),
         accepts={"epsilon": {"inf", "huge"}, "others": {"zero", "huge"}}),  # nobody else / a huge count are valid
    Call(RC + "hidden_bits", dict(num_people=10, prevalence=0.3, rng=Fresh(_rng))),
    Call(RC + "subset_queries", dict(num_people=6, num_queries=12, rng=Fresh(_rng))),
    Call(RC + "answer_queries", dict(queries=_subsets(), bits=_secret(), noise_scale=1.0, rng=Fresh(_rng)),
         accepts={"noise_scale": {"zero"}}),  # 0: exact answers
    Call(RC + "reconstruct_least_squares", dict(queries=_subsets(), answers=_subsets() @ _secret())),
    Call(RC + "reconstruct_lp", dict(queries=_subsets(), answers=_subsets() @ _secret())),
    Call(RC + "reconstruct_brute_force", dict(queries=_subsets(), answers=_subsets() @ _secret(), norm="l1")),
    Call(RC + "recovered_share", dict(guess=np.array([0, 1, 1, 0, 1, 0]), bits=_secret())),
    Call(RC + "majority_share", dict(bits=_secret())),
    Call(RC + "reconstruction_point", dict(noise_scale=1.0, num_people=10, num_queries=20, num_seeds=2, prevalence=0.3,
                                           delta=1e-5), accepts={"noise_scale": {"zero"}}),  # 0: exact answers
    Call(RC + "reconstruction_curve", dict(noise_scales=np.array([0.5, 2.0]), num_people=10, num_queries=20, num_seeds=2,
                                           prevalence=0.3)),
    Call(P + "plot_differencing", dict(ax=Fresh(_ax), epsilons=np.array([0.5, 1.0]), success=np.array([0.56, 0.62]),
                                       bound=np.array([0.62, 0.73]), sim_epsilons=np.array([1.0]), simulated=np.array([0.62]),
                                       standard_errors=np.array([0.01])), skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_recovery_vs_queries", dict(ax=Fresh(_ax), num_queries=np.array([10.0, 20.0]),
                                              shares={"least squares": np.array([[0.7, 1.0], [0.8, 1.0]])},
                                              majority=np.array([0.7, 0.6]), num_people=10), skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_reconstruction", dict(ax=Fresh(_ax), curve=Fresh(_curve), point=None, lp_scales=np.array([1.0]),
                                         lp_recovered=np.array([[0.9], [1.0]])), accepts={"point": {"none"}},
         skip={"ax": "a matplotlib Axes"}),
    Call(W + "reconstruction_widget", dict(noise_scale=3.0, num_queries=100, num_people=10, num_seeds=2),
         accepts={"noise_scale": HUGE}),  # shown at the slider's end, with a note
    Call(W + "canary_audit_widget", dict(noise_multiplier=2.0, trials=10_000, implementation="correct", l2_norm_clip=10.0,
         delta=1e-5), accepts={"noise_multiplier": {"huge"}, "l2_norm_clip": {"huge"}}, timeout=60.0),
    Call(P + "plot_composition", dict(ax=Fresh(_ax), ks=np.array([1, 2, 3]), curves={"basic": np.array([1.0, 2, 3])}),
         skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_epsilon_bounds", dict(ax=Fresh(_ax), labels=["a", "b"], upper=[2.0, 3.0], lower=[0.5, 1.0],
                                         point=[1.0, 2.0]),
         skip={"ax": "a matplotlib Axes", "labels": "free text"},
         # inf upper bound: "none" is written; an infinite point estimate is capped at 20 (documented)
         accepts={"point": {"none", "inf_entry"}, "upper": {"inf_entry"}}),
    Call(P + "plot_epsilon_over_steps", dict(ax=Fresh(_ax), dashboard=Fresh(_dashboard)),
         skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_gradient_norms", dict(ax=Fresh(_ax), norms=np.array([0.5, 1.5, 2.0]), l2_norm_clip=1.0),
         skip={"ax": "a matplotlib Axes"}, accepts={"l2_norm_clip": HUGE}),  # nothing clipped: 0%
    Call(P + "plot_log_ratio", dict(ax=Fresh(_ax), centres=np.array([0.1, 0.2]), log_ratios=np.array([0.5, 0.7]),
                                    epsilon=1.0, label="measured"),
         skip={"ax": "a matplotlib Axes", "label": "free text"},
         # any band |log ratio| <= epsilon can be drawn; NaN marks a sparse bin (histogram_log_ratio), left out
         accepts={"epsilon": {"zero", "huge"}, "log_ratios": {"nan_entry"}}),
    Call(P + "plot_noise_calibration", dict(ax=Fresh(_ax), calib=Fresh(_calib)), skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_roc", dict(ax=Fresh(_ax), results=Fresh(_attack), epsilon=1.0, delta=1e-5, title=""),
         skip={"ax": "a matplotlib Axes", "title": "free text"},
         # None / inf: no DP limit drawn (documented); 0 and huge epsilons are valid limits
         accepts={"epsilon": {"none", "inf", "zero", "huge"}, "delta": {"zero"}}),
    Call(P + "plot_sigma_vs_epsilon", dict(ax=Fresh(_ax), epsilons=np.array([0.5, 1.0]), classic=np.array([5.0, 3.0]),
                                           analytic=np.array([4.0, 2.5]), delta=1e-5),
         skip={"ax": "a matplotlib Axes"}),
    Call(P + "plot_tradeoff", dict(ax=Fresh(_ax), sweep=Fresh(_sweep), point=None, live=()),
         skip={"ax": "a matplotlib Axes", "point": "a TradeoffPoint or None", "live": "optional points"}),
    Call(P + "plot_unique_by_zip", dict(ax=Fresh(_ax), zip_sizes=np.array([100.0, 1000.0]),
                                        unique_share=np.array([0.9, 0.5]), theory_n=None, theory=None),
         skip={"ax": "a matplotlib Axes", "theory_n": "optional", "theory": "optional"}),
    # ---- widgets
    # Out-of-range values are moved into the slider's range, and the status line says so (documented).
    Call(W + "accountant_widget", dict(sampling_probability=0.01, noise_multiplier=1.1, steps=100, delta=1e-5),
         accepts={"noise_multiplier": HUGE, "steps": {"huge"}}),
    Call(W + "noise_calibration_widget", dict(epsilon=1.0, sensitivity=1.0, true_count=100),
         accepts={"epsilon": HUGE, "sensitivity": HUGE, "true_count": {"huge"}}),
    Call(W + "tradeoff_explorer", dict(target_epsilon=2.0, sweep=Fresh(_sweep)),
         accepts={"target_epsilon": HUGE, "sweep": {"none"}}),  # None loads the stored sweep
]

EXCLUDED = {
    "labkit.dp.canary:CanaryScores": "a result dataclass (built by canary_step_scores)",
    "labkit.dp.canary:CanaryAudit": "a result dataclass (built by canary_epsilon)",
    "labkit.dp.canary:OneRunAudit": "a result dataclass (built by one_run_audit)",
    "labkit.dp.canary:CanaryAuditPoint": "a result dataclass (built by canary_audit_point)",
    "labkit.dp.audit:AttackResult": "a result dataclass (built by loss_threshold_attack / leave_one_out_attacks)",
    "labkit.dp.audit:EpsilonLowerBound": "a result dataclass (built by empirical_epsilon)",
    "labkit.dp.audit:ShadowSet": "a result dataclass (built by train_shadow_set)",
    "labkit.dp.deid:LinkageResult": "a result dataclass (built by link)",
    "labkit.dp.deid:Population": "a result dataclass (built by synthetic_population)",
    "labkit.dp.deid:Table": "a display dataclass (built by medical_records / voter_list)",
    "labkit.dp.reconstruction:ReconstructionPoint": "a result dataclass (built by reconstruction_point)",
    "labkit.dp.reconstruction:ReconstructionCurve": "a result dataclass (built by reconstruction_curve)",
    "labkit.dp.mechanisms:EmpiricalEpsilon": "a result dataclass",
    "labkit.dp.mechanisms:NoiseCalibration": "a result dataclass (built by noise_calibration)",
    "labkit.dp.accounting:AccountantDashboard": "a result dataclass (built by accountant_dashboard)",
    "labkit.dp.dpsgd:TradeoffConfig": "a frozen recipe of constants (the precomputed sweep's)",
    "labkit.dp.dpsgd:TradeoffPoint": "a result dataclass (built by tradeoff_at)",
    "labkit.dp.dpsgd:TrainResult": "a result dataclass (built by train_dpsgd); its epsilon method is walked",
    "labkit.dp.dpsgd:load_tradeoff_sweep": "no arguments (loads a verified data file)",
    "labkit.dp.dpsgd:fit_tf_privacy": "minutes per call with tensorflow-privacy; its checks are the shared ones "
                                      "(_features_labels, _validate), covered by train_dpsgd",
    "labkit.dp.dpsgd:train_point": "the sweep builder's inner step; train_dpsgd and dpsgd_noise_multiplier are walked",
    "labkit.dp.dpsgd:train_tradeoff_point": "trains on the full digits set (tens of seconds); its arguments go "
                                            "through dpsgd_noise_multiplier and train_dpsgd, which are walked",
    "labkit.dp.plots:update_tradeoff": "redraws the Axes plot_tradeoff made; walked through plot_tradeoff",
}

# Specs of further modules, one file per topic (calls_dp_<topic>.py beside this one).
CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS, EXCLUDED)
