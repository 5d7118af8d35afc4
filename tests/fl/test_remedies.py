"""FedProx, SCAFFOLD and FedOpt (labkit.fl.remedies): the identities with FedAvg, known answers on a
quadratic problem, the stored remedies grid, the explorer's method knob, and FedAdam against TFF."""

from __future__ import annotations


import numpy as np
import pytest

from labkit import data, fl


@pytest.fixture(scope="module")
def digits_clients():
    d = data.load("digits")
    parts = data.partition(d.y_train, 8, "dirichlet", alpha=0.3, seed=0, min_size=2)
    return d, fl.client_arrays(d.x_train, d.y_train, parts)


def _fedavg_rounds(model, params, clients, selections, local, seed):
    rng = np.random.default_rng(seed)
    for selected in selections:
        params = fl.federated_round(model, params, clients, selected, local, rng=rng,
                                    client_weights=[len(clients[k][1]) for k in selected]).params
    return params


SELECTIONS = [[0, 2, 5], [1, 3, 4, 7], [2, 6], [0, 1, 2, 3, 4, 5, 6, 7]]


# --------------------------------------------------------------------------------------------
# Identities with FedAvg
# --------------------------------------------------------------------------------------------


def test_fedprox_with_mu_zero_is_fedavg_exactly(digits_clients):
    d, clients = digits_clients
    model = fl.SoftmaxRegression(64, 10)
    w0 = model.init(np.random.default_rng(0))
    fedavg = _fedavg_rounds(model, w0, clients, SELECTIONS, fl.LocalSGD(0.3, 2, 16), seed=4)
    prox0 = _fedavg_rounds(model, w0, clients, SELECTIONS, fl.ProxSGD(0.3, 2, 16, mu=0.0), seed=4)
    prox = _fedavg_rounds(model, w0, clients, SELECTIONS, fl.ProxSGD(0.3, 2, 16, mu=0.1), seed=4)
    assert np.max(np.abs(fedavg - w0)) > 0.1  # it trained
    assert np.array_equal(prox0, fedavg)
    assert np.max(np.abs(prox - fedavg)) > 1e-3  # mu > 0 changes the path (the test can fail)
    # and the whole run: run_method("fedprox", mu=0) reproduces run_federated's curve and weights
    settings = dict(rounds=6, lr=0.3, epochs=2, batch_size=10, clients_per_round=4, seed=3)
    ref = fl.run_federated(clients, (d.x_test, d.y_test), **settings)
    for method in ("fedavg", "fedprox"):
        hist = fl.run_method(clients, (d.x_test, d.y_test), method, mu=0.0, **settings)
        assert hist.accuracy == ref.accuracy
        assert fl.max_abs_difference(hist.weights, ref.weights) == 0.0


def test_server_sgd_at_learning_rate_one_is_fedavg_and_momentum_is_fedavgm(digits_clients):
    _, clients = digits_clients
    model = fl.SoftmaxRegression(64, 10)
    w0 = model.init(np.random.default_rng(1))
    fedavg = _fedavg_rounds(model, w0, clients, SELECTIONS, fl.LocalSGD(0.3, 1, 16), seed=2)
    opt, params, rng = fl.ServerOptimizer("sgd", 1.0), w0, np.random.default_rng(2)
    for selected in SELECTIONS:
        params = fl.fedopt_round(model, params, clients, selected, fl.LocalSGD(0.3, 1, 16), opt, rng=rng,
                                 client_weights=[len(clients[k][1]) for k in selected]).params
    assert np.array_equal(params, fedavg)
    # server SGD with momentum is labkit's FedAvgM ([W, b] code written independently, exercise 06.1)
    opt, params, rng = fl.ServerOptimizer("sgd", 0.7, momentum=0.9), w0, np.random.default_rng(2)
    ref, velocity, rng_ref = model.layers(w0), None, np.random.default_rng(2)
    for selected in SELECTIONS:
        params = fl.fedopt_round(model, params, clients, selected, fl.LocalSGD(0.3, 1, 16), opt, rng=rng,
                                 client_weights=[len(clients[k][1]) for k in selected]).params
        ref, velocity = fl.fedavgm_round(ref, velocity, clients, selected, 0.3, 1, 16, server_lr=0.7, momentum=0.9,
                                         rng=rng_ref)
    assert np.max(np.abs(params - fedavg)) > 0.05  # momentum changed the path
    assert np.max(np.abs(params - model.flatten(ref))) < 1e-5


