/**
 * Boxes for detection: corner form in pixels (x1, y1) top-left, (x2, y2) bottom-right, as
 * continuous coordinates with no +1 (pycocotools' convention: a box [x, y, w, h] spans x..x+w).
 * IoU, FCOS's distance encoding around a location and greedy non-maximum suppression; plain
 * numbers, no tensors, so they are exact and testable by hand.
 */

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface LabelledBox extends Box {
  /** Class index into the data set's class names. */
  label: number;
}

export interface Detection extends LabelledBox {
  score: number;
}

export const boxArea = (b: Box): number => Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

/** FCOS's regression target: the distances (left, top, right, bottom) from location (x, y) to the box's sides. */
export function encodeDistances(box: Box, x: number, y: number): [number, number, number, number] {
  return [x - box.x1, y - box.y1, box.x2 - x, box.y2 - y];
}

/** The box that distances (l, t, r, b) around location (x, y) describe: encodeDistances' inverse. */
export function decodeDistances([l, t, r, b]: readonly number[], x: number, y: number): Box {
  return { x1: x - l!, y1: y - t!, x2: x + r!, y2: y + b! };
}

/** FCOS's centerness of a location from its distances: sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)). */
export function centerness([l, t, r, b]: readonly number[]): number {
  return Math.sqrt((Math.min(l!, r!) / Math.max(l!, r!)) * (Math.min(t!, b!) / Math.max(t!, b!)));
}

/**
 * Greedy NMS within each class: highest score first, drop every later box of the same class whose
 * IoU with a kept one exceeds `threshold`; keeps at most `maxDetections`, highest scores first.
 * Ties in score keep the input order (a stable sort).
 */
export function nms(detections: readonly Detection[], threshold: number, maxDetections = Infinity): Detection[] {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`The NMS IoU threshold must be in [0, 1], got ${threshold}`);
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= maxDetections) break;
    if (kept.every((k) => k.label !== d.label || iou(k, d) <= threshold)) kept.push(d);
  }
  return kept;
}
