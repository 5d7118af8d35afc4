"""The lab's map: every notebook, its track and roughly how long it takes.

Introduced in ``00-index.ipynb``, which displays :func:`lab_map`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

from labkit.i18n import N_, language, pad, tr


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
    Entry("01", "deidentification", N_("Why de-identification is not enough"), N_("Differential privacy"), 20,
          N_("re-identify 'anonymous' records by a join on quasi-identifiers; see a model memorise a record")),
    Entry("02", "dp-from-scratch", N_("Differential privacy from scratch"), N_("Differential privacy"), 30,
          N_("state (epsilon, delta)-DP correctly; use randomized response and the Laplace mechanism")),
    Entry("03", "gaussian-accounting", N_("Gaussian noise and privacy accounting"), N_("Differential privacy"), 30,
          N_("calibrate Gaussian noise; compose with RDP and PLD; explain why one run has several epsilons")),
    Entry("04", "dp-sgd", N_("Training with DP-SGD"), N_("Differential privacy"), 60,
          N_("clip and noise per-example gradients (dense and convolutional); read epsilon for a training run; "
             "tune at a fixed epsilon and count what tuning costs; use better features")),
    Entry("05", "auditing", N_("Auditing privacy"), N_("Differential privacy"), 30,
          N_("run membership-inference attacks; turn attack success into a lower bound on epsilon")),
    Entry("06", "federated-averaging", N_("Federated averaging"), N_("Federated learning"), 45,
          N_("write FedAvg from scratch and match TensorFlow Federated; see non-IID data slow it down and "
             "test FedProx, SCAFFOLD and FedAdam against it")),
    Entry("07", "private-federated-learning", N_("Private federated learning"), N_("Federated learning"), 40,
          N_("add user-level DP to FedAvg and account for it; know what simulated secure sum protects; add "
             "the noise on the clients under secure aggregation (distributed DP)")),
    Entry("08", "homomorphic-encryption", N_("Homomorphic encryption"), N_("Cryptography"), 50,
          N_("implement Paillier and check it against python-paillier; split its key so that no one holder "
             "decrypts; sum exactly with BFV; run encrypted inference with CKKS")),
    Entry("09", "secure-computation", N_("Secure multi-party computation"), N_("Cryptography"), 50,
          N_("share secrets, multiply with Beaver triples, run dropout-tolerant secure aggregation; see "
             "why comparisons and ReLU dominate the cost")),
    Entry("10", "capstone-hospitals", N_("Capstone: a hospital federation"), N_("Capstone"), 40,
          N_("combine FedAvg, secure aggregation and DP; measure what each protection costs")),
)


def exercise_summary(number: str) -> str:
    """How many exercises a notebook has and of which kinds, as the map shows it: ``"3 (2 build, 1 reason)"``."""
    from labkit.exercises import KINDS, exercise_ids, exercise_info

    kinds = [exercise_info(e).kind for e in exercise_ids(number)]
    parts = [tr("{count} {kind}").format(count=kinds.count(k), kind=tr(k)) for k in KINDS if k in kinds]
    separator = "，" if language() == "zh" else ", "
    return tr("{total} ({kinds})").format(total=len(kinds), kinds=separator.join(parts)) if kinds else "0"


@dataclass(frozen=True)
class LabMap:
    entries: tuple[Entry, ...]
    available: frozenset[str]

    def status(self, entry: Entry) -> str:
        return "ready" if entry.filename in self.available else "coming"

    def _status_shown(self, entry: Entry) -> str:
        return tr("ready") if self.status(entry) == "ready" else tr("coming")

    def __repr__(self) -> str:
        rows = [f"{e.number}  {pad(tr(e.title), 40)} {pad(tr(e.track), 21)} "
                + tr("~{minutes} min").format(minutes=f"{e.minutes:>3}")
                + f"  {pad(exercise_summary(e.number), 34)} {self._status_shown(e)}" for e in self.entries]
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        rows = []
        for e in self.entries:
            title = escape(tr(e.title))
            if self.status(e) == "ready":
                title = f"<a href='{e.filename}'>{title}</a>"
            rows.append(
                f"<tr><td>{e.number}</td><td style='text-align:left'>{title}</td><td>{escape(tr(e.track))}</td>"
                f"<td style='text-align:left'>{escape(tr(e.leaves_able_to))}</td>"
                f"<td>{escape(tr('~{minutes} min').format(minutes=e.minutes))}</td>"
                f"<td>{escape(exercise_summary(e.number))}</td>"
                f"<td>{escape(self._status_shown(e))}</td></tr>"
            )
        head = "".join(f"<th>{escape(h)}</th>" for h in (
            "#", tr("notebook"), tr("track"), tr("you leave able to"), tr("time"), tr("exercises"), tr("status")))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


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
        out[tr(e.track)] = out.get(tr(e.track), 0) + e.minutes
    return out
