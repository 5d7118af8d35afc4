"""labkit: the helper package behind the privacy-preserving ML lab.

Importing ``labkit`` does no work: TensorFlow and the other heavy libraries are
imported only when a function that needs them is called. Start every notebook with::

    import labkit
    labkit.setup()

One package per track, each holding its mechanisms, figures, widgets and exercise checks, so that a
notebook's code is in one place (each package's docstring lists the notebooks that use it):

* :mod:`labkit.dp` (01-05): ``deid``, ``mechanisms``, ``calibration``, ``accounting``, ``dpsgd``,
  ``audit``, ``plots``, ``widgets``, ``checks`` (the checks of 00 too).
* :mod:`labkit.fl` (06-07, 10): ``models``, ``fedavg``, ``aggregation``, ``dp_fedavg``, ``tff``
  (TensorFlow Federated, with the worker guard), ``sweeps``, ``plots``, ``widgets``, ``checks``.
* :mod:`labkit.he` (08, 10): ``paillier``, ``ckks``, ``plots``, ``widgets``, ``checks``.
* :mod:`labkit.smpc` (09, 10): ``ring``, ``additive``, ``shamir``, ``beaver``, ``secagg``,
  ``coalition``, ``mpyc`` (``mpyc_demo``, ``runner``), ``plots``, ``widgets``, ``checks``.
* :mod:`labkit.capstone` (10): ``federation``, ``plots``, ``checks``.

Shared modules: :mod:`labkit.runtime` (:func:`setup`: seeds, quiet logs, plot style, versions; 00),
:mod:`labkit.data` (the datasets every notebook loads, client partitions (06) and the verified files under ``data/``),
:mod:`labkit.style` (palette, plot style, ``new_axes``), :mod:`labkit.i18n` (``tr``: English or Chinese), :mod:`labkit.exercises` (``check``,
``Hint``, the registry of each track's checks), :mod:`labkit.curriculum` (the lab's map in 00),
:mod:`labkit._validate` (the argument checks: "name must be ...; got ...") and
:mod:`labkit._compat` (every private API of another library, each with a test).

Lab tooling that learners never import lives outside the package, in ``tools/`` (student copies,
notebook execution and hygiene, the ``make data`` builders); no labkit module imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["setup", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from labkit.runtime import VersionsTable


def setup(
    seed: int = 0, *, quiet: bool = True, plots: bool = True, tensorflow: bool = True, lang: str | None = None
) -> "VersionsTable":
    """Prepare a notebook kernel: quiet logs, seeds, determinism, plot style.

    See :func:`labkit.runtime.setup` (introduced in ``00-index.ipynb``).
    """
    from labkit.runtime import setup as _setup

    return _setup(seed=seed, quiet=quiet, plots=plots, tensorflow=tensorflow, lang=lang)


def __getattr__(name: str) -> Any:
    # Submodules load on first attribute access (``labkit.dp``), so ``import labkit`` stays cheap.
    import importlib

    if not name.startswith("_"):
        try:
            return importlib.import_module(f"labkit.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"labkit.{name}":
                raise
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
