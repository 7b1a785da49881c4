"""Cython backend: ahead-of-time compiled kernels with the reference names and signatures."""
