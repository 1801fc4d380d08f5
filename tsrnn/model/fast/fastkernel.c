/* The time loops of one float32 GRU layer for tsrnn.model.fast.cells, built with the package (setup.py: the optional
   extension module tsrnn.model.fast._fastkernel) and loaded with ctypes by tsrnn.model.fast.kernel.

   The matrix products are the BLAS sgemm_ that torch itself uses (its address is passed in, so this file links
   against nothing but libm); the element-wise work of a time step, a dozen torch calls from Python, is one pass
   here. Layouts are tsrnn.model.fast.cells' (row-major, time-major):
     gates (L, B, 3H)  per step the input projection x W_ih^T + b_ih (+ b_hr - W_hr 1, b_hz - W_hz 1 folded in);
                       the forward loop turns it into [r | z | W_hn h + b_hn]
     s     (L, B, H)   per step sigmoid(2 a_n), n = 2 s - 1
     ks    (L + 1, B, H) the state as k = (h + 1) / 2 (by backward: h); slot 0 (reverse: slot L) holds k0
     dh    (L, B, H)   dL/d(output) of every step; backward adds what flows back through time
     dg    (L, B, 3H)  per step dL/d(W_hr h, W_hz h, W_hn h + b_hn)
     an    (L, B, H)   per step dL/d(W_in x + b_in) = (1 - z)(1 - n^2) dh
   In column-major (BLAS) terms a row-major (rows x cols) matrix is its own transpose, hence the argument order of
   the sgemm calls. */

typedef void (*sgemm_fn)(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                         const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
                         const float *beta, float *c, const int *ldc);

/* glibc's vector expf (libmvec): the loops below vectorise with it. */
__attribute__((__simd__("notinbranch"))) extern float expf(float);

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline long step_at(long i, long L, int reverse) { return reverse ? L - 1 - i : i; }

/* The forward recurrence. Per step: s = 2 (W_in x + b_in) and the n part of the gates = b_hn - W_hn 1 (folded)
   before the product adds 2 W_hh k_before (no product at the first step when skip_first, a zero h0: there the
   gates take the plain b_hh instead of the folded biases); then r, z = sigmoid, s = sigmoid(s + 2 r (W_hn h +
   b_hn)), k_after = lerp(s, k_before, z). */
void gru_forward(sgemm_fn sgemm, float *gates, float *s, float *ks, const float *w_hh, const float *folded,
                 const float *b_hh, long L, long B, long H, int reverse, int skip_first)
{
    const int m = (int)(3 * H), n = (int)B, k = (int)H, ldw = (int)H, ldk = (int)H, ldg = (int)(3 * H);
    const float two = 2.0f, one = 1.0f;
    for (long i = 0; i < L; i++) {
        const long t = step_at(i, L, reverse);
        const int plain = skip_first && i == 0;
        float *g = gates + t * B * 3 * H;
        float *st = s + t * B * H;
        const float *kb = ks + (reverse ? t + 1 : t) * B * H;
        float *ka = ks + (reverse ? t : t + 1) * B * H;
        for (long b = 0; b < B; b++) {
            float *restrict gb = g + b * 3 * H;
            float *restrict sb = st + b * H;
            for (long j = 0; j < H; j++) {
                sb[j] = 2.0f * gb[2 * H + j];
                gb[2 * H + j] = plain ? b_hh[2 * H + j] : folded[2 * H + j];
            }
            if (plain)
                for (long j = 0; j < 2 * H; j++)
                    gb[j] += b_hh[j] - folded[j];
        }
        if (!plain)
            sgemm("T", "N", &m, &n, &k, &two, w_hh, &ldw, kb, &ldk, &one, g, &ldg);
        for (long b = 0; b < B; b++) {
            float *restrict gb = g + b * 3 * H;
            float *restrict sb = st + b * H;
            const float *restrict kbb = kb + b * H;
            float *restrict kab = ka + b * H;
            for (long j = 0; j < 2 * H; j++)
                gb[j] = sigmoid(gb[j]);
            for (long j = 0; j < H; j++) {
                const float v = sigmoid(sb[j] + 2.0f * gb[j] * gb[2 * H + j]);
                sb[j] = v;
                kab[j] = v + gb[H + j] * (kbb[j] - v);
            }
        }
    }
}

