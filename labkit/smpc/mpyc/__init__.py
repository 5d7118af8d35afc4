"""Secure computation across separate OS processes with MPyC (notebook ``09-secure-computation.ipynb``).

* :mod:`labkit.smpc.mpyc.mpyc_demo`: the party script (mean and maximum of positive values), run by each party.
* :mod:`labkit.smpc.mpyc.runner`: starts, watches and stops the parties on 127.0.0.1.
"""
