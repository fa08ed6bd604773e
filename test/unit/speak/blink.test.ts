/**
 * Blinks (issue 15's blink-rate slider): the schedule's rate and seed, the lid painted over the
 * eye, where the warp took the eyes, and the shipped model's clip blinking only where scheduled.
 */
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { corpusFace } from '../../../main/speak/editor/identities';
import { blinkSchedule, paintBlink, whereWarpTook } from '../../../main/speak/model/blink';
import { generateClip, loadSpeakModel, prepareFace } from '../../../main/speak/speak-model';

/** Luminance spread of the pixels in the boxes around both eyes (points 36-47). */
function eyeSpread(rgb: Uint8Array, size: number, landmarks: ArrayLike<number>): number {
  const values: number[] = [];
  for (const eye of [[36, 41], [42, 47]]) {
    const xs = [], ys = [];
    for (let i = eye[0]!; i <= eye[1]!; i++) xs.push(landmarks[2 * i]!), ys.push(landmarks[2 * i + 1]!);
    for (let y = Math.floor(Math.min(...ys)); y <= Math.ceil(Math.max(...ys)); y++) {
      for (let x = Math.floor(Math.min(...xs)); x <= Math.ceil(Math.max(...xs)); x++) {
        const k = (y * size + x) * 3;
        values.push(0.3 * rgb[k]! + 0.59 * rgb[k + 1]! + 0.11 * rgb[k + 2]!);
      }
    }
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

describe('blinks', () => {
  it('are scheduled at the asked rate, placed by the seed, none at 0; a rate outside 0..60 is refused', () => {
    const minute = 25 * 60;
    for (const rate of [6, 15, 40]) {
      const shut = blinkSchedule(minute * 4, rate, 3).filter((v) => v === 1).length / 4;
      expect(Math.abs(shut - rate)).toBeLessThan(rate * 0.25 + 1);
    }
    expect(blinkSchedule(200, 20, 1)).toEqual(blinkSchedule(200, 20, 1));
    expect(blinkSchedule(200, 20, 1)).not.toEqual(blinkSchedule(200, 20, 2));
    // A longer clip blinks at the same times over the shared frames (the preview and the clip agree).
    expect(blinkSchedule(300, 20, 1).slice(0, 120)).toEqual(blinkSchedule(120, 20, 1));
    expect(blinkSchedule(100, 0, 1).every((v) => v === 0)).toBe(true);
    expect(() => blinkSchedule(10, 61, 1)).toThrow(/Blinks per minute must be from 0 to 60, got 61/);
    expect(() => blinkSchedule(10, -1, 1)).toThrow(/from 0 to 60/);
  });

  it('paint the upper lid in the skin colour over the eye, and leave a closure of 0 untouched', () => {
    const face = corpusFace(1, 64);
    const open = Uint8Array.from(face.rgb);
    const half = Uint8Array.from(face.rgb);
    const shut = Uint8Array.from(face.rgb);
    paintBlink(open, 64, face.landmarks, 0);
    paintBlink(half, 64, face.landmarks, 0.5);
    paintBlink(shut, 64, face.landmarks, 1);
    expect(Buffer.from(open).equals(Buffer.from(face.rgb))).toBe(true);
    const before = eyeSpread(face.rgb, 64, face.landmarks), halfway = eyeSpread(half, 64, face.landmarks), after = eyeSpread(shut, 64, face.landmarks);
    expect(halfway).toBeLessThan(before);
    expect(after).toBeLessThan(halfway);
    // Only the eyes' surroundings change.
    let changedFar = 0;
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) if (Math.abs(y - face.landmarks[2 * 37 + 1]!) > 6 && shut[(y * 64 + x) * 3] !== face.rgb[(y * 64 + x) * 3]) changedFar++;
    expect(changedFar).toBe(0);
  });

  it('find where the flow took the eyes: the identity flow leaves them at their pixel', () => {
    const size = 16;
    const identity = new Float32Array(size * size * 2);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) identity.set([((x + 0.5) * 2) / size - 1, ((y + 0.5) * 2) / size - 1], (y * size + x) * 2);
    const source = new Float32Array(136).map((_, i) => 3.5 + (i % 7));
    const found = whereWarpTook(identity, size, source);
    expect(Array.from(found)).toEqual(Array.from(source));
    // A flow that samples one pixel to the left shows the source's points one pixel to the right.
    const shifted = identity.map((v, i) => (i % 2 === 0 ? v - 2 / size : v));
    expect(whereWarpTook(shifted, size, source)[2 * 36]).toBeCloseTo(source[2 * 36]! + 1);
    expect(whereWarpTook(shifted, size, source)[2 * 30]).toBe(source[2 * 30]); // not an eye point: as given
  });

  it('in the shipped model\'s clip: the scheduled frames change around the eyes only, the others are as without blinks', async () => {
    await selectBackend('wasm');
    const model = loadSpeakModel('resources/speak-model');
    const face = corpusFace(1, model.size);
    const prepared = prepareFace(model, { rgb: face.rgb, size: model.size, landmarks: Float32Array.from(face.landmarks) });
    const audio = { sampleRate: 16000, samples: Float32Array.from({ length: 32000 }, (_, i) => 0.3 * Math.sin(i / 8) * Math.max(0, Math.sin(i / 1500))) };
    const performance = { emotion: { weights: { neutral: 1 }, intensity: 0 }, pose: { yaw: 0, pitch: 0, roll: 0 }, noiseSeed: 4 };
    const plain = await generateClip(model, prepared, audio, performance);
    const blinking = await generateClip(model, prepared, audio, { ...performance, blinksPerMinute: 40 });
    const schedule = blinkSchedule(plain.frames.length, 40, 4);
    const shutFrames = schedule.flatMap((v, i) => (v === 1 ? [i] : []));
    expect(shutFrames.length).toBeGreaterThan(0);
    schedule.forEach((v, i) => {
      if (v === 0) expect(Buffer.from(blinking.frames[i]!).equals(Buffer.from(plain.frames[i]!))).toBe(true);
    });
    for (const i of shutFrames) expect(eyeSpread(blinking.frames[i]!, model.size, face.landmarks)).toBeLessThan(eyeSpread(plain.frames[i]!, model.size, face.landmarks) * 0.8);
    prepared.dispose();
    model.dispose();
  }, 60_000);
});
