"""Exercise checks of the federated-learning track: notebooks 06 and 07.

``CHECKS`` maps exercise ids to checks (see :mod:`labkit.exercises`), in notebook order:

* 06.1 (build) FedAvg with server momentum, FedAvgM, against :func:`labkit.fl.fedavgm_round`;
* 06.2 (build) the FedAvg server update as a TFF federated computation, run inside labkit's worker guard
  (:func:`labkit.fl.tff.session`), against :func:`labkit.fl.weighted_average`;
* 06.3 (reason) which of the notebook's five FedAvg rounds are broken, and one fixed, against
  :func:`labkit.fl.fedavg_round`;
* 07.1 (build) the DP-FedAvg aggregation (Poisson sampling, clipping over all layers, noise on the sum,
  fixed denominator), against :func:`labkit.fl.poisson_sample`, :func:`labkit.fl.clip_update` and
  :class:`labkit.fl.GaussianSum` under the same random generator;
* 07.2 (reason) which user-level epsilon a run may report, random or first-come cohorts, against
  :func:`labkit.fl.user_level_epsilon`;
* 07.3 (reason) what the server learns under TFF's simulated secure sum, real secure aggregation, central DP
  and distributed DP (the threat-model boxes of notebook 07).

Every check runs seeded property tests (several sizes, shapes and settings) and compares with labkit.
Importing this module loads NumPy only; the TFF check imports TensorFlow Federated when it runs.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from labkit.exercises import Exercise, Hint, require, require_names_and_fix, require_number
from labkit.i18n import N_, tr

# --------------------------------------------------------------------------------------------
# Shared: small random federations, and the answer as [W, b]
# --------------------------------------------------------------------------------------------


def _federation(seed: int) -> dict[str, Any]:
    """A small federation with clients of very different sizes, and round settings drawn from ``seed``."""
    from labkit import fl

    rng = np.random.default_rng(1000 + seed)
    features, classes = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    sizes = [int(rng.integers(3, 9)), int(rng.integers(25, 45))]
    sizes += [int(s) for s in rng.integers(3, 45, rng.integers(1, 4))]
    clients = [(rng.normal(size=(n, features)).astype(np.float32), rng.integers(0, classes, n).astype(np.int64))
               for n in sizes]
    selected = sorted({0, 1} | {int(k) for k in rng.choice(len(clients), rng.integers(0, len(clients) + 1),
                                                             replace=False)})
    return dict(weights=fl.init_weights(features, classes, rng, scale=0.3), clients=clients, selected=selected,
                lr=float(rng.choice([0.1, 0.3, 0.5])), epochs=int(rng.integers(1, 3)),
                batch_size=[None, 4, 7][seed % 3])


def _as_layers(got: Any, like: list[np.ndarray], what: str) -> list[np.ndarray]:
    """The learner's ``[W, b]`` as float64 arrays of the shapes of ``like``, or a Hint."""
    require(got is not None, tr("return {what} as a list [W, b]; your function returned None").format(what=what),
            fix=tr("end your function with return [W, b] (two arrays)"))
    ok = isinstance(got, (list, tuple)) and len(got) == len(like)
    wrong = (tr("return {what} as a list of {count} arrays [W, b]; got {type} of length {length}")
             if isinstance(got, (list, tuple)) else tr("return {what} as a list of {count} arrays [W, b]; got {type}"))
    require(ok, wrong.format(what=what, count=len(like), type=type(got).__name__,
                             length=len(got) if isinstance(got, (list, tuple)) else 0),
            fix=tr("keep the model's layout: one array per layer, [W, b], as the weights you were given"))
    out = []
    for i, (a, b) in enumerate(zip(got, like)):
        arr = np.asarray(a, dtype=np.float64) if np.asarray(a).dtype != object else None
        require(arr is not None and arr.shape == b.shape,
                tr("layer {index} of {what} must have shape {shape}; got {got}").format(
                    index=i, what=what, shape=b.shape, got=np.shape(a)),
                fix=tr("compute each layer from the same layer of the weights and the updates"))
        require(bool(np.all(np.isfinite(arr))),
                tr("layer {index} of {what} holds NaN or inf").format(index=i, what=what))
        out.append(arr)
    return out


def _close(a: list[np.ndarray], b: list[np.ndarray], atol: float = 1e-5) -> bool:
    return all(np.allclose(x, np.asarray(y, np.float64), rtol=1e-5, atol=atol) for x, y in zip(a, b))


# --------------------------------------------------------------------------------------------
# 06.1 FedAvg with server momentum
# --------------------------------------------------------------------------------------------


