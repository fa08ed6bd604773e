/**
 * `blockwise speak corpus|train|generate|eval` parsing: every subcommand's flags into checked
 * options or talking-head settings, and bad flags refused with a message naming the flag; then
 * the real CLI process training the real stages, stopped by Ctrl+C and resumed by the same command.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../main/cli/args';
import { DatasetCatalog } from '../../../main/data/catalog';
import { JobManager } from '../../../main/jobs/job-manager';
import { Store } from '../../../main/store';
import { parseSpeakCli, type SpeakGenerateCommand, type SpeakTrainCommand } from '../../../main/cli/speak';
import { espeakAvailable } from '../../../main/speak/audio/espeak';
import { decodeWav, encodeWav } from '../../../main/speak/audio/wav';
import { decodePngRgb } from '../../../main/speak/corpus/png';
import { packageDir } from '../../../main/speak/instruments/model-files';
import { readSpeakModel } from '../../../main/speak/train/speak-checkpoint';
import { buildCli } from '../../helpers/cli';
import { useTempDir } from '../../helpers/temp';

/** A real group photo shipped with face-api's demo (real people). */
const DEMO_PHOTO = (() => {
  try {
    return path.join(packageDir('@vladmandic/face-api'), 'demo', 'sample2.jpg');
  } catch {
    return '';
  }
})();

