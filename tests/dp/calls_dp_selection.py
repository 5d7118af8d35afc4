"""Bad-input campaign specs for labkit.dp.selection, the privacy cost of tuning (see tests/campaign.py).

Every call is small: a few Renyi orders, a three-output mechanism, one DP-SGD accounting of 50 steps.
"""

import numpy as np

from campaign import Call, Fresh

SEL = "labkit.dp.selection:"


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _cost():
    from labkit.dp.selection import tuning_cost

    return tuning_cost(0.1, 1.0, 50, 1e-5, expected_runs=(1, 2), etas=(1.0,))


ORDERS = np.array([1.5, 2.0, 4.0, 8.0])
RDP = np.array([0.1, 0.2, 0.4, 0.8])
P3 = np.array([0.5, 0.3, 0.2])
Q3 = np.array([0.3, 0.3, 0.4])

CALLS = [
    # eta: 0 is the logarithmic distribution and negative values down to -1 (open) are valid shapes
    Call(SEL + "truncated_negative_binomial_mean", dict(eta=1.0, gamma=0.25),
         accepts={"eta": {"zero", "negative"}}),
    # mean 1 is K = 1 surely; huge (> 1e6) is rejected
    Call(SEL + "truncated_negative_binomial_gamma", dict(eta=1.0, mean=4.0), accepts={"eta": {"zero", "negative"}}),
    # counts 0 have probability e^-mean (Poisson); eta None is Poisson
    Call(SEL + "repetitions_pmf", dict(counts=np.array([0.0, 1.0, 2.0]), mean=3.0, eta=1.0),
         accepts={"eta": {"zero", "negative", "none"}, "counts": {"scalar", "empty"}}),
    Call(SEL + "repetitions_pgf", dict(x=np.array([0.0, 0.5, 1.0]), mean=3.0, eta=1.0, fixed=False),
         accepts={"eta": {"zero", "negative", "none"}, "x": {"scalar"}},
         kinds={"fixed": "object"}),
    Call(SEL + "best_of_runs_rdp", dict(orders=ORDERS, rdp=RDP, mean=3.0, eta=1.0),
         accepts={"eta": {"zero", "negative", "none"}}),
    Call(SEL + "best_of_runs_distribution", dict(pmf=P3, mean=3.0, eta=1.0, fixed=False),
         accepts={"eta": {"zero", "negative", "none"}}, kinds={"fixed": "object"}),
    # order 1 is the KL divergence; a mechanism whose laws differ can have divergence inf (documented)
    Call(SEL + "renyi_divergence", dict(p=P3, q=Q3, order=2.0)),
    Call(SEL + "discrete_rdp", dict(p=P3, q=Q3, orders=ORDERS), accepts={"orders": {"scalar"}}),
    Call(SEL + "discrete_delta", dict(p=P3, q=Q3, epsilon=0.1), accepts={"epsilon": {"zero", "huge"}}),
    Call(SEL + "discrete_epsilon", dict(p=P3, q=Q3, delta=1e-5)),
    Call(SEL + "tuning_cost", dict(sampling_probability=0.1, noise_multiplier=1.0, steps=50, delta=1e-5,
                                   expected_runs=np.array([1.0, 2.0]), etas=np.array([0.0, 1.0])),
         # etas: none requested is a valid (empty) table; 0 and negative shapes above -1 are valid
         accepts={"etas": {"empty", "scalar"}, "expected_runs": {"scalar"}}),
    Call(SEL + "plot_tuning_cost", dict(ax=Fresh(_ax), cost=Fresh(_cost)), skip={"ax": "a matplotlib Axes"}),
]

EXCLUDED = {
    "labkit.dp.selection:TuningCost": "a result dataclass (built by tuning_cost)",
}
