"""Bad-input campaign specs for labkit.dp (see tests/campaign.py)."""

import numpy as np

from campaign import Call, Fresh

CALLS = [
    Call("labkit.dp:laplace_mechanism", dict(value=3.0, sensitivity=1.0, epsilon=1.0, rng=Fresh(lambda: np.random.default_rng(0))),
         accepts={"value": {"negative", "zero", "huge"}}),  # any real count or sum may be released
    Call("labkit.dp:dpsgd_steps", dict(num_examples=1000, batch_size=100, epochs=2.0)),
]
