"""Poisoning and robust aggregation: malicious clients, and the server rules that resist them.

A few malicious clients can steer FedAvg wherever they like, because the mean has no breakdown
point: one update, scaled up, moves it arbitrarily far. This module holds

- the **robust rules** on flattened updates (one row per client), each a small NumPy function:
  :func:`coordinate_median` and :func:`trimmed_mean` (Yin et al. 2018, "Byzantine-robust
  distributed learning: towards optimal statistical rates", section 3), :func:`krum` with
  :func:`krum_scores` (Blanchard et al. 2017, "Machine learning with adversaries: Byzantine tolerant
  gradient descent", section 4), and :func:`clipped_mean` (norm bounding, as DP-FedAvg clips);
- :class:`RobustAggregator`, which plugs any of them into :func:`labkit.fl.federated_round` as its
  ``aggregator`` (the server sees every update in the clear: it must, to rank them);
- :class:`PoisonedUpdate`, a malicious client update wrapped around the honest :class:`LocalSGD`:
  ``"boost"`` trains on flipped labels (y -> 9 - y) and multiplies the update by ``scale``
  (explicit boosting, Bhagoji et al. 2019, "Analyzing federated learning through an adversarial
  lens", section 3), ``"sign_flip"`` sends ``-scale`` times its honest update;
- :func:`run_poisoned`, a federated run with the first ``attackers`` clients malicious, and
  :func:`poisoning_accuracy`, the cached compute behind notebook 07's poisoning widget; it answers
  the settings of :data:`POISONING_GRID` from ``data/sweeps/fl_poisoning.npz`` (built by
  :func:`poisoning_sweep`, ``make data``) and trains any other setting live.

Introduced in ``07-private-federated-learning.ipynb``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from labkit import _validate as v
from labkit.fl.aggregation import Aggregate, _stack
from labkit.fl.fedavg import (MAX_STEPS, Client, ClientResult, History, LocalSGD, check_clients, federated_round,
                              run_rounds)
from labkit.fl.models import MAX_CLASSES, FlatModel, SoftmaxRegression
from labkit.i18n import N_, tr

RULES = ("mean", "clipped_mean", "median", "trimmed_mean", "krum")
"""The server rules of :class:`RobustAggregator`: FedAvg's mean, then the defences."""
ATTACKS = ("boost", "sign_flip")
"""The attacks of :class:`PoisonedUpdate`."""

POISONING_SETTINGS = {"num_clients": 20, "rounds": 10, "lr": 0.3, "epochs": 1, "batch_size": 20, "beta": 0.2,
                      "krum_f": 8, "clip": 1.0, "attack": "boost", "scale": 20.0, "attackers": 2, "seed": 0}
