/**
 * Talking-head (SPEAK) training runs as jobs: their settings, whether a stopped one can go on,
 * and what their worker is given. The worker side is ../speak/train/train-speak.ts.
 */
import fs from 'node:fs';
import { ApiError } from '../../shared/api/errors';
import { talkingHeadSettings } from '../../shared/speak/settings';
import { parseOrBadRequest } from '../api/dispatch';
import { runFilesDir } from '../engine/train/run-config';
import { readManifest } from '../speak/data/corpus-reader';
import { irfdSettings, type IrfdSettingsInput } from '../speak/model/irfd';
import { hasSpeakCheckpoint } from '../speak/train/speak-checkpoint';
import type { TalkingHeadJob } from '../speak/train/train-speak';
import type { JobKindHandler } from './kinds';
import { errorMessage } from './run-ledger';

export const talkingHeadJobs: JobKindHandler = {
  configure(input) {
    const settings = parseOrBadRequest(talkingHeadSettings, input, 'talking-head settings');
    // IRFD's own settings can be checked without clips: refuse them now rather than in the worker.
    try {
      irfdSettings({ size: settings.size, lr: settings.lr, ...(settings.model.irfd as IrfdSettingsInput) });
    } catch (error) {
      throw new ApiError('bad_request', `Invalid talking-head settings: model.irfd: ${errorMessage(error)}. Nothing was changed.`);
    }
    if (settings.data.source === 'corpus') {
      // Read now, so a wrong folder is refused before a run exists rather than failing in its worker.
      let identities: number;
      try {
        identities = readManifest(settings.data.dir).identities.length;
      } catch (error) {
        throw new ApiError('bad_request', `Invalid talking-head settings: data.dir: ${errorMessage(error)} Nothing was changed.`);
      }
      if (settings.data.heldOut >= identities) {
        throw new ApiError('bad_request', `Invalid talking-head settings: data.heldOut: the corpus has ${identities} identities, so at most ${identities - 1} can be held out (got ${settings.data.heldOut}). Nothing was changed.`);
      }
    }
    return settings as unknown as Record<string, unknown>;
  },

  checkResumable(run, { store }) {
    if (run.status === 'done') throw new ApiError('conflict', `Run ${run.id} finished training; there is nothing to resume.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${run.id} is ${run.status} already.`);
    const dir = runFilesDir(store.path, run.id);
    if (!dir || !hasSpeakCheckpoint(dir)) throw new ApiError('conflict', `Run ${run.id} has no checkpoint: it stopped before its first one was written. Train it again instead.`);
    if (run.config.data && (run.config.data as { source?: string }).source === 'corpus' && !fs.existsSync(String((run.config.data as { dir?: string }).dir))) {
      throw new ApiError('conflict', `Run ${run.id} trains on the corpus in ${String((run.config.data as { dir?: string }).dir)}, which is gone. Put it back to resume.`);
    }
  },

  prepare(run, { store }) {
    const settings = talkingHeadSettings.parse(run.config);
    const filesDir = runFilesDir(store.path, run.id);
    // Starting over: the rows of an earlier attempt go.
    if (!filesDir || !hasSpeakCheckpoint(filesDir)) store.metrics.clear(run.id);
    const payload: TalkingHeadJob = { runId: run.id, settings, filesDir };
    return { payload, filesDir };
  },
};