/** The CliError message a parse throws (fails the test when it throws none, or another error). */
function refusal(argv: string[]): string {
  try {
    parseSpeakCli(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('blockwise speak', () => {
  const tmp = useTempDir();

  it('help, and unknown subcommands refused', () => {
    expect(parseSpeakCli([])).toEqual({ command: 'help' });
    expect(parseSpeakCli(['--help'])).toEqual({ command: 'help' });
    expect(refusal(['fly'])).toMatch(/^Unknown speak command "fly": use corpus, train, generate, eval or faces/);
  });

  it('faces: photos and the people to leave out; by default human\'s screenshots without the evaluation\'s people', () => {
    const photo = path.join(tmp(), 'group.jpg');
    fs.writeFileSync(photo, 'x');
    expect(parseSpeakCli(['faces', '--out', 'f.json', '--photos', photo, '--size', '128', '--min-face', '30'])).toEqual({ command: 'faces', out: 'f.json', size: 128, photos: [photo], exclude: [], minFaceSize: 30 });
    const defaults = parseSpeakCli(['faces', '--out', 'f.json']);
    expect(defaults).toMatchObject({ command: 'faces', size: 64, minFaceSize: 40 });
    if (defaults.command !== 'faces') throw new Error('not faces');
    expect(defaults.photos.map((f) => path.basename(f))).toContain('screenshot-facematch.jpg');
    expect(defaults.exclude.map((f) => path.basename(f))).toContain('sample1.jpg');
    expect(refusal(['faces', '--photos', photo])).toMatch(/^blockwise speak faces needs --out FILE/);
    expect(refusal(['faces', '--out', 'f.json', '--size', '100'])).toMatch(/^--size must be one of 64, 128, 256/);
    expect(refusal(['faces', '--out', 'f.json', '--photos', path.join(tmp(), 'missing.jpg')])).toMatch(/missing\.jpg/);
  });

  it('corpus: flags into corpus options, as before', () => {
    expect(parseSpeakCli(['corpus', '--out', 'c', '--identities', '3', '--seed', '7', '--size', '64', '--emotions', 'happy,Sad', '--levels', '1,3', '--max-frames', '5'])).toEqual({
      command: 'corpus',
      options: { out: 'c', identities: 3, seed: 7, size: 64, emotions: ['happy', 'sad'], levels: [1, 3], maxFrames: 5 },
    });
    expect(refusal(['corpus', '--out', 'c', '--seed', '1'])).toMatch(/^blockwise speak corpus needs --identities N/);
    expect(refusal(['corpus', '--out', 'c', '--identities', 'x', '--seed', '1'])).toMatch(/^--identities needs a whole number \(got x\)/);
    expect(refusal(['corpus', '--emotions', 'bored'])).toMatch(/"bored" is not a MEAD emotion/);
  });

  it('train: procedural people by default, every field resolved', () => {
    const cli = parseSpeakCli(['train', '--out', 'run', '--identities', '12', '--seed', '5', '--size', '128', '--steps', 'syncnet=10,irfd=20,generator=30', '--lr', '0.0002', '--checkpoint-every', '7', '--backend', 'wasm', '--emotions', 'happy,neutral', '--max-frames', '40', '--model-settings', '{"irfd":{"width":16}}']) as SpeakTrainCommand;
    expect(cli.command).toBe('train');
    expect(cli.out).toBe('run');
    expect(cli.settings).toEqual({
      size: 128,
      seed: 5,
      data: { source: 'procedural', identities: 12, first: 0, seed: 5, emotions: ['happy', 'neutral'], maxFrames: 40 },
      steps: { syncnet: 10, irfd: 20, generator: 30 },
      lr: 0.0002,
      checkpointEvery: 7,
      backend: 'wasm',
      model: { syncnet: {}, irfd: { width: 16 }, generator: {} },
    });
    const plain = parseSpeakCli(['train', '--out', 'run', '--steps', '4']) as SpeakTrainCommand;
    expect(plain.settings.steps).toEqual({ syncnet: 4, irfd: 4, generator: 4 });
    expect(plain.settings.data).toEqual({ source: 'procedural', identities: 8, first: 0, seed: 0 });
    expect(plain.settings.size).toBe(64);
    // Stages not named keep their default.
    expect((parseSpeakCli(['train', '--out', 'r', '--steps', 'irfd=9']) as SpeakTrainCommand).settings.steps).toEqual({ syncnet: 300, irfd: 9, generator: 300 });
  });

  it('train: a corpus folder with held-out people', () => {
    const cli = parseSpeakCli(['train', '--out', 'run', '--corpus', 'corpus', '--held-out', '2', '--seed', '3']) as SpeakTrainCommand;
    expect(cli.settings.data).toEqual({ source: 'corpus', dir: 'corpus', heldOut: 2, seed: 3 });
  });

  it('train: bad flags refused, naming the flag', () => {
    expect(refusal(['train', '--steps', '3'])).toMatch(/^blockwise speak train needs --out DIR/);
    expect(refusal(['train', '--out', 'r', '--size', '100'])).toMatch(/^Invalid talking-head settings: --size \(size\): must be 64, 128 or 256/);
    expect(refusal(['train', '--out', 'r', '--steps', '0'])).toMatch(/--steps \(steps\): every stage has 0 steps/);
    expect(refusal(['train', '--out', 'r', '--steps', 'vocoder=3'])).toMatch(/^--steps needs a whole number, or stage=N pairs/);
    expect(refusal(['train', '--out', 'r', '--steps', 'irfd=-1'])).toMatch(/^--steps needs/);
    expect(refusal(['train', '--out', 'r', '--identities', '0'])).toMatch(/--identities \(data\.identities\):/);
    expect(refusal(['train', '--out', 'r', '--lr', 'fast'])).toMatch(/^--lr needs a number/);
    expect(refusal(['train', '--out', 'r', '--backend', 'tpu'])).toMatch(/^--backend must be one of/);
    expect(refusal(['train', '--out', 'r', '--model-settings', '{width'])).toMatch(/^--model-settings needs a JSON object/);
    expect(refusal(['train', '--out', 'r', '--model-settings', '{"vocoder":{}}'])).toMatch(/--model-settings \(model\): unknown|--model-settings \(model\).*vocoder/i);
    expect(refusal(['train', '--out', 'r', '--corpus', 'c', '--identities', '4'])).toMatch(/^--identities describe procedural people; with --corpus/);
    expect(refusal(['train', '--out', 'r', '--held-out', '2'])).toMatch(/^--held-out goes with --corpus/);
    expect(refusal(['train', '--out', 'r', '--epochs', '2'])).toMatch(/^Unknown option "--epochs" for blockwise speak train/);
  });

  /** A finished model folder, a photo and a WAV to point generate at (contents are not read when parsing). */
  function files() {
    const dir = tmp();
    const model = path.join(dir, 'model');
    fs.mkdirSync(model);
    fs.writeFileSync(path.join(model, 'model.json'), '{}');
    fs.writeFileSync(path.join(dir, 'face.png'), '');
    fs.writeFileSync(path.join(dir, 'hello.wav'), '');
    return { dir, model, image: path.join(dir, 'face.png'), audio: path.join(dir, 'hello.wav') };
  }

  it('generate: emotion weights normalised, a constant pose or a keyframed curve', () => {
    const f = files();
    const base = ['generate', '--model', f.model, '--image', f.image, '--audio', f.audio, '--out', path.join(f.dir, 'out')];
    const plain = parseSpeakCli(base) as SpeakGenerateCommand;
    expect(plain).toMatchObject({ command: 'generate', emotion: { neutral: 1 }, intensity: 1, pose: { yaw: 0, pitch: 0, roll: 0 }, noiseSeed: 0, blinksPerMinute: 0, largestFace: false });
    expect(parseSpeakCli([...base, '--largest-face', '--seed', '7', '--blinks', '18', '--backend', 'wasm'])).toMatchObject({ noiseSeed: 7, blinksPerMinute: 18, largestFace: true, backend: 'wasm' });
    const mixed = parseSpeakCli([...base, '--emotion', 'happy=0.6,surprised=0.2', '--intensity', '0.5', '--yaw', '20', '--roll', '-5']) as SpeakGenerateCommand;
    expect(mixed.emotion.happy).toBeCloseTo(0.75, 12);
    expect(mixed.emotion.surprised).toBeCloseTo(0.25, 12);
    expect(mixed.intensity).toBe(0.5);
    expect(mixed.pose).toEqual({ yaw: 20, pitch: 0, roll: -5 });
    const curveFile = path.join(f.dir, 'pose.json');
    fs.writeFileSync(curveFile, JSON.stringify([{ t: 0, yaw: 0, pitch: 0, roll: 0 }, { t: 1.5, yaw: 25, pitch: -10, roll: 3 }]));
    expect((parseSpeakCli([...base, '--pose-curve', curveFile]) as SpeakGenerateCommand).pose).toEqual([{ t: 0, yaw: 0, pitch: 0, roll: 0 }, { t: 1.5, yaw: 25, pitch: -10, roll: 3 }]);
  });

  it('generate: bad flags and files refused, naming the flag', () => {
    const f = files();
    const base = ['generate', '--model', f.model, '--image', f.image, '--audio', f.audio, '--out', path.join(f.dir, 'out')];
    expect(refusal(['generate', '--model', f.model, '--image', f.image, '--out', 'o'])).toMatch(/^blockwise speak generate needs --audio WAV/);
    expect(refusal([...base.slice(0, 1), '--model', f.dir, ...base.slice(3)])).toMatch(/^--model: .* holds no trained talking-head model \(no model\.json\)/);
    expect(refusal([...base.slice(0, 3), '--image', path.join(f.dir, 'nobody.png'), ...base.slice(5)])).toMatch(/^--image: .*nobody\.png does not exist/);
    fs.writeFileSync(path.join(f.dir, 'hello.mp3'), '');
    expect(refusal([...base.slice(0, 5), '--audio', path.join(f.dir, 'hello.mp3'), ...base.slice(7)])).toMatch(/^--audio: .* is not a \.wav file/);
    expect(refusal([...base, '--emotion', 'joy=1'])).toMatch(/^--emotion: "joy" is not a MEAD emotion/);
    expect(refusal([...base, '--emotion', 'happy=0,sad=0'])).toMatch(/^--emotion: every weight is 0/);
    expect(refusal([...base, '--emotion', 'happy=2'])).toMatch(/^--emotion happy needs a number from 0 to 1/);
    expect(refusal([...base, '--intensity', '1.5'])).toMatch(/^--intensity needs a number from 0 to 1/);
    expect(refusal([...base, '--yaw', '120'])).toMatch(/^--yaw needs a number from -90 to 90/);
    expect(refusal([...base, '--blinks', '90'])).toMatch(/^--blinks needs a number from 0 to 60/);
    const curveFile = path.join(f.dir, 'pose.json');
    fs.writeFileSync(curveFile, JSON.stringify([{ t: 0, yaw: 0, pitch: 0, roll: 0 }]));
    expect(refusal([...base, '--yaw', '10', '--pose-curve', curveFile])).toMatch(/^Give a constant pose .* or --pose-curve FILE, not both/);
    fs.writeFileSync(curveFile, JSON.stringify([{ t: 0, yaw: 0, pitch: 0, roll: 0 }, { t: 0, yaw: 5, pitch: 0, roll: 0 }]));
    expect(refusal([...base, '--pose-curve', curveFile])).toMatch(/keyframe 1 of .* is not after keyframe 0/);
    fs.writeFileSync(curveFile, JSON.stringify([{ t: 0, yaw: 100, pitch: 0, roll: 0 }]));
    expect(refusal([...base, '--pose-curve', curveFile])).toMatch(/keyframe 0 of .* has yaw = 100/);
    fs.writeFileSync(curveFile, 'not json');
    expect(refusal([...base, '--pose-curve', curveFile])).toMatch(/^--pose-curve: .* is not valid JSON/);
    expect(refusal([...base, '--fps', '30'])).toMatch(/^Unknown option "--fps" for blockwise speak generate/);
    expect(refusal([...base.slice(0, 7), '--out', f.model])).toMatch(/^--out: .* is not a new or empty folder/);
  });

  it('eval: a model folder and the held-out people', () => {
    const f = files();
    expect(parseSpeakCli(['eval', '--model', f.model])).toMatchObject({ command: 'eval', models: [f.model], identities: 4, seed: 9000, frames: 50, instrumentSteps: 3000, motion: 'absolute' });
    expect(parseSpeakCli(['eval', '--model', f.model, '--motion', 'posed'])).toMatchObject({ motion: 'posed' });
    expect(refusal(['eval', '--model', f.model, '--motion', 'sideways'])).toMatch(/^--motion must be one of absolute, relative, posed \(got sideways\)/);
    expect(parseSpeakCli(['eval', '--model', f.model, '--model', f.model, '--identities', '6', '--seed', '1', '--frames', '10', '--photo', f.image])).toMatchObject({ command: 'eval', models: [f.model, f.model], identities: 6, seed: 1, frames: 10, photos: [f.image] });
    expect(refusal(['eval', '--model', f.model, '--photo', path.join(f.dir, 'missing.jpg')])).toMatch(/--photo/);
    expect(refusal(['eval', '--model', f.model, '--frames', '1'])).toMatch(/at least 2 frames/);
    expect(refusal(['eval'])).toMatch(/^blockwise speak eval needs --model DIR/);
    expect(refusal(['eval', '--model', f.dir])).toMatch(/holds no trained talking-head model/);
    expect(refusal(['eval', '--model', f.model, '--identities', '0'])).toMatch(/at least 1 held-out person/);
    expect(refusal(['eval', '--model', f.model, '--table', 'x'])).toMatch(/^Unknown option "--table" for blockwise speak eval/);
  });

  it.runIf(espeakAvailable())('train in a real process: progress with losses and ETA, Ctrl+C stops at a checkpoint, the same command resumes, other flags are refused', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const out = path.join(dir, 'model');
    const flags = ['speak', 'train', '--out', out, '--identities', '2', '--seed', '3', '--emotions', 'neutral,happy', '--max-frames', '6', '--steps', 'syncnet=2,irfd=2,generator=0', '--backend', 'wasm', '--model-settings', '{"syncnet":{"batchSize":4},"irfd":{"width":8,"batch":2}}'];
    // Stopped by SIGINT (Ctrl+C) once SyncNet's last step is reported.
    const first = spawn(process.execPath, [cli, ...flags], { env });
    let stderr = '';
    first.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('syncnet (stage 1/2) step 2/2')) first.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => first.on('exit', resolve));
    expect(stderr).toMatch(/syncnet \(stage 1\/2\) step 2\/2  total \d\.\d+.* frames\/s  ETA \d+:\d\d/);
    expect(stderr).toContain('Run the same command again to continue');
    expect(code).toBe(130);
    expect(fs.existsSync(path.join(out, 'checkpoint.json'))).toBe(true);

    const other = spawnSync(process.execPath, [cli, ...flags.map((f) => (f === '--seed' ? '--size' : f === '3' ? '128' : f))], { env, encoding: 'utf8' });
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/holds the checkpoint of a run with other settings/);

    const second = spawnSync(process.execPath, [cli, ...flags], { env, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(/Resuming the run in .* from its checkpoint/);
    expect(second.stderr).not.toMatch(/syncnet \(stage/); // SyncNet was finished: it does not train again
    expect(second.stderr).toMatch(/irfd \(stage 2\/2\) step 2\/2  id \d.* total \d.*ETA 0:00/);
    expect(second.stdout).toMatch(/talking-head model written to .*model \(model\.json, model\.bin\)/);
    expect(second.stdout).toMatch(/last loss\/irfd\.self +\d/);
    expect(readSpeakModel(out).manifest.stages.map((s) => [s.name, s.steps])).toEqual([['syncnet', 2], ['irfd', 2]]);
    expect(fs.existsSync(path.join(out, 'checkpoint.json'))).toBe(true); // the CLI keeps it beside the model; a second train into DIR is refused
    const again = spawnSync(process.execPath, [cli, ...flags], { env, encoding: 'utf8' });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/holds a trained model already/);

    const busy = spawnSync(process.execPath, [cli, ...flags.map((f) => (f === out ? dir : f))], { env, encoding: 'utf8' });
    expect(busy.status).toBe(2);
    expect(busy.stderr).toMatch(/already holds other files \(.*\); give a new or empty --out folder/);

    const generate = spawnSync(process.execPath, [cli, 'speak', 'generate', '--model', out, '--image', path.join(out, 'model.json'), '--audio', path.join(dir, 'none.wav'), '--out', path.join(dir, 'clip')], { env, encoding: 'utf8' });
    expect(generate.status).toBe(2);
    expect(generate.stderr).toMatch(/--audio: .*none\.wav does not exist/);
  }, 180_000);

  it.runIf(espeakAvailable() && fs.existsSync(DEMO_PHOTO))('generate in a real process: a real photo and a WAV through a trained model into PNG frames at 25 fps, audio.wav and clip.json', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const model = path.join(dir, 'model');
    const trained = spawnSync(process.execPath, [cli, 'speak', 'train', '--out', model, '--identities', '2', '--seed', '3', '--emotions', 'neutral,happy', '--max-frames', '6', '--steps', 'syncnet=0,irfd=1,generator=1', '--backend', 'wasm', '--model-settings', '{"irfd":{"width":8,"batch":2},"generator":{"batchSize":1,"weights":{"perceptual":0}}}'], { env, encoding: 'utf8' });
    expect(trained.status, trained.stderr).toBe(0);
    // Half a second of a 220 Hz tone: 13 frames at 25 fps.
    const wav = path.join(dir, 'tone.wav');
    const samples = Float32Array.from({ length: 8000 }, (_, i) => 0.25 * Math.sin((2 * Math.PI * 220 * i) / 16000));
    fs.writeFileSync(wav, encodeWav({ sampleRate: 16000, samples }));
    const clip = path.join(dir, 'clip');
    const args = ['speak', 'generate', '--model', model, '--image', DEMO_PHOTO, '--audio', wav, '--out', clip, '--emotion', 'happy=1', '--yaw', '10', '--backend', 'wasm'];
    // The demo photo is a group: refused with the real detector's count unless the largest face is asked for.
    const group = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
    expect(group.status).toBe(1);
    expect(group.stderr).toMatch(/\d faces were found in this image; the talking head needs one/);
    const made = spawnSync(process.execPath, [cli, ...args, '--largest-face'], { env, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^13 frames at 64 px, 25 fps, written to /);
    const pngs = fs.readdirSync(clip).filter((f) => f.endsWith('.png')).sort();
    expect(pngs).toEqual(Array.from({ length: 13 }, (_, i) => `${String(i).padStart(6, '0')}.png`));
    const frame = decodePngRgb(fs.readFileSync(path.join(clip, pngs[6]!)));
    expect([frame.width, frame.height]).toEqual([64, 64]);
    expect(new Set(frame.rgb).size).toBeGreaterThan(10); // a picture, not a blank
    expect(decodeWav(fs.readFileSync(path.join(clip, 'audio.wav'))).samples.length).toBe(8000);
    expect(JSON.parse(fs.readFileSync(path.join(clip, 'clip.json'), 'utf8'))).toMatchObject({ fps: 25, size: 64, frames: 13, pose: { yaw: 10, pitch: 0, roll: 0 }, emotion: { weights: { happy: 1 }, intensity: 1 } });
  }, 180_000);

  it.runIf(espeakAvailable())('blockwise resume continues a cancelled talking-head run from its checkpoint and says where its model is', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const db = path.join(dir, 'studio.sqlite');
    const store = Store.open(db);
    const experimentId = store.projects.createExperiment({ projectId: store.projects.create({ name: 'p' }).id, name: 'e', kind: 'talking-head' }).id;
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store) });
    const config = { backend: 'wasm', seed: 1, data: { source: 'procedural', identities: 2, seed: 3, emotions: ['neutral', 'happy'], maxFrames: 6 }, steps: { syncnet: 2, irfd: 1, generator: 0 }, model: { syncnet: { batchSize: 4 }, irfd: { width: 8, batch: 2 } } };
    const runId = jobs.submit({ experimentId, name: 'speak', kind: 'talking-head', config }).id;
    jobs.subscribe((u) => u.type === 'event' && u.event.type === 'progress' && jobs.cancel(runId));
    expect((await jobs.wait(runId)).run.status).toBe('cancelled');
    await jobs.close();
    store.close();
    const resumed = spawnSync(process.execPath, [cli, 'resume', String(runId), '--db', db], { env, encoding: 'utf8' });
    expect(resumed.stderr).toMatch(/Resuming run \d+ \(speak\) from its last checkpoint/);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`run ${runId}: talking-head model written to ${path.join(dir, 'runs', String(runId))}`);
    const reopened = Store.open(db);
    try {
      expect(reopened.runs.get(runId).status).toBe('done');
      expect(reopened.metrics.series(runId, 'step').find((s) => s.key === 'loss/irfd.total')?.steps).toEqual([3]);
    } finally {
      reopened.close();
    }
  }, 120_000);
});
