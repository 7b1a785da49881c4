"""The op table: which family folder provides which ops, and which module of that folder is each backend.

kernels/<family>/reference.py is the specification (plain NumPy), numba.py and cython.pyx are the compiled
kernels; all three define the ops below with the same names and signatures. fastnn.backend builds its
registry from this table, setup.py builds one Cython extension per family from it, and the conformance
tests iterate over it. Adding an op: write it in its family's modules and list it here.
"""
FAMILIES = {
    "activations": ("activation_forward", "activation_backward"),
    "dense": ("dense_forward", "dense_backward"),
    "softmax_ce": ("softmax_forward", "softmax_backward", "softmax_ce", "sparse_softmax_ce"),
    "losses": ("mse", "sigmoid_bce", "binary_ce_probs", "categorical_ce_probs"),
    "conv2d": ("conv2d_forward", "conv2d_backward"),
    "pooling": ("maxpool2d_forward", "maxpool2d_backward"),
    "batchnorm": ("batchnorm_forward", "batchnorm_backward"),
    "dropout": ("dropout_forward", "dropout_backward"),
    "optim": ("sgd_step", "adagrad_step", "rmsprop_step", "adam_step"),
}

# backend name -> the module of each family folder that implements it
MODULES = {"numpy": "reference", "numba": "numba", "cython": "cython"}

# compiled backend -> its shared runtime package (threads, and for Numba whether a kernel is compiled yet)
RUNTIMES = {"numba": "_numba", "cython": "_cython"}

OPS = tuple(op for ops in FAMILIES.values() for op in ops)
FAMILY_OF = {op: family for family, ops in FAMILIES.items() for op in ops}
