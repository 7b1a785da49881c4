"""Dropout with a counter-based mask stream: the same masks on every backend for a seed.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
