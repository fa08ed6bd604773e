/*
 * SIMD128 loops for the wasm backend's fused training kernels (../wasm-fused-kernels.ts):
 * BatchNorm statistics, normalise (+ residual, + ReLU), the BatchNorm gradient's sums and dx, the
 * SGD update, the interleave of the convolution input gradient's phases, and GEMMs: the
 * matrix product and the convolution filter gradient.
 *
 * The module imports the tfjs wasm backend's own memory, so every pointer is an address on that
 * heap: tensors are read and written in place. It must own no memory of its own: no data, no
 * stack (no local arrays, no address-taken locals), no libc. build.mjs checks the binary for
 * that; callers pass scratch space they allocated on the heap.
 *
 * Layout: channels last; `m` rows of `c` contiguous channels. Channels are processed 4 at a time
 * (f32x4) and the last c % 4 one by one.
 *
 * Build: node main/engine/backend/simd/build.mjs (clang with the wasm32 target and lld, Debian:
 * apt-get install clang-16 lld-16); it regenerates kernels.wasm.ts with two builds, plain and
 * -DRELAXED_SIMD (MADD a fused multiply-add).
 */
#include <wasm_simd128.h>

/* acc + a * b: one fused multiply-add where relaxed SIMD is built in (RELAXED_SIMD), else a product and a sum. */
#ifdef RELAXED_SIMD
#define MADD(acc, a, b) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((__f32x4)(a), (__f32x4)(b), (__f32x4)(acc)))
#else
#define MADD(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#endif

#define EXPORT(name) __attribute__((export_name(name)))

/* Rows summed in float32 before the partial sums are added into the float64 totals. */
#define BLOCK 64

/*
 * Per-channel sum and sum of squares of x [m, c] into sum, sq (float64 [c]). Scratch: acc,
 * float32 [2 * c4 + ...] with c4 = c rounded up to 4 (16-byte aligned).
 */
EXPORT("bn_stats")
void bn_stats(const float *x, int m, int c, float *acc, double *sum, double *sq) {
  const int cv = c & ~3;
  float *accq = acc + ((c + 3) & ~3);
  for (int ch = 0; ch < c; ch++) sum[ch] = sq[ch] = 0;
  for (int r0 = 0; r0 < m; r0 += BLOCK) {
    const int r1 = r0 + BLOCK < m ? r0 + BLOCK : m;
    for (int ch = 0; ch < c; ch++) acc[ch] = accq[ch] = 0;
    for (int r = r0; r < r1; r++) {
      const float *row = x + (long)r * c;
      int ch = 0;
      for (; ch < cv; ch += 4) {
        v128_t v = wasm_v128_load(row + ch);
        wasm_v128_store(acc + ch, wasm_f32x4_add(wasm_v128_load(acc + ch), v));
        wasm_v128_store(accq + ch, wasm_f32x4_add(wasm_v128_load(accq + ch), wasm_f32x4_mul(v, v)));
      }
      for (; ch < c; ch++) {
        acc[ch] += row[ch];
        accq[ch] += row[ch] * row[ch];
      }
    }
    for (int ch = 0; ch < c; ch++) {
      sum[ch] += acc[ch];
      sq[ch] += accq[ch];
    }
  }
}

/* y = x * scale + shift (+ res), then max(., 0) if relu. res may be 0 (none). */
EXPORT("bn_apply")
void bn_apply(const float *x, const float *res, float *y, int m, int c, const float *scale, const float *shift, int relu) {
  const int cv = c & ~3;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int r = 0; r < m; r++) {
    const long o = (long)r * c;
    int ch = 0;
    for (; ch < cv; ch += 4) {
      v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + o + ch), wasm_v128_load(scale + ch)), wasm_v128_load(shift + ch));
      if (res) v = wasm_f32x4_add(v, wasm_v128_load(res + o + ch));
      if (relu) v = wasm_f32x4_pmax(v, zero);
      wasm_v128_store(y + o + ch, v);
    }
    for (; ch < c; ch++) {
      float v = x[o + ch] * scale[ch] + shift[ch];
      if (res) v += res[o + ch];
      if (relu && !(v > 0)) v = 0;
      y[o + ch] = v;
    }
  }
}

