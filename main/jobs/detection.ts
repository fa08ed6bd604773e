/**
 * Detection runs as jobs (issue 16): their settings, whether a stopped one can go on, and what
 * their worker is given. The worker side is ./detection-run.ts. The built-in MNIST-on-canvas set
 * needs no files; imported COCO/VOC folders are a later step.
 */
import { ApiError } from '../../shared/api/errors';
import { detectionSettings } from '../../shared/engine/tasks';
import { parseOrBadRequest } from '../api/dispatch';
import { describeDetector } from '../engine/tasks/detection/detector';
import { runFilesDir } from '../engine/train/run-config';
import { type DetectionJob, detectorConfigOf, hasDetCheckpoint } from './detection-run';
import type { JobKindHandler } from './kinds';
import { errorMessage } from './run-ledger';

export const detectionJobs: JobKindHandler = {
  configure(input) {
    const settings = parseOrBadRequest(detectionSettings, input, 'detection settings');
    // The detector's own limits (P5 at stride 32 needs canvases of 32 px or more), refused now rather than in the worker.
    try {
      describeDetector(detectorConfigOf(settings), settings.canvas.size);
    } catch (error) {
      throw new ApiError('bad_request', `Invalid detection settings: canvas.size: ${errorMessage(error)} Nothing was changed.`);
    }
    return settings as unknown as Record<string, unknown>;
  },

  checkResumable(run, { store }) {
    if (run.status === 'done') throw new ApiError('conflict', `Run ${run.id} finished training; there is nothing to resume.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${run.id} is ${run.status} already.`);
    const dir = runFilesDir(store.path, run.id);
    if (!dir || !hasDetCheckpoint(dir)) throw new ApiError('conflict', `Run ${run.id} has no checkpoint: it stopped before its first epoch ended. Train it again instead.`);
  },

  prepare(run, { store }) {
    const settings = detectionSettings.parse(run.config);
    const filesDir = runFilesDir(store.path, run.id);
    if (!filesDir || !hasDetCheckpoint(filesDir)) store.metrics.clear(run.id);
    const payload: DetectionJob = { runId: run.id, settings, filesDir };
    return { payload, filesDir };
  },
};
