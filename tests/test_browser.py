"""A real browser drives the lab in JupyterLab (``tools.browser``: a private JupyterLab, Debian's Chromium).

* Notebook 02 run whole: its noise-calibration slider redraws the figure.
* One widget per track in a small scratch notebook (DP noise calibration, FL gradient inversion, HE
  CKKS parameters, SMPC coalitions): every control moved a few times with the keyboard or mouse;
  each move must put a new figure in the page, never paint the widget collapsed (no flicker:
  the output area's height, sampled every frame, never drops below its height before and after
  the move), and no cell or comm may report an error. Two widgets made to fail (one clears its
  Output before redrawing, one never redraws) check first that the probe sees both faults.
* Opening every notebook and letting autosave run changes no file.

Server, kernels and browser are stopped at the end whatever happens, and the test checks that
none outlived the stop. No timing is asserted (``benchmarks/bench_browser.py`` reports times).
Screenshots go to ``test-artifacts/``. ``playwright install`` cannot download a browser here, so
``tools.browser`` points Playwright at ``/usr/bin/chromium`` (``make test`` installs it when missing).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tools import browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "02-dp-from-scratch.ipynb"
ARTIFACTS = ROOT / "test-artifacts"


def _browser_or_skip() -> None:
    if browser.chromium_available():
        return
    message = (f"{browser.CHROMIUM} is missing: the browser test needs Debian's chromium package "
               "(`make test` installs it as root)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; in CI a missing browser is a failure")
    pytest.skip(message)


@pytest.mark.slow
def test_noise_calibration_slider_redraws_the_figure_in_a_real_browser(tmp_path):
    _browser_or_skip()
    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    browser.cleared_copy(ROOT / "notebooks" / NOTEBOOK, root_dir / NOTEBOOK)
    ARTIFACTS.mkdir(exist_ok=True)
    with browser.LabSession(root_dir, tmp_path / "lab") as lab:
        page = lab.page
        lab.open(NOTEBOOK)
        state = lab.run_all()
        assert state["errors"] == [], f"cells show errors after Run All: {state['errors']}"

        widget = page.locator(".jp-Cell", has=page.locator(".widget-slider")).first
        widget.scroll_into_view_if_needed()
        figure = widget.locator("img").first
        figure.wait_for(state="visible")
        before_src = figure.get_attribute("src")
        readout = widget.locator(".widget-readout").first
        before_value = readout.inner_text()
        handle = widget.locator(".noUi-handle").first
        handle.focus()
        for _ in range(6):  # six steps of 0.05 in log10(epsilon): 1.0 -> about 2.0
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([el, before]) => el.innerText !== before", arg=[readout.element_handle(), before_value], timeout=30_000)
        page.wait_for_function(
            "([cell, before]) => { const img = cell.querySelector('img');"
            " return !!img && img.getAttribute('src') !== before; }",
            arg=[widget.element_handle(), before_src], timeout=60_000)
        after_src = widget.locator("img").first.get_attribute("src")
        after_value = readout.inner_text()
        page.wait_for_function(f"() => ({browser.NOTEBOOK_STATE})().status === 'idle'", timeout=60_000)
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-02-noise-calibration.png"))

        assert float(after_value) > float(before_value), f"epsilon readout went {before_value} -> {after_value}"
        assert after_src and after_src != before_src and after_src.startswith(("data:image/png", "blob:"))
        state = lab.state()
        assert state["errors"] == [], f"cells show errors after the slider move: {state['errors']}"
        shown = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in shown and "Traceback" not in shown
        lab.close_notebook()
    assert lab.leftovers == [], f"processes outlived the test: {lab.leftovers}"


# One widget per track, each in a cell of its own (cheap to build: no notebook is run whole).
TRACK_WIDGETS = {
    "dp": "from labkit.dp.widgets import noise_calibration_widget\n\nnoise_calibration_widget()",
    "fl": "from labkit.fl.widgets import inversion_explorer\n\ninversion_explorer(batch_size=4, num_clients=1, noise_multiplier=0.0)",
    "he": "from labkit.he.widgets import ckks_explorer\n\nckks_explorer()",
    "smpc": "from labkit.smpc.widgets import coalition_widget\n\ncoalition_widget(secret=42, seed=0)",
}
# Two widgets made to fail, so that the probe itself is checked: one clears its Output and appends the new
# figure 0.3 s later (the flicker the lab's widgets had), one never redraws its figure.
PROBE_CHECKS = {
    "flickers": """import io
import time

import ipywidgets as w
from IPython.display import Image
from PIL import Image as Picture


def png(shade: int) -> bytes:
    buf = io.BytesIO()
    Picture.new("RGB", (400, 200), (shade * 20 % 256, 90, 160)).save(buf, format="png")
    return buf.getvalue()


flicker_slider, flicker_out = w.IntSlider(value=0, min=0, max=10, description="flicker"), w.Output()


def flicker(change) -> None:
    flicker_out.outputs = ()
    time.sleep(0.3)
    flicker_out.append_display_data(Image(data=png(change["new"]), format="png"))


