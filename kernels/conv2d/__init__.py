"""2-D convolution, channels-last, with bias and activation fused, and its backward.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
