import { describe, expect, it } from 'vitest';
import { buildFace, NEUTRAL_STATE, type FaceState } from '../../../main/speak/corpus/face-model';
import { makeIdentities, makeIdentity } from '../../../main/speak/corpus/identity';
import { faceLandmarks, renderFace } from '../../../main/speak/corpus/renderer';
import type { Vec2 } from '../../../main/speak/corpus/geometry';

const person = makeIdentity(5, 0);
const state = (patch: Partial<FaceState>): FaceState => ({ ...NEUTRAL_STATE, ...patch });
const frontal = (patch: Partial<FaceState>) => renderFace(person, state(patch), { size: 128, supersample: 1 }).landmarks;
const mean = (pts: Vec2[], ids: number[]): Vec2 => [ids.reduce((s, i) => s + pts[i]![0], 0) / ids.length, ids.reduce((s, i) => s + pts[i]![1], 0) / ids.length];
const eyeCentre = (pts: Vec2[]) => mean(pts, [36, 39, 42, 45]);
const eyeOpening = (pts: Vec2[]) => (pts[41]![1] - pts[37]![1] + pts[40]![1] - pts[38]![1] + pts[47]![1] - pts[43]![1] + pts[46]![1] - pts[44]![1]) / 4;
const luminance = (rgb: Uint8Array, size: number, [x, y]: Vec2, r = 1) => {
  let sum = 0, n = 0;
  for (let j = Math.floor(y) - r; j <= Math.floor(y) + r; j++)
    for (let i = Math.floor(x) - r; i <= Math.floor(x) + r; i++) {
      const o = (j * size + i) * 3;
      sum += 0.299 * rgb[o]! + 0.587 * rgb[o + 1]! + 0.114 * rgb[o + 2]!;
      n++;
    }
  return sum / n;
};

