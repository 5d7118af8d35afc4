"""The Chinese edition (中文版): gettext catalogues of the notebooks' prose, and the build of ``notebooks/zh``.

Each English notebook has one catalogue, ``i18n/zh_CN/NN-slug.po``. A markdown cell is split into
blocks at blank lines (a fenced code block is never split), and every block that holds prose is one
entry: ``msgctxt`` is the cell's id, ``msgid`` the English block, ``msgstr`` its Chinese. A block with no
prose (a lone formula, an indented or fenced code block) is copied as it is. Because an entry is looked up by the English
text itself, a block whose English changed has no translation until somebody writes one: the build
refuses it and ``tests/test_i18n.py`` names it.

Commands (run from the project root)::

    python -m tools.i18n update notebooks/*.ipynb   # refresh the catalogues after an English edit
    python -m tools.i18n status notebooks/*.ipynb   # what is missing, fuzzy or left over
    python -m tools.i18n build notebooks/*.ipynb    # write and execute notebooks/zh/ (make zh)

``update`` keeps every translation whose English is unchanged. When a block changed, the old
translation is kept beside the new English, marked ``fuzzy`` with the old English as ``#| msgid``, so
a translator (Poedit, Lokalize or a text editor) sees what changed; a fuzzy entry does not count as
translated. The terms of ``i18n/zh_CN/glossary.tsv`` are the lab's fixed Chinese terminology, taken
from the source document; the test checks that a translation uses them.
"""

from __future__ import annotations

import argparse
import copy
import csv
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polib

ROOT = Path(__file__).resolve().parents[1]
LOCALE = "zh_CN"
CATALOGUES = ROOT / "i18n" / LOCALE
GLOSSARY = CATALOGUES / "glossary.tsv"
OUT = ROOT / "notebooks" / "zh"

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`]*`")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def markdown_blocks(text: str) -> list[str]:
    """Split a markdown cell into blocks at blank lines, never inside a fenced code block or $$ formula."""
    blocks: list[list[str]] = [[]]
    fence: str | None = None
    in_math = False
    for line in text.split("\n"):
        stripped = line.strip()
        if fence is None and not in_math and stripped == "":
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(line)
        m = _FENCE.match(line)
        if m and not in_math:
            fence = None if fence == m.group(1) else (fence or m.group(1))
        elif fence is None and stripped.count("$$") % 2 == 1:
            in_math = not in_math
    return ["\n".join(b) for b in blocks if b]


def prose(block: str) -> str:
    """The block with code, formulas, link targets and URLs removed: the words a reader reads."""
    text = _code_outside_fences(block)
    for pattern in (_MATH, _CODE_SPAN, _LINK_TARGET, _URL):
        text = pattern.sub(" ", text)
    return text


def has_prose(block: str) -> bool:
    """True when a block has words to translate (two or more Latin letters in a row outside code and math).

    An indented code block (every line indented by four spaces: the lab's plain-text formulas) has none.
    """
    if all(line.startswith(("    ", "\t")) for line in block.split("\n") if line.strip()):
        return False
    return bool(_LATIN_WORD.search(prose(block)))


def latin_ratio(text: str) -> float:
    """Share of a translated block's letters that are Latin (names, acronyms), the rest being Chinese.

    Code, formulas and link targets are left out, so only prose counts; a fully Chinese paragraph that
    names DP-SGD and MPyC scores low, an untranslated English one scores 1.0.
    """
    words = prose(text)
    latin = sum(len(w) for w in _LATIN_WORD.findall(words))
    han = len(_HAN.findall(words))
    return latin / (latin + 2 * han) if latin + han else 0.0


_HEADING = re.compile(r"^(#+)\s")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _fences(block: str) -> list[str]:
    out, current = [], None
    for line in block.split("\n"):
        if _FENCE.match(line):
            if current is None:
                current = []
            else:
                out.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return out


