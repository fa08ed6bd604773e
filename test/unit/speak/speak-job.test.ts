/**
 * The talking-head trainer loop (train-speak.ts) on real procedural frames: stages in order,
 * every loss per step with progress and ETA, the model file, and a run cancelled mid-stage that
 * resumes at the same step and ends with exactly the weights of an uninterrupted run. The loop
 * mechanics use a small landmark regressor written here with the nn.ts kit (a real net trained
 * by Adam on real rendered frames); the job tests below run the real SPEAK stages.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SPEAK_EMOTIONS, talkingHeadSettings, type TalkingHeadInput } from '../../../shared/speak/settings';
import { DatasetCatalog } from '../../../main/data/catalog';
import { mixSeed, createRng } from '../../../main/data/random';
import { runDir } from '../../../main/engine/train/run-config';
import { type JobEvent, JobCancelled } from '../../../main/jobs/events';
import { JobManager } from '../../../main/jobs/job-manager';
import { startWorkerTask } from '../../../main/jobs/worker-task';
import { encodeWav } from '../../../main/speak/audio/wav';
import { packageDir } from '../../../main/speak/instruments/model-files';
import type { GenerateRequest, GenerateResult } from '../../../main/speak/train/generate-task';
import { espeakAvailable } from '../../../main/speak/audio/espeak';
import { EMOTIONS } from '../../../main/speak/corpus/emotions';
import type { ClipSet } from '../../../main/speak/data/clip';
import { splitIdentities } from '../../../main/speak/data/identity-split';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { writeCorpus } from '../../../main/speak/corpus/corpus-writer';
import { clipsFor } from '../../../main/speak/train/speak-data';
import { conv, dense, globalPool, lrelu, Params } from '../../../main/speak/model/nn';
import { hasSpeakCheckpoint, MODEL_BIN, readSpeakModel } from '../../../main/speak/train/speak-checkpoint';
import type { SpeakStage, SpeakStageName } from '../../../main/speak/train/stage';
import { type StageBuilders, stagesToBuild, trainSpeak } from '../../../main/speak/train/train-speak';
import { Store } from '../../../main/store';
import { useTempDir } from '../../helpers/temp';

/**
 * A small real stage: a conv net regressing the 68 ground-truth landmarks (normalised to [-1, 1])
 * of a frame, on batches drawn from (seed, step) so a resumed run draws the same ones.
 */
function landmarkStage(name: SpeakStageName, clips: ClipSet, seed: number, lr = 3e-3): SpeakStage {
  const params = new Params(name, seed);
  const optimizer = tf.train.adam(lr);
  const size = clips.clips[0]!.size;
  const net = (x: tf.Tensor4D) => {
    const h = lrelu(conv(params, 'c2', lrelu(conv(params, 'c1', x, 8, 3, 2)) as tf.Tensor4D, 8, 3, 2)) as tf.Tensor4D;
    return dense(params, 'out', lrelu(dense(params, 'fc', globalPool(h), 16)) as tf.Tensor2D, 136, 'small');
  };
  const batch = (step: number) => {
    const rng = createRng(mixSeed(seed, step));
    const pixels = new Float32Array(2 * size * size * 3);
    const targets = new Float32Array(2 * 136);
    for (let b = 0; b < 2; b++) {
      const clip = clips.clips[Math.floor(rng() * clips.clips.length)]!;
      const i = Math.floor(rng() * clip.frameCount);
      clip.frame(i).forEach((v, k) => (pixels[b * size * size * 3 + k] = v / 255));
      clip.landmarks![i]!.forEach((v, k) => (targets[b * 136 + k] = (v / size) * 2 - 1));
    }
    return { x: tf.tensor4d(pixels, [2, size, size, 3]), y: tf.tensor2d(targets, [2, 136]) };
  };
  tf.tidy(() => net(tf.zeros([1, size, size, 3]))); // makes the variables, so minimize gets them all in name order
  return {
    name,
    params,
    optimizer,
    batchSize: 2,
    async step(step) {
      const { x, y } = batch(step);
      const loss = optimizer.minimize(() => tf.mean(tf.square(tf.sub(net(x), y))) as tf.Scalar, true, params.trainable())!;
      const value = (await loss.data())[0]!;
      tf.dispose([x, y, loss]);
      return { total: value, landmarks: value };
    },
  };
}

