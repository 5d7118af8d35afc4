"""Exercise checks of notebooks 00 to 03 (04 and 05 are in :mod:`labkit.dp.training_checks`).

Each check calls the learner's answer with property tests and raises :class:`labkit.exercises.Hint`
naming what went wrong (see :mod:`labkit.exercises`). ``CHECKS`` maps exercise ids to checks, in
notebook order:

* 00.1 the sensitivity of a count (``00-index``).
* 01.1 the linkage join on quasi-identifiers (build), 01.2 what an adversary learns from a
  generalised table (reason) (``01-deidentification``).
* 02.1 the Laplace mechanism for a histogram (build), 02.2 find the broken releases and fix one
  (reason) (``02-dp-from-scratch``).
* 03.1 RDP composition of Gaussian releases and the conversion to (epsilon, delta), against
  dp-accounting (build), 03.2 which epsilon to report for a run (reason), 03.3 the most epochs a
  budget allows (warm-up) (``03-gaussian-accounting``).

The checks run the learner's answer on seeded property tests (several seeds, sizes and edge cases)
and compare it with labkit's reference (:func:`labkit.dp.deid.unique_matches`,
:func:`labkit.dp.deid.homogeneous_records`, :func:`labkit.dp.mechanisms.laplace_histogram`'s
distribution, :func:`labkit.dp.accounting.epsilon_report`) or with dp-accounting itself.
"""

from __future__ import annotations

import numpy as np

from labkit.dp.accounting import dpsgd_epsilon, epsilon_report
from labkit.dp.deid import homogeneous_records, unique_matches
from labkit.exercises import Exercise, Hint, require, require_number
from labkit.i18n import N_, tr


# --------------------------------------------------------------------------------------------
# 00-index
# --------------------------------------------------------------------------------------------


def _count_sensitivity(fn) -> str:
    value = fn()
    require(value is not None, tr("return the sensitivity; your function returned None"),
            fix=tr("End the function with a return statement that gives the number, as in: return 5."))
    require(not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating)),
            tr("return a number; got {type}").format(type=type(value).__name__),
            fix=tr("Return the number itself (such as 5 or 0.5), not a string, a list or True/False."))
    require(value != 0, tr("a count changes when one person is added or removed, so its sensitivity is not 0"),
            fix=tr("Count the people in a table of five, add a sixth and count again: the change is the sensitivity."))
    require(value == 1, tr("adding or removing one person changes a count by at most 1, not {value}").format(value=value),
            fix=tr("The sensitivity is the largest change one person can cause; each person adds exactly 1 to a count."))
    return tr("A count has sensitivity 1.")


_CHECKS_00 = {"00.1": Exercise(_count_sensitivity, "warm-up", "warm-up", 2)}


# --------------------------------------------------------------------------------------------
# 01-deidentification
# --------------------------------------------------------------------------------------------


