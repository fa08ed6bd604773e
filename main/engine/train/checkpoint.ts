/**
 * The end-of-epoch checkpoint a run resumes from: the network (weights and BatchNorm statistics),
 * every auxiliary variable (Trainer.auxiliaryState), the optimiser's momentum and step count, and
 * where the run stood (epoch, step, accuracies). The tensors go to checkpoint.bin and the rest to
 * checkpoint.json, each written to a temporary name and renamed; the JSON names the tensor
 * file's shapes and is written last, so a kill between the two leaves the previous checkpoint's
 * JSON refusing the new tensor file rather than a silent mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { makeFolders } from '../../platform/user-paths';
import type { ResNetModel } from '../nets/resnet-model';
import type { SgdBufferState, SgdNesterov } from './sgd';
import type { Trainer } from './trainer';
import { readTensors, variablesOf, writeAtomically, writeTensors } from './weights';

const TENSORS_FILE = 'checkpoint.bin';
const STATE_FILE = 'checkpoint.json';

/** Where a run stood at the end of an epoch. */
export interface RunPosition {
  epoch: number;
  step: number;
  best: number;
  last: number;
  peakBytes: number;
}

interface CheckpointFile extends RunPosition {
  format: typeof FORMAT;
  shapes: number[][];
  bytes: number;
  /** The optimiser's step and where its momentum buffers go; their values follow the tensors in checkpoint.bin. */
  sgd: { step: number; buffers: Omit<SgdBufferState, 'values'>[] };
}

const FORMAT = 'blockwise-checkpoint/2';
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export interface TrainingState {
  model: ResNetModel;
  trainer: Trainer;
  sgd: SgdNesterov;
}

const stateVariables = ({ model, trainer }: TrainingState): tf.Variable[] => [...variablesOf(model), ...trainer.auxiliaryState()];

export async function saveCheckpoint(dir: string, state: TrainingState, position: RunPosition): Promise<void> {
  // The run's folder beside the database: a link there may lead anywhere, /proc included.
  makeFolders(dir, 'run folder');
  const variables = stateVariables(state);
  const sgd = state.sgd.getState(variables);
  const momentum = sgd.buffers.map((buffer) => new Float32Array(buffer.values));
  const { bytes, shapes } = await writeTensors(variables, path.join(dir, TENSORS_FILE), momentum);
  const file: CheckpointFile = { format: FORMAT, ...position, shapes, bytes, sgd: { step: sgd.step, buffers: sgd.buffers.map(({ values: _, ...where }) => where) } };
  writeAtomically(path.join(dir, STATE_FILE), JSON.stringify(file));
}

export const hasCheckpoint = (dir: string): boolean => fs.existsSync(path.join(dir, STATE_FILE));

/** A finished run needs no checkpoint: its weights are saved. The JSON goes first, so a half-removed checkpoint is never taken for one. */
export function removeCheckpoint(dir: string): void {
  for (const file of [STATE_FILE, TENSORS_FILE]) fs.rmSync(path.join(dir, file), { force: true });
}

/** Restore a checkpoint into freshly built state of the same run; returns where the run stood. */
export function loadCheckpoint(dir: string, state: TrainingState): RunPosition {
  const file = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as CheckpointFile;
  if (file.format !== FORMAT) throw new Error(`${path.join(dir, STATE_FILE)} is not a Blockwise checkpoint of this version (${String(file.format)}): start the run again`);
  const tensorsFile = path.join(dir, TENSORS_FILE);
  if (fs.statSync(tensorsFile).size !== file.bytes) throw new Error(`${tensorsFile} does not match its checkpoint.json (the process stopped while writing it): the previous epoch's state is gone; start the run again`);
  const variables = stateVariables(state);
  const momentum = readTensors(variables, tensorsFile, file.shapes, file.sgd.buffers.reduce((n, b) => n + size(b.shape), 0));
  let at = 0;
  const buffers = file.sgd.buffers.map((where) => ({ ...where, values: momentum.slice(at, (at += size(where.shape))) }));
  state.sgd.setState({ step: file.sgd.step, buffers }, variables);
  return { epoch: file.epoch, step: file.step, best: file.best, last: file.last, peakBytes: file.peakBytes };
}
