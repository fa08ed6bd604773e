/**
 * The deployable model of a run as a folder in the standard TF.js format: model.json (topology
 * and weights manifest) and one weights shard, which tf.loadLayersModel reads in a browser or
 * Node, plus card.json saying what the model is and how it was trained. Written with our own
 * file code (no tfjs-node here), each file to a temporary name and renamed; a failed export
 * leaves nothing behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Cut } from '../../../shared/engine/splits';
import type { DatasetCatalog } from '../../data/catalog';
import { type Normalization, preprocessingOf } from '../../data/preprocess';
import { APP_VERSION } from '../../platform/app-root';
import { checkUserPath, describeFsError, makeFolders } from '../../platform/user-paths';
import type { Store } from '../../store';
import type { ResNetModel } from '../nets/resnet-model';
import { ApiError } from '../../../shared/api/errors';
import { resolveCuts } from '../train/run-config';
import { loadRunModel, savedWeights } from '../train/run-training';
import { INPUT_NAME, OUTPUT_NAME, toLayersModel } from './layers-model';

export const MODEL_FILE = 'model.json';
/** The name tensorflowjs_converter gives a single shard. */
export const SHARD_FILE = 'group1-shard1of1.bin';
export const CARD_FILE = 'card.json';
/** Trained alongside the network by the local methods, needed by nothing that runs it. */
const AUXILIARY_NETS = 'auxiliary networks (training only)';
/** What the export leaves out of a run trained with `method`. */
export const droppedBy = (method: string | null): string[] => (method === null || method === 'e2e' ? [] : [AUXILIARY_NETS]);

/** What the model cannot know about itself: how and on what it was trained. */
export interface TrainingFacts {
  runId: number | null;
  method: string | null;
  /** The split as configured (preset id or cut list) and the cuts it resolved to; null and [] for end-to-end. */
  split: string | Cut[] | null;
  cuts: Cut[];
  dataset: { id: string; name: string } | null;
  /** Class names in label order (index = output index), when known. */
  classNames: string[] | null;
  /** What the inputs must be normalised with ((pixel / 255 - mean) / std per channel). */
  normalization: Normalization | null;
  /** Zero pixels the run added on every side of each image before normalising (inputShape is the padded size); absent when unknown. */
  padding?: number;
  /** Last and best epoch test accuracy the run recorded, and on how many test images. */
  testAccuracy: number | null;
  bestTestAccuracy: number | null;
  testImages: number | null;
  /** The backend the run trained on. */
  backend: string | null;
}

export interface ModelCard extends TrainingFacts {
  format: 'blockwise-model-card/1';
  net: string;
  depth: number;
  /** [height, width, channels] of one image, NHWC. */
  inputShape: [number, number, number];
  classes: number;
  input: string;
  /** Logits, no softmax. */
  output: string;
  dropped: string[];
  /** When the export was made, ISO 8601. */
  date: string;
  files: { model: string; weights: string };
}

export interface ExportResult {
  dir: string;
  /** Every file written, with its size. */
  files: { name: string; bytes: number }[];
  bytes: number;
  card: ModelCard;
}

/** An export goes into a new or empty folder only: never mixed with, or over, other files. */
export function checkExportDir(dir: string): void {
  const { path: folder, exists } = checkUserPath(dir, { kind: 'folder', what: 'export folder', action: 'export into' });
  if (!exists) return;
  let entries: string[];
  try {
    entries = fs.readdirSync(folder);
  } catch (error) {
    throw describeFsError(error, folder, 'export into') ?? error;
  }
  if (entries.length) {
    throw new ApiError('bad_request', `Cannot export into ${dir}: the folder is not empty. Give a new folder (it will be created), or empty or delete this one.`);
  }
}

/** The layers model's artifacts as tf.io hands them to a save handler. */
export async function artifactsOf(layersModel: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await layersModel.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured?.modelTopology || captured.modelTopology instanceof ArrayBuffer || !captured.weightSpecs || !captured.weightData) {
    throw new Error('TF.js saved no JSON topology or weights for the exported model');
  }
  return captured;
}

/** Write every file under a temporary name, then rename them all; on failure remove what was made. */
export function writeFolder(dir: string, files: { name: string; data: string | Uint8Array }[]): void {
  const created = makeFolders(dir, 'export folder');
  const made: string[] = [];
  try {
    for (const { name, data } of files) {
      const file = path.join(dir, name);
      made.push(`${file}.partial`);
      fs.writeFileSync(`${file}.partial`, data);
    }
    for (const { name } of files) {
      const file = path.join(dir, name);
      made.push(file);
      fs.renameSync(`${file}.partial`, file);
    }
  } catch (error) {
    // The folder was new or empty (checkExportDir): everything in it is ours.
    if (created) fs.rmSync(created, { recursive: true, force: true });
    else for (const file of made) fs.rmSync(file, { force: true });
    throw describeFsError(error, dir, 'write the model into') ?? error;
  }
}

