/**
 * The talking-head run's checkpoint and its finished model file.
 *
 * Checkpoint: every built stage's variables (by name, in Params order), the current stage's
 * Adam slots (getWeights, plus its bias-correction powers so a resumed step is bit-identical),
 * each stage's extra state (an RNG position, say) and where the run stood (stage, step). Values
 * go to checkpoint.bin, the rest to checkpoint.json, each written to a temporary name and renamed,
 * the JSON last and naming the binary's size: the same two names as the local-learning
 * checkpoint, so the job system's hasCheckpoint/removeCheckpoint (a finished run drops it) work
 * for both kinds.
 *
 * Model file: model.json (format, the run's settings, every variable's name, shape and offset)
 * and model.bin (one little-endian float32 array), what inference and evaluation load.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { concatFloats, writeAtomically } from '../../engine/train/weights';
import { makeFolders } from '../../platform/user-paths';
import type { Params } from '../model/nn';
import type { SpeakStage, SpeakStageName } from './stage';

const STATE_FILE = 'checkpoint.json';
const TENSORS_FILE = 'checkpoint.bin';
const CHECKPOINT_FORMAT = 'blockwise-speak-checkpoint/1';

export const MODEL_MANIFEST = 'model.json';
export const MODEL_BIN = 'model.bin';
export const MODEL_FORMAT = 'blockwise-speak-model/1';

/** Where a run stands: `step` optimiser steps of stage `stage` (an index into the run's stage order) are done. */
export interface SpeakPosition {
  stage: number;
  step: number;
}

interface SavedTensor {
  name: string;
  shape: number[];
  /** Which of the stage's Params stores (0: params, then extraParams) holds it. */
  store?: number;
}

interface SavedOptimizer {
  iterations: number;
  slots: SavedTensor[];
  accBeta: [number, number] | null;
}

interface SavedStage {
  name: SpeakStageName;
  variables: SavedTensor[];
  /** The stage being trained keeps its optimisers (optimizer, then extraOptimizers); finished stages need none. */
  optimizers: SavedOptimizer[];
  state?: unknown;
}

