"""Bad-input campaign specs for labkit.smpc (see tests/campaign.py)."""

import numpy as np

import campaign
from campaign import Call, Fresh

RNG = Fresh(lambda: np.random.default_rng(0))
V = np.array([1.5, -2.0, 0.25])


def _shares(x=V, n=2):
    from labkit.smpc import additive

    return additive.share(np.asarray(x, dtype=float), n, np.random.default_rng(1))


def _dealer():
    from labkit.smpc.beaver import TrustedDealer

    return TrustedDealer(2, np.random.default_rng(3))


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _view():
    from labkit.smpc.coalition import coalition_view

    return coalition_view(42, 5, 3, [0, 1], np.random.default_rng(0))


def _curves():
    from labkit.smpc.coalition import candidate_curves

    return candidate_curves(42, 5, 3, [0, 1], np.random.default_rng(0))


def _run():
    from labkit.smpc.secagg import secure_aggregate_run

    return secure_aggregate_run(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]), (), None,
                                np.random.default_rng(0))


def _enc_shares():
    from labkit.smpc.secagg import encrypt_shares

    return encrypt_shares(bytes(32), 1, 2, (1, 5), (1, 7))


A, R, B, S, SA = "labkit.smpc.additive", "labkit.smpc.ring", "labkit.smpc.beaver", "labkit.smpc.shamir", "labkit.smpc.secagg"
INTS = {"negative", "zero", "huge"}

