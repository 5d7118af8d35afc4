"""A private JupyterLab driven by Debian's Chromium through Playwright, for the browser test and benchmark.

:class:`LabSession` starts its own JupyterLab (token, free localhost port, private ``JUPYTER_*``
folders, the offline flags of ``make lab``, ``window.jupyterapp`` exposed) and a headless Chromium
with a fresh profile (``playwright install`` cannot download a browser here, so
``executable_path`` points at ``/usr/bin/chromium``; ``LABKIT_CHROMIUM`` overrides it). It opens a
notebook, runs all its cells, waits for the kernel to be idle, and at the end stops server, kernels
and browser whatever happened, keeping the list of processes that outlived the stop in
``session.leftovers``.

The in-page probe (:data:`PROBE_JS`, :func:`widget_cells`, :func:`drive`) measures what a learner
feels when moving a widget's control with the keyboard or the mouse, in the page itself
(``performance.now``):

* *to DOM*: key press (or pointer down) -> the widget's last new figure is in the DOM (an ``img``
  whose ``src`` changed, or a new ``img``), seen by a ``MutationObserver`` on the cell's output area;
* *painted*: key press -> the ``requestAnimationFrame`` after that image's ``decode()`` resolved;
* *height*: the output area's height sampled every frame during the move; a minimum below both the
  height before and the height after the move is a frame painted with the widget collapsed
  (flicker: the text below it jumps);
* *Python*: the kernel's busy time handling the comm messages the move sent (the kernel's own
  ``status`` busy -> idle timestamps, read from JupyterLab's ``kernel.anyMessage`` signal);
* the PNG bytes of the new figure, the first visible change (a button disabled, a progress bar
  moved), and any error or stderr output the kernel sent for the move.

Not imported by learners; used by ``tests/test_browser.py`` and ``benchmarks/bench_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium"))
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--no-proxy-server"]
# The same offline flags as the Makefile's LAB_DEFAULTS, plus window.jupyterapp for the page to be driven.
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
KERNEL_IDLE = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " return !!(w && w.context && w.context.isReady && w.sessionContext && w.sessionContext.session"
               " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'); }")
# Whether the open notebook's model differs from what was loaded (JupyterLab's own flag).
DIRTY = "() => { const w = window.jupyterapp.shell.currentWidget; return w && w.context ? w.context.model.dirty : null; }"


def chromium_available() -> bool:
    return CHROMIUM.exists()


def cleared_copy(source: Path, target: Path) -> None:
    """The notebook without outputs, so every figure on screen comes from the live kernel."""
    nb = json.loads(Path(source).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    Path(target).write_text(json.dumps(nb, indent=1), encoding="utf-8")


def stop_process_group(proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    """Stop the process group that ``proc`` leads (started with ``start_new_session=True``).

    SIGTERM to the whole group, up to ``timeout`` seconds for ``proc`` to exit, then SIGKILL.
    Returns whether it stopped on SIGTERM.
    """
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False


def _alive(procs) -> list[str]:
    import psutil

    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return out


def _with_marker(marker: str) -> list:
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(p.info["cmdline"] or []):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _kill(procs) -> None:
    import psutil

    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def _write_settings(settings_dir: Path, settings: dict[str, dict]) -> None:
    for plugin, values in settings.items():  # "@jupyterlab/notebook-extension:tracker" -> {...}
        package, name = plugin.split(":")
        folder = settings_dir / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))


# Every cell in the DOM (no virtual scrolling), so a widget's cell can be found; no news toast.
BASE_SETTINGS = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


class LabSession:
    """JupyterLab on ``root_dir`` and a headless Chromium page on it; a context manager.

    Args:
        root_dir: the folder JupyterLab serves (put notebook copies there).
        workdir: a private folder for the ``JUPYTER_*`` folders, the server log and the browser profile.
        settings: extra JupyterLab settings, ``{"@jupyterlab/pkg:plugin": {...}}``.
        env: extra environment variables for the server and its kernels (e.g. ``PYTHONPATH``).
        viewport: the page size in pixels.

    After ``with`` ends, ``leftovers`` lists the processes that outlived the stop (they were killed).
    """

    def __init__(self, root_dir: Path, workdir: Path, *, settings: dict | None = None, env: dict | None = None,
                 viewport: tuple[int, int] = (1400, 1000), server_timeout: float = 180.0) -> None:
        self.root_dir, self.workdir = Path(root_dir), Path(workdir)
        self.settings = {**BASE_SETTINGS, **(settings or {})}
        self.env, self.viewport, self.server_timeout = dict(env or {}), viewport, server_timeout
        self.port = self.token = self.server = self.page = None
        self.family: list = []
        self.leftovers: list[str] = []
        self.log = self.workdir / "jupyter-lab.log"
        self.profile = self.workdir / f"chromium-profile-{secrets.token_hex(6)}"  # a fresh --user-data-dir, also a marker

    # --- server and browser -------------------------------------------------------------------
    def _start_server(self) -> None:
        import portpicker

        self.port, self.token = portpicker.pick_unused_port(), secrets.token_hex(24)
        env = dict(os.environ, BROWSER="true", **self.env)
        for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
            env[name] = str(self.workdir / name.lower())
        _write_settings(self.workdir / "jupyterlab_settings_dir", self.settings)
        args = [str(Path(sys.executable).parent / "jupyter-lab"), f"--ServerApp.root_dir={self.root_dir}",
                f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}", *LAB_FLAGS]
        if os.geteuid() == 0:
            args.append("--allow-root")
        with open(self.log, "w") as log:
            self.server = subprocess.Popen(args, cwd=self.root_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + self.server_timeout
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.server.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with NO_PROXY.open(f"http://127.0.0.1:{self.port}/api/status?token={self.token}", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {self.server_timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def __enter__(self) -> "LabSession":
        from playwright.sync_api import sync_playwright

        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_server()
            self._pw = sync_playwright().start()
            self.context = self._pw.chromium.launch_persistent_context(
                str(self.profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": self.viewport[0], "height": self.viewport[1]})
            self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
            self.page.set_default_timeout(120_000)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        import psutil

        for closing in (getattr(self, "context", None), getattr(self, "_pw", None)):
            if closing is None:
                continue
            try:
                closing.close() if closing is getattr(self, "context", None) else closing.stop()
            except Exception:  # noqa: BLE001 - the browser may already be gone; the processes are checked below
                pass
        if self.server is not None:
            family = list(self.family)
            try:
                family += psutil.Process(self.server.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
            family = list({p.pid: p for p in family}.values())
            stop_process_group(self.server, timeout=30)
            psutil.wait_procs([p for p in family if p.is_running()], timeout=15)
            self.leftovers = _alive(family) + _alive(_with_marker(self.profile.name))
            _kill([p for p in family if p.is_running()] + _with_marker(self.profile.name))
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- notebooks ----------------------------------------------------------------------------
    def open(self, name: str, timeout: float = 180.0) -> None:
        """Open ``name`` (relative to ``root_dir``) and wait until its kernel is idle."""
        import psutil

        # ?reset: a fresh workspace, so that JupyterLab does not reopen (and start kernels for) earlier notebooks
        self.page.goto(f"http://127.0.0.1:{self.port}/lab/tree/{name}?reset&token={self.token}")
        self.page.wait_for_function(KERNEL_IDLE, timeout=timeout * 1000, polling=250)
        self.family += psutil.Process(self.server.pid).children(recursive=True)  # the kernel is in its own session

    def state(self) -> dict:
        """Code cells, how many have not run, error/stderr outputs and the kernel status."""
        return self.page.evaluate(NOTEBOOK_STATE)

    def run_all(self, timeout: float = 300.0) -> dict:
        """Run every cell of the open notebook; return :meth:`state` once all ran (or one failed) and the kernel is idle.

        JupyterLab stops a Run All at the first error, so an error ends the wait (``pending`` stays above 0).
        """
        # The command's promise is not awaited: once in a long benchmark run it never settled and the
        # evaluate hung with the kernel idle. A Run All that has not started a cell after 60 s is
        # issued once more; the wait below still fails after ``timeout``, never hangs.
        run = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        started = (f"() => {{ const s = ({NOTEBOOK_STATE})(); return s.pending < s.total || s.status !== 'idle'; }}")
        self.page.evaluate(run)
        try:
            self.page.wait_for_function(started, timeout=60_000, polling=250)
        except Exception:  # playwright's TimeoutError: nothing ran; try once more
            self.page.evaluate(run)
        self.page.wait_for_function(
            f"() => {{ const s = ({NOTEBOOK_STATE})();"
            " return s.total > 0 && (s.pending === 0 || s.errors.length > 0) && s.status === 'idle'; }",
            timeout=timeout * 1000, polling=500)
        if self.state()["errors"]:  # let the kernel settle after the failed cell, then read again
            self.page.wait_for_timeout(1000)
        return self.state()

    def dirty(self) -> bool | None:
        return self.page.evaluate(DIRTY)

    def api(self, method: str, path: str) -> Any:
        """One call of the server's REST API (``/api/...``); the decoded JSON answer, or None."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}?token={self.token}", method=method)
        with NO_PROXY.open(request, timeout=30) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def close_notebook(self, timeout: float = 30.0) -> None:
        """Shut the open notebook's kernel down, close every tab, and end any kernel still running."""
        import psutil

        self.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        self.page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{kernel['id']}")
        kernels = []
        for p in psutil.Process(self.server.pid).children(recursive=True):
            try:
                if "ipykernel" in " ".join(p.cmdline()):
                    kernels.append(p)
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(kernels, timeout=timeout)


