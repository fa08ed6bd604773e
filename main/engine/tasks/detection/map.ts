/**
 * Detection quality as COCO reports it (pycocotools' COCOeval, bbox, area "all", maxDets 100,
 * no crowd boxes): for each IoU threshold and class, detections of every image are sorted by score
 * (stable, like its mergesort; at most 100 per image and class, as its evaluateImg), each matched greedily, in score order within its image, to the
 * unmatched ground-truth box of its class with the highest IoU >= the threshold; precision is made
 * monotone from the right and read at 101 recall points 0, 0.01, ..., 1 (the first detection
 * reaching that recall; 0 where none does), AP is their mean. mAP averages the classes that have
 * ground truth; mAP@[.5:.95] averages mAP over the ten thresholds 0.5, 0.55, ..., 0.95.
 */
import { type Detection, iou, type LabelledBox } from './boxes';

export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => Math.round((0.5 + 0.05 * i) * 100) / 100);
export const RECALL_POINTS = 101;
export const MAX_DETECTIONS = 100;

export interface ImageResult {
  detections: readonly Detection[];
  truth: readonly LabelledBox[];
}

/** The 101-point interpolated AP of one precision/recall curve (detections in score order). */
export function interpolatedAp(precision: readonly number[], recall: readonly number[]): number {
  const p = [...precision];
  for (let i = p.length - 2; i >= 0; i--) p[i] = Math.max(p[i]!, p[i + 1]!);
  let sum = 0;
  let at = 0;
  for (let k = 0; k < RECALL_POINTS; k++) {
    const r = k / (RECALL_POINTS - 1);
    // np.searchsorted(recall, r, side='left'): the first index whose recall >= r.
    while (at < recall.length && recall[at]! < r) at++;
    sum += at < p.length ? p[at]! : 0;
  }
  return sum / RECALL_POINTS;
}

/** AP of class `label` at IoU `threshold` over the images; null when no image has ground truth of that class. */
export function classAp(images: readonly ImageResult[], label: number, threshold: number): number | null {
  const scored: { score: number; tp: boolean }[] = [];
  let positives = 0;
  for (const { detections, truth } of images) {
    const gts = truth.filter((t) => t.label === label);
    positives += gts.length;
    // pycocotools caps maxDets per image AND class (evaluateImg runs per (image, class) pair).
    const dets = topDetections(detections.filter((d) => d.label === label));
    const taken = new Array<boolean>(gts.length).fill(false);
    for (const d of dets) {
      let best = -1;
      let bestIou = Math.min(threshold, 1 - 1e-10);
      gts.forEach((g, j) => {
        if (taken[j]) return;
        const o = iou(d, g);
        if (o >= bestIou) {
          bestIou = o;
          best = j;
        }
      });
      if (best >= 0) taken[best] = true;
      scored.push({ score: d.score, tp: best >= 0 });
    }
  }
  if (positives === 0) return null;
  // Stable: equal scores keep image order, as pycocotools' mergesort does.
  const order = scored.map((s, i) => ({ ...s, i })).sort((a, b) => b.score - a.score || a.i - b.i);
  const precision: number[] = [];
  const recall: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const s of order) {
    if (s.tp) tp++;
    else fp++;
    precision.push(tp / (tp + fp));
    recall.push(tp / positives);
  }
  return interpolatedAp(precision, recall);
}

/** The MAX_DETECTIONS highest-scoring detections (COCO's maxDets), in score order (stable). */
function topDetections(detections: readonly Detection[]): Detection[] {
  return [...detections].sort((a, b) => b.score - a.score).slice(0, MAX_DETECTIONS);
}

export interface MapScores {
  /** mAP at IoU 0.5 (COCO's AP50, VOC-style threshold with COCO's 101-point interpolation), in [0, 1]. */
  map50: number;
  /** COCO's mAP@[.5:.95], in [0, 1]. */
  map: number;
  /** Per class (index = label): AP@0.5 and AP@[.5:.95]; null for classes with no ground truth. */
  perClass: ({ ap50: number; ap: number } | null)[];
}

export function meanAveragePrecision(images: readonly ImageResult[], classes: number): MapScores {
  if (images.length === 0) throw new Error('mAP needs at least one image');
  const perClass = Array.from({ length: classes }, (_, c) => {
    const aps = COCO_IOU_THRESHOLDS.map((t) => classAp(images, c, t));
    if (aps[0] === null) return null;
    const values = aps as number[];
    return { ap50: values[0]!, ap: values.reduce((s, v) => s + v, 0) / values.length };
  });
  const present = perClass.filter((c): c is { ap50: number; ap: number } => c !== null);
  if (present.length === 0) throw new Error('mAP needs ground-truth boxes: none of the images has any');
  return {
    map50: present.reduce((s, c) => s + c.ap50, 0) / present.length,
    map: present.reduce((s, c) => s + c.ap, 0) / present.length,
    perClass,
  };
}