describe('procedural faces', () => {
  it('makes 48 distinct people: different shape parameters and different pictures', () => {
    const people = makeIdentities(48, 1);
    expect(new Set(people.map((p) => p.name)).size).toBe(48);
    expect(new Set(people.map((p) => JSON.stringify(p.shape))).size).toBe(48);
    const images = people.map((p) => renderFace(p, NEUTRAL_STATE, { size: 64, supersample: 1 }).rgb);
    let closest = Infinity;
    for (let a = 0; a < images.length; a++)
      for (let b = a + 1; b < images.length; b++) {
        let diff = 0;
        for (let i = 0; i < images[a]!.length; i++) diff += Math.abs(images[a]![i]! - images[b]![i]!);
        closest = Math.min(closest, diff / images[a]!.length);
      }
    // Every pair differs by several grey levels per channel on average.
    expect(closest).toBeGreaterThan(4);
    // The seed matters: person i of another seed is someone else.
    expect(makeIdentity(2, 0).shape).not.toEqual(makeIdentity(1, 0).shape);
    expect(makeIdentity(1, 7)).toEqual(people[7]);
  });

  it('yaw turns the nose tip across the eyes, pitch moves it up, roll tilts the eye line', () => {
    const offsets = [-30, -15, 0, 15, 30].map((yaw) => {
      const pts = frontal({ pose: { yaw, pitch: 0, roll: 0 } });
      return pts[30]![0] - eyeCentre(pts)[0];
    });
    for (let k = 1; k < offsets.length; k++) expect(offsets[k]!).toBeGreaterThan(offsets[k - 1]! + 2);
    expect(Math.abs(offsets[2]!)).toBeLessThan(0.5);
    const noseHeight = (pitch: number) => {
      const pts = frontal({ pose: { yaw: 0, pitch, roll: 0 } });
      return pts[30]![1] - eyeCentre(pts)[1];
    };
    expect(noseHeight(15)).toBeLessThan(noseHeight(0) - 2);
    expect(noseHeight(-15)).toBeGreaterThan(noseHeight(0) + 2);
    for (const roll of [-10, 10]) {
      const pts = frontal({ pose: { yaw: 0, pitch: 0, roll } });
      const angle = (Math.atan2(pts[45]![1] - pts[36]![1], pts[45]![0] - pts[36]![0]) * 180) / Math.PI;
      expect(angle).toBeCloseTo(roll, 0);
    }
  });

  it('keeps all 68 landmarks inside the picture over the whole pose range, for every person', () => {
    const outside: string[] = [];
    for (const p of makeIdentities(40, 9)) {
      for (const pose of [{ yaw: 30, pitch: 15, roll: 10 }, { yaw: -30, pitch: -15, roll: -10 }, { yaw: 30, pitch: -15, roll: 10 }]) {
        const face = buildFace(p, state({ pose, emotion: 'surprised', intensity: 1, mouthOpen: 1 }));
        const pts = faceLandmarks(p, state({ pose, emotion: 'surprised', intensity: 1, mouthOpen: 1 }), 64);
        expect(face.landmarks).toHaveLength(68);
        expect(pts).toHaveLength(68);
        pts.forEach(([x, y], i) => {
          if (!(x > 0 && x < 64 && y > 0 && y < 64)) outside.push(`${p.name} point ${i} at ${x.toFixed(1)},${y.toFixed(1)} for ${JSON.stringify(pose)}`);
        });
      }
    }
    expect(outside).toEqual([]);
  });

  it('emotions move the features they should', () => {
    const neutral = frontal({});
    const corners = (pts: Vec2[]) => mean(pts, [48, 54])[1] - pts[51]![1];
    const happy = frontal({ emotion: 'happy', intensity: 1 });
    expect(corners(happy)).toBeLessThan(corners(neutral) - 2); // corners rise towards the upper lip
    const sad = frontal({ emotion: 'sad', intensity: 1 });
    expect(corners(sad)).toBeGreaterThan(corners(neutral) + 1.5);
    const browHeight = (pts: Vec2[]) => eyeCentre(pts)[1] - mean(pts, [17, 18, 19, 20, 21, 22, 23, 24, 25, 26])[1];
    const surprised = frontal({ emotion: 'surprised', intensity: 1 });
    expect(browHeight(surprised)).toBeGreaterThan(browHeight(neutral) + 2);
    expect(eyeOpening(surprised)).toBeGreaterThan(eyeOpening(neutral) + 1);
    expect(surprised[66]![1] - surprised[62]![1]).toBeGreaterThan(neutral[66]![1] - neutral[62]![1] + 3);
    const innerBrow = (pts: Vec2[]) => eyeCentre(pts)[1] - mean(pts, [21, 22])[1];
    const angry = frontal({ emotion: 'angry', intensity: 1 });
    expect(innerBrow(angry)).toBeLessThan(innerBrow(neutral) - 2);
    // Contempt is one-sided: the image-right corner rises, the left stays.
    const contempt = frontal({ emotion: 'contempt', intensity: 1 });
    expect(contempt[54]![1]).toBeLessThan(neutral[54]![1] - 1.5);
    expect(Math.abs(contempt[48]![1] - neutral[48]![1])).toBeLessThan(0.3);
    // Intensity scales the movement.
    const half = frontal({ emotion: 'happy', intensity: 0.5 });
    expect(corners(half)).toBeLessThan(corners(neutral) - 0.8);
    expect(corners(half)).toBeGreaterThan(corners(happy) + 0.8);
  });

  it('blinks close the eyes and the speech mouth opens the lips', () => {
    expect(eyeOpening(frontal({ blink: 1 }))).toBeLessThan(0.5);
    expect(eyeOpening(frontal({}))).toBeGreaterThan(3);
    const gap = (pts: Vec2[]) => pts[66]![1] - pts[62]![1];
    expect(gap(frontal({ mouthOpen: 1 }))).toBeGreaterThan(gap(frontal({ mouthOpen: 0.3 })) + 3);
    expect(gap(frontal({ mouthOpen: 1, lipsPressed: 1 }))).toBeLessThan(0.5);
  });

  it('paints the features where their landmarks are', () => {
    const size = 128;
    const open = renderFace(person, state({ mouthOpen: 0.9 }), { size });
    const pts = open.landmarks;
    expect(pts).toEqual(faceLandmarks(person, state({ mouthOpen: 0.9 }), size));
    const cheek = luminance(open.rgb, size, mean(pts, [3, 31, 48]));
    // Inside the open mouth (between the inner lips) is dark; the pupil is dark; both darker than the cheek.
    const mouth = luminance(open.rgb, size, mean(pts, [62, 66]), 0);
    expect(mouth).toBeLessThan(cheek * 0.6);
    const closed = renderFace(person, state({ blink: 1 }), { size });
    const eyeOpen = luminance(open.rgb, size, mean(pts, [36, 39]), 0);
    expect(eyeOpen).toBeLessThan(cheek * 0.7);
    // A closed eye shows lid and lashes rather than the dark pupil: lighter than the open eye centre.
    expect(luminance(closed.rgb, size, mean(closed.landmarks, [37, 38, 40, 41]), 0)).toBeGreaterThan(eyeOpen);
  });

  it('refuses sizes outside 64..256 with the range in the message', () => {
    expect(() => renderFace(person, NEUTRAL_STATE, { size: 32 })).toThrow(/64 to 256/);
    expect(() => renderFace(person, NEUTRAL_STATE, { size: 300 })).toThrow(/64 to 256/);
  });
});
