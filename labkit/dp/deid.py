"""A synthetic population and a linkage attack on "de-identified" records.

Introduced in ``01-deidentification.ipynb``. Everything is generated from a seed: no real
person is described. The marginals are meant to look like a US census, not to reproduce one:

- people per ZIP code: log-normal with median 2,800 and log-space sigma 1.53, clipped to
  [50, 110,000] (the shape of US ZIP-code tabulation areas: many small rural codes, a few large
  urban ones; 200 codes drawn with seed 0 hold 1.45 million people, mean 7,248 per code);
- ZIP codes come in blocks that share their first three digits, 40 codes per 3-digit prefix
  (:data:`ZIP_CODES_PER_PREFIX`), as real ones do: the US has over 40,000 ZIP codes and at most
  1,000 three-digit prefixes (000 to 999), so a prefix covers tens of codes on average;
- age: approximate five-year shares of the US 2000 census (:data:`AGE_SHARES`), uniform within
  a band; birth day uniform within the year;
- sex: 49.1% male, 50.9% female.

Quasi-identifiers are coded as integers: ``zip_code`` (five digits), ``birth_day`` (days since
1900-01-01), ``sex`` (0 female, 1 male).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

from labkit import _validate as v
from labkit.i18n import N_, tr

# (lower age, upper age exclusive, share of the population): US 2000 census, rounded.
AGE_SHARES: tuple[tuple[int, int, float], ...] = (
    (0, 5, 0.068), (5, 10, 0.073), (10, 15, 0.073), (15, 20, 0.072), (20, 25, 0.067),
    (25, 30, 0.069), (30, 35, 0.073), (35, 40, 0.081), (40, 45, 0.080), (45, 50, 0.071),
    (50, 55, 0.062), (55, 60, 0.048), (60, 65, 0.038), (65, 70, 0.034), (70, 75, 0.031),
    (75, 80, 0.026), (80, 85, 0.017), (85, 90, 0.009), (90, 100, 0.005),
)
MALE_SHARE = 0.491
ZIP_MEDIAN, ZIP_LOG_SIGMA, ZIP_MIN, ZIP_MAX = 2800.0, 1.53, 50, 110_000
ZIP_CODES_PER_PREFIX = 40  # five-digit codes per three-digit prefix (at most 100 fit in one prefix)
CENSUS_DAY = 36615  # 2000-04-01 as days since 1900-01-01
DAYS_PER_YEAR = 365.25

_FIRST = ("Ada", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "June", "Kofi", "Lena",
          "Mateo", "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wen", "Yusuf")
_LAST = ("Abbott", "Baker", "Cruz", "Dlamini", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
         "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka",
         "Ueda", "Varga", "Walsh", "Young")
DIAGNOSES: tuple[str, ...] = ("asthma", "diabetes", "fracture", "hypertension", "influenza", "migraine",
                              "pneumonia", "depression")


@dataclass(frozen=True)
class Population:
    """People with three quasi-identifiers, grouped by ZIP code.

    Introduced in ``01-deidentification.ipynb``.
    """

    zip_code: np.ndarray  # int32, five digits
    birth_day: np.ndarray  # int32, days since 1900-01-01
    sex: np.ndarray  # int8, 0 female, 1 male
    zip_codes: np.ndarray  # the distinct ZIP codes, int32
    zip_sizes: np.ndarray  # people in each of zip_codes, int64

    def __len__(self) -> int:
        return int(self.zip_code.size)

    @property
    def age(self) -> np.ndarray:
        """Age in whole years on census day (2000-04-01)."""
        return np.floor((CENSUS_DAY - self.birth_day) / DAYS_PER_YEAR).astype(np.int32)

    def __repr__(self) -> str:
        return tr("Population({people:,} people in {zips} ZIP codes; people per ZIP code: "
                  "median {median:,}, mean {mean:,}, largest {largest:,})").format(
            people=len(self), zips=self.zip_codes.size, median=int(np.median(self.zip_sizes)),
            mean=int(round(self.zip_sizes.mean())), largest=int(self.zip_sizes.max()))


def synthetic_population(num_zip_codes: int = 200, seed: int | np.random.Generator = 0, *,
                         zip_codes_per_prefix: int = ZIP_CODES_PER_PREFIX) -> Population:
    """Generate a seeded population (see the module docstring for the marginals).

    The ZIP codes fall into ``ceil(num_zip_codes / zip_codes_per_prefix)`` three-digit prefixes,
    shared out as evenly as possible, so coarsening to three digits merges whole blocks of ZIP
    codes, as it does with real ones.

    Introduced in ``01-deidentification.ipynb``. About 7,000 people per ZIP code on average,
    so 200 ZIP codes give roughly 1.5 million people (about 15 MB).
    """
    num_zip_codes = v.count("num_zip_codes", num_zip_codes, maximum=2000)
    per_prefix = v.count("zip_codes_per_prefix", zip_codes_per_prefix, maximum=100)  # a prefix holds 100 codes
    rng = v.generator(seed, "seed")
    sizes = np.clip(np.round(ZIP_MEDIAN * np.exp(ZIP_LOG_SIGMA * rng.standard_normal(num_zip_codes))),
                    ZIP_MIN, ZIP_MAX).astype(np.int64)
    codes = _zip_codes(num_zip_codes, per_prefix, rng)
    n = int(sizes.sum())
    zip_code = np.repeat(codes, sizes)
    bands = np.array([(lo, hi) for lo, hi, _ in AGE_SHARES], dtype=float)
    shares = np.array([s for _, _, s in AGE_SHARES])
    band = rng.choice(len(AGE_SHARES), size=n, p=shares / shares.sum())
    age_years = bands[band, 0] + rng.random(n) * (bands[band, 1] - bands[band, 0])
    birth_day = np.floor(CENSUS_DAY - age_years * DAYS_PER_YEAR).astype(np.int32)
    sex = (rng.random(n) < MALE_SHARE).astype(np.int8)
    return Population(zip_code=zip_code, birth_day=birth_day, sex=sex, zip_codes=codes, zip_sizes=sizes)


def _zip_codes(num_zip_codes: int, per_prefix: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted distinct five-digit codes in blocks of ``per_prefix`` sharing their first three digits."""
    num_prefixes = math.ceil(num_zip_codes / per_prefix)
    if num_prefixes > 990:
        raise ValueError(f"num_zip_codes={num_zip_codes} with zip_codes_per_prefix={per_prefix} needs "
                         f"{num_prefixes} prefixes; at most 990 (010 to 999) exist")
    prefixes = rng.choice(np.arange(10, 1000), size=num_prefixes, replace=False)
    blocks = [prefix * 100 + rng.choice(100, size=block.size, replace=False)
              for prefix, block in zip(prefixes, np.array_split(np.arange(num_zip_codes), num_prefixes))]
    return np.sort(np.concatenate(blocks)).astype(np.int32)


