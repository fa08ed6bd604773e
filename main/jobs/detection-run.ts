/**
 * One detection run's work inside a job worker (issue 16; like ./super-resolution-run.ts): it
 * builds the built-in MNIST-on-canvas set, the FCOS-style detector and the trainer of its method
 * (../engine/tasks/detection/), continues from the run's checkpoint if it has one, and trains
 * epoch by epoch. Every step's loss per module goes out as job events; every epoch ends with
 * mAP@[.5:.95] and mAP@0.5 on the test canvases, the preview of predicted boxes on a few of them
 * (./det-preview.ts), and a checkpoint (network with its BatchNorm statistics, auxiliary nets,
 * Adam). Batches are drawn from (seed, epoch), so a resumed run draws what an uninterrupted one does.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import type { MetricPoint } from '../../shared/api/schemas';
import { DET_METRICS, type DetectionSettings, MNIST_CANVAS_DATASET } from '../../shared/engine/tasks';
import { mixSeed } from '../data/random';
import { selectBackend } from '../engine/backend/select';
import { MEMORY_METHOD, measurePeak } from '../engine/memory/probe';
import { buildMnistDetectionSet, type DetectionSet, detectionBatches, MNIST_CANVAS_DEFAULTS, type MnistCanvasOptions } from '../engine/tasks/detection/det-data';
import { type FolderDetections, loadFolderDetectionSet, readCocoFolder, readVocFolder } from '../engine/tasks/detection/det-readers';
import { createDetOptimizer, detectBatch, DetTrainer, evaluateDetection } from '../engine/tasks/detection/det-trainer';
import { createDetector, DETECTOR_DEFAULTS, type DetectorConfig, type DetectorModel } from '../engine/tasks/detection/detector';
import { lossValues } from '../engine/train/trainer';
import { readTensors, writeAtomically, writeTensors } from '../engine/train/weights';
import { APP_ROOT } from '../platform/app-root';
import { collectEnvironment } from '../platform/environment';
import { makeFolders } from '../platform/user-paths';
import { writeDetPreview } from './det-preview';
import { type EmitJobEvent, JobCancelled } from './events';
import { hasTaskCheckpoint, loadTaskCheckpoint, saveTaskCheckpoint } from './task-checkpoint';

export interface DetectionJob {
  runId: number;
  settings: DetectionSettings;
  filesDir: string | null;
}

export interface DetectionResult {
  runId: number;
  backend: string;
  map: number;
  map50: number;
  peakBytes: number;
}

const CHECKPOINT_FORMAT = 'blockwise-det-checkpoint/1';
export const DET_WEIGHTS_FILE = 'det-weights.bin';
export const DET_WEIGHTS_MANIFEST = 'det-weights.json';
export const DET_WEIGHTS_FORMAT = 'blockwise-det-weights/1';
/** Test canvases the preview shows. */
const PREVIEW_IMAGES = 4;

interface DetPosition {
  epoch: number;
  map: number;
  map50: number;
  peakBytes: number;
}

export const hasDetCheckpoint = (dir: string): boolean => hasTaskCheckpoint(dir, CHECKPOINT_FORMAT);

/** The detector for these settings and images (the MNIST canvases: 1 channel, 10 digit classes). */
export const detectorConfigOf = (s: DetectionSettings, images: { channels: 1 | 3; classes: number } = { channels: 1, classes: 10 }): DetectorConfig => ({
  ...DETECTOR_DEFAULTS,
  ...images,
  widths: s.widths,
  blocksPerStage: s.blocksPerStage,
  fpn: s.fpn,
  towerConvs: s.towerConvs,
});

/** A COCO or VOC folder's annotations, read and checked (every refusal names the file); nothing is decoded. */
export function readDetectionFolder(s: DetectionSettings): FolderDetections {
  if (s.dataset === MNIST_CANVAS_DATASET || !s.folder) throw new Error('These settings read the built-in canvases, not a folder');
  return s.dataset === 'coco' ? readCocoFolder(s.folder.path) : readVocFolder(s.folder.path);
}

