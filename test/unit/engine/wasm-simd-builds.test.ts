/**
 * Both builds of simd/kernels.c (plain SIMD128, and relaxed SIMD's fused multiply-add in the GEMM
 * tiles) must compute the matrix product and the direct convolution to float32 accuracy, each
 * checked against a float64 reference on its own heap; and the engine must pick the relaxed
 * build where it compiles (Node 20 with the V8 flag wasm-simd.ts turns on, Node 22+, Electron).
 * The other kernel tests run through whichever build the engine picked.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { KERNELS_RELAXED_WASM_BASE64 } from '../../../main/engine/backend/simd/kernels.wasm';
import { heapBackend } from '../../../main/engine/backend/wasm-heap';
import { initWasmBackend } from '../../../main/engine/backend/wasm-setup';
import { instantiateKernelBuild, type SimdVariant, simdKernels, simdVariant } from '../../../main/engine/backend/wasm-simd';

/** A module on a heap of its own, with the heap as floats and a bump allocator (byte addresses). */
function instantiate(build: SimdVariant) {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const kernels = instantiateKernelBuild(build, memory);
  const heap = new Float32Array(memory.buffer);
  let next = 1024;
  const put = (values: Float32Array): number => {
    const at = next;
    heap.set(values, at / 4);
    next += Math.ceil((values.length * 4) / 16) * 16;
    return at;
  };
  const read = (at: number, length: number): Float32Array => heap.slice(at / 4, at / 4 + length);
  return { kernels, put, read };
}

function random(length: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('the two builds of the SIMD kernels', () => {
  beforeAll(async () => {
    await initWasmBackend();
  });

  it('the engine runs the relaxed build where this Node compiles it', () => {
    expect(simdKernels(heapBackend(tf.engine().backend, 'test'))).not.toBeNull();
    const relaxedCompiles = WebAssembly.validate(Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64'));
    expect(simdVariant()).toBe(process.env.BLOCKWISE_WASM_FMA !== '0' && relaxedCompiles ? 'relaxed' : 'plain');
  });

  for (const build of ['plain', 'relaxed'] as const) {
    // 37 x 29: 4-row tiles and a 1-row tail, 8- and 4-column tiles and a scalar tail; 38 x 28: the
    // last 12 columns in 3-row x 12-column tiles (rows 3 + ... + 2); K = 300 spans two K blocks.
    it.each([[37, 29], [38, 28]])(`${build}: the GEMM %i x %i (row-major and transposed A, accumulate, K past one block) to float32 accuracy`, (m, n) => {
      const k = 300;
      const { kernels, put, read } = instantiate(build);
      const a = random(m * k, 1);
      const b = random(k * n, 2);
      const c0 = random(m * n, 3);
      for (const transposed of [false, true]) {
        for (const accumulate of [0, 1]) {
          const stored = transposed ? Float32Array.from({ length: m * k }, (_, i) => a[(i % m) * k + Math.floor(i / m)]!) : a;
          const c = put(c0);
          kernels.gemm(put(stored), transposed ? 1 : k, transposed ? m : 1, put(b), c, m, n, k, accumulate);
          const expected = Float64Array.from({ length: m * n }, (_, idx) => {
            const [i, j] = [Math.floor(idx / n), idx % n];
            let sum = accumulate ? c0[idx]! : 0;
            for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[t * n + j]!;
            return sum;
          });
          expect(maxAbsDiff(read(c, m * n), expected), `transposed ${transposed}, accumulate ${accumulate}`).toBeLessThan(2e-5);
        }
      }
    });

    // 10 output channels run the tiles; 1 (a decoder's image) the dot products over the channels.
    it.each([10, 1])(`${build}: the direct convolution (3x3, stride 2, 6 -> %i channels) to float32 accuracy`, (co) => {
      const [n, h, w, ci, kh, kw, s] = [2, 9, 7, 6, 3, 3, 2];
      const [oh, ow] = [Math.floor((h - kh) / s) + 1, Math.floor((w - kw) / s) + 1];
      const { kernels, put, read } = instantiate(build);
      const x = random(n * h * w * ci, 4);
      const filter = random(kh * kw * ci * co, 5);
      const y = put(new Float32Array(n * oh * ow * co));
      kernels.conv2d_direct(put(x), put(filter), y, n, h, w, ci, oh, ow, co, kh, kw, s, s);
      const expected = new Float64Array(n * oh * ow * co);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let o = 0; o < co; o++) {
              let sum = 0;
              for (let p = 0; p < kh; p++)
                for (let q = 0; q < kw; q++)
                  for (let c = 0; c < ci; c++) sum += x[((img * h + oy * s + p) * w + ox * s + q) * ci + c]! * filter[((p * kw + q) * ci + c) * co + o]!;
              expected[((img * oh + oy) * ow + ox) * co + o] = sum;
            }
      expect(maxAbsDiff(read(y, expected.length), expected)).toBeLessThan(1e-5);
    });
  }
});