interface CheckpointFile {
  format: typeof CHECKPOINT_FORMAT;
  position: SpeakPosition;
  stages: SavedStage[];
  bytes: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Adam's private bias-correction powers: tf's setWeights recomputes them with pow(), a few ulps off the product it trains with. */
interface AdamPowers {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

async function floatsOf(tensor: tf.Tensor): Promise<Float32Array> {
  const data = await tensor.data();
  return data instanceof Float32Array ? data : Float32Array.from(data as Int32Array);
}

export const hasSpeakCheckpoint = (dir: string): boolean => fs.existsSync(path.join(dir, STATE_FILE));

/** Every Params store a stage trains: its own, then any extra ones. */
export const storesOf = (stage: SpeakStage): Params[] => [stage.params, ...(stage.extraParams ?? [])];
const optimizersOf = (stage: SpeakStage): tf.Optimizer[] => [stage.optimizer, ...(stage.extraOptimizers ?? [])];

async function saveOptimizer(optimizer: tf.Optimizer, arrays: Float32Array[]): Promise<SavedOptimizer> {
  const [iterations, ...slots] = await optimizer.getWeights();
  for (const slot of slots) arrays.push(await floatsOf(slot.tensor));
  const powers = optimizer as unknown as AdamPowers;
  const accBeta: [number, number] | null = powers.accBeta1 && powers.accBeta2 ? [(await powers.accBeta1.data())[0]!, (await powers.accBeta2.data())[0]!] : null;
  const saved = { iterations: iterations ? (await iterations.tensor.data())[0]! : 0, slots: slots.map((s) => ({ name: s.name, shape: [...s.tensor.shape] })), accBeta };
  if (iterations) iterations.tensor.dispose(); // saveIterations makes a fresh scalar each call
  return saved;
}

/** Save the run's state: `stages` are those built so far, `position.stage` the one training (its optimisers are kept). */
export async function saveSpeakCheckpoint(dir: string, stages: readonly SpeakStage[], position: SpeakPosition): Promise<void> {
  makeFolders(dir, 'run folder');
  const arrays: Float32Array[] = [];
  const saved: SavedStage[] = [];
  for (const [index, stage] of stages.entries()) {
    const variables: SavedTensor[] = [];
    for (const [store, params] of storesOf(stage).entries()) {
      for (const { name, variable } of params.variables()) {
        arrays.push(await floatsOf(variable));
        variables.push({ name, shape: [...variable.shape], store });
      }
    }
    const optimizers: SavedOptimizer[] = [];
    if (index === position.stage) for (const optimizer of optimizersOf(stage)) optimizers.push(await saveOptimizer(optimizer, arrays));
    const state = stage.getState?.();
    saved.push({ name: stage.name, variables, optimizers, ...(state === undefined ? {} : { state }) });
  }
  const bytes = new Uint8Array(concatFloats(arrays).buffer);
  writeAtomically(path.join(dir, TENSORS_FILE), bytes);
  const file: CheckpointFile = { format: CHECKPOINT_FORMAT, position, stages: saved, bytes: bytes.length };
  writeAtomically(path.join(dir, STATE_FILE), JSON.stringify(file));
}

/** A checkpoint read from disk; restore each stage with restoreStage as the run rebuilds it. */
export interface SpeakCheckpoint {
  position: SpeakPosition;
  /** Stage name -> its saved variables, optimiser slots and state, with the values. */
  stages: Map<SpeakStageName, { saved: SavedStage; values: Float32Array[]; slots: Float32Array[][] }>;
}

export function readSpeakCheckpoint(dir: string): SpeakCheckpoint {
  const stateFile = path.join(dir, STATE_FILE);
  const file = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CheckpointFile;
  if (file.format !== CHECKPOINT_FORMAT) throw new Error(`${stateFile} is not a talking-head checkpoint of this version (${String(file.format)}): start the run again`);
  const tensorsFile = path.join(dir, TENSORS_FILE);
  const buffer = fs.readFileSync(tensorsFile);
  if (buffer.byteLength !== file.bytes) throw new Error(`${tensorsFile} does not match its checkpoint.json (the process stopped while writing it): start the run again`);
  const floats = new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
  let at = 0;
  const take = (shape: readonly number[]) => floats.subarray(at, (at += size(shape)));
  const stages = new Map<SpeakStageName, { saved: SavedStage; values: Float32Array[]; slots: Float32Array[][] }>();
  for (const saved of file.stages) {
    const values = saved.variables.map((v) => take(v.shape));
    const slots = saved.optimizers.map((o) => o.slots.map((s) => take(s.shape)));
    stages.set(saved.name, { saved, values, slots });
  }
  return { position: file.position, stages };
}

/**
 * Put saved values into a Params store. Variables are made on first use, so a freshly built
 * stage may not have them yet: they are made here under the same names and shapes (the nets then
 * find them), and a shape that differs says which variable and why.
 */
export function restoreParams(params: Params, saved: readonly SavedTensor[], values: readonly Float32Array[]): void {
  const prefix = params.prefix ? `${params.prefix}.` : '';
  saved.forEach(({ name, shape }, i) => {
    if (!name.startsWith(prefix)) throw new Error(`Saved variable ${name} is not under ${params.prefix}: the checkpoint or model file was made by other code`);
    const variable = params.get(name.slice(prefix.length), shape, 'zeros');
    tf.tidy(() => variable.assign(tf.tensor(values[i]!, shape)));
  });
}

/** Restore one rebuilt stage from the checkpoint: its variables, and its optimisers and state when it was the stage training. */
export async function restoreStage(checkpoint: SpeakCheckpoint, stage: SpeakStage): Promise<void> {
  const entry = checkpoint.stages.get(stage.name);
  if (!entry) return;
  const stores = storesOf(stage);
  for (const [store, params] of stores.entries()) {
    const mine = entry.saved.variables.map((v, i) => ({ v, i })).filter(({ v }) => (v.store ?? 0) === store);
    restoreParams(params, mine.map(({ v }) => v), mine.map(({ i }) => entry.values[i]!));
  }
  const outside = entry.saved.variables.find((v) => (v.store ?? 0) >= stores.length);
  if (outside) throw new Error(`The checkpoint's ${stage.name} stage has variable ${outside.name} in a store this build's stage does not have: start the run again`);
  const optimizers = optimizersOf(stage);
  if (entry.saved.optimizers.length && entry.saved.optimizers.length !== optimizers.length) {
    throw new Error(`The checkpoint's ${stage.name} stage has ${entry.saved.optimizers.length} optimisers; this build's has ${optimizers.length}: start the run again`);
  }
  for (const [k, saved] of entry.saved.optimizers.entries()) {
    const optimizer = optimizers[k]!;
    await optimizer.setWeights([
      { name: 'iter', tensor: tf.scalar(saved.iterations, 'int32') },
      ...saved.slots.map((slot, i) => ({ name: slot.name, tensor: tf.tensor(entry.slots[k]![i]!, slot.shape) })),
    ]);
    const powers = optimizer as unknown as AdamPowers;
    if (saved.accBeta && powers.accBeta1 && powers.accBeta2) {
      powers.accBeta1.assign(tf.scalar(saved.accBeta[0]));
      powers.accBeta2.assign(tf.scalar(saved.accBeta[1]));
    }
  }
  if (entry.saved.state !== undefined) stage.setState?.(entry.saved.state);
}

// ---------------------------------------------------------------------------------------------
// The finished model

export interface SpeakModelManifest {
  format: typeof MODEL_FORMAT;
  /** The run's settings (size, each stage's widths): what rebuilding the nets needs. */
  settings: unknown;
  stages: { name: SpeakStageName; steps: number; variables: { name: string; shape: number[]; offset: number }[] }[];
  /** Floats in model.bin. */
  floats: number;
}

/** Write every stage's variables as model.json + model.bin into `dir`; returns the bytes written. */
export async function saveSpeakModel(dir: string, settings: unknown, stages: readonly { stage: SpeakStage; steps: number }[]): Promise<{ bytes: number }> {
  makeFolders(dir, 'model folder');
  const arrays: Float32Array[] = [];
  let offset = 0;
  const manifestStages: SpeakModelManifest['stages'] = [];
  for (const { stage, steps } of stages) {
    const variables: SpeakModelManifest['stages'][number]['variables'] = [];
    for (const { name, variable } of storesOf(stage).flatMap((params) => params.variables())) {
      arrays.push(await floatsOf(variable));
      variables.push({ name, shape: [...variable.shape], offset });
      offset += variable.size;
    }
    manifestStages.push({ name: stage.name, steps, variables });
  }
  const bytes = new Uint8Array(concatFloats(arrays).buffer);
  writeAtomically(path.join(dir, MODEL_BIN), bytes);
  const manifest: SpeakModelManifest = { format: MODEL_FORMAT, settings, stages: manifestStages, floats: offset };
  writeAtomically(path.join(dir, MODEL_MANIFEST), JSON.stringify(manifest, null, 1));
  return { bytes: bytes.length + Buffer.byteLength(JSON.stringify(manifest, null, 1)) };
}

/** A model file read back: its manifest and every variable's values by name. */
export function readSpeakModel(dir: string): { manifest: SpeakModelManifest; values: Map<string, { shape: number[]; values: Float32Array }> } {
  const manifestFile = path.join(dir, MODEL_MANIFEST);
  let manifest: SpeakModelManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as SpeakModelManifest;
  } catch (error) {
    throw new Error(`${manifestFile} cannot be read (${(error as Error).message}): ${dir} is not a trained talking-head model folder (blockwise speak train --out DIR writes one)`);
  }
  if (manifest.format !== MODEL_FORMAT) throw new Error(`${manifestFile} is not a talking-head model of this version (format ${String(manifest.format)})`);
  const binFile = path.join(dir, MODEL_BIN);
  const buffer = fs.readFileSync(binFile);
  if (buffer.byteLength !== manifest.floats * 4) throw new Error(`${binFile} has ${buffer.byteLength} bytes, not the ${manifest.floats * 4} its model.json describes: it is damaged`);
  const floats = new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
  const values = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const stage of manifest.stages) for (const v of stage.variables) values.set(v.name, { shape: v.shape, values: floats.subarray(v.offset, v.offset + size(v.shape)) });
  return { manifest, values };
}

/** Load a model file's variables into a Params store (e.g. one whose nets inference is about to run). */
export function loadSpeakModelInto(params: Params, dir: string, stage?: SpeakStageName): SpeakModelManifest {
  const { manifest, values } = readSpeakModel(dir);
  const prefix = params.prefix ? `${params.prefix}.` : '';
  const wanted = manifest.stages.filter((s) => !stage || s.name === stage).flatMap((s) => s.variables).filter((v) => v.name.startsWith(prefix));
  restoreParams(params, wanted, wanted.map((v) => values.get(v.name)!.values));
  return manifest;
}
