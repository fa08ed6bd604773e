/**
 * The SIMD loops of ./simd/kernels.c, instantiated on the tfjs wasm backend's own memory so they
 * read and write tensors in place (the module imports that WebAssembly.Memory and owns none).
 *
 * Unavailable (null) where the module cannot link: no WebAssembly SIMD, or the threaded tfjs
 * binary, whose memory is shared. The kernels then fall back to plain JS loops over the same
 * heap (./wasm-fused-kernels.ts), which compute the same values more slowly.
 *
 * Two builds of the module ship: the GEMM tiles (matrix product, convolution, filter gradient)
 * with relaxed SIMD's fused multiply-add where the engine compiles it (1.2-1.4x the GFLOP/s of
 * a product and a sum on the Xeon cores we measured: `npm run bench:speed -- --only-kernels`),
 * else the plain one. A fused multiply-add rounds once where the plain module rounds twice, and
 * relaxed SIMD lets a CPU without FMA round twice, so results may differ in the last bits between
 * machines; BLOCKWISE_WASM_FMA=0 keeps the plain module, whose IEEE products and sums give the
 * same bits on every CPU.
 */
import { setFlagsFromString } from 'node:v8';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from './simd/kernels.wasm';
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
  validate(bytes: Uint8Array): boolean;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Which build of kernels.c runs: with fused multiply-adds in its GEMM tiles, or without. */
export type SimdVariant = 'relaxed' | 'plain';

let compiled: { module: object; variant: SimdVariant } | null | undefined;
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

/** Whether this engine compiles relaxed SIMD; Node before 22 does once its V8 flag is on (read at compile time). */
function relaxedSimdCompiles(bytes: Uint8Array): boolean {
  if (WASM.validate(bytes)) return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WASM.validate(bytes);
}

const buildBytes = (variant: SimdVariant): Uint8Array => decode(variant === 'relaxed' ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_WASM_BASE64);

/** The module this engine runs: the relaxed build where it compiles and is not turned off, else the plain one. */
function compileKernels(): { module: object; variant: SimdVariant } {
  const relaxed = buildBytes('relaxed');
  if (process.env.BLOCKWISE_WASM_FMA !== '0' && relaxedSimdCompiles(relaxed)) return { module: new WASM.Module(relaxed), variant: 'relaxed' };
  return { module: new WASM.Module(buildBytes('plain')), variant: 'plain' };
}

/**
 * Either build of kernels.c, on a memory of the caller's (a WebAssembly.Memory), whatever the
 * engine itself runs: for tests and benchmarks that run both side by side. Throws where it does not compile.
 */
export function instantiateKernelBuild(variant: SimdVariant, memory: object): SimdKernels {
  if (variant === 'relaxed' && !relaxedSimdCompiles(buildBytes('relaxed'))) throw new Error('this engine does not compile relaxed SIMD');
  return new WASM.Instance(new WASM.Module(buildBytes(variant)), { env: { memory } }).exports as unknown as SimdKernels;
}

/** The build of kernels.c this engine runs ('relaxed' or 'plain'), or null where none compiles (compiled on first use). */
export function simdVariant(): SimdVariant | null {
  if (compiled === undefined) {
    try {
      compiled = compileKernels();
    } catch {
      compiled = null;
    }
  }
  return compiled?.variant ?? null;
}

/** The SIMD kernels on `backend`'s memory, or null where they cannot run (see the file comment). */
export function simdKernels(backend: WasmHeapBackend): SimdKernels | null {
  if (!enabled) return null;
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WASM.Memory)) return null;
  if (instances.has(memory)) return instances.get(memory)!;
  let kernels: SimdKernels | null = null;
  try {
    // No SIMD in this engine (no build compiles: null) or a shared memory (link throws): JS loops instead.
    if (simdVariant()) kernels = new WASM.Instance(compiled!.module, { env: { memory } }).exports as unknown as SimdKernels;
  } catch {
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
