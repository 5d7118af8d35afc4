"""Exercises 01.1-03.3: each check's catalogue (the solution, correct answers written differently, and the
typical wrong answers, each named for its mistake), proven by tests/test_exercises_framework.py; plus
targeted tests that a mistake gets the hint that names it."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from exercise_proof import Catalogue, assert_hints, returns_second_input
from labkit.exercises import check


# ---------------------------------------------------------------- 01.1 the linkage join


def link_unique(record_keys, voter_keys):
    keys, inverse, counts = np.unique(voter_keys, return_inverse=True, return_counts=True)
    first_row = np.full(keys.size, -1)
    first_row[inverse[::-1]] = np.arange(len(voter_keys))[::-1]  # the first row holding each key
    pos = np.searchsorted(keys, record_keys)
    pos = np.minimum(pos, keys.size - 1)
    found = keys[pos] == record_keys
    return np.where(found & (counts[pos] == 1), first_row[pos], -1)


def link_unique_with_a_counter(record_keys, voter_keys):  # pure Python, a list
    counts = Counter(np.asarray(voter_keys).tolist())
    row = {k: i for i, k in enumerate(np.asarray(voter_keys).tolist())}
    return [row[k] if counts[k] == 1 else -1 for k in np.asarray(record_keys).tolist()]


def link_unique_float_rows(record_keys, voter_keys):  # rows as floats
    return np.asarray(link_unique(record_keys, voter_keys), dtype=float)


def link_unique_by_loops(record_keys, voter_keys):  # another loop order: one scan of the voters per record
    out = []
    for key in record_keys:
        rows = [j for j, v in enumerate(voter_keys) if v == key]
        out.append(rows[0] if len(rows) == 1 else -1)
    return np.array(out, dtype=np.int32)


def first_match_even_when_several(record_keys, voter_keys):
    out = []
    for key in record_keys:
        rows = np.flatnonzero(voter_keys == key)
        out.append(rows[0] if rows.size else -1)
    return np.array(out)


def last_match_from_a_dict(record_keys, voter_keys):  # dict(zip(keys, rows)) keeps the last row of each key
    row = dict(zip(np.asarray(voter_keys).tolist(), range(len(voter_keys))))
    return np.array([row.get(k, -1) for k in np.asarray(record_keys).tolist()])


def required_a_unique_record_key_too(record_keys, voter_keys):  # records sharing a key left anonymous
    right = np.asarray(link_unique(record_keys, voter_keys))
    _, inverse, counts = np.unique(record_keys, return_inverse=True, return_counts=True)
    return np.where(counts[inverse] == 1, right, -1)


def position_in_sorted_voters(record_keys, voter_keys):  # index into np.sort(voter_keys), not a row
    keys = np.sort(voter_keys)
    left, right = np.searchsorted(keys, record_keys, "left"), np.searchsorted(keys, record_keys, "right")
    return np.where(right - left == 1, left, -1)


def rows_counted_from_one(record_keys, voter_keys):  # 1-based row numbers
    right = np.asarray(link_unique(record_keys, voter_keys))
    return np.where(right >= 0, right + 1, -1)


def zero_for_no_match(record_keys, voter_keys):  # 0 is a real row: voter 0 gets named
    right = np.asarray(link_unique(record_keys, voter_keys))
    counts = np.array([np.sum(voter_keys == k) for k in record_keys])
    return np.where(counts == 0, 0, right)


# ---------------------------------------------------------------- 01.2 what the adversary learns


def diagnosis_learnt(keys, diagnoses):
    groups = defaultdict(set)
    for k, d in zip(keys.tolist(), diagnoses.tolist()):
        groups[k].add(d)
    return np.array([len(groups[k]) == 1 for k in keys.tolist()])


def diagnosis_learnt_as_ints(keys, diagnoses):  # 0/1 integers, computed with np.unique
    _, group = np.unique(keys, return_inverse=True)
    _, value = np.unique(diagnoses, return_inverse=True)
    distinct = np.array([np.unique(value[group == g]).size for g in range(group.max() + 1)])
    return (distinct[group] == 1).astype(np.int64)


def diagnosis_learnt_as_list(keys, diagnoses):
    return [bool(len(set(diagnoses[keys == k].tolist())) == 1) for k in keys]


def only_records_unique_on_their_key(keys, diagnoses):  # trusts k-anonymity: a group of 2 or more hides
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return counts[inverse] == 1


def majority_diagnosis_counts_as_learnt(keys, diagnoses):  # most of the group is not all of it
    out = []
    for k, d in zip(keys, diagnoses):
        group = diagnoses[keys == k]
        out.append(np.mean(group == d) > 0.5)
    return np.array(out)


def homogeneous_groups_of_two_or_more_only(keys, diagnoses):  # forgot that a lone record is exposed too
    learnt = diagnosis_learnt(keys, diagnoses)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return learnt & (counts[inverse] > 1)


def diagnosis_rare_in_the_whole_table(keys, diagnoses):  # looked at the diagnosis, not at the group
    _, inverse, counts = np.unique(diagnoses, return_inverse=True, return_counts=True)
    return counts[inverse] == 1


# ---------------------------------------------------------------- 02.1 the Laplace histogram


def laplace_histogram(values, bin_edges, epsilon, rng):
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + rng.laplace(0.0, 1 / epsilon, size=counts.size)


def laplace_histogram_loop(values, bin_edges, epsilon, rng):  # one bin at a time, a list
    out = []
    for lo, hi, last in zip(bin_edges[:-1], bin_edges[1:], [False] * (len(bin_edges) - 2) + [True]):
        inside = (values >= lo) & ((values <= hi) if last else (values < hi))
        out.append(float(np.sum(inside)) + rng.laplace(0.0, 1 / epsilon))
    return out


def laplace_histogram_from_exponentials(values, bin_edges, epsilon, rng):  # Lap(b) = Exp(b) - Exp(b)
    counts = np.histogram(values, bins=bin_edges)[0].astype(np.float32)
    k = counts.size
    return counts + rng.exponential(1 / epsilon, size=k) - rng.exponential(1 / epsilon, size=k)


def laplace_histogram_by_digitize(values, bin_edges, epsilon, rng):  # np.digitize and np.bincount, no np.histogram
    k = len(bin_edges) - 1
    index = np.digitize(values, bin_edges) - 1
    index[values == bin_edges[-1]] = k - 1  # the last bin includes its right edge
    inside = (index >= 0) & (index < k)
    return np.bincount(index[inside], minlength=k) + rng.laplace(0.0, 1 / epsilon, size=k)


def laplace_centre_passed_as_scale(values, bin_edges, epsilon, rng):  # rng.laplace(1 / eps, ...): loc, scale 1
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + rng.laplace(1 / epsilon, size=counts.size)


def noise_added_to_the_values_before_counting(values, bin_edges, epsilon, rng):  # the total stays exact
    return np.histogram(values + rng.laplace(0.0, 1 / epsilon, size=len(values)), bins=bin_edges)[0]


def noise_shared_across_bins(values, bin_edges, epsilon, rng):
    return np.histogram(values, bins=bin_edges)[0] + rng.laplace(0.0, 1 / epsilon)


def budget_split_over_bins(values, bin_edges, epsilon, rng):  # sequential instead of parallel composition
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + rng.laplace(0.0, counts.size / epsilon, size=counts.size)


def replace_one_sensitivity(values, bin_edges, epsilon, rng):  # scale 2 / epsilon
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + rng.laplace(0.0, 2 / epsilon, size=counts.size)


def scale_epsilon_not_one_over_epsilon(values, bin_edges, epsilon, rng):
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + rng.laplace(0.0, epsilon, size=counts.size)


def gaussian_noise_in_every_bin(values, bin_edges, epsilon, rng):
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + rng.normal(0.0, math.sqrt(2) / epsilon, size=counts.size)


def outliers_clipped_into_the_edge_bins(values, bin_edges, epsilon, rng):
    counts = np.histogram(np.clip(values, bin_edges[0], bin_edges[-1]), bins=bin_edges)[0]
    return counts + rng.laplace(0.0, 1 / epsilon, size=counts.size)


def fresh_generator_every_call(values, bin_edges, epsilon, rng):  # ignores rng: the same noise every time
    counts = np.histogram(values, bins=bin_edges)[0]
    return counts + np.random.default_rng(0).laplace(0.0, 1 / epsilon, size=counts.size)


# ---------------------------------------------------------------- 02.2 find the bugs, fix one


def clipped_sum(values, lower, upper, epsilon, rng):
    return np.clip(values, lower, upper).sum() + rng.laplace(0.0, max(abs(lower), abs(upper)) / epsilon)


def find_the_bugs():
    return {"b", "d", "e"}, clipped_sum


def find_the_bugs_named_as_a_list():  # the functions' names, upper case, a list; the fix from exponentials
    def fixed(values, lower, upper, epsilon, rng):
        b = np.max(np.abs([lower, upper])) / epsilon
        clipped = np.minimum(np.maximum(values, lower), upper)
        return np.float32(np.sum(clipped) + rng.exponential(b) - rng.exponential(b))

    return ["Release_B", "release_d", "E"], fixed


def marks_the_budget_split_as_broken():
    return {"b", "c", "d", "e"}, clipped_sum


def marks_the_correct_histogram_as_broken():
    return {"a", "b", "d", "e"}, clipped_sum


def misses_the_shared_noise():
    return {"d", "e"}, clipped_sum


def misses_the_replace_one_sensitivity():
    return {"b", "e"}, clipped_sum


def misses_the_missing_clip():
    return {"b", "d"}, clipped_sum


def fix_keeps_the_replace_one_sensitivity():
    def fixed(values, lower, upper, epsilon, rng):
        return np.clip(values, lower, upper).sum() + rng.laplace(0.0, (upper - lower) / epsilon)

    return {"b", "d", "e"}, fixed


def fix_forgets_to_clip():
    def fixed(values, lower, upper, epsilon, rng):
        return np.sum(values) + rng.laplace(0.0, max(abs(lower), abs(upper)) / epsilon)

    return {"b", "d", "e"}, fixed


def fix_uses_upper_as_the_sensitivity():
    def fixed(values, lower, upper, epsilon, rng):
        return np.clip(values, lower, upper).sum() + rng.laplace(0.0, abs(upper) / epsilon)

    return {"b", "d", "e"}, fixed


def fix_uses_a_count_sensitivity():
    def fixed(values, lower, upper, epsilon, rng):
        return np.clip(values, lower, upper).sum() + rng.laplace(0.0, 1 / epsilon)

    return {"b", "d", "e"}, fixed


def returns_the_set_without_a_fix():
    return {"b", "d", "e"}


def returns_the_fix_without_a_set():
    return None, clipped_sum


# ---------------------------------------------------------------- 03.1 RDP accountant


def rdp_epsilon(noise_multipliers, delta, orders):
    orders = np.asarray(orders, dtype=float)
    rdp = orders * np.sum(1 / (2 * np.asarray(noise_multipliers, dtype=float) ** 2))
    eps = rdp + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1)
    return max(0.0, float(np.min(eps)))


def rdp_epsilon_loops(noise_multipliers, delta, orders):  # order by order, release by release
    best = math.inf
    for a in orders:
        divergence = 0.0
        for s in noise_multipliers:
            divergence += a / (2 * s * s)
        best = min(best, divergence + math.log((a - 1) / a) - (math.log(delta) + math.log(a)) / (a - 1))
    return max(best, 0.0)


def rdp_epsilon_float32(noise_multipliers, delta, orders):
    return np.float32(rdp_epsilon(noise_multipliers, delta, orders))


def rdp_old_conversion(noise_multipliers, delta, orders):  # Mironov (2017), Proposition 3
    orders = np.asarray(orders, dtype=float)
    rdp = orders * np.sum(1 / (2 * np.asarray(noise_multipliers) ** 2))
    return float(np.min(rdp + np.log(1 / delta) / (orders - 1)))


def largest_epsilon_over_orders(noise_multipliers, delta, orders):
    orders = np.asarray(orders, dtype=float)
    rdp = orders * np.sum(1 / (2 * np.asarray(noise_multipliers) ** 2))
    return float(np.max(rdp + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1)))


def converted_each_release_then_added(noise_multipliers, delta, orders):  # basic composition of RDP epsilons
    share = delta / len(noise_multipliers)
    return sum(rdp_epsilon([s], share, orders) for s in noise_multipliers)


def first_release_only(noise_multipliers, delta, orders):
    return rdp_epsilon(list(noise_multipliers)[:1], delta, orders)


def sigma_not_squared(noise_multipliers, delta, orders):
    orders = np.asarray(orders, dtype=float)
    rdp = orders * np.sum(1 / (2 * np.asarray(noise_multipliers)))
    return float(np.min(rdp + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1)))


def composed_the_average_noise_multiplier(noise_multipliers, delta, orders):
    sigmas = np.asarray(noise_multipliers, dtype=float)
    return rdp_epsilon(np.full(sigmas.size, sigmas.mean()), delta, orders)


def no_floor_at_zero(noise_multipliers, delta, orders):  # a large delta makes the best conversion negative
    orders = np.asarray(orders, dtype=float)
    rdp = orders * np.sum(1 / (2 * np.asarray(noise_multipliers, dtype=float) ** 2))
    return float(np.min(rdp + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1)))


def returns_the_optimal_order_too(noise_multipliers, delta, orders):
    return rdp_epsilon(noise_multipliers, delta, orders), 2.0


# ---------------------------------------------------------------- 03.2 which epsilon to report


def report_epsilon(run):
    from labkit import dp

    report = dp.epsilon_report(run["num_examples"], run["batch_size"], run["noise_multiplier"], run["epochs"],
                               run["delta"])
    if run["sampling"] != "poisson":
        key = "shuffled_no_amplification"
    elif run["microbatch_size"] > 1:
        key = "microbatching"
    else:
        key = "pld"
    return key, report[key]


def report_epsilon_as_a_list_from_a_table(run):  # a lookup table, a list, a float32 value
    from labkit import dp

    key = {("poisson", True): "microbatching", ("poisson", False): "pld"}.get(
        (run["sampling"], run["microbatch_size"] > 1), "shuffled_no_amplification")
    report = dp.epsilon_report(run["num_examples"], run["batch_size"], run["noise_multiplier"], run["epochs"],
                               run["delta"])
    return [key, np.float32(report[key])]


def _report_with(key_for):
    def answer(run):
        from labkit import dp

        report = dp.epsilon_report(run["num_examples"], run["batch_size"], run["noise_multiplier"], run["epochs"],
                                   run["delta"])
        key = key_for(run, report)
        return key, report[key]

    return answer


always_the_smallest_epsilon = _report_with(lambda run, report: min(report, key=report.get))
always_the_smallest_epsilon.__name__ = "always_the_smallest_epsilon"
always_rdp_like_tensorflow_privacy = _report_with(lambda run, report: "rdp")
always_rdp_like_tensorflow_privacy.__name__ = "always_rdp_like_tensorflow_privacy"
poisson_number_for_a_shuffled_run = _report_with(
    lambda run, report: "microbatching" if run["microbatch_size"] > 1 else "pld")
poisson_number_for_a_shuffled_run.__name__ = "poisson_number_for_a_shuffled_run"
ignores_microbatching = _report_with(lambda run, report: "pld" if run["sampling"] == "poisson"
                                     else "shuffled_no_amplification")
ignores_microbatching.__name__ = "ignores_microbatching"
always_the_largest_epsilon = _report_with(lambda run, report: max(report, key=report.get))
always_the_largest_epsilon.__name__ = "always_the_largest_epsilon"
old_conversion_from_the_readme = _report_with(lambda run, report: "rdp_old_conversion" if run["sampling"] == "poisson"
                                              and run["microbatch_size"] == 1 else report_epsilon(run)[0])
old_conversion_from_the_readme.__name__ = "old_conversion_from_the_readme"


def right_entry_value_of_the_default_run(run):  # the value of the notebook's MNIST run, not of this one
    return report_epsilon(run)[0], 2.38


# ---------------------------------------------------------------- 03.3 epochs for a budget


def epochs(target, n, b, sigma, delta):
    from labkit.dp import dpsgd_epsilon

    e = 0
    while dpsgd_epsilon(n, b, sigma, e + 1, delta) <= target:
        e += 1
    return e


def epochs_int64(target, n, b, sigma, delta):  # erratum 16: was rejected
    return np.int64(epochs(target, n, b, sigma, delta))


def epochs_integral_float(target, n, b, sigma, delta):
    return float(epochs(target, n, b, sigma, delta))


def epochs_by_bisection(target, n, b, sigma, delta):
    from labkit.dp import dpsgd_epsilon

    lo, hi = 0, 1
    while dpsgd_epsilon(n, b, sigma, hi, delta) <= target:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if dpsgd_epsilon(n, b, sigma, mid, delta) <= target else (lo, mid)
    return lo


def epochs_off_by_one(target, n, b, sigma, delta):  # the first epoch count that exceeds the budget
    return epochs(target, n, b, sigma, delta) + 1


def epochs_one_short(target, n, b, sigma, delta):  # stopped one epoch early (< instead of <=)
    return max(epochs(target, n, b, sigma, delta) - 1, 0)


def epochs_with_pld(target, n, b, sigma, delta):  # the PLD accountant instead of RDP
    from labkit.dp import dpsgd_epsilon

    e = 0
    while dpsgd_epsilon(n, b, sigma, e + 1, delta, accountant="pld") <= target:
        e += 1
    return e


def epochs_fractional(target, n, b, sigma, delta):  # a fractional number of epochs
    return epochs(target, n, b, sigma, delta) + 0.5


def epochs_linear_in_budget(target, n, b, sigma, delta):  # assumed epsilon grows linearly in epochs
    from labkit.dp import dpsgd_epsilon

    return int(target // dpsgd_epsilon(n, b, sigma, 1, delta))


# ---------------------------------------------------------------- the catalogues


CATALOGUES = {
    "01.1": Catalogue(solution=link_unique, variants=[link_unique_with_a_counter, link_unique_float_rows,
                                                      link_unique_by_loops],
                      mistakes=[first_match_even_when_several, last_match_from_a_dict, required_a_unique_record_key_too,
                                position_in_sorted_voters, zero_for_no_match, rows_counted_from_one],
                      degenerate=[returns_second_input]),
    "01.2": Catalogue(solution=diagnosis_learnt, variants=[diagnosis_learnt_as_ints, diagnosis_learnt_as_list],
                      mistakes=[only_records_unique_on_their_key, majority_diagnosis_counts_as_learnt,
                                homogeneous_groups_of_two_or_more_only, diagnosis_rare_in_the_whole_table],
                      degenerate=[returns_second_input]),
    "02.1": Catalogue(solution=laplace_histogram,
                      variants=[laplace_histogram_loop, laplace_histogram_from_exponentials,
                                laplace_histogram_by_digitize],
                      mistakes=[laplace_centre_passed_as_scale, noise_added_to_the_values_before_counting,
                                noise_shared_across_bins, budget_split_over_bins, replace_one_sensitivity,
                                scale_epsilon_not_one_over_epsilon, gaussian_noise_in_every_bin,
                                outliers_clipped_into_the_edge_bins, fresh_generator_every_call],
                      degenerate=[returns_second_input]),
    "02.2": Catalogue(solution=find_the_bugs, variants=[find_the_bugs_named_as_a_list],
                      mistakes=[marks_the_budget_split_as_broken, marks_the_correct_histogram_as_broken,
                                misses_the_shared_noise, misses_the_replace_one_sensitivity, misses_the_missing_clip,
                                fix_keeps_the_replace_one_sensitivity, fix_forgets_to_clip,
                                fix_uses_upper_as_the_sensitivity, fix_uses_a_count_sensitivity],
                      degenerate=[returns_the_set_without_a_fix, returns_the_fix_without_a_set]),
    "03.1": Catalogue(solution=rdp_epsilon, variants=[rdp_epsilon_loops, rdp_epsilon_float32],
                      mistakes=[rdp_old_conversion, largest_epsilon_over_orders, converted_each_release_then_added,
                                first_release_only, sigma_not_squared, composed_the_average_noise_multiplier,
                                no_floor_at_zero],
                      degenerate=[returns_second_input, returns_the_optimal_order_too]),
    "03.2": Catalogue(solution=report_epsilon, variants=[report_epsilon_as_a_list_from_a_table],
                      mistakes=[always_the_smallest_epsilon, always_rdp_like_tensorflow_privacy,
                                poisson_number_for_a_shuffled_run, ignores_microbatching, always_the_largest_epsilon,
                                old_conversion_from_the_readme, right_entry_value_of_the_default_run]),
    "03.3": Catalogue(solution=epochs, variants=[epochs_int64, epochs_integral_float, epochs_by_bisection],
                      mistakes=[epochs_off_by_one, epochs_one_short, epochs_with_pld, epochs_fractional,
                                epochs_linear_in_budget],
                      degenerate=[returns_second_input]),
}


# ---------------------------------------------------------------- the hint names the mistake


HINTS = [
    ("01.1", first_match_even_when_several, "cannot tell who it is"),
    ("01.1", required_a_unique_record_key_too, "records sharing a key are each still named"),
    ("01.1", position_in_sorted_voters, "sorted voter keys"),
    ("01.1", zero_for_no_match, "no voter has"),
    ("01.1", rows_counted_from_one, "you returned"),
    ("01.2", only_records_unique_on_their_key, "yet the diagnosis is learnt"),
    ("01.2", majority_diagnosis_counts_as_learnt, "cannot tell which one"),
    ("01.2", homogeneous_groups_of_two_or_more_only, "alone with its key"),
    ("02.1", noise_shared_across_bins, "moves together"),
    ("02.1", budget_split_over_bins, "split epsilon over the bins"),
    ("02.1", replace_one_sensitivity, "replace-one"),
    ("02.1", gaussian_noise_in_every_bin, "Gaussian"),
    ("02.1", fresh_generator_every_call, "same every time"),
    ("02.1", outliers_clipped_into_the_edge_bins, "true count"),
    ("02.1", laplace_centre_passed_as_scale, "not centred on 0"),
    ("02.1", noise_added_to_the_values_before_counting, "whole number"),
    ("02.2", marks_the_budget_split_as_broken, "release c keeps its promise"),
    ("02.2", marks_the_correct_histogram_as_broken, "release a keeps its promise"),
    ("02.2", misses_the_shared_noise, "did not mark"),
    ("02.2", fix_keeps_the_replace_one_sensitivity, "replace-one"),
    ("02.2", fix_forgets_to_clip, "unclipped sum"),
    ("02.2", fix_uses_upper_as_the_sensitivity, "lower bound moves the sum"),
    ("03.1", rdp_old_conversion, "2017 conversion"),
    ("03.1", converted_each_release_then_added, "added the epsilons"),
    ("03.1", sigma_not_squared, "sigma squared"),
    ("03.1", composed_the_average_noise_multiplier, "average noise multiplier"),
    ("03.1", no_floor_at_zero, "below 0"),
    ("03.2", poisson_number_for_a_shuffled_run, "this run shuffles"),
    ("03.2", always_rdp_like_tensorflow_privacy, "more tightly"),
    ("03.2", ignores_microbatching, "microbatches of several examples"),
    ("03.2", right_entry_value_of_the_default_run, "is right, but its epsilon"),
    ("03.3", epochs_fractional, "whole number"),
    ("03.3", epochs_off_by_one, "spend more than the budget"),
    ("03.3", epochs_one_short, "still fit"),
]


def test_the_hints_name_the_mistake():
    assert_hints(HINTS)


def test_the_fix_of_a_missed_release_points_at_that_release_only():
    shared = check("02.2", misses_the_shared_noise, hint=True).feedback
    assert "random numbers each histogram" in shared and "clipped sum move" not in shared
    both = check("02.2", lambda: ({"b"}, clipped_sum), hint=True).feedback
    assert "clipped sum move" in both and "assume about each value" in both, both


def test_a_correct_fix_is_not_enough_when_the_set_is_wrong():
    assert not check("02.2", lambda: (set(), clipped_sum))


def test_the_fix_for_release_a_names_parallel_composition():
    assert "parallel composition" in check("02.2", marks_the_correct_histogram_as_broken, hint=True).feedback


def test_exercise_00_1_takes_any_numeric_type_and_has_a_fix_for_every_hint():
    for right in (1, 1.0, np.int64(1), np.float32(1.0)):
        assert check("00.1", lambda: right), right
    for wrong in (None, True, "1", [1], 0, 2, -1, 0.5):
        assert check("00.1", lambda: 1)  # a pass resets the count of failed tries in a row
        first = check("00.1", lambda: wrong)
        assert not first and "How to fix it:" not in first.feedback, wrong
        assert "How to fix it:" in check("00.1", lambda: wrong, hint=True).feedback, wrong
