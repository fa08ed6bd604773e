/**
 * The talking-head model the studio ships (resources/speak-model/, made by
 * `npm run train:speak-model`), measured with real instruments: a real photo keeps its identity
 * by the real face descriptor when it goes through `blockwise speak generate`, the speech (not
 * another clip's) drives the mouth, and swapping IRFD's pose code moves the pose a separate judge
 * reads while the identity code stays.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../../main/engine/backend/select';
import { NEUTRAL_STATE } from '../../../main/speak/corpus/face-model';
import { makeIdentities } from '../../../main/speak/corpus/identity';
import { renderFace } from '../../../main/speak/corpus/renderer';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { createInstrument, predictPoses, trainInstrument } from '../../../main/speak/eval/corpus-classifiers';
import { frameSetFromClips } from '../../../main/speak/eval/frame-set';
import { motionPathOf, mouthFollowing } from '../../../main/speak/eval/mouth-following';
import { decodeFaces, encodeFaces, type FaceCodes } from '../../../main/speak/model/irfd';
import { generateClip, loadSpeakModel, prepareFace, previewFrame } from '../../../main/speak/speak-model';
import { espeakAvailable, speak } from '../../../main/speak/audio/espeak';
import { decodePngRgb } from '../../../main/speak/corpus/png';
import { identityFromPhoto } from '../../../main/speak/data/photo-source';
import { detectFaces } from '../../../main/speak/instruments/detect-faces';
import { descriptorDistance, SAME_PERSON_DISTANCE } from '../../../main/speak/instruments/identity';
import { resizeImage } from '../../../main/speak/instruments/image-warp';
import { packageDir } from '../../../main/speak/instruments/model-files';
import { readSpeakModel } from '../../../main/speak/train/speak-checkpoint';
import { buildCli } from '../../helpers/cli';
import { useTempDir } from '../../helpers/temp';

const MODEL = path.resolve('resources/speak-model');
const PHOTO = path.join(packageDir('@vladmandic/face-api'), 'demo', 'sample2.jpg');

describe('the shipped talking-head model', () => {
  const tmp = useTempDir();

  it('is in the repository, at most 30 MB, with the recipe and the training time that made it', () => {
    const { manifest } = readSpeakModel(MODEL);
    expect(manifest.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['irfd', 'generator']));
    const bytes = fs.statSync(path.join(MODEL, 'model.bin')).size + fs.statSync(path.join(MODEL, 'model.json')).size;
    expect(bytes).toBeLessThanOrEqual(30 * 1024 * 1024);
    const training = JSON.parse(fs.readFileSync(path.join(MODEL, 'TRAINING.json'), 'utf8')) as { minutes: number; recipe: { size: number } };
    expect(training.recipe.size).toBe(64);
    expect(training.minutes).toBeGreaterThan(0);
  });

  it.runIf(espeakAvailable())('keeps a real photo\'s identity through blockwise speak generate: the real descriptor calls every frame the same person', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const wav = path.join(dir, 'speech.wav');
    fs.writeFileSync(wav, speak('We will meet again tomorrow morning.').wav);
    const out = path.join(dir, 'clip');
    const made = spawnSync(process.execPath, [cli, 'speak', 'generate', '--model', MODEL, '--image', PHOTO, '--largest-face', '--audio', wav, '--out', out, '--emotion', 'happy=1', '--intensity', '0.6', '--yaw', '10', '--backend', 'wasm'], { env, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    await selectBackend('wasm');
    const photo = await identityFromPhoto(PHOTO, { chooseLargest: true });
    const frames = fs.readdirSync(out).filter((f) => f.endsWith('.png')).sort();
    expect(frames.length).toBeGreaterThan(25);
    // Every 4th frame, measured as face-api measures a photo: found by the real detector, then described.
    const distances: number[] = [];
    for (const file of frames.filter((_, i) => i % 4 === 0)) {
      const { width, rgb } = decodePngRgb(fs.readFileSync(path.join(out, file)));
      const [face] = await detectFaces(resizeImage({ width, height: width, data: rgb }, 256, 256), { descriptor: true });
      distances.push(face?.descriptor ? descriptorDistance(face.descriptor, photo.descriptor) : Infinity);
    }
    const same = distances.filter((d) => d < SAME_PERSON_DISTANCE).length / distances.length;
    expect(same, `descriptor distances to the photo: ${distances.map((d) => d.toFixed(2)).join(', ')}`).toBeGreaterThanOrEqual(0.95);
  }, 240_000);

  it('the speech drives the mouth: on people it never saw, the predicted lip opening follows the true one with their own speech and not with another clip\'s', async () => {
    await selectBackend('wasm');
    const model = loadSpeakModel(MODEL);
    // Two held-out people of the evaluation's set (people 1000-1001 of seed 0), neutral and happy.
    const held = proceduralClips({ first: 1000, count: 2, seed: 0, size: 64, maxFrames: 50, emotions: ['neutral', 'happy'] });
    const r = mouthFollowing(model, motionPathOf(model), held);
    model.dispose();
    const report = `r own ${r.own.toFixed(2)}, other clip's speech ${r.control.toFixed(2)}, loudness ${r.loudness.toFixed(2)}`;
    expect(r.own, report).toBeGreaterThan(0.5);
    expect(Math.abs(r.control), report).toBeLessThan(0.25);
  }, 240_000);

  it('swapping only the pose code of IRFD turns the decoded face to the other pose (a separate pose judge) and keeps its identity code', async () => {
    await selectBackend('wasm');
    // A pose judge of its own (not the model's encoders), trained briefly on other procedural people.
    const judge = createInstrument('pose', { width: 8, hidden: 48, seed: 3 });
    await trainInstrument(judge, frameSetFromClips(proceduralClips({ count: 8, seed: 21, size: 64, maxFrames: 40, emotions: ['neutral', 'happy'] }), 5), 200);
    const model = loadSpeakModel(MODEL);
    const people = makeIdentities(8, 9000); // never trained on (the model's people are seed 0's)
    const selfYaw: number[] = [], swappedYaw: number[] = [], identityKept: boolean[] = [], gaps: number[] = [];
    for (let k = 0; k < 8; k += 2) {
      const a = renderFace(people[k]!, { ...NEUTRAL_STATE, pose: { yaw: -20, pitch: 5, roll: 0 } }, { size: 64 }).rgb;
      const b = renderFace(people[k + 1]!, { ...NEUTRAL_STATE, emotion: 'happy', intensity: 1, pose: { yaw: 20, pitch: -5, roll: 0 } }, { size: 64 }).rgb;
      const { decoded, kept } = tf.tidy(() => {
        const codes = encodeFaces(model.irfd, tf.div(tf.tensor4d(Float32Array.from([...a, ...b]), [2, 64, 64, 3]), 255) as tf.Tensor4D, model.arch);
        const row = (t: tf.Tensor2D, i: number) => tf.slice(t, [i, 0], [1, -1]) as tf.Tensor2D;
        const A: FaceCodes = { identity: row(codes.identity, 0), emotion: row(codes.emotion, 0), pose: row(codes.pose, 0) };
        const swapped = decodeFaces(model.irfd, { ...A, pose: row(codes.pose, 1) }, model.arch);
        const again = encodeFaces(model.irfd, swapped, model.arch).identity;
        const distance = (x: tf.Tensor, y: tf.Tensor) => tf.norm(tf.sub(x, y)).dataSync()[0]!;
        return { decoded: tf.concat([decodeFaces(model.irfd, A, model.arch), swapped]).dataSync() as Float32Array, kept: distance(again, A.identity) < distance(again, row(codes.identity, 1)) };
      });
      const [self, swapped] = await predictPoses(judge, decoded, 64);
      const [turnedA, turnedB] = await predictPoses(judge, Float32Array.from([...a, ...b], (v) => v / 255), 64);
      gaps.push(turnedB!.yaw - turnedA!.yaw);
      selfYaw.push(self!.yaw);
      swappedYaw.push(swapped!.yaw);
      identityKept.push(kept);
    }
    model.dispose();
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const report = `judged yaw, own pose code: ${selfYaw.map((v) => v.toFixed(1)).join(', ')}; with the other face's (+20 degrees): ${swappedYaw.map((v) => v.toFixed(1)).join(', ')}`;
    // The faces were turned -20 and +20 degrees: the swap must move the judged yaw toward the donor in every pair, and on
    // average by at least half the gap the same judge reads between the two rendered faces themselves.
    expect(swappedYaw.every((v, i) => v > selfYaw[i]!), report).toBe(true);
    expect(mean(swappedYaw) - mean(selfYaw), `${report}; judged gap of the rendered pairs ${gaps.map((v) => v.toFixed(1)).join(', ')}`).toBeGreaterThan(mean(gaps) / 2);
    expect(identityKept, 'identity code of the swapped face nearer its own person than the pose donor').toEqual([true, true, true, true]);
  }, 240_000);

  it.runIf(espeakAvailable())('previews a frame of speech as the generated clip has it at that time, however often it is asked, in both motion modes, keeping no tensors', async () => {
    await selectBackend('wasm');
    const model = loadSpeakModel(MODEL);
    const clip = proceduralClips({ count: 1, seed: 9000, size: 64, emotions: ['neutral'], maxFrames: 20 }).clips[0]!;
    const performance = { emotion: { weights: { happy: 1 }, intensity: 0.5 }, pose: { yaw: 10, pitch: 0, roll: 0 }, noiseSeed: 2 };
    const clips: Uint8Array[][] = [];
    for (const motion of ['absolute', 'posed'] as const) {
      const before = tf.memory().numTensors;
      const face = prepareFace(model, { rgb: clip.frame(0), size: 64, landmarks: clip.landmarks![0]! }, motion);
      const generated = await generateClip(model, face, clip.audio, performance, { batch: 1 });
      for (const frame of [3, 12, 3]) {
        const preview = previewFrame(model, face, { ...performance, audio: clip.audio, time: frame / 25 });
        expect(Buffer.from(preview).equals(Buffer.from(generated.frames[frame]!)), `${motion} frame ${frame}`).toBe(true);
      }
      face.dispose();
      expect(tf.memory().numTensors, motion).toBe(before);
      clips.push(generated.frames);
    }
    expect(Buffer.from(clips[0]![3]!).equals(Buffer.from(clips[1]![3]!))).toBe(false); // the modes differ
    model.dispose();
  }, 120_000);
});
