/**
 * Saving and loading a network's weights (trainable variables and BatchNorm running statistics)
 * as one little-endian float32 file plus a JSON manifest of shapes, in the order the model
 * creates its variables. Written to a temporary name and renamed, so a crash never leaves a
 * half-written file under the real name.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ResNetModel } from '../nets/resnet-model';

export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'weights.json';

interface Manifest {
  format: 'blockwise-weights/1';
  depth: number;
  classes: number;
  shapes: number[][];
}

const variablesOf = (model: ResNetModel): tf.Variable[] => [...model.trainableVariables(), ...model.stateVariables()];

function writeAtomically(file: string, data: string | Uint8Array): void {
  fs.writeFileSync(`${file}.partial`, data);
  fs.renameSync(`${file}.partial`, file);
}

/** Asynchronous reads: a GPU backend cannot read tensors synchronously. */
export async function saveWeights(model: ResNetModel, dir: string): Promise<{ bytes: number }> {
  fs.mkdirSync(dir, { recursive: true });
  const variables = variablesOf(model);
  const arrays = (await Promise.all(variables.map((v) => v.data()))) as Float32Array[];
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  const bytes = new Uint8Array(all.buffer);
  writeAtomically(path.join(dir, WEIGHTS_FILE), bytes);
  const manifest: Manifest = { format: 'blockwise-weights/1', depth: model.depth, classes: model.classes, shapes: variables.map((v) => [...v.shape]) };
  writeAtomically(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  return { bytes: bytes.length };
}

/** Load weights saved by saveWeights into a model of the same architecture; throws naming the mismatch. */
export function loadWeights(model: ResNetModel, dir: string): void {
  const manifestFile = path.join(dir, MANIFEST_FILE);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch (error) {
    throw new Error(`${manifestFile} cannot be read (${(error as Error).message}): the run saved no weights, or they were moved`);
  }
  const variables = variablesOf(model);
  if (manifest.format !== 'blockwise-weights/1' || manifest.depth !== model.depth || manifest.classes !== model.classes || manifest.shapes.length !== variables.length) {
    throw new Error(`${manifestFile} holds ResNet-${manifest.depth} weights for ${manifest.classes} classes (${manifest.shapes.length} tensors); the model is ResNet-${model.depth} for ${model.classes} classes (${variables.length} tensors)`);
  }
  const buffer = fs.readFileSync(path.join(dir, WEIGHTS_FILE));
  const floats = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
  const expected = manifest.shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  if (buffer.byteLength % 4 !== 0 || floats.length !== expected) {
    throw new Error(`${path.join(dir, WEIGHTS_FILE)} has ${buffer.byteLength} bytes, not the ${expected * 4} its manifest describes: it is damaged`);
  }
  let at = 0;
  variables.forEach((variable, i) => {
    const shape = manifest.shapes[i]!;
    if (shape.join(',') !== variable.shape.join(',')) throw new Error(`weight ${i} has shape [${shape}] in the file but [${variable.shape}] in the model`);
    const size = variable.size;
    tf.tidy(() => variable.assign(tf.tensor(floats.slice(at, at + size), variable.shape)));
    at += size;
  });
}
