/**
 * A real photo as the talking head's identity: the face-api demo photos (real people), cropped by
 * the photo finder, with face-api's landmarks in the crop and the descriptor of the same person;
 * a picture without a face refused with the reason. Models load once for the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../main/data/image-codec';
import { identityFromPhoto, photoToCrop } from '../../../main/speak/data/photo-source';
import { detectFaces, eyeCentres, type DetectedFace } from '../../../main/speak/instruments/detect-faces';
import { loadFaceApi } from '../../../main/speak/instruments/face-api-runtime';
import { FaceNotUsableError, type FaceProblem } from '../../../main/speak/instruments/face-finder';
import { FaceMeshMeter } from '../../../main/speak/instruments/head-pose';
import { descriptorDistance, SAME_PERSON_DISTANCE } from '../../../main/speak/instruments/identity';
import { readImage } from '../../../main/speak/instruments/image-input';
import { cropImage, resizeImage } from '../../../main/speak/instruments/image-warp';
import { packageDir } from '../../../main/speak/instruments/model-files';

function demoDir(): string | null {
  try {
    const dir = path.join(packageDir('@vladmandic/face-api'), 'demo');
    return fs.existsSync(path.join(dir, 'sample2.jpg')) ? dir : null;
  } catch {
    return null;
  }
}
const DEMO = demoDir();

/** scikit-image's astronaut (Eileen Collins, public domain) where scikit-image is installed. */
function astronaut(): string | null {
  for (const base of ['/usr/lib/python3/dist-packages', ...['/usr/local/lib', '/usr/lib'].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.startsWith('python3')).flatMap((n) => [path.join(d, n, 'site-packages'), path.join(d, n, 'dist-packages')]) : []))]) {
    const file = path.join(base, 'skimage', 'data', 'astronaut.png');
    if (fs.existsSync(file)) return file;
  }
  return null;
}
const ASTRONAUT = astronaut();

async function refusal(promise: Promise<unknown>): Promise<{ problem: FaceProblem; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FaceNotUsableError) return { problem: error.problem, message: error.message };
    throw error;
  }
  throw new Error('the photo was accepted');
}

/** Checks a crop's landmarks: 68 points inside it, eyes level and above the mouth. */
function expectFaceInCrop(landmarks: Float32Array, size: number): void {
  expect(landmarks).toHaveLength(136);
  for (const v of landmarks) {
    expect(v).toBeGreaterThan(0);
    expect(v).toBeLessThan(size);
  }
  const points = Array.from({ length: 68 }, (_, i) => [landmarks[2 * i]!, landmarks[2 * i + 1]!] as [number, number]);
  const [left, right] = eyeCentres(points);
  expect(Math.abs((Math.atan2(right[1] - left[1], right[0] - left[0]) * 180) / Math.PI)).toBeLessThan(6);
  const mouthY = points.slice(48).reduce((s, p) => s + p[1], 0) / 20;
  expect(mouthY).toBeGreaterThan((left[1] + right[1]) / 2 + size * 0.1);
}

describe.skipIf(!DEMO)(`identity from a real photo${DEMO ? '' : ' (skipped: @vladmandic/face-api and its demo photos are not installed)'}`, () => {
  let meter: FaceMeshMeter;
  let photo: RgbImage;
  let faces: DetectedFace[];
  beforeAll(async () => {
    await loadFaceApi();
    meter = await FaceMeshMeter.start({ maxFaces: 1 });
    photo = await readImage(path.join(DEMO!, 'sample2.jpg'));
    faces = await detectFaces(photo, { descriptor: true });
  }, 120_000);
  afterAll(async () => meter?.close());

  it('gives the aligned crop at the size asked, face-api landmarks inside it, and the same person\'s descriptor', async () => {
    expect(faces.length).toBeGreaterThanOrEqual(3);
    // One person's portrait out of the group photo, as a user would bring it.
    const face = faces[0]!;
    const side = Math.round(Math.max(face.box.width, face.box.height) * 2.6);
    const x = Math.round(face.box.x + face.box.width / 2 - side / 2);
    const y = Math.round(face.box.y + face.box.height / 2 - side / 2);
    const portrait = cropImage(photo, x, y, side, side, [200, 200, 200]);
    const id = await identityFromPhoto(portrait, { size: 64, meter });
    expect([id.crop.width, id.crop.height, id.crop.data.length]).toEqual([64, 64, 64 * 64 * 3]);
    expect(id.facesFound).toBe(1);
    expect(id.measuredOn).toBe('crop');
    expectFaceInCrop(id.landmarks, 64);
    // The box is the face's in the portrait: the same place as in the group photo, less the cut.
    expect(Math.abs(id.box.x + x - face.box.x)).toBeLessThan(face.box.width * 0.15);
    expect(Math.abs(id.box.y + y - face.box.y)).toBeLessThan(face.box.height * 0.15);
    // The crop's landmarks agree with the portrait's own, carried into the crop (two measurements, one face).
    const carried = new Float32Array(136);
    const portraitFace = (await detectFaces(portrait))[0]!;
    portraitFace.landmarks.forEach((p, k) => carried.set(photoToCrop(p, id.cropBox, 64), 2 * k));
    let mean = 0;
    for (let k = 0; k < 68; k++) mean += Math.hypot(carried[2 * k]! - id.landmarks[2 * k]!, carried[2 * k + 1]! - id.landmarks[2 * k + 1]!) / 68;
    expect(mean).toBeLessThan(2);
    // The descriptor is this person by the model's own threshold, and nearer to them than to anyone else in the photo.
    expect(id.descriptor).toHaveLength(128);
    const distances = faces.map((f) => descriptorDistance(id.descriptor, f.descriptor!));
    expect(distances[0]).toBeLessThan(SAME_PERSON_DISTANCE);
    expect(Math.min(...distances.slice(1))).toBeGreaterThan(distances[0]!);
    expect(id.pose).not.toBeNull();
  }, 60_000);

  it('reads the photo from its file, and refuses the group photo (several faces) or a picture with no face, saying why', async () => {
    const several = await refusal(identityFromPhoto(path.join(DEMO!, 'sample2.jpg'), { meter }));
    expect(several.problem).toBe('several-faces');
    expect(several.message).toMatch(/^\d faces were found in this image; the talking head needs one/);
    // A rendered plain background with a soft gradient: nothing face-like in it.
    const plain: RgbImage = { width: 160, height: 160, data: new Uint8Array(160 * 160 * 3) };
    for (let y = 0; y < 160; y++) for (let x = 0; x < 160; x++) plain.data.set([90 + y / 4, 120 + x / 8, 150], (y * 160 + x) * 3);
    const none = await refusal(identityFromPhoto(plain, { meter }));
    expect(none.problem).toBe('no-face');
    expect(none.message).toMatch(/^No face was found in this 160x160 image\. Choose a photo in which one face is clearly visible/);
    await expect(identityFromPhoto(path.join(DEMO!, 'no-such-photo.jpg'), { meter })).rejects.toThrow(/no-such-photo\.jpg: cannot be read/);
  }, 60_000);

  it.runIf(ASTRONAUT)(`crops scikit-image's astronaut portrait${ASTRONAUT ? '' : ' (skipped: scikit-image is not installed)'}`, async () => {
    const id = await identityFromPhoto(resizeImage(await readImage(ASTRONAUT!), 256, 256), { size: 128, meter });
    expect(id.crop.width).toBe(128);
    expectFaceInCrop(id.landmarks, 128);
    expect(id.descriptor).toHaveLength(128);
  }, 60_000);
});
