"""Every use of another library's private or internal API, in one place.

A pinned upgrade can rename what is not public. Each function here wraps one such use; a test in
``tests/test_compat.py`` exercises each one against the pinned versions, so an upgrade that breaks
one fails loudly there, not deep inside a notebook. Nothing else in labkit touches these names.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


# -- dp-accounting ----------------------------------------------------------------------------


def rdp_curve(accountant: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (orders, RDP values) that a ``dp_accounting.rdp.RdpAccountant`` holds after ``compose``.

    dp-accounting keeps the composed curve in ``_orders`` and ``_rdp`` and has no public getter.
    """
    return np.asarray(accountant._orders, dtype=float), np.asarray(accountant._rdp, dtype=float)


# -- TensorFlow -------------------------------------------------------------------------------


def tf_op_determinism() -> ModuleType:
    """TensorFlow's ``framework.config`` module, which has ``is_op_determinism_enabled``,
    ``enable_op_determinism`` and ``disable_op_determinism``.

    TF 2.14 exports only ``tf.config.experimental.enable_op_determinism``; the query and the
    disable live in ``tensorflow.python.framework.config``.
    """
    from tensorflow.python.framework import config as tf_config

    return tf_config


# -- TensorFlow Federated ---------------------------------------------------------------------


def tff_executor_factory() -> ModuleType:
    """The TFF module that starts the local ``worker_binary`` with ``subprocess`` (patched by
    :func:`labkit.fl.tff.guard_workers` so the worker ends with its parent)."""
    from tensorflow_federated.python.core.impl.executor_stacks import executor_factory

    return executor_factory


def tff_set_inert_default_context() -> None:
    """Replace TFF's default execution context by one that refuses to run, so TFF releases (and
    cleans up) the context that owns the worker now rather than at interpreter teardown."""
    from tensorflow_federated.python.core.impl.context_stack import context_stack_impl, runtime_error_context

    context_stack_impl.context_stack.set_default_context(runtime_error_context.RuntimeErrorContext())


# -- MPyC -------------------------------------------------------------------------------------


def mpyc_event_loop(runtime: Any) -> Any:
    """The asyncio event loop of an MPyC runtime (``mpc._loop``; MPyC 0.11 has no public getter)."""
    return runtime._loop


def tff_adaptive_clip_noise_params(noise_multiplier: float, expected_clients_per_round: float) -> tuple[float, float]:
    """TFF's split of one noise multiplier between the clipped updates and the clip-count estimate
    (``differential_privacy.adaptive_clip_noise_params``; not exported at the top level), used to
    cross-check :func:`labkit.fl.adaptive_clip_value_noise`."""
    from tensorflow_federated.python.aggregators.differential_privacy import adaptive_clip_noise_params

    return adaptive_clip_noise_params(noise_multiplier, expected_clients_per_round)
