"""Offline datasets, client partitions and the verified files under ``data/``.

Everything the lab reads ships with the project (``data/``) or inside a package's wheel
(scikit-learn's bundled digits and breast-cancer sets). Every file under ``data/`` is listed in
``data/manifest.json`` with its SHA-256 and provenance, is checked when it is read, and is
rebuilt by ``make data`` (``python -m tools.build_data``, lab tooling outside this package).

Introduced in ``00-index.ipynb``; partitions are taught in ``06-federated-averaging.ipynb``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from labkit import _validate as v

DATASETS: tuple[str, ...] = ("digits", "breast_cancer", "diabetes")
SCHEMES: tuple[str, ...] = ("iid", "dirichlet", "shards")
TEST_FRACTION = 0.25
SPLIT_SEED = 0
REGENERATE = "make data"


class DataFileError(RuntimeError):
    """A file under ``data/`` is missing, unreadable or does not match the manifest."""


def data_dir() -> Path:
    """The project's ``data/`` folder (``LABKIT_DATA_DIR`` overrides it, for tests)."""
    override = os.environ.get("LABKIT_DATA_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data"


def manifest_path() -> Path:
    return data_dir() / "manifest.json"


def read_manifest() -> dict:
    """The manifest: ``{"files": {relative_path: {"sha256", "provenance", "builder"}}}``."""
    path = manifest_path()
    if not path.is_file():
        raise DataFileError(f"data manifest {path.name} is missing from data/; run `{REGENERATE}` to rebuild it")
    return json.loads(path.read_text())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(relative: str) -> Path:
    """Return the path of a data file after checking it against the manifest.

    Raises:
        DataFileError: naming the file and the command that regenerates it, when the file is
            not in the manifest, is missing, or its SHA-256 differs.
    """
    entry = read_manifest()["files"].get(relative)
    if entry is None:
        raise DataFileError(f"data/{relative} is not listed in data/manifest.json; run `{REGENERATE}`")
    path = data_dir() / relative
    if not path.is_file():
        raise DataFileError(f"data/{relative} is missing; run `{REGENERATE}` to regenerate it")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise DataFileError(
            f"data/{relative} is corrupted or out of date (SHA-256 {actual[:12]}... but the manifest "
            f"says {entry['sha256'][:12]}...); run `{REGENERATE}` to regenerate it"
        )
    return path


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays as an ``.npz`` whose bytes depend only on the arrays (fixed zip timestamps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def load_arrays(relative: str) -> dict[str, np.ndarray]:
    """Read a verified ``.npz`` under ``data/`` into a dict of arrays."""
    with np.load(verified_path(relative), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def load_json(relative: str):
    """Read a verified JSON file under ``data/``."""
    return json.loads(verified_path(relative).read_text())


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split with scaled features.

    Attributes:
        name: ``"digits"``, ``"breast_cancer"`` or ``"diabetes"``.
        x_train, y_train, x_test, y_test: float32 features and labels (int64 classes, or float32
            targets for ``diabetes``).
        feature_names, target_names: as scikit-learn names them.
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

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: train {self.x_train.shape}, test {self.x_test.shape}, "
            f"{self.num_classes or 'regression'} classes; {self.scaling})"
        )


def _sklearn_raw(name: str):
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
              "diabetes": datasets.load_diabetes}[name]
    return loader()


def load(name: str) -> Dataset:
    """Load one of scikit-learn's bundled datasets with the lab's fixed split and scaling.

    The split (75% train, 25% test, stratified for classification) is stored as index arrays
    in ``data/splits/<name>.npz`` and verified against the manifest, so it never changes under
    the learner. Shapes: digits 1347 x 64 train / 450 x 64 test (pixels scaled to [0, 1], labels
    0-9); breast_cancer 426 x 30 / 143 x 30 (standardised with the training mean and standard
    deviation; label 1 = benign, 0 = malignant); diabetes 331 x 10 / 111 x 10 (standardised
    features, target scaled by 1/100).

    Raises:
        ValueError: for an unknown ``name``.
        DataFileError: when the split file is missing or corrupted (names ``make data``).

    Introduced in ``00-index.ipynb``.
    """
    v.choice("name", name, DATASETS)
    split = load_arrays(f"splits/{name}.npz")
    raw = _sklearn_raw(name)
    x = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target)
    if len(x) != int(split["num_rows"]):
        raise DataFileError(
            f"data/splits/{name}.npz expects {int(split['num_rows'])} rows but scikit-learn's {name} has "
            f"{len(x)}; run `{REGENERATE}`"
        )
    train, test = split["train"], split["test"]
    x_train, x_test = x[train], x[test]
    if name == "digits":
        x_train, x_test = x_train / 16.0, x_test / 16.0
        scaling = "pixels divided by 16, so in [0, 1]"
    else:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
        scaling = "standardised with the training split's mean and standard deviation"
    if name == "diabetes":
        y_train, y_test = (y[train] / 100.0).astype(np.float32), (y[test] / 100.0).astype(np.float32)
        target_names: tuple[str, ...] = ()
        scaling += "; target divided by 100"
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


def build_split(name: str) -> dict[str, np.ndarray]:
    """Compute the fixed split of ``name`` (what ``make data`` stores in ``data/splits``)."""
    from sklearn.model_selection import train_test_split

    raw = _sklearn_raw(name)
    idx = np.arange(len(raw.target))
    stratify = None if name == "diabetes" else raw.target
    train, test = train_test_split(idx, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=stratify)
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