def _fedavgm(fn: Callable) -> str:
    """06.1: three rounds of FedAvgM on federations of unequal clients, velocity carried from round to round."""
    from labkit import fl

    for seed in range(4):
        fed = _federation(seed)
        server_lr, momentum = [(1.0, 0.9), (0.5, 0.5), (1.5, 0.8), (1.0, 0.0)][seed]
        weights = fed["weights"]
        velocity = [np.zeros_like(a) for a in weights]
        for r in range(3):
            args = (fed["clients"], fed["selected"], fed["lr"], fed["epochs"], fed["batch_size"])
            want_w, want_v = fl.fedavgm_round(weights, velocity, *args, server_lr=server_lr, momentum=momentum,
                                              rng=np.random.default_rng(seed * 10 + r))
            got = fn([a.copy() for a in weights], [a.copy() for a in velocity], *args, server_lr=server_lr,
                     momentum=momentum, rng=np.random.default_rng(seed * 10 + r))
            pair = isinstance(got, tuple) and len(got) == 2 or (  # a list of two [W, b] lists is the same answer
                isinstance(got, list) and len(got) == 2 and all(isinstance(g, (list, tuple)) for g in got))
            require(pair, tr("return a pair (new_weights, new_velocity); got {type}").format(type=type(got).__name__),
                    fix=tr("end with return new_weights, new_velocity (each a list [W, b])"))
            got_w = _as_layers(got[0], weights, tr("the new weights"))
            got_v = _as_layers(got[1], weights, tr("the new velocity"))
            setting = tr("(server_lr {server_lr}, momentum {momentum}, round {round}, clients of {sizes} "
                         "examples)").format(server_lr=server_lr, momentum=momentum, round=r + 1,
                sizes=[len(fed['clients'][k][1]) for k in fed['selected']])
            if not _close(got_v, want_v):
                _diagnose_velocity(got_v, weights, velocity, momentum, fed, seed * 10 + r, setting)
            if not _close(got_w, want_w):
                plain = fl.fedavg_round(weights, *args, rng=np.random.default_rng(seed * 10 + r))
                twice = [p + np.float32(server_lr) * m for p, m in zip(plain, want_v)]
                require(not _close(got_w, twice),
                        tr("your new weights take this round's averaged update twice {setting}").format(setting=setting),
                        fix=tr("start the server step from the weights the round began with: new_weights = weights + "
                               "server_lr * new_velocity (FedAvg's new model already contains the averaged update)"))
                back = [w - np.float32(server_lr) * m for w, m in zip(weights, want_v)]
                require(not _close(got_w, back),
                        tr("your server moves against the averaged update {setting}").format(setting=setting),
                        fix=tr("the averaged update points from the global model towards the clients' models: add "
                               "server_lr * velocity to the weights; it is not a gradient to subtract"))
                require(False, tr("your new weights differ from labkit's fedavgm_round {setting}, though your "
                                  "velocity is right").format(setting=setting),
                        fix=tr("new_weights = weights + server_lr * new_velocity, layer by layer"))
            weights, velocity = want_w, want_v
    return tr("Your FedAvgM equals labkit's fedavgm_round over three rounds on clients of unequal size; labkit's in "
              "turn equals TFF's build_weighted_fed_avg with a momentum server optimiser (build_sgdm) to 1e-5.")


def _diagnose_velocity(got_v, weights, velocity, momentum, fed, seed, setting) -> None:
    """Name the mistake in a wrong velocity: unweighted average, momentum ignored, velocity not updated."""
    from labkit import fl

    locals_ = []
    rng = np.random.default_rng(seed)
    for k in fed["selected"]:
        cx, cy = fed["clients"][k]
        locals_.append(fl.local_sgd(weights, cx, cy, fed["lr"], fed["epochs"], fed["batch_size"], rng))
    deltas = [[a - w for a, w in zip(m, weights)] for m in locals_]
    sizes = [len(fed["clients"][k][1]) for k in fed["selected"]]
    weighted = fl.weighted_average(deltas, sizes)
    plain = fl.weighted_average(deltas, [1.0] * len(deltas))
    beta = np.float32(momentum)
    require(not _close(got_v, [beta * v - d for v, d in zip(velocity, weighted)]),
            tr("your velocity has the opposite sign {setting}: you keep TFF's momentum accumulator (TFF's server "
               "optimiser is given minus the averaged update as its gradient)").format(setting=setting),
            fix=tr("use the exercise's convention, which adds the averaged update instead: new_velocity = momentum * "
                   "velocity + averaged update, and new_weights = weights + server_lr * new_velocity"))
    if momentum > 0:
        require(not _close(got_v, [beta * v + (1 - beta) * d for v, d in zip(velocity, weighted)]),
                tr("you scale this round's update by (1 - momentum), as in a moving average {setting}").format(
                    setting=setting),
                fix=tr("heavy-ball momentum adds the whole averaged update: new_velocity = momentum * velocity + "
                       "averaged update (the effective step then grows to about server_lr / (1 - momentum))"))
    require(not _close(got_v, [beta * v + d for v, d in zip(velocity, plain)]),
            tr("your averaged update weights every client alike {setting}").format(setting=setting),
            fix=tr("weight client k's update by n_k / sum n_k (its number of examples), as FedAvg does: "
                   "FedAvg's new model minus the weights is that weighted average"))
    if momentum > 0:
        require(not _close(got_v, weighted),
                tr("your velocity forgets the earlier rounds {setting}").format(setting=setting),
                fix=tr("carry the momentum: new_velocity = momentum * velocity + averaged update"))
    require(not _close(got_v, velocity),
            tr("you return the velocity you were given, unchanged {setting}").format(setting=setting),
            fix=tr("update it: new_velocity = momentum * velocity + averaged update, and return the new one"))
    require(False, tr("your new velocity differs from momentum * velocity + (weighted average of the client updates) "
                      "{setting}").format(setting=setting),
            fix=tr("run the FedAvg round (your fedavg_round or fl.fedavg_round, passing rng), subtract the weights to "
                   "get the averaged update, then new_velocity = momentum * velocity + that update"))


