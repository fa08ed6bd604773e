/**
 * Speed of one convolution's forward + backward pass (dx and dW) at batch 64, 32x32x16 -> 16,
 * 3x3 'same', on the wasm backend: the engine's own SIMD kernels (main/engine/backend/wasm-simd.ts,
 * the default) and their XNNPACK-based fallbacks (main/engine/backend/wasm-training-kernels.ts),
 * side by side, against the cpu backend's reference kernels.
 *
 *   node scripts/run-ts.mjs bench/wasm-conv-grads.ts      (about 40 s on 2 cores, mostly cpu)
 *
 * Gradients come from '@tensorflow/tfjs-layers', whose Node bundle registers tfjs-core's whole
 * gradient registry; tfjs-core's own dist/register_all_gradients is extensionless ESM that plain
 * Node cannot load (vitest can).
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initWasmBackend } from '../main/engine/backend/wasm-setup';
import { setSimdGemmEnabled } from '../main/engine/backend/wasm-simd';

const BATCH = 64;
const X_SHAPE: [number, number, number, number] = [BATCH, 32, 32, 16];
const W_SHAPE: [number, number, number, number] = [3, 3, 16, 16];

interface Row {
  backend: string;
  strides: number;
  msPerStep: number;
  imagesPerS: number;
}

/**
 * Mean time of forward + both gradients over at least `minSteps` steps and about `budgetMs`,
 * after one untimed warm-up step if `warmUp` (the cpu backend is too slow to afford one).
 */
function timeStep(strides: number, warmUp: boolean, minSteps: number, budgetMs: number): number {
  const x = tf.randomNormal(X_SHAPE, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(W_SHAPE, 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const step = (): void => {
    const grads = tf.grads((a, b) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, 'same')))([x, w]);
    for (const g of grads) g.dataSync();
    tf.dispose(grads);
  };
  if (warmUp) step();
  const start = performance.now();
  let steps = 0;
  while (steps < minSteps || performance.now() - start < budgetMs) {
    step();
    steps++;
  }
  const ms = (performance.now() - start) / steps;
  tf.dispose([x, w]);
  return ms;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const measure = (backend: string, strides: number, warmUp: boolean, minSteps: number, budgetMs: number): void => {
    const msPerStep = timeStep(strides, warmUp, minSteps, budgetMs);
    rows.push({ backend, strides, msPerStep, imagesPerS: (BATCH * 1000) / msPerStep });
  };
  await tf.setBackend('cpu');
  for (const s of [1, 2]) measure('cpu', s, false, 1, 0);
  await initWasmBackend();
  for (const s of [1, 2]) measure('wasm (SIMD kernels)', s, true, 10, 3_000);
  setSimdGemmEnabled(false);
  for (const s of [1, 2]) measure('wasm (XNNPACK grads)', s, true, 10, 3_000);
  setSimdGemmEnabled(true);

  console.log(`conv 3x3 'same' forward + dx + dW, batch ${BATCH}, [${X_SHAPE.slice(1).join('x')}] -> ${W_SHAPE[3]} channels`);
  console.log('backend                 stride   ms/step   images/s');
  const cpu = new Map(rows.filter((r) => r.backend === 'cpu').map((r) => [r.strides, r.msPerStep]));
  for (const r of rows) {
    const speedup = r.backend === 'cpu' ? '' : `${((cpu.get(r.strides) ?? NaN) / r.msPerStep).toFixed(0).padStart(8)}x cpu`;
    console.log(`${r.backend.padEnd(24)}${String(r.strides).padStart(6)}${r.msPerStep.toFixed(1).padStart(10)}${r.imagesPerS.toFixed(0).padStart(11)}${speedup}`);
  }
}

void main();
