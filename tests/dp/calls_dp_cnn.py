"""Bad-input campaign specs for the CNN part of labkit.dp.dpsgd (issue 16, item 2; see tests/campaign.py).

The existing ``labkit.dp.dpsgd:ghost_clipped_sum`` and ``train_dpsgd`` specs (calls_dp.py) cover the trainer's
arguments; this file adds the functions that came with Conv2D support and the MNIST-28 sweep.
"""

from campaign import Call, Fresh

S = "labkit.dp.dpsgd:"


def _cnn():
    from labkit.dp.dpsgd import make_cnn

    return make_cnn(10, seed=0)


CALLS = [
    Call(S + "make_cnn", dict(num_classes=10, seed=0), accepts={"seed": {"zero"}}, timeout=60.0),  # 0 is a seed (60 s: the first call loads TensorFlow)
    Call(S + "trainer_layers", dict(model=Fresh(_cnn)), timeout=60.0),
    Call(S + "make_sweep_model", dict(kind="cnn", seed=0, config=None), kinds={"kind": "choice", "config": "object"},
         accepts={"seed": {"zero"}, "config": {"none"}}, timeout=60.0),  # 0 is a seed; None is the default recipe (documented)
]

EXCLUDED = {
    "labkit.dp.dpsgd:CnnSweepConfig": "a frozen recipe of constants (the precomputed CNN sweep's)",
    "labkit.dp.dpsgd:load_cnn_sweep": "no arguments (loads a verified data file)",
    "labkit.dp.dpsgd:cnn_sweep": "the make-data builder (minutes); its points go through train_cnn_point",
    "labkit.dp.dpsgd:train_cnn_point": "trains 15 epochs on MNIST-28 (tens of seconds); its arguments go through "
                                       "dpsgd_noise_multiplier, reinitialize and train_dpsgd, which are walked",
}
