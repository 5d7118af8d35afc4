"""Bad-input campaign specs for labkit.smpc.comparison and its plot (see tests/campaign.py).

The MPyC calls use tiny settings (2 entries, 1 repeat, no delay), so a bad value that is accepted
as documented (a seed of None, a latency of 0) starts three party processes for about two seconds.
"""

import numpy as np

from campaign import Call, Fresh


def _model():
    from labkit.smpc.comparison import TinyMLP

    rng = np.random.default_rng(0)
    return TinyMLP(rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2))


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


X = np.array([[0.1, 0.2, 0.3, 0.4]])

CALLS = [
    Call("labkit.smpc.comparison:mpyc_operation_costs",
         dict(length=2, repeats=1, n_parties=3, latency=0.0, types=("int",), bit_length=16, frac_length=4, seed=0,
              timeout=60.0),
         kinds={"types": "object", "seed": "rng"},
         # latency 0 skips the round count; seed None draws the inputs from OS entropy (both documented)
         accepts={"latency": {"zero"}, "seed": {"none"}}, timeout=90.0),
    Call("labkit.smpc.comparison:mpyc_mlp_inference",
         dict(model=Fresh(_model), x=X, repeats=1, n_parties=3, latency=0.0, bit_length=32, frac_length=16,
              timeout=60.0),
         accepts={"latency": {"zero"}}, timeout=90.0),  # latency 0 skips the round count (documented)
    Call("labkit.smpc.comparison:train_digits_mlp", dict(hidden=4, steps=2, learning_rate=0.5, seed=0),
         kinds={"seed": "rng"}, accepts={"seed": {"none"}}),  # seed None: OS entropy (documented)
    Call("labkit.smpc.comparison:fixed_point_error_bound", dict(model=Fresh(_model), x=X, frac_length=16)),
    Call("labkit.smpc.comparison:TinyMLP.scores", dict(x=X), self_kwargs=dict(
        w1=np.ones((4, 3)), b1=np.zeros(3), w2=np.ones((3, 2)), b2=np.zeros(2))),
    Call("labkit.smpc.comparison:TinyMLP.hidden", dict(x=X), self_kwargs=dict(
        w1=np.ones((4, 3)), b1=np.zeros(3), w2=np.ones((3, 2)), b2=np.zeros(2))),
    Call("labkit.smpc.plots:plot_mpyc_costs", dict(ax=Fresh(_ax), labels=["add", "lt"], seconds=[1e-4, 0.05],
                                                   rounds=[0.0, 9.0], title=""),
         kinds={"labels": "object"}, skip={"ax": "a matplotlib Axes", "title": "any text"},
         accepts={"rounds": {"zero"}}),  # no rounds (addition) is the point of the figure
]

EXCLUDED = {
    "labkit.smpc.comparison:OperationCosts": "a result dataclass of mpyc_operation_costs",
    "labkit.smpc.comparison:SecureInference": "a result dataclass of mpyc_mlp_inference",
    "labkit.smpc.comparison:TinyMLP": "a weights dataclass built by train_digits_mlp (its methods are walked)",
    "labkit.smpc.comparison:costs_sweep": "the make data builder of sweeps/smpc_mpyc_costs.json (minutes of MPyC runs)",
}
