/**
 * Saving and loading a network's weights (trainable variables and BatchNorm running statistics)
 * as one little-endian float32 file plus a JSON manifest of shapes, in the order the model
 * creates its variables. Written to a temporary name and renamed, so a crash never leaves a
 * half-written file under the real name.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { makeFolders } from '../../platform/user-paths';
import type { ResNetModel } from '../nets/resnet-model';

export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'weights.json';
export const WEIGHTS_FORMAT = 'blockwise-weights/1';

interface Manifest {
  format: typeof WEIGHTS_FORMAT;
  depth: number;
  classes: number;
  shapes: number[][];
}

export const variablesOf = (model: ResNetModel): tf.Variable[] => [...model.trainableVariables(), ...model.stateVariables()];

export function writeAtomically(file: string, data: string | Uint8Array): void {
  fs.writeFileSync(`${file}.partial`, data);
  fs.renameSync(`${file}.partial`, file);
}

/** One Float32Array holding `arrays` one after another. */
export function concatFloats(arrays: readonly Float32Array[]): Float32Array {
  const all = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  return all;
}

/**
 * The values of `variables` in order, then any `trailing` arrays, as one little-endian float32
 * file written atomically. Asynchronous reads: a GPU backend cannot read tensors synchronously.
 * Returns the variables' shapes.
 */
export async function writeTensors(variables: readonly tf.Variable[], file: string, trailing: readonly Float32Array[] = []): Promise<{ bytes: number; shapes: number[][] }> {
  const all = concatFloats([...((await Promise.all(variables.map((v) => v.data()))) as Float32Array[]), ...trailing]);
  const bytes = new Uint8Array(all.buffer);
  writeAtomically(file, bytes);
  return { bytes: bytes.length, shapes: variables.map((v) => [...v.shape]) };
}

/**
 * Assign the values writeTensors saved (with `shapes`) to `variables`; throws naming the
 * mismatch. Returns the `trailingFloats` values stored after them.
 */
export function readTensors(variables: readonly tf.Variable[], file: string, shapes: readonly number[][], trailingFloats = 0): Float32Array {
  const buffer = fs.readFileSync(file);
  const floats = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
  const expected = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0) + trailingFloats;
  if (buffer.byteLength % 4 !== 0 || floats.length !== expected) {
    throw new Error(`${file} has ${buffer.byteLength} bytes, not the ${expected * 4} its manifest describes: it is damaged`);
  }
  if (shapes.length !== variables.length) throw new Error(`${file} holds ${shapes.length} tensors; ${variables.length} were expected`);
  let at = 0;
  variables.forEach((variable, i) => {
    const shape = shapes[i]!;
    if (shape.join(',') !== variable.shape.join(',')) throw new Error(`tensor ${i} has shape [${shape}] in ${file} but [${variable.shape}] here`);
    const size = variable.size;
    tf.tidy(() => variable.assign(tf.tensor(floats.slice(at, at + size), variable.shape)));
    at += size;
  });
  return floats.slice(at);
}

export async function saveWeights(model: ResNetModel, dir: string): Promise<{ bytes: number }> {
  // The run's folder beside the database: a link there may lead anywhere, /proc included.
  makeFolders(dir, 'run folder');
  const { bytes, shapes } = await writeTensors(variablesOf(model), path.join(dir, WEIGHTS_FILE));
  const manifest: Manifest = { format: WEIGHTS_FORMAT, depth: model.depth, classes: model.classes, shapes };
  writeAtomically(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  return { bytes };
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
  if (manifest.format !== WEIGHTS_FORMAT || manifest.depth !== model.depth || manifest.classes !== model.classes || manifest.shapes.length !== variables.length) {
    throw new Error(`${manifestFile} holds ResNet-${manifest.depth} weights for ${manifest.classes} classes (${manifest.shapes.length} tensors); the model is ResNet-${model.depth} for ${model.classes} classes (${variables.length} tensors)`);
  }
  readTensors(variables, path.join(dir, WEIGHTS_FILE), manifest.shapes);
}
