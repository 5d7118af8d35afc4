"""Kernel setup: quiet logs, seeds, determinism, plot style and a versions table; memory release at the end.

Introduced in ``00-index.ipynb``; every notebook's Setup cell calls :func:`setup`. The last cell of the
TensorFlow notebooks (04-07) calls :func:`release_memory`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import random
import sys
import warnings
from dataclasses import dataclass, field
from html import escape

from labkit import _validate as v
from labkit.i18n import N_, tr

# Packages whose versions the Setup cell reports, in the order shown.
REPORTED_PACKAGES: tuple[str, ...] = (
    "tensorflow",
    "tensorflow-privacy",
    "tensorflow-federated",
    "dp-accounting",
    "tenseal",
    "phe",
    "mpyc",
    "numpy",
    "scikit-learn",
    "matplotlib",
    "ipywidgets",
)

# Libraries whose Python warnings of every kind are internal noise for a learner (TensorFlow's
# stack: TF, Keras, TFP, TFF, tf-privacy, jax, absl...). labkit's own warnings are never silenced.
NOISY_MODULES = (
    r"(tensorflow|tensorflow_privacy|tensorflow_federated|tensorflow_probability|keras|jax|absl|"
    r"tensorflow_model_optimization|google|tree|h5py|sklearn|mpyc|tenseal)(\..*)?"
)
# Libraries whose deprecation notices (only those) a learner cannot act on: SciPy's calls of
# deprecated NumPy inside dp-accounting's PLD accountant, dp-accounting itself.
DEPRECATING_MODULES = r"(scipy|dp_accounting)(\..*)?"
_DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# The row label of the seed and the version of a missing package, as data (shown translated).
SEED_ROW = N_("seed")
NOT_INSTALLED = N_("not installed")
# Keras seeds with ``random.randint(1, 1e9)``; the standard library then warns from ``random``.
KERAS_RANDINT = r"non-integer arguments to randrange\(\)"


@dataclass(frozen=True)
class VersionsTable:
    """The environment a notebook runs in: Python, seed and package versions.

    Renders as an HTML table in a notebook and as aligned text elsewhere. Both renderings
    are stable for a given environment, so nbval can compare them.
    """

    seed: int
    rows: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, str]:
        return dict(self.rows)

    def _shown_rows(self) -> list[tuple[str, str]]:
        """The rows as the learner reads them: ``seed`` and ``not installed`` in the current language."""
        return [(tr(k) if k == SEED_ROW else k, tr(v) if v == NOT_INSTALLED else v) for k, v in self.rows]

    def __repr__(self) -> str:
        rows = self._shown_rows()
        from labkit.i18n import pad, text_width

        width = max(text_width(k) for k, _ in rows)
        lines = [pad(k, width) + f"  {v}" for k, v in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td style='text-align:left'>{escape(k)}</td><td style='text-align:left'>{escape(v)}</td></tr>"
            for k, v in self._shown_rows()
        )
        return (f"<table><thead><tr><th>{escape(tr('component'))}</th><th>{escape(tr('version'))}</th></tr></thead>"
                f"<tbody>{body}</tbody></table>")


def _seed(seed) -> int:
    """The global seed: an integer from 0 to 2**32 - 1 (a Generator cannot seed Python, NumPy and TF)."""
    return v.integer("seed", seed, minimum=0, maximum=2**32 - 1)


def quiet_environment() -> None:
    """Set the environment variables that keep TensorFlow's C++ logging quiet.

    Must run before TensorFlow is imported to have full effect; :func:`setup` calls it first.
    ``TF_ENABLE_ONEDNN_OPTS=0`` also makes float results independent of the CPU's oneDNN kernels,
    so stored notebook outputs match on another machine.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def silence_python_noise() -> None:
    """Silence absl, the TF/Keras/TFP/TFF Python warnings and the deprecations of the libraries above.

    Only the modules named in :data:`NOISY_MODULES` and :data:`DEPRECATING_MODULES` (and Keras'
    one ``random.randint`` call) are silenced: a deprecation raised by labkit, by the notebook's
    own code or by any other library still shows.
    """
    warnings.filterwarnings("ignore", module=NOISY_MODULES)
    for category in _DEPRECATIONS:
        warnings.filterwarnings("ignore", category=category, module=DEPRECATING_MODULES)
    warnings.filterwarnings("ignore", message=KERAS_RANDINT, category=DeprecationWarning, module="random")
    for name in ("tensorflow", "absl", "jax", "jax._src", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
        absl.logging.set_stderrthreshold("error")
    except ImportError:  # pragma: no cover - absl comes with TF
        pass


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``"not installed"``; imports nothing.

    Raises:
        TypeError: ``name`` is not a string.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a distribution name (a non-empty str); got {name!r} ({type(name).__name__})")
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return NOT_INSTALLED


def versions_table(seed: int) -> VersionsTable:
    """Build the table shown by the Setup cell, without importing the packages.

    Raises:
        TypeError, ValueError: ``seed`` is not an integer from 0 to 2**32 - 1.
    """
    seed = _seed(seed)
    rows = [("python", platform.python_version()), (SEED_ROW, str(seed))]
    rows += [(name, package_version(name)) for name in REPORTED_PACKAGES]
    return VersionsTable(seed=seed, rows=tuple(rows))


def seed_everything(seed: int, *, tensorflow: bool = True) -> None:
    """Seed Python, NumPy and (optionally) TensorFlow, and make TF ops deterministic.

    Raises:
        TypeError, ValueError: ``seed`` is not an integer from 0 to 2**32 - 1 (what NumPy's global
            seed takes), or ``tensorflow`` is not True or False.
    """
    seed = _seed(seed)
    tensorflow = v.flag("tensorflow", tensorflow)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)  # only for third-party code that still uses the global generator
    if tensorflow:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(seed)
        try:
            tf.config.experimental.enable_op_determinism()
        except RuntimeError:  # pragma: no cover - already enabled after TF initialised
            pass


