"""Exercises 06.1-06.3 and 07.1-07.3: each check's catalogue of typical wrong answers (named for the
mistake), correct answers written differently, and the solution (proved by tests/test_exercises_framework.py);
the rounds that notebook 06 and 07 build in their cells equal labkit's on seeded property tests (build then
save); the suspects of 06.3 are broken exactly as labkit.fl.checks says; the non-IID widget builds and its
lookup is pure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercise_proof import Catalogue, assert_hints
from labkit import fl
from labkit.fl import checks
from notebook_source import notebook_function

# ---------------------------------------------------------------- 06.1 FedAvg with server momentum


def fedavgm_round(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum, rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    new_velocity = [np.float32(momentum) * v + (a - w) for v, a, w in zip(velocity, averaged, weights)]
    new_weights = [w + np.float32(server_lr) * v for w, v in zip(weights, new_velocity)]
    return new_weights, new_velocity


def fedavgm_round_float64_from_local_sgd(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr,
                                         momentum, rng=None):
    """Trains each client with local_sgd and averages the updates by hand, in float64."""
    n = sum(len(clients[k][1]) for k in selected)
    mean = [np.zeros(np.shape(a)) for a in weights]
    for k in selected:
        cx, cy = clients[k]
        local = fl.local_sgd(weights, cx, cy, lr, epochs, batch_size, rng)
        mean = [m + len(cy) / n * (np.float64(a) - b) for m, a, b in zip(mean, local, weights)]
    new_velocity = [momentum * np.float64(v) + m for v, m in zip(velocity, mean)]
    return tuple([list(w + server_lr * v for w, v in zip(weights, new_velocity)), new_velocity])


def fedavgm_round_labkit(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum, rng=None):
    return fl.fedavgm_round(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr=server_lr,
                            momentum=momentum, rng=rng)


def momentum_ignored(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum, rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    new_velocity = [a - w for a, w in zip(averaged, weights)]
    return [w + np.float32(server_lr) * v for w, v in zip(weights, new_velocity)], new_velocity


def velocity_not_updated(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum, rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    new_velocity = [np.float32(momentum) * v + (a - w) for v, a, w in zip(velocity, averaged, weights)]
    return [w + np.float32(server_lr) * v for w, v in zip(weights, new_velocity)], velocity


def averaged_without_weights(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum,
                             rng=None):
    locals_ = [fl.local_sgd(weights, *clients[k], lr, epochs, batch_size, rng) for k in selected]
    mean = [np.mean([m[i] - weights[i] for m in locals_], axis=0) for i in range(2)]
    new_velocity = [np.float32(momentum) * v + d for v, d in zip(velocity, mean)]
    return [w + np.float32(server_lr) * v for w, v in zip(weights, new_velocity)], new_velocity


def update_applied_twice(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum, rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    new_velocity = [np.float32(momentum) * v + (a - w) for v, a, w in zip(velocity, averaged, weights)]
    return [a + np.float32(server_lr) * v for a, v in zip(averaged, new_velocity)], new_velocity


def moved_against_the_update(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum,
                             rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    new_velocity = [np.float32(momentum) * v + (a - w) for v, a, w in zip(velocity, averaged, weights)]
    return [w - np.float32(server_lr) * v for w, v in zip(weights, new_velocity)], new_velocity


def fedavgm_round_returns_a_list(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum,
                                 rng=None):
    new_weights, new_velocity = fedavgm_round(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr,
                                              momentum, rng)
    return [new_weights, new_velocity]


def velocity_with_tff_sign(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum,
                           rng=None):
    """TFF's accumulator: the averaged update's negative is the gradient; the weights come out right."""
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    accumulator = [np.float32(momentum) * a + (w - m) for a, m, w in zip(velocity, averaged, weights)]
    return [w - np.float32(server_lr) * a for w, a in zip(weights, accumulator)], accumulator


def momentum_as_moving_average(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum,
                               rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    beta = np.float32(momentum)
    new_velocity = [beta * v + (1 - beta) * (a - w) for v, a, w in zip(velocity, averaged, weights)]
    return [w + np.float32(server_lr) * v for w, v in zip(weights, new_velocity)], new_velocity


def server_lr_ignored(weights, velocity, clients, selected, lr, epochs, batch_size, server_lr, momentum, rng=None):
    averaged = fl.fedavg_round(weights, clients, selected, lr, epochs, batch_size, rng)
    new_velocity = [np.float32(momentum) * v + (a - w) for v, a, w in zip(velocity, averaged, weights)]
    return [w + v for w, v in zip(weights, new_velocity)], new_velocity


def returns_weights_only(weights, velocity, *args, **kwargs):
    return weights


# ---------------------------------------------------------------- 06.2 the server update in TFF


def _types(tff, num_params):
    model_type = tff.TensorType(np.float32, [num_params])
    return model_type, (tff.FederatedType(model_type, tff.SERVER), tff.FederatedType(model_type, tff.CLIENTS),
                        tff.FederatedType(np.float32, tff.CLIENTS))


def _server_update(tff, num_params, mean, combine):
    model_type, signature = _types(tff, num_params)

    @tff.tensorflow.computation(model_type, model_type)
    def step(w, d):
        return combine(w, d)

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        return tff.federated_map(step, tff.federated_zip((model, mean(tff, deltas, sizes))))

    return server_update


def build_server_update(tff, num_params):
    return _server_update(tff, num_params, lambda tff, d, n: tff.federated_mean(d, weight=n), lambda w, d: w + d)


def build_server_update_from_weighted_sums(tff, num_params):
    """The weighted mean written as two federated sums: sum_k n_k delta_k and sum_k n_k."""
    model_type, signature = _types(tff, num_params)

    @tff.tensorflow.computation(model_type, np.float32)
    def scale(d, n):
        return d * n

    @tff.tensorflow.computation(model_type, model_type, np.float32)
    def step(w, weighted_sum, total):
        return w + weighted_sum / total

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        weighted_sum = tff.federated_sum(tff.federated_map(scale, tff.federated_zip((deltas, sizes))))
        return tff.federated_map(step, tff.federated_zip((model, weighted_sum, tff.federated_sum(sizes))))

    return server_update


def broadcast_then_average_models(tff, num_params):
    """Each client adds its update to the broadcast model; the server takes the weighted mean of the models."""
    model_type, signature = _types(tff, num_params)

    @tff.tensorflow.computation(model_type, model_type)
    def add(w, d):
        return w + d

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        local_models = tff.federated_map(add, tff.federated_zip((tff.federated_broadcast(model), deltas)))
        return tff.federated_mean(local_models, weight=sizes)

    return server_update


def averaged_the_scaled_updates(tff, num_params):
    """An unweighted mean of n_k * delta_k: divides by the number of clients, not by sum n_k."""
    model_type, signature = _types(tff, num_params)

    @tff.tensorflow.computation(model_type, np.float32)
    def scale(d, n):
        return d * n

    @tff.tensorflow.computation(model_type, model_type)
    def add(w, d):
        return w + d

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        mean = tff.federated_mean(tff.federated_map(scale, tff.federated_zip((deltas, sizes))))
        return tff.federated_map(add, tff.federated_zip((model, mean)))

    return server_update


def unweighted_federated_mean(tff, num_params):
    return _server_update(tff, num_params, lambda tff, d, n: tff.federated_mean(d), lambda w, d: w + d)


def subtracted_the_update(tff, num_params):
    return _server_update(tff, num_params, lambda tff, d, n: tff.federated_mean(d, weight=n), lambda w, d: w - d)


def returned_the_mean_update(tff, num_params):
    _, signature = _types(tff, num_params)

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        return tff.federated_mean(deltas, weight=sizes)

    return server_update


def summed_without_dividing(tff, num_params):
    model_type, signature = _types(tff, num_params)

    @tff.tensorflow.computation(model_type, np.float32)
    def scale(d, n):
        return d * n

    @tff.tensorflow.computation(model_type, model_type)
    def add(w, d):
        return w + d

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        weighted_sum = tff.federated_sum(tff.federated_map(scale, tff.federated_zip((deltas, sizes))))
        return tff.federated_map(add, tff.federated_zip((model, weighted_sum)))

    return server_update


def added_server_values_with_plus(tff, num_params):
    _, signature = _types(tff, num_params)

    @tff.federated_computation(*signature)
    def server_update(model, deltas, sizes):
        return model + tff.federated_mean(deltas, weight=sizes)

    return server_update


def returns_an_undecorated_function(tff, num_params):
    def server_update(model, deltas, sizes):
        return model + np.average(deltas, axis=0, weights=sizes)

    return server_update


# ---------------------------------------------------------------- 06.3 find the broken rounds


def _suspect(name):
    return notebook_function("06", name, {"np": np, "fl": fl, "local_sgd": fl.local_sgd})


def fixed_round_a(weights, clients, selected, lr, epochs, batch_size, rng=None):
    deltas, sizes = [], []
    for k in selected:
        cx, cy = clients[k]
        local = fl.local_sgd(weights, cx, cy, lr, epochs, batch_size, rng)
        deltas.append([a - b for a, b in zip(local, weights)])
        sizes.append(len(cy))
    mean_delta = fl.weighted_average(deltas, sizes)
    return [a + d for a, d in zip(weights, mean_delta)]


def find_the_bugs():
    return {"round_a", "round_c", "round_d"}, fixed_round_a


def find_the_bugs_as_list_fixing_d():
    def fixed_round_d(weights, clients, selected, lr, epochs, batch_size, rng=None):
        models = [fl.local_sgd(weights, *clients[k], lr, epochs, batch_size, rng) for k in selected]
        return fl.weighted_average(models, [len(clients[k][1]) for k in selected])

    return ["round_d", "round_a", "round_c"], fixed_round_d


def missed_the_unweighted_average():
    return {"round_c", "round_d"}, fixed_round_a


def called_a_rewrite_broken():
    return {"round_a", "round_b", "round_c", "round_d"}, fixed_round_a


def fixed_round_still_unweighted():
    return {"round_a", "round_c", "round_d"}, _suspect("round_a")


def fixed_round_still_sequential():
    return {"round_a", "round_c", "round_d"}, _suspect("round_c")


def missed_the_sequential_round():
    return {"round_a", "round_d"}, fixed_round_a


def fixed_round_without_rng(weights, clients, selected, lr, epochs, batch_size, rng=None):
    deltas, sizes = [], []
    for k in selected:
        cx, cy = clients[k]
        local = fl.local_sgd(weights, cx, cy, lr, epochs, batch_size)  # rng not passed on: other batches
        deltas.append([a - b for a, b in zip(local, weights)])
        sizes.append(len(cy))
    return [a + d for a, d in zip(weights, fl.weighted_average(deltas, sizes))]


def fixed_round_ignores_rng():
    return {"round_a", "round_c", "round_d"}, fixed_round_without_rng


def named_rounds_by_letter():
    return {"a", "c", "d"}, fixed_round_a


def returned_the_broken_set_only():
    return {"round_a", "round_c", "round_d"}


# ---------------------------------------------------------------- 07.1 the DP-FedAvg aggregation


def dp_fedavg_aggregate(updates, q, clip, noise_multiplier, rng):
    joined = rng.random(len(updates)) < q
    total = [np.zeros(np.shape(a)) for a in updates[0]]
    for update, took_part in zip(updates, joined):
        if took_part:
            norm = np.sqrt(sum(np.sum(np.square(a)) for a in update))
            scale = min(1.0, clip / norm) if norm > 0 else 1.0
            total = [t + scale * a for t, a in zip(total, update)]
    noisy = [t + rng.normal(0.0, noise_multiplier * clip, size=t.shape) for t in total]
    return [n / (q * len(updates)) for n in noisy]


def dp_fedavg_aggregate_with_labkit_pieces(updates, q, clip, noise_multiplier, rng):
    joined = fl.poisson_sample(len(updates), q, rng)
    clipped = [fl.clip_update(updates[k], clip) for k in joined]
    total = [sum((u[i] for u in clipped), np.zeros(np.shape(updates[0][i]))) for i in range(len(updates[0]))]
    std = noise_multiplier * clip
    return [list(((t + std * rng.standard_normal(t.shape)) / (q * len(updates))).tolist()) for t in total]


def dp_fedavg_aggregate_float32(updates, q, clip, noise_multiplier, rng):
    return [np.float32(a) for a in dp_fedavg_aggregate([[np.float32(x) for x in u] for u in updates], q, clip,
                                                        noise_multiplier, rng)]


def _aggregate(updates, q, clip, noise_multiplier, rng, *, sample=True, clip_fn=None, std=None, after=False,
               denominator=None):
    joined = rng.random(len(updates)) < q if sample else np.ones(len(updates), bool)
    total = [np.zeros(np.shape(a)) for a in updates[0]]
    for update, took_part in zip(updates, joined):
        if took_part:
            total = [t + a for t, a in zip(total, (clip_fn or fl.clip_update)(update, clip))]
    noise = [rng.normal(0.0, noise_multiplier * clip if std is None else std, size=t.shape) for t in total]
    d = q * len(updates) if denominator is None else denominator(joined)
    return [t / d + n for t, n in zip(total, noise)] if after else [(t + n) / d for t, n in zip(total, noise)]


def forgot_to_sample(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, sample=False)


def clipped_each_layer_separately(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, clip_fn=lambda u, c: [fl.clip_update([a], c)[0] for a in u])


def clipped_per_coordinate(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, clip_fn=lambda u, c: [np.clip(a, -c, c) for a in u])


def forgot_to_clip(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, clip_fn=lambda u, c: u)


def noise_added_after_averaging(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, after=True)


def sigma_not_multiplied_by_clip(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, std=noise_multiplier)


def divided_by_actual_count(updates, q, clip, noise_multiplier, rng):
    return _aggregate(updates, q, clip, noise_multiplier, rng, denominator=lambda joined: max(int(joined.sum()), 1))


def normalised_instead_of_clipped(updates, q, clip, noise_multiplier, rng):  # short updates scaled up to norm clip
    def normalise(u, c):
        norm = np.sqrt(sum(np.sum(np.square(a)) for a in u))
        return [a * (c / norm) for a in u]
    return _aggregate(updates, q, clip, noise_multiplier, rng, clip_fn=normalise)


def norm_as_sum_of_layer_norms(updates, q, clip, noise_multiplier, rng):
    def clip_by_summed_norms(u, c):
        norm = sum(np.linalg.norm(a) for a in u)
        return [a * min(1.0, c / norm) for a in u]
    return _aggregate(updates, q, clip, noise_multiplier, rng, clip_fn=clip_by_summed_norms)


def sampled_a_fixed_number(updates, q, clip, noise_multiplier, rng):
    chosen = rng.choice(len(updates), int(round(q * len(updates))), replace=False)
    total = [np.zeros(np.shape(a)) for a in updates[0]]
    for k in chosen:
        total = [t + a for t, a in zip(total, fl.clip_update(updates[k], clip))]
    return [(t + rng.normal(0.0, noise_multiplier * clip, size=t.shape)) / (q * len(updates)) for t in total]


def returns_the_first_update(updates, q, clip, noise_multiplier, rng):
    return updates[0]


# ---------------------------------------------------------------- 07.2 which epsilon do you report


def epsilon_to_report(run):
    random_cohort = run["cohort"] == "poisson"
    q = run["q"] if random_cohort else 1.0
    epsilon = fl.user_level_epsilon(q, run["noise_multiplier"], run["rounds"], run["delta"], run["num_users"])
    return ("amplified" if random_cohort else "not amplified"), epsilon


def epsilon_to_report_pld(run):
    q = run["q"] if run["cohort"] == "poisson" else 1
    eps = fl.user_level_epsilon(q, run["noise_multiplier"], run["rounds"], run["delta"], run["num_users"], "pld")
    return ("Amplified" if run["cohort"] == "poisson" else "not amplified"), np.float32(eps)


def always_amplified(run):
    return "amplified", fl.user_level_epsilon(run["q"], run["noise_multiplier"], run["rounds"], run["delta"],
                                              run["num_users"])


def one_round_only(run):
    choice, _ = epsilon_to_report(run)
    q = run["q"] if choice == "amplified" else 1.0
    return choice, fl.user_level_epsilon(q, run["noise_multiplier"], 1, run["delta"], run["num_users"])


def added_per_round_epsilons(run):
    choice, _ = epsilon_to_report(run)
    q = run["q"] if choice == "amplified" else 1.0
    return choice, run["rounds"] * fl.user_level_epsilon(q, run["noise_multiplier"], 1, run["delta"], run["num_users"])


def right_choice_but_never_amplified(run):
    choice, _ = epsilon_to_report(run)
    return choice, fl.user_level_epsilon(1.0, run["noise_multiplier"], run["rounds"], run["delta"], run["num_users"])


def counted_expected_participations(run):  # "a user joins q x rounds rounds", accounted without sampling
    choice, _ = epsilon_to_report(run)
    if choice == "amplified":
        return epsilon_to_report(run)
    rounds = max(1, round(run["q"] * run["rounds"]))
    return choice, fl.user_level_epsilon(1.0, run["noise_multiplier"], rounds, run["delta"], run["num_users"])


def returned_epsilon_only(run):
    return epsilon_to_report(run)[1]


# ---------------------------------------------------------------- 07.3 what does the server learn


_LEARNS = {
    "tff simulation": {"each update", "the exact sum", "who took part"},
    "secure aggregation": {"the exact sum", "who took part"},
    "central dp": {"each update", "the exact sum", "the noisy sum", "who took part"},
    "distributed dp with secure aggregation": {"the noisy sum", "who took part"},
}


def what_the_server_learns(setting):
    return _LEARNS[setting]


def what_the_server_learns_as_lists(setting):
    return sorted(item.upper() for item in _LEARNS[setting])


def _but(setting, change):
    def answer(s):
        return change(set(_LEARNS[s])) if s == setting else _LEARNS[s]
    return answer


def simulation_thought_private(setting):  # TFF's simulated secure sum taken for the real protocol
    return _but("tff simulation", lambda got: got - {"each update"})(setting)


def central_dp_hides_the_updates(setting):  # forgot that the server adds the noise itself
    return _but("central dp", lambda got: got - {"each update", "the exact sum"})(setting)


def secure_aggregation_hides_who_took_part(setting):
    return _but("secure aggregation", lambda got: got - {"who took part"})(setting)


def distributed_dp_unmasks_the_exact_sum(setting):
    return _but("distributed dp with secure aggregation", lambda got: got | {"the exact sum"})(setting)


def secure_aggregation_adds_noise(setting):  # secure aggregation confused with DP
    return _but("secure aggregation", lambda got: (got - {"the exact sum"}) | {"the noisy sum"})(setting)


def central_dp_hides_who_took_part(setting):  # DP protects participation from the public, not from the server
    return _but("central dp", lambda got: got - {"who took part"})(setting)


def everything_everywhere(setting):
    return {"each update", "the exact sum", "the noisy sum", "who took part"}


# ---------------------------------------------------------------- the catalogues


CATALOGUES = {
    "06.1": Catalogue(fedavgm_round, [fedavgm_round_float64_from_local_sgd, fedavgm_round_labkit,
                                      fedavgm_round_returns_a_list],
                      [momentum_ignored, velocity_not_updated, averaged_without_weights, update_applied_twice,
                       moved_against_the_update, velocity_with_tff_sign, momentum_as_moving_average,
                       server_lr_ignored], [returns_weights_only]),
    "06.2": Catalogue(build_server_update, [build_server_update_from_weighted_sums, broadcast_then_average_models],
                      [unweighted_federated_mean, subtracted_the_update, returned_the_mean_update,
                       summed_without_dividing, added_server_values_with_plus, averaged_the_scaled_updates],
                      [returns_an_undecorated_function]),
    "06.3": Catalogue(find_the_bugs, [find_the_bugs_as_list_fixing_d],
                      [missed_the_unweighted_average, called_a_rewrite_broken, fixed_round_still_unweighted,
                       fixed_round_still_sequential, missed_the_sequential_round, fixed_round_ignores_rng],
                      [named_rounds_by_letter, returned_the_broken_set_only]),
    "07.1": Catalogue(dp_fedavg_aggregate, [dp_fedavg_aggregate_with_labkit_pieces, dp_fedavg_aggregate_float32],
                      [forgot_to_sample, clipped_each_layer_separately, clipped_per_coordinate, forgot_to_clip,
                       noise_added_after_averaging, sigma_not_multiplied_by_clip, divided_by_actual_count,
                       normalised_instead_of_clipped, norm_as_sum_of_layer_norms, sampled_a_fixed_number],
                      [returns_the_first_update]),
    "07.2": Catalogue(epsilon_to_report, [epsilon_to_report_pld],
                      [always_amplified, one_round_only, added_per_round_epsilons, right_choice_but_never_amplified,
                       counted_expected_participations],
                      [returned_epsilon_only]),
    "07.3": Catalogue(what_the_server_learns, [what_the_server_learns_as_lists],
                      [simulation_thought_private, central_dp_hides_the_updates, secure_aggregation_hides_who_took_part,
                       distributed_dp_unmasks_the_exact_sum, secure_aggregation_adds_noise,
                       central_dp_hides_who_took_part], [everything_everywhere]),
}


HINTS = [
    ("06.1", momentum_ignored, "forgets the earlier rounds"),
    ("06.1", velocity_not_updated, "velocity you were given"),
    ("06.1", averaged_without_weights, "every client alike"),
    ("06.1", update_applied_twice, "twice"),
    ("06.1", moved_against_the_update, "against the averaged update"),
    ("06.1", velocity_with_tff_sign, "opposite sign"),
    ("06.1", momentum_as_moving_average, "(1 - momentum)"),
    ("06.1", server_lr_ignored, "though your velocity is right"),
    ("06.3", missed_the_unweighted_average, "missed 1 broken round"),
    ("06.3", called_a_rewrite_broken, "1 correct round(s) broken"),
    ("06.3", fixed_round_still_unweighted, "your fixed round is still wrong"),
    ("06.3", fixed_round_ignores_rng, "your fixed round is still wrong"),
    ("07.1", forgot_to_sample, "did not sample"),
    ("07.1", clipped_each_layer_separately, "each layer"),
    ("07.1", clipped_per_coordinate, "np.clip"),
    ("07.1", forgot_to_clip, "unclipped"),
    ("07.1", noise_added_after_averaging, "noise to the average"),
    ("07.1", sigma_not_multiplied_by_clip, "not z * clip"),
    ("07.1", divided_by_actual_count, "number of clients that joined"),
    ("07.1", normalised_instead_of_clipped, "short ones up"),
    ("07.1", norm_as_sum_of_layer_norms, "adds up the layers' norms"),
    ("07.2", always_amplified, "wrong choice"),
    ("07.2", one_round_only, "one round"),
    ("07.2", added_per_round_epsilons, "add up the per-round"),
    ("07.2", right_choice_but_never_amplified, "sampling probability 1.0"),
    ("07.2", counted_expected_participations, "rounds a user joins on average"),
    ("07.3", simulation_thought_private, "'tff simulation' the server learns more"),
    ("07.3", distributed_dp_unmasks_the_exact_sum, "learns 'the exact sum'; it does not"),
]


@pytest.mark.slow
def test_the_tff_hints_name_the_mistake():
    from labkit.fl import tff as tff_runtime

    assert_hints([("06.2", unweighted_federated_mean, "without weights"),
                  ("06.2", subtracted_the_update, "subtracts"),
                  ("06.2", returned_the_mean_update, "not the new model"),
                  ("06.2", summed_without_dividing, "without dividing"),
                  ("06.2", added_server_values_with_plus, "building your computation raised")])
    assert tff_runtime.live_workers() == []


def test_the_hints_name_the_mistake():
    assert_hints(HINTS)


@pytest.mark.parametrize("exercise, answer, words", [
    ("06.3", fixed_round_ignores_rng, "passing rng on to local_sgd"),
    ("07.2", always_amplified, "independent of the user's data"),
    ("07.2", counted_expected_participations, "every round (q = 1)"),
])
def test_the_fix_says_how(exercise, answer, words):
    from labkit.exercises import check

    result = check(exercise, answer, hint=True)
    assert not result.passed and "How to fix it:" in result.feedback and words in result.feedback, result.feedback


# ---------------------------------------------------------------- build then save: the notebooks' rounds


def _federations():
    for seed in range(4):
        fed = checks._federation(seed)
        yield seed, fed, (fed["clients"], fed["selected"], fed["lr"], fed["epochs"], fed["batch_size"])


def test_notebook_06_local_sgd_fedavg_and_fedsgd_equal_labkits_bit_for_bit():
    local_sgd = notebook_function("06", "local_sgd", {"np": np, "fl": fl})
    scope = {"np": np, "fl": fl, "local_sgd": local_sgd}
    fedavg_round = notebook_function("06", "fedavg_round", scope)
    fedsgd_round = notebook_function("06", "fedsgd_round", scope)
    for seed, fed, args in _federations():
        clients, selected, lr, epochs, batch = args
        w = fed["weights"]
        cx, cy = clients[seed % len(clients)]
        assert fl.max_abs_difference(local_sgd(w, cx, cy, lr, epochs, batch, np.random.default_rng(seed)),
                                     fl.local_sgd(w, cx, cy, lr, epochs, batch, np.random.default_rng(seed))) == 0
        for rng in (None, seed):
            ours = fedavg_round(w, *args, None if rng is None else np.random.default_rng(rng))
            theirs = fl.fedavg_round(w, *args, None if rng is None else np.random.default_rng(rng))
            assert fl.max_abs_difference(ours, theirs) == 0
        assert fl.max_abs_difference(fedsgd_round(w, clients, selected, lr), fl.fedsgd_round(w, clients, selected, lr)) == 0


def test_notebook_07_dp_fedavg_round_equals_labkits_bit_for_bit():
    dp_round = notebook_function("07", "dp_fedavg_round", {"np": np, "fl": fl})
    for seed, fed, (clients, selected, lr, epochs, batch) in _federations():
        settings = dict(lr=lr, epochs=epochs, batch_size=batch, clip=[0.05, 0.3, 1.0, 5.0][seed],
                        noise_multiplier=[0.0, 1.0, 0.5, 2.0][seed], expected_clients=[1.5, 3.0, 2.0, 7.0][seed])
        for chosen in (selected, selected[:1]):
            ours = dp_round(fed["weights"], clients, chosen, **settings, rng=np.random.default_rng(seed))
            theirs = fl.dp_fedavg_round(fed["weights"], clients, chosen, **settings, rng=np.random.default_rng(seed))
            assert fl.max_abs_difference(ours, theirs) == 0


def test_the_06_suspects_are_broken_exactly_as_the_check_says():
    for name in checks.SUSPECT_ROUNDS:
        suspect = _suspect(name)
        gaps = []
        for seed, fed, args in _federations():
            ours = suspect(fed["weights"], *args, np.random.default_rng(seed))
            gaps.append(fl.max_abs_difference(ours, fl.fedavg_round(fed["weights"], *args, np.random.default_rng(seed))))
        if name in checks.BROKEN_ROUNDS:
            assert max(gaps) > 1e-3, (name, gaps)
        else:
            assert max(gaps) < 1e-6, (name, gaps)


def test_round_a_hides_on_clients_of_equal_size():
    """round_a's bug vanishes on clients of equal size (and nearly so on the notebook's, 134 or 135 examples each)."""
    round_a = _suspect("round_a")
    rng = np.random.default_rng(0)
    clients = [(rng.normal(size=(20, 4)).astype(np.float32), rng.integers(0, 3, 20)) for _ in range(3)]
    w = fl.init_weights(4, 3, rng, scale=0.3)
    assert fl.max_abs_difference(round_a(w, clients, [0, 1, 2], 0.3, 1, 5), fl.fedavg_round(w, clients, [0, 1, 2], 0.3, 1, 5)) < 1e-6


def test_fedavgm_with_no_momentum_and_unit_step_is_fedavg():
    for seed, fed, args in _federations():
        new, velocity = fl.fedavgm_round(fed["weights"], None, *args, server_lr=1.0, momentum=0.0,
                                         rng=np.random.default_rng(seed))
        plain = fl.fedavg_round(fed["weights"], *args, np.random.default_rng(seed))
        assert fl.max_abs_difference(new, plain) < 1e-6
        assert fl.max_abs_difference(velocity, [p - w for p, w in zip(plain, fed["weights"])]) < 1e-6


def test_fedavgm_refuses_a_velocity_of_the_wrong_shape():
    fed = checks._federation(0)
    args = (fed["clients"], fed["selected"], fed["lr"], fed["epochs"], fed["batch_size"])
    with pytest.raises(ValueError, match=r"velocity\[0\] must have the shape of weights\[0\]"):
        fl.fedavgm_round(fed["weights"], [np.zeros((1, 1)), fed["weights"][1]], *args)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        fl.fedavgm_round(fed["weights"], None, *args, momentum=1.0)


def test_the_dp_reference_is_labkits_round_on_the_same_draws():
    """07.1's reference (poisson_sample, clip_update, GaussianSum) is the server side of fl.dp_fedavg_round."""
    fed = checks._federation(1)
    clients, lr, epochs, batch = fed["clients"], fed["lr"], fed["epochs"], fed["batch_size"]
    updates = [[a - b for a, b in zip(fl.local_sgd(fed["weights"], cx, cy, lr, epochs, batch), fed["weights"])]
               for cx, cy in clients]
    q, clip, z, seed = 0.6, 0.2, 1.1, 5
    released = checks._dp_reference(updates, q, clip, z, seed)
    selected = fl.poisson_sample(len(clients), q, np.random.default_rng(seed))
    rng = np.random.default_rng(seed)
    rng.random(len(clients))  # the sample's draw, as in the reference
    new = fl.dp_fedavg_round(fed["weights"], clients, selected, lr=lr, epochs=epochs, batch_size=batch, clip=clip,
                             noise_multiplier=z, expected_clients=q * len(clients), rng=rng)
    assert fl.max_abs_difference([a - w for a, w in zip(new, fed["weights"])], released) < 1e-6


