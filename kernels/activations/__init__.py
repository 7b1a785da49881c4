"""Element-wise activations (linear, relu, sigmoid, tanh), addressed by the integer codes of reference.py.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