def _join_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded (record keys, voter keys): duplicates on both sides, keys no voter has, one-row lists."""
    cases = []
    for seed, (n_records, n_voters, distinct) in enumerate([(12, 15, 10), (40, 60, 30), (200, 150, 120), (1, 3, 2),
                                                            (25, 1, 5)]):
        rng = np.random.default_rng(1400 + seed)
        # large, unsorted keys, as quasi_identifier_key makes them
        alphabet = rng.choice(np.arange(10**9, 10**9 + 10**6), size=distinct, replace=False)
        cases.append((alphabet[rng.integers(distinct, size=n_records)],
                      alphabet[rng.integers(distinct, size=n_voters)]))
    return cases


def _index_array(got, n: int, what: str) -> np.ndarray:
    require(got is not None, tr("return {what}: an array with one entry per record; your function returned None").format(
        what=tr(what)))
    arr = np.asarray(got)
    require(arr.shape == (n,), tr("return {what}: an array with one entry per record ({n}); got shape {shape}").format(
        what=tr(what), n=n, shape=arr.shape))
    return arr


def _linkage_join(fn) -> str:
    for record_keys, voter_keys in _join_cases():
        expected = unique_matches(record_keys, voter_keys)
        got = _index_array(fn(record_keys.copy(), voter_keys.copy()), record_keys.size,
                           N_("a voter row for each record"))
        require(np.issubdtype(got.dtype, np.integer) or (np.issubdtype(got.dtype, np.floating)
                                                         and np.all(got == np.round(got))),
                tr("return whole row numbers (or -1); got dtype {dtype}").format(dtype=got.dtype),
                fix=tr("Return row numbers of voter_keys, for example in an int array that starts as np.full(n, -1)."))
        for i in np.flatnonzero(got != expected):
            key, row = record_keys[i], int(got[i])
            holders = np.flatnonzero(voter_keys == key)
            where = tr("{records} records, {voters} voters: record {i}").format(records=record_keys.size,
                                                                                voters=voter_keys.size, i=i)
            if holders.size > 1:
                raise Hint(tr("{where} has a key that {holders} voters share (rows {rows}), and you named row {row}. "
                              "With several candidates the attacker cannot tell who it is").format(
                               where=where, holders=holders.size, rows=holders.tolist(), row=row),
                           fix=tr("Count the voters that hold each key (np.unique with return_counts, or a Counter); "
                                  "name a voter only when that count is exactly 1, otherwise return -1."))
            if holders.size == 0:
                raise Hint(tr("{where} has a key no voter has, and you returned {row}").format(where=where, row=row),
                           fix=tr("Start from -1 for every record and fill in a row only where a voter holds the key."))
            if row == -1:
                shared = int(np.sum(record_keys == key))
                raise Hint(tr("{where} has a key exactly one voter holds (row {holder}), and you returned -1").format(
                               where=where, holder=holders[0])
                           + (tr("; {shared} records share that key, but records sharing a key are each still "
                                 "named").format(shared=shared) if shared > 1 else ""),
                           fix=tr("Count matches in voter_keys only: whether other records share the key does not "
                                  "matter to the join."))
            position = int(np.searchsorted(np.sort(voter_keys), key))
            require(row != holders[0] + 1, tr("{where} matches voter row {holder}, you returned {row}").format(
                        where=where, holder=holders[0], row=row),
                    fix=tr("Row numbers count from 0, as NumPy indexes: the first voter is row 0."))
            raise Hint(tr("{where} matches voter row {holder}, you returned {row}").format(
                           where=where, holder=holders[0], row=row)
                       + (tr(" (its position in the sorted voter keys)") if row == position else ""),
                       fix=tr("Return the row number in voter_keys as given. If you sort, keep the order from "
                              "np.argsort and map sorted positions back to rows."))
    return tr("That is the join that named the hospital's patients above.")


def _homogeneity_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded (keys, diagnoses): singletons, homogeneous groups of 2 to 6 records and mixed groups."""
    names = np.array(["asthma", "diabetes", "fracture", "influenza", "migraine"])
    cases = []
    for seed, (groups, alphabet) in enumerate([(6, 3), (15, 2), (30, 5), (4, 1), (40, 4)]):
        rng = np.random.default_rng(1410 + seed)
        keys, diagnoses = [], []
        for g in range(groups):
            size = int(rng.choice([1, 2, 3, 4, 6]))
            kind = rng.random()
            values = (np.repeat(rng.integers(alphabet), size) if kind < 0.5 else rng.integers(alphabet, size=size))
            keys += [7_000_000 + 37 * g] * size
            diagnoses += names[values].tolist()
        order = rng.permutation(len(keys))
        cases.append((np.array(keys)[order], np.array(diagnoses)[order]))
    return cases


def _what_the_adversary_learns(fn) -> str:
    for keys, diagnoses in _homogeneity_cases():
        expected = homogeneous_records(keys, diagnoses)
        got = _index_array(fn(keys.copy(), diagnoses.copy()), keys.size, N_("True or False for each record"))
        require(got.dtype == bool or (np.issubdtype(got.dtype, np.number) and bool(np.all((got == 0) | (got == 1)))),
                tr("return True or False for each record; got dtype {dtype}").format(dtype=got.dtype),
                fix=tr("Return a boolean array: True where the adversary learns the record's diagnosis for certain."))
        got = got.astype(bool)
        for i in np.flatnonzero(got != expected):
            group = diagnoses[keys == keys[i]]
            seen = sorted(set(group.tolist()))
            where = tr("{records} records: record {i} ({size} record(s) with its key, diagnoses {seen})").format(
                records=keys.size, i=i, size=group.size, seen=seen)
            if expected[i] and group.size > 1:
                raise Hint(tr("{where}: the adversary knows the target is one of these {size} records, and all of them "
                              "say {diagnosis}. The group is {size}-anonymous, yet the diagnosis is learnt").format(
                               where=where, size=group.size, diagnosis=seen[0]),
                           fix=tr("For each key, count the distinct diagnoses among its records, not the records: "
                                  "one distinct diagnosis means the adversary learns it, whatever the group size."))
            if expected[i]:
                raise Hint(tr("{where}: the record is alone with its key, so the adversary who knows the key reads "
                              "its diagnosis").format(where=where),
                           fix=tr("A group of one record holds one diagnosis: mark it too."))
            raise Hint(tr("{where}: the group holds {count} different diagnoses, so the adversary cannot tell "
                          "which one is the target's").format(where=where, count=len(seen)),
                       fix=tr("Mark a record only when every record with its key has the same diagnosis; a majority "
                              "is not certainty."))
    return tr("k-anonymity hides who is who within a group, not what the group has in common (l-diversity asks for "
              "several values per group).")


