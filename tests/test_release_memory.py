"""labkit.runtime.release_memory: what the last cell of 04-07 gives back, measured on this process.

Each scenario runs in a fresh interpreter, so that the heap it measures holds only what the scenario put
there. RSS is read independently of labkit (``VmRSS`` in ``/proc/self/status``) to check the numbers
``release_memory`` reports are this process's.
"""

from __future__ import annotations

import configparser
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

MB = 2**20
GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
glibc_only = pytest.mark.skipif(not GLIBC, reason="measures glibc's heap (malloc_trim)")

VMRSS = "def vmrss():\n    return [int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmRSS')][0]\n"


def run_json(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# 300 MB in 4,800 arrays of 64 KB (under glibc's mmap threshold, so they come from the heap), each followed
# by a small array that stays: the freed blocks sit between survivors, where free() cannot give them back.
FRAGMENTED_HEAP = VMRSS + """
import gc, json, sys, numpy as np
from labkit import runtime
if NO_TRIM:
    runtime._malloc_trim = lambda: None  # what release_memory finds where the C library is not glibc
big, survivors = [], []
for _ in range(4800):
    big.append(np.ones(8192))
    survivors.append(np.ones(64))
full = vmrss()
del big
gc.collect()
freed_by_python = vmrss()
r = runtime.release_memory(caches=False)
print(json.dumps({"full": full, "freed_by_python": freed_by_python, "before": r.before, "after": r.after,
                  "now": vmrss(), "steps": r.steps}))
"""


@glibc_only
def test_release_returns_the_heap_pages_that_glibc_keeps():
    got = run_json(FRAGMENTED_HEAP.replace("NO_TRIM", "False"))
    # Python freed the arrays, but glibc kept their pages: the RSS did not move...
    assert got["freed_by_python"] > got["full"] - 30 * MB
    # ...the numbers release_memory reports are this process's RSS (read here from /proc)...
    assert abs(got["before"] - got["freed_by_python"]) < 10 * MB and abs(got["after"] - got["now"]) < 10 * MB
    # ...and malloc_trim gave most of the 300 MB back.
    assert got["before"] - got["after"] > 250 * MB
    assert any("malloc_trim" in step for step in got["steps"])


@glibc_only
def test_without_malloc_trim_the_same_heap_stays_so_the_test_above_can_fail():
    # The path of a C library without malloc_trim (macOS, Windows, musl): harmless, and it returns nothing here.
    got = run_json(FRAGMENTED_HEAP.replace("NO_TRIM", "True"))
    assert got["before"] - got["after"] < 30 * MB
    assert not any("malloc_trim" in step for step in got["steps"]) and "no glibc" in got["steps"][-1]


def test_release_collects_reference_cycles():
    # A 200 MB array (mmapped: freed to the system as soon as it is freed) kept alive by a reference cycle;
    # the automatic collector is off, so only release_memory's collection frees it.
    got = run_json(VMRSS + """
import gc, json, numpy as np
from labkit import runtime
gc.disable()
class Holder:
    pass
h = Holder(); h.me = h; h.data = np.ones(25 * 2**20)
del h
kept = vmrss()
r = runtime.release_memory(caches=False)
print(json.dumps({"kept": kept, "before": r.before, "after": r.after, "now": vmrss()}))
""")
    assert abs(got["before"] - got["kept"]) < 10 * MB and abs(got["after"] - got["now"]) < 10 * MB
    assert got["before"] - got["after"] > 180 * MB


def test_malloc_trim_is_found_only_on_glibc(monkeypatch):
    from labkit import runtime

    assert (runtime._malloc_trim() is not None) == GLIBC
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("", ""))  # musl, or a static build
    assert runtime._malloc_trim() is None
    monkeypatch.setattr(sys, "platform", "darwin")
    assert runtime._malloc_trim() is None


def test_release_on_a_c_library_without_malloc_trim_still_reports():
    got = run_json("""
import json, platform
platform.libc_ver = lambda *a, **k: ("", "")
from labkit import runtime
r = runtime.release_memory()
print(json.dumps({"before": r.before, "after": r.after, "steps": r.steps, "line": r.describe()}))
""")
    assert got["before"] > 0 and got["after"] > 0
    assert got["steps"][-1].startswith("no glibc here") and not any("malloc_trim" in s for s in got["steps"])


def test_release_empties_labkit_caches_only_when_asked():
    got = run_json("""
import json
from labkit import runtime
from labkit.dp import calibration
first = calibration.gaussian_sigma(1.0, 1e-5, 1.0, method="analytic")
size = calibration._analytic_sigma_unit.cache_info().currsize
runtime.release_memory(caches=False)
kept = calibration._analytic_sigma_unit.cache_info().currsize
r = runtime.release_memory()
emptied = calibration._analytic_sigma_unit.cache_info().currsize
again = calibration.gaussian_sigma(1.0, 1e-5, 1.0, method="analytic")
print(json.dumps({"size": size, "kept": kept, "emptied": emptied, "same": first == again, "steps": r.steps}))
""")
    assert got["size"] >= 1 and got["kept"] == got["size"] and got["emptied"] == 0
    assert got["same"]  # a cache is only a cache: the result after emptying it is identical
    assert any(re.fullmatch(r"emptied [1-9]\d* labkit caches", s) for s in got["steps"])


