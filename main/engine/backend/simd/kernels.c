/*
 * SIMD128 loops for the wasm backend's fused training kernels (../wasm-fused-kernels.ts):
 * BatchNorm statistics, normalise (+ residual, + ReLU), the BatchNorm gradient's sums and dx, the
 * SGD update, and the interleave of the convolution input gradient's phases.
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
 * apt-get install clang-14 lld-14); it regenerates kernels.wasm.ts.
 */
#include <wasm_simd128.h>

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
