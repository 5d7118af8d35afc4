"""labkit speaks Chinese: every message marked with tr()/N_() has a translation, placeholders agree, the
language is detected from the notebook's folder, and matplotlib draws the Chinese with a real CJK font."""

from __future__ import annotations

import ast
import logging
import re
import string
import warnings
from collections import defaultdict
from pathlib import Path

import polib
import pytest

from labkit import i18n

ROOT = Path(__file__).resolve().parent.parent
LABKIT = ROOT / "labkit"


def marked_messages() -> dict[str, list[str]]:
    """Every string literal passed as first argument to tr() or N_() in labkit, with where it is."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(LABKIT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found[node.args[0].value].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def catalogue_entries() -> list[tuple[str, polib.POEntry]]:
    return [(p.name, e) for p in sorted(i18n.LOCALE_DIR.glob("*.po")) for e in polib.pofile(str(p))]


def _fields(text: str) -> list[tuple[str, str]]:
    return sorted((name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None)


def test_labkit_marks_its_messages_for_translation():
    assert len(marked_messages()) >= 300  # feedback, widgets, figures, tables of all five tracks


def test_every_marked_message_has_a_chinese_translation_with_the_same_placeholders():
    entries = defaultdict(list)
    for name, e in catalogue_entries():
        entries[e.msgid].append((name, e))
    bad = []
    for msgid, where in marked_messages().items():
        found = [e for _, e in entries.get(msgid, []) if e.msgstr and "fuzzy" not in e.flags and not e.obsolete]
        if not found:
            bad.append(f"{where[0]}: no translation for {msgid!r}")
            continue
        for e in found:
            if _fields(e.msgstr) != _fields(msgid):
                bad.append(f"{where[0]}: placeholders differ: {msgid!r} -> {e.msgstr!r}")
            # Names and symbols may stay Latin ("(a) FedAvg", "MIA TPR@1%FPR"); two lower-case words may not.
            words = re.findall(r"\b[a-z]{3,}\b", re.sub(r"\{[^}]*\}|\$[^$]*\$", "", msgid))
            if not re.search(r"[\u4e00-\u9fff]", e.msgstr) and len(words) >= 2:
                bad.append(f"{where[0]}: not translated into Chinese: {msgid!r} -> {e.msgstr!r}")
        if len({e.msgstr for e in found}) > 1:
            bad.append(f"{where[0]}: two catalogues translate {msgid!r} differently")
    assert bad == [], f"{len(bad)} problems:\n" + "\n".join(bad[:40])


def test_no_catalogue_entry_is_left_over():
    marked = marked_messages()
    stale = [f"{name}: {e.msgid!r}" for name, e in catalogue_entries() if e.msgid not in marked and not e.obsolete]
    assert stale == [], "entries no labkit code uses (remove them):\n" + "\n".join(stale[:40])


def test_english_is_returned_unchanged_and_chinese_comes_from_the_catalogue():
    msgid, msgstr = next((e.msgid, e.msgstr) for _, e in catalogue_entries() if e.msgstr)
    try:
        assert i18n.set_language("en") == "en" and i18n.tr(msgid) == msgid
        assert i18n.set_language("zh_CN") == "zh" and i18n.tr(msgid) == msgstr
        assert i18n.tr("a sentence nobody translated") == "a sentence nobody translated"
    finally:
        i18n.set_language(None)


def test_language_follows_the_notebook_folder_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "zh").mkdir()
    monkeypatch.chdir(tmp_path / "zh")
    assert i18n.language() == "zh"  # nbval and `make zh` run a notebook in its own folder
    monkeypatch.chdir(tmp_path)
    assert i18n.language() == "en"
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "notebooks" / "zh" / "01-deidentification.ipynb"))
    assert i18n.language() == "zh"  # JupyterLab starts kernels with the notebook's path
    monkeypatch.setenv("LABKIT_LANG", "en")
    assert i18n.language() == "en"
    monkeypatch.setenv("LABKIT_LANG", "fr")
    with pytest.raises(ValueError, match="lang must be one of 'en' or 'zh'.*'fr'"):
        i18n.language()
    with pytest.raises(TypeError, match="lang must be a string"):
        i18n.set_language(1)


def test_without_a_cjk_font_setup_says_how_to_install_one(monkeypatch):
    import matplotlib as mpl
    from matplotlib import font_manager

    before = list(mpl.rcParams["font.family"])
    monkeypatch.setattr(i18n, "CJK_FONTS", (("No Such CJK Font", ("/nonexistent/font.ttc",)),))
    with pytest.raises(RuntimeError, match="fonts-wqy-microhei"):
        i18n.use_cjk_font()
    assert list(mpl.rcParams["font.family"]) == before and font_manager.fontManager  # nothing changed


def test_the_cjk_font_covers_every_character_of_every_translation():
    import matplotlib as mpl
    from matplotlib import font_manager, ft2font

    with mpl.rc_context():
        family = i18n.use_cjk_font()
    path = font_manager.findfont(family, fallback_to_default=False)
    covered = set(ft2font.FT2Font(path).get_charmap())
    covered |= set(ft2font.FT2Font(font_manager.findfont("DejaVu Sans")).get_charmap())
    missing = {ch for _, e in catalogue_entries() for ch in e.msgstr if ord(ch) not in covered and ch not in "\n\t"}
    assert missing == set(), f"characters neither {family} nor DejaVu Sans can draw: {sorted(missing)}"


def test_a_chinese_figure_draws_every_glyph(caplog):
    """Drawing Chinese titles, labels with $math$ and ticks raises no missing-glyph warning or log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [e.msgstr for _, e in catalogue_entries() if e.msgstr and "{" not in e.msgstr][:200]
    with matplotlib.rc_context():
        i18n.use_cjk_font()
        fig, ax = plt.subplots()
        for k, text in enumerate(labels):
            ax.text(0, k, text)
        ax.set_title("差分隐私：噪声乘数 $\\sigma$ 与隐私预算 $\\varepsilon \\leq 2^{-3}$")
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("error")
            fig.canvas.draw()
        plt.close(fig)
    assert not [r for r in caplog.records if "glyph" in r.getMessage()]
