/**
 * Every usable face of a few group photos, cropped and aligned like a user's photo (photo-source.ts)
 * with face-api's 68 landmarks: the real faces the generator sees beside the procedural people, so
 * that it learns to pass a real face's own skin, eyes and hair through instead of painting the
 * renderer's (ours, not the paper's: SPEAK trains on MEAD, which is real already).
 *
 * Each detected face is cut out of the photo with room around it and enlarged before it is
 * aligned, so faces of 40-70 px in a crowded screenshot are found, landmarked and cropped one by
 * one (findFace refuses a photo with several faces; here each cut-out holds one).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { RgbImage } from '../../data/image-codec';
import { detectBoxes, detectFaces } from '../instruments/detect-faces';
import { FaceMeshMeter } from '../instruments/head-pose';
import { descriptorDistance, SAME_PERSON_DISTANCE } from '../instruments/identity';
import { readImage } from '../instruments/image-input';
import { cropImage, mirrorImage, resizeImage } from '../instruments/image-warp';
import { MIRRORED_LANDMARK } from '../corpus/emotions';
import { identityFromPhoto } from './photo-source';
import type { SpeakClip } from './clip';
import { VIDEO_FPS } from '../audio/loudness';

export interface RealFace {
  /** Aligned crop, size x size RGB bytes. */
  rgb: Uint8Array;
  /** face-api's 68 landmarks in the crop's pixels (x, y pairs). */
  landmarks: Float32Array;
  descriptor: Float32Array;
  /** `photo#k`: the photo and the face's place in its detector order. */
  from: string;
}

export interface RealFacePool {
  faces: RealFace[];
  /** Faces seen but not used, with the reason (too small, a profile, no landmarks). */
  skipped: string[];
}

export interface RealFacePoolOptions {
  /** Smallest face used, the detector box's width in the photo's pixels. Default 40. */
  minFaceSize?: number;
}

/** Side a cut-out is enlarged to before alignment: the finder's minimum face size comfortably met. */
const CUT_OUT_SIDE = 256;

export async function realFacePool(photos: string[], size: number, options: RealFacePoolOptions = {}): Promise<RealFacePool> {
  const pool: RealFacePool = { faces: [], skipped: [] };
  const meter = await FaceMeshMeter.start({ maxFaces: 1 }); // one mesh for every face's profile check
  try {
    for (const photo of photos) await addFacesOf(photo, size, options.minFaceSize ?? 40, meter, pool);
  } finally {
    await meter.close();
  }
  return pool;
}

async function addFacesOf(photo: string, size: number, minFaceSize: number, meter: FaceMeshMeter, pool: RealFacePool): Promise<void> {
  let image: RgbImage;
  try {
    image = await readImage(photo);
  } catch (error) {
    throw new Error(`Real face photo ${photo} cannot be read: ${(error as Error).message}`);
  }
  for (const [k, { box }] of (await detectBoxes(image, { maxFaces: 500 })).entries()) {
    const from = `${photo}#${k}`;
    if (box.width < minFaceSize) {
      pool.skipped.push(`${from}: ${Math.round(box.width)} px wide, under ${minFaceSize}`);
      continue;
    }
    // A square 1.6 face boxes wide around the face holds it with its hair and little of its neighbours.
    const side = Math.round(1.6 * Math.max(box.width, box.height));
    const cut = resizeImage(cropImage(image, Math.round(box.x + box.width / 2 - side / 2), Math.round(box.y + box.height / 2 - side / 2), side, side), CUT_OUT_SIDE, CUT_OUT_SIDE);
    try {
      const who = await identityFromPhoto(cut, { size, chooseLargest: true, minFaceSize: 48, meter });
      pool.faces.push({ rgb: who.crop.data, landmarks: who.landmarks, descriptor: who.descriptor, from });
    } catch (error) {
      pool.skipped.push(`${from}: ${(error as Error).message}`);
    }
  }
}

/** The pool without the people these descriptors show (the evaluation's photos stay unseen in training). */
export function withoutPeople(pool: RealFacePool, exclude: Float32Array[]): RealFacePool {
  const excluded = (face: RealFace) => exclude.some((d) => descriptorDistance(d, face.descriptor) < SAME_PERSON_DISTANCE);
  return {
    faces: pool.faces.filter((face) => !excluded(face)),
    skipped: [...pool.skipped, ...pool.faces.filter(excluded).map((face) => `${face.from}: the same person as an excluded face`)],
  };
}

