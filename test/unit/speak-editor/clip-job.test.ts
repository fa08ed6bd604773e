/**
 * The editor through the contract on a real studio (fresh SQLite file, real job worker, shipped
 * model): a clip is queued as a `talking-head-clip` run with progress, finishes with its frames,
 * WAV and clip.json as an artifact, lists with its settings and plays back; a long one is
 * cancelled; bad input is refused with nothing created; editor projects save and reopen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStudio, type Studio } from '../../../main/studio';
import { encodeWav } from '../../../main/speak/audio/wav';
import { decodePngRgb } from '../../../main/speak/corpus/png';
import { spawnSync } from 'node:child_process';
import { videoFrames } from '../../../main/speak/data/video-frames';
import { installedFfmpeg } from '../../helpers/ffmpeg';
import { useTempDir } from '../../helpers/temp';

const tmp = useTempDir('blockwise-clip-');
const studios: Studio[] = [];
afterEach(async () => {
  for (const studio of studios.splice(0)) await studio.close();
});

function speechWav(seconds: number, rate = 16000): string {
  const samples = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.4 * Math.sin((2 * Math.PI * 180 * i) / rate) * Math.max(0, Math.sin((2 * Math.PI * 2 * i) / rate));
  return encodeWav({ sampleRate: rate, samples }).toString('base64');
}

async function call<T>(studio: Studio, name: string, input: object): Promise<T> {
  const envelope = (await studio.dispatch(name, input)) as { ok: true; result: T } | { ok: false; error: { code: string; message: string } };
  if (!envelope.ok) throw Object.assign(new Error(envelope.error.message), { code: envelope.error.code });
  return envelope.result;
}


async function firstFrames(file: string) {
  const frames = [];
  for await (const frame of videoFrames(file, { maxFrames: 1 })) frames.push(frame);
  return frames;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('talking-head clips as jobs', () => {
  it('generates a clip with its pose keyframes as a queued run, lists it with its settings and plays it back', async () => {
    const studio = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    studios.push(studio);
    const progress: number[] = [];
    studio.subscribe((event) => event.name === 'runs:progress' && progress.push(event.payload.progress.step));
    const faces = await call<{ faces: { id: string }[] }>(studio, 'speak:faces', {});
    const speech = await call<{ id: string; seconds: number }>(studio, 'speak:speech', { source: 'file', name: 'speech.wav', data: speechWav(1.2) });
    const settings = { identityId: faces.faces[0]!.id, speechId: speech.id, emotion: { weights: { happy: 0.8, neutral: 0.2 }, intensity: 0.8 }, pose: [{ t: 0, yaw: 20, pitch: 0, roll: 0 }, { t: 1.2, yaw: 0, pitch: 0, roll: 0, ease: true }], seed: 3 };
    const run = await call<{ id: number; kind: string; status: string }>(studio, 'speak:generate', { name: 'first clip', settings });
    expect(run.kind).toBe('talking-head-clip');
    await until(() => ['done', 'failed'].includes(studio.store.runs.get(run.id).status), 60_000);
    expect(studio.store.runs.get(run.id)).toMatchObject({ status: 'done', error: null });
    expect(progress.at(-1)).toBe(30); // 1.2 s at 25 fps, progress per batch of frames
    const [clip] = await call<{ runId: number; frames: number; fps: number; seconds: number; settings: Record<string, unknown> }[]>(studio, 'speak:clips', {});
    expect(clip).toMatchObject({ runId: run.id, frames: 30, fps: 25, settings: { ...settings, identityLabel: 'Corpus person 1', speechName: 'speech.wav' } });
    expect(clip!.seconds).toBeCloseTo(1.2, 3);
    const media = await call<{ frames: string[]; audioUrl: string; size: number }>(studio, 'speak:clip', { id: run.id });
    expect(media.frames).toHaveLength(30);
    const first = decodePngRgb(Buffer.from(media.frames[0]!.split(',')[1]!, 'base64'));
    const last = decodePngRgb(Buffer.from(media.frames[29]!.split(',')[1]!, 'base64'));
    expect(first.width).toBe(64);
    expect(Buffer.from(first.rgb).equals(Buffer.from(last.rgb))).toBe(false); // the head turned back
    const wav = Buffer.from(media.audioUrl.split(',')[1]!, 'base64');
    expect(wav.length).toBe(44 + Math.round(1.2 * 16000) * 2);
    // MP4 through ffmpeg where installed: the frames and the speech decode back (ffmpeg again); where
    // missing (or BLOCKWISE_FFMPEG names no program) it is refused with how to install it.
    const saved = process.env.BLOCKWISE_FFMPEG;
    process.env.BLOCKWISE_FFMPEG = path.join(tmp(), 'no-ffmpeg-here');
    await expect(call(studio, 'speak:clipVideo', { id: run.id })).rejects.toThrow(/MP4 export needs ffmpeg, which is not installed here\. Install it \(Debian\/Ubuntu: sudo apt-get install ffmpeg/);
    if (saved === undefined) delete process.env.BLOCKWISE_FFMPEG;
    else process.env.BLOCKWISE_FFMPEG = saved;
    if (installedFfmpeg()) {
      const mp4 = await call<{ dataUrl: string; bytes: number }>(studio, 'speak:clipVideo', { id: run.id });
      const file = path.join(tmp(), 'clip.mp4');
      fs.writeFileSync(file, Buffer.from(mp4.dataUrl.split(',')[1]!, 'base64'));
      expect(fs.statSync(file).size).toBe(mp4.bytes);
      // ffprobe counts the video's own frames (a decode at 25 fps would pad them to the AAC audio's 1.28 s).
      const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,nb_read_frames,duration', '-of', 'json', file], { encoding: 'utf8', timeout: 30_000 });
      const streams = (JSON.parse(probe.stdout) as { streams: { codec_name: string; width?: number; nb_read_frames: string; duration: string }[] }).streams;
      expect(streams.find((x) => x.codec_name === 'h264')).toMatchObject({ width: 256, nb_read_frames: '30', duration: '1.200000' });
      expect(Math.abs(Number(streams.find((x) => x.codec_name === 'aac')!.duration) - 1.2)).toBeLessThan(0.1);
      const [first] = await firstFrames(file);
      expect(first!.width).toBe(256);
    } else console.log('[clip-job] ffmpeg is not installed: the MP4 export was only checked to refuse, saying how to install it');
    // The artifact folder holds the frames, the WAV and the settings.
    const artifact = studio.store.metrics.artifacts(run.id).find((a) => a.kind === 'talking-head-clip')!;
    const record = JSON.parse(fs.readFileSync(path.join(artifact.path, 'clip.json'), 'utf8')) as { settings: unknown; frames: number };
    expect(record).toMatchObject({ frames: 30, settings: { seed: 3, emotion: settings.emotion, emotionKeys: [] } });

    // With emotion keys (neutral to surprised) the emotion follows the curve: the first frame
    // (neutral) differs from the keyless clip's (happy), and the settings keep the keys.
    const emotionKeys = [{ t: 0, weights: {}, intensity: 0, ease: true }, { t: 1.2, weights: { surprised: 1 }, intensity: 1, ease: false }];
    const keyed = await call<{ id: number }>(studio, 'speak:generate', { settings: { ...settings, emotionKeys } });
    await until(() => ['done', 'failed'].includes(studio.store.runs.get(keyed.id).status), 60_000);
    expect(studio.store.runs.get(keyed.id)).toMatchObject({ status: 'done', error: null });
    expect(progress.at(-1)).toBe(30);
    const keyedMedia = await call<{ frames: string[] }>(studio, 'speak:clip', { id: keyed.id });
    expect(keyedMedia.frames).toHaveLength(30);
    expect(keyedMedia.frames[0]).not.toBe(media.frames[0]);
    const [latest] = await call<{ runId: number; settings: { emotionKeys: unknown[] } }[]>(studio, 'speak:clips', {});
    expect(latest).toMatchObject({ runId: keyed.id, settings: { emotionKeys } });
  }, 120_000);

  it('cancels a long generation, and refuses a clip whose speech or face is unknown, creating no run', async () => {
    const studio = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    studios.push(studio);
    const faces = await call<{ faces: { id: string }[] }>(studio, 'speak:faces', {});
    const speech = await call<{ id: string }>(studio, 'speak:speech', { source: 'file', name: 'long.wav', data: speechWav(30, 8000) }); // 30 s: 750 frames, several seconds to generate
    const settings = { identityId: faces.faces[1]!.id, speechId: speech.id, emotion: { weights: {}, intensity: 0 }, pose: [{ t: 0, yaw: 0, pitch: 0, roll: 0 }], seed: 0 };
    const run = await call<{ id: number }>(studio, 'speak:generate', { settings });
    await until(() => studio.store.runs.get(run.id).status === 'running', 30_000);
    await call(studio, 'runs:cancel', { id: run.id });
    await until(() => studio.store.runs.get(run.id).status === 'cancelled', 30_000);
    expect(studio.store.metrics.artifacts(run.id)).toEqual([]);
    const before = studio.store.runs.list({ limit: 100, offset: 0 }).total;
    await expect(call(studio, 'speak:generate', { settings: { ...settings, speechId: 'no-such-speech' } })).rejects.toThrow(/No speech with id no-such-speech: load or type the speech again\. Nothing was queued\./);
    await expect(call(studio, 'speak:generate', { settings: { ...settings, identityId: 'upload-gone' } })).rejects.toThrow(/No face with id upload-gone/);
    await expect(call(studio, 'speak:generate', { settings: { ...settings, model: tmp() } })).rejects.toThrow(/holds no talking-head model \(no readable model\.json\)/);
    await expect(call(studio, 'speak:generate', { settings: { ...settings, pose: [] } })).rejects.toThrow(/pose: Too small/);
    expect(studio.store.runs.list({ limit: 100, offset: 0 }).total).toBe(before);
  }, 120_000);

  it('offers the shipped model and finished talking-head runs\' models, leaving out folders that hold no model; a wrong model is refused', async () => {
    const studio = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    studios.push(studio);
    const { store } = studio;
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'talking-head' }).id;
    const trained = (name: string, dir: string) => {
      const run = store.runs.create({ experimentId, name, kind: 'talking-head', config: {} });
      store.runs.setStatus(run.id, 'done');
      store.metrics.addArtifact({ runId: run.id, kind: 'speak-model', path: dir, bytes: 1, meta: {} });
      return run.id;
    };
    const copy = path.join(tmp(), 'model-copy');
    fs.cpSync('resources/speak-model', copy, { recursive: true });
    const good = trained('retrained', copy);
    const broken = path.join(tmp(), 'not-a-model');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'model.json'), '{"format": "something-else"}');
    trained('broken', broken);
    const models = await call<{ label: string; size: number; runId: number | null; path: string }[]>(studio, 'speak:models', {});
    expect(models.map((m) => [m.label, m.size, m.runId])).toEqual([['Shipped model', 64, null], [`Run ${good}: retrained`, 64, good]]);
    const faces = await call<{ faces: { id: string }[] }>(studio, 'speak:faces', { model: copy });
    const preview = await call<{ size: number }>(studio, 'speak:preview', { model: copy, identityId: faces.faces[0]!.id, speechId: null, time: 0, emotion: { weights: {}, intensity: 0 }, pose: { yaw: 0, pitch: 0, roll: 0 }, seed: 0 });
    expect(preview.size).toBe(64);
    await expect(call(studio, 'speak:preview', { model: broken, identityId: faces.faces[0]!.id, speechId: null, time: 0, emotion: { weights: {}, intensity: 0 }, pose: { yaw: 0, pitch: 0, roll: 0 }, seed: 0 })).rejects.toThrow(/not-a-model\/model\.json is not a talking-head model of this studio \(format "something-else"\)/);
  }, 120_000);

  it('saves, lists and reopens editor projects; a taken name is refused', async () => {
    const studio = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    studios.push(studio);
    const state = { model: 'resources/speak-model', identityId: 'corpus-0', speechId: null, emotion: { weights: { happy: 0.8 }, intensity: 0.8 }, pose: { yaw: 20, pitch: 0, roll: 0 }, keys: [{ t: 0, yaw: 20, pitch: 0, roll: 0, ease: true }, { t: 1.5, yaw: 0, pitch: 0, roll: 0, ease: false }], emotionKeys: [{ t: 0.5, weights: { sad: 1 }, intensity: 0.4, ease: true }], seed: 7, blinks: 12, motion: 'posed' };
    const saved = await call<{ id: number; name: string; state: unknown }>(studio, 'speak:saveProject', { name: 'Greeting', state });
    expect(saved.state).toEqual(state);
    await expect(call(studio, 'speak:saveProject', { name: 'greeting', state })).rejects.toThrow(/A talking-head project named "greeting" already exists/);
    const moved = await call<{ id: number; state: { seed: number } }>(studio, 'speak:saveProject', { id: saved.id, name: 'Greeting', state: { ...state, seed: 8 } });
    expect(moved.id).toBe(saved.id);
    const list = await call<{ id: number; name: string }[]>(studio, 'speak:projects', {});
    expect(list.map((p) => p.name)).toEqual(['Greeting']);
    expect((await call<{ state: { seed: number; keys: unknown[] } }>(studio, 'speak:openProject', { id: saved.id })).state).toMatchObject({ seed: 8, keys: state.keys });
    await expect(call(studio, 'speak:saveProject', { name: 'Bad', state: { ...state, pose: { yaw: 200, pitch: 0, roll: 0 } } })).rejects.toThrow(/state\.pose\.yaw: Too big/);
    expect((await call<unknown[]>(studio, 'speak:projects', {})).length).toBe(1);
    // A project saved before the blink slider and the motion choice opens with no blinks and the model's own motion.
    const { blinks: _blinks, motion: _motion, ...older } = state;
    const old = await call<{ id: number }>(studio, 'speak:saveProject', { name: 'Older', state: older });
    expect((await call<{ state: { blinks: number; motion: string } }>(studio, 'speak:openProject', { id: old.id })).state).toMatchObject({ blinks: 0, motion: 'absolute' });
  });
});