def test_scaffold_first_round_is_fedavg_first_round_then_differs(digits_clients):
    _, clients = digits_clients
    model = fl.SoftmaxRegression(64, 10)
    w0 = model.init(np.random.default_rng(2))
    scaffold = fl.Scaffold(model, clients, 0.3, 2, 16)
    sizes = [len(c[1]) for c in clients]
    first = scaffold.round(w0, clients, SELECTIONS[0], client_weights=[sizes[k] for k in SELECTIONS[0]],
                           rng=np.random.default_rng(9))
    fedavg = _fedavg_rounds(model, w0, clients, SELECTIONS[:1], fl.LocalSGD(0.3, 2, 16), seed=9)
    assert np.array_equal(first.params, fedavg)
    assert np.any(scaffold.c != 0) and np.any(scaffold.c_clients[SELECTIONS[0]] != 0)
    assert np.all(scaffold.c_clients[[1, 3, 4, 6, 7]] == 0)  # only the selected clients' variates moved
    # c stays the data-weighted mean of the clients' variates (the server's |S|/N rule, weighted)
    share = np.array(sizes, np.float64) / sum(sizes)
    assert np.allclose(scaffold.c, share @ scaffold.c_clients.astype(np.float64), atol=1e-6)
    second = scaffold.round(first.params, clients, SELECTIONS[1], client_weights=[sizes[k] for k in SELECTIONS[1]],
                            rng=np.random.default_rng(10))
    plain = fl.federated_round(model, first.params, clients, SELECTIONS[1], fl.LocalSGD(0.3, 2, 16),
                               client_weights=[sizes[k] for k in SELECTIONS[1]], rng=np.random.default_rng(10))
    assert np.max(np.abs(second.params - plain.params)) > 1e-3  # the correction acts from round 2 on


def test_notebook_prox_local_sgd_equals_labkit(digits_clients):
    """Notebook 06 builds FedProx's local step on [W, b] lists; it must give fl.ProxSGD's update bit for bit."""
    from notebook_source import notebook_function

    prox_local_sgd = notebook_function("06", "prox_local_sgd", {"np": np, "fl": fl})
    _, clients = digits_clients
    model = fl.SoftmaxRegression(64, 10)
    w0 = fl.init_weights(64, 10, np.random.default_rng(4))
    for k, (mu, epochs, batch) in enumerate([(0.0, 1, 10), (0.05, 3, 16), (2.0, 2, None)]):
        cx, cy = clients[k]
        yours = prox_local_sgd(w0, cx, cy, 0.2, epochs, batch, mu, np.random.default_rng(k))
        theirs = fl.ProxSGD(0.2, epochs, batch, mu=mu)(model, model.flatten(w0), cx, cy, np.random.default_rng(k))
        assert fl.max_abs_difference([a - b for a, b in zip(yours, w0)], model.layers(theirs.update)) == 0.0


# --------------------------------------------------------------------------------------------
# Known answers on a quadratic problem: f_k(w) = a_k / 2 ||w - b_k||^2
# --------------------------------------------------------------------------------------------


class Quadratic:
    """A 'model' whose client k has loss a_k/2 ||w - b_k||^2: x rows hold b_k, the labels hold a_k."""

    dtype = np.float64

    def __init__(self, dim: int) -> None:
        self.num_params = dim

    def flatten(self, layers):
        return np.concatenate([np.ravel(a) for a in layers])

    def loss_and_gradient(self, params, x, y):
        a, b = float(np.mean(y)), np.mean(x, axis=0)
        return 0.5 * a * float(np.sum((params - b) ** 2)), a * (params - b)


def _quadratic_clients():
    b = [np.array([1.0, -2.0, 0.5]), np.array([-3.0, 1.0, 2.0])]
    a = [1, 4]
    return [(np.tile(bk, (5, 1)), np.full(5, ak, np.int64)) for ak, bk in zip(a, b)], a, b


def test_fedprox_client_reaches_the_proximal_optimum_with_the_right_sign():
    """Many full-batch steps land on argmin a/2||w - b||^2 + mu/2||w - w0||^2 = (a b + mu w0) / (a + mu)."""
    clients, a, b = _quadratic_clients()
    model, w0 = Quadratic(3), np.array([2.0, 2.0, -1.0])
    for mu in (0.5, 3.0):
        update = fl.ProxSGD(0.05, steps=2000, batch_size=None, mu=mu)(model, w0, *clients[1]).update
        right = (a[1] * b[1] + mu * w0) / (a[1] + mu)
        wrong = (a[1] * b[1] - mu * w0) / (a[1] - mu)  # where a flipped proximal sign would go
        assert np.max(np.abs(w0 + update - right)) < 1e-9
        assert np.max(np.abs(right - wrong)) > 0.5