# --------------------------------------------------------------------------------------------------
# The in-page probe
# --------------------------------------------------------------------------------------------------

PROBE_JS = r"""
(() => {
  if (window.__labProbe) return;
  const P = window.__labProbe = {msgs: [], inputs: [], hooked: null, cur: null};
  const now = () => performance.now();
  P.notebook = () => window.jupyterapp.shell.currentWidget;
  P.kernel = () => P.notebook().sessionContext.session.kernel;
  P.hook = () => {
    const k = P.kernel();
    if (P.hooked === k) return;
    P.hooked = k;
    k.anyMessage.connect((_, a) => {
      const m = a.msg, h = m.header || {}, ph = m.parent_header || {}, c = m.content || {};
      let text = null;
      if (h.msg_type === 'error') text = `${c.ename}: ${c.evalue}`;
      if (h.msg_type === 'stream' && c.name === 'stderr') text = String(c.text).slice(0, 500);
      P.msgs.push({t: now(), dir: a.direction, type: h.msg_type, id: h.msg_id, parent: ph.msg_id || null,
                   date: h.date || null, state: c.execution_state || null, text});
    });
  };
  for (const type of ['keydown', 'pointerdown'])
    document.addEventListener(type, (e) => P.inputs.push({t: now(), type, key: e.key || null}), true);

  P.cell = (i) => P.notebook().content.widgets[i].node;
  P.area = (i) => P.cell(i).querySelector('.jp-Cell-outputArea') || P.cell(i).querySelector('.jp-OutputArea');
  const figures = (root) => Array.from(root.querySelectorAll('img')).filter((im) => im.getAttribute('src'));
  const signature = (root) => figures(root).map((im) => im.getAttribute('src')).join('\n');
  const label = (el, fallback) => {
    const l = el.querySelector(':scope > .widget-label') || el.querySelector('.widget-label');
    const text = l ? l.textContent.trim() : '';
    return text || fallback;
  };

  // The widgets' controls in cell i, each tagged with data-probe so that Playwright can find it.
  P.controls = (i) => {
    const root = P.area(i), out = [];
    let n = 0;
    const add = (el, kind, extra) => {
      const id = `c${i}-${n++}`;
      el.setAttribute('data-probe', id);
      out.push(Object.assign({id, kind, disabled: !!(el.disabled || el.getAttribute('disabled') !== null
                                   || el.getAttribute('aria-disabled') === 'true')}, extra));
    };
    for (const box of root.querySelectorAll('.widget-slider')) {
      const h = box.querySelector('.noUi-handle');
      if (!h) continue;
      add(h, 'slider', {label: label(box, 'slider'), disabled: box.classList.contains('mod-disabled') || !!box.querySelector('[disabled]')});
    }
    for (const box of root.querySelectorAll('.widget-dropdown')) {
      const s = box.querySelector('select');
      if (s) add(s, 'dropdown', {label: label(box, 'dropdown'), options: s.options.length});
    }
    for (const box of root.querySelectorAll('.widget-select-multiple')) {
      const s = box.querySelector('select');
      if (s) add(s, 'select-multiple', {label: label(box, 'select'), options: s.options.length});
    }
    for (const box of root.querySelectorAll('.widget-toggle-buttons')) {
      const buttons = Array.from(box.querySelectorAll('button'));
      const id = `c${i}-${n}`;
      add(box, 'toggle', {label: label(box, 'toggle'), options: buttons.length});
      buttons.forEach((b, j) => b.setAttribute('data-probe', `${id}-${j}`));
    }
    for (const b of root.querySelectorAll('button.widget-button')) {
      if (b.closest('.widget-toggle-buttons')) continue;
      add(b, 'button', {label: b.textContent.trim() || 'button'});
    }
    for (const box of root.querySelectorAll('.widget-text')) {
      const t = box.querySelector('input');
      if (t) add(t, 'text', {label: label(box, 'text'), value: t.value});
    }
    for (const box of root.querySelectorAll('.widget-textarea')) {
      const t = box.querySelector('textarea');
      if (t) add(t, 'textarea', {label: label(box, 'textarea')});
    }
    for (const box of root.querySelectorAll('.widget-checkbox')) {
      const t = box.querySelector('input');
      if (t) add(t, 'checkbox', {label: label(box, 'checkbox')});
    }
    return out;
  };

  // State of one control (slider position, selected index...), to choose the next move.
  P.controlState = (id) => {
    const el = document.querySelector(`[data-probe="${id}"]`);
    if (!el) return null;
    if (el.classList.contains('noUi-handle')) {
      const box = el.closest('.widget-slider');
      return {now: Number(el.getAttribute('aria-valuenow')), min: Number(el.getAttribute('aria-valuemin')),
              max: Number(el.getAttribute('aria-valuemax')), text: el.getAttribute('aria-valuetext'),
              disabled: !!(box && (box.classList.contains('mod-disabled') || box.querySelector('[disabled]')))};
    }
    if (el.tagName === 'SELECT') return {index: el.selectedIndex, count: el.options.length, disabled: el.disabled,
                                         selected: Array.from(el.selectedOptions).map((o) => o.index)};
    if (el.classList.contains('widget-toggle-buttons')) {
      const b = Array.from(el.querySelectorAll('button'));
      return {index: b.findIndex((x) => x.classList.contains('mod-active')), count: b.length,
              disabled: b.every((x) => x.disabled)};
    }
    return {disabled: !!el.disabled, value: el.value === undefined ? null : el.value};
  };

  // Choose option k of a <select> as a click on it would: mark the input time, then the change event.
  P.choose = (id, k) => {
    const el = document.querySelector(`[data-probe="${id}"]`);
    P.inputs.push({t: now(), type: 'select', key: null});
    el.selectedIndex = k;
    el.dispatchEvent(new Event('change', {bubbles: true}));
  };

  P.begin = (i) => {
    P.hook();
    const root = P.area(i);
    const r = P.cur = {cell: i, t0: now(), inputs0: P.inputs.length, frames: 0, emptyFrames: 0, done: false,
                       hBefore: root.getBoundingClientRect().height, minH: Infinity, firstMut: null, lastMut: null,
                       figs: [], muts: [], nBefore: figures(root).length};
    r.sigBefore = r.lastSig = signature(root);
    P.msgs = [];
    const onMut = () => {
      const t = now();
      r.lastMut = t;
      if (r.firstMut === null) r.firstMut = t;
      if (r.muts.length < 500) r.muts.push(t);
      const s = signature(root);
      if (s === r.lastSig) return;
      r.lastSig = s;
      const imgs = figures(root);
      if (imgs.length === 0 || imgs.length < r.nBefore || s === r.sigBefore) return;
      const fig = {t, paint: null, n: imgs.length};
      r.figs.push(fig);
      Promise.all(imgs.map((im) => im.decode().catch(() => null))).then(() =>
        requestAnimationFrame(() => { fig.paint = now(); }));
    };
    r.mo = new MutationObserver(onMut);
    r.mo.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
    const frame = () => {
      if (r.done) return;
      r.frames++;
      const h = root.getBoundingClientRect().height;
      if (h < r.minH) r.minH = h;
      if (figures(root).length < r.nBefore) r.emptyFrames++;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    return true;
  };

  // Has the move finished? Every comm message it sent was answered (kernel idle), nothing in the
  // widget changed for `quiet` ms, and every new figure was painted; or nothing was sent at all.
  P.settled = (quiet, nothing) => {
    const r = P.cur, t = now();
    const sent = P.msgs.filter((m) => m.dir === 'send' && m.type === 'comm_msg');
    const answered = sent.every((s) => P.msgs.some((m) => m.dir === 'recv' && m.type === 'status'
                                                   && m.state === 'idle' && m.parent === s.id));
    const lastRecv = P.msgs.reduce((a, m) => (m.dir === 'recv' ? Math.max(a, m.t) : a), 0);
    const calm = t - Math.max(r.lastMut || 0, lastRecv, r.t0) > quiet;
    if (sent.length === 0) return t - r.t0 > nothing && calm;
    return answered && P.kernel().status === 'idle' && calm && r.figs.every((f) => f.paint !== null);
  };

  P.end = async () => {
    const r = P.cur, root = P.area(r.cell);
    r.done = true;
    r.mo.disconnect();
    const hAfter = root.getBoundingClientRect().height;
    const inputs = P.inputs.slice(r.inputs0);
    const imgs = figures(root);
    let bytes = 0;
    if (r.figs.length) {
      for (const im of imgs) {
        const src = im.getAttribute('src');
        if (src.startsWith('data:')) bytes += Math.floor((src.length - src.indexOf(',') - 1) * 3 / 4);
        else bytes += (await (await fetch(src)).blob()).size;
      }
    }
    return {t0: r.t0, inputs, hBefore: r.hBefore, hAfter, minH: r.minH, frames: r.frames, emptyFrames: r.emptyFrames,
            firstMut: r.firstMut, lastMut: r.lastMut, muts: r.muts, figs: r.figs.map((f) => ({t: f.t, paint: f.paint, n: f.n})),
            changed: r.lastSig !== r.sigBefore && imgs.length > 0, bytes, msgs: P.msgs.slice()};
  };
})();
"""


