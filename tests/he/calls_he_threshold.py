"""Bad-input campaign specs for labkit.he.threshold (see tests/campaign.py)."""

import functools

import numpy as np

from campaign import Call, Fresh

TH = "labkit.he.threshold"
RNG = Fresh(lambda: np.random.default_rng(0))


@functools.lru_cache(maxsize=None)
def _keys():
    from labkit.he import paillier

    return paillier.generate_keypair(256, insecure_demo=True, rng=np.random.default_rng(0))


def _shares(parties=3, t=2):
    from labkit.he import threshold

    return threshold.split_key(_keys()[1], parties, t, rng=np.random.default_rng(1))


def _ct():
    return _keys()[0].raw_encrypt(7, rng=np.random.default_rng(2))


def _partials():
    from labkit.he import threshold

    return [threshold.partial_decrypt(s, _ct()) for s in _shares()[:2]]


CALLS = [
    Call(f"{TH}:decryption_exponent", dict(private_key=Fresh(lambda: _keys()[1]))),
    Call(f"{TH}:split_key", dict(private_key=Fresh(lambda: _keys()[1]), parties=3, threshold=2, rng=RNG),
         accepts={"threshold": {"none"}}),  # None = all parties (n-of-n)
    Call(f"{TH}:partial_decrypt", dict(share=Fresh(lambda: _shares()[0]), ciphertext=Fresh(_ct)),
         kinds={"ciphertext": "count"}, accepts={"ciphertext": {"huge"}}),  # 10^9 is an element of (0, n^2)
    Call(f"{TH}:lagrange_coefficients", dict(indices=[1, 3], parties=3)),
    Call(f"{TH}:combine", dict(public_key=Fresh(lambda: _keys()[0]), partials=Fresh(_partials))),
    Call(f"{TH}:threshold_decrypt", dict(shares=Fresh(lambda: _shares()[:2]), ciphertext=Fresh(_ct)),
         kinds={"ciphertext": "count"}, accepts={"ciphertext": {"huge"}}),  # 10^9 decrypts to some plaintext
    Call(f"{TH}:decrypt_number", dict(shares=Fresh(lambda: _shares()[:2]),
                                      number=Fresh(lambda: _keys()[0].encrypt(1.5, rng=np.random.default_rng(3))))),
]

EXCLUDED = {
    f"{TH}:KeyShare": "a record built by split_key (its fields are checked where they are used)",
    f"{TH}:PartialDecryption": "a record built by partial_decrypt; combine checks each one",
}