def test_release_never_imports_tensorflow():
    got = run_json("""
import json, sys
from labkit import runtime
r = runtime.release_memory()
print(json.dumps({"tf": "tensorflow" in sys.modules, "steps": r.steps}))
""")
    assert not got["tf"] and not any("Keras" in s for s in got["steps"])


@pytest.mark.slow
def test_release_clears_keras_state_and_training_still_works_the_same():
    # What 04's buttons do after the last cell: train one trade-off point. Same seed, same result.
    got = run_json("""
import json, labkit
labkit.setup()
import numpy as np, tensorflow as tf
from labkit import runtime
from labkit.dp.dpsgd import TradeoffConfig, train_tradeoff_point
cfg = TradeoffConfig()
model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(2)])
x = np.ones((3, 5), np.float32)
y0 = model(x).numpy()
names = [tf.keras.layers.Dense(1).name for _ in range(2)]
sigma0, acc0 = train_tradeoff_point(2.0, 1000, cfg)
r = runtime.release_memory()
print(json.dumps({"names": names, "fresh": tf.keras.layers.Dense(1).name, "same_model": bool((model(x).numpy() == y0).all()),
                  "acc": [acc0, train_tradeoff_point(2.0, 1000, cfg)[1]], "sigma": sigma0, "steps": r.steps}))
""")
    assert got["names"][1] != "dense" and got["fresh"] == "dense"  # clear_session reset Keras' name counter
    assert got["same_model"]  # a model built before keeps working
    assert got["acc"][0] == got["acc"][1]  # and training gives the same result as before
    assert got["steps"][0].startswith("cleared Keras' global state")


def test_describe_is_masked_by_the_nbval_sanitizer():
    # The last cell prints describe(); the numbers differ on every run, so tests/nbval-sanitize.cfg masks them.
    from labkit.runtime import MemoryRelease

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parent / "nbval-sanitize.cfg")
    rules = [(cfg[s]["regex"], cfg[s]["replace"]) for s in cfg.sections()]
    masked = set()
    for before, after in ((1_000 * MB, 900 * MB), (700 * MB, 700 * MB), (500 * MB, 503 * MB), (2**40, 5 * MB)):
        line = MemoryRelease(before, after).describe()
        for regex, replace in rules:
            line = re.sub(regex, replace, line)
        masked.add(line)
    assert len(masked) == 1 and not re.search(r"\d", masked.pop()), "add the [kernel memory] rule to the sanitizer"


def test_memory_release_describes_in_mb():
    from labkit.runtime import MemoryRelease

    r = MemoryRelease(before=1_000 * MB, after=880 * MB, steps=("ran the garbage collector",))
    assert r.freed == 120 * MB
    assert r.describe() == ("resident memory of this kernel: 1000 MB before, 880 MB after "
                            "(120 MB returned to the system)")
    assert repr(r).endswith("\n  - ran the garbage collector")
    assert MemoryRelease(500 * MB, 503 * MB).describe().endswith("(-3 MB returned to the system)")


@pytest.mark.parametrize("bad", [None, 1, "yes"])
def test_release_memory_caches_is_true_or_false(bad):
    from labkit.runtime import release_memory

    with pytest.raises(TypeError, match=r"^caches must be True or False; got "):
        release_memory(caches=bad)


@pytest.mark.slow
def test_tff_runs_the_same_after_release():
    # 06 and 07 end with the release; a learner who scrolls back and reruns a TFF cell gets the same weights.
    got = run_json("""
import json, numpy as np, labkit
labkit.setup()
from labkit import data, fl
from labkit.fl import tff as tff_runtime
from labkit.runtime import release_memory
digits = data.load("digits")
clients = fl.client_arrays(digits.x_train, digits.y_train,
                           data.partition(digits.y_train, 10, "dirichlet", alpha=1.0, seed=0, min_size=2))
w0 = [np.zeros((64, 10), np.float32), np.zeros(10, np.float32)]
run = lambda: fl.tff_fedavg(clients, w0, rounds=2, lr=0.3, epochs=1, batch_size=20, selections=[[0, 1, 2], [3, 4, 5]],
                            shuffle_seed=7)
first = run()
release_memory()
print(json.dumps({"diff": float(fl.max_abs_difference(first, run())), "moved": float(fl.max_abs_difference(first, w0)),
                  "workers": tff_runtime.live_workers()}))
""")
    assert got["moved"] > 0.01 and got["diff"] == 0.0 and got["workers"] == []