"""Notebook 07's poisoning setting: digits split IID among 20 clients, all of them every round,
10 rounds of one local epoch (B = 20, learning rate 0.3); trimmed mean with beta = 0.2 (4 of 20
trimmed at each end), Krum told f = 8 (the most n = 20 allows: n > 2 f + 2), clipped mean with
C = 1.0 (honest updates have norms of about 0.4 to 0.8 here). The default attack: 2 clients boost
their label-flipped updates by 20 (= n, Bhagoji et al.'s boosting factor for one client in n)."""
MAX_SCALE = 1000.0
"""The largest boosting factor :func:`poisoning_accuracy` accepts (the model stays finite below it)."""
POISONING_GRID = {"attackers": tuple(range(POISONING_SETTINGS["num_clients"] // 2 + 1)),
                  "scales": (1.0, 3.0, 10.0, 20.0, 50.0, 100.0), "attacks": ATTACKS, "seed": 0,
                  "curve_points": tuple((a, 20.0, "boost") for a in (0, 1, 2, 4, 6, 8, 10)) + ((8, 1.0, "sign_flip"),),
                  "curve_seeds": (1, 2)}
"""The settings stored in ``data/sweeps/fl_poisoning.npz`` (:data:`POISONING_GRID_FILE`), so that a first
visit is a lookup: every setting the poisoning widget reaches (0 to 10 attackers of 20, every scale of
its slider, both attacks) at ``seed``, and the settings notebook 07 averages over seeds 0-2
(``curve_points``: (attackers, scale, attack), also at ``curve_seeds``). With no attacker the attack
and scale do not matter: one setting per seed."""
POISONING_GRID_FILE = "sweeps/fl_poisoning.npz"
"""Where :func:`poisoning_accuracy` reads the stored settings (a path under ``data/``)."""


def _updates(updates: np.ndarray | Sequence[np.ndarray], name: str = "updates") -> np.ndarray:
    """``updates`` as a finite float 2-D array, one row per client (at least one)."""
    if updates is None or isinstance(updates, (str, bytes)) or v.is_real(updates):
        raise TypeError(f"{name} must be a 2-D array (one flattened update per row); got {updates!r}"[:200])
    u = v.finite_array(name, updates, dtype=None)
    if not np.issubdtype(u.dtype, np.number):
        raise TypeError(f"{name} must be an array of numbers; got dtype {u.dtype}")
    if u.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one flattened update per row); got shape {u.shape}")
    return u if np.issubdtype(u.dtype, np.floating) else u.astype(np.float64)


def coordinate_median(updates: np.ndarray) -> np.ndarray:
    """The coordinate-wise median of the clients' updates (one row per client).

    Yin et al. (2018), section 3, Option I. Its breakdown point is one half: fewer than half the
    rows malicious cannot move any coordinate outside the range of the honest values.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    u = _updates(updates)
    return np.median(u, axis=0).astype(u.dtype)


def trimmed_mean(updates: np.ndarray, beta: float) -> np.ndarray:
    """The coordinate-wise beta-trimmed mean: per coordinate, drop the ``floor(beta * n)`` largest
    and smallest of the ``n`` values and average the rest (``scipy.stats.trim_mean``'s rule).

    Yin et al. (2018), section 3, Option II. It resists up to ``floor(beta * n)`` malicious rows.

    Args:
        updates: one flattened update per row (n rows).
        beta: the fraction trimmed at each end, in [0, 0.5); at least one row must remain.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    u = _updates(updates)
    beta = v.real("beta", beta, low=0.0, high=0.5, high_open=True)
    n = len(u)
    k = int(beta * n)
    if n - 2 * k < 1:  # cannot happen for beta < 0.5, kept as a guard
        raise ValueError(f"beta = {beta:g} trims every one of the {n} updates; use beta < 0.5")
    s = np.sort(u, axis=0)
    return s[k:n - k].mean(axis=0).astype(u.dtype)


def _check_f(f: int, n: int) -> int:
    """``f`` for Krum on ``n`` updates: an integer with n > 2 f + 2, i.e. 0 <= f <= (n - 3) // 2."""
    f = v.integer("f", f, minimum=0)
    if n < 3 or 2 * f + 2 >= n:
        top = (n - 3) // 2
        valid = f"an integer from 0 to {top}" if top >= 0 else "impossible (Krum needs at least 3 updates)"
        raise ValueError(f"f must satisfy n > 2 f + 2 for Krum (n = {n} updates): f must be {valid}; got {f}")
    return f


def krum_scores(updates: np.ndarray, f: int) -> np.ndarray:
    """Krum's score of each update: the sum of squared distances to its ``n - f - 2`` nearest others.

    Blanchard et al. (2017), section 4. Needs ``n > 2 f + 2``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    u = _updates(updates)
    n = len(u)
    f = _check_f(f, n)
    x = u.astype(np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    np.fill_diagonal(d, np.inf)  # not its own neighbour
    nearest = np.sort(d, axis=1)[:, :n - f - 2]
    return nearest.sum(axis=1)


def krum(updates: np.ndarray, f: int) -> np.ndarray:
    """Krum: the one update whose ``n - f - 2`` nearest neighbours are closest (lowest score).

    Blanchard et al. (2017), section 4: with ``f`` Byzantine clients among ``n > 2 f + 2`` it
    picks an update close to the honest ones. Ties go to the lowest index.

    Args:
        updates: one flattened update per row (n rows).
        f: the number of malicious clients Krum is told to tolerate, from 0 to ``(n - 3) // 2``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    u = _updates(updates)
    return u[int(np.argmin(krum_scores(u, f)))].copy()


def clipped_mean(updates: np.ndarray, clip: float) -> np.ndarray:
    """The mean of the updates after scaling each to L2 norm at most ``clip`` (norm bounding).

    DP-FedAvg's clipping (McMahan et al. 2018; :func:`labkit.fl.clip_update`) without its noise:
    it bounds what any one client can move the mean by to ``clip / n`` (Sun et al. 2019, "Can you
    really backdoor federated learning?", norm difference clipping).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit.fl.dp_fedavg import clip_update

    u = _updates(updates)
    clip = v.positive("clip", clip)
    return np.mean([clip_update([row], clip)[0] for row in u], axis=0).astype(u.dtype)


@dataclass(frozen=True)
class RobustAggregator:
    """A server aggregator for :func:`labkit.fl.federated_round` that returns a robust *mean* of the updates.

    Call :func:`federated_round` with ``client_weights=None`` (the rules weigh every client
    equally), so that the server moves the model by ``rule(updates)``.

    Attributes:
        rule: one of :data:`RULES`: ``"mean"`` (FedAvg), ``"clipped_mean"``, ``"median"``,
            ``"trimmed_mean"``, ``"krum"``.
        beta: the trimmed mean's fraction cut at each end, in [0, 0.5).
        f: the malicious clients Krum tolerates (needs n > 2 f + 2 for n updates).
        clip: the clipped mean's bound on each update's L2 norm (> 0).

    Introduced in ``07-private-federated-learning.ipynb``.
    """

    rule: str = "mean"
    beta: float = 0.2
    f: int = 1
    clip: float = 1.0

    def __post_init__(self) -> None:
        v.choice("rule", self.rule, RULES)
        v.real("beta", self.beta, low=0.0, high=0.5, high_open=True)
        v.integer("f", self.f, minimum=0)
        v.positive("clip", self.clip)

    def __call__(self, updates: Sequence[np.ndarray], params: np.ndarray | None = None) -> Aggregate:
        u = _stack(updates, params)
        if not u:
            raise ValueError("updates must hold at least one client update; got none")
        stacked = np.stack(u)
        if stacked.ndim != 2:
            raise ValueError(f"updates must be flat vectors (one per client); got shape {stacked.shape[1:]}")
        if self.rule == "mean":
            total = stacked.mean(axis=0).astype(stacked.dtype)
        elif self.rule == "clipped_mean":
            total = clipped_mean(stacked, self.clip)
        elif self.rule == "median":
            total = coordinate_median(stacked)
        elif self.rule == "trimmed_mean":
            total = trimmed_mean(stacked, self.beta)
        else:
            total = krum(stacked, self.f)
        n, d = stacked.shape
        return Aggregate(total, n * d * stacked.dtype.itemsize, 0,
                         tr("{count} updates of {size} floats in the clear ({rule} needs each one)").format(
                             count=n, size=d, rule=self.rule))


@dataclass(frozen=True)
class PoisonedUpdate:
    """A malicious client: the honest local training of ``inner``, then the attack.

    Attributes:
        inner: the honest client update (a :class:`LocalSGD`).
        attack: ``"boost"``: train on flipped labels ``num_classes - 1 - y`` and send ``scale``
            times that update (explicit boosting, Bhagoji et al. 2019, section 3; ``scale = 1`` is
            plain label flipping); ``"sign_flip"``: send ``-scale`` times the honest update.
        scale: the boosting factor (> 0).
        num_classes: the number of classes, for the label flip.

    Introduced in ``07-private-federated-learning.ipynb``.
    """

    inner: Callable[..., ClientResult]
    attack: str = "boost"
    scale: float = 10.0
    num_classes: int = 10

    def __post_init__(self) -> None:
        if not callable(self.inner):
            raise TypeError(f"inner must be a client update such as LocalSGD; got {self.inner!r}"[:200])
        v.choice("attack", self.attack, ATTACKS)
        v.positive("scale", self.scale)
        v.count("num_classes", self.num_classes, minimum=2, maximum=MAX_CLASSES)

    def __call__(self, model: FlatModel, params: np.ndarray, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator | None = None) -> ClientResult:
        if self.attack == "boost":
            labels = np.asarray(y)
            if labels.ndim != 1 or labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f"y must hold labels in [0, {self.num_classes - 1}] (num_classes = "
                                 f"{self.num_classes})")
            honest = self.inner(model, params, x, self.num_classes - 1 - labels, rng)
            factor = self.scale
        else:
            honest = self.inner(model, params, x, y, rng)
            factor = -self.scale
        return ClientResult((np.asarray(honest.update) * np.asarray(factor, honest.update.dtype)), honest.noisy_steps)


def run_poisoned(clients: Sequence[Client], test: tuple[np.ndarray, np.ndarray], *, attackers: int,
                 aggregator: Callable[[list, np.ndarray], Aggregate], attack: str = "boost", scale: float = 10.0,
                 rounds: int = 10, lr: float = 0.3, epochs: int = 1, batch_size: int | None = 20,
                 seed: int = 0) -> History:
    """FedAvg-style training of softmax regression where clients ``0 .. attackers - 1`` are malicious.

    Every client takes part in every round (:func:`labkit.fl.federated_round`, unweighted); the
    honest ones run :class:`LocalSGD`, the malicious ones :class:`PoisonedUpdate` around it; the
    server applies ``aggregator`` (a :class:`RobustAggregator`). The run loop is
    :func:`labkit.fl.run_rounds`; a round in which a client's update or the model is no longer finite
    (a learning rate or scale too large) ends the run, and :attr:`History.accuracy` stops there.

    Args:
        clients: ``(x, y)`` per client.
        test: ``(x_test, y_test)`` evaluated after every round.
        attackers: how many clients are malicious, from 0 to ``len(clients)``.
        aggregator: the server rule.
        attack, scale: as in :class:`PoisonedUpdate`.
        rounds, lr, epochs, batch_size: the training (as in :func:`labkit.fl.run_federated`).
        seed: seeds the initial model and the clients' shuffling.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if not callable(aggregator):
        raise TypeError(f"aggregator must be a callable such as RobustAggregator(); got {aggregator!r}"[:200])
    if not isinstance(test, (tuple, list)) or len(test) != 2:
        raise TypeError(f"test must be an (x_test, y_test) pair; got {test!r}"[:200])
    x_test = v.finite_array("test", test[0], ndim=2, dtype=None)
    check_clients(clients, int(x_test.shape[1]))
    attackers = v.integer("attackers", attackers, minimum=0, maximum=len(clients))
    v.count("rounds", rounds, maximum=MAX_STEPS)
    seed = v.integer("seed", seed, minimum=0)
    honest = LocalSGD(lr, epochs, batch_size)
    num_classes = int(max(max(int(np.max(c[1])) for c in clients), int(np.max(test[1]))) + 1)
    bad = PoisonedUpdate(honest, attack, scale, num_classes)
    model = SoftmaxRegression(int(x_test.shape[1]), num_classes)
    rng = np.random.default_rng(seed)
    params = model.init(rng)
    updates = [bad if k < attackers else honest for k in range(len(clients))]
    everyone = list(range(len(clients)))

    def guarded(received: list, p: np.ndarray) -> Aggregate:
        if not all(np.all(np.isfinite(u)) for u in received):  # a client diverged (lr or scale too large)
            return Aggregate(np.full_like(p, np.nan), 0, 0, tr("a client's update is not finite: the run stops"))
        return aggregator(received, p)

    def step(p: np.ndarray, selected: list):
        return federated_round(model, p, clients, selected, updates, aggregator=guarded, rng=rng)

    with np.errstate(over="ignore", invalid="ignore"):
        return run_rounds(model, params, clients, (x_test, test[1]), rounds=rounds, select=lambda: everyone,
                          step=step)


AGGREGATOR_LABELS: dict[str, str] = {
    "mean": N_("FedAvg (mean)"),
    "clipped_mean": N_("clipped mean (C = {clip:g})"),
    "median": N_("median"),
    "trimmed_mean": N_("trimmed mean (beta = {beta:g})"),
    "krum": N_("Krum (f = {f})"),
}
"""The label of each rule in :func:`poisoning_aggregators` (English: the labels are the keys of the stored grid
and of the results; :func:`aggregator_label` shows one in the current language)."""
_PLACEHOLDER = re.compile(r"\{(\w+)(:[^}]*)?\}")


def poisoning_aggregators(num_clients: int | None = None) -> dict[str, RobustAggregator]:
    """The aggregators notebook 07 compares, at :data:`POISONING_SETTINGS`: label -> aggregator.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    s = POISONING_SETTINGS
    n = s["num_clients"] if num_clients is None else v.count("num_clients", num_clients, minimum=3)
    f = min(s["krum_f"], (n - 3) // 2)
    labels = {rule: template.format(clip=s["clip"], beta=s["beta"], f=f) for rule, template in AGGREGATOR_LABELS.items()}
    return {labels["mean"]: RobustAggregator("mean"),
            labels["clipped_mean"]: RobustAggregator("clipped_mean", clip=s["clip"]),
            labels["median"]: RobustAggregator("median"),
            labels["trimmed_mean"]: RobustAggregator("trimmed_mean", beta=s["beta"]),
            labels["krum"]: RobustAggregator("krum", f=f)}


def aggregator_label(label: str) -> str:
    """An aggregator's label (a key of :func:`poisoning_aggregators`) as the learner reads it: in the current
    language, with its numbers as they are. Any other label is passed through :func:`labkit.i18n.tr`.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if not isinstance(label, str):
        raise TypeError(f"label must be a string (a key of poisoning_aggregators()); got {type(label).__name__}")
    for template in AGGREGATOR_LABELS.values():
        parts = _PLACEHOLDER.split(template)  # literal, name, spec, literal, name, spec, ..., literal
        pattern = "".join(re.escape(p) if i % 3 == 0 else f"(?P<{p}>.+?)" if i % 3 == 1 else ""
                          for i, p in enumerate(parts) if p is not None)
        found = re.fullmatch(pattern, label)
        if found:
            return _PLACEHOLDER.sub(lambda m: found.group(m.group(1)), tr(template))
    return tr(label)


_CLIENTS: dict[int, tuple] = {}
_CACHE: dict[tuple, dict[str, float]] = {}
_GRID: dict[tuple, dict[str, float]] | None = None  # the stored settings, loaded on first use


def poisoning_clients(seed: int = 0) -> tuple[list[Client], tuple[np.ndarray, np.ndarray]]:
    """Digits split IID among :data:`POISONING_SETTINGS` clients (``seed`` picks the split), and the test set.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    from labkit import data
    from labkit.fl.fedavg import client_arrays

    seed = v.integer("seed", seed, minimum=0)
    if seed not in _CLIENTS:
        d = data.load("digits")
        parts = data.partition(d.y_train, POISONING_SETTINGS["num_clients"], "iid", seed=seed)
        _CLIENTS[seed] = (client_arrays(d.x_train, d.y_train, parts), (d.x_test, d.y_test))
    return _CLIENTS[seed]


def poisoning_accuracy(attackers: int, scale: float, *, attack: str = "boost", seed: int = 0) -> dict[str, float]:
    """Final test accuracy per aggregator with ``attackers`` of 20 clients malicious (cached).

    The compute behind notebook 07's poisoning widget: :func:`run_poisoned` at
    :data:`POISONING_SETTINGS` for each of :func:`poisoning_aggregators`, seed ``seed`` (split,
    initial model, shuffling). The settings of :data:`POISONING_GRID` (every one the widget reaches,
    and those notebook 07 averages over seeds) are read from ``data/sweeps/fl_poisoning.npz``, the
    same numbers training gives; any other setting trains five models the first time (a few tenths of
    a second; also every setting when the file is missing or was built with other settings). Later
    calls are a lookup.

    Args:
        attackers: malicious clients, from 0 to 20.
        scale: the boosting factor, in (0, :data:`MAX_SCALE`].
        attack: ``"boost"`` or ``"sign_flip"`` (:class:`PoisonedUpdate`).
        seed: seeds the split of digits, the initial model and the clients' shuffling (>= 0).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    s = POISONING_SETTINGS
    attackers = v.integer("attackers", attackers, minimum=0, maximum=s["num_clients"])
    scale = v.real("scale", scale, low=0.0, high=MAX_SCALE, low_open=True)
    v.choice("attack", attack, ATTACKS)
    seed = v.integer("seed", seed, minimum=0)
    key = _setting(attackers, scale, attack, seed)
    if key not in _CACHE:
        stored = _stored().get(key)
        _CACHE[key] = dict(stored) if stored is not None else _train(key)
    return dict(_CACHE[key])


def _setting(attackers: int, scale: float, attack: str, seed: int) -> tuple:
    """The cache key of a setting: with no attacker the attack and scale do not matter."""
    return (int(attackers), float(scale), str(attack), int(seed)) if attackers else (0, 1.0, "boost", int(seed))


def _train(key: tuple) -> dict[str, float]:
    """Train the five aggregators of :func:`poisoning_aggregators` at one setting: label -> final accuracy."""
    s = POISONING_SETTINGS
    attackers, scale, attack, seed = key
    clients, test = poisoning_clients(seed)
    out = {}
    for label, agg in poisoning_aggregators().items():
        hist = run_poisoned(clients, test, attackers=attackers, aggregator=agg, attack=attack, scale=scale,
                            rounds=s["rounds"], lr=s["lr"], epochs=s["epochs"], batch_size=s["batch_size"],
                            seed=seed)
        if len(hist.accuracy) != s["rounds"] + 1:  # not seen for scale <= MAX_SCALE
            raise RuntimeError(f"{label} diverged at attackers = {attackers}, scale = {scale:g}")
        out[label] = float(hist.accuracy[-1])
    return out


def _grid_points() -> list[tuple]:
    """Every setting of :data:`POISONING_GRID` as a cache key, each once, in a fixed order."""
    g = POISONING_GRID
    keys = [_setting(a, x, k, g["seed"]) for k in g["attacks"] for a in g["attackers"] for x in g["scales"]]
    keys += [_setting(a, x, k, q) for q in g["curve_seeds"] for a, x, k in g["curve_points"]]
    return list(dict.fromkeys(keys))


def _settings_text() -> str:
    """:data:`POISONING_SETTINGS` as the JSON text stored with the grid (what it was built with)."""
    import json

    return json.dumps(POISONING_SETTINGS, sort_keys=True)


def poisoning_sweep(progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Train every setting of :data:`POISONING_GRID`: the arrays of ``data/sweeps/fl_poisoning.npz``.

    The ``make data`` builder's compute (about 140 settings of five training runs each, 20-40 s on
    one core). Each setting is trained as :func:`poisoning_accuracy` trains it live, so a stored
    accuracy equals the live one exactly (the runs are deterministic given the seed).

    Args:
        progress: called as ``progress(done, total)`` after each setting (a tqdm bar), or None.

    Returns:
        ``attackers``, ``scale``, ``attack``, ``seed`` (one entry per setting), ``accuracy``
        (settings x aggregators, the final test accuracy), ``aggregators`` (the labels of
        :func:`poisoning_aggregators`, in the columns' order) and ``settings`` (the JSON text of
        :data:`POISONING_SETTINGS`, so that a file built with other settings is not used).

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable progress(done, total) or None; got {progress!r}"[:200])
    keys = _grid_points()
    labels = list(poisoning_aggregators())
    acc = np.zeros((len(keys), len(labels)))
    for i, key in enumerate(keys):
        out = _train(key)
        acc[i] = [out[label] for label in labels]
        if progress is not None:
            progress(i + 1, len(keys))
    return {"attackers": np.array([k[0] for k in keys], np.int64), "scale": np.array([k[1] for k in keys]),
            "attack": np.array([k[2] for k in keys]), "seed": np.array([k[3] for k in keys], np.int64),
            "accuracy": acc, "aggregators": np.array(labels), "settings": np.array(_settings_text())}


def _stored() -> dict[tuple, dict[str, float]]:
    """The settings stored in :data:`POISONING_GRID_FILE`, read once: key -> label -> accuracy.

    Empty (every setting is then trained live, without a warning) when the file is missing, not in
    the manifest, fails its SHA-256 check, or was built with other :data:`POISONING_SETTINGS` or
    other aggregators than :func:`poisoning_aggregators`."""
    global _GRID
    if _GRID is None:
        _GRID = _read_grid(POISONING_GRID_FILE)
    return _GRID


def _read_grid(relative: str) -> dict[tuple, dict[str, float]]:
    from labkit import data

    try:
        g = data.load_arrays(relative)
    except (data.DataFileError, TypeError):
        return {}
    labels = list(poisoning_aggregators())
    try:
        if str(g["settings"]) != _settings_text() or g["aggregators"].tolist() != labels:
            return {}  # built with other settings: stale
        rows = list(zip(g["attackers"].tolist(), g["scale"].tolist(), g["attack"].tolist(), g["seed"].tolist()))
        acc = np.asarray(g["accuracy"], np.float64)
        if acc.shape != (len(rows), len(labels)):
            return {}
        return {_setting(*row): dict(zip(labels, map(float, a))) for row, a in zip(rows, acc)}
    except (KeyError, ValueError, TypeError, AttributeError):  # arrays missing or of another shape
        return {}


def poisoning_curve(attackers: Sequence[int], *, scale: float | None = None, attack: str | None = None,
                    seeds: Sequence[int] = (0, 1, 2)) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Final test accuracy against the number of attackers, per aggregator: mean and standard error over seeds.

    Runs :func:`poisoning_accuracy` (cached) for every number of ``attackers`` and seed, at
    :data:`POISONING_SETTINGS`' scale and attack unless given. The standard error is the sample
    standard deviation over the seeds divided by sqrt(number of seeds).

    Returns:
        label -> ``(mean, standard_error)``, two arrays with one entry per value of ``attackers``.

    Introduced in ``07-private-federated-learning.ipynb``.
    """
    s = POISONING_SETTINGS
    if attackers is None or isinstance(attackers, (str, bytes)) or v.is_real(attackers):
        raise TypeError(f"attackers must be a sequence of counts; got {attackers!r}"[:200])
    attackers = [v.integer("attackers", a, minimum=0, maximum=s["num_clients"]) for a in attackers]
    if not attackers:
        raise ValueError("attackers must hold at least one count; got none")
    if seeds is None or isinstance(seeds, (str, bytes)) or v.is_real(seeds):
        raise TypeError(f"seeds must be a sequence of seeds; got {seeds!r}"[:200])
    seeds = [v.integer("seeds", q, minimum=0) for q in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    scale = s["scale"] if scale is None else scale
    attack = s["attack"] if attack is None else attack
    runs = [[poisoning_accuracy(a, scale, attack=attack, seed=q) for q in seeds] for a in attackers]
    out = {}
    for label in runs[0][0]:
        acc = np.array([[r[label] for r in row] for row in runs])
        out[label] = (acc.mean(axis=1), acc.std(axis=1, ddof=1) / np.sqrt(len(seeds)))
    return out
