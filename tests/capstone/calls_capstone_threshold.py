"""Bad-input campaign specs for the capstone's threshold-Paillier aggregation, configuration (b') (see tests/campaign.py)."""

import functools

import numpy as np

from campaign import Call, Fresh


@functools.lru_cache(maxsize=None)
def _keys():
    from labkit.he import paillier

    return paillier.generate_keypair(256, insecure_demo=True, rng=np.random.default_rng(0))


def _shares():
    from labkit.he import threshold

    return threshold.split_key(_keys()[1], 3, 2, rng=np.random.default_rng(1))


def _self():
    return dict(public_key=Fresh(lambda: _keys()[0]), shares=Fresh(_shares), rng=Fresh(lambda: np.random.default_rng(2)))


CALLS = [
    Call("labkit.capstone.federation:ThresholdPaillierAggregation", _self(),
         accepts={"rng": {"none"}}),  # rng None = OS entropy
    Call("labkit.capstone.federation:ThresholdPaillierAggregation.__call__",
         dict(updates=Fresh(lambda: [np.full(3, 0.1), np.full(3, -0.2)]), params=np.zeros(3)),
         self_kwargs=_self(), accepts={"params": {"none"}}),  # params only checks the shape; None skips it
]