def setup(
    seed: int = 0, *, quiet: bool = True, plots: bool = True, tensorflow: bool = True, lang: str | None = None
) -> VersionsTable:
    """Prepare a kernel for a lab notebook and return the versions table it displays.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` before TensorFlow is imported, silences absl and the
    TF/Keras internal warnings, seeds Python, NumPy and TensorFlow, enables TF op determinism
    and applies the lab's colour-blind-safe plot style.

    Args:
        seed: the seed for Python, NumPy and TensorFlow (a non-negative integer).
        quiet: silence TensorFlow's C++ logs and library-internal Python warnings.
        plots: apply :func:`labkit.style.use_style`.
        tensorflow: also import, seed and make TensorFlow deterministic (the HE and SMPC
            notebooks pass ``False`` and skip TensorFlow's start-up cost).
        lang: ``'en'`` or ``'zh'`` for labkit's messages, widgets and figures; ``None`` detects it
            (:func:`labkit.i18n.language`: Chinese in ``notebooks/zh`` and ``student/zh``). In Chinese,
            matplotlib is given a CJK font (:func:`labkit.i18n.use_cjk_font`).

    Returns:
        A :class:`VersionsTable` (HTML in a notebook).

    Raises:
        TypeError: if ``seed`` is not an integer (a bool, a float, a string), or ``quiet``, ``plots``
            or ``tensorflow`` is not True or False.
        ValueError: if ``seed`` is outside [0, 2**32 - 1], or ``lang`` is not a language labkit speaks.
        RuntimeError: in Chinese with ``plots``, when no CJK font is installed (the message says how).

    Introduced in ``00-index.ipynb``.
    """
    from labkit import i18n

    seed = _seed(seed)
    if lang is not None:
        i18n.set_language(lang)
    quiet, plots, tensorflow = v.flag("quiet", quiet), v.flag("plots", plots), v.flag("tensorflow", tensorflow)
    if quiet:
        if "tensorflow" in sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
            warnings.warn(
                "TensorFlow was imported before labkit.setup(); its start-up logs could not be "
                "silenced. Call labkit.setup() in the first cell.",
                stacklevel=2,
            )
        quiet_environment()
        silence_python_noise()
    seed_everything(seed, tensorflow=tensorflow)
    if quiet and tensorflow:
        import tensorflow as tf

        tf.get_logger().setLevel(logging.ERROR)
        tf.autograph.set_verbosity(0)
    if plots:
        from labkit.style import use_style

        use_style()
        if i18n.language() == "zh":
            i18n.use_cjk_font()
    return versions_table(seed)


