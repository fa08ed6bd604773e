/**
 * One talking-head training run, with no store in sight (like ../../engine/train/train-run.ts
 * for local learning): it starts the backend, gets the clips, builds the SPEAK stages in order
 * (SyncNet, IRFD, generator; each later stage may use the earlier ones), continues from the
 * run's checkpoint if it has one, trains each stage for its steps, checkpoints every N steps and
 * when stopped, and writes the model file. Everything it learns goes out as job events, so the
 * same code runs in a job worker, in-process, or under `blockwise speak train`.
 */
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import type { MetricPoint } from '../../../shared/api/schemas';
import type { TalkingHeadSettings } from '../../../shared/speak/settings';
import { engineVersions, selectBackend } from '../../engine/backend/select';
import { type EmitJobEvent, JobCancelled } from '../../jobs/events';
import { APP_ROOT } from '../../platform/app-root';
import { collectEnvironment } from '../../platform/environment';
import type { ClipSet } from '../data/clip';
import { MODEL_FORMAT, hasSpeakCheckpoint, readSpeakCheckpoint, restoreStage, saveSpeakCheckpoint, saveSpeakModel, type SpeakCheckpoint, type SpeakPosition } from './speak-checkpoint';
import { clipsFor } from './speak-data';
import { STAGE_BUILDERS } from './stage-builders';
import { SPEAK_STAGE_ORDER, type SpeakStage, type SpeakStageName } from './stage';

/** Everything a worker needs to train a talking-head run: plain data, so it crosses a worker boundary. */
export interface TalkingHeadJob {
  runId: number;
  settings: TalkingHeadSettings;
  /** Where the checkpoint and the model file go; null keeps no files (an in-memory database). */
  filesDir: string | null;
}

export interface TalkingHeadResult {
  runId: number;
  backend: string;
  /** Steps trained per stage (all of them: the run is finished). */
  steps: Record<SpeakStageName, number>;
  /** The last step's losses of each stage that trained, by metric key. */
  lastLosses: Record<string, number>;
  /** Where model.json and model.bin are; null without a files folder. */
  modelDir: string | null;
  /** Seconds this attempt trained (a resumed run counts from its resume). */
  seconds: number;
}

/** What a stage factory is given: the clips, the run's settings, and the stages built before it (by name). */
export interface StageContext {
  clips: ClipSet;
  settings: TalkingHeadSettings;
  seed: number;
  earlier: Partial<Record<SpeakStageName, SpeakStage>>;
}

export type StageBuilder = (context: StageContext) => SpeakStage | Promise<SpeakStage>;
export type StageBuilders = Record<SpeakStageName, StageBuilder>;

export interface TrainSpeakOptions {
  /** How each stage is built (default: the model modules' factories, ./stage-builders.ts). */
  builders?: StageBuilders;
  /** The clips to train on (default: from the settings, ./speak-data.ts). */
  clips?: ClipSet;
}

/** True once the run should stop; checked between steps. */
export type StopSignal = () => boolean;

/** The metric key of one loss of one stage, e.g. `loss/irfd.id`: step-scoped rows in the store. */
export const lossKey = (stage: SpeakStageName, loss: string): string => `loss/${stage}.${loss}`;

/**
 * The stages this run builds, in order: those with steps, and IRFD for a generator even with
 * none (the generator encodes faces with it). A SyncNet with no steps is left out, and the
 * generator then trains without L_sync (the paper's "w/o L_sync" ablation).
 */
export function stagesToBuild(settings: TalkingHeadSettings): SpeakStageName[] {
  return SPEAK_STAGE_ORDER.filter((name) => settings.steps[name] > 0 || (name === 'irfd' && settings.steps.generator > 0));
}