def structure_problems(english: str, chinese: str) -> list[str]:
    """Ways a translation changed what must stay: code, formulas, link targets, heading level, list items.

    Inline code, ``$math$``, fenced code and link targets must be the same (as multisets: word order
    may change); a heading keeps its level; a list keeps its number of items.
    """
    out = []
    en_code, zh_code = (_code_outside_fences(t) for t in (english, chinese))
    for name, pattern, a, b in (
        ("inline code", _CODE_SPAN, en_code, zh_code),
        ("formulas", _MATH, _no_code(english), _no_code(chinese)),
        ("link targets", _LINK_TARGET, english, chinese),
    ):
        ea, eb = sorted(pattern.findall(a)), sorted(pattern.findall(b))
        if ea != eb:
            gone = [x for x in ea if x not in eb][:3]
            added = [x for x in eb if x not in ea][:3]
            out.append(f"{name} differ (missing {gone}, added {added})")
    if _fences(english) != _fences(chinese):
        out.append("fenced code blocks differ")
    h_en, h_zh = _HEADING.match(english), _HEADING.match(chinese)
    if (h_en and h_en.group(1)) != (h_zh and h_zh.group(1)):
        out.append("heading level differs")
    items = [sum(1 for line in t.split("\n") if _ITEM.match(line)) for t in (english, chinese)]
    if items[0] != items[1]:
        out.append(f"list items differ ({items[0]} in English, {items[1]} in Chinese)")
    return out


def _code_outside_fences(block: str) -> str:
    lines, fence = [], False
    for line in block.split("\n"):
        if _FENCE.match(line):
            fence = not fence
        elif not fence:
            lines.append(line)
    return "\n".join(lines)


def _no_code(block: str) -> str:
    return _CODE_SPAN.sub(" ", _code_outside_fences(block))


def catalogue_path(notebook: str | Path, catalogues: Path = CATALOGUES) -> Path:
    """``i18n/zh_CN/NN-slug.po`` for ``notebooks/NN-slug.ipynb``."""
    return Path(catalogues) / (Path(notebook).stem + ".po")


@dataclass(frozen=True)
class Block:
    """One translatable block: the cell it is in (id and index) and its English text."""

    cell_id: str
    cell_index: int
    text: str


def notebook_blocks(nb: nbformat.NotebookNode) -> list[Block]:
    """Every prose block of a notebook's markdown cells, in reading order."""
    out: list[Block] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        if not cell.get("id"):
            raise ValueError(f"markdown cell {i} has no id; nbformat 4.5 ids are how catalogue entries find their cell")
        for block in markdown_blocks(cell.source):
            if has_prose(block):
                out.append(Block(cell.id, i, block))
    return out


def _header(notebook: str) -> dict[str, str]:
    return {
        "Project-Id-Version": f"privacy-lab {notebook}",
        "Language": LOCALE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=1; plural=0;",
    }


def load(path: Path) -> polib.POFile:
    """Read a catalogue (an empty one when the file does not exist yet)."""
    return polib.pofile(str(path), wrapwidth=0) if path.exists() else polib.POFile(wrapwidth=0)


def update(notebook: str | Path, catalogues: Path = CATALOGUES) -> tuple[Path, dict[str, int]]:
    """Bring a notebook's catalogue up to date with its English; returns the path and counts.

    Unchanged blocks keep their translation. A changed block inherits the closest old translation of
    the same cell, marked fuzzy with the old English kept as ``previous_msgid``. Entries whose English
    is gone are dropped (git keeps them).
    """
    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    path = catalogue_path(notebook, catalogues)
    old = load(path)
    by_key = {(e.msgctxt, e.msgid): e for e in old}
    by_cell: dict[str, list[polib.POEntry]] = {}
    for e in old:
        by_cell.setdefault(e.msgctxt, []).append(e)
    blocks = notebook_blocks(nb)
    current = {(b.cell_id, b.text) for b in blocks}
    new = polib.POFile(wrapwidth=0)
    new.metadata = {**_header(notebook.name), **{k: v for k, v in old.metadata.items() if k in ("Last-Translator", "Language-Team")}}
    counts = {"kept": 0, "fuzzy": 0, "new": 0}
    seen: set[tuple[str, str]] = set()
    for b in blocks:
        key = (b.cell_id, b.text)
        if key in seen:  # the same block twice in one cell: one entry translates both
            continue
        seen.add(key)
        entry = polib.POEntry(msgctxt=b.cell_id, msgid=b.text, msgstr="", occurrences=[(notebook.name, str(b.cell_index))])
        if key in by_key:
            prev = by_key[key]
            entry.msgstr, entry.flags, entry.tcomment = prev.msgstr, list(prev.flags), prev.tcomment
            entry.previous_msgid = prev.previous_msgid
            counts["fuzzy" if "fuzzy" in prev.flags else "kept"] += 1
        else:
            orphans = [e for e in by_cell.get(b.cell_id, []) if (e.msgctxt, e.msgid) not in current and e.msgstr]
            best = max(orphans, key=lambda e: difflib.SequenceMatcher(None, e.msgid, b.text).ratio(), default=None)
            if best is not None and difflib.SequenceMatcher(None, best.msgid, b.text).ratio() > 0.5:
                entry.msgstr = best.msgstr
                entry.flags = ["fuzzy"]
                entry.previous_msgid = best.previous_msgid or best.msgid
                counts["fuzzy"] += 1
            else:
                counts["new"] += 1
        new.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    new.save(str(path))
    return path, counts