def zip_prefix_sizes(population: Population) -> np.ndarray:
    """ZIP codes in each three-digit prefix of ``population`` (sorted by prefix).

    Introduced in ``01-deidentification.ipynb``.
    """
    return np.unique(_population(population).zip_codes // 100, return_counts=True)[1]


def birth_year(birth_day: np.ndarray) -> np.ndarray:
    """Calendar year of a day counted from 1900-01-01.

    Introduced in ``01-deidentification.ipynb``.
    """
    if np.ndim(birth_day) == 0 and not isinstance(birth_day, np.ndarray):
        day = v.integer("birth_day", birth_day, minimum=-(10**6), maximum=10**6)
        return birth_year(np.array([day]))[0]
    days = _int_codes("birth_day", birth_day, -(10**6), 10**6)
    days = days.astype("timedelta64[D]") + np.datetime64("1900-01-01")
    return days.astype("datetime64[Y]").astype(np.int64) + 1970


def quasi_identifier_key(zip_code, birth_day, sex, *, zip_digits: int = 5, birth: str = "day") -> np.ndarray:
    """One int64 per person that is equal exactly when the (generalised) quasi-identifiers are.

    Args:
        zip_digits: keep the first 5, 3 or 0 digits of the ZIP code (generalisation).
        birth: ``"day"`` (full date of birth), ``"year"`` (year of birth) or ``"none"``.

    Introduced in ``01-deidentification.ipynb``.
    """
    v.choice("zip_digits", zip_digits, (0, 3, 5))
    v.choice("birth", birth, ("day", "year", "none"))
    # Each field must stay in its own range, or keys of different people collide.
    zips = _int_codes("zip_code", zip_code, 0, 99_999)
    days = _int_codes("birth_day", birth_day, 0, 99_999)
    sexes = _int_codes("sex", sex, 0, 1)
    v.same_length(zip_code=zips, birth_day=days, sex=sexes)
    z = zips // 10 ** (5 - zip_digits) if zip_digits else np.zeros(np.shape(zips), np.int64)
    b = days
    if birth == "year":
        b = birth_year(b)
    elif birth == "none":
        b = np.zeros_like(b)
    return (z * 100_000 + b) * 2 + sexes


def _int_codes(name: str, value, low: int, high: int) -> np.ndarray:
    """A 1-D array of integer codes from ``low`` to ``high`` (floats only when whole numbers)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array of integers from {low} to {high}; got {v._got(value)}")
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integers from {low} to {high}; got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a 1-D array of integers from {low} to {high}; got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise ValueError(f"{name} must hold whole numbers from {low} to {high}; got NaN, inf or a fraction")
    if arr.size and (arr.min() < low or arr.max() > high):
        raise ValueError(f"{name} must hold integers from {low} to {high}; got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def _keys(keys, name: str = "keys") -> np.ndarray:
    """Record keys (quasi_identifier_key's output): a non-empty 1-D array of integers."""
    if keys is None or isinstance(keys, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D array of integer keys (quasi_identifier_key); got {v._got(keys)}")
    arr = np.asarray(keys)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer keys (quasi_identifier_key); got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if arr.size and not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{name} must be a 1-D array of integer keys; got dtype {arr.dtype}")
        if arr.size and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise ValueError(f"{name} must hold integer keys; got NaN, inf or a fraction")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def _population(population) -> "Population":
    if not isinstance(population, Population):
        raise TypeError(f"population must be a Population (synthetic_population()); got {v._got(population)}")
    return population


def _table(name: str, table, columns: tuple[str, ...]) -> "Table":
    if not isinstance(table, Table) or not set(columns) <= set(table.columns):
        raise TypeError(f"{name} must be a Table with columns {', '.join(columns)} (medical_records() or "
                        f"voter_list()); got {v._got(table)}")
    return table


def unique_share(keys) -> float:
    """Share of records whose key no other record has. Introduced in ``01-deidentification.ipynb``."""
    arr = _keys(keys)
    _, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse] == 1))


