/**
 * A user's photo to the square face crop the talking-head generator takes: find the face with
 * face-api's detector and 68 landmarks, choose it, turn the image so the eyes are level, and cut
 * a square around the face with a margin, at the requested size. The crop box (in the photo's
 * pixels) comes back for the editor to draw. A photo without one usable face is refused with the
 * reason: no face, several faces (how many), too small (its size and the minimum), or a profile
 * (its yaw, measured by human's face mesh, and the limit).
 */
import type { RgbImage } from '../../data/image-codec';
import { detectFaces, eyeCentres, type DetectedFace, type Point } from './detect-faces';
import { FaceMeshMeter, type HeadPose } from './head-pose';
import { checkRgb } from './image-input';
import { warpAffine, type Affine } from './image-warp';

export type FaceProblem = 'no-face' | 'several-faces' | 'too-small' | 'profile';

export class FaceNotUsableError extends Error {
  constructor(
    readonly problem: FaceProblem,
    message: string,
  ) {
    super(message);
    this.name = 'FaceNotUsableError';
  }
}

export interface FindFaceOptions {
  /** Side of the square crop in pixels. Default 256. */
  size?: number;
  /** Room around the face on each side, as a fraction of the face's size (eyes-to-mouth scale). Default 0.5. */
  margin?: number;
  /** With several faces, take the largest instead of refusing the photo. Default false. */
  chooseLargest?: boolean;
  /** Smallest usable face: the detector box's width in pixels. Default 64. */
  minFaceSize?: number;
  /** Largest usable |yaw| in degrees (beyond it the face is a profile). Default 40. */
  maxYaw?: number;
  /** A running face mesh for the yaw check; without one, one is started and closed for this call. */
  meter?: FaceMeshMeter;
}

/** The crop in the photo: a square of `side` pixels centred at `centre`, turned by `angle` degrees (clockwise). */
export interface CropBox {
  centre: Point;
  side: number;
  angle: number;
  /** Its corners in the photo: top-left, top-right, bottom-right, bottom-left of the crop. */
  corners: [Point, Point, Point, Point];
}

export interface FoundFace {
  crop: RgbImage;
  cropBox: CropBox;
  /** The face in the photo's pixels (box, landmarks, detector score). */
  face: DetectedFace;
  /** Head pose measured on the crop by human's mesh; null when the mesh finds no face there. */
  pose: HeadPose | null;
  /** How many faces the detector saw in the photo. */
  facesFound: number;
}

export const DEFAULT_FIND_OPTIONS = { size: 256, margin: 0.5, minFaceSize: 64, maxYaw: 40 } as const;

function mean(points: readonly Point[], from: number, to: number): Point {
  let x = 0;
  let y = 0;
  for (let i = from; i < to; i++) {
    x += points[i]![0];
    y += points[i]![1];
  }
  return [x / (to - from), y / (to - from)];
}

/**
 * Where the aligned square sits: eye line level, centred a little below the eyes, its side set by
 * the larger of the eye distance and the eyes-to-mouth distance (the measure FFHQ's alignment uses,
 * so a tilted or turned face gets the same framing as a frontal one).
 */
export function alignedCropBox(landmarks: readonly Point[], margin: number): CropBox {
  const [left, right] = eyeCentres(landmarks);
  const eyes: Point = [(left[0] + right[0]) / 2, (left[1] + right[1]) / 2];
  const mouth = mean(landmarks, 48, 68);
  const eyeVector: Point = [right[0] - left[0], right[1] - left[1]];
  const eyeToMouth: Point = [mouth[0] - eyes[0], mouth[1] - eyes[1]];
  const faceSize = Math.max(2 * Math.hypot(...eyeVector), 1.8 * Math.hypot(...eyeToMouth));
  const side = faceSize * (1 + 2 * margin);
  const centre: Point = [eyes[0] + 0.1 * eyeToMouth[0], eyes[1] + 0.1 * eyeToMouth[1]];
  const angle = (Math.atan2(eyeVector[1], eyeVector[0]) * 180) / Math.PI;
  const corners = ([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]] as const).map(([u, v]) => toPhoto(centre, side, angle, u, v)) as CropBox['corners'];
  return { centre, side, angle, corners };
}

