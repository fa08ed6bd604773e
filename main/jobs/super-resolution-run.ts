/**
 * One super-resolution run's work inside a job worker (like ../engine/train/train-run.ts for
 * classification): it reads the image folder's photographs, builds the EDSR and the trainer of
 * its method (../engine/tasks/super-resolution/), continues from the run's checkpoint if it has
 * one, and trains epoch by epoch. Every step's loss per module goes out as job events; every
 * epoch ends with PSNR-Y and SSIM-Y on the test images, the low-res / output / high-res preview
 * written beside the database (./sr-preview.ts), and a checkpoint (network, auxiliary nets, Adam).
 * Patches are drawn from (seed, epoch), so a resumed run draws exactly what an uninterrupted one does.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import type { MetricPoint } from '../../shared/api/schemas';
import { SR_METRICS, type SuperResolutionSettings } from '../../shared/engine/tasks';
import type { RgbImage } from '../data/image-codec';
import { mixSeed } from '../data/random';
import { selectBackend } from '../engine/backend/select';
import { MEMORY_METHOD, measurePeak } from '../engine/memory/probe';
import { createEdsr, type EdsrConfig, type EdsrModel } from '../engine/tasks/super-resolution/edsr';
import { cropImage, makeSrPair, patchSampler, readPhotos, type SrPair } from '../engine/tasks/super-resolution/sr-data';
import { createSrOptimizer, evaluateSr, SrTrainer, superResolve } from '../engine/tasks/super-resolution/sr-trainer';
import { lossValues } from '../engine/train/trainer';
import { readTensors, writeAtomically, writeTensors } from '../engine/train/weights';
import { APP_ROOT } from '../platform/app-root';
import { collectEnvironment } from '../platform/environment';
import { makeFolders } from '../platform/user-paths';
import { type EmitJobEvent, JobCancelled } from './events';
import { writeSrPreview } from './sr-preview';
import { hasTaskCheckpoint, loadTaskCheckpoint, saveTaskCheckpoint } from './task-checkpoint';

/** Everything a worker needs: plain data, so it crosses a worker boundary. */
export interface SuperResolutionJob {
  runId: number;
  settings: SuperResolutionSettings;
  /** The image folder's photographs by split, resolved by the main side when the run starts. */
  files: { train: string[]; test: string[] };
  /** Checkpoint, weights and preview go here; null keeps no files (an in-memory database). */
  filesDir: string | null;
}

export interface SuperResolutionResult {
  runId: number;
  backend: string;
  psnr: number;
  ssim: number;
  peakBytes: number;
}

const CHECKPOINT_FORMAT = 'blockwise-sr-checkpoint/1';
export const SR_WEIGHTS_FILE = 'sr-weights.bin';
export const SR_WEIGHTS_MANIFEST = 'sr-weights.json';
export const SR_WEIGHTS_FORMAT = 'blockwise-sr-weights/1';

interface SrPosition {
  epoch: number;
  psnr: number;
  ssim: number;
  peakBytes: number;
}

export const hasSrCheckpoint = (dir: string): boolean => hasTaskCheckpoint(dir, CHECKPOINT_FORMAT);

export const edsrConfigOf = (s: SuperResolutionSettings): EdsrConfig => ({ scale: s.scale, features: s.features, blocks: s.blocks, resScale: s.resScale });

/** The test pairs a run is scored on: the centre evalCrop x evalCrop of each LR test image (all of it if smaller) and its HR. */
export function evaluationPairs(photos: readonly RgbImage[], settings: Pick<SuperResolutionSettings, 'scale' | 'evalCrop'>): SrPair[] {
  return photos.map((photo) => {
    const { lr, hr } = makeSrPair(photo, settings.scale);
    const w = Math.min(settings.evalCrop, lr.width);
    const h = Math.min(settings.evalCrop, lr.height);
    const x = Math.floor((lr.width - w) / 2);
    const y = Math.floor((lr.height - h) / 2);
    const s = settings.scale;
    return { lr: cropImage(lr, x, y, w, h), hr: cropImage(hr, x * s, y * s, w * s, h * s) };
  });
}

