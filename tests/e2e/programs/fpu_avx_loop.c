/* Long AVX2 compute loop; all state lives in ymm registers and MXCSR
 * (round-toward-zero) while the runner checkpoints it. No syscalls in the loop. */
#define _GNU_SOURCE
#include "crtest.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef FPU_ITERS
#define FPU_ITERS 700000000ULL
#endif

struct result {
    double acc[4][4];
    uint64_t state[2][4];
    unsigned mxcsr;
};

__attribute__((target("avx2"), noinline))
static void compute(uint64_t iters, struct result *res) {
    __m256i s = _mm256_set_epi64x(0x243f6a8885a308d3LL, 0x13198a2e03707344LL,
                                  0x243f6a8885a308d4LL, 0x082efa98ec4e6c89LL);
    __m256i t = _mm256_set_epi64x(0x452821e638d01377LL, 0x3f84d5b5b5470917LL,
                                  0x0be5466cf34e90c6LL, 0x7c2c1f7e5f5a3a6bLL);
    const __m256i expo = _mm256_set1_epi64x(0x3ff0000000000000LL);
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    __m256d a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();

    for (uint64_t i = 0; i < iters; i++) {
        s = _mm256_xor_si256(s, _mm256_slli_epi64(s, 13));
        s = _mm256_xor_si256(s, _mm256_srli_epi64(s, 7));
        s = _mm256_xor_si256(s, _mm256_slli_epi64(s, 17));
        t = _mm256_xor_si256(t, _mm256_slli_epi64(t, 5));
        t = _mm256_xor_si256(t, _mm256_srli_epi64(t, 15));
        t = _mm256_xor_si256(t, _mm256_slli_epi64(t, 27));
        /* Doubles in [1,2) built from the generator bits. */
        __m256d ds = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(s, 12), expo));
        __m256d dt = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(t, 12), expo));
        a0 = _mm256_add_pd(a0, ds);
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(ds, dt));
        a2 = _mm256_add_pd(a2, _mm256_div_pd(dt, ds));
        a3 = _mm256_add_pd(a3, _mm256_sub_pd(dt, ds));
    }
    res->mxcsr = _mm_getcsr();
    _mm256_storeu_pd(res->acc[0], a0);
    _mm256_storeu_pd(res->acc[1], a1);
    _mm256_storeu_pd(res->acc[2], a2);
    _mm256_storeu_pd(res->acc[3], a3);
    _mm256_storeu_si256((__m256i *)res->state[0], s);
    _mm256_storeu_si256((__m256i *)res->state[1], t);
}

static uint64_t bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

int main(void) {
    t_assert(__builtin_cpu_supports("avx2"));
    uint64_t iters = FPU_ITERS;
    const char *env = getenv("CRTEST_FPU_ITERS");   /* for timing experiments */
    if (env)
        iters = strtoull(env, NULL, 0);

    unsigned saved = _mm_getcsr();
    /* Round toward zero and clear sticky flags: results depend on MXCSR. */
    _mm_setcsr((saved & ~0x603fU) | 0x6000U);
    struct result res;
    t_mark("LOOP");
    compute(iters, &res);
    t_mark("LOOPDONE");
    _mm_setcsr(saved);

    t_printf("iters %llu", (unsigned long long)iters);
    t_printf("mxcsr %08x", res.mxcsr);
    for (int a = 0; a < 4; a++)
        t_printf("acc%d %016llx %016llx %016llx %016llx", a,
                 (unsigned long long)bits(res.acc[a][0]), (unsigned long long)bits(res.acc[a][1]),
                 (unsigned long long)bits(res.acc[a][2]), (unsigned long long)bits(res.acc[a][3]));
    for (int a = 0; a < 2; a++)
        t_printf("state%d %016llx %016llx %016llx %016llx", a,
                 (unsigned long long)res.state[a][0], (unsigned long long)res.state[a][1],
                 (unsigned long long)res.state[a][2], (unsigned long long)res.state[a][3]);
    t_pass();
}