# --------------------------------------------------------------------------------------------
# 06.2 The FedAvg server update in TFF, run inside labkit's worker guard
# --------------------------------------------------------------------------------------------


def _tff_server_update(fn: Callable) -> str:
    """06.2: ``fn(tff, num_params)`` returns a federated computation (model@SERVER, deltas@CLIENTS,
    sizes@CLIENTS) -> model + weighted mean of the deltas @SERVER; run in :func:`labkit.fl.tff.session`."""
    from labkit.fl import tff as tff_runtime
    from labkit.fl import weighted_average

    tff = tff_runtime.import_tff()
    computations = {}
    for dim in (5, 3):
        try:
            comp = fn(tff, dim)
        except NotImplementedError:
            raise
        except Exception as err:  # the learner's TFF code failed while it was traced
            raise Hint(tr("building your computation raised {error}: {message}").format(
                           error=type(err).__name__, message=str(err)[:300]),
                       fix=tr("inside a tff.federated_computation you place values (SERVER, CLIENTS) and call "
                              "federated operators; arithmetic on a value placed at the server needs tff.federated_map "
                              "with a tff.tensorflow.computation, and tff.federated_zip((a, b)) to pair two server "
                              "values")) from None
        require(isinstance(comp, tff.Computation),
                tr("return the federated computation itself; got {type}").format(type=type(comp).__name__),
                fix=tr("decorate a function with @tff.federated_computation(model_type@SERVER, delta_type@CLIENTS, "
                       "size_type@CLIENTS) and return it"))
        result = comp.type_signature.result
        require(getattr(result, "placement", None) == tff.SERVER,
                tr("your computation returns {result}, not a value placed at the server").format(result=result),
                fix=tr("the new global model lives at the server: return the result of a federated operator that "
                       "places it there (tff.federated_mean, or tff.federated_map on a server value)"))
        computations[dim] = comp
    rng = np.random.default_rng(62)
    with tff_runtime.session():
        for dim, num_clients in ((5, 1), (5, 4), (3, 6)):
            model = rng.normal(size=dim).astype(np.float32)
            deltas = [rng.normal(size=dim).astype(np.float32) for _ in range(num_clients)]
            sizes = [np.float32(n) for n in rng.integers(1, 120, num_clients)]
            if num_clients > 1:
                sizes[0] = np.float32(200.0)  # one client far larger than the rest
            try:
                got = computations[dim](model, deltas, sizes)
            except Exception as err:
                raise Hint(tr("your computation of type {signature} could not be called with the server model "
                              "(float32[{dim}]), {count} client updates (float32[{dim}]) and {count} client sizes "
                              "(float32): {error}: {message}").format(
                               signature=computations[dim].type_signature, dim=dim, count=num_clients,
                               error=type(err).__name__, message=str(err)[:200]),
                           fix=tr("declare the three parameters as tff.FederatedType(tff.TensorType(np.float32, "
                                  "[num_params]), tff.SERVER), the same at tff.CLIENTS, and "
                                  "tff.FederatedType(np.float32, tff.CLIENTS)")) from None
            got = np.asarray(got, dtype=np.float64)
            require(got.shape == (dim,),
                    tr("return the new model, shape ({dim},); got shape {shape}").format(dim=dim, shape=got.shape))
            mean = weighted_average([[d] for d in deltas], sizes)[0].astype(np.float64)
            want = model + mean
            setting = tr("({count} client(s), sizes {sizes})").format(count=num_clients,
                                                                     sizes=[int(s) for s in sizes])
            if not np.allclose(got, want, atol=1e-5):
                plain = model + np.mean(deltas, axis=0)
                require(not np.allclose(got, plain, atol=1e-5),
                        tr("your server averages the updates without weights {setting}").format(setting=setting),
                        fix=tr("pass the sizes as the weight: tff.federated_mean(deltas, weight=sizes)"))
                require(not np.allclose(got, mean, atol=1e-5),
                        tr("you return the averaged update, not the new model {setting}").format(setting=setting),
                        fix=tr("add the averaged update to the server's model (tff.federated_zip the two server values "
                               "and tff.federated_map a tff.tensorflow.computation that adds them)"))
                require(not np.allclose(got, model - mean, atol=1e-5),
                        tr("your server subtracts the averaged update {setting}").format(setting=setting),
                        fix=tr("the update points from the model towards the clients' models: add it"))
                summed = model + np.sum([s * d for s, d in zip(sizes, deltas)], axis=0)
                require(not np.allclose(got, summed, atol=1e-4),
                        tr("your server adds the weighted sum of the updates without dividing by sum n_k {setting}")
                        .format(setting=setting),
                        fix=tr("a weighted mean divides by the total weight: tff.federated_mean(deltas, weight=sizes) "
                               "does"))
                require(False, tr("your new model differs from model + sum_k n_k delta_k / sum_k n_k {setting}").format(
                            setting=setting),
                        fix=tr("compute tff.federated_mean(deltas, weight=sizes) and add it to the model at the server"))
    if tff_runtime.live_workers():  # the guard's job, not the learner's
        raise RuntimeError(f"worker_binary still running after the session: {tff_runtime.live_workers()}")
    return tr("Your TFF computation ran in labkit's session (no worker_binary left) and gives model + the "
              "data-weighted mean of the updates: the server step of build_weighted_fed_avg.")