def test_scaffold_removes_client_drift_and_fedavg_does_not():
    """Two clients, different curvatures: FedAvg with many local steps settles at the mean of the
    local optima, SCAFFOLD at the global optimum sum a_k b_k / sum a_k (its correction at work)."""
    clients, a, b = _quadratic_clients()
    model, w = Quadratic(3), np.zeros(3)
    optimum = (a[0] * b[0] + a[1] * b[1]) / (a[0] + a[1])
    local = fl.LocalSGD(0.05, steps=50, batch_size=None)
    fedavg = w
    for _ in range(200):
        fedavg = fl.federated_round(model, fedavg, clients, [0, 1], local, client_weights=[5, 5]).params
    scaffold, s = fl.Scaffold(model, clients, 0.05, steps=50, batch_size=None), w
    for _ in range(200):
        s = scaffold.round(s, clients, [0, 1], client_weights=[5, 5]).params
    assert np.max(np.abs(s - optimum)) < 1e-8
    assert np.max(np.abs(fedavg - optimum)) > 0.5  # client drift: FedAvg's fixed point is elsewhere
    # at SCAFFOLD's fixed point each c_k is client k's gradient there, and c their mean (zero)
    for k in range(2):
        assert np.allclose(scaffold.c_clients[k], a[k] * (optimum - b[k]), atol=1e-7)
    assert np.allclose(scaffold.c, 0.0, atol=1e-7)