export async function trainSuperResolution(job: SuperResolutionJob, emit: EmitJobEvent, shouldStop: () => boolean = () => false): Promise<SuperResolutionResult> {
  const { settings, filesDir } = job;
  const backend = await selectBackend(settings.backend);
  const trainPairs = readPhotos(job.files.train.slice(0, settings.trainImages ?? job.files.train.length)).map((p) => makeSrPair(p, settings.scale));
  const evalPairs = evaluationPairs(readPhotos(job.files.test.slice(0, settings.evalImages)), settings);
  const model = createEdsr(edsrConfigOf(settings), settings.seed);
  const trainer = new SrTrainer({ model, method: settings.method, cuts: settings.cuts, seed: settings.seed, ...(settings.glcan ? { glcan: settings.glcan } : {}), ...(settings.localConvs ? { localConvs: settings.localConvs } : {}) });
  const optimizer = createSrOptimizer(settings.lr);
  try {
    let position: SrPosition = { epoch: 0, psnr: 0, ssim: 0, peakBytes: 0 };
    if (filesDir && hasSrCheckpoint(filesDir)) position = await loadTaskCheckpoint<SrPosition>(filesDir, CHECKPOINT_FORMAT, trainer.trainableVariables(), optimizer);
    emit({ type: 'started', backend: backend.id, environment: collectEnvironment(backend.id, APP_ROOT, { tfjs: tf.version_core }) });
    const { epochs, stepsPerEpoch, batchSize } = settings;
    let stepSeconds = 0;
    let stepsHere = 0;
    for (let epoch = position.epoch + 1; epoch <= epochs; epoch++) {
      const next = patchSampler(trainPairs, { batch: batchSize, lrPatch: settings.patch, scale: settings.scale }, mixSeed(settings.seed, epoch));
      const epochStarted = performance.now();
      for (let step = 1; step <= stepsPerEpoch; step++) {
        // A turn of the event loop, so a cancel is seen on backends whose awaits resolve at once.
        await new Promise((resolve) => setImmediate(resolve));
        if (shouldStop()) throw new JobCancelled();
        const globalStep = (epoch - 1) * stepsPerEpoch + step;
        const started = performance.now();
        const { lr, hr } = next();
        let losses: number[];
        try {
          if (globalStep === 1) {
            // The first step runs under the memory probe: whole step and each module, as classification's.
            let tensors: tf.Scalar[] = [];
            const memory = await measurePeak((onPhase) => {
              tensors = trainer.step(lr, hr, optimizer, onPhase);
            });
            losses = await lossValues(tensors);
            position.peakBytes = memory.peakBytes;
            const at = Date.now();
            emit({ type: 'records', memory: [{ step: 0, module: null, peakBytes: memory.peakBytes, method: MEMORY_METHOD, at }, ...memory.phasePeakBytes.map((bytes, module) => ({ step: 0, module, peakBytes: bytes, method: MEMORY_METHOD, at }))] });
          } else {
            losses = await lossValues(trainer.step(lr, hr, optimizer));
          }
        } finally {
          tf.dispose([lr, hr]);
        }
        const took = (performance.now() - started) / 1000;
        stepSeconds += took;
        stepsHere++;
        const at = Date.now();
        emit({ type: 'records', metrics: losses.map((value, module) => ({ scope: 'step', step: globalStep, key: `loss/m${module}`, value, at })) });
        const mean = stepSeconds / stepsHere;
        emit({ type: 'progress', progress: { epoch, epochs, step, stepsPerEpoch, losses, imagesPerSecond: batchSize / mean, etaSeconds: (epochs * stepsPerEpoch - globalStep) * mean } });
      }
      const epochSeconds = (performance.now() - epochStarted) / 1000;
      const scores = evaluateSr(model, evalPairs);
      position = { ...position, epoch, psnr: scores.psnr, ssim: scores.ssim };
      if (filesDir) writeSrPreview(filesDir, { epoch, lr: evalPairs[0]!.lr, sr: superResolve(model, evalPairs[0]!.lr), hr: evalPairs[0]!.hr, psnr: scores.perImage[0]!.psnr, ssim: scores.perImage[0]!.ssim });
      const at = Date.now();
      const points: MetricPoint[] = [
        { scope: 'epoch', step: epoch, key: SR_METRICS.psnr, value: scores.psnr, at },
        { scope: 'epoch', step: epoch, key: SR_METRICS.ssim, value: scores.ssim, at },
        { scope: 'epoch', step: epoch, key: 'images_per_second', value: (stepsPerEpoch * batchSize) / epochSeconds, at },
      ];
      emit({ type: 'records', metrics: points, commit: true });
      if (filesDir) {
        await saveTaskCheckpoint(filesDir, CHECKPOINT_FORMAT, trainer.trainableVariables(), optimizer, position);
        emit({ type: 'checkpoint', epoch });
      }
    }
    if (filesDir) {
      const { bytes } = await saveSrWeights(model, filesDir);
      emit({ type: 'artifact', artifact: { kind: 'sr-weights', path: filesDir, bytes, meta: { format: SR_WEIGHTS_FORMAT } } });
    }
    return { runId: job.runId, backend: backend.id, psnr: position.psnr, ssim: position.ssim, peakBytes: position.peakBytes };
  } finally {
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
}

// ---------------------------------------------------------------- files

/** The trained EDSR (no auxiliary nets): what export and later previews load. */
async function saveSrWeights(model: EdsrModel, dir: string): Promise<{ bytes: number }> {
  makeFolders(dir, 'run folder');
  const { bytes, shapes } = await writeTensors(model.trainableVariables(), path.join(dir, SR_WEIGHTS_FILE));
  writeAtomically(path.join(dir, SR_WEIGHTS_MANIFEST), JSON.stringify({ format: SR_WEIGHTS_FORMAT, config: model.config, shapes }));
  return { bytes };
}

/** An EDSR with a finished run's weights; throws naming what is missing or does not match. */
export function loadSrModel(dir: string, seed = 0): EdsrModel {
  const manifestFile = path.join(dir, SR_WEIGHTS_MANIFEST);
  let manifest: { format: string; config: EdsrConfig; shapes: number[][] };
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new Error(`${manifestFile} cannot be read (${(error as Error).message}): the run saved no weights, or they were moved`);
  }
  if (manifest.format !== SR_WEIGHTS_FORMAT) throw new Error(`${manifestFile} is not a super-resolution weights file of this version (${manifest.format})`);
  const model = createEdsr(manifest.config, seed);
  try {
    readTensors(model.trainableVariables(), path.join(dir, SR_WEIGHTS_FILE), manifest.shapes);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
