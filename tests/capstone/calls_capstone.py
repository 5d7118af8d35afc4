"""Bad-input campaign specs for labkit.capstone (see tests/campaign.py)."""

import numpy as np

import campaign
from campaign import Call, Fresh

_R = np.random.default_rng(0)
X = _R.normal(size=(100, 3))
Y = np.array([0, 1] * 50)
XT, YT = X[:10], Y[:10]


def _hospitals():
    from labkit.capstone import HOSPITALS, make_hospitals
    return make_hospitals(X, Y, HOSPITALS, seed=0)


def _hospital():
    return _hospitals()[0]


def _training():
    from labkit.capstone import LocalTraining
    return LocalTraining(1.0, 4, 0.1)


def _dp():
    from labkit.capstone import RecordDP
    return RecordDP(3.0, 1e-5, 1.0)


def _config(dp=False):
    from labkit.capstone import Configuration, RecordDP
    return Configuration("c", "(c)", "plain", RecordDP() if dp else None)


def _rng():
    return np.random.default_rng(0)


def _run():
    from labkit.capstone import run_federation
    return run_federation(_hospitals(), _config(), XT, YT, rounds=1, seed=0)


def _attack():
    from labkit.capstone import membership_audit
    return membership_audit(np.zeros(4), X[10:], Y[10:], XT, YT)


def _ax():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots()[1]


def _secure_sum(updates, rng):
    """A pairwise-masked sum (the solution of exercise 10.1), for the campaign of SecureSumAggregator."""
    from labkit.smpc import decode, encode, random_ring
    messages = [encode(u) for u in updates]
    for i in range(len(updates)):
        for j in range(i + 1, len(updates)):
            mask = random_ring(len(updates[0]), rng)
            messages[i], messages[j] = messages[i] + mask, messages[j] - mask
    return messages, decode(np.sum(messages, axis=0, dtype=np.uint64))


def _row():
    from labkit.capstone import cost_row
    return cost_row(_run(), _attack())


