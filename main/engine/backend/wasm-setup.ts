/**
 * Starts the tfjs `wasm` backend in Node as a training backend: tells it where its .wasm
 * binaries are (in Node it cannot fetch them relative to a page), registers the XNNPACK-based
 * convolution gradients (./wasm-training-kernels) and makes 'wasm' the active backend.
 */
import path from 'node:path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from './wasm-training-kernels';

/** Absolute folder of the package's .wasm files, with the trailing slash setWasmPaths needs. */
export function wasmBinaryDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

let pathsSet = false;

export async function initWasmBackend(): Promise<void> {
  // setWasmPaths must precede the backend's first initialisation, and only then matters.
  if (!pathsSet) {
    setWasmPaths(wasmBinaryDir());
    pathsSet = true;
  }
  registerWasmTrainingKernels();
  const ok = await tf.setBackend('wasm');
  if (!ok || tf.getBackend() !== 'wasm') {
    throw new Error(`the wasm backend did not start (setBackend returned ${String(ok)}, active backend '${tf.getBackend()}'); binaries looked up in ${wasmBinaryDir()}`);
  }
}