def install_probe(page) -> None:
    """Define ``window.__labProbe`` in the page (again after each navigation)."""
    page.evaluate(PROBE_JS)


def widget_cells(page) -> list[dict]:
    """The code cells of the open notebook that display a widget: index, source and controls."""
    install_probe(page)
    cells = page.evaluate("""() => {
      const nb = window.jupyterapp.shell.currentWidget, out = [];
      const cells = nb.content.model.cells;
      for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        const views = c.outputs.toJSON().filter((o) => o.data && o.data['application/vnd.jupyter.widget-view+json']);
        if (views.length) out.push({index: i, source: c.sharedModel.getSource()});
      }
      return out;
    }""")
    for cell in cells:
        cell["controls"] = page.evaluate("(i) => window.__labProbe.controls(i)", cell["index"])
    return cells


def _kernel_seconds(msgs: list[dict], before: float | None = None) -> float:
    """Kernel busy time (its own timestamps) handling the comm messages the page sent.

    With ``before`` (a page time), only the messages whose handling began before it count (those that
    can have produced a figure shown then; a later echo or dependent update does not).
    """
    sent = [m["id"] for m in msgs if m["dir"] == "send" and m["type"] == "comm_msg"]
    total = 0.0
    for msg_id in sent:
        status = [m for m in msgs if m["dir"] == "recv" and m["type"] == "status" and m["parent"] == msg_id and m["date"]]
        dates = {m["state"]: m["date"] for m in status}
        began = [m["t"] for m in status if m["state"] == "busy"]
        if before is not None and began and began[0] > before:
            continue
        if "busy" in dates and "idle" in dates:
            total += (dt.datetime.fromisoformat(dates["idle"]) - dt.datetime.fromisoformat(dates["busy"])).total_seconds()
    return total


