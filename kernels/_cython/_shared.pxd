# Shared by every kernel module: the float type pair, scalar math in the array's own precision, the fused
# activations, the serial/parallel threshold and the OpenMP thread count. Only scalar helpers live here:
# loops that index memoryviews stay in the kernels, so the FASTNN_CYTHON_DEBUG build checks their bounds.
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython cimport floating
from libc.math cimport exp, fabs, fabsf, log, log1p, log1pf, logf, sqrt, sqrtf, tanh

# Activation codes: kernels/activations/reference.py, LINEAR, RELU, SIGMOID, TANH.
cdef enum:
    LINEAR = 0
    RELU = 1
    SIGMOID = 2
    TANH = 3

# Below GRAIN elements (or multiply-adds) a kernel runs serially: an OpenMP fork/join costs more than the
# work. Its value is kernels/design.py's, passed by setup.py as a macro.
cdef extern from *:
    """
    #if !defined(FASTNN_GRAIN) || !defined(FASTNN_GEMM_GRAIN)
    #error "FASTNN_GRAIN and FASTNN_GEMM_GRAIN come from kernels/design.py: build through setup.py"
    #endif
    """
    enum: GRAIN "FASTNN_GRAIN"
    enum: GEMM_GRAIN "FASTNN_GEMM_GRAIN"

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

    /* e^x for x <= 0 in float32, straight-line code that GCC inlines and vectorises (libm's expf is an
       opaque call per element: LeNet-sized sigmoid/tanh ran 20x slower than Numba's). x = n ln2 + r with
       |r| <= ln2/2, e^r by its Taylor
       polynomial to r^6 (truncation < 2e-7 relative), times 2^n built in the exponent bits. Below -87,
       where e^x leaves the normal floats, the result is 0; a NaN propagates. Within 2 ulp of expf. */
    #include <stdint.h>
    #include <string.h>
    static inline float fastnn_expf_neg(float x) {
        const float lo = -87.0f;
        float xc = x < lo ? lo : x;
        float n = floorf(xc * 1.44269504088896341f + 0.5f);
        /* r = x - n ln2 in two fused steps (ln2 as a float, then what that float misses): fmaf rounds
           once and, unlike a sum of products, is not reassociated under the -fassociative-math that
           setup.py passes, which would cancel the correction term */
        float r = fmaf(-n, 0.693147182464599609375f, xc);
        r = fmaf(-n, -1.904654299957768e-09f, r);
        float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120
                  + r * (1.0f / 720))))));
        int32_t k = (int32_t)(n == n ? n : 0.0f);
        uint32_t bits = (uint32_t)(k + 127) << 23;
        float scale;
        memcpy(&scale, &bits, sizeof scale);
        return x < lo ? 0.0f : p * scale;
    }
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
    float fastnn_expf_neg(float x) noexcept nogil


cdef inline int bind_threads() except -1:
    """Point this module's fastnn_threads() at the count _openmp owns; every kernel module runs it once."""
    from fastnn.kernels._cython import _openmp
    fastnn_bind_threads(PyCapsule_GetPointer(_openmp.THREADS_SLOT, b"fastnn.threads"))
    return 0


cdef inline floating fexp_neg(floating x) noexcept nogil:
    """e^x for x <= 0 (every exp a kernel here takes: softmax's x - max, the logistic's -|x|); float32 in
    vectorisable code, float64 through libm."""
    return fastnn_expf_neg(x) if floating is float else exp(x)


cdef inline floating flog(floating x) noexcept nogil:
    return logf(x) if floating is float else log(x)


cdef inline floating flog1p(floating x) noexcept nogil:
    return log1pf(x) if floating is float else log1p(x)


cdef inline floating fsqrt(floating x) noexcept nogil:
    return sqrtf(x) if floating is float else sqrt(x)


cdef inline floating ftanh(floating x) noexcept nogil:
    """tanh; float32 as sign(x) (1 - e) / (1 + e) with e = e^(-2|x|), vectorisable, and its odd series
    below |x| = 1/4, where 1 - e would cancel (both are computed, then selected, so no branch)."""
    cdef float a, e, big, x2, small
    if floating is float:
        a = fabsf(x)
        e = fastnn_expf_neg(-2 * a)
        big = (1 - e) / (1 + e)
        x2 = x * x
        small = a * (1 + x2 * (<float>(-1.0 / 3) + x2 * (<float>(2.0 / 15) + x2 * <float>(-17.0 / 315))))
        big = small if a < 0.25 else big
        return -big if x < 0 else big   # a NaN goes through as NaN
    else:
        return tanh(x)


cdef inline floating fabsv(floating x) noexcept nogil:
    return fabsf(x) if floating is float else fabs(x)


cdef inline floating sigmoid(floating x) noexcept nogil:
    """The logistic function without overflow: exp of a non-positive number only."""
    cdef floating e = fexp_neg(-fabsv(x))
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