/*
 * BatchNorm gradient, pass 1: g = dy masked by y > 0 (when y is given), written to g_out when
 * given; per-channel sum(g) and sum(g * x) into sdy, sdyx (float64 [c]). Scratch as bn_stats.
 */
EXPORT("bn_grad_sums")
void bn_grad_sums(const float *dy, const float *x, const float *y, float *g_out, int m, int c, float *acc, double *sdy, double *sdyx) {
  const int cv = c & ~3;
  float *accx = acc + ((c + 3) & ~3);
  const v128_t zero = wasm_f32x4_splat(0);
  for (int ch = 0; ch < c; ch++) sdy[ch] = sdyx[ch] = 0;
  for (int r0 = 0; r0 < m; r0 += BLOCK) {
    const int r1 = r0 + BLOCK < m ? r0 + BLOCK : m;
    for (int ch = 0; ch < c; ch++) acc[ch] = accx[ch] = 0;
    for (int r = r0; r < r1; r++) {
      const long o = (long)r * c;
      int ch = 0;
      for (; ch < cv; ch += 4) {
        v128_t g = wasm_v128_load(dy + o + ch);
        if (y) g = wasm_v128_and(g, wasm_f32x4_gt(wasm_v128_load(y + o + ch), zero));
        if (g_out) wasm_v128_store(g_out + o + ch, g);
        wasm_v128_store(acc + ch, wasm_f32x4_add(wasm_v128_load(acc + ch), g));
        wasm_v128_store(accx + ch, wasm_f32x4_add(wasm_v128_load(accx + ch), wasm_f32x4_mul(g, wasm_v128_load(x + o + ch))));
      }
      for (; ch < c; ch++) {
        float g = dy[o + ch];
        if (y && !(y[o + ch] > 0)) g = 0;
        if (g_out) g_out[o + ch] = g;
        acc[ch] += g;
        accx[ch] += g * x[o + ch];
      }
    }
    for (int ch = 0; ch < c; ch++) {
      sdy[ch] += acc[ch];
      sdyx[ch] += accx[ch];
    }
  }
}

/* BatchNorm gradient, pass 2: dx = k1 * g + k2 * x + k3 per channel (g may alias dx). */
EXPORT("bn_grad_dx")
void bn_grad_dx(const float *g, const float *x, float *dx, int m, int c, const float *k1, const float *k2, const float *k3) {
  const int cv = c & ~3;
  for (int r = 0; r < m; r++) {
    const long o = (long)r * c;
    int ch = 0;
    for (; ch < cv; ch += 4) {
      v128_t v = wasm_f32x4_mul(wasm_v128_load(g + o + ch), wasm_v128_load(k1 + ch));
      v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(x + o + ch), wasm_v128_load(k2 + ch)));
      wasm_v128_store(dx + o + ch, wasm_f32x4_add(v, wasm_v128_load(k3 + ch)));
    }
    for (; ch < c; ch++) dx[o + ch] = g[o + ch] * k1[ch] + x[o + ch] * k2[ch] + k3[ch];
  }
}

/*
 * torch.optim.SGD for one parameter of n values, each float32 operation in the order the
 * composed tfjs ops run it (so the results are identical):
 *   g = grad + p * wd (if wd != 0); buf = buf_in ? buf_in * m + g * keep : g (if buf_out);
 *   g = nesterov ? g + buf * m : buf (if buf_out); p_out = p - g * lr.
 * buf_in may be 0 (first step), buf_out 0 (no momentum).
 */