_CHECKS_01 = {"01.1": Exercise(_linkage_join, "build", "core", 15),
              "01.2": Exercise(_what_the_adversary_learns, "reason", "core", 10)}


# --------------------------------------------------------------------------------------------
# 02-dp-from-scratch
# --------------------------------------------------------------------------------------------


_DRAWS = 2000


def _laplace_shape(noise: np.ndarray, scale: float, where: str, bugs: dict[float, tuple[str, str]]) -> None:
    """Hints unless ``noise`` (many draws, pooled) is centred Laplace noise of ``scale``.

    ``bugs`` maps a wrong scale ratio (yours / right) to what that ratio means and how to fix it.
    """
    require(bool(np.ptp(noise) > 0), tr("{where}: the release is the same every time").format(where=where),
            fix=tr("Add noise drawn from the generator rng you are given, afresh on every call."))
    centre = float(np.median(noise))
    mean_abs = float(np.mean(np.abs(noise)))
    require(abs(centre) < 0.15 * max(mean_abs, 1e-12),
            tr("{where}: your release is off the true value by {centre:.3g} at the median").format(where=where,
                                                                                                  centre=centre),
            fix=tr("Release the exact value plus noise centred on 0 (rng.laplace(0.0, scale)); check what you add "
                   "the noise to."))
    kurtosis = float(np.mean(noise ** 4) / np.mean(noise ** 2) ** 2)
    require(kurtosis > 4.5, tr("{where}: the noise looks Gaussian (kurtosis {kurtosis:.2f}; Laplace noise has 6)").format(
                where=where, kurtosis=kurtosis),
            fix=tr("Draw Laplace noise: rng.laplace(0.0, scale), whose density falls like exp(-|x| / scale)."))
    ratio = mean_abs / scale
    for wrong, (meaning, fix) in bugs.items():
        if abs(ratio / wrong - 1) < 0.12 and abs(ratio - 1) > 0.12:
            raise Hint(tr("{where}: your noise is {ratio:.3g} times the right scale; {meaning}").format(
                where=where, ratio=ratio, meaning=tr(meaning)), fix=tr(fix))
    require(abs(ratio - 1) < 0.12,
            tr("{where}: the mean |noise| should be the scale {scale:.3g}, yours is {mean_abs:.3g}").format(
                where=where, scale=scale, mean_abs=mean_abs),
            fix=tr("Work out how much one person can change the whole output (add or remove one record), and use "
                   "that sensitivity divided by epsilon as the Laplace scale."))


def _histogram_cases() -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(1420)
    return [(rng.integers(18, 95, size=60).astype(float), np.arange(10.0, 111.0, 20.0), 1.0),
            (np.append(rng.normal(0, 1, size=40), [-9.0, 9.0, 3.0]), np.linspace(-3.0, 3.0, 7), 0.5),
            (rng.integers(0, 4, size=30).astype(float), np.array([0.0, 1.0, 2.0, 3.0]), 2.0)]


