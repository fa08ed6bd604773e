/**
 * The real faces the generator trains beside the procedural people: every usable face of a group
 * photo (the face-api demo's sample1, real people), aligned and cropped with its landmarks; people
 * can be left out by descriptor; the pool file round-trips and bad files are refused by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { faceVariants, readRealFacePool, realFacePool, withoutPeople, writeRealFacePool, type RealFacePool } from '../../../main/speak/data/real-face-pool';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { eyeCentres, type Point } from '../../../main/speak/instruments/detect-faces';
import { packageDir } from '../../../main/speak/instruments/model-files';

const SAMPLE = path.join(packageDir('@vladmandic/face-api'), 'demo', 'sample1.jpg');
const SIZE = 64;
let pool: RealFacePool;

beforeAll(async () => {
  pool = await realFacePool([SAMPLE], SIZE);
}, 120_000);

const points = (landmarks: Float32Array): Point[] => Array.from({ length: 68 }, (_, i) => [landmarks[2 * i]!, landmarks[2 * i + 1]!]);

describe('real face pool', () => {
  it('crops every face of a group photo one by one, aligned, with its landmarks in the crop', () => {
    expect(pool.faces.length).toBeGreaterThanOrEqual(3);
    for (const face of pool.faces) {
      expect(face.rgb.length).toBe(SIZE * SIZE * 3);
      expect(face.from).toMatch(/sample1\.jpg#\d+$/);
      const [left, right] = eyeCentres(points(face.landmarks));
      // Aligned: eyes level within a pixel or two, the face centred, inside the crop.
      expect(Math.abs(left[1] - right[1])).toBeLessThan(2.5);
      expect(Math.abs((left[0] + right[0]) / 2 - SIZE / 2)).toBeLessThan(6);
      expect(Math.min(...face.landmarks)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...face.landmarks)).toBeLessThanOrEqual(SIZE);
    }
    // Different people, not one face found several times.
    const [a, b] = pool.faces;
    expect(Math.hypot(...a!.descriptor.map((v, k) => v - b!.descriptor[k]!))).toBeGreaterThan(0.6);
  });

  it('leaves out the people it is told to (the evaluation photos), saying so', () => {
    const first = pool.faces[0]!;
    const rest = withoutPeople(pool, [first.descriptor]);
    expect(rest.faces.map((f) => f.from)).not.toContain(first.from);
    expect(rest.faces.length).toBe(pool.faces.length - 1);
    expect(rest.skipped.at(-1)).toBe(`${first.from}: the same person as an excluded face`);
  });

  it('round-trips through its file and refuses a file of another size or a damaged one, naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-faces-'));
    const file = path.join(dir, 'faces.json');
    writeRealFacePool(file, SIZE, pool);
    const back = readRealFacePool(file, SIZE);
    expect(back.faces.length).toBe(pool.faces.length);
    expect(Buffer.from(back.faces[0]!.rgb).equals(Buffer.from(pool.faces[0]!.rgb))).toBe(true);
    expect(Array.from(back.faces[0]!.landmarks)).toEqual(Array.from(pool.faces[0]!.landmarks));
    expect(() => readRealFacePool(file, 128)).toThrow(/holds 64 px crops but this run trains at 128 px/);
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.faces[0].rgb = 'AAAA';
    fs.writeFileSync(file, JSON.stringify(json));
    expect(() => readRealFacePool(file, SIZE)).toThrow(/face 0 .* is damaged/);
    fs.writeFileSync(file, '{');
    expect(() => readRealFacePool(file, SIZE)).toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')} cannot be read`));
  });
});

describe('face variants', () => {
  it('each face as shot and mirrored under five lights: mirrored points land on the same pixels, lights scale the bytes', () => {
    const size = 64;
    const clip = proceduralClips({ count: 1, seed: 5, size, emotions: ['happy'], maxFrames: 1 }).clips[0]!;
    const face = { rgb: clip.frame(0), landmarks: clip.landmarks![0]!, descriptor: new Float32Array(128), from: 'render#0' };
    const variants = faceVariants([face], size);
    expect(variants).toHaveLength(10);
    expect(new Set(variants.map((v) => v.from)).size).toBe(10);
    const [shot, dark] = variants;
    expect(Array.from(shot!.rgb)).toEqual(Array.from(face.rgb));
    expect(dark!.rgb[100]).toBe(Math.round(face.rgb[100]! * 0.6));
    const mirrored = variants[5]!;
    const pixel = (v: { rgb: Uint8Array; landmarks: Float32Array }, point: number) => {
      const x = Math.round(v.landmarks[2 * point]!), y = Math.round(v.landmarks[2 * point + 1]!);
      return Array.from(v.rgb.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));
    };
    // The outer eye corners swap sides: the mirrored face's point 36 is the original's 45 seen in the mirror.
    expect(mirrored.landmarks[2 * 36]).toBeCloseTo(size - 1 - face.landmarks[2 * 45]!, 5);
    expect(mirrored.landmarks[2 * 36]!).toBeLessThan(mirrored.landmarks[2 * 45]!);
    for (const point of [8, 30, 36, 48, 62]) expect(pixel(mirrored, point), `point ${point}`).toEqual(pixel(face, [8, 30, 45, 54, 62][[8, 30, 36, 48, 62].indexOf(point)]!));
  });
});