def test_07_3_explains_every_item_in_every_setting():
    """Whatever item a learner adds or leaves out, the second-level hint has a reason for it."""
    assert {(s, i) for s in checks.SETTINGS for i in checks.SERVER_VIEWS} == set(checks._WHY)
    assert all(checks.SETTINGS[s] <= set(checks.SERVER_VIEWS) for s in checks.SETTINGS)
    assert checks.SETTINGS == _LEARNS


def test_07_2_reports_the_notebooks_numbers():
    assert math.isclose(checks._epsilon(0.2, 1.0, 50, 1e-5, 100, "rdp"), 11.29, abs_tol=0.01)
    assert checks._epsilon(1.0, 1.0, 50, 1e-5, 100, "rdp") > 4 * checks._epsilon(0.2, 1.0, 50, 1e-5, 100, "rdp")


# ---------------------------------------------------------------- the non-IID widget


def test_noniid_lookup_is_fast_and_pure():
    from labkit import data

    grid = data.load_arrays("sweeps/fl_noniid.npz")
    curve = fl.noniid_lookup(grid, 0.1, 10, 5)  # its speed is measured in benchmarks/bench_fl.py
    assert curve.shape == (fl.NONIID_GRID["rounds"] + 1,)
    assert np.all((curve >= 0) & (curve <= 1))
    assert np.array_equal(curve, fl.noniid_lookup(grid, 0.1, 10, 5))
    assert fl.noniid_lookup(grid, math.inf, 10, 5)[-1] > curve[-1]


def test_noniid_explorer_builds_with_a_stable_repr():
    from labkit.fl.widgets import noniid_explorer

    view = noniid_explorer()
    assert repr(view).startswith("Non-IID explorer")
    sliders = [view.controls[name] for name in ("alpha", "num_clients", "epochs")]
    assert [s.description for s in sliders] == ["alpha", "clients", "local epochs"]
    assert view.controls["recompute"].description == "recompute live"
    assert view.progress.max == fl.NONIID_GRID["rounds"] and view.output is view.children[-1]
    view.controls["alpha"].value = math.inf  # a slider move redraws from the stored grid without error
    view.controls["num_clients"].value = 50
    assert view.controls["num_clients"].value == 50
