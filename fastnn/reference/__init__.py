"""The reference backend: plain, readable NumPy, one module per family.

Every op writes into preallocated outputs and returns nothing (losses return nothing either: they fill a
per-sample loss vector). A compiled backend provides functions with the same names and signatures.
"""
from . import activations, batchnorm, conv2d, dense, dropout, losses, optim, pooling, softmax_ce

FAMILIES = (activations, dense, softmax_ce, losses, conv2d, pooling, batchnorm, dropout, optim)
