"""In-place optimizer updates over flat buffers (SGD, Adagrad, RMSprop, Adam), Keras 3 rules.

reference.py is the specification; numba.py and cython.pyx implement its ops with the same signatures.
"""