def group_sizes(keys) -> np.ndarray:
    """For each record, how many records (itself included) share its key.

    Introduced in ``01-deidentification.ipynb``.
    """
    arr = _keys(keys)
    _, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
    return counts[inverse]


def unique_share_by_zip(population: Population) -> tuple[np.ndarray, np.ndarray]:
    """(people in each ZIP code, share of them unique on ZIP code, date of birth and sex).

    Introduced in ``01-deidentification.ipynb``.
    """
    _population(population)
    sizes = group_sizes(quasi_identifier_key(population.zip_code, population.birth_day, population.sex))
    per_zip = np.bincount(np.searchsorted(population.zip_codes, population.zip_code), weights=(sizes == 1),
                          minlength=population.zip_codes.size)
    return population.zip_sizes.copy(), per_zip / population.zip_sizes


def cell_probabilities() -> np.ndarray:
    """Probability of each (birth day, sex) cell under the generating distribution.

    Introduced in ``01-deidentification.ipynb``.
    """
    days, probs = [], []
    for lo, hi, share in AGE_SHARES:
        n_days = (hi - lo) * DAYS_PER_YEAR
        days.append(int(round(n_days)))
        probs.append(share / n_days)
    total = sum(s for _, _, s in AGE_SHARES)
    per_day = np.repeat(np.array(probs) / total, days)
    cells = np.concatenate([per_day * (1 - MALE_SHARE), per_day * MALE_SHARE])
    return cells / cells.sum()


def expected_unique_share(zip_population) -> np.ndarray:
    """Expected share unique on (date of birth, sex) among ``zip_population`` people.

    A person in cell c is unique when none of the other n - 1 people falls in it:
    sum_c p_c (1 - p_c)^(n - 1). About exp(-n / 65,000) for uniform birthdays over 90 years;
    the real age distribution is less uniform, so collisions come sooner.
    Introduced in ``01-deidentification.ipynb``.
    """
    if np.ndim(zip_population) == 0:
        n = np.array([v.real("zip_population", zip_population, low=1.0, high=1e9)])
    else:
        n = v.finite_array("zip_population", zip_population, ndim=1)
        if np.any(n < 1) or np.any(n > 1e9):
            raise ValueError(f"zip_population must hold numbers of people from 1 to 1e9; got values from "
                             f"{n.min():g} to {n.max():g}")
        if n.size > 10_000:
            raise ValueError(f"zip_population must hold at most 10,000 values; got {n.size:,}")
    p = cell_probabilities()
    out = np.array([float(np.sum(p * np.exp((k - 1) * np.log1p(-p)))) for k in n])
    return out if np.ndim(zip_population) else out[:1].item()