def _laplace_histogram(fn) -> str:
    for values, edges, eps in _histogram_cases():
        true = np.histogram(values, bins=edges)[0].astype(float)
        k = true.size
        where = tr("{values} values, {bins} bins, epsilon {epsilon}").format(values=values.size, bins=k, epsilon=eps)
        rng = np.random.default_rng(1421)
        draws = []
        for _ in range(_DRAWS):
            got = np.asarray(fn(values.copy(), edges.copy(), eps, rng), dtype=float)
            require(got.shape == (k,), tr("{where}: return one noisy count per bin ({bins}); got shape {shape}").format(
                        where=where, bins=k, shape=got.shape),
                    fix=tr("Count the values in each bin (np.histogram(values, bins=bin_edges)[0]) and add noise to "
                           "every count."))
            draws.append(got)
        noise = np.array(draws) - true
        require(bool(np.all(np.ptp(noise, axis=0) > 0)), tr("{where}: the release is the same every time").format(
                    where=where),
                fix=tr("Add noise drawn from the generator rng you are given, afresh on every call."))
        require(not bool(np.all(noise == np.round(noise))),
                tr("{where}: every noisy count you return is a whole number, so the noise is not Laplace noise on "
                   "the counts (noise added to the values before counting leaves the total number of people "
                   "exact)").format(where=where),
                fix=tr("Count first, then add continuous Laplace noise to every count, and return the counts "
                       "unrounded."))
        centre = np.median(noise, axis=0)
        off = int(np.argmax(np.abs(centre)))
        if k > 1 and np.abs(centre[off]) >= 0.5 / eps and np.ptp(centre) < 0.5 / eps:
            raise Hint(tr("{where}: every bin centres about {shift:.3g} away from its true count; the noise itself "
                          "is not centred on 0").format(where=where, shift=np.mean(centre)),
                       fix=tr("rng.laplace takes the centre first and the scale second: "
                              "rng.laplace(0.0, scale, size=...)."))
        require(bool(np.abs(centre[off]) < 0.5 / eps),
                tr("{where}: bin {bin} centres on {centre:.3g}, its true count is {count:g}").format(
                    where=where, bin=off, centre=true[off] + centre[off], count=true[off]),
                fix=tr("Count as np.histogram does: values outside the edges fall in no bin, and only the last bin "
                       "includes its right edge."))
        if k > 1:
            corr = np.corrcoef(noise.T)[np.triu_indices(k, 1)]
            strongest = float(corr[np.argmax(np.abs(corr))])
            require(bool(np.max(np.abs(corr)) < 0.2),
                    tr("{where}: the noise of different bins moves together (correlation {correlation:.2f}); "
                       "the differences between noisy bins are then exact").format(where=where,
                                                                                    correlation=strongest),
                    fix=tr("Draw one independent noise value per bin (size=number of bins), not one value for all."))
        _laplace_shape(noise.ravel(), 1 / eps, where, {
            float(k): (N_("you split epsilon over the bins"), N_("One person sits in one bin, so one count changes by "
                       "1: the whole histogram has sensitivity 1 (parallel composition), and each bin may use all of "
                       "epsilon.")),
            2.0: (N_("a sensitivity of 2 is for replace-one neighbours (one count down, another up)"),
                  N_("This lab's neighbours add or remove one person: only one count changes, by 1.")),
            eps * eps: (N_("the scale is epsilon, not 1 / epsilon"), N_("Smaller epsilon needs more noise: the scale "
                        "is sensitivity / epsilon."))})
    return tr("Every bin gets Lap(1 / epsilon), and the whole histogram is epsilon-DP.")


# Exercise 02.2: the notebook's five releases; b, d and e break their promise of epsilon-DP under add-or-remove-one.
_RELEASES = ("a", "b", "c", "d", "e")
_BROKEN = frozenset({"b", "d", "e"})
_NOT_BROKEN_FIX = {
    "a": N_("Release a asks one count per category, at epsilon each, but the categories hold disjoint records: one "
            "person changes one count by 1, so the counts together are epsilon-DP (parallel composition), not "
            "k * epsilon."),
    "c": N_("Spending epsilon / k on each of k bins is sequential composition: valid, only noisier than needed. "
            "Broken means the promise fails for some pair of neighbours."),
}
_MISSED_FIX = {
    "b": N_("Count the random numbers each histogram release draws. What do the differences between two noisy bins "
            "reveal?"),
    "d": N_("Add one record with value upper to the data: how far does the clipped sum move, and what change does "
            "the noise scale cover?"),
    "e": N_("What does the noise scale assume about each value, and does anything make the data obey it?"),
}


def _letters(broken) -> set[str]:
    require(isinstance(broken, (set, frozenset, list, tuple)),
            tr("return the broken releases as a set of letters such as {{'a', 'c'}}; got {type}").format(
                type=type(broken).__name__),
            fix=tr("Return a set of the letters of the broken releases, such as {{'a', 'c'}}.").format())
    letters = set()
    for item in broken:
        name = getattr(item, "__name__", item)
        require(isinstance(name, str), tr("name each broken release by its letter; got {item!r}").format(item=item),
                fix=tr("Use the letters 'a' to 'e' (or the names 'release_a' to 'release_e')."))
        letter = name.strip().lower().removeprefix("release_")
        require(letter in _RELEASES, tr("there is no release {item!r}; the releases are 'a' to 'e'").format(item=item),
                fix=tr("Use the letters 'a' to 'e' (or the names 'release_a' to 'release_e')."))
        letters.add(letter)
    return letters