/** The images a run trains and is scored on: the built-in canvases, or a folder's images stretched to its size. */
export async function loadDetectionData(s: DetectionSettings): Promise<DetectionSet> {
  if (s.dataset === MNIST_CANVAS_DATASET) return buildMnistDetectionSet(canvasOptionsOf(s));
  const { size, testFraction, seed } = s.folder!;
  return loadFolderDetectionSet(readDetectionFolder(s), { size, testFraction, seed }, `${s.dataset.toUpperCase()} folder ${s.folder!.path}`);
}

/** The canvases of these settings: digit sizes scale with the canvas (the engine's defaults are for 64 px). */
export function canvasOptionsOf(s: DetectionSettings): Partial<MnistCanvasOptions> {
  const { size, train, test, seed } = s.canvas;
  const [lo, hi] = MNIST_CANVAS_DEFAULTS.digitSize;
  const scaled = (v: number) => Math.max(4, Math.min(size, Math.round((v * size) / MNIST_CANVAS_DEFAULTS.size)));
  return { size, train, test, seed, digitSize: [scaled(lo), scaled(hi)] };
}

export async function trainDetection(job: DetectionJob, emit: EmitJobEvent, shouldStop: () => boolean = () => false): Promise<DetectionResult> {
  const { settings, filesDir } = job;
  const backend = await selectBackend(settings.backend);
  const data = await loadDetectionData(settings);
  const evalSamples = data.test.slice(0, settings.evalImages);
  const model = createDetector(detectorConfigOf(settings, { channels: data.channels, classes: data.classes.length }), settings.seed);
  const trainer = new DetTrainer({ model, method: settings.method, cuts: settings.cuts, seed: settings.seed });
  const optimizer = createDetOptimizer(settings.lr);
  const stateOf = () => [...trainer.trainableVariables(), ...model.stateVariables(), ...trainer.auxiliaryState()];
  try {
    let position: DetPosition = { epoch: 0, map: 0, map50: 0, peakBytes: 0 };
    if (filesDir && hasDetCheckpoint(filesDir)) position = await loadTaskCheckpoint<DetPosition>(filesDir, CHECKPOINT_FORMAT, stateOf(), optimizer);
    emit({ type: 'started', backend: backend.id, environment: collectEnvironment(backend.id, APP_ROOT, { tfjs: tf.version_core }) });
    const { epochs, stepsPerEpoch, batchSize } = settings;
    const modules = trainer.modules.length;
    let stepSeconds = 0;
    let stepsHere = 0;
    for (let epoch = position.epoch + 1; epoch <= epochs; epoch++) {
      const next = detectionBatches(data.train, batchSize, mixSeed(settings.seed, epoch));
      const epochStarted = performance.now();
      for (let step = 1; step <= stepsPerEpoch; step++) {
        await new Promise((resolve) => setImmediate(resolve));
        if (shouldStop()) throw new JobCancelled();
        const globalStep = (epoch - 1) * stepsPerEpoch + step;
        const started = performance.now();
        const { images, boxes } = next();
        let losses: number[];
        try {
          if (globalStep === 1) {
            let tensors: tf.Scalar[] = [];
            const memory = await measurePeak((onPhase) => {
              tensors = trainer.step(images, boxes, optimizer, onPhase);
            });
            losses = await lossValues(tensors);
            position.peakBytes = memory.peakBytes;
            const at = Date.now();
            // The trainer's last phase is the optimiser update, not a module: only the modules' peaks are per-module rows.
            const perModule = memory.phasePeakBytes.slice(0, modules).map((bytes, module) => ({ step: 0, module, peakBytes: bytes, method: MEMORY_METHOD, at }));
            emit({ type: 'records', memory: [{ step: 0, module: null, peakBytes: memory.peakBytes, method: MEMORY_METHOD, at }, ...perModule] });
          } else {
            losses = await lossValues(trainer.step(images, boxes, optimizer));
          }
        } finally {
          images.dispose();
        }
        stepSeconds += (performance.now() - started) / 1000;
        stepsHere++;
        const at = Date.now();
        emit({ type: 'records', metrics: losses.map((value, module) => ({ scope: 'step', step: globalStep, key: `loss/m${module}`, value, at })) });
        const mean = stepSeconds / stepsHere;
        emit({ type: 'progress', progress: { epoch, epochs, step, stepsPerEpoch, losses, imagesPerSecond: batchSize / mean, etaSeconds: (epochs * stepsPerEpoch - globalStep) * mean } });
      }
      const epochSeconds = (performance.now() - epochStarted) / 1000;
      const scores = evaluateDetection(model, evalSamples);
      position = { ...position, epoch, map: scores.map, map50: scores.map50 };
      if (filesDir) {
        const shown = data.test.slice(0, PREVIEW_IMAGES);
        const found = detectBatch(model, shown.map((s) => s.image));
        writeDetPreview(filesDir, { epoch, map: scores.map, map50: scores.map50, classes: data.classes, samples: shown.map((s, i) => ({ image: s.image, truth: s.boxes, predicted: found[i]! })) });
      }
      const at = Date.now();
      const points: MetricPoint[] = [
        { scope: 'epoch', step: epoch, key: DET_METRICS.map, value: scores.map, at },
        { scope: 'epoch', step: epoch, key: DET_METRICS.map50, value: scores.map50, at },
        { scope: 'epoch', step: epoch, key: 'images_per_second', value: (stepsPerEpoch * batchSize) / epochSeconds, at },
      ];
      emit({ type: 'records', metrics: points, commit: true });
      if (filesDir) {
        await saveTaskCheckpoint(filesDir, CHECKPOINT_FORMAT, stateOf(), optimizer, position);
        emit({ type: 'checkpoint', epoch });
      }
    }
    if (filesDir) {
      const { bytes } = await saveDetWeights(model, filesDir, data.classes);
      emit({ type: 'artifact', artifact: { kind: 'det-weights', path: filesDir, bytes, meta: { format: DET_WEIGHTS_FORMAT } } });
    }
    return { runId: job.runId, backend: backend.id, map: position.map, map50: position.map50, peakBytes: position.peakBytes };
  } finally {
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
}

/** The trained detector (backbone, FPN and head with BatchNorm statistics; no auxiliary nets). */
async function saveDetWeights(model: DetectorModel, dir: string, classNames: readonly string[]): Promise<{ bytes: number }> {
  makeFolders(dir, 'run folder');
  const { bytes, shapes } = await writeTensors([...model.trainableVariables(), ...model.stateVariables()], path.join(dir, DET_WEIGHTS_FILE));
  writeAtomically(path.join(dir, DET_WEIGHTS_MANIFEST), JSON.stringify({ format: DET_WEIGHTS_FORMAT, config: model.config, classNames, shapes }));
  return { bytes };
}

/** The class names a finished run's detector predicts, in label order. */
export function detClassNames(dir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, DET_WEIGHTS_MANIFEST), 'utf8')) as { classNames?: string[]; config: DetectorConfig };
  return manifest.classNames ?? Array.from({ length: manifest.config.classes }, (_, i) => String(i));
}

/** A detector with a finished run's weights; throws naming what is missing or does not match. */
export function loadDetModel(dir: string, seed = 0): DetectorModel {
  const manifestFile = path.join(dir, DET_WEIGHTS_MANIFEST);
  let manifest: { format: string; config: DetectorConfig; shapes: number[][] };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new Error(`${manifestFile} cannot be read (${(error as Error).message}): the run saved no weights, or they were moved`);
  }
  if (manifest.format !== DET_WEIGHTS_FORMAT) throw new Error(`${manifestFile} is not a detection weights file of this version (${manifest.format})`);
  const model = createDetector(manifest.config, seed);
  try {
    readTensors([...model.trainableVariables(), ...model.stateVariables()], path.join(dir, DET_WEIGHTS_FILE), manifest.shapes);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
