"""The lab's map: every notebook, its track and roughly how long it takes.

Introduced in ``00-index.ipynb``, which displays :func:`lab_map`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    number: str
    slug: str
    title: str
    track: str
    reading: int  # minutes to read and run the notebook, for a learner (not the run time)
    leaves_able_to: str

    @property
    def filename(self) -> str:
        return f"{self.number}-{self.slug}.ipynb"

    @property
    def exercise_minutes(self) -> int:
        """The expected minutes of the notebook's exercises, as their headings state them."""
        from labkit.exercises import exercise_ids, exercise_info

        return sum(exercise_info(e).minutes for e in exercise_ids(self.number))

    @property
    def minutes(self) -> int:
        """Reading plus exercises: the time a learner should plan for the notebook."""
        return self.reading + self.exercise_minutes


CURRICULUM: tuple[Entry, ...] = (
    Entry("01", "deidentification", "Why de-identification is not enough", "Differential privacy", 20,
          "re-identify 'anonymous' records by a join on quasi-identifiers; see a model memorise a record"),
    Entry("02", "dp-from-scratch", "Differential privacy from scratch", "Differential privacy", 30,
          "state (epsilon, delta)-DP correctly; use randomized response and the Laplace mechanism"),
    Entry("03", "gaussian-accounting", "Gaussian noise and privacy accounting", "Differential privacy", 30,
          "calibrate Gaussian noise; compose with RDP and PLD; explain why one run has several epsilons"),
    Entry("04", "dp-sgd", "Training with DP-SGD", "Differential privacy", 60,
          "clip and noise per-example gradients (dense and convolutional); read epsilon for a training run; "
          "tune at a fixed epsilon and count what tuning costs; use better features"),
    Entry("05", "auditing", "Auditing privacy", "Differential privacy", 30,
          "run membership-inference attacks; turn attack success into a lower bound on epsilon"),
    Entry("06", "federated-averaging", "Federated averaging", "Federated learning", 45,
          "write FedAvg from scratch and match TensorFlow Federated; see non-IID data slow it down and "
          "test FedProx, SCAFFOLD and FedAdam against it"),
    Entry("07", "private-federated-learning", "Private federated learning", "Federated learning", 40,
          "add user-level DP to FedAvg and account for it; know what simulated secure sum protects; add "
          "the noise on the clients under secure aggregation (distributed DP)"),
    Entry("08", "homomorphic-encryption", "Homomorphic encryption", "Cryptography", 50,
          "implement Paillier and check it against python-paillier; split its key so that no one holder "
          "decrypts; sum exactly with BFV; run encrypted inference with CKKS"),
    Entry("09", "secure-computation", "Secure multi-party computation", "Cryptography", 50,
          "share secrets, multiply with Beaver triples, run dropout-tolerant secure aggregation; see "
          "why comparisons and ReLU dominate the cost"),
    Entry("10", "capstone-hospitals", "Capstone: a hospital federation", "Capstone", 40,
          "combine FedAvg, secure aggregation and DP; measure what each protection costs"),
)


def exercise_summary(number: str) -> str:
    """How many exercises a notebook has and of which kinds, as the map shows it: ``"3 (2 build, 1 reason)"``."""
    from labkit.exercises import KINDS, exercise_ids, exercise_info

    kinds = [exercise_info(e).kind for e in exercise_ids(number)]
    parts = [f"{kinds.count(k)} {k}" for k in KINDS if k in kinds]
    return f"{len(kinds)} ({', '.join(parts)})" if kinds else "0"


@dataclass(frozen=True)
class LabMap:
    entries: tuple[Entry, ...]
    available: frozenset[str]

    def status(self, entry: Entry) -> str:
        return "ready" if entry.filename in self.available else "coming"

    def __repr__(self) -> str:
        rows = [f"{e.number}  {e.title:<40} {e.track:<21} ~{e.minutes:>3} min  "
                f"{exercise_summary(e.number):<34} {self.status(e)}" for e in self.entries]
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        rows = []
        for e in self.entries:
            title = escape(e.title)
            if self.status(e) == "ready":
                title = f"<a href='{e.filename}'>{title}</a>"
            rows.append(
                f"<tr><td>{e.number}</td><td style='text-align:left'>{title}</td><td>{escape(e.track)}</td>"
                f"<td style='text-align:left'>{escape(e.leaves_able_to)}</td><td>~{e.minutes} min</td>"
                f"<td>{escape(exercise_summary(e.number))}</td>"
                f"<td>{self.status(e)}</td></tr>"
            )
        head = "<tr><th>#</th><th>notebook</th><th>track</th><th>you leave able to</th><th>time</th><th>exercises</th><th>status</th></tr>"
        return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def lab_map(notebooks_dir: str | Path = ".") -> LabMap:
    """The curriculum with each notebook marked ``ready`` (present in ``notebooks_dir``) or ``coming``.

    Raises:
        TypeError: ``notebooks_dir`` is not a path (a ``str`` or ``os.PathLike``).
        ValueError: ``notebooks_dir`` is not an existing folder.
    """
    if not isinstance(notebooks_dir, (str, os.PathLike)):
        raise TypeError(f"notebooks_dir must be a folder path (a str or os.PathLike); got {notebooks_dir!r} "
                        f"({type(notebooks_dir).__name__})")
    if not Path(notebooks_dir).is_dir():
        raise ValueError(f"notebooks_dir must be an existing folder; got {str(notebooks_dir)!r}")
    present = frozenset(p.name for p in Path(notebooks_dir).glob("*.ipynb"))
    return LabMap(entries=CURRICULUM, available=present)


def track_minutes() -> dict[str, int]:
    """Reading time per track, summed over its notebooks."""
    out: dict[str, int] = {}
    for e in CURRICULUM:
        out[e.track] = out.get(e.track, 0) + e.minutes
    return out