# --------------------------------------------------------------------------------------------
# 06.3 Find the broken FedAvg rounds
# --------------------------------------------------------------------------------------------

# The notebook shows these five rounds; tests/fl/test_fl_exercises.py proves on the notebook's own
# definitions that the broken ones differ from fl.fedavg_round and the others agree with it.
SUSPECT_ROUNDS: tuple[str, ...] = ("round_a", "round_b", "round_c", "round_d", "round_e")
BROKEN_ROUNDS: dict[str, str] = {
    "round_a": "round_a averages the updates with np.mean: every client counts the same, whatever its size "
               "(invisible on clients of equal size)",
    "round_c": "round_c starts each client from the previous client's model, so the updates come from different "
               "starting points and the result depends on the clients' order",
    "round_d": "round_d adds the averaged *model* to the weights as if it were an update: the weights are counted "
               "twice",
}


def _same_as_fedavg(fixed: Callable, what: str) -> None:
    from labkit import fl

    for seed in range(4):
        fed = _federation(seed)
        args = (fed["clients"], fed["selected"], fed["lr"], fed["epochs"], fed["batch_size"])
        want = fl.fedavg_round(fed["weights"], *args, np.random.default_rng(seed))
        got = _as_layers(fixed([a.copy() for a in fed["weights"]], *args, np.random.default_rng(seed)),
                         fed["weights"], what)
        sizes = [len(fed["clients"][k][1]) for k in fed["selected"]]
        require(_close(got, want), tr("{what} differs from fl.fedavg_round on clients of {sizes} examples "
                                      "(seed {seed}, same rng)").format(what=what, sizes=sizes, seed=seed),
                fix=tr("train every client from the round's weights, passing rng on to local_sgd (the check replays "
                       "the same batches), weight its update by n_k / sum n_k, and add the weighted average of the "
                       "updates to the weights once"))


def _find_the_bugs(fn: Callable) -> str:
    """06.3: the set of broken rounds among the notebook's five, and one of them fixed."""
    names, fixed = require_names_and_fix(fn(), list(SUSPECT_ROUNDS), N_("round"))
    correct = sorted(names - set(BROKEN_ROUNDS))
    require(not correct, tr("you call {count} correct round(s) broken").format(count=len(correct)),
            fix=tr("a round may be written differently from yours and still compute sum_k n_k w_k / sum_k n_k: run "
                   "each one beside fl.fedavg_round with the same rng seed; differences of float rounding (below "
                   "1e-6) are not bugs"))
    missing = sorted(set(BROKEN_ROUNDS) - names)
    require(not missing, tr("you missed {count} broken round(s)").format(count=len(missing)),
            fix=tr("run each round beside fl.fedavg_round on clients of very different sizes (say 5 and 40 "
                   "examples), with two clients or more and the same rng seed: some bugs hide when the sizes are "
                   "equal or nearly so, as on this notebook's clients (134 or 135 examples each)"))
    require(callable(fixed), tr("the second thing returned must be your fixed round, a function; got {type}").format(
                type=type(fixed).__name__),
            fix=tr("copy one broken round, repair it, and return the function (not its result)"))
    try:
        _same_as_fedavg(fixed, tr("your fixed round"))
    except Hint as err:
        raise Hint(tr("your fixed round is still wrong: {error}").format(error=err), err.fix) from None
    return tr("Right: a, c and d are broken. round_a is right only when every client holds the same number of "
              "examples; b and e are FedAvg written another way.")


