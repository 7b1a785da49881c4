"""2-D max pooling, channels-last (values and argmax), and its backward.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