def problems(notebook: str | Path, catalogues: Path = CATALOGUES) -> list[str]:
    """What keeps a notebook's Chinese edition from being built: untranslated, fuzzy or left-over entries."""
    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    path = catalogue_path(notebook, catalogues)
    if not path.exists():
        return [f"{path}: missing (run: python -m tools.i18n update {notebook})"]
    po = load(path)
    entries = {(e.msgctxt, e.msgid): e for e in po}
    out: list[str] = []
    wanted = set()
    for b in notebook_blocks(nb):
        key = (b.cell_id, b.text)
        wanted.add(key)
        first = b.text.split("\n", 1)[0][:70]
        e = entries.get(key)
        if e is None:
            out.append(f"{path.name}: cell {b.cell_index} ({b.cell_id}) has no entry for {first!r}: "
                       "its English changed or is new (run `python -m tools.i18n update`, then translate)")
        elif "fuzzy" in e.flags:
            out.append(f"{path.name}: cell {b.cell_index} ({b.cell_id}) is fuzzy: the English changed since "
                       f"{first!r} was translated")
        elif not e.msgstr.strip():
            out.append(f"{path.name}: cell {b.cell_index} ({b.cell_id}) is untranslated: {first!r}")
    for key, e in entries.items():
        if key not in wanted and not e.obsolete:
            out.append(f"{path.name}: entry {e.msgid.split(chr(10), 1)[0][:70]!r} ({e.msgctxt}) matches no English block (stale)")
    return out


_CJK_END = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u201c\u201d\u2018\u2019]$")
_CJK_START = re.compile(r"^[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u201c\u201d\u2018\u2019]")
_BLOCK_START = re.compile(r"^(\s*([-*+]|\d+[.)])\s|#|\||```|~~~|\$\$|<)")


def join_cjk_lines(block: str) -> str:
    """Join the lines a translator wrapped inside a Chinese paragraph.

    Markdown turns a line break inside a paragraph into a space, which shows between two Chinese
    characters. A break is removed when the line before ends, and the line after starts, with a Chinese
    character or full-width punctuation (or the line before ends with full-width punctuation); list
    items, headings, tables, fences, formulas and blockquote markers keep their lines.
    """
    out: list[str] = []
    fence = False
    for line in block.split("\n"):
        if _FENCE.match(line):
            fence = not fence
            out.append(line)
            continue
        if fence or not out or not line.strip() or not out[-1].strip() or out[-1].endswith("  "):
            out.append(line)
            continue
        prev, body = out[-1], line.lstrip()
        if body.startswith(">"):  # a blockquote line joins only the blockquote line above it
            if not prev.lstrip().startswith(">"):
                out.append(line)
                continue
            body = body[1:].lstrip()
        if _BLOCK_START.match(body) or prev.lstrip().startswith("#"):
            out.append(line)
            continue
        ends = prev.rstrip()
        if _CJK_END.search(ends) and (_CJK_START.match(body) or re.search(r"[\u3000-\u303f\uff00-\uffef]$", ends)):
            out[-1] = ends + body
        else:
            out.append(line)
    return "\n".join(out)


