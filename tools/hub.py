"""A real, local JupyterHub for a classroom rehearsal: start it, log students in, run notebooks, stop it.

``tests/test_hub.py`` uses it to prove that the lab works with more than one user; an instructor can
use it the same way to try a class on one machine before booking a cluster::

    from tools.hub import LocalHub
    with LocalHub(workdir, users=["ada", "alan", "grace"]) as hub:
        hub.login("ada")                      # the login form, as a browser would
        hub.start_server("ada")               # POST /hub/api/users/ada/server
        hub.upload("ada", "04-dp-sgd.ipynb", notebook_json)
        report = hub.run_notebook("ada", "04-dp-sgd.ipynb")   # every code cell, through the kernel's websocket
        hub.run_command("ada", ["nbgrader", "list"])            # a command in ada's server, through a kernel

An nbgrader course runs through the same hub (``tests/test_nbgrader_exchange.py``): pass
``course=NbgraderCourse("privacy-lab", exchange_dir, instructors=("mary",))`` and every server finds one
``nbgrader_config.py`` (``JUPYTER_CONFIG_PATH``) naming the course and the exchange; the instructor's course
folder is ``~/privacy-lab`` in their server, and students run ``nbgrader fetch_assignment`` / ``submit`` in theirs.

What runs: ``jupyterhub`` (this environment's), on 127.0.0.1 only, with ``configurable-http-proxy``
(Node, from the npm registry; ``make hub`` installs it in ``hub/``), the shared-password authenticator
and the simple local-process spawner (every student's server runs as this Unix user, with its own home
folder under ``workdir/home/<name>``: a rehearsal, not an isolation boundary). Everything it starts is
in one process group that :meth:`LocalHub.close` ends, and it checks that nothing is left.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
CHP = ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pids) -> list[int]:
    """Which of ``pids`` still run (zombies count as ended), sorted: what a test checks after ``close()``."""
    import psutil

    out = []
    for pid in sorted(pids):
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out


@dataclass
class NotebookRun:
    """What :meth:`LocalHub.run_notebook` saw: per code cell, its status and any error."""

    user: str
    path: str
    cells: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)  # text/plain and stream text, in order


@dataclass
class CommandRun:
    """What :meth:`LocalHub.run_command` saw: the command's exit status and its captured output."""

    user: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0


class HubError(RuntimeError):
    pass


@dataclass(frozen=True)
class NbgraderCourse:
    """An nbgrader course run through the hub with nbgrader's own (file-system) exchange.

    Args:
        course_id: nbgrader's ``CourseDirectory.course_id`` (e.g. ``"privacy-lab"``).
        exchange: the exchange folder (``Exchange.root``) every server sees; created world-writable (mode 777),
            since every student's server files its submission there.
        instructors: hub users who run the course: their course folder (``CourseDirectory.root``) is
            ``~/<course_id>`` in their own server. Everyone else is a student.

    Every server of this hub runs as the same Unix user, so nbgrader's default student id (the Unix name,
    ``nbgrader.utils.get_username``) would be one name for the whole class. The config therefore takes each
    student's id from ``JUPYTERHUB_USER``, the name the hub gives the server it spawns (nbgrader does the same
    for the shared ``jovyan`` user of container deployments). A rehearsal, not an isolation boundary: a student
    who overrides the config on the command line can submit under another name, which nbgrader's own
    ``CollectApp.check_owner`` would flag on a hub that gives each student a Unix account.
    """

    course_id: str
    exchange: Path
    instructors: tuple[str, ...] = ()

    def config(self) -> str:
        """The ``nbgrader_config.py`` every server of the hub reads."""
        return "\n".join([
            "import os",
            "c = get_config()  # noqa",
            f"c.CourseDirectory.course_id = {self.course_id!r}",
            f"c.Exchange.root = {str(self.exchange)!r}",
            "user = os.environ.get('JUPYTERHUB_USER', '')",
            f"if user in {tuple(self.instructors)!r}:",
            f"    c.CourseDirectory.root = os.path.join(os.environ['HOME'], {self.course_id!r})",
            "elif user:",
            "    c.CourseDirectory.student_id = user  # the hub's name for this server's student",
        ]) + "\n"