def _clipped_sum_cases() -> list[tuple[np.ndarray, float, float, float]]:
    rng = np.random.default_rng(1422)
    ages = np.append(rng.integers(18, 95, size=40), [3, 130, 250]).astype(float)
    temps = np.append(rng.normal(-10, 15, size=30), [-80.0, 40.0])
    return [(ages, 18.0, 100.0, 1.0), (temps, -50.0, 20.0, 0.5), (ages, 0.0, 10.0, 2.0)]


def _fixed_clipped_sum(fixed) -> None:
    require(callable(fixed), tr("return a fixed release as the second item: a function (values, lower, upper, "
                                "epsilon, rng); got {type}").format(type=type(fixed).__name__),
            fix=tr("Write the corrected clipped-sum release as a function and return it next to the set."))
    for values, lower, upper, eps in _clipped_sum_cases():
        where = tr("your fixed release, values clipped to [{lower:g}, {upper:g}], epsilon {epsilon}").format(
            lower=lower, upper=upper, epsilon=eps)
        clipped = float(np.clip(values, lower, upper).sum())
        rng = np.random.default_rng(1423)
        out = np.array([require_number(fixed(values.copy(), lower, upper, eps, rng), N_("the noisy sum"))
                        for _ in range(_DRAWS)])
        scale = max(abs(lower), abs(upper)) / eps
        centre = float(np.median(out))
        if abs(centre - clipped) >= 0.15 * scale:
            require(abs(centre - float(values.sum())) >= 0.15 * scale,
                    tr("{where}: it centres on {centre:.4g}, near the unclipped sum {total:.4g}; one outlier can "
                       "then move it without limit").format(where=where, centre=centre, total=values.sum()),
                    fix=tr("Clip every value to [lower, upper] before summing; the noise only covers values within "
                           "the bounds."))
            raise Hint(tr("{where}: it centres on {centre:.4g}; the clipped sum is {clipped:.4g}").format(
                           where=where, centre=centre, clipped=clipped),
                       fix=tr("Release the sum of the clipped values, np.clip(values, lower, upper).sum(), plus "
                              "noise."))
        _laplace_shape(out - clipped, scale, where, {
            (upper - lower) / max(abs(lower), abs(upper)): (
                N_("upper - lower is the sensitivity for replace-one neighbours"),
                N_("Adding or removing one record moves the clipped sum by that record's clipped value, up to "
                   "max(|lower|, |upper|).")),
            abs(upper) / max(abs(lower), abs(upper)): (
                N_("a record at the lower bound moves the sum too"), N_("The sensitivity is the largest |value| a "
                                                                        "clipped record can have: max(|lower|, |upper|).")),
            1 / max(abs(lower), abs(upper)): (N_("that is the sensitivity of a count, not of a sum"),
                                              N_("A sum moves by the added record's value, not by 1."))})


def _find_the_bugs(fn) -> str:
    answer = fn()
    require(isinstance(answer, (tuple, list)) and len(answer) == 2,
            tr("return two things: the set of broken releases and a fixed clipped-sum release; got {type}").format(
                type=type(answer).__name__), fix=tr("End with: return {{'x', 'y'}}, fixed_sum").format())
    letters = _letters(answer[0])
    for letter in sorted(letters - _BROKEN):
        raise Hint(tr("release {letter} keeps its promise: it is epsilon-DP under add-or-remove-one").format(
                       letter=letter),
                   fix=tr(_NOT_BROKEN_FIX[letter]))
    missed = sorted(_BROKEN - letters)
    if missed:
        raise Hint(tr("{count} release(s) you did not mark break their promise of epsilon-DP").format(count=len(missed)),
                   fix=" ".join(tr(_MISSED_FIX[m]) for m in missed))
    _fixed_clipped_sum(answer[1])
    return tr("Shared noise, replace-one sensitivity and a missing clip all pass a quick look and fail the definition; "
              "a wasteful budget split does not break it, nor do counts of disjoint records at epsilon each (parallel "
              "composition).")


