"""Bad-input campaign specs for labkit.fl (see tests/campaign.py)."""

import numpy as np

import campaign
from campaign import Call, Fresh

_R = np.random.default_rng(0)
X = _R.normal(size=(12, 3)).astype(np.float32)
Y = np.array([0, 1, 2] * 4, dtype=np.int64)
XT, YT = X[:6], Y[:6]


def _clients():
    return [(X[:6].copy(), Y[:6].copy()), (X[6:].copy(), Y[6:].copy())]


def _weights():
    return [np.zeros((3, 3), np.float32), np.zeros(3, np.float32)]


def _flat():
    return np.zeros(12, np.float32)


def _rng():
    return np.random.default_rng(0)


def _softmax():
    from labkit.fl import SoftmaxRegression
    return SoftmaxRegression(3, 3)


def _logistic():
    from labkit.fl import LogisticRegression
    return LogisticRegression(3)


def _local():
    from labkit.fl import LocalSGD
    return LocalSGD(0.1, 1, 3)


def _secagg_run():
    from labkit.smpc import secure_aggregate_run
    return secure_aggregate_run(np.ones((3, 2)), rng=np.random.default_rng(0))


def _ax():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    return ax


_keys = None


def _paillier_keys():
    global _keys
    if _keys is None:
        from labkit.he.paillier import generate_keypair
        _keys = generate_keypair(512, insecure_demo=True, rng=np.random.default_rng(0))
    return _keys


def _grid():
    from labkit import data
    return data.load_arrays("sweeps/fl_noniid.npz")


def _mlp():
    from labkit.fl.attacks import init_mlp
    return init_mlp(0)


def _x64():
    return np.random.default_rng(0).uniform(size=(2, 64)).astype(np.float32)


def _mlp_grad():
    from labkit.fl.attacks import mlp_gradients
    return mlp_gradients(_mlp(), _x64()[:1], np.array([0]))


