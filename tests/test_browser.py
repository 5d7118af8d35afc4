"""A real browser drives a widget in JupyterLab: notebook 02's noise-calibration widget.

The test starts its own JupyterLab (token, free localhost port, private JUPYTER_* folders, offline
flags as in ``make lab``) on a copy of the notebook with its outputs cleared, opens it in Debian's
Chromium through Playwright (``playwright install`` cannot download a browser here, so
``executable_path`` points at ``/usr/bin/chromium``; ``make test`` installs it when missing),
runs every cell, moves the epsilon slider, and checks that the figure is redrawn and that no cell
shows an error. A screenshot goes to ``test-artifacts/``. Server, kernel and browser are stopped
at the end whatever happens.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium"))
NOTEBOOK = "02-dp-from-scratch.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--no-proxy-server"]
# The same offline flags as the Makefile's LAB_DEFAULTS, plus window.jupyterapp for the test to drive.
LAB_FLAGS = ["--no-browser", "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True"]

# The state of the open notebook, read from JupyterLab's own model (not from the screen).
NOTEBOOK_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = w.content.model.cells;
  let total = 0, pending = 0;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    total++;
    if (c.executionCount === null) pending++;
    for (const o of c.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === 'stream' && o.name === 'stderr') errors.push(`cell ${i} stderr: ${[].concat(o.text).join('')}`);
    }
  }
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return {total, pending, errors, status: kernel ? kernel.status : 'none'};
}"""


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: the browser test needs Debian's chromium package (`make test` installs it as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; in CI a missing browser is a failure")
    pytest.skip(message)


def _kill_tree(procs: list[psutil.Process]) -> None:
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def _alive(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return out


def _with_marker(marker: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(p.info["cmdline"] or []):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _cleared_copy(source: Path, target: Path) -> None:
    """The notebook without outputs, so every figure on screen comes from the live kernel."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    target.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _start_lab(tmp: Path, root_dir: Path, port: int, token: str) -> subprocess.Popen:
    env = dict(os.environ, BROWSER="true")
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        env[name] = str(tmp / name.lower())
    # Every cell in the DOM (no virtual scrolling), so the widget's cell can be found by selector.
    settings = tmp / "jupyterlab_settings_dir" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    apputils = tmp / "jupyterlab_settings_dir" / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)  # no "get notified about Jupyter news?" toast over the screenshot
    (apputils / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    args = [str(Path(sys.executable).parent / "jupyter-lab"), f"--ServerApp.root_dir={root_dir}",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}", *LAB_FLAGS]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = open(tmp / "jupyter-lab.log", "w")
    return subprocess.Popen(args, cwd=root_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_for_server(proc: subprocess.Popen, port: int, token: str, log: Path, deadline: float) -> None:
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with NO_PROXY.open(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within the time allowed:\n{log.read_text()[-3000:]}")


def _stop_lab(server: subprocess.Popen, family: list[psutil.Process], profile: Path, stop_process_group) -> list[str]:
    """Stop JupyterLab, its kernels and the browser profile's processes; return those that outlived the stop."""
    try:
        family = list({p.pid: p for p in family + psutil.Process(server.pid).children(recursive=True)}.values())
    except psutil.NoSuchProcess:
        pass
    stop_process_group(server, timeout=30)
    psutil.wait_procs([p for p in family if p.is_running()], timeout=15)
    leftovers = _alive(family) + _alive(_with_marker(profile.name))
    _kill_tree([p for p in family if p.is_running()] + _with_marker(profile.name))
    shutil.rmtree(profile, ignore_errors=True)
    return leftovers


@pytest.mark.slow
def test_noise_calibration_slider_redraws_the_figure_in_a_real_browser(tmp_path, stop_process_group):
    _browser_or_skip()
    import portpicker
    from playwright.sync_api import sync_playwright

    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    _cleared_copy(ROOT / "notebooks" / NOTEBOOK, root_dir / NOTEBOOK)
    port, token = portpicker.pick_unused_port(), secrets.token_hex(24)
    profile = tmp_path / f"chromium-profile-{secrets.token_hex(6)}"  # a fresh --user-data-dir, also our marker
    ARTIFACTS.mkdir(exist_ok=True)
    server = _start_lab(tmp_path, root_dir, port, token)
    family: list[psutil.Process] = []
    try:
        _wait_for_server(server, port, token, tmp_path / "jupyter-lab.log", time.time() + 180)
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1000})
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(120_000)
                page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}")
                page.wait_for_function(
                    "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                    " return !!(w && w.context && w.context.isReady && w.sessionContext && w.sessionContext.session"
                    " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'); }",
                    timeout=180_000, polling=500)
                family = psutil.Process(server.pid).children(recursive=True)  # the kernel is in its own session
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function(
                    f"() => {{ const s = ({NOTEBOOK_STATE})(); return s.total > 0 && s.pending === 0 && s.status === 'idle'; }}",
                    timeout=300_000, polling=1000)
                state = page.evaluate(NOTEBOOK_STATE)
                assert state["errors"] == [], f"cells show errors after Run All: {state['errors']}"

                widget = page.locator(".jp-Cell", has=page.locator(".widget-slider")).first
                widget.scroll_into_view_if_needed()
                figure = widget.locator(".widget-output img").first
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
                    "([cell, before]) => { const img = cell.querySelector('.widget-output img');"
                    " return !!img && img.getAttribute('src') !== before; }",
                    arg=[widget.element_handle(), before_src], timeout=60_000)
                after_src = widget.locator(".widget-output img").first.get_attribute("src")
                after_value = readout.inner_text()
                page.wait_for_function(f"() => ({NOTEBOOK_STATE})().status === 'idle'", timeout=60_000)
                widget.scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / "browser-02-noise-calibration.png"))

                assert float(after_value) > float(before_value), f"epsilon readout went {before_value} -> {after_value}"
                assert after_src and after_src != before_src and after_src.startswith("data:image/png")
                state = page.evaluate(NOTEBOOK_STATE)
                assert state["errors"] == [], f"cells show errors after the slider move: {state['errors']}"
                shown = page.locator(".jp-Notebook").inner_text()
                assert "Error displaying widget" not in shown and "Traceback" not in shown
                page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")  # end the kernel cleanly
            finally:
                context.close()
    finally:
        leftovers = _stop_lab(server, family, profile, stop_process_group)
    assert leftovers == [], f"processes outlived the test: {leftovers}"


