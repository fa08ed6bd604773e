/**
 * The real face instruments on real photos: the group portraits shipped in
 * @vladmandic/face-api/demo (sample1..6.jpg, 3 to 5 people each). Models load once for the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../main/data/image-codec';
import { detectFaces, eyeCentres, type DetectedFace } from '../../../main/speak/instruments/detect-faces';
import { loadFaceApi } from '../../../main/speak/instruments/face-api-runtime';
import { FaceNotUsableError, findFace, type FaceProblem } from '../../../main/speak/instruments/face-finder';
import { FaceMeshMeter } from '../../../main/speak/instruments/head-pose';
import { descriptorDistance, SAME_PERSON_DISTANCE } from '../../../main/speak/instruments/identity';
import { topExpression } from '../../../main/speak/instruments/expressions';
import { readImage } from '../../../main/speak/instruments/image-input';
import { cropImage, mirrorImage, resizeImage, transformImage } from '../../../main/speak/instruments/image-warp';
import { packageDir } from '../../../main/speak/instruments/model-files';

function demoDir(): string | null {
  try {
    const dir = path.join(packageDir('@vladmandic/face-api'), 'demo');
    return fs.existsSync(path.join(dir, 'sample1.jpg')) ? dir : null;
  } catch {
    return null;
  }
}
const DEMO = demoDir();
const SAMPLES = [1, 2, 3, 4, 5, 6];

/** The square around a detected face, `factor` times its larger side, as its own image. */
function faceRegion(image: RgbImage, face: DetectedFace, factor: number): RgbImage {
  const side = Math.round(Math.max(face.box.width, face.box.height) * factor);
  return cropImage(image, Math.round(face.box.x + face.box.width / 2 - side / 2), Math.round(face.box.y + face.box.height / 2 - side / 2), side, side);
}

async function refusal(promise: Promise<unknown>): Promise<{ problem: FaceProblem; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FaceNotUsableError) return { problem: error.problem, message: error.message };
    throw error;
  }
  throw new Error('the photo was accepted');
}

