"""Losses fused with their gradients: mse, sigmoid + binary cross-entropy, cross-entropy on probabilities.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
