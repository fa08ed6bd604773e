/**
 * A task run's trained network (super-resolution, detection) as one float32 file and a JSON
 * manifest (format tag, the net's config, the tensors' shapes): what export and later previews
 * load. Auxiliary nets are not kept: they only serve training.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { readTensors, writeAtomically, writeTensors } from '../engine/train/weights';
import { makeFolders } from '../platform/user-paths';

export interface TaskWeightsFiles {
  file: string;
  manifest: string;
  format: string;
  /** The task, as messages name it. */
  task: string;
}

/** Write `variables` and a manifest holding `fields` (the config at least) beside their shapes. */
export async function saveTaskWeights(dir: string, files: TaskWeightsFiles, variables: readonly tf.Variable[], fields: { config: unknown; [field: string]: unknown }): Promise<{ bytes: number }> {
  makeFolders(dir, 'run folder');
  const { bytes, shapes } = await writeTensors(variables, path.join(dir, files.file));
  writeAtomically(path.join(dir, files.manifest), JSON.stringify({ format: files.format, ...fields, shapes }));
  return { bytes };
}

/** A net built from a finished run's manifest, with its weights; throws naming what is missing or does not match. */
export function loadTaskWeights<C, M extends { dispose(): void }>(dir: string, files: TaskWeightsFiles, create: (config: C) => M, variablesOf: (model: M) => tf.Variable[]): M {
  const manifestFile = path.join(dir, files.manifest);
  let manifest: { format: string; config: C; shapes: number[][] };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new Error(`${manifestFile} cannot be read (${(error as Error).message}): the run saved no weights, or they were moved`);
  }
  if (manifest.format !== files.format) throw new Error(`${manifestFile} is not a ${files.task} weights file of this version (${manifest.format})`);
  const model = create(manifest.config);
  try {
    readTensors(variablesOf(model), path.join(dir, files.file), manifest.shapes);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