EXPORT("sgd_update")
void sgd_update(const float *p, const float *grad, const float *buf_in, float *buf_out, float *p_out, int n, float lr, float m, float wd, float keep, int nesterov) {
  const v128_t vlr = wasm_f32x4_splat(lr), vm = wasm_f32x4_splat(m), vwd = wasm_f32x4_splat(wd), vkeep = wasm_f32x4_splat(keep);
  const int nv = n & ~3;
  int i = 0;
  for (; i < nv; i += 4) {
    v128_t pi = wasm_v128_load(p + i);
    v128_t g = wasm_v128_load(grad + i);
    if (wd != 0) g = wasm_f32x4_add(g, wasm_f32x4_mul(pi, vwd));
    if (buf_out) {
      v128_t b = buf_in ? wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(buf_in + i), vm), wasm_f32x4_mul(g, vkeep)) : g;
      wasm_v128_store(buf_out + i, b);
      g = nesterov ? wasm_f32x4_add(g, wasm_f32x4_mul(b, vm)) : b;
    }
    wasm_v128_store(p_out + i, wasm_f32x4_sub(pi, wasm_f32x4_mul(g, vlr)));
  }
  for (; i < n; i++) {
    float pi = p[i];
    float g = grad[i];
    if (wd != 0) g = g + pi * wd;
    if (buf_out) {
      float b = buf_in ? buf_in[i] * m + g * keep : g;
      buf_out[i] = b;
      g = nesterov ? g + b * m : b;
    }
    p_out[i] = pi - g * lr;
  }
}

/*
 * One phase of the convolution input gradient into dx [n, h, w, c]: dx[img, y*sh + r, x*sw + t]
 * = src[img, y, x] for y < rows, x < cols (src [n, rows, cols, c]); src 0 writes zeros.
 */
EXPORT("scatter_phase")
void scatter_phase(const float *src, float *dx, int n, int h, int w, int c, int rows, int cols, int sh, int sw, int r, int t) {
  const int cv = c & ~3;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int img = 0; img < n; img++) {
    for (int y = 0; y < rows; y++) {
      float *d = dx + (((long)img * h + (long)y * sh + r) * w + t) * c;
      const float *s = src ? src + ((long)img * rows + y) * cols * c : 0;
      for (int x = 0; x < cols; x++, d += (long)sw * c) {
        int ch = 0;
        if (s) {
          for (; ch < cv; ch += 4) wasm_v128_store(d + ch, wasm_v128_load(s + ch));
          for (; ch < c; ch++) d[ch] = s[ch];
          s += c;
        } else {
          for (; ch < cv; ch += 4) wasm_v128_store(d + ch, zero);
          for (; ch < c; ch++) d[ch] = 0;
        }
      }
    }
  }
}

/*
 * GEMM tiles. One tile adds to mi (1..4) rows x nv*4 (4 or 8) columns of C the sum over the
 * positions t of A(i, t) * B(t, j), where A(i, t) = a[i*a_is + off_a(t)] and B(t, j) =
 * b[off_b(t) + j] (columns contiguous). The positions form a 3-level walk (n3 x n2 x n1 steps,
 * each level with its own stride through a and through b), so one tile covers a block of a
 * convolution's output (images x rows x columns) as well as a plain matrix's rows, and A may be
 * read transposed (a_is = 1) or as a strided window of x. C's block is loaded once (acc) or
 * started at zero (!acc: the walk is the whole sum), accumulated in registers over every
 * position, and stored once. Named locals rather than arrays keep it in
 * registers (no stack: see the file comment); mi and nv are constants after inlining, so the
 * unused accumulators vanish.
 */
typedef struct {
  int n3, n2, n1;
  long a3, a2, a1; /* strides through a per step of each level */
  long b3, b2, b1; /* and through b */
} walk_t;

