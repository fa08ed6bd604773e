import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { espeakAvailable } from '../../../main/speak/audio/espeak';
import { frameRms } from '../../../main/speak/audio/loudness';
import { decodeWav } from '../../../main/speak/audio/wav';
import { writeCorpus, type CorpusOptions } from '../../../main/speak/corpus/corpus-writer';
import { decodePngRgb } from '../../../main/speak/corpus/png';

const root = mkdtempSync(path.join(os.tmpdir(), 'speak-corpus-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under dir, relative, sorted. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(path.join(dir, name)).isDirectory() ? files(path.join(dir, name), `${prefix}${name}/`) : [`${prefix}${name}`]));
}

const small = (out: string, seed: number): CorpusOptions => ({ out: path.join(root, out), identities: 2, seed, size: 64, emotions: ['happy', 'neutral'], levels: [3], maxFrames: 5 });

function pearson(a: number[], b: number[]): number {
  const n = a.length, ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe.runIf(espeakAvailable())('corpus writer', () => {
  it('writes the same bytes twice from the same seed, and different ones from another seed', () => {
    const progress: number[] = [];
    const a = writeCorpus({ ...small('a', 7), onProgress: (p) => progress.push(p.clipsDone) });
    writeCorpus(small('b', 7));
    const listA = files(path.join(root, 'a'));
    expect(listA).toEqual(files(path.join(root, 'b')));
    // 2 identities x (happy level 3 + neutral level 1) = 4 clips of 5 frames, WAV and labels; identity.json each; the manifest.
    expect(listA.filter((f) => f.endsWith('.png'))).toHaveLength(20);
    expect(listA).toContain('id001/happy/level_3/001/audio.wav');
    expect(listA).toContain('id000/neutral/level_1/001/labels.json');
    expect(listA).toContain('manifest.json');
    for (const f of listA) expect(readFileSync(path.join(root, 'b', f)).equals(readFileSync(path.join(root, 'a', f))), f).toBe(true);
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(a.totalFrames).toBe(20);

    writeCorpus(small('c', 8));
    const frame = 'id000/happy/level_3/001/000000.png';
    expect(readFileSync(path.join(root, 'c', frame)).equals(readFileSync(path.join(root, 'a', frame)))).toBe(false);
    expect(readFileSync(path.join(root, 'c', 'id000/identity.json'), 'utf8')).not.toBe(readFileSync(path.join(root, 'a', 'id000/identity.json'), 'utf8'));
  });

  it('labels every frame with landmarks inside the picture, pose, emotion, blink, viseme and loudness; the WAV covers the frames', () => {
    const dir = path.join(root, 'a', 'id000/happy/level_3/001');
    const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8'));
    expect(labels).toMatchObject({ identity: 'id000', emotion: 'happy', level: 3, intensity: 1, fps: 25, size: 64, landmarkLayout: 'ibug-68' });
    expect(labels.identityParams.name).toBe('id000');
    expect(labels.frames).toHaveLength(5);
    for (const frame of labels.frames) {
      expect(frame.landmarks).toHaveLength(68);
      for (const [x, y] of frame.landmarks) expect(x > 0 && x < 64 && y > 0 && y < 64).toBe(true);
      expect(Math.abs(frame.yaw)).toBeLessThanOrEqual(30);
      expect(frame).toMatchObject({ emotion: 'happy', intensity: 1 });
      for (const key of ['pitch', 'roll', 'blink', 'loudness', 'rms', 'mouthOpen']) expect(typeof frame[key]).toBe('number');
      expect(typeof frame.viseme).toBe('string');
      const png = decodePngRgb(readFileSync(path.join(dir, frame.file)));
      expect([png.width, png.height]).toEqual([64, 64]);
    }
    const audio = decodeWav(readFileSync(path.join(dir, 'audio.wav')));
    expect(audio.samples.length).toBe((5 * 22050) / 25);
    const manifest = JSON.parse(readFileSync(path.join(root, 'a', 'manifest.json'), 'utf8'));
    expect(manifest.clips.map((c: { path: string }) => c.path)).toEqual(['id000/happy/level_3/001', 'id000/neutral/level_1/001', 'id001/happy/level_3/001', 'id001/neutral/level_1/001']);
  });

  it('opens the mouth with the loudness of the WAV it wrote', () => {
    writeCorpus({ out: path.join(root, 'talk'), identities: 1, seed: 3, size: 64, emotions: ['neutral'] });
    const dir = path.join(root, 'talk', 'id000/neutral/level_1/001');
    const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8'));
    const rms = Array.from(frameRms(decodeWav(readFileSync(path.join(dir, 'audio.wav')))));
    expect(labels.frames.length).toBe(rms.length);
    expect(labels.frames.length).toBeGreaterThan(40);
    // Inner-lip gap (62 to 66) in pixels, from the ground-truth landmarks.
    const opening = labels.frames.map((f: { landmarks: number[][] }) => Math.hypot(f.landmarks[66]![0]! - f.landmarks[62]![0]!, f.landmarks[66]![1]! - f.landmarks[62]![1]!));
    expect(pearson(opening, rms)).toBeGreaterThan(0.5);
    expect(Math.max(...opening)).toBeGreaterThan(2);
  });

  it('refuses a folder that is not empty and bad settings, writing nothing', () => {
    const busy = path.join(root, 'busy');
    writeCorpus({ ...small('busy', 1), identities: 1, emotions: ['neutral'], maxFrames: 1 });
    const before = files(busy);
    expect(() => writeCorpus({ ...small('busy', 2) })).toThrow(/is not empty/);
    expect(files(busy)).toEqual(before);
    expect(() => writeCorpus({ ...small('bad1', 1), size: 48 })).toThrow(/--size must be .* 64 to 256/);
    expect(() => writeCorpus({ ...small('bad2', 1), levels: [4] })).toThrow(/Level 4 is not a MEAD intensity level/);
    expect(() => writeCorpus({ ...small('bad3', 1), emotions: ['bored' as never] })).toThrow(/"bored" is not one of the 8 MEAD emotions/);
    expect(readdirSync(root)).not.toContain('bad1');
  });
});
