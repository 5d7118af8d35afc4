"""Bad-input campaign specs for the stored poisoning grid of labkit.fl.robust (see tests/campaign.py).

poisoning_accuracy, which reads the grid, is walked in calls_fl.py; the grid's builder is excluded here."""

from campaign import Call

CALLS: list = [
    Call("labkit.fl.robust:aggregator_label", dict(label="median")),
]

EXCLUDED = {
    "labkit.fl.robust:poisoning_sweep": "the make-data builder of data/sweeps/fl_poisoning.npz (137 settings of five "
                                        "training runs, 20-40 s); its only argument, progress, must be a callable or "
                                        "None (TypeError, tested in tests/fl/test_poisoning_grid.py)",
}