static inline __attribute__((always_inline)) void tile(const int mi, const int nv, const float *a, long a_is, const float *b, const walk_t wk, float *c, long c_is, int acc) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00;
  if (acc) {
    c00 = wasm_v128_load(c);
    if (nv > 1) c01 = wasm_v128_load(c + 4);
    if (nv > 2) c02 = wasm_v128_load(c + 8);
    if (mi > 1) { c10 = wasm_v128_load(c + c_is); if (nv > 1) c11 = wasm_v128_load(c + c_is + 4); if (nv > 2) c12 = wasm_v128_load(c + c_is + 8); }
    if (mi > 2) { c20 = wasm_v128_load(c + 2 * c_is); if (nv > 1) c21 = wasm_v128_load(c + 2 * c_is + 4); if (nv > 2) c22 = wasm_v128_load(c + 2 * c_is + 8); }
    if (mi > 3) { c30 = wasm_v128_load(c + 3 * c_is); if (nv > 1) c31 = wasm_v128_load(c + 3 * c_is + 4); }
  }
  for (int u3 = 0; u3 < wk.n3; u3++) {
    for (int u2 = 0; u2 < wk.n2; u2++) {
      const float *a0 = a + u3 * wk.a3 + u2 * wk.a2;
      const float *bt = b + u3 * wk.b3 + u2 * wk.b2;
      for (int t = 0; t < wk.n1; t++, a0 += wk.a1, bt += wk.b1) {
        const v128_t b0 = wasm_v128_load(bt), b1 = nv > 1 ? wasm_v128_load(bt + 4) : b0, b2 = nv > 2 ? wasm_v128_load(bt + 8) : b0;
        v128_t s = wasm_v128_load32_splat(a0);
        c00 = MADD(c00, s, b0);
        if (nv > 1) c01 = MADD(c01, s, b1);
        if (nv > 2) c02 = MADD(c02, s, b2);
        if (mi > 1) {
          s = wasm_v128_load32_splat(a0 + a_is);
          c10 = MADD(c10, s, b0);
          if (nv > 1) c11 = MADD(c11, s, b1);
          if (nv > 2) c12 = MADD(c12, s, b2);
        }
        if (mi > 2) {
          s = wasm_v128_load32_splat(a0 + 2 * a_is);
          c20 = MADD(c20, s, b0);
          if (nv > 1) c21 = MADD(c21, s, b1);
          if (nv > 2) c22 = MADD(c22, s, b2);
        }
        if (mi > 3) {
          s = wasm_v128_load32_splat(a0 + 3 * a_is);
          c30 = MADD(c30, s, b0);
          if (nv > 1) c31 = MADD(c31, s, b1);
        }
      }
    }
  }
  wasm_v128_store(c, c00);
  if (nv > 1) wasm_v128_store(c + 4, c01);
  if (nv > 2) wasm_v128_store(c + 8, c02);
  if (mi > 1) { wasm_v128_store(c + c_is, c10); if (nv > 1) wasm_v128_store(c + c_is + 4, c11); if (nv > 2) wasm_v128_store(c + c_is + 8, c12); }
  if (mi > 2) { wasm_v128_store(c + 2 * c_is, c20); if (nv > 1) wasm_v128_store(c + 2 * c_is + 4, c21); if (nv > 2) wasm_v128_store(c + 2 * c_is + 8, c22); }
  if (mi > 3) { wasm_v128_store(c + 3 * c_is, c30); if (nv > 1) wasm_v128_store(c + 3 * c_is + 4, c31); }
}

/* The same for the last n % 4 columns, one at a time. */
static inline __attribute__((always_inline)) void tile_scalar(int mi, const float *a, long a_is, const float *b, const walk_t wk, float *c, long c_is, int accumulate) {
  for (int i = 0; i < mi; i++) {
    float acc = accumulate ? c[i * c_is] : 0;
    for (int u3 = 0; u3 < wk.n3; u3++) {
      for (int u2 = 0; u2 < wk.n2; u2++) {
        const float *ai = a + i * a_is + u3 * wk.a3 + u2 * wk.a2;
        const float *bt = b + u3 * wk.b3 + u2 * wk.b2;
        for (int t = 0; t < wk.n1; t++, ai += wk.a1, bt += wk.b1) acc += *ai * *bt;
      }
    }
    c[i * c_is] = acc;
  }
}

