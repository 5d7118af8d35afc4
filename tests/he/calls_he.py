"""Bad-input campaign specs for labkit.he (see tests/campaign.py)."""

import functools

import numpy as np

import campaign
from campaign import Call, Fresh


@functools.lru_cache(maxsize=None)
def _keys():
    from labkit.he import paillier

    return paillier.generate_keypair(256, insecure_demo=True, rng=np.random.default_rng(0))


def _pk():
    return _keys()[0]


def _sk():
    return _keys()[1]


def _enc(value=1.5):
    return _pk().encrypt(value, rng=np.random.default_rng(1))


def _vec(values=(1.0, 2.0)):
    from labkit.he import paillier

    return paillier.encrypt_vector(_pk(), list(values), rng=np.random.default_rng(2))


@functools.lru_cache(maxsize=None)
def _ctx():
    from labkit.he import ckks

    return ckks.make_context(galois_keys=True)


def _ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _report():
    from labkit.he import ckks

    return ckks.check_params(8192, "60, 40, 40, 60", 40)


X = [[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]]
W = [0.3, -0.7]
COEF = [0.5, 0.197, 0.0, -0.004]
PK = "labkit.he.paillier"
CK = "labkit.he.ckks"
RNG = Fresh(lambda: np.random.default_rng(0))

