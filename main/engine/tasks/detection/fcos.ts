/**
 * FCOS's training targets, loss and decoding (Tian et al. 2019, with the later FCOS fixes:
 * center sampling, GIoU, box loss weighted by the centerness target).
 *
 * Targets: a location (x, y) = (i * stride + floor(stride / 2), ...) of a level is positive for
 * a box when it lies inside the box and within `centerRadius` strides of the box's centre (center
 * sampling) and the box's largest distance max(l, t, r, b) from it falls in the level's range;
 * among several such boxes the smallest wins. Its targets are the box's class, the distances
 * (l, t, r, b) and their centerness.
 *
 * Loss, as FCOS sums it: sigmoid focal loss (alpha 0.25, gamma 2) over every location and class,
 * divided by the positives; GIoU loss over positives weighted by their centerness targets, divided
 * by those targets' sum; binary cross-entropy of the centerness over positives, divided by the
 * positives. With no positive at all the last two are 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { centerness, decodeDistances, type Detection, encodeDistances, type LabelledBox, nms } from './boxes';
import { type DetOutput, type LevelSpec, mapSide } from './detector';

export const FOCAL_ALPHA = 0.25;
export const FOCAL_GAMMA = 2;
export const CENTER_RADIUS = 1.5;

export interface FcosTargets {
  /** Class index per location, -1 for background: [N * L]. */
  labels: Int32Array;
  /** (l, t, r, b) per location; (1, 1, 1, 1) for background (never read, keeps GIoU finite): [N * L * 4]. */
  distances: Float32Array;
  /** Centerness target per location (0 for background): [N * L]. */
  centerness: Float32Array;
  /** Locations per image. */
  locations: number;
  positives: number;
}

/** Every location of the levels for a size x size image, level by level, row-major: [x, y, level]. */
export function levelLocations(levels: readonly LevelSpec[], size: number): { x: number; y: number; level: number }[] {
  return levels.flatMap(({ stride }, level) => {
    const side = mapSide(size, stride);
    return Array.from({ length: side * side }, (_, k) => ({ x: (k % side) * stride + Math.floor(stride / 2), y: Math.floor(k / side) * stride + Math.floor(stride / 2), level }));
  });
}

export function assignTargets(boxes: readonly (readonly LabelledBox[])[], levels: readonly LevelSpec[], size: number, centerRadius = CENTER_RADIUS): FcosTargets {
  const locations = levelLocations(levels, size);
  const n = boxes.length;
  const L = locations.length;
  const labels = new Int32Array(n * L).fill(-1);
  const distances = new Float32Array(n * L * 4).fill(1);
  const ctr = new Float32Array(n * L);
  let positives = 0;
  boxes.forEach((imageBoxes, i) => {
    locations.forEach(({ x, y, level }, k) => {
      const { stride, min, max } = levels[level]!;
      const radius = centerRadius * stride;
      let best: LabelledBox | null = null;
      let bestArea = Infinity;
      for (const box of imageBoxes) {
        const d = encodeDistances(box, x, y);
        if (Math.min(...d) <= 0) continue;
        const cx = (box.x1 + box.x2) / 2;
        const cy = (box.y1 + box.y2) / 2;
        if (Math.abs(x - cx) >= radius || Math.abs(y - cy) >= radius) continue;
        const reach = Math.max(...d);
        if (reach <= min || reach > max) continue;
        const area = (box.x2 - box.x1) * (box.y2 - box.y1);
        if (area < bestArea) {
          best = box;
          bestArea = area;
        }
      }
      if (!best) return;
      const at = i * L + k;
      const d = encodeDistances(best, x, y);
      labels[at] = best.label;
      distances.set(d, at * 4);
      ctr[at] = centerness(d);
      positives++;
    });
  });
  return { labels, distances, centerness: ctr, locations: L, positives };
}

/** Sigmoid focal loss summed over every element: alpha_t (1 - p_t)^gamma BCE(logit, target). */
export function focalLossSum(logits: tf.Tensor, targets: tf.Tensor, alpha = FOCAL_ALPHA, gamma = FOCAL_GAMMA): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    // BCE with logits, stable: max(x, 0) - x t + log(1 + exp(-|x|)).
    const ce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const pt = tf.add(tf.mul(p, targets), tf.mul(tf.sub(1, p), tf.sub(1, targets)));
    const at = tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha));
    const modulating = gamma === 2 ? tf.square(tf.sub(1, pt)) : tf.pow(tf.sub(1, pt), gamma);
    return tf.sum(tf.mul(tf.mul(at, modulating), ce)) as tf.Scalar;
  });
}