describe.skipIf(!DEMO)(`face instruments on real photos${DEMO ? '' : ' (skipped: @vladmandic/face-api and its demo photos are not installed)'}`, () => {
  const photos = new Map<number, RgbImage>();
  const faces = new Map<number, DetectedFace[]>();
  let fullSample6: RgbImage;
  let meter: FaceMeshMeter;

  beforeAll(async () => {
    await loadFaceApi();
    meter = await FaceMeshMeter.start();
    for (const n of SAMPLES) {
      const image = await readImage(path.join(DEMO!, `sample${n}.jpg`));
      if (n === 6) fullSample6 = image;
      // Half size: the detector sees 512 px anyway, and every later step runs four times faster.
      const half = resizeImage(image, Math.round(image.width / 2), Math.round(image.height / 2));
      photos.set(n, half);
      faces.set(n, await detectFaces(half, { expressions: n === 1 }));
    }
  }, 120_000);
  afterAll(async () => meter?.close());

  it('finds each person in every sample photo, with plausible boxes and landmarks', async () => {
    const expected = { 1: 3, 2: 3, 3: 3, 4: 4, 5: 5, 6: 4 } as Record<number, number>;
    for (const n of SAMPLES) {
      const image = photos.get(n)!;
      const found = faces.get(n)!;
      expect(found.length, `sample${n}.jpg`).toBe(expected[n]);
      for (const face of found) {
        const { x, y, width, height } = face.box;
        expect(face.score).toBeGreaterThan(0.5);
        expect(x).toBeGreaterThanOrEqual(-2);
        expect(y).toBeGreaterThanOrEqual(-2);
        expect(x + width).toBeLessThanOrEqual(image.width + 2);
        expect(y + height).toBeLessThanOrEqual(image.height + 2);
        // Adults photographed from a few metres, 960 px wide photos: faces of 50-200 px.
        expect(width).toBeGreaterThan(50);
        expect(width).toBeLessThan(200);
        expect(height / width).toBeGreaterThan(0.7);
        expect(height / width).toBeLessThan(2.1); // the SSD boxes run tall (up to 1.9 here)
        expect(face.landmarks).toHaveLength(68);
        const [left, right] = eyeCentres(face.landmarks);
        expect(left[0]).toBeLessThan(right[0]);
        for (const [px, py] of [left, right]) {
          // (a turned head's far eye can sit on the box's edge)
          expect(px).toBeGreaterThan(x - width * 0.1);
          expect(px).toBeLessThan(x + width * 1.1);
          expect(py).toBeGreaterThan(y);
          expect(py).toBeLessThan(y + height * 0.75);
        }
        // The mouth (48-67) is below the eyes in the face's own frame (some heads are tilted by 45 degrees).
        const mouth = [0, 1].map((axis) => face.landmarks.slice(48).reduce((s, p) => s + p[axis]!, 0) / 20);
        const down = [-(right[1] - left[1]), right[0] - left[0]];
        expect((mouth[0]! - (left[0] + right[0]) / 2) * down[0]! + (mouth[1]! - (left[1] + right[1]) / 2) * down[1]!).toBeGreaterThan(0);
      }
    }
    // The laughing woman on the right of sample1 reads as happy; probabilities sum to 1.
    const expressions = faces.get(1)!.map((face) => face.expressions!);
    for (const e of expressions) expect(Object.values(e).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 2);
    expect(expressions.some((e) => topExpression(e).expression === 'happy' && e.happy > 0.5)).toBe(true);
  });

  it('measures yaw whose sign flips with a mirrored photo and agrees with where the nose points; roll follows a rotation', async () => {
    // Every face of two photos: the one turned furthest is the clearest test.
    const measured: { region: RgbImage; yaw: number; face: DetectedFace }[] = [];
    for (const n of [4, 5]) {
      for (const face of faces.get(n)!) {
        const region = faceRegion(photos.get(n)!, face, 1.8);
        const pose = await meter.headPose(region);
        if (pose) measured.push({ region, yaw: pose.yaw, face });
      }
    }
    expect(measured.length).toBeGreaterThanOrEqual(7);
    const turned = measured.reduce((a, b) => (Math.abs(b.yaw) > Math.abs(a.yaw) ? b : a));
    expect(Math.abs(turned.yaw)).toBeGreaterThan(15);
    const mirrored = (await meter.headPose(mirrorImage(turned.region)))!;
    expect(Math.sign(mirrored.yaw)).toBe(-Math.sign(turned.yaw));
    expect(Math.abs(mirrored.yaw + turned.yaw)).toBeLessThan(8);
    // Our convention: yaw > 0 when the nose tip (landmark 30) is right of the jaw's middle.
    for (const { yaw, face } of measured.filter((m) => Math.abs(m.yaw) > 10)) {
      const jawMiddle = (face.landmarks[0]![0] + face.landmarks[16]![0]) / 2;
      expect(Math.sign(face.landmarks[30]![0] - jawMiddle)).toBe(Math.sign(yaw));
    }
    // Turning the picture 15 degrees clockwise raises the roll by about 15.
    const base = (await meter.headPose(turned.region))!;
    const rotated = (await meter.headPose(transformImage(turned.region, { degrees: 15 })))!;
    expect(rotated.roll - base.roll).toBeGreaterThan(10);
    expect(rotated.roll - base.roll).toBeLessThan(20);
  });

  it('tells the same person in a scaled and shifted copy of a photo, and the four people of sample6 apart', async () => {
    // Full size: at 100 px faces two of these four come within 0.62 of each other. (Across all six
    // photos the 0.6 threshold takes 4 of 31 pairs of different, similar-looking people for one;
    // every same-person distance, at most 0.38, is still below every different-person one.)
    const image = fullSample6;
    const tensorsBefore = tf.memory().numTensors;
    const original = await detectFaces(image, { descriptor: true });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // nothing left behind on the engine
    const moved = await detectFaces(transformImage(image, { scale: 0.9, dx: 15, dy: -10 }), { descriptor: true });
    expect(original).toHaveLength(4);
    expect(moved).toHaveLength(original.length);
    for (const face of original) {
      // Where this face went: centre scaled by 0.9 about the image centre, then shifted.
      const cx = (face.box.x + face.box.width / 2 - image.width / 2) * 0.9 + image.width / 2 + 15;
      const cy = (face.box.y + face.box.height / 2 - image.height / 2) * 0.9 + image.height / 2 - 10;
      const same = moved.reduce((a, b) =>
        Math.hypot(b.box.x + b.box.width / 2 - cx, b.box.y + b.box.height / 2 - cy) < Math.hypot(a.box.x + a.box.width / 2 - cx, a.box.y + a.box.height / 2 - cy) ? b : a,
      );
      expect(descriptorDistance(face.descriptor!, same.descriptor!)).toBeLessThan(SAME_PERSON_DISTANCE);
      // Nearest descriptor among the moved faces is the same person.
      const nearest = moved.reduce((a, b) => (descriptorDistance(face.descriptor!, b.descriptor!) < descriptorDistance(face.descriptor!, a.descriptor!) ? b : a));
      expect(nearest).toBe(same);
    }
    for (let i = 0; i < original.length; i++) {
      for (let j = i + 1; j < original.length; j++) expect(descriptorDistance(original[i]!.descriptor!, original[j]!.descriptor!)).toBeGreaterThan(SAME_PERSON_DISTANCE);
    }
  });

  it('refuses a group photo saying how many faces, and crops the largest, eyes level, when asked', async () => {
    const image = photos.get(1)!;
    const several = await refusal(findFace(image, { meter }));
    expect(several.problem).toBe('several-faces');
    expect(several.message).toMatch(/^3 faces were found in this image.*ask for the largest face/);
    const found = await findFace(image, { chooseLargest: true, meter, size: 192 });
    expect(found.facesFound).toBe(3);
    expect(found.crop.width).toBe(192);
    expect(found.crop.height).toBe(192);
    expect(found.face.box.width).toBe(Math.max(...faces.get(1)!.map((f) => f.box.width)));
    // The crop box surrounds the face: its centre is inside the detector's box, its side larger than the box.
    const { x, y, width, height } = found.face.box;
    expect(found.cropBox.centre[0]).toBeGreaterThan(x);
    expect(found.cropBox.centre[0]).toBeLessThan(x + width);
    expect(found.cropBox.centre[1]).toBeGreaterThan(y);
    expect(found.cropBox.centre[1]).toBeLessThan(y + height);
    expect(found.cropBox.side).toBeGreaterThan(Math.max(width, height));
    // In the crop the face is found again with its eyes level (this face is tilted by ~40 degrees in the photo).
    expect(Math.abs(found.cropBox.angle)).toBeGreaterThan(20);
    const [again] = await detectFaces(found.crop);
    const [left, right] = eyeCentres(again!.landmarks);
    expect(Math.abs((Math.atan2(right[1] - left[1], right[0] - left[0]) * 180) / Math.PI)).toBeLessThan(5);
    expect(found.pose).not.toBeNull();
    expect(Math.abs(found.pose!.roll)).toBeLessThan(10);
  });

  it('refuses a photo without a face, a face too small, and a profile, saying why', async () => {
    const gradient: RgbImage = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) };
    for (let y = 0; y < 240; y++) for (let x = 0; x < 320; x++) gradient.data.set([x * 0.8, y, 128], (y * 320 + x) * 3);
    const none = await refusal(findFace(gradient, { meter }));
    expect(none.problem).toBe('no-face');
    expect(none.message).toMatch(/^No face was found in this 320x240 image\. Choose a photo/);

    // One face shrunk to about 45 px wide in a 300 px picture.
    const image = photos.get(3)!;
    const face = faces.get(3)![0]!;
    const small = resizeImage(faceRegion(image, face, 6.5), 300, 300);
    const tooSmall = await refusal(findFace(small, { chooseLargest: true, meter }));
    expect(tooSmall.problem).toBe('too-small');
    expect(tooSmall.message).toMatch(/^The face is too small: \d+x\d+ pixels, and at least 64 pixels wide is needed/);
    const size = Number(/small: (\d+)x/.exec(tooSmall.message)![1]);
    expect(size).toBeGreaterThan(25);
    expect(size).toBeLessThan(64);

    // A face turned by ~20 degrees is a profile for a 10 degree limit; the message gives the measured yaw.
    const region = faceRegion(photos.get(4)!, faces.get(4)!.find((f) => f.landmarks[30]![0] > (f.landmarks[0]![0] + f.landmarks[16]![0]) / 2 + 10)!, 3);
    const profile = await refusal(findFace(region, { maxYaw: 10, meter }));
    expect(profile.problem).toBe('profile');
    const yaw = Number(/yaw measures (-?\d+) degrees and at most 10 is usable/.exec(profile.message)![1]);
    expect(yaw).toBeGreaterThan(10);
    // The same face passes the default limit of 40 degrees.
    expect((await findFace(region, { meter })).pose!.yaw).toBeCloseTo(yaw, -1);
  });
});