_CHECKS_02 = {"02.1": Exercise(_laplace_histogram, "build", "core", 15),
              "02.2": Exercise(_find_the_bugs, "reason", "core", 15)}


# --------------------------------------------------------------------------------------------
# 03-gaussian-accounting
# --------------------------------------------------------------------------------------------


def _rdp_cases() -> list[tuple[np.ndarray, float, np.ndarray]]:
    from dp_accounting.rdp.rdp_privacy_accountant import DEFAULT_RDP_ORDERS

    default = np.array(DEFAULT_RDP_ORDERS, dtype=float)
    cases = []
    for seed, (k, delta, orders) in enumerate([(1, 1e-5, default), (3, 1e-3, default), (10, 1e-5, default[::7]),
                                               (50, 1e-7, np.array([1.5, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])),
                                               (200, 1e-5, default), (20, 1e-6, np.array([3.0]))]):
        rng = np.random.default_rng(1430 + seed)
        cases.append((rng.uniform(0.8, 20.0, size=k) * (np.sqrt(k) if k > 10 else 1.0), delta, orders))
    # much noise and a large delta: the best conversion falls below 0, and epsilon is 0
    cases.append((np.random.default_rng(1436).uniform(40.0, 60.0, size=2), 0.5, default))
    return cases


def _dp_accounting_rdp(sigmas: np.ndarray, delta: float, orders: np.ndarray) -> float:
    import dp_accounting
    from dp_accounting import rdp

    acc = rdp.RdpAccountant(list(orders))
    for s in sigmas:
        acc.compose(dp_accounting.GaussianDpEvent(float(s)))
    return float(acc.get_epsilon(delta))


def _conversions(rdp_curve: np.ndarray, orders: np.ndarray, delta: float) -> np.ndarray:
    return rdp_curve + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1)


def _rdp_accountant(fn) -> str:
    for sigmas, delta, orders in _rdp_cases():
        expected = _dp_accounting_rdp(sigmas, delta, orders)
        where = tr("{releases} Gaussian release(s), delta {delta:g}, {orders} order(s)").format(
            releases=sigmas.size, delta=delta, orders=orders.size)
        got = require_number(fn(sigmas.tolist() if sigmas.size % 2 else sigmas.copy(), delta, orders.copy()),
                             "epsilon")
        if abs(got - expected) <= 1e-6 * expected:
            continue
        require(got >= 0, tr("{where}: your epsilon is {epsilon:.4g}, below 0").format(where=where, epsilon=got),
                fix=tr("With much noise and a large delta the conversion can go below 0 at some orders; no mechanism "
                       "has a negative epsilon, so return at least 0 (as dp-accounting does)."))
        curve = orders * np.sum(1 / (2 * sigmas ** 2))
        tells = [
            (float(np.min(curve + np.log(1 / delta) / (orders - 1))),
             N_("that is the 2017 conversion (Mironov, Proposition 3); dp-accounting uses the tighter one"),
             N_("Convert each order with RDP(alpha) + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / "
                "(alpha - 1), as the exercise states.")),
            (float(np.max(_conversions(curve, orders, delta))), N_("you took the largest epsilon over the orders"),
             N_("Every order gives a valid epsilon; report the smallest.")),
            (float(sum(np.min(_conversions(orders / (2 * s ** 2), orders, delta / sigmas.size)) for s in sigmas)),
             N_("you converted each release to (epsilon, delta) and added the epsilons (basic composition)"),
             N_("Add the Renyi divergences of the releases order by order first, then convert the sum once.")),
            (float(np.min(_conversions(orders / (2 * sigmas[0] ** 2), orders, delta))),
             N_("that is the epsilon of the first release alone"),
             N_("Compose all releases: at each order, the divergences of the releases add up.")),
            (float(np.min(_conversions(orders * np.sum(1 / (2 * sigmas)), orders, delta))),
             N_("the divergence of a Gaussian needs sigma squared"),
             N_("One Gaussian release of noise multiplier sigma has RDP alpha / (2 sigma^2) at order alpha.")),
            (float(np.min(_conversions(sigmas.size * orders / (2 * np.mean(sigmas) ** 2), orders, delta))),
             N_("you composed releases of the average noise multiplier"),
             N_("Sum alpha / (2 sigma_i^2) over the releases; the average sigma is not a release that happened.")),
        ]
        for value, meaning, fix in tells:
            if abs(got - value) <= 1e-6 * abs(value) and abs(value - expected) > 1e-6 * expected:
                raise Hint(tr("{where}: dp-accounting's RdpAccountant gives epsilon {expected:.6g}, yours is {got:.6g}; "
                              "{meaning}").format(where=where, expected=expected, got=got, meaning=tr(meaning)),
                           fix=tr(fix))
        raise Hint(tr("{where}: dp-accounting's RdpAccountant gives epsilon {expected:.6g}, yours is {got:.6g}").format(
                       where=where, expected=expected, got=got),
                   fix=tr("Compute the RDP curve (sum over releases of alpha / (2 sigma^2)), convert every order, and "
                          "take the smallest; the result is at least 0."))
    return tr("Your accountant agrees with dp-accounting's RdpAccountant to six digits.")