def test_fedadam_and_fedyogi_first_step_closed_form():
    """Round 1 from m = 0: Adam with bias correction (TFF's) steps lr g / (|g| + tau / sqrt(1 - beta2))
    against g (tau is added to the uncorrected sqrt(v), so it acts as tau / sqrt(1 - beta2) after the
    correction; adding it after the correction would step lr g / (|g| + tau)); the paper's rule, v starting at tau^2, steps
    lr (1 - beta1) g / (sqrt(tau^2 + (1 - beta2)(g^2 - tau^2)) + tau)."""
    delta = np.array([0.3, -0.02, 0.0, 1e-4])
    g = -delta
    opt = fl.ServerOptimizer("adam", 0.1, beta1=0.9, beta2=0.99, tau=1e-3, bias_correction=True, initial_v=0.0)
    assert np.allclose(opt.step(np.zeros(4), delta), -0.1 * g / (np.abs(g) + 1e-3 / np.sqrt(0.01)), rtol=1e-12, atol=0)
    paper = fl.ServerOptimizer("adam", 0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    v1 = 1e-6 + 0.01 * (g**2 - 1e-6)
    assert np.allclose(paper.step(np.zeros(4), delta), -0.1 * 0.1 * g / (np.sqrt(v1) + 1e-3), rtol=1e-12, atol=0)
    yogi = fl.ServerOptimizer("yogi", 0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    v1 = 1e-6 + 0.01 * np.sign(g**2 - 1e-6) * g**2  # Yogi's additive second moment
    assert np.allclose(yogi.step(np.zeros(4), delta), -0.1 * 0.1 * g / (np.sqrt(v1) + 1e-3), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------------------------
# The stored grid and the explorer
# --------------------------------------------------------------------------------------------


def test_stored_remedies_grid_matches_the_fedavg_grid_and_a_live_recompute():
    grid = data.load_arrays("sweeps/fl_noniid.npz")
    r = fl.REMEDY_GRID
    assert [str(m) for m in grid["methods"]] == [label for label, _, _ in r["methods"]]
    assert grid["method_curves"].shape[-2:] == (len(r["seeds"]), fl.NONIID_GRID["rounds"] + 1)
    for e in r["epochs"]:
        stored = fl.remedy_curves(grid, "FedAvg", 0.3, 20, e)
        assert np.array_equal(stored[0], fl.noniid_lookup(grid, 0.3, 20, e))
    live = fl.noniid_curve(1.0, 50, 1, seed=1, method="scaffold")
    assert np.array_equal(fl.remedy_curves(grid, "SCAFFOLD", 1.0, 50, 1)[1], live)
    live = fl.noniid_curve(0.1, 50, 1, seed=2, method="fedprox", mu=1.0)
    assert np.array_equal(fl.remedy_curves(grid, "FedProx mu=1", 0.1, 50, 1)[2], live)
    with pytest.raises(ValueError, match="epochs must be one of"):
        fl.remedy_curves(grid, "SCAFFOLD", 0.1, 10, 20)
    with pytest.raises(ValueError, match="method must be one of"):
        fl.remedy_curves(grid, "FedNova", 0.1, 10, 5)


def test_rounds_over_seeds():
    curves = np.array([[0.1, 0.5, 0.9], [0.1, 0.2, 0.3], [0.95, 0.95, 0.95]])
    assert fl.rounds_over_seeds(curves, 0.85) == [2, None, 0]


def test_explorer_method_knob_and_dependent_controls():
    pytest.importorskip("ipywidgets")
    from labkit.fl.widgets import noniid_explorer

    view = noniid_explorer(alpha=0.1, num_clients=10, epochs=5, method="SCAFFOLD")
    method, mu = view.controls["method"], view.controls["mu"]
    assert method.value == "SCAFFOLD" and mu.disabled  # mu only applies to FedProx, and says so
    image = view.image.value
    method.value = "FedProx"
    assert not mu.disabled and view.image.value != image  # redrawn in place
    assert "FedProx mu=" + mu.label in view.readout.value
    view.controls["epochs"].value = 20  # not on the remedies grid: said, not silently moved
    assert view.controls["epochs"].value == 20
    assert "E = 20" in view.status.value and method.value == "FedProx"
    view.controls["epochs"].value = 5
    assert view.status.value == "" and method.value == "FedProx"
    method.value = "SCAFFOLD"  # stored grid at alpha 0.1, 10 clients, E = 5: 3 [3, 4] rounds vs FedAvg's 6 [6, 6]
    assert "SCAFFOLD is faster than FedAvg on every seed" in view.readout.value
    with pytest.raises(ValueError, match="method must be one of"):
        noniid_explorer(method="FedNova")


def test_explorer_says_what_it_moved_while_it_still_shows_it():
    """A start value off the grid is moved and said; the note survives the off-grid status line and
    goes once the learner moves that control (no stale note, no silent move)."""
    pytest.importorskip("ipywidgets")
    from labkit.fl.widgets import noniid_explorer

    view = noniid_explorer(alpha=0.2, num_clients=7, epochs=5, method="FedProx", mu=0.05)
    c = view.controls
    assert c["num_clients"].value == 5 and c["alpha"].value == 0.3 and c["mu"].value == 0.1  # nearest on a log scale
    assert noniid_explorer(mu=1e300).controls["mu"].value == 1.0 and noniid_explorer(mu=0).controls["mu"].value == 0.01
    for said in ("alpha = 0.2", "num_clients = 7", "mu = 0.05", "5 clients: only FedAvg is stored"):
        assert said in view.status.value  # 5 clients is off the remedies grid: both are said
    c["num_clients"].value = 10
    assert "num_clients = 7" not in view.status.value and "alpha = 0.2" in view.status.value
    c["alpha"].value = 1.0
    c["mu"].value = 1.0
    assert view.status.value == ""


# --------------------------------------------------------------------------------------------
# FedAdam and FedYogi against TensorFlow Federated
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["adam", "yogi"])
def test_fedadam_round_equals_tff_server_optimizer(digits_clients, kind):
    """build_weighted_fed_avg with server_optimizer_fn=build_adam / build_yogi: weights agree to 1e-5."""
    from labkit.fl import tff as tff_runtime

    _, clients = digits_clients
    w0 = fl.init_weights(64, 10, np.random.default_rng(0))
    model = fl.SoftmaxRegression(64, 10)
    lr, tau, b1, b2 = 0.05, 1e-3, 0.9, 0.99
    init_v = 0.0 if kind == "adam" else 1e-6  # TFF's Adam starts v at 0, its Yogi at 1e-6
    opt = fl.ServerOptimizer(kind, lr, beta1=b1, beta2=b2, tau=tau, bias_correction=True, initial_v=init_v)
    params, rng = model.flatten(w0), np.random.default_rng(3)
    for selected in SELECTIONS[:3]:
        params = fl.fedopt_round(model, params, clients, selected, fl.LocalSGD(0.3, 1, 16), opt, rng=rng,
                                 client_weights=[len(clients[k][1]) for k in selected]).params
    build = "build_adam" if kind == "adam" else "build_yogi"
    theirs = fl.tff_fedavg(clients, w0, rounds=3, lr=0.3, epochs=1, batch_size=16, selections=SELECTIONS[:3],
                           shuffle_seed=3, server_optimizer_fn=lambda tff: getattr(tff.learning.optimizers, build)(
                               lr, beta_1=b1, beta_2=b2, epsilon=tau))
    plain = fl.tff_fedavg(clients, w0, rounds=3, lr=0.3, epochs=1, batch_size=16, selections=SELECTIONS[:3],
                          shuffle_seed=3)
    ours = model.layers(params)
    assert fl.max_abs_difference(ours, plain) > 0.05  # the server optimiser changed the path
    assert fl.max_abs_difference(ours, theirs) <= 1e-5
    assert tff_runtime.live_workers() == []
