/**
 * The SIMD loops of ./simd/kernels.c, instantiated on the tfjs wasm backend's own memory so they
 * read and write tensors in place (the module imports that WebAssembly.Memory and owns none).
 *
 * Unavailable (null) where the module cannot link: no WebAssembly SIMD, or the threaded tfjs
 * binary, whose memory is shared. The kernels then fall back to plain JS loops over the same
 * heap (./wasm-fused-kernels.ts), which compute the same values more slowly.
 */
import { KERNELS_WASM_BASE64 } from './simd/kernels.wasm';
import type { WasmHeapBackend } from './wasm-heap';

/** Exports of kernels.c; every pointer is a byte address on the tfjs heap (see kernels.c). */
export interface SimdKernels {
  bn_stats(x: number, m: number, c: number, acc: number, sum: number, sq: number): void;
  bn_apply(x: number, res: number, y: number, m: number, c: number, scale: number, shift: number, relu: number): void;
  bn_grad_sums(dy: number, x: number, y: number, gOut: number, m: number, c: number, acc: number, sdy: number, sdyx: number): void;
  bn_grad_dx(g: number, x: number, dx: number, m: number, c: number, k1: number, k2: number, k3: number): void;
  sgd_update(p: number, grad: number, bufIn: number, bufOut: number, pOut: number, n: number, lr: number, m: number, wd: number, keep: number, nesterov: number): void;
  scatter_phase(src: number, dx: number, n: number, h: number, w: number, c: number, rows: number, cols: number, sh: number, sw: number, r: number, t: number): void;
  gemm(a: number, aIs: number, aTs: number, b: number, c: number, m: number, n: number, k: number, accumulate: number): void;
  transpose2d(src: number, dst: number, rows: number, cols: number): void;
  conv_filter_grad(x: number, dy: number, dw: number, n: number, h: number, w: number, ci: number, oh: number, ow: number, co: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, chunkImgs: number, chunkRows: number): void;
  conv2d_direct(x: number, w: number, y: number, n: number, h: number, wd: number, ci: number, oh: number, ow: number, co: number,
    kh: number, kw: number, sh: number, sw: number): void;
  pad_nhwc(x: number, dst: number, n: number, h: number, w: number, c: number, hp: number, wp: number, pt: number, pl: number): void;
}

// The WebAssembly JS API, typed here: the Node tsconfig has no DOM lib to declare it.
interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | null | undefined;
const instances = new WeakMap<object, SimdKernels | null>();
let enabled = true;

/** Turns the SIMD loops off (true: back on), so tests can check the JS fallback against them. */
export function setSimdKernelsEnabled(on: boolean): void {
  enabled = on;
}

let gemmEnabled = true;

/**
 * Turns the SIMD GEMM kernels alone (the convolution filter gradient and the matrix product)
 * off (false: the XNNPACK filter gradient and the stock BatchMatMul run instead) or back on, so
 * that benchmarks can time the old path against the new in one process and tests can check
 * both. Where the module does not link (simdKernels is null) they are off anyway.
 */
export function setSimdGemmEnabled(on: boolean): void {
  gemmEnabled = on;
}

export function simdGemmEnabled(): boolean {
  return gemmEnabled;
}

function decode(base64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return Buffer.from(base64, 'base64');
  return Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
}

/** The SIMD kernels on `backend`'s memory, or null where they cannot run (see the file comment). */
export function simdKernels(backend: WasmHeapBackend): SimdKernels | null {
  if (!enabled) return null;
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WASM.Memory)) return null;
  if (instances.has(memory)) return instances.get(memory)!;
  let kernels: SimdKernels | null = null;
  try {
    if (compiled === undefined) compiled = new WASM.Module(decode(KERNELS_WASM_BASE64));
    if (compiled) kernels = new WASM.Instance(compiled, { env: { memory } }).exports as unknown as SimdKernels;
  } catch {
    // No SIMD in this engine (compile fails) or a shared memory (link fails): JS loops instead.
    if (compiled === undefined) compiled = null;
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}

/**
 * Scratch space on the tfjs heap for one kernel call: `f64` float64 values then `f32` float32
 * values, 16-byte aligned; `free()` returns it.
 */
export function scratch(backend: WasmHeapBackend, f64: number, f32: number): { f64: number; f32: number; free(): void } {
  const f64Bytes = Math.ceil((f64 * 8) / 16) * 16;
  const base = backend.wasm._malloc(f64Bytes + f32 * 4 + 16);
  if (!base) throw new Error(`wasm scratch allocation of ${f64Bytes + f32 * 4} bytes failed`);
  const aligned = Math.ceil(base / 16) * 16;
  return { f64: aligned, f32: aligned + f64Bytes, free: () => backend.wasm._free(base) };
}