/** A point of the crop (u, v in -0.5..0.5 of its side) in the photo. */
function toPhoto(centre: Point, side: number, angle: number, u: number, v: number): Point {
  const t = (angle * Math.PI) / 180;
  return [centre[0] + side * (Math.cos(t) * u - Math.sin(t) * v), centre[1] + side * (Math.sin(t) * u + Math.cos(t) * v)];
}

/** Resamples the crop box to a size x size image. */
export function cutCrop(image: RgbImage, box: CropBox, size: number): RgbImage {
  const s = box.side / size;
  const t = (box.angle * Math.PI) / 180;
  const cos = s * Math.cos(t);
  const sin = s * Math.sin(t);
  const half = size / 2;
  const toSource: Affine = [cos, -sin, box.centre[0] - cos * half + sin * half, sin, cos, box.centre[1] - sin * half - cos * half];
  return warpAffine(image, toSource, size, size);
}

function checkOptions(size: number, margin: number, minFaceSize: number, maxYaw: number): void {
  if (!Number.isInteger(size) || size < 16 || size > 2048) throw new Error(`The crop size must be a whole number of pixels from 16 to 2048; got ${size}`);
  if (!(margin >= 0 && margin <= 2)) throw new Error(`The margin must be from 0 to 2 (a fraction of the face size); got ${margin}`);
  if (!(minFaceSize >= 0)) throw new Error(`The smallest face size must be 0 or more pixels; got ${minFaceSize}`);
  if (!(maxYaw > 0 && maxYaw <= 90)) throw new Error(`The yaw limit must be above 0 and at most 90 degrees; got ${maxYaw}`);
}

/** Finds, checks, aligns and crops the face of a photo; throws FaceNotUsableError saying why a photo cannot be used. */
export async function findFace(image: RgbImage, options: FindFaceOptions = {}): Promise<FoundFace> {
  const { size, margin, minFaceSize, maxYaw } = { ...DEFAULT_FIND_OPTIONS, ...options };
  checkOptions(size, margin, minFaceSize, maxYaw);
  checkRgb(image);
  const faces = await detectFaces(image);
  if (faces.length === 0) {
    throw new FaceNotUsableError(
      'no-face',
      `No face was found in this ${image.width}x${image.height} image. Choose a photo in which one face is clearly visible, seen from the front or turned at most halfway.`,
    );
  }
  if (faces.length > 1 && !options.chooseLargest) {
    throw new FaceNotUsableError(
      'several-faces',
      `${faces.length} faces were found in this image; the talking head needs one. Choose a photo of one person, crop the photo to one face, or ask for the largest face.`,
    );
  }
  const face = faces[0]!; // largest first
  const width = Math.round(face.box.width);
  const height = Math.round(face.box.height);
  if (face.box.width < minFaceSize) {
    throw new FaceNotUsableError(
      'too-small',
      `The face is too small: ${width}x${height} pixels, and at least ${minFaceSize} pixels wide is needed. Use a larger photo, or one taken closer to the face.`,
    );
  }
  const cropBox = alignedCropBox(face.landmarks, margin);
  const crop = cutCrop(image, cropBox, size);
  const meter = options.meter ?? (await FaceMeshMeter.start({ maxFaces: 1 }));
  let pose: HeadPose | null;
  try {
    pose = await meter.headPose(crop);
  } finally {
    if (!options.meter) await meter.close();
  }
  if (pose && Math.abs(pose.yaw) > maxYaw) {
    throw new FaceNotUsableError(
      'profile',
      `The face is turned too far to the side (a profile): its yaw measures ${Math.round(pose.yaw)} degrees and at most ${maxYaw} is usable. Choose a photo where the face looks towards the camera.`,
    );
  }
  return { crop, cropBox, face, pose, facesFound: faces.length };
}
