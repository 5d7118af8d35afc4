"""The pinned environment has one source of truth: requirements.txt.

environment.yml (Binder/conda) and postBuild must agree with it, every pin must say why, and
the installed versions must be the pinned ones.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s#]+)\s*(#\s*(.*))?$")


def pins(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"not an exact pin: {line!r}"
        out[m.group(1).lower()] = m.group(2)
    return out


def test_every_requirement_is_pinned_with_a_reason():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            m = PIN.match(line.strip())
            assert m, f"requirements.txt line is not NAME==VERSION: {line!r}"
            assert m.group(4) and len(m.group(4).split()) >= 3, f"pin without a one-line reason: {line!r}"


def yml_pins(yml: str) -> dict[str, str]:
    assert re.search(r"^\s*-\s*python=3\.11\s*$", yml, re.M), "environment.yml must ask for python=3.11"
    pip_lines = [m.group(1) for m in re.finditer(r"^\s{6}-\s*(\S+==\S+)\s*$", yml, re.M)]
    return pins("\n".join(pip_lines))


def test_environment_yml_matches_requirements():
    req = pins((ROOT / "requirements.txt").read_text())
    assert yml_pins((ROOT / "environment.yml").read_text()) == req, \
        "environment.yml's pip list drifted from requirements.txt"


def test_postbuild_installs_tff_like_the_makefile():
    tff = pins((ROOT / "tff-requirement.txt").read_text())
    assert tff == {"tensorflow-federated": "0.87.0"}
    post = (ROOT / "postBuild").read_text()
    make = (ROOT / "Makefile").read_text()
    assert "pip install --no-deps -r tff-requirement.txt" in post
    assert "--no-deps -r tff-requirement.txt" in make
    assert "tensorflow-federated" not in (ROOT / "requirements.txt").read_text().split("# ---", 1)[1], \
        "TFF must not be in requirements.txt: its jaxlib pin cannot be resolved"


def test_drift_check_detects_a_changed_or_missing_pin():
    req = pins((ROOT / "requirements.txt").read_text())
    yml = (ROOT / "environment.yml").read_text()
    assert yml_pins(yml.replace("numpy==1.25.2", "numpy==1.26.4")) != req
    assert yml_pins(yml.replace("      - scipy==1.9.3\n", "")) != req


@pytest.mark.parametrize("name,version", sorted(pins((ROOT / "requirements.txt").read_text()).items()))
def test_installed_version_is_the_pin(name, version):
    assert importlib.metadata.version(name) == version


def test_tff_installed_at_its_pin():
    assert importlib.metadata.version("tensorflow-federated") == "0.87.0"


def _caret_ok(installed: str, wanted: tuple[int, ...]) -> bool:
    """``installed`` (e.g. "~4.4.10" or "4.4.10") satisfies ``^wanted`` (same major, not older)."""
    have = tuple(int(x) for x in re.findall(r"\d+", installed)[:3])
    return have[0] == wanted[0] and have >= wanted


def test_the_widgets_extension_accepts_this_jupyterlab():
    """Each JupyterLab package the widgets' extension shares must be a version it accepts.

    jupyterlab_widgets 3.0.17 was built for JupyterLab 4.6 and asks for ``^4.6.2``: under the pinned
    JupyterLab 4.4 the browser console warns of an unsatisfied version. The extension's remoteEntry
    script states what it needs; JupyterLab's own ``static/package.json`` states what it provides.
    """
    import sys

    share = Path(sys.prefix) / "share" / "jupyter"
    entries = list((share / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager" / "static").glob("remoteEntry*.js"))
    assert len(entries) == 1, entries
    script = entries[0].read_text()
    wanted: dict[str, tuple[int, ...]] = {}
    for name, *version in re.findall(r'"(@(?:jupyterlab|lumino)/[\w-]+)",\s*(?:!1|false),\s*\[1,(\d+),(\d+),(\d+)\]', script):
        wanted[name] = tuple(int(x) for x in version)
    for name, *version in re.findall(r'shareKey:"(@(?:jupyterlab|lumino)/[\w-]+)",import:null,requiredVersion:"\^(\d+)\.(\d+)\.(\d+)', script):
        wanted[name] = tuple(int(x) for x in version)
    assert "@jupyterlab/notebook" in wanted, "could not read the extension's required versions"
    provided = json.loads((share / "lab" / "static" / "package.json").read_text())["resolutions"]
    unmet = {name: (f"^{'.'.join(map(str, v))}", provided.get(name)) for name, v in wanted.items()
             if name in provided and not _caret_ok(provided[name], v)}
    assert unmet == {}, f"the widgets extension asks for versions this JupyterLab does not provide: {unmet}"
