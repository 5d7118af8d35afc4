"""labkit.data: fixed splits, verified files, client partitions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import data
from tools import build_data


@pytest.mark.parametrize(
    "name,train,test,features,classes",
    [("digits", 1347, 450, 64, 10), ("breast_cancer", 426, 143, 30, 2), ("diabetes", 331, 111, 10, 0)],
)
def test_load_shapes_and_scaling(name, train, test, features, classes):
    ds = data.load(name)
    assert ds.x_train.shape == (train, features) and ds.x_test.shape == (test, features)
    assert ds.y_train.shape == (train,) and ds.y_test.shape == (test,)
    assert ds.x_train.dtype == np.float32 and ds.num_classes == classes
    if name == "digits":
        assert ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    else:
        np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)


def test_split_is_fixed_stratified_and_disjoint():
    split = data.load_arrays("splits/digits.npz")
    assert not set(split["train"]) & set(split["test"])
    assert len(split["train"]) + len(split["test"]) == 1797
    ds = data.load("digits")
    # stratified: every class has about a quarter of its examples in the test split
    counts = np.bincount(ds.y_test, minlength=10) / (np.bincount(ds.y_test, minlength=10) + np.bincount(ds.y_train, minlength=10))
    assert np.all(np.abs(counts - 0.25) < 0.02)
    rebuilt = data.build_split("digits")
    np.testing.assert_array_equal(rebuilt["train"], split["train"])


def test_load_rejects_unknown_name():
    with pytest.raises(ValueError, match=r"name must be one of 'digits', 'breast_cancer'"):
        data.load("mnist")


def test_corrupted_file_names_file_and_command(data_copy):
    target = data_copy / "splits" / "digits.npz"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(data.DataFileError, match=r"data/splits/digits.npz is corrupted.*make data"):
        data.load("digits")


def test_missing_file_names_file_and_command(data_copy):
    (data_copy / "splits" / "breast_cancer.npz").unlink()
    with pytest.raises(data.DataFileError, match=r"data/splits/breast_cancer.npz is missing.*make data"):
        data.load("breast_cancer")


def test_rebuild_reproduces_the_manifest_hashes(data_copy):
    before = json.loads((data_copy / "manifest.json").read_text())["files"]
    build_data.rebuild([f"splits/{n}.npz" for n in data.DATASETS], verbose=False)
    after = json.loads((data_copy / "manifest.json").read_text())["files"]
    for name in data.DATASETS:
        assert after[f"splits/{name}.npz"]["sha256"] == before[f"splits/{name}.npz"]["sha256"]


def test_every_manifest_file_verifies():
    manifest = data.read_manifest()
    assert manifest["files"], "the manifest lists no files"
    for rel, entry in manifest["files"].items():
        assert entry["provenance"], f"{rel} has no provenance"
        data.verified_path(rel)


labels_strategy = st.lists(st.integers(0, 4), min_size=20, max_size=200).map(np.array)


@settings(max_examples=60)
@given(labels=labels_strategy, num_clients=st.integers(1, 10), scheme=st.sampled_from(["iid", "dirichlet", "shards"]),
       seed=st.integers(0, 2**16))
def test_partition_covers_every_index_once_and_is_seeded(labels, num_clients, scheme, seed):
    alpha = 0.5 if scheme == "dirichlet" else None
    parts = data.partition(labels, num_clients, scheme=scheme, alpha=alpha, seed=seed,
                           **({"min_size": 0} if scheme == "dirichlet" else {}))
    assert len(parts) == num_clients
    allidx = np.concatenate(parts)
    np.testing.assert_array_equal(np.sort(allidx), np.arange(len(labels)))
    again = data.partition(labels, num_clients, scheme=scheme, alpha=alpha, seed=seed,
                           **({"min_size": 0} if scheme == "dirichlet" else {}))
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


def test_shards_give_each_client_few_labels():
    y = data.load("digits").y_train
    parts = data.partition(y, 20, scheme="shards", seed=1)
    distinct = [len(np.unique(y[p])) for p in parts]
    assert max(distinct) <= 4 and np.median(distinct) <= 2


def test_dirichlet_alpha_controls_skew():
    y = data.load("digits").y_train

    def mean_top_share(alpha):
        parts = data.partition(y, 10, scheme="dirichlet", alpha=alpha, seed=3)
        return np.mean([np.bincount(y[p], minlength=10).max() / len(p) for p in parts])

    assert mean_top_share(0.1) > 0.5 > mean_top_share(100.0)
    assert all(len(p) >= 1 for p in data.partition(y, 10, scheme="dirichlet", alpha=0.05, seed=0))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(num_clients=0), r"num_clients must be an integer from 1 to 10"),
        (dict(num_clients=11), r"num_clients must be an integer from 1 to 10"),
        (dict(num_clients=2, scheme="powerlaw"), r"scheme must be one of 'iid', 'dirichlet', 'shards'"),
        (dict(num_clients=2, scheme="dirichlet"), r"alpha must be given \(a number > 0\) for scheme='dirichlet'; got None"),
        (dict(num_clients=2, scheme="dirichlet", alpha=0.0), r"alpha must be in \(0, inf\); got 0.0"),
        (dict(num_clients=2, scheme="dirichlet", alpha=float("nan")), r"alpha must be a number; got nan"),
        (dict(num_clients=2, min_size=6), r"min_size must be an integer from 0 to 5; got 6"),
        (dict(num_clients=2, seed=-1), r"seed must be an integer >= 0; got -1"),
        (dict(num_clients=2, scheme="iid", alpha=1.0), r"alpha is only used by scheme='dirichlet'"),
        (dict(num_clients=6, scheme="shards"), r"num_clients must be at most 5 for scheme='shards'"),
    ],
)
def test_partition_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.partition(np.arange(10) % 3, **kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(num_clients=2.0), r"num_clients must be an integer; got 2.0 \(float\)"),
        (dict(num_clients=True), r"num_clients must be an integer; got True \(bool\)"),
        (dict(num_clients=2, scheme="dirichlet", alpha="1"), r"alpha must be a real number; got '1' \(str\)"),
        (dict(num_clients=2, min_size=1.0), r"min_size must be an integer; got 1.0 \(float\)"),
    ],
)
def test_partition_wrong_kind(kwargs, message):
    with pytest.raises(TypeError, match=message):
        data.partition(np.arange(10) % 3, **kwargs)
