/**
 * The talking-head model the studio ships (resources/speak-model/, made by
 * `npm run train:speak-model`), measured with real instruments: a real photo keeps its identity
 * by the real face descriptor when it goes through `blockwise speak generate`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
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
});