/** Descriptors of every face in these photos (the evaluation's, to keep them out of training). */
export async function descriptorsOf(photos: string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const photo of photos) for (const face of await detectFaces(await readImage(photo), { descriptor: true })) if (face.descriptor) out.push(face.descriptor);
  return out;
}

const POOL_FORMAT = 'blockwise-real-faces/1';

/** The pool as one JSON file (crops as base64), so a training run finds its faces without the detector. */
export function writeRealFacePool(file: string, size: number, pool: RealFacePool): void {
  const faces = pool.faces.map((f) => ({ from: f.from, rgb: Buffer.from(f.rgb).toString('base64'), landmarks: Array.from(f.landmarks), descriptor: Array.from(f.descriptor) }));
  writeFileSync(file, `${JSON.stringify({ format: POOL_FORMAT, size, faces, skipped: pool.skipped })}\n`);
}

/** Reads a pool file written by writeRealFacePool, refusing one of another size or format, naming the file. */
export function readRealFacePool(file: string, size: number): RealFacePool {
  let parsed: { format?: unknown; size?: unknown; faces?: { from: string; rgb: string; landmarks: number[]; descriptor: number[] }[]; skipped?: string[] };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Real face pool ${file} cannot be read: ${(error as Error).message}. Build it again with \`blockwise speak faces\`.`);
  }
  if (parsed.format !== POOL_FORMAT || !Array.isArray(parsed.faces)) throw new Error(`${file} is not a real face pool (format ${String(parsed.format)}, expected ${POOL_FORMAT}).`);
  if (parsed.size !== size) throw new Error(`Real face pool ${file} holds ${String(parsed.size)} px crops but this run trains at ${size} px; build a pool at ${size} px.`);
  const faces = parsed.faces.map((f, k) => {
    const rgb = Uint8Array.from(Buffer.from(f.rgb, 'base64'));
    if (rgb.length !== size * size * 3 || f.landmarks?.length !== 136) throw new Error(`Real face pool ${file}: face ${k} (${f.from}) is damaged (${rgb.length} bytes, ${f.landmarks?.length} landmark numbers).`);
    return { from: f.from, rgb, landmarks: Float32Array.from(f.landmarks), descriptor: Float32Array.from(f.descriptor) };
  });
  return { faces, skipped: parsed.skipped ?? [] };
}

/** A real face as a one-frame silent clip of its own person (the generator stage's still samples). */
export function stillClip(face: RealFace, size: number, index: number): SpeakClip {
  const fps = VIDEO_FPS;
  return {
    id: `real/${index}`,
    identity: `real/${index}`,
    emotion: 'neutral',
    intensity: 0,
    size,
    frameCount: 1,
    fps,
    frame: () => face.rgb,
    landmarks: [face.landmarks],
    poses: null,
    audio: { sampleRate: 16000, samples: new Float32Array(16000 / fps) },
  };
}

/** Colour casts a photo may carry (RGB gains): as shot, darker, brighter, cold light, warm light. */
const LIGHTS: readonly (readonly [number, number, number])[] = [[1, 1, 1], [0.6, 0.6, 0.6], [1.25, 1.2, 1.15], [0.85, 0.95, 1.25], [1.2, 1, 0.8]];

/**
 * Each face as shot and mirrored (its landmarks mirrored with the iBUG partner of each point),
 * under each of LIGHTS: ten faces per face. A pool of a few dozen faces from three screenshots
 * has a few lights and poses; photos in a blue light or a dark room lost their identity when
 * generated (issue 14), so the refinement meets those casts in training.
 */
export function faceVariants(faces: readonly RealFace[], size: number): RealFace[] {
  const out: RealFace[] = [];
  for (const face of faces) {
    const mirrored = mirrorImage({ width: size, height: size, data: face.rgb }).data;
    const mirroredLandmarks = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      const from = MIRRORED_LANDMARK[i]!;
      mirroredLandmarks[2 * i] = size - 1 - face.landmarks[2 * from]!;
      mirroredLandmarks[2 * i + 1] = face.landmarks[2 * from + 1]!;
    }
    for (const [rgb, landmarks, side] of [[face.rgb, face.landmarks, ''], [mirrored, mirroredLandmarks, ' mirrored']] as const) {
      for (const gains of LIGHTS) {
        const lit = new Uint8Array(rgb.length);
        for (let j = 0; j < rgb.length; j++) lit[j] = Math.min(255, Math.round(rgb[j]! * gains[j % 3]!));
        out.push({ ...face, rgb: lit, landmarks, from: `${face.from}${side} light ${gains.join('/')}` });
      }
    }
  }
  return out;
}

