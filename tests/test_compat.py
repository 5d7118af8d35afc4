"""labkit._compat: each private API the lab relies on still behaves as labkit expects at the pinned versions.

One test per function. When a pinned upgrade renames or changes one, its test here fails with the
library's own error, instead of a notebook failing somewhere deep inside.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np

from labkit import _compat


def test_rdp_curve_reads_the_composed_rdp_of_an_accountant():
    import dp_accounting
    from dp_accounting import rdp

    acc = rdp.RdpAccountant()
    acc.compose(dp_accounting.GaussianDpEvent(2.0), 3)
    orders, values = _compat.rdp_curve(acc)
    assert orders.shape == values.shape and orders.size > 10
    # Gaussian mechanism, sensitivity 1: RDP(alpha) = alpha / (2 sigma^2) per release, composed 3 times.
    np.testing.assert_allclose(values, 3 * orders / (2 * 2.0**2), rtol=1e-12)
    assert acc.get_epsilon(1e-5) == min(rdp.compute_epsilon(orders, values, 1e-5)[0], math.inf)


def test_tf_op_determinism_can_be_read_switched_off_and_restored():
    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "import tensorflow as tf\n"
        "from labkit._compat import tf_op_determinism\n"
        "c = tf_op_determinism()\n"
        "tf.config.experimental.enable_op_determinism()\n"
        "assert c.is_op_determinism_enabled()\n"
        "c.disable_op_determinism(); assert not c.is_op_determinism_enabled()\n"
        "c.enable_op_determinism(); assert c.is_op_determinism_enabled()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_tff_internals_exist_where_the_worker_guard_patches_them():
    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "from labkit._compat import tff_executor_factory, tff_set_inert_default_context\n"
        "m = tff_executor_factory()\n"
        "assert hasattr(m, 'subprocess') and hasattr(m.subprocess, 'Popen')\n"
        "tff_set_inert_default_context()\n"
        "import tensorflow_federated as tff\n"
        "try:\n"
        "    tff.federated_computation(lambda: 1)()\n"
        "except Exception as err:\n"
        "    print('refused', type(err).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.startswith("refused"), (out.stdout, out.stderr[-2000:])


def test_mpyc_event_loop_is_the_runtimes_asyncio_loop():
    import asyncio

    from mpyc.runtime import mpc

    assert isinstance(_compat.mpyc_event_loop(mpc), asyncio.AbstractEventLoop)


def test_tff_adaptive_clip_noise_params_splits_one_noise_multiplier_in_two():
    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "from labkit._compat import tff_adaptive_clip_noise_params\n"
        "value_z, clip_stddev = tff_adaptive_clip_noise_params(1.0, 20.0)\n"
        "print(round(value_z, 4), round(clip_stddev, 4))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    value_z, clip_stddev = map(float, out.stdout.split())
    # With z = 1 and 20 expected clients, TFF puts z = 1.155 on the updates and spends the rest on the
    # noisy clip count (Andrew et al. 2021), the numbers notebook 07 prints.
    assert abs(value_z - 1.1547) < 1e-3, out.stderr[-1500:]
    assert clip_stddev > 0