class LocalHub:
    """A JupyterHub on 127.0.0.1 with a shared-password login and one local server per student.

    Args:
        workdir: an empty folder for the hub's database, config, logs and the students' homes.
        users: everyone who may log in with :attr:`password`: the students (and a course's instructors).
        chp: path of ``configurable-http-proxy`` (default: ``hub/`` of this project).
        start_timeout: seconds to wait for the hub and for each server.
        course: an nbgrader course whose exchange every server shares (see :class:`NbgraderCourse`).
    """

    def __init__(self, workdir: Path, users: Iterable[str], *, chp: Path | None = None,
                 start_timeout: float = 120.0, course: NbgraderCourse | None = None):
        self.workdir = Path(workdir)
        self.users = list(users)
        self.course = course
        if course is not None and not set(course.instructors) <= set(self.users):
            raise ValueError(f"course.instructors must be hub users; got {sorted(course.instructors)} "
                             f"for users {sorted(self.users)}")
        self.chp = Path(chp or CHP)
        self.start_timeout = start_timeout
        self.password = secrets.token_urlsafe(12)
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    # ---------------------------------------------------------------- start and stop

    def _config(self) -> str:
        home = self.workdir / "home"
        environment = {"PYTHONUNBUFFERED": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        if self.course is not None:
            environment["JUPYTER_CONFIG_PATH"] = str(self.workdir / "etc" / "jupyter")
            # nbgrader runs the `alembic` command to create a gradebook: this environment's, by `python -m`.
            environment["PATH"] = os.pathsep.join([str(self.workdir / "bin"), str(Path(sys.executable).parent),
                                                   os.environ.get("PATH", "")])
        return "\n".join([
            "c = get_config()  # noqa",
            f"c.JupyterHub.bind_url = {self.url + '/'!r}",
            "c.JupyterHub.hub_ip = '127.0.0.1'",
            f"c.JupyterHub.hub_port = {free_port()}",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'",
            f"c.ConfigurableHTTPProxy.command = [{str(self.chp)!r}]",
            f"c.JupyterHub.db_url = {'sqlite:///' + str(self.workdir / 'hub.sqlite')!r}",
            f"c.JupyterHub.cookie_secret_file = {str(self.workdir / 'cookie_secret')!r}",
            "c.JupyterHub.authenticator_class = 'shared-password'",
            f"c.SharedPasswordAuthenticator.user_password = {self.password!r}",
            f"c.Authenticator.allowed_users = {set(self.users)!r}",
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.SimpleLocalProcessSpawner.home_dir_template = {str(home) + '/{username}'!r}",
            # `python -m`, not the jupyterhub-singleuser script: a venv copied or installed from another path keeps
            # the old path in its scripts' #! line.
            f"c.Spawner.cmd = [{sys.executable!r}, '-m', 'jupyterhub.singleuser']",
            "c.Spawner.default_url = '/lab'",
            f"c.Spawner.start_timeout = {int(self.start_timeout)}",
            f"c.Spawner.http_timeout = {int(self.start_timeout)}",
            # Offline, as `make lab` is: no news feed, no update check, no extension manager.
            "c.Spawner.args = ['--LabApp.news_url=None', "
            "'--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly'"
            + (", '--allow-root']" if os.getuid() == 0 else "]"),  # containers and CI run as root
            f"c.Spawner.environment = {environment!r}",
            "c.JupyterHub.services = [{'name': 'classroom-test', 'api_token': %r}]" % self.token,
            "c.JupyterHub.load_roles = [{'name': 'classroom-test', 'services': ['classroom-test'], 'scopes': "
            "['admin:users', 'admin:servers', 'access:servers', 'read:users', 'list:users']}]",
            "c.JupyterHub.cleanup_servers = True",
            "c.JupyterHub.log_level = 'INFO'",
        ]) + "\n"

    def start(self) -> "LocalHub":
        import requests

        if not self.chp.is_file():
            raise HubError(f"configurable-http-proxy is not installed at {self.chp}: run `make hub` "
                           "(it needs Node.js and npm)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(self._config())
        if self.course is not None:
            self.course.exchange.mkdir(parents=True, exist_ok=True)
            self.course.exchange.chmod(0o777)
            etc = self.workdir / "etc" / "jupyter"
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "nbgrader_config.py").write_text(self.course.config())
            from tools.classroom import write_alembic_shim

            write_alembic_shim(self.workdir / "bin")
        self._log = open(self.workdir / "hub.log", "w")
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        env.pop("JUPYTERHUB_API_TOKEN", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.workdir,
                                     stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubError(f"jupyterhub exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise HubError(f"jupyterhub did not answer within {self.start_timeout:.0f} s; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / "hub.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""

    def processes(self) -> list:
        """Every live process the hub started (proxy, servers, kernels), by process group and by tree."""
        import psutil

        if self.proc is None:
            return []
        found = {}
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                found[p.pid] = p
        except psutil.NoSuchProcess:
            pass
        for p in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(p.pid) == self.proc.pid:
                    found[p.pid] = p
            except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
                continue
        return [p for p in found.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def close(self, timeout: float = 30.0) -> list[int]:
        """Stop the servers, then the hub and its proxy; return the pids still alive (should be none)."""
        import psutil

        if self.proc is None:
            return []
        for user in self.users:
            try:
                self.api("DELETE", f"/users/{user}/server", ok=(202, 204, 400, 404))
            except Exception:  # noqa: BLE001 - stopping must go on
                pass
        group = self.proc.pid
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        left = self.processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.processes()
        for p in left:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self._log:
            self._log.close()
        return [p.pid for p in left]

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- REST

    def api(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 202, 204), **kwargs) -> Any:
        import requests

        r = requests.request(method, f"{self.url}/hub/api{path}", headers={"Authorization": f"token {self.token}"},
                             timeout=30, **kwargs)
        if r.status_code not in tuple(ok):
            raise HubError(f"{method} /hub/api{path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None

    def login(self, user: str) -> "Any":
        """Log ``user`` in through the hub's login form, as a browser does; return the session."""
        import requests

        s = requests.Session()
        s.get(f"{self.url}/hub/login", timeout=30)
        r = s.post(f"{self.url}/hub/login", data={"username": user, "password": self.password,
                                                  "_xsrf": s.cookies.get("_xsrf", "")},
                   allow_redirects=False, timeout=30)
        if r.status_code != 302 or not any(c.name.startswith("jupyterhub-hub-login") for c in s.cookies):
            raise HubError(f"login of {user} failed: {r.status_code} {r.text[:200]}")
        return s

    def start_server(self, user: str) -> None:
        self.api("POST", f"/users/{user}/server", ok=(201, 202, 400))

    def wait_ready(self, user: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}")
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise HubError(f"{user}'s server was not ready within {self.start_timeout:.0f} s; log:\n{self.log_tail()}")

    def server(self, method: str, user: str, path: str, *, ok: Iterable[int] = (200, 201, 204), **kwargs) -> Any:
        """A request to ``user``'s own Jupyter server, through the proxy (``/user/<name>/api/...``)."""
        import requests

        r = requests.request(method, f"{self.url}/user/{user}/api{path}",
                             headers={"Authorization": f"token {self.token}"}, timeout=60, **kwargs)
        if r.status_code not in tuple(ok):
            raise HubError(f"{method} /user/{user}/api{path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def upload(self, user: str, path: str, notebook: dict) -> None:
        self.server("PUT", user, f"/contents/{path}", json={"type": "notebook", "format": "json", "content": notebook})

    def list_files(self, user: str, path: str = "") -> list[str]:
        return sorted(item["name"] for item in self.server("GET", user, f"/contents/{path}")["content"])

    # ---------------------------------------------------------------- running a notebook through the kernel

    def run_notebook(self, user: str, path: str, *, cell_timeout: float = 300.0) -> NotebookRun:
        """Open a session on ``path`` in ``user``'s server and execute every code cell over the kernel's websocket."""
        return asyncio.run(self._run_notebook(user, path, cell_timeout))

    async def run_notebooks(self, jobs: list[tuple[str, str]], cell_timeout: float = 300.0) -> list[NotebookRun]:
        return list(await asyncio.gather(*(self._run_notebook(u, p, cell_timeout) for u, p in jobs)))

    async def _run_notebook(self, user: str, path: str, cell_timeout: float) -> NotebookRun:
        loop = asyncio.get_running_loop()
        nb = await loop.run_in_executor(None, lambda: self.server("GET", user, f"/contents/{path}"))
        session = await loop.run_in_executor(None, lambda: self.server(
            "POST", user, "/sessions", json={"path": path, "type": "notebook", "name": path,
                                             "kernel": {"name": "python3"}}))
        run = NotebookRun(user, path)
        conn = await self._channels(user, session["kernel"]["id"])
        client_session = uuid.uuid4().hex
        start = time.perf_counter()
        try:
            for cell in nb["content"]["cells"]:
                if cell["cell_type"] != "code" or not cell["source"].strip():
                    continue
                run.cells += 1
                await self._execute(conn, client_session, user, cell["source"], run.outputs, run.errors,
                                    cell_timeout, f"a cell of {path}")
                if run.errors:
                    break
        finally:
            run.seconds = time.perf_counter() - start
            conn.close()
            await loop.run_in_executor(None, lambda: self.server("DELETE", user, f"/sessions/{session['id']}",
                                                                 ok=(204, 404)))
        return run

    async def _channels(self, user: str, kernel: str) -> Any:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = f"ws://127.0.0.1:{self.port}/user/{user}/api/kernels/{kernel}/channels"
        return await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"}))

    @staticmethod
    async def _execute(conn: Any, client_session: str, user: str, code: str, outputs: list[str],
                       errors: list[str], timeout: float, what: str) -> None:
        """Send one execute_request on a kernel's websocket; collect its text output and errors until the reply."""
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": client_session,
                       "username": user, "version": "5.3",
                       "date": dt.datetime.now(dt.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        deadline = time.monotonic() + timeout
        replied = idle = False  # the reply (shell) may overtake the outputs (iopub): wait for both ends
        while not (replied and idle):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HubError(f"{user}: {what} ran over {timeout:.0f} s")
            raw = await asyncio.wait_for(conn.read_message(), remaining)
            if raw is None:
                raise HubError(f"{user}: the kernel websocket closed while running {what}")
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "stream":
                outputs.append(content["text"])
            elif kind in ("execute_result", "display_data") and "text/plain" in content["data"]:
                outputs.append(content["data"]["text/plain"])
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "execute_reply":
                if content["status"] != "ok" and not errors:
                    errors.append(content.get("ename", content["status"]))
                replied = True

    # ---------------------------------------------------------------- a shell command in a student's server

    def run_command(self, user: str, argv: list[str], *, cwd: str = "", timeout: float = 300.0) -> CommandRun:
        """Run ``argv`` inside ``user``'s own server, as that server runs it, and return its status and output.

        A fresh kernel is started in the server (``POST /user/<name>/api/kernels``), runs the command with
        :func:`subprocess.run` (so it inherits the server's environment: ``JUPYTERHUB_USER``, ``HOME``, the
        hub's ``JUPYTER_CONFIG_PATH``), and is shut down again. ``cwd`` is relative to the server's root
        (the user's home). What a student types in a terminal of their JupyterLab, without a terminal.
        """
        if not isinstance(argv, (list, tuple)) or not argv or not all(isinstance(a, str) for a in argv):
            raise TypeError(f"argv must be a non-empty list of strings; got {argv!r}")
        return asyncio.run(self._run_command(user, list(argv), cwd, timeout))

    async def run_commands(self, jobs: list[tuple[str, list[str]]], *, cwd: str = "",
                           timeout: float = 300.0) -> list[CommandRun]:
        """:meth:`run_command` for several ``(user, argv)`` at the same time (a class fetching at once)."""
        for _, argv in jobs:
            if not isinstance(argv, (list, tuple)) or not argv or not all(isinstance(a, str) for a in argv):
                raise TypeError(f"argv must be a non-empty list of strings; got {argv!r}")
        return list(await asyncio.gather(*(self._run_command(u, list(a), cwd, timeout) for u, a in jobs)))

    async def _run_command(self, user: str, argv: list[str], cwd: str, timeout: float) -> CommandRun:
        loop = asyncio.get_running_loop()
        kernel = await loop.run_in_executor(None, lambda: self.server("POST", user, "/kernels",
                                                                      json={"name": "python3"}))
        # The kernel starts in the server's root folder, the user's home.
        code = "\n".join([
            "import json as _json, os as _os, subprocess as _subprocess",
            f"_run = _subprocess.run({argv!r}, cwd=_os.path.join(_os.getcwd(), {cwd!r}), capture_output=True, "
            f"text=True, timeout={float(timeout)!r})",
            "print(_json.dumps({'returncode': _run.returncode, 'stdout': _run.stdout, 'stderr': _run.stderr}))",
        ])
        outputs: list[str] = []
        errors: list[str] = []
        start = time.perf_counter()
        conn = await self._channels(user, kernel["id"])
        try:
            await self._execute(conn, uuid.uuid4().hex, user, code, outputs, errors, timeout + 30,
                                " ".join(argv))
        finally:
            seconds = time.perf_counter() - start
            conn.close()
            await loop.run_in_executor(None, lambda: self.server("DELETE", user, f"/kernels/{kernel['id']}",
                                                                 ok=(204, 404)))
        if errors:
            raise HubError(f"{user}: running {argv} in the kernel failed: {errors}")
        result = json.loads("".join(outputs).strip().splitlines()[-1])
        return CommandRun(user, argv, result["returncode"], result["stdout"], result["stderr"], seconds)


class MemorySampler:
    """Peak resident memory per student while the hub runs: each kernel, and the student's whole tree.

    Samples every ``interval`` seconds in a thread; a kernel is a process whose command line runs
    ``ipykernel``; a student's tree is their single-user server and everything under it.
    """

    def __init__(self, hub: LocalHub, interval: float = 0.2):
        self.hub, self.interval = hub, interval
        self.kernel_peak: dict[str, int] = {}
        self.total_peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _user_of(self, p) -> str | None:
        try:
            return p.environ().get("JUPYTERHUB_USER")
        except Exception:  # noqa: BLE001 - a process may end while we look
            return None

    def sample(self) -> None:
        import psutil

        totals: dict[str, int] = {}
        for p in self.hub.processes():
            user = self._user_of(p)
            if user is None:
                continue
            try:
                rss = p.memory_info().rss
                is_kernel = any("ipykernel" in part for part in p.cmdline())
            except psutil.Error:
                continue
            totals[user] = totals.get(user, 0) + rss
            if is_kernel:
                self.kernel_peak[user] = max(self.kernel_peak.get(user, 0), rss)
        for user, total in totals.items():
            self.total_peak[user] = max(self.total_peak.get(user, 0), total)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
