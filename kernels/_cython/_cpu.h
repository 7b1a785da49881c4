/* Which instruction-set level of the Cython kernels this CPU runs: 2 for the AVX-512 build (x86-64-v4:
   AVX512F, BW, CD, DQ, VL on top of level 1), 1 for the AVX2 build (x86-64-v3: AVX2, FMA, BMI1/2, F16C,
   LZCNT, MOVBE), 0 for the baseline. Compiled into _openmp, which is itself built for the baseline, so
   this check runs on any CPU. The compiler's CPU probe also asks the OS whether it saves the wider
   registers (XGETBV), so a CPU whose OS disabled AVX-512 reports level 1. Off x86-64 there is one build. */
#ifndef FASTNN_CPU_H
#define FASTNN_CPU_H

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
static int fastnn_cpu_level(void)
{
    __builtin_cpu_init();
#if (defined(__clang__) && __clang_major__ >= 16) || (!defined(__clang__) && __GNUC__ >= 12)
    if (__builtin_cpu_supports("x86-64-v4")) return 2;
    if (__builtin_cpu_supports("x86-64-v3")) return 1;
#else
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
             && __builtin_cpu_supports("bmi2");
    if (v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512cd")) return 2;
    if (v3) return 1;
#endif
    return 0;
}
#else
static int fastnn_cpu_level(void) { return 0; }
#endif

#endif