CALLS = [
    # ---- paillier ----
    Call(f"{PK}:is_probable_prime", dict(n=2**61 - 1, rounds=8, rng=RNG),
         accepts={"n": {"negative", "zero", "huge"}}),  # any integer has an answer: "not prime" for n < 2
    Call(f"{PK}:random_prime", dict(bits=32, rng=RNG)),
    Call(f"{PK}:generate_keypair", dict(bits=64, insecure_demo=True, rng=RNG),
         skip={"insecure_demo": "a flag"}),
    Call(f"{PK}:PublicKey", dict(n=Fresh(lambda: _pk().n))),
    Call(f"{PK}:PublicKey.random_r", dict(rng=RNG), self_kwargs=dict(n=Fresh(lambda: _pk().n))),
    Call(f"{PK}:PublicKey.raw_encrypt", dict(m=5, r=7, rng=RNG), self_kwargs=dict(n=Fresh(lambda: _pk().n)),
         accepts={"m": {"zero", "huge"}, "r": {"none", "huge"}}),  # 0 and 10^9 are plaintexts (< n); r None = fresh, 10^9 a valid r
    Call(f"{PK}:PublicKey.raw_add", dict(c1=Fresh(lambda: _enc(1).ciphertext), c2=Fresh(lambda: _enc(2).ciphertext)),
         self_kwargs=dict(n=Fresh(lambda: _pk().n)), kinds={"c1": "count", "c2": "count"},
         accepts={"c1": {"huge"}, "c2": {"huge"}}),  # 10^9 is an element of (0, n^2): a valid ciphertext
    Call(f"{PK}:PublicKey.raw_add_plain", dict(c=Fresh(lambda: _enc(1).ciphertext), m=3),
         self_kwargs=dict(n=Fresh(lambda: _pk().n)), kinds={"c": "count"}, accepts={"m": {"zero", "huge"}, "c": {"huge"}}),  # adding 0 or 10^9 < n; 10^9 is a ciphertext
    Call(f"{PK}:PublicKey.raw_mul", dict(c=Fresh(lambda: _enc(1).ciphertext), k=3),
         self_kwargs=dict(n=Fresh(lambda: _pk().n)), kinds={"c": "count"},
         accepts={"k": {"negative", "zero", "huge"}, "c": {"huge"}}),  # any integer scalar (negative = c^-1); 10^9 a ciphertext
    Call(f"{PK}:PublicKey.rerandomize", dict(c=Fresh(lambda: _enc(1).ciphertext), rng=RNG),
         self_kwargs=dict(n=Fresh(lambda: _pk().n)), kinds={"c": "count"}, accepts={"c": {"huge"}}),  # 10^9 is a ciphertext
    Call(f"{PK}:PublicKey.encode", dict(value=1.5, frac_bits=32), self_kwargs=dict(n=Fresh(lambda: _pk().n)),
         accepts={"value": {"negative", "zero"}, "frac_bits": {"zero"}}),  # signed values; 0 bits = integers
    Call(f"{PK}:PublicKey.decode", dict(m=5, exponent=0), self_kwargs=dict(n=Fresh(lambda: _pk().n)),
         accepts={"m": {"zero", "huge"}, "exponent": {"zero"}}),  # 0 and 10^9 are in [0, n); exponent 0 = an integer
    Call(f"{PK}:PublicKey.encrypt", dict(value=1.5, frac_bits=32, rng=RNG), self_kwargs=dict(n=Fresh(lambda: _pk().n)),
         accepts={"value": {"negative", "zero"}, "frac_bits": {"zero"}}),
    Call(f"{PK}:PublicKey.from_phe", dict(key=Fresh(lambda: _pk().to_phe()))),
    Call(f"{PK}:PublicKey.to_phe", dict(), self_kwargs=dict(n=Fresh(lambda: _pk().n))),
    Call(f"{PK}:PrivateKey", dict(public_key=Fresh(_pk), p=Fresh(lambda: _sk().p), q=Fresh(lambda: _sk().q)),
         kinds={"p": "count", "q": "count"}),
    Call(f"{PK}:PrivateKey.raw_decrypt", dict(c=Fresh(lambda: _enc(1).ciphertext)),
         self_kwargs=dict(public_key=Fresh(_pk), p=Fresh(lambda: _sk().p), q=Fresh(lambda: _sk().q)), kinds={"c": "count"},
         accepts={"c": {"huge"}}),  # 10^9 is an element of (0, n^2): it decrypts to some plaintext
    Call(f"{PK}:PrivateKey.raw_encrypt_crt", dict(m=5, r=7, rng=RNG),
         self_kwargs=dict(public_key=Fresh(_pk), p=Fresh(lambda: _sk().p), q=Fresh(lambda: _sk().q)),
         accepts={"m": {"zero", "huge"}, "r": {"none", "huge"}}),  # as PublicKey.raw_encrypt
    Call(f"{PK}:PrivateKey.decrypt", dict(number=Fresh(_enc)),
         self_kwargs=dict(public_key=Fresh(_pk), p=Fresh(lambda: _sk().p), q=Fresh(lambda: _sk().q))),
    Call(f"{PK}:PrivateKey.from_phe", dict(key=Fresh(lambda: _sk().to_phe()))),
    Call(f"{PK}:PrivateKey.to_phe", dict(),
         self_kwargs=dict(public_key=Fresh(_pk), p=Fresh(lambda: _sk().p), q=Fresh(lambda: _sk().q))),
    Call(f"{PK}:EncryptedNumber", dict(public_key=Fresh(_pk), ciphertext=Fresh(lambda: _enc(1).ciphertext), exponent=0),
         kinds={"ciphertext": "count"}, accepts={"exponent": {"zero"}, "ciphertext": {"huge"}}),  # 10^9 is a ciphertext
    Call(f"{PK}:EncryptedNumber.rerandomize", dict(rng=RNG),
         self_kwargs=dict(public_key=Fresh(_pk), ciphertext=Fresh(lambda: _enc(1).ciphertext), exponent=0)),
    Call(f"{PK}:encrypt_vector", dict(public_key=Fresh(_pk), values=[1.0, 2.0], frac_bits=32, private_key=None, rng=RNG),
         accepts={"frac_bits": {"zero"}}, skip={"private_key": "None is the default path; another key is tested in unit tests"}),
    Call(f"{PK}:decrypt_vector", dict(private_key=Fresh(_sk), numbers_=Fresh(_vec))),
    Call(f"{PK}:add_vectors", dict(a=Fresh(_vec), b=Fresh(_vec))),
    Call(f"{PK}:sum_vectors", dict(vectors=Fresh(lambda: [_vec(), _vec()]))),
    Call(f"{PK}:scale_vector", dict(vector=Fresh(_vec), k=2.0),
         accepts={"k": {"negative", "zero"}}),  # any finite scalar
    Call(f"{PK}:pack_slot_bits", dict(num_summands=3)),
    Call(f"{PK}:pack", dict(values=[0.5, -1.0, 2.0], key_bits=512, num_summands=3)),
    Call(f"{PK}:unpack", dict(plaintexts=Fresh(lambda: __import__("labkit.he.paillier", fromlist=["pack"]).pack([0.5, -1.0], 512, 1)),
                              length=2, num_summands=1, key_bits=512)),
    # ---- ckks ----
    Call(f"{CK}:parse_bit_sizes", dict(text="60, 40, 40, 60"), kinds={"text": "object"}),
    Call(f"{CK}:check_params", dict(poly_modulus_degree=8192, coeff_mod_bit_sizes="60, 40, 40, 60", scale_bits=40, sweep=None),
         # documented never to raise: every bad value gives a report with valid=False and problems
         accepts={"poly_modulus_degree": {"negative", "zero", "fraction", "nan", "bool", "none", "string", "huge"},
                  "coeff_mod_bit_sizes": {"unknown", "none", "number"},
                  "scale_bits": {"negative", "zero", "fraction", "nan", "bool", "none", "string", "huge"},
                  "sweep": {"none", "string", "number"}},
         kinds={"sweep": "object"}),
    Call(f"{CK}:CkksReport.describe", dict(), self_kwargs=dict(poly_modulus_degree=8192, coeff_mod_bit_sizes=(60, 40, 60),
                                                              scale_bits=40, valid=True)),
    Call(f"{CK}:load_sweep", dict()),
    Call(f"{CK}:make_context", dict(poly_modulus_degree=8192, coeff_mod_bit_sizes=(60, 40, 40, 60), scale_bits=40, galois_keys=False),
         skip={"galois_keys": "a flag"}, kinds={"coeff_mod_bit_sizes": "object"}),
    Call(f"{CK}:precision_bits", dict(expected=np.array([1.0, 2.0]), decrypted=[1.001, 2.001])),
    Call(f"{CK}:measure_noise_bits", dict(ctx=Fresh(_ctx), scale_bits=30, depth=1, rng=RNG),
         accepts={"depth": {"zero"}}),  # depth 0 = fresh ciphertext noise
    Call(f"{CK}:fit_sigmoid_polynomial", dict(degree=3, bound=16.0, num=201)),
    Call(f"{CK}:slot_count", dict(ctx=Fresh(_ctx))),
    Call(f"{CK}:encrypt_columns", dict(ctx=Fresh(_ctx), x=np.array(X))),
    Call(f"{CK}:encrypted_logits", dict(columns=Fresh(lambda: __import__("labkit.he.ckks", fromlist=["x"]).encrypt_columns(_ctx(), np.array(X))),
                                        weights=np.array(W), bias=0.1),
         accepts={"bias": {"negative", "zero"}}),  # any finite bias
    Call(f"{CK}:infer_packed", dict(ctx=Fresh(_ctx), x=np.array(X), weights=np.array(W), bias=0.1, sigmoid_coef=np.array(COEF)),
         accepts={"bias": {"negative", "zero"}}),
    Call(f"{CK}:infer_per_sample", dict(ctx=Fresh(_ctx), x=np.array(X), weights=np.array(W), bias=0.1, sigmoid_coef=np.array(COEF)),
         accepts={"bias": {"negative", "zero"}}),
    # ---- plots and widget ----
    Call("labkit.he.plots:plot_sigmoid_approximation", dict(ax=Fresh(_ax), coef=COEF, bound=8.0, logits=np.array([0.1, -2.0]), error=False),
         skip={"ax": "a matplotlib Axes", "error": "a flag"}, accepts={"logits": {"none"}}),  # logits are optional
    Call("labkit.he.plots:plot_modulus_budget", dict(ax=Fresh(_ax), report=Fresh(_report)), skip={"ax": "a matplotlib Axes"}),
    Call("labkit.he.widgets:ckks_explorer", dict(poly_modulus_degree=8192, coeff_mod_bit_sizes="60, 40, 40, 60", scale_bits=40),
         accepts={"coeff_mod_bit_sizes": {"unknown"}}),  # the explorer explains unparsable text in its report
]

EXCLUDED = {
    "labkit.he.ckks:CkksReport": "a result dataclass built by check_params (describe is walked)",
    "labkit.he.ckks:InferenceResult": "a result dataclass (predictions is a property)",
}

# Specs of further modules, one file per topic (calls_he_<topic>.py beside this one).
CALLS, EXCLUDED = campaign.with_topic_files(__file__, CALLS, EXCLUDED)
