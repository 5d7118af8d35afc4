"""Bad-input campaign specs for labkit.he.bfv (see tests/campaign.py)."""

import functools

import numpy as np

from campaign import Call, Fresh

BF = "labkit.he.bfv"


@functools.lru_cache(maxsize=None)
def _ctx():
    from labkit.he import bfv

    return bfv.make_context()


def _vec():
    from labkit.he import bfv

    return bfv.encrypt(_ctx(), np.array([1, 2, 3]))


CALLS = [
    Call(f"{BF}:batching_prime", dict(poly_modulus_degree=4096, bits=20), kinds={"poly_modulus_degree": "choice"}),
    Call(f"{BF}:make_context", dict(poly_modulus_degree=4096, plain_modulus=1032193),
         kinds={"poly_modulus_degree": "choice"}),
    Call(f"{BF}:quantise", dict(values=[0.5, -0.25], scale_bits=16), accepts={"scale_bits": {"zero"}, "values": {"scalar", "extra_axis"}}),  # 0 bits = rounding; any shape is quantised
    Call(f"{BF}:dequantise", dict(ints=np.array([3, -4]), scale_bits=16), accepts={"scale_bits": {"zero"}, "ints": {"number"}},  # an int is a 0-d array
         kinds={"ints": "object"}),
    Call(f"{BF}:required_plain_bits", dict(max_abs=1000, summands=4), accepts={"max_abs": {"zero", "huge"}, "summands": {"huge"}}),  # 0 and 10^9 are magnitudes
    Call(f"{BF}:wrap", dict(values=np.array([5, -9]), plain_modulus=17), kinds={"values": "object"},
         accepts={"values": {"number"}, "plain_modulus": {"huge"}}),  # an int is a 0-d array; 10^9 is a modulus
    Call(f"{BF}:encrypt", dict(ctx=Fresh(_ctx), ints=np.array([1, 2, 3])), kinds={"ints": "object"}),
    Call(f"{BF}:encrypted_sum", dict(ctx=Fresh(_ctx), vectors=[np.array([1, 2]), np.array([3, 4])]), kinds={"vectors": "object"}),
    Call(f"{BF}:ciphertext_bytes", dict(vector=Fresh(_vec))),
]

EXCLUDED = {
    f"{BF}:BfvContext": "a record built by make_context (encrypt checks it)",
}