CALLS = [
    # ---- ring ----
    Call(f"{R}:check_frac_bits", dict(frac_bits=16), accepts={"frac_bits": {"zero"}}),  # 0 = integers
    Call(f"{R}:rng_or_entropy", dict(rng=RNG)),
    Call(f"{R}:check_shape", dict(name="shape", shape=(2, 3)), kinds={"shape": "object"},
         accepts={"shape": {"number"}}, skip={"name": "the argument name used in messages"}),  # an int is a 1-D shape
    Call(f"{R}:ring_array", dict(name="value", value=np.array([1, 2], dtype=np.uint64)), kinds={"value": "object"},
         accepts={"value": {"number"}}, skip={"name": "the argument name used in messages"}),  # an int is one element
    Call(f"{R}:random_ring", dict(shape=(2, 3), rng=RNG), kinds={"shape": "object"},
         accepts={"shape": {"number"}}),  # an int is a 1-D shape
    Call(f"{R}:encode", dict(x=V, frac_bits=16, max_abs=100.0),
         accepts={"frac_bits": {"zero"}, "max_abs": {"inf", "huge", "none"},  # None/inf = the ring's own bound
                  "x": {"empty", "scalar", "extra_axis"}}),  # a number or an array of any shape
    Call(f"{R}:decode", dict(v=Fresh(lambda: __import__("labkit.smpc.ring", fromlist=["e"]).encode(V)), frac_bits=16),
         accepts={"frac_bits": {"zero"}, "v": {"number"}}, kinds={"v": "object"}),  # an int is one ring element
    Call(f"{R}:to_signed", dict(v=Fresh(lambda: __import__("labkit.smpc.ring", fromlist=["e"]).encode(V))), kinds={"v": "object"},
         accepts={"v": {"number"}}),  # an int is one ring element
    Call(f"{R}:ring_matmul", dict(a=np.ones((2, 3), dtype=np.uint64), b=np.ones((3, 2), dtype=np.uint64)), kinds={"a": "object", "b": "object"}),
    # ---- additive ----
    Call(f"{A}:share_encoded", dict(v=Fresh(lambda: __import__("labkit.smpc.ring", fromlist=["e"]).encode(V)), n_parties=3, rng=RNG),
         kinds={"v": "object"}, accepts={"v": {"number"}}),  # an int is one ring element
    Call(f"{A}:share", dict(x=V, n_parties=3, rng=RNG, frac_bits=16),
         accepts={"frac_bits": {"zero"}, "x": {"empty", "scalar", "extra_axis"}}),  # x: a number or an array of any shape
    Call(f"{A}:check_shares", dict(name="shares", shares=Fresh(_shares), n_parties=2), kinds={"shares": "object"},
         accepts={"n_parties": {"none"}}, skip={"name": "the argument name used in messages"}),  # None: any count >= 2
    Call(f"{A}:reconstruct_encoded", dict(shares=Fresh(_shares)), kinds={"shares": "object"}),
    Call(f"{A}:reconstruct", dict(shares=Fresh(_shares), frac_bits=16), kinds={"shares": "object"}, accepts={"frac_bits": {"zero"}}),
    Call(f"{A}:add", dict(x_shares=Fresh(_shares), y_shares=Fresh(_shares)), kinds={"x_shares": "object", "y_shares": "object"}),
    Call(f"{A}:add_public", dict(x_shares=Fresh(_shares), c=V, frac_bits=16), kinds={"x_shares": "object"},
         accepts={"frac_bits": {"zero"}, "c": {"scalar"}}),  # a public number added to every entry
    Call(f"{A}:scale_public_int", dict(x_shares=Fresh(_shares), k=3), kinds={"x_shares": "object"},
         accepts={"k": {"negative", "zero", "huge"}}),  # any integer scalar (mod 2^64)
    # ---- shamir ----
    Call(f"{S}:check_prime", dict(prime=257, name="prime"), skip={"name": "the argument name used in messages"}),
    Call(f"{S}:random_field_element", dict(prime=257, rng=RNG), accepts={"prime": {"huge"}}),  # any modulus >= 2 (secagg uses 2^256)
    Call(f"{S}:shamir_share", dict(secret=42, n_parties=5, threshold=3, rng=RNG, prime=257),
         accepts={"secret": {"zero"}}),  # 0 is a field element
    Call(f"{S}:lagrange_at_zero", dict(xs=[1, 2, 3], prime=257)),
    Call(f"{S}:shamir_reconstruct", dict(points=Fresh(lambda: __import__("labkit.smpc.shamir", fromlist=["s"]).shamir_share(42, 5, 3, 0, prime=257)),
                                         prime=257), kinds={"points": "object"}),
    # ---- coalition ----
    Call("labkit.smpc.coalition:coalition_view", dict(secret=42, n_parties=5, threshold=3, coalition=[0, 1], rng=RNG, prime=257),
         accepts={"secret": {"zero"}}, kinds={"coalition": "object"}),
    Call("labkit.smpc.coalition:CoalitionView.lines", dict(), self_kwargs={k: Fresh(lambda k=k: getattr(_view(), k)) for k in (
        "secret", "prime", "n_parties", "threshold", "coalition", "additive_shares", "shamir_points", "additive_partial_sum",
        "additive_recovers", "shamir_recovers", "shamir_guess", "consistent_secrets")}),
    Call("labkit.smpc.coalition:consistent_secrets", dict(colluder_points=[(1, 8), (2, 81)], threshold=3, prime=97),
         kinds={"colluder_points": "object"}),
    Call("labkit.smpc.coalition:candidate_curves", dict(secret=42, n_parties=5, threshold=3, coalition=[0, 1], rng=RNG, prime=97,
                                                        n_candidates=5),
         accepts={"secret": {"zero"}}, kinds={"coalition": "object"}),
    Call("labkit.smpc.coalition:CandidateCurves.summary", dict(), self_kwargs={k: Fresh(lambda k=k: getattr(_curves(), k)) for k in (
        "secret", "prime", "n_parties", "threshold", "coalition", "shamir_points", "candidates", "curves", "fits", "consistent")}),
    # ---- beaver ----
    Call(f"{B}:TrustedDealer", dict(n_parties=2, rng=RNG)),
    Call(f"{B}:TrustedDealer.prepare_matmul", dict(shape_a=(2, 3), shape_b=(3, 2), count=1, frac_bits=16),
         self_kwargs=dict(n_parties=2, rng=RNG), kinds={"shape_a": "object", "shape_b": "object"}, accepts={"frac_bits": {"zero"}}),
    Call(f"{B}:TrustedDealer.triple", dict(shape_a=(3,), shape_b=None, matmul=False), self_kwargs=dict(n_parties=2, rng=RNG),
         kinds={"shape_a": "object", "shape_b": "object"}, skip={"matmul": "a flag"},
         accepts={"shape_b": {"none", "number"}, "shape_a": {"number"}}),  # None = shape_a; an int is a 1-D shape
    Call(f"{B}:TrustedDealer.truncation_pair", dict(shape=(3,), frac_bits=16), self_kwargs=dict(n_parties=2, rng=RNG),
         kinds={"shape": "object"}, accepts={"frac_bits": {"zero"}, "shape": {"number"}}),  # an int is a 1-D shape
    Call(f"{B}:truncate", dict(z_shares=Fresh(_shares), dealer=Fresh(_dealer), frac_bits=16, transcript=None),
         kinds={"z_shares": "object", "transcript": "object"}, accepts={"frac_bits": {"zero"}, "transcript": {"none"}}),
    Call(f"{B}:truncation_failure_probability", dict(x=V, y=V, frac_bits=16),
         # numbers or arrays that broadcast together (NumPy's rules): a scalar or an extra axis are valid
         accepts={"frac_bits": {"zero"}, "x": {"scalar", "extra_axis"}, "y": {"scalar", "extra_axis"}}),
    Call(f"{B}:beaver_mul", dict(x_shares=Fresh(_shares), y_shares=Fresh(_shares), dealer=Fresh(_dealer), frac_bits=16,
                                 truncate_result=True, transcript=None),
         kinds={"x_shares": "object", "y_shares": "object", "transcript": "object"}, skip={"truncate_result": "a flag"},
         accepts={"frac_bits": {"zero"}, "transcript": {"none"}}),
    Call(f"{B}:beaver_matmul", dict(x_shares=Fresh(lambda: _shares(np.ones((2, 3)))), y_shares=Fresh(lambda: _shares(np.ones((3, 2)))),
                                    dealer=Fresh(_dealer), frac_bits=16, truncate_result=True, transcript=None),
         kinds={"x_shares": "object", "y_shares": "object", "transcript": "object"}, skip={"truncate_result": "a flag"},
         accepts={"frac_bits": {"zero"}, "transcript": {"none"}}),
    Call(f"{B}:secure_dot", dict(x_shares=Fresh(lambda: _shares(np.ones(3))), w_shares=Fresh(lambda: _shares(np.ones(3))),
                                 dealer=Fresh(_dealer), frac_bits=16, transcript=None),
         kinds={"x_shares": "object", "w_shares": "object", "transcript": "object"}, accepts={"frac_bits": {"zero"}, "transcript": {"none"}}),
    Call(f"{B}:secure_linear", dict(x_shares=Fresh(lambda: _shares(np.ones((2, 3)))), w_shares=Fresh(lambda: _shares(np.ones(3))),
                                    b_shares=Fresh(lambda: _shares(0.5)), dealer=Fresh(_dealer), frac_bits=16, transcript=None),
         kinds={"x_shares": "object", "w_shares": "object", "b_shares": "object", "transcript": "object"},
         accepts={"frac_bits": {"zero"}, "transcript": {"none"}}),
    Call(f"{B}:secure_logistic_scores", dict(x=np.ones((2, 3)), weights=np.array([0.1, 0.2, 0.3]), bias=0.1, n_parties=2, rng=RNG),
         accepts={"bias": {"negative", "zero"}}),  # any finite bias
    # ---- secagg ----
    Call(f"{SA}:expand_mask", dict(seed=12345, length=4),
         accepts={"seed": {"zero", "huge"}, "length": {"zero"}}),  # any seed in [0, 2^256); an empty mask
    Call(f"{SA}:encrypt_shares", dict(key=bytes(32), sender=1, recipient=2, key_share=(1, 5), seed_share=(1, 7)),
         kinds={"key": "object", "key_share": "object", "seed_share": "object"},
         accepts={"sender": {"zero", "huge"}, "recipient": {"zero", "huge"}}),  # client ids are any integer in [0, 2^32)
    Call(f"{SA}:decrypt_shares", dict(key=bytes(32), sender=1, recipient=2, ciphertext=Fresh(_enc_shares)),
         kinds={"key": "object", "ciphertext": "object"}),
    Call(f"{SA}:neighbour_graph", dict(n_clients=6, k=2, rng=RNG),
         accepts={"k": {"none", "huge"}}),  # None or k >= n - 1: all pairs (documented)
    Call(f"{SA}:pairwise_seed", dict(secret_key=12345, peer_public=bytes(range(32))), kinds={"peer_public": "object"},
         accepts={"secret_key": {"zero", "huge"}}),  # any integer in [0, 2^256) is a key (X25519 clamps it)
    Call("labkit.smpc.variants:secagg_variants", dict(x_round1=np.array([[1.0, 2.0], [3.0, 4.0]]),
                                                      x_round2=np.array([[0.5, 2.0], [3.0, -4.0]]), rng=RNG)),
    Call(f"{SA}:secure_aggregate_run", dict(client_vectors=np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]), dropped=(1,),
                                            threshold=3, rng=RNG, neighbours=None, frac_bits=16),
         kinds={"dropped": "object", "neighbours": "count"},
         accepts={"neighbours": {"none", "huge"}, "frac_bits": {"zero"}, "threshold": {"none"}}),  # all pairs; default t
    Call(f"{SA}:secure_aggregate", dict(client_vectors=np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), dropped=(), threshold=2, rng=RNG),
         kinds={"dropped": "object"}, accepts={"threshold": {"none"}}),  # None = the default threshold
    Call(f"{SA}:lying_server_attack", dict(run=Fresh(_run), target=0, colluders=(), told_dropped=None),
         kinds={"colluders": "object", "told_dropped": "object"}, accepts={"target": {"zero"}, "told_dropped": {"none"}}),
    Call(f"{SA}:SimulatedClient", dict(client_id=1, threshold=2, masking_key=bytes(32), encryption_key=bytes(range(32)), self_seed=5),
         kinds={"masking_key": "object", "encryption_key": "object"},
         accepts={"client_id": {"zero", "huge"}, "self_seed": {"zero", "huge"}}),  # ids in [0, 2^32), seeds in [0, 2^256)
    Call(f"{SA}:Transcript.log", dict(round_name="advertise", party="client 1", what="keys"), kinds={
        "round_name": "object", "party": "object", "what": "object"}, self_kwargs=dict(events=Fresh(list)),
         accepts={"round_name": {"string"}, "party": {"string"}, "what": {"string"}}),  # any text
    Call(f"{SA}:neighbour_graph", dict(n_clients=4, k=None, rng=None), accepts={"k": {"none", "huge"}},  # all pairs
         kinds={"k": "count", "rng": "rng"}),
    # ---- plots ----
    Call("labkit.smpc.plots:plot_share_histogram", dict(ax=Fresh(_ax), values=np.array([1, 2**63, 2**64 - 1], dtype=np.uint64), bins=4, label="x", color=None),
         skip={"ax": "a matplotlib Axes", "label": "any text", "color": "a matplotlib colour"}),
    Call("labkit.smpc.plots:plot_coalition", dict(ax=Fresh(_ax), view=Fresh(_view)), skip={"ax": "a matplotlib Axes"}),
    Call("labkit.smpc.plots:plot_candidate_curves", dict(ax=Fresh(_ax), curves=Fresh(_curves)), skip={"ax": "a matplotlib Axes"}),
    Call("labkit.smpc.plots:plot_secagg_cost", dict(ax=Fresh(_ax), n_clients=[10, 20], all_pairs=[90.0, 380.0], graph=[40.0, 80.0],
                                                    k=4, ylabel="masks"), skip={"ax": "a matplotlib Axes", "ylabel": "any text"}),
    Call("labkit.smpc.plots:plot_fixed_point_error", dict(ax=Fresh(_ax), frac_bits=[8, 16], errors=[1e-3, 1e-5]),
         skip={"ax": "a matplotlib Axes"}),
    # ---- widgets ----
    Call("labkit.smpc.widgets:coalition_outputs", dict(secret=42, n_parties=5, threshold=3, coalition=(0, 1), seed=0),
         # a threshold above n_parties is shown as n_parties, with a "note:" line in the text (documented)
         accepts={"secret": {"zero"}, "threshold": {"huge"}}, kinds={"coalition": "object", "seed": "rng"}),
    Call("labkit.smpc.widgets:coalition_widget", dict(secret=42, seed=0), accepts={"secret": {"zero"}}, kinds={"seed": "rng"}),
    # ---- mpyc runner (no parties started: those runs take seconds each) ----
    Call("labkit.smpc.mpyc.runner:free_ports", dict(k=3)),
    Call("labkit.smpc.mpyc.runner:mpyc_command_lines", dict(n_parties=3, rows=4, ports=[5001, 5002, 5003], hosts=None, python="python"),
         kinds={"ports": "object", "hosts": "object"}, accepts={"hosts": {"none"}, "rows": {"zero"}},  # default hosts; empty lists
         skip={"python": "an interpreter path"}),
]

EXCLUDED = {
    "labkit.smpc.secagg:SecAggRun": "a result dataclass of secure_aggregate_run (holders is used by lying_server_attack)",
    "labkit.smpc.secagg:LyingServerAttack": "a result dataclass of lying_server_attack",
    "labkit.smpc.variants:ServerView": "a result dataclass of secagg_variants",
    "labkit.smpc.mpyc.runner:MPyCResult": "a result dataclass",
    "labkit.smpc.secagg:ShareDecryptionError": "an exception class (raised by decrypt_shares)",
    "labkit.smpc.mpyc.runner:run_mpyc_statistic": "starts MPyC party processes (seconds per call); its inputs are checked in tests/smpc",
}

# Specs of further modules, one file per topic (calls_smpc_<topic>.py beside this one).
CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS, EXCLUDED)
