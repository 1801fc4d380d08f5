/* The time loops of one float32 GRU layer for tsrnn.fastcells, compiled on first use by tsrnn.fastkernel.

   The matrix products are the BLAS sgemm_ that torch itself uses (its address is passed in, so this file links
   against nothing but libm); the element-wise work of a time step, a dozen torch calls from Python, is one pass
   here. Layouts are tsrnn.fastcells' (row-major, time-major):
     gates (L, B, 3H)  per step [r | z | W_hn h + b_hn] pre-activations, then r and z in place
     s     (L, B, H)   per step 2 (W_in x + b_in), then sigmoid(2 a_n) in place (n = 2 s - 1)
     ks    (L + 1, B, H) the state as k = (h + 1) / 2; slot 0 (reverse: slot L) holds k0
     coef  (L, B, 4, H) per step what dh multiplies into dL/d(W_hr h, W_hz h, W_hn h + b_hn) and z
     dg    (L, B, 3H)  per step dL/d(W_hr h, W_hz h, W_hn h + b_hn)
   In column-major (BLAS) terms a row-major (rows x cols) matrix is its own transpose, hence the argument order of
   the sgemm calls. */

typedef void (*sgemm_fn)(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                         const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
                         const float *beta, float *c, const int *ldc);

/* glibc's vector expf (libmvec): the loops below vectorise with it. */
__attribute__((__simd__("notinbranch"))) extern float expf(float);

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline long step_at(long i, long L, int reverse) { return reverse ? L - 1 - i : i; }

/* The forward recurrence: per step gates += 2 W_hh k_before (no product at the first step when skip_first: a
   zero h0), r, z = sigmoid, s = sigmoid(s + 2 r (W_hn h + b_hn)), k_after = lerp(s, k_before, z). */
void gru_forward(sgemm_fn sgemm, float *gates, float *s, float *ks, const float *w_hh, long L, long B, long H,
                 int reverse, int skip_first)
{
    const int m = (int)(3 * H), n = (int)B, k = (int)H, ldw = (int)H, ldk = (int)H, ldg = (int)(3 * H);
    const float two = 2.0f, one = 1.0f;
    for (long i = 0; i < L; i++) {
        const long t = step_at(i, L, reverse);
        float *g = gates + t * B * 3 * H;
        float *st = s + t * B * H;
        const float *kb = ks + (reverse ? t + 1 : t) * B * H;
        float *ka = ks + (reverse ? t : t + 1) * B * H;
        if (!(skip_first && i == 0))
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

/* The factors of backward that do not depend on dh, all steps at once: with n = 2 s - 1 and
   a = (1 - z)(1 - n^2) (stored: dL/d(pre-activation of n) = a dh),
   coef = [a (W_hn h + b_hn) r (1 - r), (h_prev - n) z (1 - z), a r, z]. hs holds h (not k) by now. */
void gru_coef(const float *gates, const float *s, const float *hs, float *coef, float *a_out, long L, long B,
              long H, int reverse)
{
    for (long t = 0; t < L; t++) {
        const float *hp = hs + (reverse ? t + 1 : t) * B * H;
        for (long b = 0; b < B; b++) {
            const float *restrict g = gates + (t * B + b) * 3 * H;
            const float *restrict sb = s + (t * B + b) * H;
            const float *restrict hb = hp + b * H;
            float *restrict c = coef + (t * B + b) * 4 * H;
            float *restrict ab = a_out + (t * B + b) * H;
            for (long j = 0; j < H; j++) {
                const float r = g[j], z = g[H + j], ghn = g[2 * H + j];
                const float nn = 2.0f * sb[j] - 1.0f, one_z = 1.0f - z;
                const float a = one_z * (1.0f - nn * nn);
                ab[j] = a;
                c[j] = a * ghn * (r * (1.0f - r));
                c[H + j] = (hb[j] - nn) * (z * one_z);
                c[2 * H + j] = a * r;
                c[3 * H + j] = z;
            }
        }
    }
}

/* The backward recurrence, from the last step run to the first: dg_t = coef_t[0:3] dh_t, and for every step but
   the first run, dh_prev += z_t dh_t + dg_t W_hh (dh arrives holding dL/d(output) of every step). */
void gru_backward(sgemm_fn sgemm, const float *coef, float *dh, float *dg, const float *w_hh, long L, long B,
                  long H, int reverse)
{
    const int m = (int)H, n = (int)B, k = (int)(3 * H), ldw = (int)H, ldd = (int)(3 * H), ldh = (int)H;
    const float one = 1.0f;
    for (long i = L - 1; i >= 0; i--) {
        const long t = step_at(i, L, reverse);
        const float *ct = coef + t * B * 4 * H;
        float *dgt = dg + t * B * 3 * H;
        const float *dht = dh + t * B * H;
        float *dhp = i > 0 ? dh + step_at(i - 1, L, reverse) * B * H : 0;
        for (long b = 0; b < B; b++) {
            const float *restrict c = ct + b * 4 * H;
            const float *restrict d = dht + b * H;
            float *restrict o = dgt + b * 3 * H;
            for (long j = 0; j < H; j++) {
                const float v = d[j];
                o[j] = c[j] * v;
                o[H + j] = c[H + j] * v;
                o[2 * H + j] = c[2 * H + j] * v;
            }
            if (dhp) {
                float *restrict p = dhp + b * H;
                for (long j = 0; j < H; j++)
                    p[j] += c[3 * H + j] * d[j];
            }
        }
        if (dhp)
            sgemm("N", "N", &m, &n, &k, &one, w_hh, &ldw, dgt, &ldd, &one, dhp, &ldh);
    }
}