/* C[m, n] (+)= the sum over the walk's positions of A(i, t) B(t, j) for every i < m, j < n (see tile). */
static inline __attribute__((always_inline)) void gemm_acc(const float *a, long a_is, const float *b, const walk_t wk, float *c, long c_is, int m, int n, int acc) {
  /* Where 4 columns would be left over (12, 20, ... output channels), the last 12 go in tiles of
     3 rows x 12 columns (9 accumulators; 6 loads per 9 multiply-adds, where a 4-column tile takes
     5 loads per 4). */
  if (n % 8 == 4 && n >= 12) {
    n -= 12;
    for (int i = 0; i < m; i += 3) {
      const int mi = m - i < 3 ? m - i : 3;
      const float *ai = a + i * a_is;
      float *ci = c + i * c_is + n;
      if (mi == 3) tile(3, 3, ai, a_is, b + n, wk, ci, c_is, acc);
      else if (mi == 2) tile(2, 3, ai, a_is, b + n, wk, ci, c_is, acc);
      else tile(1, 3, ai, a_is, b + n, wk, ci, c_is, acc);
    }
  }
  for (int i = 0; i < m; i += 4) {
    const int mi = m - i < 4 ? m - i : 4;
    const float *ai = a + i * a_is;
    float *ci = c + i * c_is;
    int j = 0;
    switch (mi) {
#define COLUMNS(MI)                                                                        \
      for (; j + 8 <= n; j += 8) tile(MI, 2, ai, a_is, b + j, wk, ci + j, c_is, acc);    \
      if (j + 4 <= n) { tile(MI, 1, ai, a_is, b + j, wk, ci + j, c_is, acc); j += 4; }   \
      break;
      case 4: COLUMNS(4)
      case 3: COLUMNS(3)
      case 2: COLUMNS(2)
      default: COLUMNS(1)
#undef COLUMNS
    }
    for (; j < n; j++) tile_scalar(mi, ai, a_is, b + j, wk, ci + j, c_is, acc);
  }
}

/*
 * C [m, n] = A B (accumulate 0) or C + A B (accumulate 1), with A(i, t) = a[i*a_is + t*a_ts]
 * for t < k (a_is = k, a_ts = 1: A row-major; a_is = 1, a_ts = m: A stored transposed) and B
 * [k, n] row-major. The sum over t runs in blocks of KBLOCK, so a block of B's rows stays in
 * cache while every row block of A passes over it.
 */
#define KBLOCK 256
EXPORT("gemm")
void gemm(const float *a, int a_is, int a_ts, const float *b, float *c, int m, int n, int k, int accumulate) {
  if (k == 0 && !accumulate) {
    for (long i = 0; i < (long)m * n; i++) c[i] = 0;
  }
  for (int t0 = 0; t0 < k; t0 += KBLOCK) {
    const int count = k - t0 < KBLOCK ? k - t0 : KBLOCK;
    const walk_t wk = {1, 1, count, 0, 0, a_ts, 0, 0, n};
    gemm_acc(a + (long)t0 * a_ts, a_is, b + (long)t0 * n, wk, c, n, m, n, accumulate || t0 > 0);
  }
}

/* dst [cols, rows] = src [rows, cols] transposed (for a GEMM whose B is stored transposed). */
EXPORT("transpose2d")
void transpose2d(const float *src, float *dst, int rows, int cols) {
  for (int r0 = 0; r0 < rows; r0 += 16) {
    const int r1 = r0 + 16 < rows ? r0 + 16 : rows;
    for (int c0 = 0; c0 < cols; c0 += 16) {
      const int c1 = c0 + 16 < cols ? c0 + 16 : cols;
      for (int r = r0; r < r1; r++)
        for (int col = c0; col < c1; col++) dst[(long)col * rows + r] = src[(long)r * cols + col];
    }
  }
}

/*
 * The convolution filter gradient, NHWC, dilation 1:
 *   dw[p, q, ci, co] = sum over img, y, x of x[img, y*sh + p - pt, x*sw + q - pl, ci] * dy[img, y, x, co]
 * (positions outside x contribute nothing). For each tap (p, q) that is a GEMM dw_pq [ci, co] =
 * X_pq^T DY over the output positions. The positions whose input lies inside x are, per tap, a
 * box of images x rows [ylo, yhi) x columns [xlo, xhi) with constant strides through x and dy:
 * one walk of the tiles above, with A = the x window read transposed. The output is taken in
 * chunks of chunk_imgs whole images, or of chunk_rows rows of one image (chunk_imgs = 1), small
 * enough to stay in cache while every tap and block of dw passes over the chunk.
 */