CALLS = [
    Call("labkit.capstone.federation:apportion", dict(total=10, weights=[1.0, 2.0, 3.0]),
         accepts={"total": {"zero", "huge"}}),  # 0 records split: all zero; 10^9 splits as fast
    Call("labkit.capstone.federation:hospital_partition", dict(labels=Y, specs=Fresh(lambda: __import__(
        "labkit.capstone", fromlist=["x"]).HOSPITALS), seed=0),
         accepts={"seed": {"zero", "huge"}}),  # any seed >= 0
    Call("labkit.capstone.federation:HospitalSpec", dict(name="h", share=0.5, malignant_share=0.3),
         accepts={"name": {"unknown"}, "malignant_share": {"zero"}}),  # any label; a clinic may see no malignant case
    Call("labkit.capstone.federation:Hospital", dict(name="h", x=X, y=Y, nominal_size=40),
         accepts={"name": {"unknown"}, "nominal_size": {"none", "huge"}}, kinds={"y": "array"}),
    # any label; None = the true size; the announced size is the hospital's public choice
    Call("labkit.capstone.federation:make_hospitals", dict(x=X, y=Y, specs=Fresh(lambda: __import__(
        "labkit.capstone", fromlist=["x"]).HOSPITALS), seed=0),
         accepts={"seed": {"zero", "huge"}}),  # any seed >= 0
    Call("labkit.capstone.federation:model_for", dict(hospitals=Fresh(_hospitals))),
    Call("labkit.capstone.federation:two_class_logits", dict(params=np.zeros(4), x=XT)),
    Call("labkit.capstone.federation:LocalTraining", dict(epochs=1.0, batch_size=4, learning_rate=0.1),
         accepts={"batch_size": {"huge"}, "learning_rate": {"huge"}}),
    # any batch size (checked against each hospital's size by local_steps); any finite step size
    Call("labkit.capstone.federation:RecordDP", dict(target_epsilon=3.0, delta=1e-5, l2_norm_clip=1.0),
         accepts={"target_epsilon": {"huge"}, "l2_norm_clip": {"huge"}}),
    # any finite positive target is a valid request; one no noise level can meet is refused when the noise is
    # calibrated (hospital_noise_multipliers names target_epsilon); any finite clip
    Call("labkit.capstone.federation:local_steps", dict(hospital=Fresh(_hospital), training=Fresh(_training))),
    Call("labkit.capstone.federation:sampling_probability", dict(hospital=Fresh(_hospital), training=Fresh(_training))),
    Call("labkit.capstone.federation:hospital_update", dict(hospital=Fresh(_hospital), training=Fresh(_training),
                                                            noise_multiplier=1.0, l2_norm_clip=1.0),
         accepts={"noise_multiplier": {"none"}, "l2_norm_clip": {"huge"}}),
    # None = no DP; a DP update's noise must lie in (0, 1e4], where hospital_epsilons can account for it
    Call("labkit.capstone.federation:local_update", dict(params=np.zeros(4), hospital=Fresh(_hospital),
                                                         training=Fresh(_training), rng=Fresh(_rng),
                                                         noise_multiplier=1.0, l2_norm_clip=1.0),
         accepts={"noise_multiplier": {"none"}, "l2_norm_clip": {"huge"}}),
    # None = no DP; a DP update's noise must lie in (0, 1e4], where hospital_epsilons can account for it
    Call("labkit.capstone.federation:hospital_noise_multipliers",
         dict(hospitals=Fresh(_hospitals), training=Fresh(_training), dp=Fresh(_dp), rounds=2)),
    Call("labkit.capstone.federation:hospital_epsilons",
         dict(hospitals=Fresh(_hospitals), training=Fresh(_training), noise_multipliers=[1.0, 1.0, 1.0, 1.0],
              delta=1e-5, steps=[5, 5, 5, 5])),
    Call("labkit.capstone.federation:Configuration", dict(key="a", label="(a)", aggregation="plain", dp=None),
         accepts={"key": {"unknown"}, "label": {"unknown"}, "dp": {"none"}}),  # free labels; None = no DP
    Call("labkit.capstone.federation:FederationRun.accuracy_interval.fget", dict(self=Fresh(_run)),
         skip={"self": "the property's run itself (a FederationRun built by run_federation); no argument to walk"}),
    Call("labkit.capstone.federation:accuracy_interval", dict(accuracy=0.9, records=100, alpha=0.05),
         accepts={"accuracy": {"zero"}, "records": {"huge"}}),  # an accuracy of 0 has an interval; any count
    Call("labkit.capstone.federation:run_federation",
         dict(hospitals=Fresh(_hospitals), config=Fresh(_config), x_test=XT, y_test=YT, rounds=1,
              training=Fresh(_training), seed=0, keys=None, crypto_rng=None, aggregator=None),
         accepts={"training": {"none"}, "keys": {"none"}, "crypto_rng": {"none"}, "seed": {"zero", "none", "huge"},
                  "aggregator": {"none"}},
         # defaults; seed None = OS entropy, any seed >= 0; aggregator None = the configuration's
         kinds={"y_test": "array", "crypto_rng": "rng", "aggregator": "object"}),
    Call("labkit.capstone.federation:SecureSumAggregator", dict(secure_sum=_secure_sum, rng=Fresh(_rng)),
         accepts={"rng": {"none"}}, kinds={"secure_sum": "object"}),  # rng None = OS entropy
    Call("labkit.capstone.federation:SecureSumAggregator.__call__",
         dict(updates=[np.full(3, 0.1), np.full(3, 0.2)], params=np.zeros(3)),
         self_kwargs=dict(secure_sum=_secure_sum, rng=Fresh(_rng)), accepts={"params": {"none"}},
         kinds={"updates": "array"}),  # params only checks the shape; None skips it
    Call("labkit.capstone.federation:membership_audit",
         dict(params=np.zeros(4), x_train=X[10:], y_train=Y[10:], x_test=XT, y_test=YT)),
    Call("labkit.capstone.federation:cost_row", dict(run=Fresh(_run), attack=Fresh(_attack))),
    Call("labkit.capstone.federation:CostTable.cells", dict(), self_kwargs=dict(rows=Fresh(lambda: (_row(),)))),
    Call("labkit.capstone.plots:plot_hospitals", dict(ax=Fresh(_ax), hospitals=Fresh(_hospitals))),
    Call("labkit.capstone.plots:plot_accuracy_by_round", dict(ax=Fresh(_ax), runs=Fresh(lambda: [_run()]),
                                                              centralised=0.9),
         accepts={"centralised": {"none", "zero"}}),  # optional line; a line at 0
    Call("labkit.capstone.plots:plot_costs", dict(ax=Fresh(_ax), rows=Fresh(lambda: [_row()]), seconds=[1.0]),
         accepts={"seconds": {"none"}}),  # optional annotation
]

EXCLUDED = {
    "labkit.capstone.federation:CostRow": "a result dataclass (built by cost_row, walked)",
    "labkit.capstone.federation:FederationRun": "a result dataclass (built by run_federation, walked)",
    "labkit.capstone.federation:CostTable": "a result table (its cells are walked)",
}

# Specs of further modules, one file per topic (calls_capstone_<topic>.py beside this one).
CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS, EXCLUDED)