# --------------------------------------------------------------------------------------------
# The end of a heavy notebook: return what the kernel can
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryRelease:
    """What :func:`release_memory` did, and this process's resident memory around it.

    ``before`` and ``after`` are the resident set size (RSS) of the calling process, in bytes, as
    the operating system reports it (``psutil``; on Linux the ``VmRSS`` of ``/proc/self/status``).
    ``freed`` is their difference: it can be zero, or slightly negative, when nothing could be returned.
    ``steps`` says what was done, in order.

    Introduced in ``04-dp-sgd.ipynb`` (also at the end of 05, 06 and 07).
    """

    before: int
    after: int
    steps: tuple[str, ...] = ()

    @property
    def freed(self) -> int:
        return self.before - self.after

    def describe(self) -> str:
        """One line in MB (2**20 bytes), the unit of the lab's memory tables."""
        mb = 2**20
        return tr("resident memory of this kernel: {before} MB before, {after} MB after "
                  "({freed} MB returned to the system)").format(before=round(self.before / mb),
                                                               after=round(self.after / mb), freed=round(self.freed / mb))

    def __repr__(self) -> str:
        return self.describe() + "".join(f"\n  - {step}" for step in self.steps)


def resident_memory() -> int:
    """The resident set size (RSS) of this process, in bytes (what :func:`release_memory` reports).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    import psutil

    return int(psutil.Process().memory_info().rss)


def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library is not glibc (macOS, Windows, musl)."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - a glibc without malloc_trim
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def _clear_labkit_caches() -> int:
    """Empty every ``functools.lru_cache`` defined in an imported labkit module; return how many."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "labkit" or name.startswith("labkit.")):
            continue
        for obj in list(vars(module).values()):
            if callable(getattr(obj, "cache_clear", None)) and callable(getattr(obj, "cache_info", None)) \
                    and getattr(obj, "__module__", None) == name:
                obj.cache_clear()
                cleared += 1
    return cleared


def release_memory(*, caches: bool = True) -> MemoryRelease:
    """Return to the operating system what a kernel can give back without losing the notebook's state.

    In order: clear Keras' global state (``tf.keras.backend.clear_session()``, only if TensorFlow is
    already imported: this function never imports it), empty labkit's own result caches
    (``caches=True``; a widget then recomputes what it needs on its next move), run the garbage
    collector, and hand free heap pages back to the system with glibc's ``malloc_trim(0)`` (a no-op
    where the C library is not glibc). The notebook's variables, models and widgets are kept: they
    still work afterwards. What stays is mostly the libraries themselves (TensorFlow alone holds
    about 500 MB once imported), which only shutting the kernel down returns.

    Args:
        caches: also empty labkit's ``functools.lru_cache`` caches (the canary draws of 05, the
            compiled DLG loop of 06, accountant results...).

    Returns:
        A :class:`MemoryRelease` with this process's resident memory before and after, in bytes.

    Raises:
        TypeError: ``caches`` is not True or False.

    Introduced in ``04-dp-sgd.ipynb``; the last cell of 04, 05, 06 and 07 calls it.
    """
    import gc

    caches = v.flag("caches", caches)
    before = resident_memory()
    steps = []
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].keras.backend.clear_session()
        steps.append(tr("cleared Keras' global state (tf.keras.backend.clear_session)"))
    if caches:
        steps.append(tr("emptied {count} labkit caches").format(count=_clear_labkit_caches()))
    gc.collect()
    steps.append(tr("ran the garbage collector"))
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
        steps.append(tr("glibc malloc_trim(0): free heap pages returned to the system"))
    else:
        steps.append(tr("no glibc here: free heap pages stay with the process until it needs them again"))
    return MemoryRelease(before=before, after=resident_memory(), steps=tuple(steps))