# Runs for exercise 03.2: small, so that dp-accounting's PLD answers in a fraction of a second.
_RUNS = (
    dict(num_examples=600, batch_size=60, noise_multiplier=2.0, epochs=1, delta=1e-5, sampling="poisson",
         microbatch_size=1),
    dict(num_examples=600, batch_size=60, noise_multiplier=2.0, epochs=1, delta=1e-5, sampling="shuffled",
         microbatch_size=1),
    dict(num_examples=1200, batch_size=60, noise_multiplier=2.0, epochs=1, delta=1e-6, sampling="poisson",
         microbatch_size=4),
    dict(num_examples=1000, batch_size=100, noise_multiplier=3.0, epochs=1, delta=1e-5, sampling="poisson",
         microbatch_size=1),
    dict(num_examples=1000, batch_size=100, noise_multiplier=3.0, epochs=1, delta=1e-5, sampling="shuffled",
         microbatch_size=1),
)


def _right_entry(run: dict) -> str:
    if run["sampling"] == "shuffled":
        return "shuffled_no_amplification"
    return "microbatching" if run["microbatch_size"] > 1 else "pld"


_SAMPLING = {"poisson": N_("poisson batches"), "shuffled": N_("shuffled batches")}


def _describe(run: dict) -> str:
    micro = (tr(", microbatches of {size}").format(size=run["microbatch_size"]) if run["microbatch_size"] > 1
             else "")
    batches = _SAMPLING.get(run["sampling"])
    batches = tr(batches) if batches else f"{run['sampling']} batches"
    return tr("run (n={n}, batch {batch}, sigma {sigma}, {epochs} epoch(s), {batches}{micro})").format(
        n=run["num_examples"], batch=run["batch_size"], sigma=run["noise_multiplier"], epochs=run["epochs"],
        batches=batches, micro=micro)


_WRONG_ENTRY = {
    # (right entry, your entry): (what is wrong, how to fix it)
    ("pld", "rdp"): (N_("RDP is a valid bound here, but another accountant bounds the same mechanism more tightly"),
                     N_("Report the tightest valid upper bound. dp-accounting's PLD rounds the privacy loss up, so it "
                        "is still an upper bound.")),
    ("pld", "rdp_old_conversion"): (N_("the 2017 conversion is valid but looser than today's accountants"),
                                    N_("Newer conversions and PLD bound the same mechanism; report the tightest.")),
    ("pld", "shuffled_no_amplification"): (N_("this run samples each batch by Poisson sampling, so it has earned "
                                              "amplification; counting each epoch as a full release is needlessly "
                                              "loose"),
                                           N_("Use an accountant for the Poisson-subsampled Gaussian.")),
    ("pld", "microbatching"): (N_("each microbatch holds one example, so the noise multiplier does not halve"),
                               N_("With one example per microbatch, one example moves one clipped gradient by at most "
                                  "C.")),
    ("microbatching", "pld"): (N_("microbatches of several examples: adding or removing one example can swap one "
                                  "clipped microbatch gradient for another, a change of up to 2C"),
                               N_("Account with the noise multiplier halved, as tensorflow-privacy does.")),
    ("microbatching", "rdp"): (N_("microbatches of several examples: adding or removing one example can swap one "
                                  "clipped microbatch gradient for another, a change of up to 2C"),
                               N_("Account with the noise multiplier halved, as tensorflow-privacy does.")),
    ("microbatching", "rdp_old_conversion"): (N_("microbatches of several examples double the sensitivity"),
                                              N_("Account with the noise multiplier halved.")),
    ("microbatching", "shuffled_no_amplification"): (N_("this run samples by Poisson sampling, but its microbatches "
                                                        "double the sensitivity"),
                                                     N_("Account for Poisson sampling with the noise multiplier "
                                                        "halved.")),
}
_SHUFFLED_FIX = N_("Shuffled fixed-size batches do not get Poisson amplification (Chua et al. 2024). Without an "
                   "analysis of shuffling, count each epoch as one full Gaussian release.")


