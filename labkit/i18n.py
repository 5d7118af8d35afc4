"""The language labkit speaks: English, or Chinese (zh_CN) in the Chinese edition (``notebooks/zh``).

Every string a learner sees (exercise feedback, widget labels, figure titles and axes, tables) goes
through :func:`tr`, which looks it up in the gettext catalogues under ``labkit/locale/zh_CN/`` (one
``.po`` file per track, read with polib) when the language is Chinese. Introduced in ``00-index.ipynb``.

The language is, in this order: the ``lang`` given to :func:`labkit.setup` (or :func:`set_language`);
the ``LABKIT_LANG`` environment variable; ``zh`` when the notebook sits in a folder named ``zh``
(``notebooks/zh``, ``student/zh``: the kernel's working directory, or the notebook path JupyterLab
passes as ``JPY_SESSION_NAME``); otherwise English. So the code cells of the two editions are identical.

Writing a message: ``tr("Noise scale {scale:.2f}").format(scale=b)``; the placeholders of a
translation must equal the English ones (a test checks). A module-level constant that is shown later is
marked with :func:`N_` where it is defined and passed through :func:`tr` where it is shown.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

__all__ = ["tr", "N_", "language", "set_language", "use_cjk_font", "text_width", "pad", "LANGUAGES", "CJK_FONTS"]

LANGUAGES = ("en", "zh")
LOCALE_DIR = Path(__file__).with_name("locale") / "zh_CN"
# CJK fonts matplotlib may find, in order of preference: (family, files where Debian installs it).
# `make install` installs the first (Debian's fonts-wqy-microhei, pinned there); Binder's apt.txt too.
CJK_FONTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("WenQuanYi Micro Hei", ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)),
    ("Noto Sans CJK SC", ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",)),
    ("WenQuanYi Zen Hei", ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",)),
)

_chosen: str | None = None


def _normalise(lang: str) -> str:
    key = lang.strip().lower().replace("-", "_")
    if key in ("en", "en_us", "en_gb", "c", "posix"):
        return "en"
    if key in ("zh", "zh_cn", "zh_hans", "zh_hans_cn"):
        return "zh"
    raise ValueError(f"lang must be one of 'en' or 'zh' (also 'zh_CN', 'zh-Hans'); got {lang!r}")


def set_language(lang: str | None) -> str:
    """Fix labkit's language for this kernel (``None`` goes back to detecting it); returns the language."""
    global _chosen
    if lang is not None and not isinstance(lang, str):
        raise TypeError(f"lang must be a string ('en' or 'zh') or None; got {type(lang).__name__}")
    _chosen = None if lang is None else _normalise(lang)
    return language()


def _folder_language() -> str:
    session = os.environ.get("JPY_SESSION_NAME", "")
    folder = Path(session).parent if session.endswith(".ipynb") else Path.cwd()
    return "zh" if folder.name == "zh" else "en"


def language() -> str:
    """``'en'`` or ``'zh'``: the language labkit's messages are in now (see the module docstring)."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get("LABKIT_LANG", "").strip()
    if env:
        return _normalise(env)
    return _folder_language()


@lru_cache(maxsize=None)
def catalogue() -> dict[str, str]:
    """Every translated, non-fuzzy message of ``labkit/locale/zh_CN/*.po``, English to Chinese."""
    import polib

    table: dict[str, str] = {}
    for path in sorted(LOCALE_DIR.glob("*.po")):
        for entry in polib.pofile(str(path)):
            if entry.msgstr and not entry.obsolete and "fuzzy" not in entry.flags:
                table[entry.msgid] = entry.msgstr
    return table


def tr(message: str) -> str:
    """``message`` in the current language (the English itself when there is no translation)."""
    if not isinstance(message, str):
        raise TypeError(f"message must be a string; got {type(message).__name__}")
    if language() == "en":
        return message
    return catalogue().get(message, message)


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; :func:`tr` translates it where it is shown."""
    if not isinstance(message, str):
        raise TypeError(f"message must be a string; got {type(message).__name__}")
    return message


def text_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: two for a wide (Chinese) character, one for the others."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}")
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns (:func:`text_width`).

    Aligns the text tables labkit prints (versions, the lab map, the capstone's costs) in both languages.
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise ValueError(f"width must be a non-negative integer (columns); got {width!r}")
    return text + " " * max(0, width - text_width(text))


def use_cjk_font() -> str:
    """Let matplotlib draw Chinese: add the first CJK font found to the sans-serif fallback list.

    The CJK font comes first and DejaVu Sans (matplotlib's default) second, for the symbols the CJK
    font lacks. Returns the family used.

    Raises:
        RuntimeError: when no CJK font is installed; the message says how to install one (without it,
            every Chinese label would be drawn as empty boxes).
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family, files in CJK_FONTS:
        if family not in known:
            for file in files:
                if Path(file).exists():
                    font_manager.fontManager.addfont(file)
                    known.add(family)
                    break
        if family in known:
            # matplotlib falls back glyph by glyph only across the families named in font.family (a
            # generic "sans-serif" resolves to one font), and the plain text of a label that also holds
            # $math$ is drawn with the first family alone, so the CJK font comes first.
            mpl.rcParams["font.family"] = [family, "DejaVu Sans"]
            return family
    raise RuntimeError(
        "No Chinese (CJK) font for the figures: install Debian's fonts-wqy-microhei "
        "(`make install` does it when run as root; `sudo apt-get install fonts-wqy-microhei` otherwise), "
        f"or one of {', '.join(f for f, _ in CJK_FONTS)}; then restart the kernel."
    )
