/**
 * One super-resolution run's work inside a job worker (like ../engine/train/train-run.ts for
 * classification): it reads the image folder's photographs, builds the EDSR and the trainer of
 * its method (../engine/tasks/super-resolution/), and trains it in the task epoch loop
 * (./task-epochs.ts). Every epoch ends with PSNR-Y and SSIM-Y on the test images, the low-res /
 * output / high-res preview written beside the database (./sr-preview.ts), and a checkpoint
 * (network, auxiliary nets, Adam).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import { SR_METRICS, type SuperResolutionSettings } from '../../shared/engine/tasks';
import type { RgbImage } from '../data/image-codec';
import { selectBackend } from '../engine/backend/select';
import { createEdsr, type EdsrConfig, type EdsrModel } from '../engine/tasks/super-resolution/edsr';
import { cropImage, makeSrPair, patchSampler, readPhotos, type SrPair } from '../engine/tasks/super-resolution/sr-data';
import { createSrOptimizer, evaluateSr, SrTrainer, superResolve } from '../engine/tasks/super-resolution/sr-trainer';
import type { EmitJobEvent } from './events';
import { writeSrPreview } from './sr-preview';
import { hasTaskCheckpoint } from './task-checkpoint';
import { runTaskEpochs } from './task-epochs';
import { loadTaskWeights, saveTaskWeights, type TaskWeightsFiles } from './task-weights';

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
const SR_WEIGHTS: TaskWeightsFiles = { file: 'sr-weights.bin', manifest: 'sr-weights.json', format: 'blockwise-sr-weights/1', task: 'super-resolution' };
export const SR_WEIGHTS_FILE = SR_WEIGHTS.file;

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
    const position = await runTaskEpochs(
      {
        settings,
        filesDir,
        backend: backend.id,
        checkpointFormat: CHECKPOINT_FORMAT,
        state: () => trainer.trainableVariables(),
        optimizer,
        modules: trainer.modules.length,
        batches: (epochSeed) => patchSampler(trainPairs, { batch: settings.batchSize, lrPatch: settings.patch, scale: settings.scale }, epochSeed),
        step: ({ lr, hr }, onPhase) => trainer.step(lr, hr, optimizer, onPhase),
        release: ({ lr, hr }) => tf.dispose([lr, hr]),
        metrics: { psnr: SR_METRICS.psnr, ssim: SR_METRICS.ssim },
        evaluate: () => evaluateSr(model, evalPairs),
        preview: (dir, epoch, scores) => writeSrPreview(dir, { epoch, lr: evalPairs[0]!.lr, sr: superResolve(model, evalPairs[0]!.lr), hr: evalPairs[0]!.hr, psnr: scores.perImage[0]!.psnr, ssim: scores.perImage[0]!.ssim }),
      },
      emit,
      shouldStop,
    );
    if (filesDir) {
      // The trained EDSR (no auxiliary nets): what export and later previews load.
      const { bytes } = await saveTaskWeights(filesDir, SR_WEIGHTS, model.trainableVariables(), { config: model.config });
      emit({ type: 'artifact', artifact: { kind: 'sr-weights', path: filesDir, bytes, meta: { format: SR_WEIGHTS.format } } });
    }
    return { runId: job.runId, backend: backend.id, psnr: position.psnr, ssim: position.ssim, peakBytes: position.peakBytes };
  } finally {
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
}

/** An EDSR with a finished run's weights; throws naming what is missing or does not match. */
export const loadSrModel = (dir: string, seed = 0): EdsrModel => loadTaskWeights(dir, SR_WEIGHTS, (config: EdsrConfig) => createEdsr(config, seed), (model) => model.trainableVariables());
