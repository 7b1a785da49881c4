# Shared by every kernel module: the float type pair, scalar math in the array's own precision, the fused
# activations, the serial/parallel threshold and the OpenMP thread count. Only scalar helpers live here:
# loops that index memoryviews stay in the kernels, so the FASTNN_CYTHON_DEBUG build checks their bounds.
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython cimport floating
from libc.math cimport exp, expf, fabs, fabsf, log, log1p, log1pf, logf, sqrt, sqrtf, tanh, tanhf

# Activation codes: fastnn.reference.activations.LINEAR, RELU, SIGMOID, TANH.
cdef enum:
    LINEAR = 0
    RELU = 1
    SIGMOID = 2
    TANH = 3

# Below this many elements (or multiply-adds) a kernel runs serially: an OpenMP fork/join costs more than
# the work (the same figure as the Numba backend's _config.GRAIN).
cdef enum:
    GRAIN = 32768

# Reductions over rows (batch norm statistics, dw and db of conv2d) add per-chunk partial sums in chunk
# order. The chunks depend on the sizes only, never on the thread count, so 1 and 8 threads give
# bit-identical results. Each chunk holds at least GRAIN of work; there are at most MAX_CHUNKS of them and
# their partial sums (chunks x part_size) stay under PART_BUDGET elements.
cdef enum:
    MAX_CHUNKS = 64
    PART_BUDGET = 1 << 21


cdef inline Py_ssize_t n_chunks(Py_ssize_t rows, Py_ssize_t work_per_row, Py_ssize_t part_size) noexcept nogil:
    """How many chunks a reduction over rows is split into: 1 (serial) when the work is small."""
    cdef Py_ssize_t n = min(<Py_ssize_t>MAX_CHUNKS, rows, rows * work_per_row // GRAIN)
    return max(1, min(n, PART_BUDGET // max(1, part_size)))


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTNN_OPENMP 1
    static inline int fastnn_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define FASTNN_OPENMP 0
    static inline int fastnn_max_threads(void) { return 1; }
    #endif
    /* Every module reads the thread count from one int owned by _openmp (see bind_threads). */
    static int *fastnn_threads_slot = NULL;
    static inline int fastnn_threads(void) { return fastnn_threads_slot ? *fastnn_threads_slot : 1; }
    static inline void fastnn_bind_threads(void *slot) { fastnn_threads_slot = (int *)slot; }
    """
    # 1 when the module was compiled with OpenMP; prange then runs threads, else it is a serial loop.
    const int FASTNN_OPENMP
    # OpenMP's default team size (OMP_NUM_THREADS, else the cores), 1 without OpenMP.
    int fastnn_max_threads() noexcept nogil
    # The thread count set by fastnn.set_num_threads: every prange passes it as num_threads, and per-thread
    # buffers are sized by it. Not OpenMP's own setting, which other libraries change (Numba's OpenMP
    # layer resets omp_set_num_threads in the calling thread).
    int fastnn_threads() noexcept nogil
    void fastnn_bind_threads(void *slot)


cdef inline int bind_threads() except -1:
    """Point this module's fastnn_threads() at the count _openmp owns; every kernel module runs it once."""
    from . import _openmp
    fastnn_bind_threads(PyCapsule_GetPointer(_openmp.THREADS_SLOT, b"fastnn.threads"))
    return 0


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating flog1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating fsqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating ftanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating fabsv(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating sigmoid(floating x) noexcept nogil:
    """The logistic function without overflow: exp of a non-positive number only."""
    cdef floating e = fexp(-fabsv(x))
    if x >= 0:
        return 1 / (1 + e)
    return e / (1 + e)


cdef inline floating act_forward(floating z, int act) noexcept nogil:
    """act(z) for an activation code."""
    if act == RELU:
        return 0 if z < 0 else z  # NaN passes through, as np.maximum lets it
    if act == SIGMOID:
        return sigmoid(z)
    if act == TANH:
        return ftanh(z)
    return z


cdef inline floating act_backward(floating dout, floating out, int act) noexcept nogil:
    """dout * act'(z), written with the activation's output out = act(z) as the reference does."""
    if act == RELU:
        return dout * (out > 0)  # a NaN dout stays NaN, as in the reference
    if act == SIGMOID:
        return dout * out * (1 - out)
    if act == TANH:
        return dout * (1 - out * out)
    return dout


cdef inline int check_act(int act) except -1:
    if act < LINEAR or act > TANH:
        raise ValueError(f"unknown activation code {act}")
    return 0
