/**
 * The end-of-epoch checkpoint of a task run trained with Adam (super-resolution, detection): the
 * values of every variable (network, auxiliary nets, BatchNorm statistics) and Adam's step and
 * moments in checkpoint.bin, and where the run stood in checkpoint.json, written last. The file
 * names are classification's, so the run ledger drops the checkpoint once the run is done; the
 * format tag keeps one task from reading another's.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readTensors, writeAtomically, writeTensors } from '../engine/train/weights';
import { makeFolders } from '../platform/user-paths';

const CHECKPOINT_JSON = 'checkpoint.json';
const CHECKPOINT_BIN = 'checkpoint.bin';

export function hasTaskCheckpoint(dir: string, format: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_JSON), 'utf8')) as { format?: string }).format === format;
  } catch {
    return false;
  }
}

export async function saveTaskCheckpoint<P extends object>(dir: string, format: string, variables: readonly tf.Variable[], optimizer: tf.Optimizer, position: P): Promise<void> {
  makeFolders(dir, 'run folder');
  const adam = await optimizer.getWeights();
  const adamValues = (await Promise.all(adam.map((w) => w.tensor.data()))) as Float32Array[];
  // Adam's running powers of beta1 and beta2: setWeights recomputes them as pow(beta, step + 1), which differs in the
  // last bit from the product an uninterrupted run has accumulated; kept, so a resumed run ends exactly where it would have.
  const powers = adamPowers(optimizer);
  const powerValues = powers ? [Float32Array.from([(await powers[0].data())[0]!, (await powers[1].data())[0]!])] : [];
  // getWeights hands out Adam's own moment variables after a fresh step-count scalar: only that one is ours to free.
  adam[0]?.tensor.dispose();
  const { bytes, shapes } = await writeTensors(variables, path.join(dir, CHECKPOINT_BIN), [...adamValues, ...powerValues]);
  const adamShapes = adam.map((w) => [...w.tensor.shape]);
  writeAtomically(path.join(dir, CHECKPOINT_JSON), JSON.stringify({ format, position, shapes, bytes, adamShapes, powers: powerValues.length > 0 }));
}

/** Restore a checkpoint into freshly built state of the same run; returns where the run stood. */
export async function loadTaskCheckpoint<P extends object>(dir: string, format: string, variables: readonly tf.Variable[], optimizer: tf.Optimizer): Promise<P> {
  const file = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_JSON), 'utf8')) as { format: string; position: P; shapes: number[][]; bytes: number; adamShapes: number[][]; powers?: boolean };
  if (file.format !== format) throw new Error(`${path.join(dir, CHECKPOINT_JSON)} is a ${file.format} checkpoint, not ${format}: start the run again`);
  const bin = path.join(dir, CHECKPOINT_BIN);
  if (fs.statSync(bin).size !== file.bytes) throw new Error(`${bin} does not match its checkpoint.json (the process stopped while writing it): start the run again`);
  const sizes = file.adamShapes.map((s) => s.reduce((a, b) => a * b, 1));
  const trailing = readTensors(variables, bin, file.shapes, sizes.reduce((a, b) => a + b, 0) + (file.powers ? 2 : 0));
  let at = 0;
  // Adam keeps its moments by position (the order gradients are applied in, fixed by the trainer): names are only labels.
  const weights = file.adamShapes.map((shape, i) => ({ name: `adam-${i}`, tensor: tf.tensor(trailing.slice(at, (at += sizes[i]!)), shape) }));
  await optimizer.setWeights(weights);
  tf.dispose(weights.map((w) => w.tensor));
  const powers = adamPowers(optimizer);
  if (file.powers && powers) tf.tidy(() => powers.forEach((p, i) => p.assign(tf.scalar(trailing[at + i]!))));
  return file.position;
}

/** Adam's accBeta1 and accBeta2 (tfjs-core's AdamOptimizer keeps them as variables); null for another optimiser. */
function adamPowers(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | null {
  const { accBeta1, accBeta2 } = optimizer as unknown as { accBeta1?: unknown; accBeta2?: unknown };
  return accBeta1 instanceof tf.Variable && accBeta2 instanceof tf.Variable ? [accBeta1, accBeta2] : null;
}
