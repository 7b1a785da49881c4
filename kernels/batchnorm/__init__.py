"""Batch normalisation over the last axis (training, inference) and its backward.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