# --------------------------------------------------------------------------------------------
# 07.1 The DP-FedAvg aggregation
# --------------------------------------------------------------------------------------------


def _dp_reference(updates: list[list[np.ndarray]], q: float, clip: float, z: float, seed: int) -> list[np.ndarray]:
    """labkit's DP-FedAvg server side: poisson_sample, clip_update over all layers, GaussianSum (same rng)."""
    from labkit import fl

    rng = np.random.default_rng(seed)
    shapes = [np.shape(a) for a in updates[0]]
    joined = fl.poisson_sample(len(updates), q, rng)
    flat = [np.concatenate([np.ravel(a) for a in fl.clip_update(updates[k], clip)]) for k in joined]
    total = fl.GaussianSum(z, clip, q * len(updates), rng)(flat, np.zeros(sum(int(np.prod(s)) for s in shapes))).total
    return _split(total, shapes)


def _split(flat: np.ndarray, shapes: list[tuple]) -> list[np.ndarray]:
    out, start = [], 0
    for s in shapes:
        size = int(np.prod(s))
        out.append(np.reshape(flat[start:start + size], s))
        start += size
    return out


def _dp_variant(updates, q, clip, z, seed, *, layer_clip=False, coordinate_clip=False, no_clip=False,
                noise_after=False, std_without_clip=False, actual_count=False, everyone=False, normalise=False,
                summed_layer_norms=False) -> list[np.ndarray]:
    """One typical mistake, under the same draws as :func:`_dp_reference` (to name it in a hint)."""
    rng = np.random.default_rng(seed)
    shapes = [np.shape(a) for a in updates[0]]
    joined = np.arange(len(updates)) if everyone else np.flatnonzero(rng.random(len(updates)) < q)

    def clipped(update):
        if no_clip:
            return [np.asarray(a, np.float64) for a in update]
        if coordinate_clip:
            return [np.clip(a, -clip, clip) for a in update]
        if layer_clip:
            return [a * min(1.0, clip / max(np.linalg.norm(a), 1e-300)) for a in update]
        if summed_layer_norms:
            norm = sum(float(np.linalg.norm(a)) for a in update)
        else:
            norm = math.sqrt(sum(float(np.sum(np.square(a))) for a in update))
        if normalise:
            return [a * (clip / norm) if norm > 0 else a for a in update]
        return [a * min(1.0, clip / norm) if norm > 0 else a for a in update]

    total = np.zeros(sum(int(np.prod(s)) for s in shapes))
    for k in joined:
        total = total + np.concatenate([np.ravel(a) for a in clipped(updates[k])])
    denominator = max(len(joined), 1) if actual_count else q * len(updates)
    std = z * (1.0 if std_without_clip else clip)
    noise = rng.normal(0.0, std, size=total.shape) if std > 0 else 0.0
    released = total / denominator + noise if noise_after else (total + noise) / denominator
    return _split(released, shapes)


def _dp_cases() -> list[tuple]:
    """(updates, q, clip, z, seed): layers [W (f x c), b (c,)], long and short updates, an empty sample."""
    cases = []
    for i, (num_clients, q, clip, z) in enumerate([(12, 0.5, 0.5, 1.0), (30, 0.2, 1.0, 0.7), (8, 0.9, 0.3, 2.0),
                                                   (5, 0.3, 1.0, 0.0), (20, 0.1, 2.0, 1.3)]):
        rng = np.random.default_rng(71 + i)
        f, c = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        updates = [[rng.normal(size=(f, c)) * s, rng.normal(size=c) * s]
                   for s in rng.choice([0.05, 0.5, 3.0], num_clients)]
        cases.append((updates, q, clip, z, 710 + i))
    empty = [i for i in range(50) if not np.any(np.random.default_rng(i).random(3) < 0.05)][0]
    rng = np.random.default_rng(7)
    cases.append(([[rng.normal(size=(2, 2)), rng.normal(size=2)] for _ in range(3)], 0.05, 1.0, 1.0, empty))
    return cases