@dataclass
class Move:
    """One move of one control, as measured in the page (times in ms from the key press or pointer down)."""

    action: str
    to_dom: float | None  # the last new figure in the DOM
    painted: float | None  # that figure decoded and a frame requested after it
    feedback: float | None  # the first change in the widget after the kernel's first answer (button disabled, bar moved)
    changed: bool  # the figure differs from before the move
    figures: int  # how many new figures the move put in the DOM
    python_ms: float  # kernel busy time for the move's comm messages
    roundtrip_ms: float | None  # to_dom - python_ms: page -> kernel -> page, (de)serialisation, widget JS
    paint_ms: float | None  # painted - to_dom: decode and paint
    png_bytes: int
    height_before: float
    height_after: float
    min_height: float
    frames: int
    flicker: bool  # a frame painted the widget lower than both before and after the move
    sent: int  # comm messages sent
    errors: list[str] = field(default_factory=list)


def _move_from(raw: dict, action: str) -> Move:
    msgs = raw["msgs"]
    sends = [m["t"] for m in msgs if m["dir"] == "send" and m["type"] == "comm_msg"]
    first_send = min(sends) if sends else None
    # the key press / click that caused the move: the last input before the first comm message
    inputs = [e["t"] for e in raw["inputs"] if first_send is None or e["t"] <= first_send]
    t_in = max(inputs) if inputs else raw["t0"]
    figs = raw["figs"]
    last = figs[-1] if figs else None
    to_dom = last["t"] - t_in if last else None
    painted = last["paint"] - t_in if last and last["paint"] is not None else None
    python_ms = _kernel_seconds(msgs, last["t"] if last else None) * 1000
    low = min(raw["hBefore"], raw["hAfter"])
    answers = [m["t"] for m in msgs if m["dir"] == "recv" and m["type"] != "status"]
    seen = [t for t in raw["muts"] if answers and t >= min(answers)]
    errors = [m["text"] for m in msgs if m["dir"] == "recv" and m["text"]]
    return Move(action=action, to_dom=to_dom, painted=painted,
                feedback=(min(seen) - t_in) if seen else None,
                changed=bool(raw["changed"]), figures=len(figs), python_ms=python_ms,
                roundtrip_ms=(to_dom - python_ms) if to_dom is not None else None,
                paint_ms=(painted - to_dom) if painted is not None and to_dom is not None else None,
                png_bytes=int(raw["bytes"]), height_before=raw["hBefore"], height_after=raw["hAfter"],
                min_height=raw["minH"] if raw["frames"] else raw["hAfter"], frames=raw["frames"],
                flicker=bool(raw["frames"]) and raw["minH"] < low - 2, sent=len(sends), errors=errors)