EXPORT("conv_filter_grad")
void conv_filter_grad(const float *x, const float *dy, float *dw, int n, int h, int w, int ci, int oh, int ow, int co,
                      int kh, int kw, int sh, int sw, int pt, int pl, int chunk_imgs, int chunk_rows) {
  for (long i = 0; i < (long)kh * kw * ci * co; i++) dw[i] = 0;
  for (int img0 = 0; img0 < n; img0 += chunk_imgs) {
    const int imgs = n - img0 < chunk_imgs ? n - img0 : chunk_imgs;
    for (int y0 = 0; y0 < oh; y0 += chunk_rows) {
      const int y1 = y0 + chunk_rows < oh ? y0 + chunk_rows : oh;
      for (int p = 0; p < kh; p++) {
        /* Output rows of this chunk whose input row oy*sh + p - pt lies inside [0, h). */
        int ylo = p < pt ? (pt - p + sh - 1) / sh : 0;
        int yhi = h - 1 + pt - p >= 0 ? (h - 1 + pt - p) / sh + 1 : 0;
        if (ylo < y0) ylo = y0;
        if (yhi > y1) yhi = y1;
        if (ylo >= yhi) continue;
        for (int q = 0; q < kw; q++) {
          const int xlo = q < pl ? (pl - q + sw - 1) / sw : 0;
          int xhi = w - 1 + pl - q >= 0 ? (w - 1 + pl - q) / sw + 1 : 0;
          if (xhi > ow) xhi = ow;
          if (xlo >= xhi) continue;
          const float *a = x + (((long)img0 * h + ((long)ylo * sh + p - pt)) * w + ((long)xlo * sw + q - pl)) * ci;
          const float *b = dy + (((long)img0 * oh + ylo) * ow + xlo) * co;
          if (co == 1) {
            /* One output channel (a decoder's image): as [ci, 1] the tiles' columns would be one
               scalar; as its transpose [1, ci], dw's row is dy's positions times x's window rows,
               vectorised over the input channels, in the same memory order. */
            const walk_t wt = {imgs, yhi - ylo, xhi - xlo, (long)oh * ow, ow, 1, (long)h * w * ci, (long)sh * w * ci, (long)sw * ci};
            gemm_acc(b, 0, a, wt, dw + ((long)p * kw + q) * ci, ci, 1, ci, 1);
            continue;
          }
          const walk_t wk = {imgs, yhi - ylo, xhi - xlo,
                             (long)h * w * ci, (long)sh * w * ci, (long)sw * ci,
                             (long)oh * ow * co, (long)ow * co, co};
          gemm_acc(a, 1, b, wk, dw + ((long)p * kw + q) * ci * co, co, ci, co, 1);
        }
      }
    }
  }
}

/* The sum of the four lanes. */
static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

/*
 * conv2d_direct with one output channel (a decoder's image): the tiles would run one scalar
 * column, so each output is a dot product of its window with w instead, vectorised over the input
 * channels, four neighbouring outputs at a time sharing w's loads.
 */