/** Train the run from its checkpoint (or the start) to the end; returns once the model file is written. */
export async function trainSpeak(job: TalkingHeadJob, emit: EmitJobEvent, shouldStop: StopSignal = () => false, options: TrainSpeakOptions = {}): Promise<TalkingHeadResult> {
  const { settings, filesDir } = job;
  const backend = await selectBackend(settings.backend);
  const builders = options.builders ?? STAGE_BUILDERS;
  const clips = options.clips ?? clipsFor(settings);
  const checkpoint = filesDir && hasSpeakCheckpoint(filesDir) ? readSpeakCheckpoint(filesDir) : null;
  const from: SpeakPosition = checkpoint?.position ?? { stage: 0, step: 0 };
  const order = stagesToBuild(settings);
  const stepsOf = order.map((name) => settings.steps[name]);
  const totalSteps = stepsOf.reduce((a, b) => a + b, 0);
  /** Steps of the whole run done before stage i's step 0: the x axis of every loss chart. */
  const offsetOf = (i: number) => stepsOf.slice(0, i).reduce((a, b) => a + b, 0);

  emit({ type: 'started', backend: backend.id, environment: collectEnvironment(backend.id, APP_ROOT, engineVersions(backend.id)) });
  const built: SpeakStage[] = [];
  const lastLosses: Record<string, number> = {};
  const started = performance.now();
  // Step times only (building a stage, e.g. SyncNet's mel windows, is not a step): per stage, for the ETA.
  let stepSeconds = 0;
  let trainedHere = 0;
  let position: SpeakPosition = { ...from };
  try {
    for (const [index, name] of order.entries()) {
      const stage = await buildStage(builders, name, { clips, settings, seed: settings.seed, earlier: Object.fromEntries(built.map((s) => [s.name, s])) }, checkpoint);
      built.push(stage);
      if (index < from.stage) continue; // trained before the checkpoint; its weights are restored
      const firstStep = index === from.stage ? from.step : 0;
      let stageSeconds = 0;
      for (let step = firstStep; step < stepsOf[index]!; step++) {
        position = { stage: index, step };
        // A turn of the event loop: on wasm and cpu a step's awaits resolve at once, so without it
        // a signal (Ctrl+C under the CLI) or an in-process cancel would never be seen.
        await new Promise((resolve) => setImmediate(resolve));
        if (shouldStop()) {
          if (filesDir) await checkpointNow(filesDir, built, position, emit, offsetOf(index) + step);
          throw new JobCancelled();
        }
        const stepStarted = performance.now();
        const losses = await stage.step(step);
        const took = (performance.now() - stepStarted) / 1000;
        stageSeconds += took;
        stepSeconds += took;
        trainedHere++;
        position = { stage: index, step: step + 1 };
        const globalStep = offsetOf(index) + step + 1;
        const at = Date.now();
        const metrics: MetricPoint[] = Object.entries(losses).map(([loss, value]) => ({ scope: 'step', step: globalStep, key: lossKey(name, loss), value, at }));
        for (const m of metrics) lastLosses[m.key] = m.value;
        // This stage's rest at its own pace; later stages at the pace of every step so far (their own is unknown yet).
        const stageMean = stageSeconds / (step + 1 - firstStep);
        const laterSteps = totalSteps - offsetOf(index) - stepsOf[index]!;
        emit({ type: 'records', metrics });
        emit({
          type: 'progress',
          progress: {
            // A stage is the run's "epoch": the dashboard's and CLI's bar read it as one.
            epoch: index + 1,
            epochs: order.length,
            step: step + 1,
            stepsPerEpoch: stepsOf[index]!,
            losses: metrics.map((m) => m.value),
            imagesPerSecond: (stage.batchSize ?? 1) / stageMean,
            etaSeconds: (stepsOf[index]! - step - 1) * stageMean + laterSteps * (stepSeconds / trainedHere),
          },
        });
        const lastOfStage = step + 1 === stepsOf[index];
        if (filesDir && (globalStep % settings.checkpointEvery === 0 || lastOfStage)) {
          // A finished stage is checkpointed at the next stage's start, so a resume never retrains it.
          await checkpointNow(filesDir, built, lastOfStage ? { stage: index + 1, step: 0 } : position, emit, globalStep);
        }
      }
    }
    let modelDir: string | null = null;
    if (filesDir) {
      const { bytes } = await saveSpeakModel(filesDir, settings, built.map((stage, i) => ({ stage, steps: stepsOf[i]! })));
      modelDir = filesDir;
      emit({ type: 'artifact', artifact: { kind: 'speak-model', path: filesDir, bytes, meta: { format: MODEL_FORMAT, stages: order } } });
    }
    const steps = Object.fromEntries(SPEAK_STAGE_ORDER.map((n) => [n, settings.steps[n]])) as Record<SpeakStageName, number>;
    return { runId: job.runId, backend: backend.id, steps, lastLosses, modelDir, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const stage of built) {
      stage.dispose?.();
      for (const optimizer of [stage.optimizer, ...(stage.extraOptimizers ?? [])]) optimizer.dispose();
      for (const params of [stage.params, ...(stage.extraParams ?? [])]) params.dispose();
    }
  }
}

async function buildStage(builders: StageBuilders, name: SpeakStageName, context: StageContext, checkpoint: SpeakCheckpoint | null): Promise<SpeakStage> {
  const stage = await builders[name](context);
  if (stage.name !== name) throw new Error(`The ${name} stage's factory built a stage named "${stage.name}"`);
  // Restored before the next stage is built: a later stage may read an earlier one's weights when it is made.
  if (checkpoint) await restoreStage(checkpoint, stage);
  return stage;
}

/** Rows first (committed), then the checkpoint: a resumed run never lacks a step it skips. */
async function checkpointNow(dir: string, built: readonly SpeakStage[], position: SpeakPosition, emit: EmitJobEvent, globalStep: number): Promise<void> {
  emit({ type: 'records', commit: true });
  await saveSpeakCheckpoint(dir, built, position);
  emit({ type: 'checkpoint', epoch: globalStep });
}
