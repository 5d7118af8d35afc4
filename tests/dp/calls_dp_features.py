"""Bad-input campaign specs for labkit.dp.features (see tests/campaign.py).

Every call is small: a 16x16 grid for the scattering transform, a few 28x28 images, a tiny dataset
and one-epoch recipes for the training calls; the figures use the stored sweep.
"""

import numpy as np

from campaign import Call, Fresh

F = "labkit.dp.features:"


def _images(n=2, size=16):
    return np.random.default_rng(0).random((n, size, size))


def _pixels(n=3):
    return np.random.default_rng(1).random((n, 784)).astype(np.float32)


def _bank16():
    from labkit.dp.features import morlet_filter_bank

    return morlet_filter_bank(16)


def _bank44():
    from labkit.dp.features import morlet_filter_bank

    return morlet_filter_bank(44)


class _TinyDS:
    """A stand-in for labkit.data.load("mnist"): 40 train and 20 test rows of 784 pixels."""

    def __init__(self):
        g = np.random.default_rng(2)
        self.x_train = g.random((40, 784)).astype(np.float32)
        self.y_train = np.arange(40) % 10
        self.x_test = g.random((20, 784)).astype(np.float32)
        self.y_test = np.arange(20) % 10


def _tiny_config():
    from labkit.dp.features import FeaturesConfig, Recipe

    r = Recipe(epochs=1, batch_size=8, l2_norm_clip=1.0, learning_rate=0.1, nonprivate_learning_rate=0.1)
    return FeaturesConfig(pixels=r, scatter=r, public=r, cnn=r, pixels_hidden=(4,), public_epochs=1, public_shifts=0)


def _extractor():
    from labkit.dp.features import pretrain_extractor

    g = np.random.default_rng(3)
    return pretrain_extractor(g.random((20, 784)).astype(np.float32), np.arange(20) % 10, epochs=1, batch_size=10)[0]


def _sweep():
    from labkit.dp.features import load_public_sweep

    return load_public_sweep()


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


CALLS = [
    Call(F + "morlet_filter_bank", dict(size=16, J=2, L=8)),
    Call(F + "num_channels", dict(J=2, L=8)),
    Call(F + "scattering", dict(images=Fresh(_images), bank=None, J=2, L=8),
         skip={"bank": "a FilterBank or None; a wrong object is covered by its own check (TypeError naming bank)"}),
    Call(F + "group_normalize", dict(features=Fresh(lambda: np.random.default_rng(4).random((2, 6, 3, 3))), groups=3,
                                     eps=1e-5)),
    Call(F + "scatter_features", dict(x=Fresh(_pixels), groups=27, bank=Fresh(_bank44)),
         accepts={"groups": {"zero"}, "bank": {"none"}},  # 0 = no normalisation; no bank: built (documented)
         timeout=60),
    Call(F + "public_digits", dict(shifts=1, seed=0),
         # no augmentation; any nonnegative integer seeds NumPy's generator (documented)
         accepts={"shifts": {"zero"}, "seed": {"zero", "huge"}}),
    Call(F + "make_extractor_cnn", dict(seed=0), accepts={"seed": {"zero"}}, timeout=60),
    Call(F + "pretrain_extractor", dict(x_public=Fresh(lambda: _pixels(20)), y_public=np.arange(20) % 10, epochs=1,
                                        batch_size=10, learning_rate=1e-3, seed=0),
         accepts={"seed": {"zero"}}, timeout=60),
    Call(F + "extract_features", dict(extractor=Fresh(_extractor), x=Fresh(_pixels)), timeout=60),
    Call(F + "available_methods", dict(config=None),
         skip={"config": "a FeaturesConfig or None; other objects raise TypeError naming config"}),
    Call(F + "method_features", dict(method="pixels", ds=Fresh(_TinyDS), config=None),
         skip={"config": "a FeaturesConfig or None; other objects raise TypeError naming config"}),
    Call(F + "make_method_model", dict(method="pixels", num_features=784, config=Fresh(_tiny_config), seed=0),
         skip={"num_features": "checked by labkit.dp.dpsgd.make_mlp (its own campaign entry)",
               "config": "a FeaturesConfig or None; other objects raise TypeError naming config"},
         accepts={"seed": {"zero"}}, timeout=60),
    Call(F + "train_features_point", dict(method="pixels", target_epsilon=3.0, seed=0, config=Fresh(_tiny_config),
                                          ds=Fresh(_TinyDS), features=None, model=None, progress=None),
         # epsilon None is the non-private reference; a huge epsilon is a tiny noise multiplier (documented)
         # ds None loads labkit.data.load("mnist") (documented)
         accepts={"target_epsilon": {"none", "huge"}, "seed": {"zero"}, "features": {"none"}, "model": {"none"},
                  "progress": {"none"}, "ds": {"none"}},
         skip={"config": "a FeaturesConfig or None; other objects raise TypeError naming config",
               "progress": "a callback (called after each epoch)"},
         timeout=90),
    Call(F + "load_public_sweep", dict()),
    Call(F + "summarize", dict(sweep=Fresh(_sweep))),
    Call(F + "plot_filter_bank", dict(bank=Fresh(_bank16), ax=Fresh(_ax), crop=9),
         skip={"ax": "a Matplotlib Axes (drawn on)"}),
    Call(F + "plot_features_comparison", dict(sweep=Fresh(_sweep), ax=Fresh(_ax), published=True),
         skip={"ax": "a Matplotlib Axes (drawn on)", "published": "a flag: any truthy value draws the anchors"}),
]

EXCLUDED = {
    "labkit.dp.features:FilterBank": "a result dataclass (built by morlet_filter_bank)",
    "labkit.dp.features:Recipe": "a frozen recipe dataclass (FeaturesConfig's fields; no logic)",
    "labkit.dp.features:FeaturesConfig": "a frozen configuration dataclass (checked where it is used)",
    "labkit.dp.features:features_sweep": "the make data builder (about 15 minutes); its config is checked by the "
                                         "calls above and progress is a callback",
}
