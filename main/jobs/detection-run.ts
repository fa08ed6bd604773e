/**
 * One detection run's work inside a job worker (issue 16): it builds the built-in MNIST-on-canvas
 * set (or reads a COCO / VOC folder), the FCOS-style detector and the trainer of its method
 * (../engine/tasks/detection/), and trains it in the task epoch loop (./task-epochs.ts). Every
 * epoch ends with mAP@[.5:.95] and mAP@0.5 on the test canvases, the preview of predicted boxes
 * on a few of them (./det-preview.ts), and a checkpoint (network with its BatchNorm statistics,
 * auxiliary nets, Adam).
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import { DET_METRICS, type DetectionSettings, MNIST_CANVAS_DATASET } from '../../shared/engine/tasks';
import { selectBackend } from '../engine/backend/select';
import { buildMnistDetectionSet, type DetectionSet, detectionBatches, MNIST_CANVAS_DEFAULTS, type MnistCanvasOptions } from '../engine/tasks/detection/det-data';
import { type FolderDetections, loadFolderDetectionSet, readCocoFolder, readVocFolder } from '../engine/tasks/detection/det-readers';
import { createDetOptimizer, detectBatch, DetTrainer, evaluateDetection } from '../engine/tasks/detection/det-trainer';
import { createDetector, DETECTOR_DEFAULTS, type DetectorConfig, type DetectorModel } from '../engine/tasks/detection/detector';
import { writeDetPreview } from './det-preview';
import type { EmitJobEvent } from './events';
import { hasTaskCheckpoint } from './task-checkpoint';
import { runTaskEpochs } from './task-epochs';
import { loadTaskWeights, saveTaskWeights, type TaskWeightsFiles } from './task-weights';

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
const DET_WEIGHTS: TaskWeightsFiles = { file: 'det-weights.bin', manifest: 'det-weights.json', format: 'blockwise-det-weights/1', task: 'detection' };
export const DET_WEIGHTS_FILE = DET_WEIGHTS.file;
/** Test canvases the preview shows. */
const PREVIEW_IMAGES = 4;

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
  try {
    const position = await runTaskEpochs(
      {
        settings,
        filesDir,
        backend: backend.id,
        checkpointFormat: CHECKPOINT_FORMAT,
        state: () => [...trainer.trainableVariables(), ...model.stateVariables(), ...trainer.auxiliaryState()],
        optimizer,
        modules: trainer.modules.length,
        batches: (epochSeed) => detectionBatches(data.train, settings.batchSize, epochSeed),
        step: ({ images, boxes }, onPhase) => trainer.step(images, boxes, optimizer, onPhase),
        release: ({ images }) => images.dispose(),
        metrics: { map: DET_METRICS.map, map50: DET_METRICS.map50 },
        evaluate: () => evaluateDetection(model, evalSamples),
        preview: (dir, epoch, scores) => {
          const shown = data.test.slice(0, PREVIEW_IMAGES);
          const found = detectBatch(model, shown.map((s) => s.image));
          writeDetPreview(dir, { epoch, map: scores.map, map50: scores.map50, classes: data.classes, samples: shown.map((s, i) => ({ image: s.image, truth: s.boxes, predicted: found[i]! })) });
        },
      },
      emit,
      shouldStop,
    );
    if (filesDir) {
      // The trained detector: backbone, FPN and head with BatchNorm statistics.
      const { bytes } = await saveTaskWeights(filesDir, DET_WEIGHTS, detectorVariables(model), { config: model.config, classNames: data.classes });
      emit({ type: 'artifact', artifact: { kind: 'det-weights', path: filesDir, bytes, meta: { format: DET_WEIGHTS.format } } });
    }
    return { runId: job.runId, backend: backend.id, map: position.map, map50: position.map50, peakBytes: position.peakBytes };
  } finally {
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
}

const detectorVariables = (model: DetectorModel): tf.Variable[] => [...model.trainableVariables(), ...model.stateVariables()];

/** The class names a finished run's detector predicts, in label order. */
export function detClassNames(dir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, DET_WEIGHTS.manifest), 'utf8')) as { classNames?: string[]; config: DetectorConfig };
  return manifest.classNames ?? Array.from({ length: manifest.config.classes }, (_, i) => String(i));
}

/** A detector with a finished run's weights; throws naming what is missing or does not match. */
export const loadDetModel = (dir: string, seed = 0): DetectorModel => loadTaskWeights(dir, DET_WEIGHTS, (config: DetectorConfig) => createDetector(config, seed), detectorVariables);
