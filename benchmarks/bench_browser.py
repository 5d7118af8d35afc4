"""Every widget of every notebook, driven in JupyterLab by Debian's Chromium (Playwright), measured in the page.

Each notebook (a copy with its outputs cleared) is opened in a private JupyterLab and run with Run
All; then each control of each widget is moved as a learner would (slider: its handle focused,
ArrowRight until the end then ArrowLeft; dropdown: the next option selected; toggle buttons and
multiple selections: a click on the next option; text: typed, then Enter; buttons: a click), one
move at a time, each move waiting until the kernel answered and the widget is still. Times are in
milliseconds from the key press (or pointer down), measured in the page with ``performance.now``:
**to DOM** = the new figure is in the page (a ``MutationObserver`` on the cell's output area),
**painted** = the ``requestAnimationFrame`` after the new image decoded. Breakdown: **Python** = the
kernel's busy time for the move's comm messages (its own status timestamps), **round trip** = to DOM
minus Python (page -> kernel -> page, (de)serialisation, widget code), **paint** = painted minus to DOM
(image decode and paint). **min height / height**: the lowest height of the widget's output area in
any frame during the moves, against its height before them; a **flicker** is a move during which a
frame showed the widget lower than both before and after the move (the figure gone, the text below
jumping). Budget: painted median <= 100 ms for every control, goal 50 ms. Buttons that train a model
are not a 100 ms interaction: their first visible feedback (button disabled, progress bar moved) and
total time are in a table of their own. Timings depend on the machine's load (given below)."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLIDER_MOVES, OTHER_MOVES, TEXT_MOVES, TRAIN_MOVES = 16, 8, 6, 2
BUDGET_MS, GOAL_MS = 100.0, 50.0
# What a learner types into a text field, by the field's label (cycled; the last restores the default).
TEXT_VALUES = {"bit sizes": ["60, 40, 60", "60, 40, 40, 40, 60", "60, 20, 60", "30, 40, 40, 60", "200, 60",
                             "60, 40, 40, 60"]}
TRAINING = re.compile(r"train|recompute", re.I)  # buttons that train a model: seconds, not a 100 ms interaction
WIDGET_CALL = re.compile(r"\b(\w+_(?:widget|explorer))\(")


def widget_name(source: str) -> str:
    calls = WIDGET_CALL.findall(source)
    name = calls[-1] if calls else source.strip().splitlines()[-1][:40]
    extra = re.search(r'method="(\w+)"', source)
    return f"{name} ({extra.group(1)})" if extra else name


def measure(tree: Path = ROOT, names: list[str] | None = None, log=print) -> dict:
    """Open each notebook of ``tree/notebooks`` in JupyterLab, Run All, drive every widget; return the raw results.

    A ``tree`` other than this checkout (e.g. ``git archive`` of an older commit) is put first on the
    kernels' ``PYTHONPATH``, so its ``labkit`` is the one measured.
    """
    from tools import browser

    tree = Path(tree).resolve()
    notebooks = sorted((tree / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    if names:
        notebooks = [p for p in notebooks if any(p.name.startswith(n) for n in names)]
    work = browser.scratch_dir("labkit-bench-browser-")
    root = work / "notebooks"
    root.mkdir()
    for path in notebooks:
        browser.cleared_copy(path, root / path.name)
    env = {} if tree == ROOT else {"PYTHONPATH": os.pathsep.join([str(tree)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
                                   "LABKIT_DATA_DIR": str(tree / "data")}
    results = {"tree": str(tree), "load_before": os.getloadavg(), "notebooks": [], "started": time.time()}
    with browser.LabSession(root, work / "lab", env=env) as lab:
        for path in notebooks:
            t = time.time()
            lab.open(path.name)
            state = lab.run_all(timeout=600)
            entry = {"notebook": path.name, "run_all_s": time.time() - t, "errors": state["errors"], "widgets": [],
                     "load": os.getloadavg()}
            results["notebooks"].append(entry)
            log(f"  {path.name}: Run All {entry['run_all_s']:.0f} s, {len(state['errors'])} errors")
            for cell in browser.widget_cells(lab.page):
                widget = {"cell": cell["index"], "name": widget_name(cell["source"]), "controls": []}
                entry["widgets"].append(widget)
                for control in cell["controls"]:
                    kind, label = control["kind"], control["label"]
                    training = kind == "button" and bool(TRAINING.search(label))
                    moves = (TRAIN_MOVES if training else SLIDER_MOVES if kind == "slider"
                             else TEXT_MOVES if kind in ("text", "textarea") else OTHER_MOVES)
                    values = TEXT_VALUES.get(label)
                    record = {"kind": kind, "label": label, "training": training, "moves": []}
                    if kind in ("text", "textarea") and not values:
                        record["skipped"] = "no values to type for this field"
                    elif control["disabled"]:
                        record["skipped"] = "disabled after Run All"
                    else:
                        done = browser.drive(lab.page, cell["index"], control, moves, values=values,
                                             timeout=600 if training else 120)
                        record["moves"] = [asdict(m) for m in done]
                        if not done:
                            record["skipped"] = "no move possible (at its only value, or disabled)"
                    s = browser.summary([browser.Move(**m) for m in record["moves"]]) if record["moves"] else None
                    log(f"    {widget['name']} / {label} ({kind}): "
                        + (record.get("skipped") or f"{s['moves']} moves, painted median {_ms(s['painted'][0])} ms, "
                                                    f"python {_ms(s['python'][0])} ms, flickers {s['flickers']}"))
                    widget["controls"].append(record)
            lab.close_notebook()
    results["leftovers"] = lab.leftovers
    results["load_after"] = os.getloadavg()
    results["seconds"] = time.time() - results.pop("started")
    return results


def _ms(x) -> str:
    return "-" if x is None else f"{x:.0f}"


def _pair(p) -> str:
    return "-" if p is None or p[0] is None else f"{p[0]:.0f} / {p[1]:.0f}"


def tables(results: dict) -> str:
    """The Markdown of the section: one row per control, training buttons apart, then what was not driven."""
    from tools import browser

    head = ["widget", "notebook", "control", "moves", "to DOM median / max (ms)", "painted median / max (ms)", "PNG KB",
            "min height / height (px)", "flickers", "Python ms", "round trip ms", "paint ms", "<= 100 ms"]
    rows, train_rows, notes, over = [], [], [], []
    for nb in results["notebooks"]:
        short = nb["notebook"][:2]
        if nb["errors"]:
            notes.append(f"{nb['notebook']}: Run All showed errors: {nb['errors'][:3]}")
        if not nb["widgets"]:
            notes.append(f"{nb['notebook']}: no widget")
        for widget in nb["widgets"]:
            for c in widget["controls"]:
                if c.get("skipped"):
                    notes.append(f"{nb['notebook']} {widget['name']} / {c['label']} ({c['kind']}): not driven, {c['skipped']}")
                    continue
                s = browser.summary([browser.Move(**m) for m in c["moves"]])
                if s["errors"]:
                    notes.append(f"{nb['notebook']} {widget['name']} / {c['label']}: the kernel sent errors: {s['errors'][:2]}")
                unchanged = s["moves"] - s["changed"]
                control = f"{c['label']} ({c['kind']})" + (f", {unchanged} moves without a new figure" if unchanged else "")
                if c["training"]:
                    train_rows.append([widget["name"], short, control, str(s["moves"]), _pair(s["feedback"]),
                                       _pair(s["painted"]), _pair(s["python"]), str(s["flickers"])])
                    continue
                median = s["painted"][0]
                verdict = "-" if median is None else ("yes" if median <= GOAL_MS else "yes (> 50)" if median <= BUDGET_MS else "**no**")
                if median is not None and median > BUDGET_MS:
                    over.append(f"{widget['name']} / {c['label']}")
                height = "-" if s["height"] is None else f"{s['min_height']:.0f} / {s['height']:.0f}"
                rows.append([widget["name"], short, control, str(s["moves"]), _pair(s["to_dom"]), _pair(s["painted"]),
                             "-" if s["png_kb"] is None else f"{s['png_kb']:.0f}", height, str(s["flickers"]),
                             _ms(s["python"][0]), _ms(s["roundtrip"][0]), _ms(s["paint"][0]), verdict])
    table = browser_table(head, rows)
    parts = [table]
    if train_rows:
        parts.append("Buttons that train a model (seconds; the budget is visible feedback at once, then a progress bar):\n\n"
                     + browser_table(["widget", "notebook", "control", "presses", "first feedback median / max (ms)",
                                      "painted median / max (ms)", "Python median / max (ms)", "flickers"], train_rows))
    load = ", ".join(f"{x:.2f}" for x in results["load_before"])
    parts.append(f"Machine load (1, 5, 15 min) before the run: {load}; after: "
                 f"{', '.join(f'{x:.2f}' for x in results['load_after'])}; the run took {results['seconds']:.0f} s. "
                 f"Over budget (painted median > {BUDGET_MS:.0f} ms): {', '.join(over) if over else 'none'}. "
                 f"Flickering controls: {sum(1 for r in rows if r[8] != '0')} of {len(rows)}.")
    if notes:
        parts.append("Not measured or worth knowing:\n\n" + "\n".join(f"- {n}" for n in notes))
    if results.get("leftovers"):
        parts.append(f"Processes that outlived the run (killed): {results['leftovers']}")
    return "\n\n".join(parts) + "\n"


def browser_table(head: list[str], rows: list[list[str]]) -> str:
    from benchmarks.__main__ import table

    return table(head, rows)


def markdown() -> str:
    """The section's tables (``python -m benchmarks browser``); skipped, with a line saying so, without Chromium."""
    from tools import browser

    if not browser.chromium_available():
        return f"Not run: {browser.CHROMIUM} is missing (Debian's chromium package).\n"
    return tables(measure())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_browser",
                                     description="Measure every widget in the browser; print the section's tables.")
    parser.add_argument("notebooks", nargs="*", help="name prefixes (e.g. 04 09); default: every notebook")
    parser.add_argument("--tree", type=Path, default=ROOT, help="a checkout whose notebooks and labkit to measure")
    parser.add_argument("--json", type=Path, help="also write the raw moves here")
    parser.add_argument("--md", type=Path, help="write the tables here instead of printing them")
    args = parser.parse_args(argv)
    results = measure(args.tree, args.notebooks)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    text = tables(results)
    if args.md:
        args.md.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
