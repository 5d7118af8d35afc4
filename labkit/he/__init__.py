"""Homomorphic encryption: Paillier from scratch (with threshold decryption), BFV and CKKS with TenSEAL.

Used by ``08-homomorphic-encryption.ipynb`` (all of it) and ``10-capstone-hospitals.ipynb``
(encrypted aggregation with :mod:`~labkit.he.paillier` and :mod:`~labkit.he.threshold`, and the
encrypted scoring of exercise 10's checks with :mod:`~labkit.he.ckks`, through :mod:`labkit.capstone`).

Modules:

- :mod:`~labkit.he.paillier`: the Paillier cryptosystem, a teaching implementation cross-checked
  against python-paillier (``phe``): keys, encryption, homomorphic addition and plaintext
  multiplication, encrypted vectors, and the packing of many fixed-point values into one
  plaintext (``pack`` / ``unpack``).
- :mod:`~labkit.he.threshold`: threshold decryption for Paillier: the decryption exponent d
  (d = 0 mod lambda, d = 1 mod n) split into additive (n-of-n) or integer-Shamir (t-of-n) shares,
  partial decryptions and their combination, cross-checked against python-paillier; configuration
  (b') of notebook 10 uses it.
- :mod:`~labkit.he.bfv`: exact integer sums with BFV through TenSEAL: quantisation, plain moduli
  that allow batching, the wrap-around when a sum exceeds t/2.
- :mod:`~labkit.he.ckks`: CKKS through TenSEAL: the parameter rules and their explanations
  (:func:`~labkit.he.ckks.check_params`, the explorer's compute function), contexts
  (:func:`~labkit.he.ckks.make_context`), noise measurement, and SIMD-packed encrypted
  logistic-regression inference.
- :mod:`~labkit.he.plots`: the notebook's figures (polynomial sigmoid, modulus budget).
- :mod:`~labkit.he.widgets`: the CKKS parameter explorer (ipywidgets, imported when called).
- :mod:`~labkit.he.checks`: the checks of exercises 08.1 to 08.4 (:func:`labkit.exercises.check`).

Importing this package imports none of its modules: use ``from labkit.he import paillier`` or
``from labkit.he import ckks``. TenSEAL loads only inside the CKKS and BFV functions that need it.
"""