def translate(nb: nbformat.NotebookNode, po: polib.POFile, source_name: str) -> nbformat.NotebookNode:
    """The Chinese notebook: markdown translated block by block, code cells unchanged, outputs cleared."""
    entries = {(e.msgctxt, e.msgid): e for e in po}
    zh = copy.deepcopy(nb)
    for cell in zh.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            continue
        if cell.cell_type != "markdown":
            continue
        parts = []
        for block in markdown_blocks(cell.source):
            if not has_prose(block):
                parts.append(block)
                continue
            e = entries.get((cell.id, block))
            if e is None or not e.msgstr.strip() or "fuzzy" in e.flags:
                raise LookupError(f"{source_name}: no current translation for cell {cell.id}: {block[:70]!r}")
            parts.append(join_cjk_lines(e.msgstr))
        cell.source = "\n\n".join(parts)
    zh.metadata["labkit"] = {**zh.metadata.get("labkit", {}), "language": LOCALE, "translated_from": f"../{source_name}"}
    return zh


def build(notebooks: list[Path], *, execute: bool = True, out: Path = OUT) -> list[Path]:
    """Write ``notebooks/zh/NN-slug.ipynb`` for each English notebook, then run each in a fresh kernel."""
    from tools import notebooks as runner

    bad = [p for nb in notebooks for p in problems(nb)]
    if bad:
        raise SystemExit("The Chinese edition cannot be built; its catalogues are not current:\n  " + "\n  ".join(bad))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in notebooks:
        nb = nbformat.read(notebook, as_version=4)
        zh = translate(nb, load(catalogue_path(notebook)), Path(notebook).name)
        target = out / Path(notebook).name
        nbformat.write(zh, target)
        written.append(target)
        if execute:
            report = runner.execute(target)
            print(f"zh/{report.path}: {report.seconds:.1f} s, kernel peak {report.peak_mb:.0f} MB", flush=True)
    return written


def glossary(kind: str = "term") -> list[tuple[str, str]]:
    """(English, Chinese) pairs of one kind from ``i18n/zh_CN/glossary.tsv`` (comments start with #).

    ``"term"``: words fixed wherever they occur in prose; ``"heading"``: section headings, fixed as a whole.
    """
    if kind not in ("term", "heading"):
        raise ValueError(f"kind must be 'term' or 'heading'; got {kind!r}")
    rows = []
    with GLOSSARY.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) >= 3 and not row[0].startswith("#") and row[2].strip() == kind:
                rows.append((row[0].strip(), row[1].strip()))
    return rows


def glossary_misses(english: str, chinese: str, terms: list[tuple[str, str]] | None = None) -> list[str]:
    """Glossary terms whose English is in ``english`` but whose fixed Chinese is not in ``chinese``."""
    terms = glossary() if terms is None else terms
    text = re.sub(r"\s+", " ", prose(english).replace("*", "")).lower()
    misses = []
    for en, zh in terms:
        if re.search(r"(?<![a-z])" + re.escape(en.lower()) + r"(?![a-z])", text) and not any(
            alt in chinese for alt in zh.split("|")
        ):
            misses.append(f"{en} -> {zh}")
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.i18n", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("update", "refresh the catalogues from the English notebooks"),
                       ("status", "list untranslated, fuzzy and stale entries"),
                       ("build", "write notebooks/zh/ and execute it")):
        p = sub.add_parser(name, help=text)
        p.add_argument("paths", nargs="+", type=Path)
        if name == "build":
            p.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    args = parser.parse_args(argv)
    if args.command == "update":
        for nb in args.paths:
            path, counts = update(nb)
            print(f"{path.relative_to(ROOT)}: {counts['kept']} kept, {counts['fuzzy']} fuzzy, {counts['new']} new")
        return 0
    if args.command == "status":
        bad = [p for nb in args.paths for p in problems(nb)]
        print("\n".join(bad) if bad else "every catalogue is current")
        return 1 if bad else 0
    build(args.paths, execute=not args.no_execute)
    return 0


if __name__ == "__main__":
    sys.exit(main())