# --------------------------------------------------------------------------------------------
# A linkage attack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A small column table that prints its first rows (for the notebook)."""

    columns: dict
    title: str = ""

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def head(self, n: int = 5) -> "Table":
        return Table({k: v[:n] for k, v in self.columns.items()}, self.title)

    def _cells(self, n: int) -> list[list[str]]:
        out = []
        for i in range(min(n, len(self))):
            row = []
            for name, col in self.columns.items():
                v = col[i]
                if name == "birth_date":
                    row.append(format_day(v))
                elif name == "sex":
                    row.append("F" if v == 0 else "M")
                elif name == "zip":
                    row.append(f"{int(v):05d}")
                else:
                    row.append(str(v))
            out.append(row)
        return out

    def __repr__(self) -> str:
        names = list(self.columns)
        cells = self._cells(5)
        widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(names)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(names, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
        more = tr("... {rows:,} rows").format(rows=len(self)) if len(self) > 5 else tr("{rows} rows").format(rows=len(self))
        return "\n".join(([tr(self.title)] if self.title else []) + lines + [more])

    def _repr_html_(self) -> str:
        names = list(self.columns)
        head = "".join(f"<th>{escape(h)}</th>" for h in names)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in self._cells(5))
        cap = f"<caption>{escape(tr(self.title))}</caption>" if self.title else ""
        rows = escape(tr("{rows:,} rows").format(rows=len(self)))
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table><p>{rows}</p>"


def format_day(day) -> str:
    """ISO date of a day counted from 1900-01-01.

    Introduced in ``01-deidentification.ipynb``.
    """
    day = v.integer("day", day, minimum=-(10**6), maximum=10**6)
    return str(np.datetime64("1900-01-01") + np.timedelta64(day, "D"))


def medical_records(population: Population, num_records: int, seed: int | np.random.Generator = 0) -> tuple[Table, np.ndarray]:
    """A "de-identified" hospital table: names removed, ZIP code, birth date, sex and diagnosis kept.

    Returns:
        (the table, the hidden person index of each row: used only to score the attack).

    Introduced in ``01-deidentification.ipynb``.
    """
    num_records = v.count("num_records", num_records, maximum=len(_population(population)))
    rng = v.generator(seed, "seed")
    who = np.sort(rng.choice(len(population), size=num_records, replace=False))
    diagnosis = np.array(DIAGNOSES)[rng.integers(len(DIAGNOSES), size=num_records)]
    table = Table({"zip": population.zip_code[who], "birth_date": population.birth_day[who],
                   "sex": population.sex[who], "diagnosis": diagnosis}, N_("hospital discharges (no names)"))
    return table, who


def voter_list(population: Population, coverage: float = 0.6, seed: int | np.random.Generator = 0) -> tuple[Table, np.ndarray]:
    """A public voter list: name, ZIP code, birth date and sex of a share of the adults.

    ``coverage`` is the share of adults (18 and over on census day) on the list.

    Returns:
        (the table, the hidden person index of each row).

    Introduced in ``01-deidentification.ipynb``.
    """
    v.probability("coverage", coverage, one=True)
    _population(population)
    rng = v.generator(seed, "seed")
    adults = np.flatnonzero(population.age >= 18)
    who = np.sort(adults[rng.random(adults.size) < coverage])
    first = np.array(_FIRST)[rng.integers(len(_FIRST), size=who.size)]
    last = np.array(_LAST)[rng.integers(len(_LAST), size=who.size)]
    names = np.char.add(np.char.add(first, " "), last)
    table = Table({"name": names, "zip": population.zip_code[who], "birth_date": population.birth_day[who],
                   "sex": population.sex[who]}, N_("voter list (public)"))
    return table, who


