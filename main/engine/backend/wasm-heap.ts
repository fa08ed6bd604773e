/**
 * Direct access to tensors on the tfjs wasm backend's heap, for kernels written in JS.
 *
 * A wasm tensor is a range of the module's linear memory (`dataIdMap.get(id).memoryOffset`),
 * so a Float32Array over `wasm.HEAPF32.buffer` reads and writes it without a copy, and V8 runs
 * loops over such views at near-native speed. Outputs are allocated with `makeOutput`, the way
 * the backend's own kernels do, so the engine tracks them and tf.profile counts their bytes.
 *
 * The heap may grow (and its ArrayBuffer be replaced) whenever something is allocated: take
 * views only after the last allocation of a kernel, and never keep them across kernels.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
export interface WasmHeapBackend {
  wasm: { HEAPF32: Float32Array; _malloc(bytes: number): number; _free(pointer: number): void; asm?: { memory?: unknown } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object): boolean;
}

export function heapBackend(backend: unknown, kernel: string): WasmHeapBackend {
  const b = backend as unknown as Partial<WasmHeapBackend>;
  if (b.wasm?.HEAPF32 === undefined || b.dataIdMap === undefined || typeof b.makeOutput !== 'function') {
    throw new Error(`${kernel} needs the tfjs wasm backend (its heap), got backend ${(backend as object | null)?.constructor?.name ?? String(backend)}`);
  }
  return b as WasmHeapBackend;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Byte address of `info`'s data on the heap. */
export function addressOf(backend: WasmHeapBackend, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error(`tensor [${info.shape.join(',')}] is not on the wasm backend`);
  return data.memoryOffset;
}

/** A float32 view of `info`'s data on the heap (valid until the next allocation). */
export function f32(backend: WasmHeapBackend, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${info.dtype} [${info.shape.join(',')}]`);
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error(`tensor [${info.shape.join(',')}] is not on the wasm backend`);
  return new Float32Array(backend.wasm.HEAPF32.buffer, data.memoryOffset, sizeOf(info.shape));
}
