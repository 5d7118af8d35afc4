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


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_setup_rejects_bad_seed(seed):
    import labkit

    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32 - 1\]"):
        labkit.setup(seed=seed)