/**
 * The layers model (model.json and one weights shard) and its card (card.json) written into `dir`,
 * which checkExportDir has allowed. The caller disposes the layers model.
 */
export async function writeExport(dir: string, layersModel: tfl.LayersModel, card: object): Promise<{ files: { name: string; bytes: number }[]; bytes: number }> {
  const artifacts = await artifactsOf(layersModel);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology!,
    format: 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: `Blockwise Studio ${APP_VERSION}`,
    weightsManifest: [{ paths: [SHARD_FILE], weights: artifacts.weightSpecs! }],
  };
  const files = [
    { name: SHARD_FILE, data: new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData!)) },
    { name: MODEL_FILE, data: JSON.stringify(modelJson) },
    { name: CARD_FILE, data: `${JSON.stringify(card, null, 2)}\n` },
  ];
  writeFolder(dir, files);
  const sizes = files.map(({ name, data }) => ({ name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength }));
  return { files: sizes, bytes: sizes.reduce((n, f) => n + f.bytes, 0) };
}

/** Export `model` (backbone + head) into the new or empty folder `dir`. */
export async function exportModel(model: ResNetModel, dir: string, facts: TrainingFacts, now = new Date()): Promise<ExportResult> {
  checkExportDir(dir);
  const { height, width, channels } = model.input;
  const card: ModelCard = {
    format: 'blockwise-model-card/1',
    net: `resnet${model.depth}`,
    depth: model.depth,
    inputShape: [height, width, channels],
    classes: model.classes,
    input: INPUT_NAME,
    output: OUTPUT_NAME,
    ...facts,
    dropped: droppedBy(facts.method),
    date: now.toISOString(),
    files: { model: MODEL_FILE, weights: SHARD_FILE },
  };
  const layersModel = toLayersModel(model);
  try {
    return { dir, ...(await writeExport(dir, layersModel, card)), card };
  } finally {
    layersModel.dispose();
  }
}

/** Read an exported folder back as TF.js would from a server: model.json, then the shards it lists. */
export async function loadExportedModel(dir: string): Promise<tfl.LayersModel> {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    // A copy per shard: a Buffer may share a larger pooled ArrayBuffer.
    const shards = manifest.flatMap((group) => group.paths.map((p) => new Uint8Array(fs.readFileSync(path.join(dir, p))).buffer));
    return [specs, shards];
  });
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}

export function readCard(dir: string): ModelCard {
  return JSON.parse(fs.readFileSync(path.join(dir, CARD_FILE), 'utf8')) as ModelCard;
}

/**
 * Export a finished run's network into `out` (new or empty) and record it as the run's 'export'
 * artifact. Refuses, writing nothing, a run without saved weights or an `out` in use.
 */
export async function exportRun(deps: { store: Store; datasets: DatasetCatalog }, runId: number, out: string): Promise<ExportResult> {
  const weights = savedWeights(deps.store, runId, 'exported');
  const dir = path.resolve(out);
  // Before the slow part (opening the data set), so a wrong --out fails at once.
  checkExportDir(dir);
  const run = deps.store.runs.get(runId);
  const { config, dataset, model } = await loadRunModel(deps, runId, weights);
  try {
    const accuracies = deps.store.metrics.series(runId, 'epoch').find((s) => s.key === 'test_acc')?.values ?? [];
    const e2e = config.method === 'e2e';
    const result = await exportModel(model, dir, {
      runId,
      method: config.method,
      // End-to-end training has no cuts, whatever split the config carries.
      split: e2e ? null : config.split,
      cuts: e2e ? [] : resolveCuts(config),
      // The name the set was registered under (what the studio shows), not the format's.
      dataset: { id: config.dataset, name: deps.datasets.get(config.dataset).name },
      classNames: [...dataset.classes],
      // The run's own (its padding is in inputShape: the exported net takes the padded image).
      normalization: preprocessingOf(dataset).normalization,
      padding: config.input.pad ?? 0,
      testAccuracy: accuracies.at(-1) ?? null,
      bestTestAccuracy: accuracies.length ? Math.max(...accuracies) : null,
      testImages: Math.min(config.testLimit ?? Infinity, dataset.splits.test.length),
      backend: run.environment?.backend ?? null,
    });
    deps.store.metrics.addArtifact({ runId, kind: 'export', path: dir, bytes: result.bytes, meta: { format: 'tfjs-layers-model', files: result.files.map((f) => f.name), dropped: result.card.dropped } });
    return result;
  } finally {
    model.dispose();
  }
}
