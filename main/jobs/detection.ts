/**
 * Detection runs as jobs (issue 16): their settings, whether a stopped one can go on, and what
 * their worker is given. The worker side is ./detection-run.ts. The built-in MNIST-on-canvas set
 * needs no files; a COCO or VOC folder is read (annotations and image headers, every refusal
 * naming the file) when the run is submitted and again when it starts, and never registered.
 */
import { ApiError } from '../../shared/api/errors';
import { detectionSettings, MNIST_CANVAS_DATASET } from '../../shared/engine/tasks';
import { parseOrBadRequest } from '../api/dispatch';
import { describeDetector } from '../engine/tasks/detection/detector';
import { runFilesDir } from '../engine/train/run-config';
import { type DetectionJob, detectorConfigOf, hasDetCheckpoint, readDetectionFolder } from './detection-run';
import type { JobKindHandler } from './kinds';
import { errorMessage } from './run-ledger';

export const detectionJobs: JobKindHandler = {
  configure(input) {
    const settings = parseOrBadRequest(detectionSettings, input, 'detection settings');
    const bad = (field: string, text: string) => new ApiError('bad_request', `Invalid detection settings: ${field}: ${text} Nothing was changed.`);
    if (settings.dataset !== MNIST_CANVAS_DATASET) {
      // The folder's annotations now (a bad file is named), so a wrong folder never becomes a run that fails in its worker.
      let folder;
      try {
        folder = readDetectionFolder(settings);
      } catch (error) {
        throw bad('folder', errorMessage(error));
      }
      const images = folder.items.length;
      const test = Math.min(images - 1, Math.round(images * settings.folder!.testFraction));
      if (test < 1) throw bad('folder.testFraction', `${images} image${images === 1 ? '' : 's'} with a test fraction of ${settings.folder!.testFraction} leave no test image; add images or raise the fraction.`);
      if (settings.batchSize > images - test) throw bad('batchSize', `a batch of ${settings.batchSize} needs at least that many training images (the folder gives ${images - test}).`);
      describeDetector(detectorConfigOf(settings, { channels: 3, classes: folder.classes.length }), settings.folder!.size);
      return settings as unknown as Record<string, unknown>;
    }
    // The detector's own limits (P5 at stride 32 needs canvases of 32 px or more), refused now rather than in the worker.
    try {
      describeDetector(detectorConfigOf(settings), settings.canvas.size);
    } catch (error) {
      throw bad('canvas.size', errorMessage(error));
    }
    return settings as unknown as Record<string, unknown>;
  },

  checkResumable(run, { store }) {
    if (run.status === 'done') throw new ApiError('conflict', `Run ${run.id} finished training; there is nothing to resume.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${run.id} is ${run.status} already.`);
    const dir = runFilesDir(store.path, run.id);
    if (!dir || !hasDetCheckpoint(dir)) throw new ApiError('conflict', `Run ${run.id} has no checkpoint: it stopped before its first epoch ended. Train it again instead.`);
    const settings = detectionSettings.parse(run.config);
    if (settings.dataset !== MNIST_CANVAS_DATASET) {
      try {
        readDetectionFolder(settings);
      } catch (error) {
        throw new ApiError('conflict', `Run ${run.id} trains on ${settings.folder!.path}, which cannot be read now (${errorMessage(error)}). Put it back to resume.`);
      }
    }
  },

  prepare(run, { store }) {
    const settings = detectionSettings.parse(run.config);
    const filesDir = runFilesDir(store.path, run.id);
    if (!filesDir || !hasDetCheckpoint(filesDir)) store.metrics.clear(run.id);
    const payload: DetectionJob = { runId: run.id, settings, filesDir };
    return { payload, filesDir };
  },
};
