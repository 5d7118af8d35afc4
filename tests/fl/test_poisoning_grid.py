"""The stored poisoning grid (``data/sweeps/fl_poisoning.npz``) behind notebook 07's poisoning widget.

``labkit.fl.poisoning_accuracy`` answers every setting the widget reaches, and every setting notebook 07
averages over seeds, from the grid: the same floats that training gives (retrained here and compared
exactly), without training. A missing, damaged or stale file (built with other settings or other
aggregators) is not used: every setting then trains live, as before the grid, without a warning.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import warnings

import numpy as np
import pytest

from labkit import data, fl
from labkit.fl import robust

GRID = robust.POISONING_GRID_FILE


@pytest.fixture
def fresh(monkeypatch):
    """An empty cache and a grid not yet read (restored after the test)."""
    monkeypatch.setattr(robust, "_CACHE", {})
    monkeypatch.setattr(robust, "_GRID", None)


@pytest.fixture
def trainings(monkeypatch):
    """Count the training runs (one per aggregator and setting) that poisoning_accuracy starts."""
    calls = []
    real = robust.run_poisoned
    monkeypatch.setattr(robust, "run_poisoned", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.fixture
def no_training(monkeypatch):
    """Fail on any training run: the answer must come from the grid."""
    def refuse(*a, **k):
        raise AssertionError("poisoning_accuracy trained a setting that the grid should hold")
    monkeypatch.setattr(robust, "run_poisoned", refuse)


def _stored_rows() -> dict[tuple, dict[str, float]]:
    """The grid as stored, read with labkit.data (not with robust's reader): key -> label -> accuracy."""
    g = data.load_arrays(GRID)
    labels = g["aggregators"].tolist()
    keys = zip(g["attackers"].tolist(), g["scale"].tolist(), g["attack"].tolist(), g["seed"].tolist())
    return {k: dict(zip(labels, row.tolist())) for k, row in zip(keys, g["accuracy"])}


def _widget_settings():
    """Every (attackers, scale, attack) the poisoning explorer's controls can reach, read off the widget."""
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from labkit.fl.widgets import poisoning_explorer

    view = poisoning_explorer()
    c = view.controls

    def values(ctl):
        return [o[1] if isinstance(o, tuple) else o for o in ctl.options]

    attackers = range(c["attackers"].min, c["attackers"].max + 1)
    return view, [(a, s, k) for k in values(c["attack"]) for s in values(c["scale"]) for a in attackers]


def _notebook_settings() -> set[tuple]:
    """Every (attackers, scale, attack, seed) that notebook 07's calls of poisoning_accuracy and
    poisoning_curve ask for, read from its source: literal assignments (SEEDS, ATTACKERS) and the
    loops of comprehensions are evaluated, and each call's arguments bound to the function's signature."""
    from notebook_source import notebook_path

    nb = json.loads(notebook_path("07").read_text())
    trees = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            trees.append(ast.parse("\n".join(line for line in source.splitlines()
                                             if not line.lstrip().startswith(("%", "!")))))
    names = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    names[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    pass

    def value(expr, scope):
        return eval(compile(ast.Expression(expr), "<notebook 07>", "eval"), {}, scope)  # noqa: S307 - the lab's notebook

    found, calls = set(), 0
    functions = {"poisoning_accuracy": robust.poisoning_accuracy, "poisoning_curve": robust.poisoning_curve}
    for tree in trees:
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            name = getattr(node.func, "attr", getattr(node.func, "id", None)) if isinstance(node, ast.Call) else None
            if name not in functions:
                continue
            calls += 1
            loops, up = {}, parents.get(node)
            while up is not None:  # the comprehensions around the call
                for gen in getattr(up, "generators", []):
                    loops[gen.target.id] = list(value(gen.iter, names))
                up = parents.get(up)
            for combo in itertools.product(*loops.values()):
                scope = {**names, **dict(zip(loops, combo))}
                bound = inspect.signature(functions[name]).bind(
                    *[value(a, scope) for a in node.args], **{k.arg: value(k.value, scope) for k in node.keywords})
                bound.apply_defaults()
                b = bound.arguments
                if name == "poisoning_accuracy":
                    found.add(robust._setting(b["attackers"], b["scale"], b["attack"], b["seed"]))
                else:
                    s = robust.POISONING_SETTINGS
                    scale = s["scale"] if b["scale"] is None else b["scale"]
                    attack = s["attack"] if b["attack"] is None else b["attack"]
                    found |= {robust._setting(a, scale, attack, q) for a in b["attackers"] for q in b["seeds"]}
    assert calls >= 4, f"found only {calls} calls of poisoning_accuracy/poisoning_curve in notebook 07"
    return found


def test_the_file_holds_exactly_the_grid_points():
    stored = _stored_rows()
    assert list(stored) == robust._grid_points()  # rebuild (make data) after changing POISONING_GRID
    assert len(stored) == 2 * 10 * 6 + 1 + 2 * 8  # 0 attackers is one setting per seed
    g = data.load_arrays(GRID)
    assert g["aggregators"].tolist() == list(robust.poisoning_aggregators())
    assert json.loads(str(g["settings"])) == robust.POISONING_SETTINGS


def test_every_widget_setting_is_a_lookup(fresh, no_training):
    view, settings = _widget_settings()  # building it reads the clean accuracy: already without training
    assert len(settings) == 11 * 6 * 2
    stored = _stored_rows()
    for a, s, k in settings:
        assert fl.poisoning_accuracy(a, s, attack=k) == stored[robust._setting(a, s, k, 0)]
    c = view.controls  # and the widget itself: a few moves, none trains
    for a, s, k in [(10, 100.0, "sign_flip"), (3, 1.0, "boost"), (7, 50.0, "sign_flip")]:
        c["attack"].value, c["scale"].value, c["attackers"].value = k, s, a


def test_every_setting_notebook_07_averages_is_a_lookup(fresh, no_training):
    settings = _notebook_settings()
    assert {(2, 20.0, "boost", 2), (8, 1.0, "sign_flip", 1), (10, 20.0, "boost", 1), (0, 1.0, "boost", 2)} <= settings
    stored = _stored_rows()
    for a, s, k, q in settings:
        assert fl.poisoning_accuracy(a, s, attack=k, seed=q) == stored[(a, s, k, q)]
    curves = fl.poisoning_curve([0, 1, 2, 4, 6, 8, 10], scale=20.0, attack="boost", seeds=(0, 1, 2))
    assert len(curves) == 5


# Stored points retrained: no attacker, each attack with attackers > 0, seeds 0-2, the widget's extremes.
RETRAINED = [(0, 1.0, "boost", 0), (2, 20.0, "boost", 0), (5, 3.0, "boost", 0), (10, 100.0, "sign_flip", 0),
             (7, 50.0, "sign_flip", 0), (8, 1.0, "sign_flip", 1), (4, 20.0, "boost", 2), (0, 1.0, "boost", 1)]


def test_stored_accuracies_equal_training_exactly(fresh, trainings, monkeypatch):
    stored = _stored_rows()
    monkeypatch.setattr(robust, "POISONING_GRID_FILE", "sweeps/no_such_grid.npz")  # train live
    for i, (a, s, k, q) in enumerate(RETRAINED):
        live = fl.poisoning_accuracy(a, s, attack=k, seed=q)
        assert len(trainings) == 5 * (i + 1)  # it did train
        assert live == stored[(a, s, k, q)], (a, s, k, q)  # float equality, every aggregator
    assert len({tuple(stored[key].values()) for key in RETRAINED}) == len(RETRAINED)  # distinct points


def test_grid_answers_without_training_and_is_read_once(fresh, trainings, monkeypatch):
    reads = []
    real = data.load_arrays
    monkeypatch.setattr(data, "load_arrays", lambda rel: reads.append(rel) or real(rel))
    stored = _stored_rows()
    reads.clear()
    for a in range(11):
        assert fl.poisoning_accuracy(a, 20.0, attack="sign_flip") == stored[robust._setting(a, 20.0, "sign_flip", 0)]
    assert trainings == [] and reads == [GRID]
    fl.poisoning_accuracy(3, 7.0, seed=0)  # not stored: trains live
    assert len(trainings) == 5 and reads == [GRID]


def test_missing_grid_trains_live_without_a_warning(fresh, trainings, monkeypatch):
    stored = _stored_rows()
    monkeypatch.setattr(robust, "POISONING_GRID_FILE", "sweeps/no_such_grid.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        acc = fl.poisoning_accuracy(2, 20.0)
        assert len(trainings) == 5
        assert fl.poisoning_accuracy(2, 20.0) == acc and len(trainings) == 5  # then cached, as before
    assert acc == stored[(2, 20.0, "boost", 0)]


def _copy_grid(tmp_path, **changes):
    """A data dir holding only the grid, with ``changes`` to its arrays (None: drop the array), and a manifest."""
    g = data.load_arrays(GRID)
    for key, val in changes.items():
        if val is None:
            g.pop(key)
        else:
            g[key] = val
    out = tmp_path / GRID
    data.save_arrays(out, **g)
    digest = data.sha256_of(out)
    return out, digest


@pytest.mark.parametrize("why", ["other settings", "other aggregators", "an array missing", "wrong shape",
                                 "SHA-256 differs", "not in the manifest"])
def test_stale_or_damaged_grid_trains_live_without_a_warning(why, tmp_path, fresh, trainings, monkeypatch):
    robust.poisoning_clients(0)  # the digits split is read from the real data dir, before switching
    other = dict(robust.POISONING_SETTINGS, rounds=11)
    changes = {"other settings": {"settings": np.array(json.dumps(other, sort_keys=True))},
               "other aggregators": {"aggregators": np.array(["FedAvg (mean)", "clipped mean (C = 2)", "median",
                                                              "trimmed mean (beta = 0.2)", "Krum (f = 8)"])},
               "an array missing": {"seed": None},
               "wrong shape": {"accuracy": np.zeros((3, 5))}}.get(why, {})
    out, digest = _copy_grid(tmp_path, **changes)
    if why == "SHA-256 differs":
        digest = "0" * 64
    files = {} if why == "not in the manifest" else {GRID: {"sha256": digest, "provenance": "test copy"}}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": files}))
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fl.poisoning_accuracy(2, 20.0)
    assert len(trainings) == 5


def test_the_unchanged_copy_is_used(tmp_path, fresh, trainings, monkeypatch):
    """The control of the test above: the same copy, unchanged, answers without training."""
    out, digest = _copy_grid(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {GRID: {"sha256": digest, "provenance": "copy"}}}))
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    assert fl.poisoning_accuracy(2, 20.0) == _stored_rows()[(2, 20.0, "boost", 0)]
    assert trainings == []


def test_changed_settings_make_the_stored_grid_stale(fresh, trainings, monkeypatch):
    monkeypatch.setitem(robust.POISONING_SETTINGS, "rounds", 3)  # as if edited without `make data`
    fl.poisoning_accuracy(2, 20.0)
    assert len(trainings) == 5


def test_builder_writes_what_is_stored(tmp_path, monkeypatch):
    """tools.build_data's builder on a two-setting grid gives the stored rows bit for bit."""
    from tools.build_data import DERIVED, build_poisoning_grid

    assert DERIVED[GRID][0] is build_poisoning_grid
    small = dict(robust.POISONING_GRID, attackers=(0, 6), scales=(50.0,), attacks=("sign_flip",),
                 curve_points=((2, 20.0, "boost"),), curve_seeds=(2,))
    monkeypatch.setattr(robust, "POISONING_GRID", small)
    build_poisoning_grid(tmp_path / "small.npz")
    with np.load(tmp_path / "small.npz") as g:
        keys = list(zip(g["attackers"].tolist(), g["scale"].tolist(), g["attack"].tolist(), g["seed"].tolist()))
        assert keys == [(0, 1.0, "boost", 0), (6, 50.0, "sign_flip", 0), (2, 20.0, "boost", 2)]
        stored = _stored_rows()
        for key, row in zip(keys, g["accuracy"]):
            assert dict(zip(g["aggregators"].tolist(), row.tolist())) == stored[key]
        assert str(g["settings"]) == str(data.load_arrays(GRID)["settings"])


def test_sweep_rejects_a_progress_that_is_not_callable():
    with pytest.raises(TypeError, match="progress must be a callable"):
        robust.poisoning_sweep(progress=3)