# Whether the open notebook's model differs from what was loaded (JupyterLab's own flag).
DIRTY = "() => { const w = window.jupyterapp.shell.currentWidget; return w && w.context ? w.context.model.dirty : null; }"
KERNEL_IDLE = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " return !!(w && w.context && w.context.isReady && w.sessionContext && w.sessionContext.session"
               " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'); }")


def notebooks_changed_by_opening(folder: Path, names: list[str], tmp_path: Path, stop_process_group) -> dict[str, str]:
    """Open each notebook in JupyterLab, let its kernel start and autosave run; return what changed.

    The autosave interval is set to 1 s, and each notebook stays open 2.5 s after its kernel is idle, so a
    notebook JupyterLab marks changed on opening is rewritten, as a learner's would be.
    """
    import portpicker
    from playwright.sync_api import sync_playwright

    before = {name: (folder / name).read_bytes() for name in names}
    port, token = portpicker.pick_unused_port(), secrets.token_hex(24)
    profile = tmp_path / f"chromium-profile-{secrets.token_hex(6)}"
    lab_tmp = tmp_path / "lab"
    lab_tmp.mkdir()
    docmanager = lab_tmp / "jupyterlab_settings_dir" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": True, "autosaveInterval": 1}))
    server = _start_lab(lab_tmp, folder, port, token)
    changed: dict[str, str] = {}
    family: list[psutil.Process] = []
    try:
        _wait_for_server(server, port, token, lab_tmp / "jupyter-lab.log", time.time() + 180)
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(120_000)
                for name in names:
                    page.goto(f"http://127.0.0.1:{port}/lab/tree/{name}?token={token}")
                    page.wait_for_function(KERNEL_IDLE, timeout=180_000, polling=250)
                    family += psutil.Process(server.pid).children(recursive=True)
                    page.wait_for_timeout(2500)
                    dirty = page.evaluate(DIRTY)
                    after = (folder / name).read_bytes()
                    if dirty or after != before[name]:
                        changed[name] = f"dirty={dirty}, file {'rewritten' if after != before[name] else 'unchanged'}"
                    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
                    page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
            finally:
                context.close()
    finally:
        leftovers = _stop_lab(server, family, profile, stop_process_group)
    assert leftovers == [], f"processes outlived the test: {leftovers}"
    return changed


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["notebooks", "student"])
def test_opening_a_notebook_and_letting_it_autosave_changes_nothing(tmp_path, folder, stop_process_group):
    """A learner who only reads a notebook must not get a changed file (and a conflict on the next pull)."""
    _browser_or_skip()
    copy = tmp_path / folder
    shutil.copytree(ROOT / folder, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    names = sorted(p.name for p in copy.glob("[0-9][0-9]-*.ipynb"))
    assert len(names) >= 11
    changed = notebooks_changed_by_opening(copy, names, tmp_path, stop_process_group)
    assert changed == {}, f"opening these notebooks in JupyterLab changed them: {changed}"