flicker_slider.observe(flicker, "value")
flicker_out.append_display_data(Image(data=png(0), format="png"))
w.VBox([flicker_slider, flicker_out])""",
    "stale": """stale_slider = w.IntSlider(value=0, min=0, max=10, description="stale")
w.VBox([stale_slider, w.Image(value=png(0), format="png")])""",
}
MOVES = {"slider": 3, "dropdown": 2, "select-multiple": 2, "text": 2, "toggle": 2}
TYPED = ["60, 40, 60", "60, 40, 40, 60"]  # the CKKS bit sizes: one level fewer, then the default again


def _scratch_notebook(path: Path) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "id": "setup", "metadata": {}, "outputs": [],
              "source": "import labkit\n\nlabkit.setup(tensorflow=False);"}]
    cells += [{"cell_type": "code", "execution_count": None, "id": track, "metadata": {}, "outputs": [], "source": src}
              for track, src in {**PROBE_CHECKS, **TRACK_WIDGETS}.items()]
    source = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))
    nb = {"cells": cells, "metadata": source["metadata"], "nbformat": 4, "nbformat_minor": source["nbformat_minor"]}
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


@pytest.mark.slow
def test_one_widget_per_track_redraws_on_every_move_without_flicker(tmp_path):
    """Each move of each control shows a new figure, and no frame paints the widget collapsed."""
    _browser_or_skip()
    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    _scratch_notebook(root_dir / "widgets.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    driven: dict[str, list[str]] = {}
    with browser.LabSession(root_dir, tmp_path / "lab") as lab:
        lab.open("widgets.ipynb")
        state = lab.run_all()
        assert state["errors"] == [], f"cells show errors after Run All: {state['errors']}"
        cells = browser.widget_cells(lab.page)
        assert len(cells) == len(PROBE_CHECKS) + len(TRACK_WIDGETS), f"found {[c['source'][:40] for c in cells]}"
        # the probe must see what it is there to see: a flicker, and a move without a new figure
        (flickers, stale), cells = cells[:len(PROBE_CHECKS)], cells[len(PROBE_CHECKS):]
        seen = browser.drive(lab.page, flickers["index"], flickers["controls"][0], 2)
        assert [(m.changed, m.flicker) for m in seen] == [(True, True)] * 2, f"flicker not seen: {seen}"
        seen = browser.drive(lab.page, stale["index"], stale["controls"][0], 2)
        assert [(m.changed, m.figures, m.flicker) for m in seen] == [(False, 0, False)] * 2, f"stale figure not seen: {seen}"
        for cell, track in zip(cells, TRACK_WIDGETS):
            kinds = {c["kind"] for c in cell["controls"]}
            assert "slider" in kinds, f"{track}: no slider found among {cell['controls']}"
            for control in cell["controls"]:
                assert control["kind"] in MOVES, f"{track}: a control the test does not drive: {control}"
                moves = browser.drive(lab.page, cell["index"], control, MOVES[control["kind"]],
                                      values=TYPED if control["kind"] == "text" else None)
                name = f"{track} / {control['label']} ({control['kind']})"
                driven.setdefault(track, []).append(name)
                if len(moves) != MOVES[control["kind"]]:
                    problems.append(f"{name}: {len(moves)} of {MOVES[control['kind']]} moves possible")
                for k, m in enumerate(moves):
                    where = f"{name}, move {k + 1} ({m.action})"
                    if not m.changed or m.figures == 0:
                        problems.append(f"{where}: no new figure in the page")
                    if m.flicker:
                        problems.append(f"{where}: a frame showed the widget {m.min_height:.0f} px high, between "
                                        f"{m.height_before:.0f} px before and {m.height_after:.0f} px after (flicker)")
                    if m.errors:
                        problems.append(f"{where}: the kernel sent errors {m.errors}")
            lab.page.screenshot(path=str(ARTIFACTS / f"browser-widget-{track}.png"))
        state = lab.state()
        shown = lab.page.locator(".jp-Notebook").inner_text()
        lab.close_notebook()
    assert set(driven) == set(TRACK_WIDGETS)
    assert state["errors"] == [], f"cells show errors after the moves: {state['errors']}"
    assert "Error displaying widget" not in shown and "Traceback" not in shown
    assert problems == [], "\n".join(problems)
    assert lab.leftovers == [], f"processes outlived the test: {lab.leftovers}"


def notebooks_changed_by_opening(folder: Path, names: list[str], tmp_path: Path) -> dict[str, str]:
    """Open each notebook in JupyterLab, let its kernel start and autosave run; return what changed.

    The autosave interval is set to 1 s, and each notebook stays open 2.5 s after its kernel is idle, so a
    notebook JupyterLab marks changed on opening is rewritten, as a learner's would be.
    """
    before = {name: (folder / name).read_bytes() for name in names}
    changed: dict[str, str] = {}
    autosave = {"@jupyterlab/docmanager-extension:plugin": {"autosave": True, "autosaveInterval": 1}}
    with browser.LabSession(folder, tmp_path / "lab", settings=autosave, viewport=(1280, 720)) as lab:
        for name in names:
            lab.open(name)
            lab.page.wait_for_timeout(2500)
            dirty = lab.dirty()
            after = (folder / name).read_bytes()
            if dirty or after != before[name]:
                changed[name] = f"dirty={dirty}, file {'rewritten' if after != before[name] else 'unchanged'}"
            lab.close_notebook()
    assert lab.leftovers == [], f"processes outlived the test: {lab.leftovers}"
    return changed


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["notebooks", "student"])
def test_opening_a_notebook_and_letting_it_autosave_changes_nothing(tmp_path, folder):
    """A learner who only reads a notebook must not get a changed file (and a conflict on the next pull)."""
    _browser_or_skip()
    copy = tmp_path / folder
    shutil.copytree(ROOT / folder, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    names = sorted(p.name for p in copy.glob("[0-9][0-9]-*.ipynb"))
    assert len(names) >= 11
    changed = notebooks_changed_by_opening(copy, names, tmp_path)
    assert changed == {}, f"opening these notebooks in JupyterLab changed them: {changed}"


# Drawn in the page with the font the browser picked for a Chinese heading: a real font gives each
# character its own glyph; without one, every character is the same missing-glyph box (tofu), exactly
# like an unassigned code point (U+0378) drawn in that font.
GLYPHS = """(el) => {
  const font = getComputedStyle(el).font, text = el.innerText;
  const han = [...new Set([...text].filter((ch) => /[\\u4e00-\\u9fff]/.test(ch)))].slice(0, 6);
  const draw = (ch) => { const c = document.createElement('canvas'); c.width = c.height = 48;
    const g = c.getContext('2d'); g.font = font; g.fillStyle = '#000'; g.textBaseline = 'top'; g.fillText(ch, 4, 4);
    return Array.from(g.getImageData(0, 0, 48, 48).data).join(','); };
  const box = draw('\\u0378'), shapes = han.map(draw);
  return {font, han, distinct: new Set(shapes).size, tofu: shapes.filter((s) => s === box).length,
          blank: shapes.filter((s) => !/[1-9]/.test(s)).length};
}"""


@pytest.mark.slow
def test_a_chinese_notebook_renders_chinese_in_a_chinese_jupyterlab(tmp_path):
    """notebooks/zh/02 run whole in JupyterLab with its Chinese interface: Chinese menus, Chinese widget
    labels from labkit, Chinese prose drawn with real glyphs (no tofu), no missing-glyph warning from the
    figures, and a new figure when the slider moves."""
    _browser_or_skip()
    root_dir = tmp_path / "notebooks"
    (root_dir / "zh").mkdir(parents=True)  # the folder name is how labkit knows to speak Chinese
    browser.cleared_copy(ROOT / "notebooks" / "zh" / NOTEBOOK, root_dir / "zh" / NOTEBOOK)
    ARTIFACTS.mkdir(exist_ok=True)
    chinese = {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}
    with browser.LabSession(root_dir, tmp_path / "lab", settings=chinese) as lab:
        page = lab.page
        lab.open(f"zh/{NOTEBOOK}")
        state = lab.run_all()
        assert state["errors"] == [], f"cells show errors after Run All: {state['errors']}"
        menus = page.locator("#jp-menu-panel, .lm-MenuBar").first.inner_text()
        assert "文件" in menus and "File" not in menus, f"the interface is not in Chinese: {menus[:80]!r}"

        heading = page.locator(".jp-RenderedMarkdown h1").first
        glyphs = heading.evaluate(GLYPHS)
        assert len(glyphs["han"]) >= 4, glyphs
        assert glyphs["tofu"] == 0 and glyphs["blank"] == 0 and glyphs["distinct"] == len(glyphs["han"]), glyphs

        widget = page.locator(".jp-Cell", has=page.locator(".widget-slider")).first
        widget.scroll_into_view_if_needed()
        labels = widget.locator(".widget-label").all_inner_texts()
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels), f"widget labels: {labels}"
        figure = widget.locator("img").first
        figure.wait_for(state="visible")
        before_src = figure.get_attribute("src")
        widget.locator(".noUi-handle").first.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([cell, before]) => { const img = cell.querySelector('img');"
            " return !!img && img.getAttribute('src') !== before; }",
            arg=[widget.element_handle(), before_src], timeout=60_000)
        page.wait_for_function(f"() => ({browser.NOTEBOOK_STATE})().status === 'idle'", timeout=60_000)
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-zh-02-noise-calibration.png"))
        shown = page.locator(".jp-Notebook").inner_text()
        for bad in ("missing from font", "Glyph", "dummy symbol", "Traceback", "Error displaying widget"):
            assert bad not in shown, f"the Chinese notebook shows {bad!r}"
        lab.close_notebook()
    assert lab.leftovers == [], f"processes outlived the test: {lab.leftovers}"