def _act(page, control: dict, step: int, values: list[str] | None) -> str | None:
    """Perform move ``step`` of ``control`` as a learner would; return what was done (None: nothing to do)."""
    pid = control["id"]
    state = page.evaluate("(id) => window.__labProbe.controlState(id)", pid)
    if state is None or state.get("disabled"):
        return None
    kind = control["kind"]
    el = page.locator(f'[data-probe="{pid}"]')
    if kind == "slider":
        # bounce between the ends: right until the maximum, then left
        going = control.setdefault("_dir", "ArrowRight")
        if going == "ArrowRight" and state["now"] >= state["max"]:
            going = "ArrowLeft"
        elif going == "ArrowLeft" and state["now"] <= state["min"]:
            going = "ArrowRight"
        if state["min"] >= state["max"]:
            return None
        control["_dir"] = going
        el.focus()
        page.keyboard.press(going)
        return going
    if kind == "dropdown":  # arrow keys on a closed <select> do nothing in headless Chromium: select the next option
        going = control.setdefault("_dir", "ArrowDown")
        if going == "ArrowDown" and state["index"] >= state["count"] - 1:
            going = "ArrowUp"
        elif going == "ArrowUp" and state["index"] <= 0:
            going = "ArrowDown"
        if state["count"] < 2:
            return None
        control["_dir"] = going
        target = state["index"] + (1 if going == "ArrowDown" else -1)
        page.evaluate("([id, k]) => window.__labProbe.choose(id, k)", [pid, target])
        return f"select option {target}"
    if kind == "toggle":
        target = (state["index"] + 1) % state["count"]
        page.locator(f'[data-probe="{pid}-{target}"]').click()
        return f"click option {target}"
    if kind == "select-multiple":
        target = (max(state["selected"] or [0]) + 1) % state["count"]
        el.locator("option").nth(target).click()
        return f"click option {target}"
    if kind == "button":
        el.click()
        return "click"
    if kind in ("text", "textarea") and values:
        value = values[step % len(values)]
        el.focus()
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.keyboard.press("Enter")
        return f"type {value!r} + Enter"
    if kind == "checkbox":
        el.click()
        return "click"
    return None


