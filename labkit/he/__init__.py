"""Homomorphic encryption: Paillier from scratch (``paillier``) and CKKS with TenSEAL (``ckks``).

Introduced in ``08-homomorphic-encryption.ipynb``. The Paillier module is a teaching
implementation, cross-checked against python-paillier (``phe``); the CKKS module wraps TenSEAL.
Nothing is imported here at import time: use ``from labkit.he import paillier``.
"""