CALLS = [
    # models
    Call("labkit.fl.models:SoftmaxRegression", dict(num_features=3, num_classes=3)),
    Call("labkit.fl.models:SoftmaxRegression.init", dict(rng=Fresh(_rng), scale=0.01),
         self_kwargs=dict(num_features=3, num_classes=3), accepts={"scale": {"zero", "huge"}}),  # any scale >= 0
    Call("labkit.fl.models:SoftmaxRegression.loss_and_gradient", dict(params=Fresh(_flat), x=XT, y=YT),
         self_kwargs=dict(num_features=3, num_classes=3), kinds={"y": "array"}),
    Call("labkit.fl.models:SoftmaxRegression.per_example_gradients", dict(params=Fresh(_flat), x=XT, y=YT),
         self_kwargs=dict(num_features=3, num_classes=3)),
    Call("labkit.fl.models:SoftmaxRegression.logits", dict(params=Fresh(_flat), x=XT),
         self_kwargs=dict(num_features=3, num_classes=3)),
    Call("labkit.fl.models:SoftmaxRegression.predict", dict(params=Fresh(_flat), x=XT),
         self_kwargs=dict(num_features=3, num_classes=3)),
    Call("labkit.fl.models:SoftmaxRegression.accuracy", dict(params=Fresh(_flat), x=XT, y=YT),
         self_kwargs=dict(num_features=3, num_classes=3)),
    Call("labkit.fl.models:SoftmaxRegression.layers", dict(params=Fresh(_flat)),
         self_kwargs=dict(num_features=3, num_classes=3), accepts={"params": {"nan_entry", "inf_entry"}},
         nonfinite_ok={"params"}),
    # layers is a view: a diverged model (run_federated with a too-large lr) is still cut into [W, b]
    Call("labkit.fl.models:SoftmaxRegression.flatten", dict(layers=Fresh(_weights)),
         self_kwargs=dict(num_features=3, num_classes=3)),
    Call("labkit.fl.models:LogisticRegression", dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.init", dict(rng=Fresh(_rng)), self_kwargs=dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.layers", dict(params=np.zeros(4)), self_kwargs=dict(num_features=3),
         accepts={"params": {"nan_entry", "inf_entry"}}, nonfinite_ok={"params"}),  # a view, as SoftmaxRegression.layers
    Call("labkit.fl.models:LogisticRegression.flatten", dict(layers=Fresh(lambda: [np.zeros(3), np.zeros(1)])),
         self_kwargs=dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.logits", dict(params=np.zeros(4), x=XT.astype(np.float64)),
         self_kwargs=dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.loss_and_gradient",
         dict(params=np.zeros(4), x=XT.astype(np.float64), y=np.array([0, 1, 0, 1, 0, 1])),
         self_kwargs=dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.per_example_gradients",
         dict(params=np.zeros(4), x=XT.astype(np.float64), y=np.array([0, 1, 0, 1, 0, 1])),
         self_kwargs=dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.predict", dict(params=np.zeros(4), x=XT.astype(np.float64)),
         self_kwargs=dict(num_features=3)),
    Call("labkit.fl.models:LogisticRegression.accuracy",
         dict(params=np.zeros(4), x=XT.astype(np.float64), y=np.array([0, 1, 0, 1, 0, 1])),
         self_kwargs=dict(num_features=3)),
    # aggregation
    Call("labkit.fl.aggregation:plain_sum", dict(updates=Fresh(lambda: [np.ones(3), np.ones(3)]), params=np.zeros(3)),
         accepts={"params": {"none"}}),  # params is optional (only for an empty sum)
    Call("labkit.fl.aggregation:secagg_bytes", dict(run=Fresh(_secagg_run))),
    Call("labkit.fl.aggregation:SecureAggregation.__call__",
         dict(updates=Fresh(lambda: [np.ones(3), np.ones(3)]), params=np.zeros(3)),
         self_kwargs=dict(rng=Fresh(_rng)), accepts={"params": {"none"}}),  # params is optional
    Call("labkit.fl.aggregation:PaillierAggregation.__call__",
         dict(updates=Fresh(lambda: [np.ones(3), np.ones(3)]), params=np.zeros(3)),
         self_kwargs=dict(public_key=Fresh(lambda: _paillier_keys()[0]), private_key=Fresh(lambda: _paillier_keys()[1]),
                          rng=Fresh(_rng)),
         accepts={"params": {"none"}}),  # params is optional
    # dp_fedavg
    Call("labkit.fl.dp_fedavg:clip_update", dict(update=Fresh(lambda: [np.ones((2, 2)), np.ones(2)]), clip=1.0),
         accepts={"clip": {"huge"}}),  # any finite clip (a huge one clips nothing)
    Call("labkit.fl.dp_fedavg:poisson_sample", dict(num_clients=10, q=0.5, rng=Fresh(_rng))),
    Call("labkit.fl.dp_fedavg:ClippedUpdate", dict(inner=Fresh(_local), clip=1.0), accepts={"clip": {"huge"}}),
    Call("labkit.fl.dp_fedavg:ClippedUpdate.__call__",
         dict(model=Fresh(_softmax), params=Fresh(_flat), x=XT, y=YT, rng=Fresh(_rng)),
         self_kwargs=dict(inner=Fresh(_local), clip=1.0)),
    Call("labkit.fl.dp_fedavg:GaussianSum", dict(noise_multiplier=1.0, clip=1.0, expected_clients=2.0, rng=Fresh(_rng)),
         accepts={"noise_multiplier": {"zero", "huge"}, "clip": {"huge"}, "expected_clients": {"huge"}}),
    # no noise: clipping only (notebook 07's baseline); any finite value is valid (overflow is caught per call)
    Call("labkit.fl.dp_fedavg:GaussianSum.__call__", dict(updates=Fresh(lambda: [np.ones(3), np.ones(3)]),
                                                          params=np.zeros(3)),
         self_kwargs=dict(noise_multiplier=1.0, clip=1.0, expected_clients=2.0, rng=Fresh(_rng))),
    Call("labkit.fl.dp_fedavg:RecordDPSGD", dict(lr=0.1, steps=2, expected_batch_size=2, q=0.5, noise_multiplier=1.0,
                                                 l2_norm_clip=1.0),
         accepts={"steps": {"zero"}, "noise_multiplier": {"zero", "huge"}, "lr": {"huge"},
                  "expected_batch_size": {"huge"}, "l2_norm_clip": {"huge"}}),
    # 0 steps: no training; 0 noise: clipping only; any finite setting is valid for the constructor
    Call("labkit.fl.dp_fedavg:RecordDPSGD.__call__",
         dict(model=Fresh(_logistic), params=np.zeros(4), x=XT.astype(np.float64), y=np.array([0, 1, 0, 1, 0, 1]),
              rng=Fresh(_rng)),
         self_kwargs=dict(lr=0.1, steps=2, expected_batch_size=2, q=0.5, noise_multiplier=1.0)),
    Call("labkit.fl.dp_fedavg:check_user_delta", dict(delta=1e-5, num_users=100)),
    Call("labkit.fl.dp_fedavg:user_level_epsilon", dict(q=0.1, noise_multiplier=1.0, rounds=10, delta=1e-5,
                                                        num_users=100, accountant="rdp")),
    Call("labkit.fl.dp_fedavg:adaptive_clip_value_noise", dict(noise_multiplier=1.0, expected_clients=100.0,
                                                               clipped_count_stddev=5.0),
         accepts={"expected_clients": {"huge"}, "clipped_count_stddev": {"huge", "none"}}),
    # any finite count; None = TFF's default 0.05 * expected_clients
    Call("labkit.fl.dp_fedavg:dp_fedavg_round",
         dict(weights=Fresh(_weights), clients=Fresh(_clients), selected=[0, 1], lr=0.1, epochs=1, batch_size=3,
              clip=1.0, noise_multiplier=1.0, expected_clients=2.0, rng=Fresh(_rng)),
         accepts={"noise_multiplier": {"zero", "huge"}, "selected": {"empty"}, "batch_size": {"none", "huge"},
                  "clip": {"huge"}, "expected_clients": {"huge"}, "lr": {"huge"}}),
    # lr: any finite step size (each update is clipped whatever it is; one that diverges to NaN raises);
    # no noise: clipping only; huge noise is valid; Poisson sampling may select no client (the noise alone is
    # released); batch_size None or larger than a client = the whole client; any finite clip
    Call("labkit.fl.dp_fedavg:run_dp_fedavg",
         dict(clients=Fresh(_clients), test=(XT, YT), rounds=1, q=1.0, clip=1.0, noise_multiplier=1.0, lr=0.1,
              epochs=1, batch_size=3, seed=0, initial=None),
         accepts={"noise_multiplier": {"zero", "huge"}, "seed": {"zero", "none", "huge"}, "initial": {"none"},
                  "batch_size": {"none", "huge"}, "lr": {"huge"}, "clip": {"huge"}},
         kinds={"initial": "object"}),
    # no noise: clipping only; seed None = OS entropy, any seed >= 0; initial None = fresh weights;
    # batch_size None or larger than a client = the whole client; q = 1 so that every client trains (a round
    # that diverges raises, naming lr); any finite noise is valid (more noise, more privacy), noise that
    # overflows the float32 parameters is refused; lr as in dp_fedavg_round
    # fedavg
    Call("labkit.fl.fedavg:client_arrays", dict(x=X, y=Y, parts=[np.arange(6), np.arange(6, 12)])),
    Call("labkit.fl.fedavg:check_clients", dict(clients=Fresh(_clients), num_features=3),
         accepts={"num_features": {"none"}}),  # optional
    Call("labkit.fl.fedavg:epoch_orders", dict(n=5, epochs=2, rng=Fresh(_rng))),
    Call("labkit.fl.fedavg:epoch_batches", dict(n=5, batch_size=2, epochs=2, rng=Fresh(_rng), steps=3),
         accepts={"batch_size": {"none", "huge"}, "steps": {"zero", "none"}}),
    # None or larger than n = whole client; 0 steps = none; None = epochs
    Call("labkit.fl.fedavg:sgd", dict(model=Fresh(_softmax), params=Fresh(_flat), x=XT, y=YT, lr=0.1,
                                      batches=[np.arange(3), np.arange(3, 6)], gradient=None),
         skip={"gradient": "a callback"}, accepts={"lr": {"huge"}}, nonfinite_ok={"lr"}),
    # lr=1e300 diverges: documented (sgd returns NaN, run_rounds stops on divergence)
    Call("labkit.fl.fedavg:LocalSGD", dict(lr=0.1, epochs=1, batch_size=3, shuffle=True, steps=None),
         accepts={"batch_size": {"none", "huge"}, "lr": {"huge"}, "steps": {"zero", "none"}}, kinds={"steps": "count"}),
    # None or larger than a client = whole client; lr: any finite step size (divergence is reported per run);
    # steps 0 = no step, None = epochs
    Call("labkit.fl.fedavg:LocalSGD.__call__", dict(model=Fresh(_softmax), params=Fresh(_flat), x=XT, y=YT,
                                                    rng=Fresh(_rng)),
         self_kwargs=dict(lr=0.1, epochs=1, batch_size=3)),
    Call("labkit.fl.fedavg:normalized_weights", dict(client_weights=[1.0, 2.0], count=2)),
    Call("labkit.fl.fedavg:federated_round",
         dict(model=Fresh(_softmax), params=Fresh(_flat), clients=Fresh(_clients), selected=[0, 1],
              update=Fresh(_local), client_weights=[6.0, 6.0], rng=Fresh(_rng)),
         skip={"aggregator": "a callable"}, accepts={"client_weights": {"none"}}),  # None = unweighted
    Call("labkit.fl.fedavg:History.rounds_to", dict(target=0.5), self_kwargs=dict(accuracy=[0.1, 0.6])),
    Call("labkit.fl.fedavg:rounds_to_target", dict(accuracies=[0.1, 0.6, 0.9], target=0.5)),
    Call("labkit.fl.fedavg:run_rounds",  # target None = run every round
         dict(model=Fresh(_softmax), params=Fresh(_flat), clients=Fresh(_clients), test=(XT, YT), rounds=1,
              select=lambda: [0, 1],
              step=lambda p, s: __import__("labkit.fl", fromlist=["x"]).federated_round(_softmax(), p, _clients(), s,
                                                                                        _local()),
              target=None, progress=None),
         skip={"select": "a callback", "step": "a callback", "progress": "a callback"}, kinds={"target": "real"},
         accepts={"target": {"none"}}),
    Call("labkit.fl.fedavg:bytes_per_round", dict(weights=Fresh(_weights), clients_per_round=2, bytes_per_value=4),
         accepts={"bytes_per_value": {"none", "huge"}, "clients_per_round": {"huge"}}),
    # None = the dtype's size; any count: the arithmetic is exact
    Call("labkit.fl.fedavg:softmax_model", dict(weights=Fresh(_weights))),
    Call("labkit.fl.fedavg:init_weights", dict(num_features=3, num_classes=3, rng=Fresh(_rng), scale=0.01),
         accepts={"scale": {"zero", "huge"}}),  # any scale >= 0
    Call("labkit.fl.fedavg:loss_and_gradients", dict(weights=Fresh(_weights), x=XT, y=YT)),
    Call("labkit.fl.fedavg:accuracy", dict(weights=Fresh(_weights), x=XT, y=YT)),
    Call("labkit.fl.fedavg:local_sgd", dict(weights=Fresh(_weights), x=XT, y=YT, lr=0.1, epochs=1, batch_size=3,
                                            rng=Fresh(_rng)),
         accepts={"batch_size": {"none", "huge"}, "lr": {"huge"}}, nonfinite_ok={"lr"}),
    # None or larger than a client = whole client; lr=1e300 diverges: documented (sgd returns NaN)
    Call("labkit.fl.fedavg:weighted_average", dict(models=Fresh(lambda: [_weights(), _weights()]),
                                                   client_weights=[1.0, 2.0])),
    Call("labkit.fl.fedavg:fedsgd_round", dict(weights=Fresh(_weights), clients=Fresh(_clients), selected=[0, 1],
                                               lr=0.1),
         accepts={"lr": {"huge"}}, nonfinite_ok={"lr"}),  # lr=1e300 diverges: documented (sgd returns NaN)
    Call("labkit.fl.fedavg:fedavg_round", dict(weights=Fresh(_weights), clients=Fresh(_clients), selected=[0, 1],
                                               lr=0.1, epochs=1, batch_size=3, rng=Fresh(_rng)),
         accepts={"batch_size": {"none", "huge"}, "lr": {"huge"}}, nonfinite_ok={"lr"}),
    # None or larger than a client = whole client; lr=1e300 diverges: documented (sgd returns NaN)
    Call("labkit.fl.fedavg:fedavgm_round", dict(weights=Fresh(_weights), velocity=None, clients=Fresh(_clients),
                                                selected=[0, 1], lr=0.1, epochs=1, batch_size=3, server_lr=1.0,
                                                momentum=0.9, rng=Fresh(_rng)),
         accepts={"batch_size": {"none", "huge"}, "lr": {"huge"}, "server_lr": {"huge"}, "velocity": {"none"},
                  "momentum": {"zero"}},
         nonfinite_ok={"lr", "server_lr"}, kinds={"velocity": "object"}),
    # as fedavg_round; velocity None = zeros (the first round); momentum 0 = FedAvg with a server step;
    # a huge server_lr overflows to inf (documented, as a huge lr)
    Call("labkit.fl.fedavg:run_federated",
         dict(clients=Fresh(_clients), test=(XT, YT), rounds=1, lr=0.1, epochs=1, batch_size=3, clients_per_round=2,
              algorithm="fedavg", seed=0, initial=None, target=None, shuffle=True, progress=None),
         accepts={"batch_size": {"none", "huge"}, "clients_per_round": {"none"}, "lr": {"huge"},
                  "seed": {"zero", "huge", "none"}, "initial": {"none"}, "target": {"none"}},
         # None = whole client / all clients; lr: divergence stops the run (documented); any seed >= 0;
         # seed None = OS entropy; initial None = fresh weights; target None = every round
         kinds={"target": "real", "initial": "object"}, skip={"progress": "a callback"}),
    Call("labkit.fl.fedavg:max_abs_difference", dict(a=Fresh(_weights), b=Fresh(_weights))),
    # sweeps
    Call("labkit.fl.sweeps:table2_clients", dict(scheme="iid")),
    Call("labkit.fl.sweeps:noniid_curve", dict(alpha=1.0, num_clients=5, epochs=1, rounds=1, seed=0, progress=None,
                                               method="fedavg", mu=0.0),
         accepts={"alpha": {"inf", "huge"}, "rounds": {"none"}, "seed": {"zero", "huge"}, "mu": {"zero", "huge"}},
         # inf = IID (1e300 is IID in effect); None = the grid's rounds; any seed >= 0; mu 0 is FedAvg, any mu >= 0 is a
         # proximal weight
         skip={"progress": "a callback"}, timeout=30),
    Call("labkit.fl.sweeps:noniid_lookup", dict(grid=Fresh(_grid), alpha=1.0, num_clients=10, epochs=5),
         accepts={"alpha": {"inf"}}),  # inf = IID, a grid point
    # plots and widgets
    Call("labkit.fl.plots:plot_accuracy_curves", dict(ax=Fresh(_ax), curves={"a": [0.1, 0.5]}, target=0.9, title="t"),
         accepts={"target": {"none", "zero"}, "title": {"unknown"}}, kinds={"target": "real"}),
    # no target line / a line at 0; any title
    Call("labkit.fl.plots:plot_client_labels", dict(ax=Fresh(_ax), label_counts=np.array([[3, 2], [1, 4]]), title="t",
                                                    legend=True),
         accepts={"title": {"unknown"}}),  # any title
    Call("labkit.fl.plots:plot_privacy_utility", dict(ax=Fresh(_ax), epsilons=[1.0, 2.0], accuracies=[0.5, 0.6],
                                                      errors=None, labels=None, baseline=0.7),
         accepts={"errors": {"none"}, "labels": {"none"}, "baseline": {"none", "zero"}}, kinds={"errors": "array",
                                                                                         "labels": "object"}),
    Call("labkit.fl.widgets:noniid_explorer", dict(alpha=0.1, num_clients=10, epochs=5, method="FedAvg", mu=0.1),
         accepts={"alpha": {"inf", "huge"}, "num_clients": {"huge"}, "epochs": {"huge"}, "mu": {"zero", "huge"}}),
    # inf = IID; off the grid (mu included): moved to the nearest grid value, and view.status says so
    # attacks (gradient inversion)
    Call("labkit.fl.attacks:invert_softmax_gradient", dict(grad_w=np.ones((3, 2)), grad_b=np.array([0.5, -0.5]))),
    Call("labkit.fl.attacks:init_mlp", dict(rng=Fresh(_rng)), accepts={"rng": {"none"}}),  # None = OS entropy
    Call("labkit.fl.attacks:mlp_gradients", dict(weights=Fresh(_mlp), x=Fresh(_x64), y=np.array([0, 1])), timeout=60),
    Call("labkit.fl.attacks:infer_labels", dict(grad_b=np.array([0.1, -0.5, 0.2]), batch_size=1)),
    Call("labkit.fl.attacks:dlg_attack", dict(gradient=Fresh(_mlp_grad), weights=Fresh(_mlp), batch_size=1,
                                              labels=np.array([0]), steps=2, lr=0.1, rng=Fresh(_rng), progress=None),
         accepts={"labels": {"none"}, "rng": {"none"}, "progress": {"none"}},  # infer labels; OS entropy; no bar
         skip={"progress": "a callback or a flag"}, kinds={"labels": "array"}, timeout=60),
    Call("labkit.fl.attacks:reconstruction_error", dict(reconstructed=np.ones((2, 4)), originals=np.zeros((2, 4)))),
    Call("labkit.fl.attacks:matched_reconstructions", dict(reconstructed=np.ones((2, 4)), originals=np.zeros((2, 4)))),
    Call("labkit.fl.attacks:observed_gradient", dict(weights=Fresh(_mlp), batches=Fresh(lambda: [(_x64(), np.array([0, 1]))]),
                                                     clip=1.0, noise_multiplier=0.5, rng=Fresh(_rng)),
         accepts={"noise_multiplier": {"zero"}, "rng": {"none"}},  # no noise = the plain sum; OS entropy
         timeout=60),
    Call("labkit.fl.attacks:round_epsilon", dict(noise_multiplier=1.0, delta=1e-5),
         accepts={"noise_multiplier": {"zero", "huge"}}, nonfinite_ok={"noise_multiplier"}),
    # no noise = inf (no guarantee, documented); any noise is valid (epsilon 0 in effect)
    Call("labkit.fl.attacks:inversion_point", dict(batch_size=1, num_clients=1, noise_multiplier=0.0, seed=0),
         accepts={"noise_multiplier": {"zero"}, "seed": {"zero", "huge"}}, kinds={"noise_multiplier": "real"},
         timeout=60),  # no noise = the plain update; any seed below 2^32
    Call("labkit.fl.plots:plot_digit_rows", dict(ax=Fresh(_ax), rows={"a": np.zeros((2, 64))}, errors=None, title="t"),
         accepts={"errors": {"none"}, "title": {"unknown"}}, kinds={"errors": "object"}),  # no errors; any title
    Call("labkit.fl.widgets:inversion_explorer", dict(batch_size=1, num_clients=1, noise_multiplier=0.0),
         accepts={"noise_multiplier": {"zero", "huge"}, "batch_size": {"huge"}, "num_clients": {"huge"}},
         # off the grid: moved to the nearest grid value, and view.status says so
         kinds={"noise_multiplier": "real"}, timeout=60),
    # TFF (light ones)
    Call("labkit.fl.tff:tff_secure_sum_demo", dict(values=[1, 2, 3], bitwidth=8), timeout=60),
    # robust aggregation and poisoning (notebook 07)
    Call("labkit.fl.robust:coordinate_median", dict(updates=Fresh(lambda: np.arange(12.0).reshape(4, 3)))),
    Call("labkit.fl.robust:trimmed_mean", dict(updates=Fresh(lambda: np.arange(12.0).reshape(4, 3)), beta=0.2),
         accepts={"beta": {"zero"}}),  # beta 0 = the plain mean
    Call("labkit.fl.robust:krum_scores", dict(updates=Fresh(lambda: np.arange(15.0).reshape(5, 3)), f=1),
         accepts={"f": {"zero"}}),  # f = 0: no malicious client assumed
    Call("labkit.fl.robust:krum", dict(updates=Fresh(lambda: np.arange(15.0).reshape(5, 3)), f=1),
         accepts={"f": {"zero"}}),
    Call("labkit.fl.robust:clipped_mean", dict(updates=Fresh(lambda: np.arange(12.0).reshape(4, 3)), clip=1.0),
         accepts={"clip": {"huge"}}),  # a huge clip clips nothing: the plain mean
    Call("labkit.fl.robust:RobustAggregator", dict(rule="median", beta=0.2, f=1, clip=1.0),
         accepts={"beta": {"zero"}, "f": {"zero", "huge"}, "clip": {"huge"}}),
    # beta 0 = the mean; f is checked against the number of updates at each call; a huge clip clips nothing
    Call("labkit.fl.robust:RobustAggregator.__call__",
         dict(updates=Fresh(lambda: [np.ones(3), np.zeros(3), np.ones(3)]), params=np.zeros(3)),
         self_kwargs=dict(rule="krum", f=0), accepts={"params": {"none"}}),  # params is optional
    Call("labkit.fl.robust:PoisonedUpdate", dict(inner=Fresh(_local), attack="boost", scale=10.0, num_classes=3),
         accepts={"scale": {"huge"}}),  # any finite boosting factor (float32 overflow is the attacker's business)
    Call("labkit.fl.robust:PoisonedUpdate.__call__",
         dict(model=Fresh(_softmax), params=Fresh(_flat), x=XT, y=YT, rng=Fresh(_rng)),
         self_kwargs=dict(inner=Fresh(_local), attack="boost", scale=2.0, num_classes=3),
         accepts={"rng": {"none"}}, kinds={"y": "array"}),  # rng None: LocalSGD draws from OS entropy
    Call("labkit.fl.robust:run_poisoned",
         dict(clients=Fresh(_clients), test=(XT, YT), attackers=1, aggregator=Fresh(lambda: __import__(
             "labkit.fl.robust", fromlist=["x"]).RobustAggregator("median")), attack="sign_flip", scale=2.0, rounds=1,
              lr=0.1, epochs=1, batch_size=3, seed=0),
         accepts={"attackers": {"zero"}, "seed": {"zero", "huge"}, "batch_size": {"none", "huge"}, "lr": {"huge"},
                  "scale": {"huge"}},
         # no attacker = clean FedAvg; any seed >= 0; None or larger than a client = the whole client;
         # a huge lr or scale: the run stops at the first non-finite model (run_rounds reports it)
         skip={"aggregator": "a callable (RobustAggregator is walked above)"}),
    Call("labkit.fl.robust:poisoning_aggregators", dict(num_clients=20), accepts={"num_clients": {"none", "huge"}}),
    # None = POISONING_SETTINGS' 20; any n >= 3 (Krum's f is capped at (n - 3) // 2)
    Call("labkit.fl.robust:poisoning_clients", dict(seed=0), accepts={"seed": {"zero", "huge"}}),  # any seed >= 0
    Call("labkit.fl.robust:poisoning_accuracy", dict(attackers=1, scale=20.0, attack="boost", seed=0),
         accepts={"attackers": {"zero"}, "seed": {"zero", "huge"}}, timeout=60),
    # no attacker: the clean accuracy; any seed >= 0
    Call("labkit.fl.robust:poisoning_curve", dict(attackers=[0, 1], scale=20.0, attack="boost", seeds=(0, 1)),
         accepts={"scale": {"none"}, "attack": {"none"}}, kinds={"scale": "real", "attack": "choice"},
         timeout=60),  # None = POISONING_SETTINGS' scale and attack
    Call("labkit.fl.plots:plot_poisoning_curves",
         dict(ax=Fresh(_ax), attackers=[0, 2], curves={"a": ([0.9, 0.5], [0.01, 0.02])}, clean=0.9, title="t"),
         accepts={"clean": {"none", "zero"}, "title": {"unknown"}}, kinds={"clean": "real"}),
    Call("labkit.fl.plots:plot_poisoning_bars", dict(ax=Fresh(_ax), accuracies={"a": 0.9, "b": 0.2}, clean=0.9,
                                                     title="t"),
         accepts={"clean": {"none", "zero"}, "title": {"unknown"}}, kinds={"clean": "real"}),
    Call("labkit.fl.widgets:poisoning_explorer", dict(attackers=2, scale=20.0, attack="boost"),
         accepts={"attackers": {"zero"}}, timeout=60),  # no attacker: the clean accuracies
]