_DP_MISTAKES = (
    (dict(everyone=True), N_("every client's update is in your sum: you did not sample"),
     N_("draw joined = rng.random(len(updates)) < q first (Poisson sampling), and sum only those clients")),
    (dict(layer_clip=True), N_("you clip each layer to norm clip on its own, so one client can move the sum by "
                               "clip * sqrt(number of layers)"),
     N_("take the norm over all layers together, sqrt(sum over layers of sum(layer ** 2)), and scale every layer by "
        "min(1, clip / norm)")),
    (dict(coordinate_clip=True), N_("np.clip bounds each coordinate, not the L2 norm of the whole update"),
     N_("scale the whole update by min(1, clip / norm), which keeps its direction")),
    (dict(normalise=True), N_("you scale every update to norm exactly clip, short ones up as well"),
     N_("clip only shrinks: scale by min(1, clip / norm), so an update already shorter than clip stays as it is")),
    (dict(summed_layer_norms=True), N_("your norm adds up the layers' norms; the L2 norm of the whole update is "
                                       "sqrt(sum of the squared norms)"),
     N_("norm = sqrt(sum over layers of np.sum(layer ** 2)), then scale every layer by min(1, clip / norm)")),
    (dict(no_clip=True), N_("a long update enters your sum unclipped"),
     N_("scale each sampled update by min(1, clip / norm) before you add it")),
    (dict(noise_after=True), N_("you add the noise to the average: it is expected_clients times what the accountant "
                                "assumes"),
     N_("add N(0, (z * clip)^2) to the sum of clipped updates, then divide the noisy sum by q * len(updates)")),
    (dict(std_without_clip=True), N_("your noise has standard deviation z, not z * clip"),
     N_("the sum's sensitivity is clip, so the noise is rng.normal(0, noise_multiplier * clip, size=...)")),
    (dict(actual_count=True), N_("you divide by the number of clients that joined: one user who joins then changes "
                                 "the denominator as well as the sum, more than the noise is calibrated for"),
     N_("divide by the expected number q * len(updates), fixed in advance (the same for an empty round)")),
)


def _dp_fedavg_aggregate(fn: Callable) -> str:
    """07.1: ``fn(updates, q, clip, noise_multiplier, rng)`` -> the released average [W, b]."""
    for updates, q, clip, z, seed in _dp_cases():
        want = _dp_reference(updates, q, clip, z, seed)
        copies = [[a.copy() for a in u] for u in updates]
        got = _as_layers(fn(copies, q, clip, z, np.random.default_rng(seed)), want, tr("the released average"))
        setting = tr("({count} clients, q {q}, clip {clip}, noise_multiplier {z})").format(
            count=len(updates), q=q, clip=clip, z=z)
        if _close(got, want, atol=1e-9):
            continue
        for flags, what, fix in _DP_MISTAKES:
            require(not _close(got, _dp_variant(updates, q, clip, z, seed, **flags), atol=1e-9),
                    f"{tr(what)} {setting}", fix=tr(fix))
        require(False, tr("your released average differs from labkit's {setting}").format(setting=setting),
                fix=tr("in this order: joined = rng.random(len(updates)) < q; clip each joined update over all "
                       "layers; sum; add rng.normal(0, noise_multiplier * clip, size=...) once per layer, W then b; "
                       "divide by q * len(updates)"))
    return tr("Your aggregation equals labkit's (poisson_sample, clip_update, GaussianSum) under the same generator, "
              "an empty round included: one user moves the released average by at most clip / (q K).")


# --------------------------------------------------------------------------------------------
# 07.2 Which epsilon do you report?
# --------------------------------------------------------------------------------------------

REPORT_CHOICES = ("amplified", "not amplified")


@functools.lru_cache(maxsize=64)
def _epsilon(q: float, z: float, rounds: int, delta: float, users: int, accountant: str) -> float:
    from labkit import fl

    return fl.user_level_epsilon(q, z, rounds, delta, users, accountant)


_RUNS = (
    dict(num_users=100, q=0.2, noise_multiplier=1.0, rounds=50, delta=1e-5, cohort="poisson"),
    dict(num_users=100, q=0.2, noise_multiplier=1.0, rounds=50, delta=1e-5, cohort="first to connect"),
    dict(num_users=2000, q=0.05, noise_multiplier=1.2, rounds=100, delta=1e-7, cohort="poisson"),
    dict(num_users=500, q=0.1, noise_multiplier=2.5, rounds=20, delta=1e-6, cohort="first to connect"),
)


