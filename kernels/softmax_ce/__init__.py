"""Softmax, and softmax fused with (sparse) categorical cross-entropy.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
