/**
 * WebGPU correctness check (not a CI test: see below). Computes the convolution cases' and one
 * InfoPro step's gradients on the cpu backend and on WebGPU, and prints each error as a JSON line
 * as soon as it is known.
 *
 *   npm run check:webgpu
 *
 * On a machine without a GPU WebGPU runs on Mesa's llvmpipe through Dawn's OpenGL backend. There
 * (Debian 12, Mesa 22.3, webgpu 0.6.2) Dawn aborts natively (std::system_error "Invalid
 * argument", or a robust-mutex assertion) at a random point in most runs, so this cannot be a
 * CI test; when a run gets through, the 13 convolution cases match cpu within 1e-4.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { PREPROCESSING } from '../main/data/preprocess';
import { selectBackend } from '../main/engine/backend/select';
import { createResNet } from '../main/engine/nets/resnet-model';
import { LocalTrainer } from '../main/engine/train/local-trainer';
import { lossValues } from '../main/engine/train/trainer';
import { CASES, convGrads } from '../test/helpers/conv-cases';
import { digits, MNIST_INPUT } from '../test/helpers/digits';

const maxError = (a: Float32Array, b: Float32Array) => a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i]!) / Math.max(1, Math.abs(b[i]!))), 0);

/** One InfoPro step's gradients and losses (ResNet-8, 4 real digits) on the active backend. */
async function step(): Promise<{ grads: Float32Array[]; losses: number[] }> {
  const { x, y } = await digits(4);
  const model = createResNet(8, MNIST_INPUT, 10, 2);
  const trainer = new LocalTrainer({ model, method: 'infopro', cuts: [[1, 0], [2, 0]], normalization: PREPROCESSING.mnist.normalization, seed: 2 });
  const result = trainer.computeGradients(x, y);
  const present = trainer.trainableVariables().filter((v) => result.grads.has(v));
  const grads: Float32Array[] = [];
  for (const v of present) grads.push(Float32Array.from(await result.grads.get(v)!.data()));
  const losses = await lossValues(result.losses);
  tf.dispose([...result.grads.values(), x, y]);
  trainer.dispose();
  model.dispose();
  return { grads, losses };
}

/** One JSON line per result as soon as it is known: a native crash later keeps what came before. */
const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main() {
  await selectBackend('cpu');
  const conv = [];
  for (const c of CASES) conv.push(await convGrads(c));
  const reference = await step();
  try {
    await selectBackend('webgpu');
  } catch (error) {
    emit({ available: false, reason: (error as Error).message });
    return;
  }
  emit({ available: true, backend: tf.getBackend() });
  for (const [i, c] of CASES.entries()) {
    const got = await convGrads(c);
    emit({ case: c.name, dx: maxError(got.dx, conv[i]!.dx), dw: maxError(got.dw, conv[i]!.dw) });
  }
  const ours = await step();
  emit({ step: { variables: ours.grads.length, expected: reference.grads.length, error: Math.max(...ours.grads.map((g, i) => maxError(g, reference.grads[i]!))), losses: ours.losses, referenceLosses: reference.losses } });
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
