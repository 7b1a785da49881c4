"""Dense layers: out = act(x @ w + b), and its backward.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