const settings = (input: TalkingHeadInput) => talkingHeadSettings.parse({ backend: 'wasm', ...input });

describe('talking-head settings', () => {
  it('name the eight MEAD emotions as the corpus does', () => {
    expect([...SPEAK_EMOTIONS]).toEqual([...EMOTIONS]);
  });

  it('refuse bad values naming the field', () => {
    const fail = (input: unknown) => {
      const parsed = talkingHeadSettings.safeParse(input);
      expect(parsed.success).toBe(false);
      return parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(fail({ size: 96 })).toMatch(/^size: must be 64, 128 or 256/);
    expect(fail({ steps: { syncnet: 0, irfd: 0, generator: 0 } })).toMatch(/^steps: every stage has 0 steps/);
    expect(fail({ steps: { syncnet: -1 } })).toMatch(/^steps\.syncnet:/);
    expect(fail({ data: { source: 'corpus' } })).toMatch(/^data\.dir:/);
    expect(fail({ epochs: 3 })).toMatch(/epochs/);
  });

  it('build the stages with steps, and IRFD for a generator', () => {
    expect(stagesToBuild(settings({ steps: { syncnet: 2, irfd: 0, generator: 0 } }))).toEqual(['syncnet']);
    expect(stagesToBuild(settings({ steps: { syncnet: 0, irfd: 0, generator: 1 } }))).toEqual(['irfd', 'generator']);
    expect(stagesToBuild(settings({ steps: { syncnet: 1, irfd: 0, generator: 1 } }))).toEqual(['syncnet', 'irfd', 'generator']);
  });
});

describe.runIf(espeakAvailable())('talking-head trainer loop', () => {
  const tmp = useTempDir();
  let clips: ClipSet;
  beforeAll(() => {
    clips = proceduralClips({ count: 2, seed: 3, size: 64, emotions: ['neutral', 'happy'], maxFrames: 6 });
  }, 60_000);

  const builders: StageBuilders = {
    syncnet: ({ clips: c, seed }) => landmarkStage('syncnet', c, seed),
    irfd: ({ clips: c, seed, earlier }) => {
      expect(earlier.syncnet?.name).toBe('syncnet'); // a later stage sees the earlier ones
      return landmarkStage('irfd', c, seed + 1);
    },
    generator: () => {
      throw new Error('not built: it has no steps');
    },
  };
  const run = settings({ seed: 4, steps: { syncnet: 3, irfd: 4, generator: 0 }, checkpointEvery: 2 });

  it('trains the stages in order, reporting every loss per step with progress and ETA, and writes the model file', async () => {
    const dir = tmp();
    const events: JobEvent[] = [];
    const result = await trainSpeak({ runId: 1, settings: run, filesDir: dir }, (e) => events.push(e), () => false, { builders, clips });
    const metrics = events.flatMap((e) => (e.type === 'records' ? (e.metrics ?? []) : []));
    expect([...new Set(metrics.map((m) => m.key))]).toEqual(['loss/syncnet.total', 'loss/syncnet.landmarks', 'loss/irfd.total', 'loss/irfd.landmarks']);
    expect(metrics.filter((m) => m.key === 'loss/syncnet.total').map((m) => m.step)).toEqual([1, 2, 3]);
    expect(metrics.filter((m) => m.key === 'loss/irfd.total').map((m) => m.step)).toEqual([4, 5, 6, 7]);
    expect(metrics.every((m) => Number.isFinite(m.value) && m.value > 0)).toBe(true);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect(progress.map((p) => `${p.epoch}/${p.epochs}:${p.step}/${p.stepsPerEpoch}`)).toEqual(['1/2:1/3', '1/2:2/3', '1/2:3/3', '2/2:1/4', '2/2:2/4', '2/2:3/4', '2/2:4/4']);
    expect(progress.every((p) => Number.isFinite(p.etaSeconds) && p.etaSeconds >= 0 && p.imagesPerSecond > 0)).toBe(true);
    expect(progress.at(-1)!.etaSeconds).toBe(0);
    expect(progress[0]!.etaSeconds).toBeGreaterThan(0);
    // Checkpoints at global steps 2, 3 (end of a stage), 4, 6 and 7.
    expect(events.flatMap((e) => (e.type === 'checkpoint' ? [e.epoch] : []))).toEqual([2, 3, 4, 6, 7]);
    expect(events.at(-1)).toMatchObject({ type: 'artifact', artifact: { kind: 'speak-model', path: dir } });
    expect(result.lastLosses['loss/irfd.total']).toBe(metrics.at(-2)!.value);
    const model = readSpeakModel(dir);
    expect(model.manifest.stages.map((s) => [s.name, s.steps])).toEqual([['syncnet', 3], ['irfd', 4]]);
    expect(model.manifest.stages[0]!.variables.map((v) => v.name)).toEqual(['syncnet.c1.b', 'syncnet.c1.w', 'syncnet.c2.b', 'syncnet.c2.w', 'syncnet.fc.b', 'syncnet.fc.w', 'syncnet.out.b', 'syncnet.out.w']);
    expect(model.values.get('irfd.out.w')!.shape).toEqual([16, 136]);
    expect((model.manifest.settings as { seed: number }).seed).toBe(4);
  }, 60_000);

  it('cancelled mid-stage, resumes at the same step and ends with the weights of an uninterrupted run', async () => {
    const whole = path.join(tmp(), 'whole');
    const parts = path.join(tmp(), 'parts');
    await trainSpeak({ runId: 1, settings: run, filesDir: whole }, () => undefined, () => false, { builders, clips });

    // Stop after 5 steps: the second stage is at its step 2 (no checkpoint there: it saves one when stopped).
    let steps = 0;
    const first: JobEvent[] = [];
    const stopped = trainSpeak({ runId: 2, settings: run, filesDir: parts }, (e) => { first.push(e); if (e.type === 'progress') steps++; }, () => steps >= 5, { builders, clips });
    await expect(stopped).rejects.toBeInstanceOf(JobCancelled);
    expect(hasSpeakCheckpoint(parts)).toBe(true);
    expect(fs.existsSync(path.join(parts, MODEL_BIN))).toBe(false);
    expect(first.filter((e) => e.type === 'checkpoint').map((e) => (e.type === 'checkpoint' ? e.epoch : 0))).toEqual([2, 3, 4, 5]);

    const second: JobEvent[] = [];
    await trainSpeak({ runId: 2, settings: run, filesDir: parts }, (e) => second.push(e), () => false, { builders, clips });
    const resumedSteps = second.flatMap((e) => (e.type === 'records' ? (e.metrics ?? []) : [])).filter((m) => m.key === 'loss/irfd.total').map((m) => m.step);
    expect(resumedSteps).toEqual([6, 7]);
    const progress = second.flatMap((e) => (e.type === 'progress' ? [`${e.progress.epoch}:${e.progress.step}`] : []));
    expect(progress).toEqual(['2:3', '2:4']);
    // Same bytes: every weight of both stages, to the last bit.
    expect(Buffer.compare(fs.readFileSync(path.join(parts, MODEL_BIN)), fs.readFileSync(path.join(whole, MODEL_BIN)))).toBe(0);
    // And the losses of the resumed steps are those of the uninterrupted run's same steps.
  }, 60_000);
});

/**
 * The real stages at their smallest (SyncNet batch 4; IRFD width 8, batch 2; generator batch 1,
 * no perceptual net); wasm: tfjs' cpu backend takes minutes per IRFD step.
 */
const REAL: TalkingHeadInput = {
  backend: 'wasm',
  seed: 2,
  data: { source: 'procedural', identities: 2, seed: 3, emotions: ['neutral', 'happy'], maxFrames: 6 },
  steps: { syncnet: 2, irfd: 2, generator: 3 },
  checkpointEvery: 2,
  model: { syncnet: { batchSize: 4 }, irfd: { width: 8, batch: 2 }, generator: { batchSize: 1, keypointBatch: 3, weights: { perceptual: 0, mouth: 100 }, generator: { motion: { audioMouth: true } } } },
};

describe.runIf(espeakAvailable())('talking-head trainer with the real stages', () => {
  const tmp = useTempDir();
  let clips: ClipSet;
  beforeAll(() => {
    clips = proceduralClips({ count: 2, seed: 3, size: 64, emotions: ['neutral', 'happy'], maxFrames: 6 });
  }, 60_000);

  it('SyncNet, IRFD, then the generator: every loss per step, and a run stopped in the generator stage resumes to the weights of an uninterrupted run', async () => {
    const run = settings(REAL);
    const whole = path.join(tmp(), 'whole');
    const events: JobEvent[] = [];
    await trainSpeak({ runId: 1, settings: run, filesDir: whole }, (e) => events.push(e), () => false, { clips });
    const metrics = events.flatMap((e) => (e.type === 'records' ? (e.metrics ?? []) : []));
    const keys = [...new Set(metrics.map((m) => m.key))];
    // SyncNet's contrastive loss, IRFD's five (paper), the generator's L_sync, pixel, keypoint and GAN losses, and the discriminator's.
    expect(keys).toEqual(expect.arrayContaining(['loss/syncnet.total']));
    expect(keys).toEqual(expect.arrayContaining(['loss/irfd.id', 'loss/irfd.cls', 'loss/irfd.pose', 'loss/irfd.emo', 'loss/irfd.self', 'loss/irfd.total']));
    expect(keys).toEqual(expect.arrayContaining(['loss/generator.sync', 'loss/generator.pixel', 'loss/generator.keypoints', 'loss/generator.gan', 'loss/generator.total', 'loss/generator.discriminator']));
    // The mouth fix (issue 14): L_kp on the landmark-only batch and on the jaw and lip points; its branch's weights are saved.
    expect(keys).toEqual(expect.arrayContaining(['loss/generator.landmarks', 'loss/generator.mouth']));
    expect(metrics.filter((m) => m.key === 'loss/syncnet.total').map((m) => m.step)).toEqual([1, 2]);
    expect(metrics.filter((m) => m.key === 'loss/irfd.total').map((m) => m.step)).toEqual([3, 4]);
    expect(metrics.filter((m) => m.key === 'loss/generator.total').map((m) => m.step)).toEqual([5, 6, 7]);
    const model = readSpeakModel(whole);
    expect(model.manifest.stages.map((s) => s.name)).toEqual(['syncnet', 'irfd', 'generator']);
    expect(model.values.has('irfd.E_i.stem.w')).toBe(true);
    expect(model.values.has('generator.motionHead.mouthOffsets.w')).toBe(true);
    const generatorNames = model.manifest.stages[2]!.variables.map((v) => v.name.split('.')[0]);
    expect([...new Set(generatorNames)].sort()).toEqual(['audio', 'discriminator', 'generator']);

    const parts = path.join(tmp(), 'parts');
    let steps = 0;
    await expect(trainSpeak({ runId: 2, settings: run, filesDir: parts }, (e) => { if (e.type === 'progress') steps++; }, () => steps >= 5, { clips })).rejects.toBeInstanceOf(JobCancelled);
    const resumed: string[] = [];
    await trainSpeak({ runId: 2, settings: run, filesDir: parts }, (e) => { if (e.type === 'progress') resumed.push(`${e.progress.epoch}:${e.progress.step}`); }, () => false, { clips });
    expect(resumed).toEqual(['3:2', '3:3']);
    expect(Buffer.compare(fs.readFileSync(path.join(parts, MODEL_BIN)), fs.readFileSync(path.join(whole, MODEL_BIN)))).toBe(0);
  }, 120_000);
});

describe.runIf(espeakAvailable())('talking-head data from a corpus folder', () => {
  const tmp = useTempDir();

  it('reads the folder at the run\'s size, keeps held-out people out, and trains on it', async () => {
    const corpus = path.join(tmp(), 'corpus');
    const manifest = writeCorpus({ out: corpus, identities: 3, seed: 5, size: 128, emotions: ['neutral', 'happy'], levels: [3], maxFrames: 4 });
    const run = settings({ data: { source: 'corpus', dir: corpus, heldOut: 1, seed: 7 }, steps: { syncnet: 1, irfd: 0, generator: 0 }, model: { syncnet: { batchSize: 2 } } });
    const clips = clipsFor(run);
    const { heldOut, train } = splitIdentities(manifest.identities, 1, 7);
    expect(clips.identities).toEqual(train);
    expect(clips.clips.every((c) => !heldOut.includes(c.identity) && c.size === 64)).toBe(true);
    expect(clips.clips.length).toBe(4); // 2 people x (neutral, happy level 3)
    const events: JobEvent[] = [];
    await trainSpeak({ runId: 1, settings: run, filesDir: null }, (e) => events.push(e), () => false);
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(1);
  }, 60_000);
});

describe('talking-head jobs', () => {
  const tmp = useTempDir();
  const managers: JobManager[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const jobs of managers.splice(0)) await jobs.close();
    for (const store of stores.splice(0)) store.close();
  });

  function setUp() {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    stores.push(store);
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'talking-head' }).id;
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store), cancelGraceMs: 60_000 });
    managers.push(jobs);
    return { store, jobs, experimentId };
  }

  it('refuses bad settings naming the field, and stores nothing', () => {
    const { store, jobs, experimentId } = setUp();
    const submit = (config: unknown) => () => jobs.submit({ experimentId, name: 'bad', kind: 'talking-head', config });
    expect(submit({ size: 100 })).toThrow(/Invalid talking-head settings: size: must be 64, 128 or 256.*Nothing was changed/);
    expect(submit({ steps: { syncnet: 0, irfd: 0, generator: 0 } })).toThrow(/steps: every stage has 0 steps/);
    expect(submit({ lr: -1 })).toThrow(/lr:/);
    expect(submit({ data: { source: 'corpus', dir: path.join(tmp(), 'nowhere') } })).toThrow(/data\.dir: .*nowhere does not exist.*Nothing was changed/);
    expect(submit({ data: { source: 'procedural', identities: 0 } })).toThrow(/data\.identities:/);
    expect(submit({ checkpointEvery: 0 })).toThrow(/checkpointEvery:/);
    expect(submit({ model: { irfd: { width: 0 } } })).toThrow(/model\.irfd: IRFD width must be a whole number >= 1, got 0.*Nothing was changed/);
    expect(submit({ model: { vocoder: {} } })).toThrow(/model: unknown field\(s\) "vocoder"/);
    expect(store.runs.list({ limit: 10, offset: 0 }).runs).toEqual([]);
    expect(fs.existsSync(runDir(store.path, 1))).toBe(false);
  });

  /** Every step's loss rows of a run, by key: [step, value] pairs. */
  const lossRows = (store: Store, runId: number) => Object.fromEntries(store.metrics.series(runId, 'step').map((s) => [s.key, s.steps.map((step, i) => [step, s.values[i]!])]));
  const JOB: TalkingHeadInput = { ...REAL, steps: { syncnet: 2, irfd: 2, generator: 2 } };

  it.runIf(espeakAvailable())('trains in a job worker into SQLite: the run done, every loss per step stored, the model file kept and the checkpoint gone; a worker task generates from it', async () => {
    const { store, jobs, experimentId } = setUp();
    const progress: { epoch: number; step: number; eta: number }[] = [];
    jobs.subscribe((u) => {
      if (u.type === 'event' && u.event.type === 'progress') progress.push({ epoch: u.event.progress.epoch, step: u.event.progress.step, eta: u.event.progress.etaSeconds });
    });
    const run = jobs.submit({ experimentId, name: 'speak', kind: 'talking-head', config: JOB });
    expect(run.kind).toBe('talking-head');
    expect(run.seed).toBe(2);
    const { run: done } = await jobs.wait(run.id);
    expect(done.status).toBe('done');
    expect(done.environment?.backend).toBe('wasm');
    const rows = lossRows(store, run.id);
    expect(rows['loss/syncnet.total']!.map(([step]) => step)).toEqual([1, 2]);
    expect(rows['loss/irfd.total']!.map(([step]) => step)).toEqual([3, 4]);
    expect(rows['loss/generator.total']!.map(([step]) => step)).toEqual([5, 6]);
    for (const key of ['loss/irfd.id', 'loss/irfd.cls', 'loss/irfd.pose', 'loss/irfd.emo', 'loss/irfd.self', 'loss/generator.sync', 'loss/generator.gan']) expect(rows[key]?.length).toBe(2);
    expect(progress.map((p) => `${p.epoch}:${p.step}`)).toEqual(['1:1', '1:2', '2:1', '2:2', '3:1', '3:2']);
    expect(progress.every((p) => Number.isFinite(p.eta))).toBe(true);
    const dir = runDir(store.path, run.id);
    expect(store.metrics.artifacts(run.id).map((a) => [a.kind, a.path])).toEqual([['speak-model', dir]]);
    expect(readSpeakModel(dir).manifest.stages.map((s) => s.name)).toEqual(['syncnet', 'irfd', 'generator']);
    expect(hasSpeakCheckpoint(dir)).toBe(false);

    // Generation from that run's model as a worker task ('speak-generate'): frames, audio and clip.json, progress on the way.
    const photo = path.join(packageDir('@vladmandic/face-api'), 'demo', 'sample2.jpg');
    if (!fs.existsSync(photo)) return;
    const wav = path.join(tmp(), 'tone.wav');
    fs.writeFileSync(wav, encodeWav({ sampleRate: 16000, samples: Float32Array.from({ length: 4000 }, (_, i) => 0.25 * Math.sin((2 * Math.PI * 300 * i) / 16000)) }));
    const frames: number[] = [];
    const request: GenerateRequest = { model: dir, image: photo, audio: wav, out: path.join(tmp(), 'clip'), emotion: { weights: { sad: 1 }, intensity: 0.5 }, pose: [{ t: 0, yaw: 0, pitch: 0, roll: 0 }, { t: 0.2, yaw: 15, pitch: 0, roll: 0 }], noiseSeed: 1, backend: 'wasm', largestFace: true };
    const task = startWorkerTask('speak-generate', request, { onEvent: (e) => e.type === 'progress' && frames.push(e.progress.step) });
    const result = (await task.result) as GenerateResult;
    expect(result).toMatchObject({ frames: 6, fps: 25, size: 64, backend: 'wasm' });
    expect(frames.at(-1)).toBe(6); // 0.25 s at 25 fps
    expect(fs.readdirSync(request.out).filter((f) => f.endsWith('.png'))).toHaveLength(6);
  }, 150_000);

  it.runIf(espeakAvailable())('cancelled in the IRFD stage, resumed by the job manager: continues at the same step and ends with the weights of an uninterrupted run', async () => {
    const { store, jobs, experimentId } = setUp();
    const whole = jobs.submit({ experimentId, name: 'whole', kind: 'talking-head', config: JOB }).id;
    expect((await jobs.wait(whole)).run.status).toBe('done');

    const parts = jobs.submit({ experimentId, name: 'parts', kind: 'talking-head', config: JOB }).id;
    const seen: string[] = [];
    jobs.subscribe((u) => {
      if (u.runId !== parts || u.type !== 'event' || u.event.type !== 'progress') return;
      seen.push(`${u.event.progress.epoch}:${u.event.progress.step}`);
      if (seen.length === 3) jobs.cancel(parts); // IRFD's first step is done
    });
    expect((await jobs.wait(parts)).run.status).toBe('cancelled');
    expect(hasSpeakCheckpoint(runDir(store.path, parts))).toBe(true);
    jobs.resume(parts);
    expect((await jobs.wait(parts)).run.status).toBe('done');
    expect(seen).toEqual(['1:1', '1:2', '2:1', '2:2', '3:1', '3:2']);
    // Every step stored once, and the same losses as the uninterrupted run's.
    expect(lossRows(store, parts)).toEqual(lossRows(store, whole));
    const bin = (id: number) => fs.readFileSync(path.join(runDir(store.path, id), MODEL_BIN));
    expect(Buffer.compare(bin(parts), bin(whole))).toBe(0);
  }, 180_000);
});
