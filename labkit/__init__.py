"""labkit: the helper package behind the privacy-preserving ML lab.

Importing ``labkit`` does no work: TensorFlow and the other heavy libraries are
imported only when a function that needs them is called. Start every notebook with::

    import labkit
    labkit.setup()

Modules, one per topic: :mod:`labkit.runtime` (setup, logging, TFF hygiene),
:mod:`labkit.data`, :mod:`labkit.style`, :mod:`labkit.exercises`, and one per track
(``dp``, ``fl``, ``he``, ``smpc``) added by the notebooks that teach them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["setup", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from labkit.runtime import VersionsTable


def setup(seed: int = 0, *, quiet: bool = True, plots: bool = True, tensorflow: bool = True) -> "VersionsTable":
    """Prepare a notebook kernel: quiet logs, seeds, determinism, plot style.

    See :func:`labkit.runtime.setup` (introduced in ``00-index.ipynb``).
    """
    from labkit.runtime import setup as _setup

    return _setup(seed=seed, quiet=quiet, plots=plots, tensorflow=tensorflow)


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