def _epsilon_to_report(fn: Callable) -> str:
    """07.2: ``fn(run)`` -> (choice, epsilon) for the runs above; RDP or PLD both accepted."""
    for run in _RUNS:
        out = fn(dict(run))
        require(isinstance(out, tuple) and len(out) == 2,
                tr("return two things, your choice and the epsilon; got {type}").format(type=type(out).__name__),
                fix=tr('end with return "amplified" (or "not amplified"), epsilon'))
        choice, value = out
        require(isinstance(choice, str) and choice.strip().lower() in REPORT_CHOICES,
                tr("the choice must be one of {choices}; got {choice!r}").format(choices=REPORT_CHOICES,
                                                                                 choice=choice)[:200],
                fix=tr('return the string "amplified" when the cohort lets you use the sampling probability q, '
                       'else "not amplified"'))
        eps = require_number(value, "epsilon")
        k, q, z, t, d = run["num_users"], run["q"], run["noise_multiplier"], run["rounds"], run["delta"]
        random_cohort = run["cohort"] == "poisson"
        setting = tr("(K {k}, q {q}, z {z}, {rounds} rounds, delta {delta:g}, cohort {cohort!r})").format(
            k=k, q=q, z=z, rounds=t, delta=d, cohort=run["cohort"])
        require((choice.strip().lower() == "amplified") == random_cohort,
                tr("{choice!r} is the wrong choice for {setting}").format(choice=choice, setting=setting),
                fix=tr("amplification by sampling needs each user's participation in a round to be a fresh coin flip "
                       "with a known probability q, independent of the user's data and hidden from the adversary "
                       "(Poisson sampling with secret randomness). Who connects first is decided by the users' "
                       "habits, not by a coin: a phone that connects early every night is in every round, and the "
                       "server knows it. Then account every round as if the user took part (q = 1)"))
        q_used = q if random_cohort else 1.0
        if any(math.isclose(eps, _epsilon(q_used, z, t, d, k, acc), rel_tol=1e-3) for acc in ("rdp", "pld")):
            continue
        expected_rounds = max(1, round(q * t))
        require(not any(math.isclose(eps, _epsilon(1.0, z, expected_rounds, d, k, acc), rel_tol=1e-3)
                        for acc in ("rdp", "pld")),
                tr("you count only the {rounds} rounds a user joins on average (q x rounds) {setting}").format(
                    rounds=expected_rounds, setting=setting),
                fix=tr("a bound must hold for every user, also for one who joins more rounds than average: either "
                       "keep all the rounds and let the accountant use q (random cohort), or assume the user took "
                       "part in every round (q = 1)"))
        one_round = _epsilon(q_used, z, 1, d, k, "rdp")
        require(not math.isclose(eps, one_round, rel_tol=1e-3),
                tr("you report the epsilon of one round {setting}").format(setting=setting),
                fix=tr("the adversary sees every round's model: account all the rounds together"))
        require(not math.isclose(eps, t * one_round, rel_tol=1e-3),
                tr("you add up the per-round epsilons {setting}: valid, but far from the smallest epsilon you can "
                   "justify").format(setting=setting),
                fix=tr("compose the rounds with an accountant (fl.user_level_epsilon, RDP or PLD), which is much "
                       "tighter than adding epsilons"))
        other = _epsilon(1.0 if random_cohort else q, z, t, d, k, "rdp")
        require(not math.isclose(eps, other, rel_tol=1e-3),
                tr("your epsilon uses the sampling probability {q} {setting}").format(
                    q=1.0 if random_cohort else q, setting=setting),
                fix=tr("use q for the Poisson cohort (its amplification is real) and q = 1 for a first-come cohort"))
        require(False, tr("for {setting} expect epsilon {expected:.4g} (RDP); got {got:.4g}").format(
                    setting=setting, expected=_epsilon(q_used, z, t, d, k, "rdp"), got=eps),
                fix=tr("fl.user_level_epsilon(q, noise_multiplier, rounds, delta, num_users) with q = 1 when the "
                       "cohort is not random"))
    return tr("Right: sampling amplifies privacy only when each user's participation is a secret coin flip with a "
              "known probability, independent of the data; for the first-come cohort the same run costs epsilon "
              "{first_rdp:.1f} instead of {poisson_rdp:.1f} (RDP; PLD: {first_pld:.1f} instead of "
              "{poisson_pld:.1f}).").format(
        first_rdp=_epsilon(1.0, 1.0, 50, 1e-5, 100, "rdp"), poisson_rdp=_epsilon(0.2, 1.0, 50, 1e-5, 100, "rdp"),
        first_pld=_epsilon(1.0, 1.0, 50, 1e-5, 100, "pld"), poisson_pld=_epsilon(0.2, 1.0, 50, 1e-5, 100, "pld"))