/** 1 - GIoU of boxes given as distances around the same locations, [..., 4] each. */
export function giouLoss(pred: tf.Tensor, target: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [pl, pt, pr, pb] = tf.unstack(pred, -1);
    const [tl, tt, tr, tb] = tf.unstack(target, -1);
    const areaP = tf.mul(tf.add(pl!, pr!), tf.add(pt!, pb!));
    const areaT = tf.mul(tf.add(tl!, tr!), tf.add(tt!, tb!));
    const inter = tf.mul(tf.add(tf.minimum(pl!, tl!), tf.minimum(pr!, tr!)), tf.add(tf.minimum(pt!, tt!), tf.minimum(pb!, tb!)));
    const union = tf.sub(tf.add(areaP, areaT), inter);
    const enclosing = tf.mul(tf.add(tf.maximum(pl!, tl!), tf.maximum(pr!, tr!)), tf.add(tf.maximum(pt!, tt!), tf.maximum(pb!, tb!)));
    const giou = tf.sub(tf.div(inter, union), tf.div(tf.sub(enclosing, union), enclosing));
    return tf.sub(1, giou);
  });
}

export interface FcosLossParts {
  total: tf.Scalar;
  cls: tf.Scalar;
  box: tf.Scalar;
  ctr: tf.Scalar;
}

/** The FCOS loss of predictions against targets over the same locations. */
export function fcosLossParts(pred: DetOutput, targets: FcosTargets): FcosLossParts {
  const [n, L, classes] = pred.cls.shape;
  if (L !== targets.locations || n * L !== targets.labels.length) throw new Error(`FCOS loss: ${n} x ${L} predicted locations but targets for ${targets.labels.length / targets.locations} x ${targets.locations}`);
  return tf.tidy(() => {
    const labels = tf.tensor2d(targets.labels, [n, L], 'int32');
    const positive = tf.cast(tf.greaterEqual(labels, 0), 'float32');
    // One-hot of -1 is all zeros: background.
    const oneHot = tf.oneHot(labels, classes);
    const normaliser = Math.max(1, targets.positives);
    const cls = tf.div(focalLossSum(pred.cls, oneHot), normaliser) as tf.Scalar;
    const ctrTarget = tf.tensor2d(targets.centerness, [n, L]);
    const ctrSum = targets.centerness.reduce((s, v) => s + v, 0);
    const box = (ctrSum > 0 ? tf.div(tf.sum(tf.mul(giouLoss(pred.reg, tf.tensor3d(targets.distances, [n, L, 4])), ctrTarget)), ctrSum) : tf.scalar(0)) as tf.Scalar;
    const bce = tf.add(tf.sub(tf.relu(pred.ctr), tf.mul(pred.ctr, ctrTarget)), tf.log1p(tf.exp(tf.neg(tf.abs(pred.ctr)))));
    const ctr = tf.div(tf.sum(tf.mul(bce, positive)), normaliser) as tf.Scalar;
    return { total: tf.addN([cls, box, ctr]) as tf.Scalar, cls, box, ctr };
  });
}

export function fcosLoss(pred: DetOutput, targets: FcosTargets): tf.Scalar {
  return tf.tidy(() => fcosLossParts(pred, targets).total);
}

export interface DecodeOptions {
  /** Detections below this score are dropped before NMS (FCOS: 0.05). */
  scoreThreshold: number;
  /** Highest-scoring candidates per level kept for NMS (FCOS: 1000). */
  preNms: number;
  /** Per-class NMS IoU (FCOS: 0.6). */
  nmsIou: number;
  maxDetections: number;
}

export const DECODE_DEFAULTS: DecodeOptions = { scoreThreshold: 0.05, preNms: 1000, nmsIou: 0.6, maxDetections: 100 };

/**
 * Boxes from predictions: score = sqrt(sigmoid(class) * sigmoid(centerness)) per location and
 * class (FCOS's test-time score), the best `preNms` above the threshold per level, boxes clipped
 * to the image, per-class NMS. One list per image.
 */
export function decodeDetections(pred: DetOutput, levels: readonly LevelSpec[], size: number, options: Partial<DecodeOptions> = {}): Detection[][] {
  const o = { ...DECODE_DEFAULTS, ...options };
  const [n, L, classes] = pred.cls.shape;
  const locations = levelLocations(levels, size);
  if (locations.length !== L) throw new Error(`Decoding: ${L} predicted locations, but the levels give ${locations.length} for ${size} px images`);
  const [scores, reg] = tf.tidy(() => [tf.sqrt(tf.mul(tf.sigmoid(pred.cls), tf.expandDims(tf.sigmoid(pred.ctr), 2))), pred.reg]);
  const s = scores!.dataSync();
  const r = reg!.dataSync();
  scores!.dispose();
  const clip = (v: number) => Math.min(size, Math.max(0, v));
  return Array.from({ length: n }, (_, i) => {
    const candidates: Detection[] = [];
    levels.forEach((_, level) => {
      const here: Detection[] = [];
      locations.forEach(({ x, y, level: l }, k) => {
        if (l !== level) return;
        for (let c = 0; c < classes; c++) {
          const score = s[(i * L + k) * classes + c]!;
          if (score < o.scoreThreshold) continue;
          const at = (i * L + k) * 4;
          const b = decodeDistances([r[at]!, r[at + 1]!, r[at + 2]!, r[at + 3]!], x, y);
          here.push({ x1: clip(b.x1), y1: clip(b.y1), x2: clip(b.x2), y2: clip(b.y2), label: c, score });
        }
      });
      candidates.push(...here.sort((a, b) => b.score - a.score).slice(0, o.preNms));
    });
    return nms(candidates, o.nmsIou, o.maxDetections);
  });
}
