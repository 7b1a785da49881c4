"""Element-wise activations (kernels/activations/reference.py), fused with nothing: any shape, walked flat.

Legend: any shape; out, x, dout, dx all the same shape and C order, so each is one flat run.
"""
from cython.parallel cimport prange

from _shared cimport (act_backward, act_forward, bind_threads, check_act, fastnn_threads, floating, ftanh, GRAIN,
                     RELU, sigmoid, SIGMOID, TANH)

bind_threads()


# out, x: same shape
def activation_forward(out, x, int act):
    check_act(act)
    _forward(out.reshape(-1), x.reshape(-1), act)


# dx, dout, out: same shape; dx may be dout (in place)
def activation_backward(dx, dout, out, int act):
    check_act(act)
    _backward(dx.reshape(-1), dout.reshape(-1), out.reshape(-1), act)


# One loop per activation, the code tested outside it: with the test inside (act_forward's), GCC keeps the
# loop scalar, and a float32 sigmoid or tanh ran 10-20x slower than Numba's.
def _forward(floating[::1] out, const floating[::1] x, int act):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef int threads = fastnn_threads()
    cdef bint parallel = n >= GRAIN
    if act == SIGMOID:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            out[i] = sigmoid(x[i])
    elif act == TANH:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            out[i] = ftanh(x[i])
    elif act == RELU:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            out[i] = act_forward(x[i], RELU)
    else:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            out[i] = x[i]


def _backward(floating[::1] dx, const floating[::1] dout, const floating[::1] out, int act):
    cdef Py_ssize_t i, n = out.shape[0]
    cdef int threads = fastnn_threads()
    cdef bint parallel = n >= GRAIN
    if act == SIGMOID:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            dx[i] = act_backward(dout[i], out[i], SIGMOID)
    elif act == TANH:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            dx[i] = act_backward(dout[i], out[i], TANH)
    elif act == RELU:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            dx[i] = act_backward(dout[i], out[i], RELU)
    else:
        for i in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=parallel):
            dx[i] = dout[i]