static void conv2d_one_channel(const float *x, const float *w, float *y, int n, int h, int wd, int ci, int oh, int ow,
                               int kh, int kw, int sh, int sw) {
  const int c4 = ci & ~3;
  const long step = (long)sw * ci;
  for (int img = 0; img < n; img++) {
    for (int oy = 0; oy < oh; oy++) {
      const float *xrow = x + ((long)img * h + (long)oy * sh) * wd * ci;
      float *yrow = y + ((long)img * oh + oy) * ow;
      int ox = 0;
      for (; ox + 4 <= ow; ox += 4) {
        v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (int p = 0; p < kh; p++) {
          for (int q = 0; q < kw; q++) {
            const float *x0 = xrow + ((long)p * wd + (long)ox * sw + q) * ci;
            const float *wp = w + ((long)p * kw + q) * ci;
            for (int c = 0; c < c4; c += 4) {
              const v128_t v = wasm_v128_load(wp + c);
              s0 = MADD(s0, wasm_v128_load(x0 + c), v);
              s1 = MADD(s1, wasm_v128_load(x0 + step + c), v);
              s2 = MADD(s2, wasm_v128_load(x0 + 2 * step + c), v);
              s3 = MADD(s3, wasm_v128_load(x0 + 3 * step + c), v);
            }
            for (int c = c4; c < ci; c++) {
              t0 += x0[c] * wp[c];
              t1 += x0[step + c] * wp[c];
              t2 += x0[2 * step + c] * wp[c];
              t3 += x0[3 * step + c] * wp[c];
            }
          }
        }
        yrow[ox] = hsum(s0) + t0;
        yrow[ox + 1] = hsum(s1) + t1;
        yrow[ox + 2] = hsum(s2) + t2;
        yrow[ox + 3] = hsum(s3) + t3;
      }
      for (; ox < ow; ox++) {
        v128_t s0 = wasm_f32x4_splat(0);
        float t0 = 0;
        for (int p = 0; p < kh; p++) {
          for (int q = 0; q < kw; q++) {
            const float *x0 = xrow + ((long)p * wd + (long)ox * sw + q) * ci;
            const float *wp = w + ((long)p * kw + q) * ci;
            for (int c = 0; c < c4; c += 4) s0 = MADD(s0, wasm_v128_load(x0 + c), wasm_v128_load(wp + c));
            for (int c = c4; c < ci; c++) t0 += x0[c] * wp[c];
          }
        }
        yrow[ox] = hsum(s0) + t0;
      }
    }
  }
}

/*
 * Direct convolution, NHWC, dilation 1, no im2col, on an input that needs no padding (every
 * tap of every output position lies inside x; pad_nhwc makes such a copy where it is needed):
 *   y[img, oy, ox, co] = sum over p, q, c of x[img, oy*sh + p, ox*sw + q, c] * w[p, q, c, co]
 * Each output row is a GEMM whose rows are the output positions (4 at a time) and whose sum
 * runs over the taps and input channels: the tiles above, walking the taps' rows (n3), columns
 * (n2) and channels (n1).
 */
EXPORT("conv2d_direct")
void conv2d_direct(const float *x, const float *w, float *y, int n, int h, int wd, int ci, int oh, int ow, int co,
                   int kh, int kw, int sh, int sw) {
  if (co == 1) {
    conv2d_one_channel(x, w, y, n, h, wd, ci, oh, ow, kh, kw, sh, sw);
    return;
  }
  const walk_t wk = {kh, kw, ci, (long)wd * ci, ci, 1, (long)kw * ci * co, (long)ci * co, co};
  for (int img = 0; img < n; img++) {
    for (int oy = 0; oy < oh; oy++) {
      const float *xrow = x + ((long)img * h + (long)oy * sh) * wd * ci;
      gemm_acc(xrow, (long)sw * ci, w, wk, y + ((long)img * oh + oy) * ow * co, co, ow, co, 0);
    }
  }
}

/*
 * dst [n, hp, wp, c] = x [n, h, w, c] shifted down by pt rows and right by pl columns, zeros
 * elsewhere (rows or columns of x beyond hp - pt or wp - pl are dropped).
 */
EXPORT("pad_nhwc")
void pad_nhwc(const float *x, float *dst, int n, int h, int w, int c, int hp, int wp, int pt, int pl) {
  for (long i = 0; i < (long)n * hp * wp * c; i++) dst[i] = 0;
  const int rows = h < hp - pt ? h : hp - pt;
  const int cols = w < wp - pl ? w : wp - pl;
  if (rows <= 0 || cols <= 0) return;
  for (int img = 0; img < n; img++) {
    for (int r = 0; r < rows; r++) {
      const float *s = x + ((long)img * h + r) * w * c;
      float *d = dst + (((long)img * hp + r + pt) * wp + pl) * c;
      for (long i = 0; i < (long)cols * c; i++) d[i] = s[i];
    }
  }
}
