"""Secure computation across separate OS processes with MPyC (notebook ``09-secure-computation.ipynb``).

* :mod:`labkit.smpc.mpyc.mpyc_demo`: the party script (mean and maximum of positive values), run by each party.
* :mod:`labkit.smpc.mpyc.runner`: starts, watches and stops the parties on 127.0.0.1.
* ``_costs_party.py``: the party script of :mod:`labkit.smpc.comparison` (prices addition,
  multiplication, comparison, ReLU and a secret-shared network; counts messages and rounds).
"""
