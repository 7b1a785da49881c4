"""Fully connected layer with its bias and element-wise activation fused.

Legend: N batch, F input features, K units.
"""
import numpy as np

from ..activations.reference import activation_backward, activation_forward


# x (N,F) w (F,K) b (K,) or None  ->  out (N,K) = act(x @ w + b)
def dense_forward(out, x, w, b, act):
    np.matmul(x, w, out=out)
    if b is not None:
        out += b
    activation_forward(out, out, act)


# dout (N,K) is overwritten with the pre-activation gradient dz = dout * act'(out)
# dx (N,F) or None (first layer: no input gradient), dw (F,K), db (K,) or None
def dense_backward(dx, dw, db, dout, x, w, out, act):
    activation_backward(dout, dout, out, act)
    np.matmul(x.T, dout, out=dw)
    if db is not None:
        np.sum(dout, axis=0, out=db)
    if dx is not None:
        np.matmul(dout, w.T, out=dx)
