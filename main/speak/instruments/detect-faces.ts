/**
 * Faces in an image by face-api's real nets, run the way face-api composes them: the SSD
 * MobileNet V1 detector, the 68-point landmark net on each detected box, and optionally the
 * 128-d descriptor (on the landmark-aligned box) and the 7-class expressions.
 */
import type { RgbImage } from '../../data/image-codec';
import { loadFaceApi, type FaceApiResult } from './face-api-runtime';
import { imageTensor } from './image-input';
import { cropImage } from './image-warp';

export type Point = [number, number];

/** x, y, width, height in pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** face-api's expression classes, in its order. */
export const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

export interface DetectedFace {
  /** The detector's box. */
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  /** 68 points in the iBUG 300-W order (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67), pixels. */
  landmarks: Point[];
  /** 128-d face descriptor (face-api / dlib ResNet), when asked for. */
  descriptor?: Float32Array;
  /** Probability of each expression, when asked for. */
  expressions?: Record<Expression, number>;
}

export interface DetectOptions {
  /** Detector confidence below which a box is dropped (face-api's default 0.5). */
  minConfidence?: number;
  /** At most this many faces (face-api's default 100). */
  maxFaces?: number;
  descriptor?: boolean;
  expressions?: boolean;
  /** When nothing is found, look again with a grey border around the image (default true). */
  padRetry?: boolean;
}

function toFace(result: FaceApiResult): DetectedFace {
  const { x, y, width, height } = result.detection.box;
  const face: DetectedFace = {
    box: { x, y, width, height },
    score: result.detection.score,
    landmarks: result.landmarks.positions.map((p) => [p.x, p.y] as Point),
  };
  if (result.descriptor) face.descriptor = Float32Array.from(result.descriptor);
  if (result.expressions) face.expressions = Object.fromEntries(EXPRESSIONS.map((name) => [name, result.expressions![name] ?? 0])) as Record<Expression, number>;
  return face;
}

/** Every face found, largest box first. */
export async function detectFaces(image: RgbImage, options: DetectOptions = {}): Promise<DetectedFace[]> {
  const found = await runDetection(image, options);
  if (found.length > 0 || options.padRetry === false) return found;
  // The SSD detector misses some faces that fill most of the picture (close-up crops, selfies):
  // on a grey border of half the image's size they are found. Only tried when nothing was found.
  const pad = Math.round(Math.max(image.width, image.height) / 2);
  const padded = cropImage(image, -pad, -pad, image.width + 2 * pad, image.height + 2 * pad, [128, 128, 128]);
  return (await runDetection(padded, options))
    .map((face) => ({ ...face, box: { ...face.box, x: face.box.x - pad, y: face.box.y - pad }, landmarks: face.landmarks.map(([x, y]) => [x - pad, y - pad] as Point) }))
    .filter(({ box }) => box.x + box.width / 2 >= 0 && box.x + box.width / 2 < image.width && box.y + box.height / 2 >= 0 && box.y + box.height / 2 < image.height);
}

async function runDetection(image: RgbImage, options: DetectOptions): Promise<DetectedFace[]> {
  const { api } = await loadFaceApi();
  const input = imageTensor(image);
  try {
    const detector = new api.SsdMobilenetv1Options({ minConfidence: options.minConfidence ?? 0.5, maxResults: options.maxFaces ?? 100 });
    let task = api.detectAllFaces(input, detector).withFaceLandmarks();
    if (options.expressions) task = task.withFaceExpressions();
    if (options.descriptor) task = task.withFaceDescriptors();
    const results = await task;
    return results.map(toFace).sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  } finally {
    input.dispose();
  }
}

/** Only the detector (no landmarks): boxes and scores, largest first. */
export async function detectBoxes(image: RgbImage, options: Pick<DetectOptions, 'minConfidence' | 'maxFaces'> = {}): Promise<{ box: Box; score: number }[]> {
  const { api } = await loadFaceApi();
  const input = imageTensor(image);
  try {
    const detector = new api.SsdMobilenetv1Options({ minConfidence: options.minConfidence ?? 0.5, maxResults: options.maxFaces ?? 100 });
    const found = await api.detectAllFaces(input, detector);
    return found.map(({ box: { x, y, width, height }, score }) => ({ box: { x, y, width, height }, score })).sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  } finally {
    input.dispose();
  }
}

/** The centre of each eye (mean of its six landmarks): [left in the image, right in the image]. */
export function eyeCentres(landmarks: readonly Point[]): [Point, Point] {
  const mean = (from: number): Point => {
    let x = 0;
    let y = 0;
    for (let i = from; i < from + 6; i++) {
      x += landmarks[i]![0];
      y += landmarks[i]![1];
    }
    return [x / 6, y / 6];
  };
  return [mean(36), mean(42)];
}