def _report_epsilon(fn) -> str:
    for run in _RUNS:
        answer = fn(dict(run))
        require(isinstance(answer, (tuple, list)) and len(answer) == 2,
                tr("{run}: return (entry, epsilon): a key of dp.epsilon_report and its value; got {type}").format(
                    run=_describe(run), type=type(answer).__name__),
                fix=tr("End with: return key, report[key]"))
        key, value = answer
        keys = ("pld", "rdp", "rdp_old_conversion", "microbatching", "shuffled_no_amplification")
        require(isinstance(key, str) and key in keys, tr("{run}: choose the entry as one of {keys}; got {key!r}").format(
                    run=_describe(run), keys=keys, key=key),
                fix=tr("Return the entry's key as a string."))
        right = _right_entry(run)
        if key != right:
            if right == "shuffled_no_amplification":
                raise Hint(tr("{run}: you report {key!r}, which assumes Poisson sampling; this run shuffles").format(
                               run=_describe(run), key=key),
                           fix=tr(_SHUFFLED_FIX))
            meaning, fix = _WRONG_ENTRY[right, key]
            raise Hint(tr("{run}: you report {key!r}; {meaning}").format(run=_describe(run), key=key,
                                                                         meaning=tr(meaning)), fix=tr(fix))
        report = epsilon_report(run["num_examples"], run["batch_size"], run["noise_multiplier"], run["epochs"],
                                run["delta"])
        got = require_number(value, N_("the epsilon"))
        require(abs(got - report[key]) <= 1e-5 * report[key],
                tr("{run}: the entry {key!r} is right, but its epsilon is {want:.4g}, not {got:.4g}").format(
                    run=_describe(run), key=key, want=report[key], got=got),
                fix=tr("Compute the report for the run you are given: dp.epsilon_report(num_examples, batch_size, "
                       "noise_multiplier, epochs, delta)."))
    return tr("Report the tightest bound that holds for the run you actually did, with its accountant and assumptions.")


def _epochs_for_budget(fn) -> str:
    for target, n, b, sigma in [(1.0, 1000, 50, 1.0), (3.0, 1347, 64, 1.1), (0.5, 5000, 100, 2.0)]:
        value = require_number(fn(target, n, b, sigma, 1e-5), N_("a whole number of epochs"))
        setting = tr("target {target}, n={n}, batch {batch}, sigma {sigma}").format(target=target, n=n, batch=b,
                                                                                    sigma=sigma)
        require(value.is_integer() and value >= 0,
                tr("{setting}: return a whole number of epochs (0 or more); got {value:g}").format(setting=setting,
                                                                                                   value=value),
                fix=tr("DP-SGD runs whole epochs here: return an int."))
        got = int(value)  # int, numpy.int64 and integral floats are all fine
        if got >= 1:
            spent = dpsgd_epsilon(n, b, sigma, got, 1e-5)
            require(spent <= target,
                    tr("{setting}: {epochs} epochs spend more than the budget (RDP epsilon {spent:.3g})").format(
                        setting=setting, epochs=got, spent=spent),
                    fix=tr("Stop at the last epoch count whose epsilon is still <= the target; check the accountant "
                           "(dp.dpsgd_epsilon, RDP)."))
        require(dpsgd_epsilon(n, b, sigma, got + 1, 1e-5) > target,
                tr("{setting}: {epochs} epochs still fit the budget").format(setting=setting, epochs=got + 1),
                fix=tr("Keep adding epochs while the epsilon of one more epoch is <= the target (<=, not <). Epsilon "
                       "grows more slowly than linearly, so do not divide the budget by one epoch's cost."))
    return tr("The most epochs a budget allows.")


_CHECKS_03 = {"03.1": Exercise(_rdp_accountant, "build", "core", 20),
              "03.2": Exercise(_report_epsilon, "reason", "core", 10),
              "03.3": Exercise(_epochs_for_budget, "warm-up", "warm-up", 10)}


CHECKS = {**_CHECKS_00, **_CHECKS_01, **_CHECKS_02, **_CHECKS_03}