EXCLUDED = {
    "labkit.fl.models:FlatModel": "a Protocol (the interface a model implements), not called",
    "labkit.fl.aggregation:Aggregate": "a result dataclass",
    "labkit.fl.fedavg:ClientResult": "a result dataclass",
    "labkit.fl.fedavg:RoundResult": "a result dataclass",
    "labkit.fl.attacks:DLGResult": "a result dataclass (returned by dlg_attack)",
    "labkit.fl.attacks:InversionPoint": "a result dataclass (returned by inversion_point)",
    "labkit.fl.fedavg:History": "a result dataclass (its method rounds_to is walked)",
    "labkit.fl.sweeps:table2_rounds": "runs up to 500 rounds of FedAvg on digits (make data); its arguments go "
                                      "through run_federated, walked above",
    "labkit.fl.tff:guard_workers": "no arguments; process plumbing",
    "labkit.fl.tff:import_tff": "no arguments",
    "labkit.fl.tff:live_workers": "no arguments",
    "labkit.fl.tff:shutdown_workers": "process plumbing (a timeout)",
    "labkit.fl.tff:local_cpp_context": "TFF: builds an execution context (seconds); plumbing",
    "labkit.fl.tff:session": "TFF: a context manager around local_cpp_context",
    "labkit.fl.tff:client_datasets": "TFF: imports TensorFlow (seconds); validated by labkit.fl.tff._check_tff_args",
    "labkit.fl.tff:run_tff_fedavg": "TFF: one call takes several s; validated by labkit.fl.tff._check_tff_args",
    "labkit.fl.tff:tff_fedavg": "TFF: one call takes several s; validated by labkit.fl.tff._check_tff_args",
    "labkit.fl.tff:tff_dp_fedavg": "TFF: one call takes several s; validated by labkit.fl.tff._check_tff_args",
    "labkit.fl.tff:tff_secure_fedavg": "TFF: one call takes several s; validated by labkit.fl.tff._check_tff_args",
}

# Specs of further modules, one file per topic (calls_fl_<topic>.py beside this one).
CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS, EXCLUDED)