/* The backward recurrence, from the last step run to the first. Per step, with n = 2 s - 1 and
   a = (1 - z)(1 - n^2): dg = [a (W_hn h + b_hn) r (1 - r), (h_prev - n) z (1 - z), a r] dh_t and an = a dh_t;
   for every step but the first run, dh_prev += z dh_t + dg W_hh. hs holds h (not k) by now. */
void gru_backward(sgemm_fn sgemm, const float *gates, const float *s, const float *hs, float *dh, float *dg,
                  float *an, const float *w_hh, long L, long B, long H, int reverse)
{
    const int m = (int)H, n = (int)B, k = (int)(3 * H), ldw = (int)H, ldd = (int)(3 * H), ldh = (int)H;
    const float one = 1.0f;
    for (long i = L - 1; i >= 0; i--) {
        const long t = step_at(i, L, reverse);
        const float *hp = hs + (reverse ? t + 1 : t) * B * H;
        float *dhp = i > 0 ? dh + step_at(i - 1, L, reverse) * B * H : 0;
        for (long b = 0; b < B; b++) {
            const float *restrict g = gates + (t * B + b) * 3 * H;
            const float *restrict sb = s + (t * B + b) * H;
            const float *restrict hb = hp + b * H;
            const float *restrict d = dh + (t * B + b) * H;
            float *restrict o = dg + (t * B + b) * 3 * H;
            float *restrict ab = an + (t * B + b) * H;
            for (long j = 0; j < H; j++) {
                const float r = g[j], z = g[H + j], ghn = g[2 * H + j], v = d[j];
                const float nn = 2.0f * sb[j] - 1.0f, one_z = 1.0f - z;
                const float av = one_z * (1.0f - nn * nn) * v;
                o[j] = av * ghn * (r * (1.0f - r));
                o[H + j] = (hb[j] - nn) * (z * one_z) * v;
                o[2 * H + j] = av * r;
                ab[j] = av;
            }
            if (dhp) {
                float *restrict p = dhp + b * H;
                const float *restrict zb = g + H;
                for (long j = 0; j < H; j++)
                    p[j] += zb[j] * d[j];
            }
        }
        if (dhp)
            sgemm("N", "N", &m, &n, &k, &one, w_hh, &ldw, dg + t * B * 3 * H, &ldd, &one, dhp, &ldh);
    }
}

/* The instruction set the loops were compiled for (2: AVX-512, 1: AVX2 with FMA, 0: neither): tsrnn.model.fast.kernel
   uses them only on a CPU that has it. */
int fastkernel_isa(void)
{
#if defined(__AVX512F__)
    return 2;
#elif defined(__AVX2__) && defined(__FMA__)
    return 1;
#else
    return 0;
#endif
}

/* The first 60 bits of the SHA-256 of this file as it was built (setup.py defines it): tsrnn.model.fast.kernel compares it
   with the fastkernel.c beside it, so a library built from another version of the loops is never used. */
#ifdef FASTKERNEL_SOURCE_HASH
unsigned long long fastkernel_source_hash(void) { return FASTKERNEL_SOURCE_HASH; }
#endif

/* Built as the extension module tsrnn.model.fast._fastkernel, the file also needs a module initialiser (an empty module: the
   functions above are called through ctypes, never through Python); without FASTKERNEL_PYTHON_MODULE it compiles
   on its own (cc -O3 -shared -fPIC fastkernel.c -lm). */
#ifdef FASTKERNEL_PYTHON_MODULE
#include <Python.h>

static struct PyModuleDef fastkernel_module = {
    PyModuleDef_HEAD_INIT, "_fastkernel", "The GRU training loops of tsrnn.model.fast.kernel (loaded with ctypes).", -1, NULL,
};

PyMODINIT_FUNC PyInit__fastkernel(void) { return PyModule_Create(&fastkernel_module); }
#endif
