/**
 * A user's photo as the identity the talking head keeps: the photo finder's aligned square crop
 * (findFace: the real detector, eyes level, refusals with their reasons), at the size the model
 * runs at, with face-api's 68 landmarks in the crop's pixels (the keypoints the generator moves)
 * and the 128-d face descriptor (to check later that generated frames are still this person).
 *
 * Landmarks and descriptor are measured on the aligned crop at WORK_SIZE (at least 256 px: the
 * detector and the recognition net need the pixels a 64 px crop lacks) and scaled to `size`, so
 * they describe the very crop the generator gets. Should the detector miss the face in its own
 * crop (not seen on the sample photos), the photo's landmarks are carried into the crop and the
 * descriptor is taken on the photo; `measuredOn` says which.
 */
import type { RgbImage } from '../../data/image-codec';
import { detectFaces, type Box, type DetectedFace, type Point } from '../instruments/detect-faces';
import { findFace, type CropBox, type FindFaceOptions } from '../instruments/face-finder';
import type { HeadPose } from '../instruments/head-pose';
import { readImage } from '../instruments/image-input';
import { resizeImage } from '../instruments/image-warp';

export interface PhotoIdentity {
  /** The aligned face, size x size RGB. */
  crop: RgbImage;
  /** face-api's 68 iBUG points in the crop's pixels, [x0, y0, x1, y1, ...]. */
  landmarks: Float32Array;
  /** The detector's box around the face, in the photo's pixels. */
  box: Box;
  /** The aligned square cut from the photo (centre, side, angle, corners), in the photo's pixels. */
  cropBox: CropBox;
  /** face-api's 128-d descriptor (dlib ResNet); same person below SAME_PERSON_DISTANCE (0.6). */
  descriptor: Float32Array;
  /** Head pose of the crop by human's face mesh; null when the mesh finds no face there. */
  pose: HeadPose | null;
  /** Faces the detector saw in the photo (more than one only with chooseLargest). */
  facesFound: number;
  /** Where landmarks and descriptor were measured: on the aligned crop (the rule) or on the photo (the fallback). */
  measuredOn: 'crop' | 'photo';
}

export type IdentityFromPhotoOptions = Omit<FindFaceOptions, 'size'> & {
  /** Side of the crop the model takes, pixels [64]. */
  size?: number;
};

/** The crop side landmarks and descriptor are measured at (the crop at `size` is resized from it). */
export const WORK_SIZE = 256;

/** A photo point in the crop's pixels at `size`: the inverse of the crop's turn, scale and shift. */
export function photoToCrop(point: Point, box: CropBox, size: number): Point {
  const t = (box.angle * Math.PI) / 180;
  const dx = point[0] - box.centre[0];
  const dy = point[1] - box.centre[1];
  const k = size / box.side;
  return [(Math.cos(t) * dx + Math.sin(t) * dy) * k + size / 2, (-Math.sin(t) * dx + Math.cos(t) * dy) * k + size / 2];
}

const nearest = (faces: DetectedFace[], to: Box) =>
  faces.reduce((a, b) => (Math.hypot(b.box.x + b.box.width / 2 - to.x - to.width / 2, b.box.y + b.box.height / 2 - to.y - to.height / 2) < Math.hypot(a.box.x + a.box.width / 2 - to.x - to.width / 2, a.box.y + a.box.height / 2 - to.y - to.height / 2) ? b : a));

/**
 * Finds, aligns and crops the face of a photo (a decoded image, a PNG/JPEG file or its bytes) and
 * measures it; throws the photo finder's FaceNotUsableError (no face, several faces, too small,
 * profile) with its reason when the photo cannot be used.
 */
export async function identityFromPhoto(photo: RgbImage | string | Uint8Array, options: IdentityFromPhotoOptions = {}): Promise<PhotoIdentity> {
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 16 || size > 2048) throw new Error(`The identity crop size must be a whole number of pixels from 16 to 2048; got ${size}`);
  const image = typeof photo === 'string' || photo instanceof Uint8Array ? await readImage(photo) : photo;
  const work = Math.max(size, WORK_SIZE);
  const found = await findFace(image, { ...options, size: work });
  const crop = work === size ? found.crop : resizeImage(found.crop, size, size);
  const scale = size / work;
  const [again] = await detectFaces(found.crop, { descriptor: true });
  let landmarks: Float32Array;
  let descriptor: Float32Array;
  let measuredOn: PhotoIdentity['measuredOn'];
  if (again?.descriptor) {
    landmarks = Float32Array.from(again.landmarks.flatMap(([x, y]) => [x * scale, y * scale]));
    descriptor = again.descriptor;
    measuredOn = 'crop';
  } else {
    landmarks = Float32Array.from(found.face.landmarks.flatMap((p) => photoToCrop(p, found.cropBox, size)));
    const faces = await detectFaces(image, { descriptor: true });
    if (!faces.length) throw new Error('The face found in this photo could not be measured again for its descriptor. Try a larger or sharper photo.');
    descriptor = nearest(faces, found.face.box).descriptor!;
    measuredOn = 'photo';
  }
  return { crop, landmarks, box: found.face.box, cropBox: found.cropBox, descriptor, pose: found.pose, facesFound: found.facesFound, measuredOn };
}