# --------------------------------------------------------------------------------------------
# 07.3 What does the server learn?
# --------------------------------------------------------------------------------------------

SERVER_VIEWS = ("each update", "the exact sum", "the noisy sum", "who took part")
SETTINGS: dict[str, set[str]] = {
    "tff simulation": {"each update", "the exact sum", "who took part"},
    "secure aggregation": {"the exact sum", "who took part"},
    "central dp": {"each update", "the exact sum", "the noisy sum", "who took part"},
    "distributed dp with secure aggregation": {"the noisy sum", "who took part"},
}
_WHY: dict[tuple[str, str], str] = {
    ("tff simulation", "each update"): N_(
        "TFF's simulated secure sum is a plain sum in one process: every client value is held in the clear by "
        "whoever runs the simulation"),
    ("tff simulation", "the exact sum"): N_(
        "the simulation computes the sum without noise, and that is what it returns"),
    ("tff simulation", "who took part"): N_(
        "the simulation is given every client's dataset"),
    ("tff simulation", "the noisy sum"): N_(
        "nobody adds noise in this deployment: there is only the exact sum"),
    ("secure aggregation", "each update"): N_(
        "with real secure aggregation each update reaches the server masked; the pairwise masks cancel only "
        "in the sum"),
    ("secure aggregation", "the exact sum"): N_(
        "secure aggregation exists to give the server the exact sum; without noise nothing else hides it"),
    ("secure aggregation", "the noisy sum"): N_(
        "secure aggregation hides the updates, not the sum: nobody adds noise here"),
    ("secure aggregation", "who took part"): N_(
        "the server runs the protocol with each client and learns who sent masked inputs (and who dropped "
        "out)"),
    ("central dp", "each update"): N_(
        "in central DP the server itself clips, sums and adds the noise, so it sees every clipped update in "
        "the clear first"),
    ("central dp", "the exact sum"): N_(
        "the server adds the noise to a sum it computed itself"),
    ("central dp", "the noisy sum"): N_(
        "the server releases the noisy sum"),
    ("central dp", "who took part"): N_(
        "the server samples the clients itself"),
    ("distributed dp with secure aggregation", "each update"): N_(
        "each update arrives masked and noised by its client"),
    ("distributed dp with secure aggregation", "the exact sum"): N_(
        "every client adds its share of the noise before masking, so the sum the server unmasks is already "
        "noisy"),
    ("distributed dp with secure aggregation", "the noisy sum"): N_(
        "the server unmasks the sum of noisy updates"),
    ("distributed dp with secure aggregation", "who took part"): N_(
        "secure aggregation does not hide who sent masked inputs"),
}


def _server_learns(fn: Callable) -> str:
    """07.3: for each deployment, the set of :data:`SERVER_VIEWS` the server (or whoever runs it) learns."""
    for setting, want in SETTINGS.items():
        got = fn(setting)
        require(isinstance(got, (set, frozenset, list, tuple)) and all(isinstance(g, str) for g in got),
                tr("return a set of strings from {views} for {setting!r}; got {type}").format(
                    views=SERVER_VIEWS, setting=setting, type=type(got).__name__),
                fix=tr('return for example {{"the exact sum", "who took part"}}').format())
        names = {g.strip().lower() for g in got}
        unknown = sorted(names - set(SERVER_VIEWS))
        require(not unknown, tr("unknown items {unknown}; choose among {views}").format(unknown=unknown,
                                                                                       views=SERVER_VIEWS),
                fix=tr("spell the items as listed in the exercise"))
        extra, missing = sorted(names - want), sorted(want - names)
        if extra:
            raise Hint(tr("for {setting!r} you say the server learns {item!r}; it does not").format(
                           setting=setting, item=extra[0]),
                       fix=tr(_WHY[(setting, extra[0])]))
        if missing:
            raise Hint(tr("for {setting!r} the server learns more than you say ({count} item(s) missing)").format(
                           setting=setting, count=len(missing)),
                       fix=tr(_WHY[(setting, missing[0])]))
    return tr("Right: only client-side noise under real secure aggregation keeps the exact sum and the updates from "
              "the server; TFF's simulation hides nothing, and no setting here hides who took part.")


CHECKS = {
    "06.1": Exercise(_fedavgm, "build", "core", 20),
    "06.2": Exercise(_tff_server_update, "build", "stretch", 20),
    "06.3": Exercise(_find_the_bugs, "reason", "core", 15),
    "07.1": Exercise(_dp_fedavg_aggregate, "build", "core", 20),
    "07.2": Exercise(_epsilon_to_report, "reason", "core", 15),
    "07.3": Exercise(_server_learns, "reason", "stretch", 10),
}