def drive(page, cell: int, control: dict, moves: int, *, values: list[str] | None = None, quiet_ms: int = 350,
          timeout: float = 120.0) -> list[Move]:
    """Move ``control`` (from :func:`widget_cells`) of the widget in ``cell`` ``moves`` times; measure each move.

    Each move waits until it has settled (every comm message answered, the kernel idle, no change in
    the widget for ``quiet_ms``, new figures painted) before the next. ``values`` are what to type
    into a text field (cycled).
    """
    page.evaluate("(i) => window.__labProbe.area(i).scrollIntoView({block: 'start'})", cell)
    out = []
    for step in range(moves):
        page.evaluate("(i) => window.__labProbe.begin(i)", cell)
        action = _act(page, control, step, values)
        if action is None:
            page.evaluate("() => window.__labProbe.end()")
            break
        page.wait_for_function("([q, n]) => window.__labProbe.settled(q, n)", arg=[quiet_ms, 2000],
                               timeout=timeout * 1000, polling=50)
        out.append(_move_from(page.evaluate("() => window.__labProbe.end()"), action))
    return out


def summary(moves: list[Move]) -> dict[str, Any]:
    """Medians and maxima of a control's moves (None where no move produced that measure)."""
    def stats(values):
        values = [x for x in values if x is not None]
        return (statistics.median(values), max(values)) if values else (None, None)

    return {
        "moves": len(moves),
        "changed": sum(m.changed for m in moves),
        "to_dom": stats([m.to_dom for m in moves]),
        "painted": stats([m.painted for m in moves]),
        "feedback": stats([m.feedback for m in moves]),
        "python": stats([m.python_ms for m in moves if m.sent]),
        "roundtrip": stats([m.roundtrip_ms for m in moves]),
        "paint": stats([m.paint_ms for m in moves]),
        "png_kb": statistics.median([m.png_bytes / 1024 for m in moves if m.png_bytes]) if any(m.png_bytes for m in moves) else None,
        "min_height": min((m.min_height for m in moves), default=None),
        "height": statistics.median([m.height_before for m in moves]) if moves else None,
        "flickers": sum(m.flicker for m in moves),
        "errors": [e for m in moves for e in m.errors],
    }


def scratch_dir(prefix: str = "labkit-browser-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