@dataclass(frozen=True)
class LinkageResult:
    """What :func:`link` found: unique, ambiguous and missing matches, and how many were right.

    Introduced in ``01-deidentification.ipynb``.
    """
    records: int
    unique_matches: int
    correct: int
    ambiguous: int
    unmatched: int
    match_index: np.ndarray  # voter row for each record, -1 unless the match is unique

    @property
    def reidentified_share(self) -> float:
        return self.correct / self.records

    def reidentified_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Exact (Clopper-Pearson) confidence interval on the share of records correctly re-identified.

        It covers the sampling of the records (a random sample of the population), for this
        population and voter list.
        """
        from scipy.stats import binomtest

        v.probability("confidence", confidence)
        ci = binomtest(self.correct, self.records).proportion_ci(confidence)
        return float(ci.low), float(ci.high)

    def __repr__(self) -> str:
        low, high = self.reidentified_interval()
        return tr("{records:,} records: {unique:,} match exactly one voter ({correct:,} correctly, {wrong:,} wrongly), "
                  "{ambiguous:,} match several, {unmatched:,} match none; "
                  "re-identified {share:.1%} (95% CI {low:.1%} to {high:.1%})").format(
            records=self.records, unique=self.unique_matches, correct=self.correct,
            wrong=self.unique_matches - self.correct, ambiguous=self.ambiguous, unmatched=self.unmatched,
            share=self.reidentified_share, low=low, high=high)


def link(records: Table, voters: Table, record_truth: np.ndarray, voter_truth: np.ndarray) -> LinkageResult:
    """Join records to voters on (ZIP code, birth date, sex); a unique match names the record.

    ``record_truth`` and ``voter_truth`` (hidden person indices) are used only for scoring.
    Introduced in ``01-deidentification.ipynb``.
    """
    _table("records", records, ("zip", "birth_date", "sex"))
    _table("voters", voters, ("zip", "birth_date", "sex"))
    record_truth = _int_codes("record_truth", record_truth, 0, 10**9)
    voter_truth = _int_codes("voter_truth", voter_truth, 0, 10**9)
    if len(record_truth) != len(records):
        raise ValueError(f"record_truth must have one entry per row of records ({len(records)}); got {len(record_truth)}")
    if len(voter_truth) != len(voters):
        raise ValueError(f"voter_truth must have one entry per row of voters ({len(voters)}); got {len(voter_truth)}")
    rk = quasi_identifier_key(records.columns["zip"], records.columns["birth_date"], records.columns["sex"])
    vk = quasi_identifier_key(voters.columns["zip"], voters.columns["birth_date"], voters.columns["sex"])
    match, n_match = _join(rk, vk)
    unique = n_match == 1
    correct = int(np.sum(unique & (voter_truth[np.maximum(match, 0)] == record_truth)))
    return LinkageResult(records=int(rk.size), unique_matches=int(unique.sum()), correct=correct,
                         ambiguous=int(np.sum(n_match > 1)), unmatched=int(np.sum(n_match == 0)), match_index=match)


def _join(record_keys: np.ndarray, voter_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(voter row of each record's only match or -1, number of voters with each record's key)."""
    order = np.argsort(voter_keys, kind="stable")
    sorted_keys = voter_keys[order]
    left = np.searchsorted(sorted_keys, record_keys, side="left")
    n_match = np.searchsorted(sorted_keys, record_keys, side="right") - left
    match = np.full(record_keys.size, -1, dtype=np.int64)
    unique = n_match == 1
    match[unique] = order[left[unique]]
    return match, n_match


def unique_matches(record_keys, voter_keys) -> np.ndarray:
    """The linkage join: for each record, the row of the only voter with the same key, or -1.

    A record whose key no voter has, or several voters have, stays anonymous (-1): the attacker
    cannot tell which of them it is. Keys are :func:`quasi_identifier_key` values, generalised or not.

    Introduced in ``01-deidentification.ipynb`` (exercise 01.1 asks the learner to write it).

    Args:
        record_keys: one integer key per published record (non-empty, 1-D).
        voter_keys: one integer key per row of the auxiliary list (non-empty, 1-D).

    Returns:
        An int64 array of voter row numbers, one per record, -1 where the match is not unique.
    """
    return _join(_keys(record_keys, "record_keys"), _keys(voter_keys, "voter_keys"))[0]


def homogeneous_records(keys, sensitive) -> np.ndarray:
    """For each record, whether every record with its key has the same sensitive value.

    An adversary who knows a person's quasi-identifiers and that the person is in the table learns
    their sensitive value for certain when the group is homogeneous, however large the group (the
    homogeneity attack on k-anonymity; Machanavajjhala, Kifer, Gehrke & Venkitasubramaniam 2007,
    *l-diversity*).

    Introduced in ``01-deidentification.ipynb`` (exercise 01.2).

    Args:
        keys: one integer key per record (non-empty, 1-D), generalised or not.
        sensitive: one value per record (a diagnosis: strings or integers), the same length.

    Returns:
        A boolean array, True where the record's group holds one sensitive value only.
    """
    arr = _keys(keys)
    if sensitive is None or isinstance(sensitive, (str, bytes)) or np.ndim(sensitive) != 1:
        raise TypeError(f"sensitive must be a 1-D array with one value per record; got {v._got(sensitive)}")
    values = np.asarray(sensitive)
    v.same_length(keys=arr, sensitive=values)
    _, group = np.unique(arr, return_inverse=True)
    _, value = np.unique(values, return_inverse=True)
    pairs = np.unique(np.stack([group.ravel(), value.ravel()]), axis=1)  # distinct (group, value) pairs
    values_per_group = np.bincount(pairs[0], minlength=group.max() + 1)
    return values_per_group[group.ravel()] == 1
