"""labkit.setup and the cheap import of labkit."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_py(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_import_labkit_does_no_work():
    out = run_py("import sys, labkit; heavy = [m for m in ('tensorflow', 'numpy', 'matplotlib', 'sklearn') if m in sys.modules]; print(heavy)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_setup_is_quiet_seeded_and_deterministic():
    code = (
        "import labkit\n"
        "t = labkit.setup(seed=7)\n"
        "import numpy as np, random, tensorflow as tf\n"
        "print(random.random(), np.random.rand(), float(tf.random.uniform(())))\n"
        "print(t.as_dict()['tensorflow'], t.as_dict()['seed'])\n"
        "print(tf.keras.layers.Dense(3)(tf.ones((1, 2))).numpy().round(6).tolist())\n"
    )
    first, second = run_py(code), run_py(code)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "2.14.1 7" in first.stdout
    # a learner never sees TensorFlow's start-up wall on stderr
    assert first.stderr.strip() == "", first.stderr[:500]


def test_setup_without_quiet_shows_tf_noise_so_the_quiet_check_can_fail():
    out = run_py("import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
                 "import tensorflow as tf, warnings\n"
                 "warnings.warn('x', DeprecationWarning)\n"
                 "tf.compat.v1.placeholder  # deprecated API access\n"
                 "tf.get_logger().warning('visible warning')")
    assert "visible warning" in out.stderr


def test_versions_table_renders_text_and_html():
    from labkit.runtime import versions_table

    table = versions_table(3)
    assert "tensorflow-federated" in repr(table) and "<table>" in table._repr_html_()
    assert table.as_dict()["seed"] == "3"


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("0", TypeError),
                                         (True, TypeError)])
def test_setup_rejects_bad_seed(seed, error):
    import labkit

    with pytest.raises(error, match=r"^seed must be an integer( from 0 to 4294967295)?; got "):
        labkit.setup(seed=seed)


def test_setup_silences_only_the_noisy_libraries_deprecations():
    # -W default shows every deprecation, as pytest and a notebook's own cells do; setup() then hides
    # TensorFlow's and SciPy's, and never labkit's, the notebook's or an unnamed library's.
    code = (
        "import warnings, labkit\n"
        "labkit.setup(tensorflow=False, plots=False)\n"
        "for module in ('tensorflow.python.util', 'keras.src.backend', 'scipy.stats', 'labkit.dp', '__main__', 'pandas'):\n"
        "    for category in (DeprecationWarning, FutureWarning):\n"
        "        warnings.warn_explicit(f'{category.__name__} from {module}', category, 'x.py', 1, module=module)\n"
        "import random; random.Random(0).randint(1, 1e9)  # what Keras does when it seeds a layer\n"
    )
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for module in ("labkit.dp", "__main__", "pandas"):
        assert f"DeprecationWarning from {module}" in out.stderr and f"FutureWarning from {module}" in out.stderr
    for module in ("tensorflow", "keras", "scipy"):
        assert f"from {module}" not in out.stderr
    assert "randrange" not in out.stderr


def test_labkit_deprecations_fail_the_suite():
    import warnings

    with pytest.raises(DeprecationWarning, match="labkit calls a deprecated API"):
        warnings.warn_explicit("labkit calls a deprecated API", DeprecationWarning, "x.py", 1, module="labkit.dp")


def test_new_axes_takes_counts_of_columns_and_rows():
    from labkit.style import new_axes

    with pytest.raises(ValueError, match=r"^ncols must be an integer from 1 to 20; got 0$"):
        new_axes(ncols=0)
    with pytest.raises(TypeError, match=r"^nrows must be an integer; got 1.5 \(float\)$"):
        new_axes(nrows=1.5)


def test_labkit_never_imports_the_lab_tooling():
    # tools/ and benchmarks/ serve the lab's maintainers; a notebook needs only labkit.
    import ast
    from pathlib import Path

    import labkit

    found = []
    for path in sorted(Path(labkit.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("tools", "benchmarks")]
    assert found == []


@pytest.mark.parametrize("fn", ["versions_table", "seed_everything"])
@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), (float("nan"), TypeError),
                                         ("0", TypeError), (True, TypeError), (None, TypeError)])
def test_every_global_seed_is_an_integer_from_0_to_2_32(fn, seed, error):
    from labkit import runtime

    kwargs = {"tensorflow": False} if fn == "seed_everything" else {}
    with pytest.raises(error, match=r"^seed must be an integer( from 0 to 4294967295)?; got "):
        getattr(runtime, fn)(seed, **kwargs)


@pytest.mark.parametrize("switch", ["quiet", "plots", "tensorflow"])
@pytest.mark.parametrize("value", [None, "yes", 1, 0])
def test_setup_switches_are_true_or_false(switch, value):
    import labkit

    with pytest.raises(TypeError, match=rf"^{switch} must be True or False; got "):
        labkit.setup(0, **{switch: value})


def test_seed_everything_tensorflow_is_true_or_false():
    from labkit.runtime import seed_everything

    with pytest.raises(TypeError, match=r"^tensorflow must be True or False; got 'no' \(str\)$"):
        seed_everything(0, tensorflow="no")  # a string would have been true: TensorFlow imported


def test_package_version_takes_a_name():
    from labkit.runtime import package_version

    assert package_version("no-such-distribution-xyz") == "not installed"
    for name in (None, 3, ""):
        with pytest.raises(TypeError, match=r"^name must be a distribution name"):
            package_version(name)


def test_new_axes_has_an_upper_bound():
    from labkit.style import new_axes

    # 10**9 columns used to lay out for minutes
    with pytest.raises(ValueError, match=r"^ncols must be an integer from 1 to 20; got 1000000000$"):
        new_axes(ncols=10**9)
    with pytest.raises(ValueError, match=r"^nrows must be an integer from 1 to 20; got 21$"):
        new_axes(nrows=21)


def test_lab_map_takes_an_existing_folder(tmp_path):
    from labkit.curriculum import lab_map

    (tmp_path / "02-dp-from-scratch.ipynb").write_text("{}")
    assert lab_map(tmp_path).status(lab_map(tmp_path).entries[1]) == "ready"
    with pytest.raises(ValueError, match=r"^notebooks_dir must be an existing folder; got '.*nothing-here'$"):
        lab_map(tmp_path / "nothing-here")
    for bad in (None, 3):
        with pytest.raises(TypeError, match=r"^notebooks_dir must be a folder path"):
            lab_map(bad)


def test_validate_flag_and_prime():
    # the switch helper added to labkit._validate for the bad-input issue (primes are checked by
    # labkit.smpc.shamir.check_prime, on the primality test of labkit.he.paillier)
    from labkit import _validate as v

    assert v.flag("quiet", True) is True and v.flag("quiet", __import__("numpy").bool_(False)) is False
    for bad in (1, None, "True"):
        with pytest.raises(TypeError, match=r"^quiet must be True or False; got "):
            v.flag("quiet", bad)
