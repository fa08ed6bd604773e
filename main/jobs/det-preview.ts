/**
 * A detection run's live preview: a few test canvases with their true boxes and the boxes the net
 * predicts, written beside the database at every evaluation (replacing the last) and read back for
 * the run page, which draws the boxes over the images. Fixed file names inside the run's own
 * folder: the renderer names a run, never a path.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DetImage } from '../engine/tasks/detection/det-data';
import type { Detection, LabelledBox } from '../engine/tasks/detection/boxes';
import { writeAtomically } from '../engine/train/weights';
import { makeFolders } from '../platform/user-paths';
import { encodePng } from '../speak/corpus/png';

const PREVIEW_DIR = 'preview';
const FILE = 'detections.json';
/** Predictions shown: the best few above this score (the mAP counts every one). */
const SHOWN_SCORE = 0.3;
const SHOWN_PER_IMAGE = 10;

type Box = { x1: number; y1: number; x2: number; y2: number; label: string };

export interface DetPreview {
  task: 'detection';
  epoch: number;
  map: number;
  map50: number;
  scoreThreshold: number;
  images: { width: number; height: number; dataUrl: string; truth: Box[]; predicted: (Box & { score: number })[] }[];
}

const rgbOf = (image: DetImage): Uint8Array => {
  if (image.channels === 3) return image.data;
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < image.data.length; i++) rgb.fill(image.data[i]!, 3 * i, 3 * i + 3);
  return rgb;
};

const named = (b: LabelledBox, classes: readonly string[]): Box => ({ x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2, label: classes[b.label] ?? String(b.label) });

export function writeDetPreview(runFolder: string, preview: { epoch: number; map: number; map50: number; classes: readonly string[]; samples: { image: DetImage; truth: readonly LabelledBox[]; predicted: readonly Detection[] }[] }): void {
  const dir = path.join(runFolder, PREVIEW_DIR);
  makeFolders(dir, 'run preview folder');
  const images = preview.samples.map(({ image, truth, predicted }) => ({
    width: image.width,
    height: image.height,
    dataUrl: `data:image/png;base64,${encodePng(rgbOf(image), image.width, image.height).toString('base64')}`,
    truth: truth.map((b) => named(b, preview.classes)),
    predicted: predicted
      .filter((d) => d.score >= SHOWN_SCORE)
      .sort((a, b) => b.score - a.score)
      .slice(0, SHOWN_PER_IMAGE)
      .map((d) => ({ ...named(d, preview.classes), score: d.score })),
  }));
  const file: DetPreview = { task: 'detection', epoch: preview.epoch, map: preview.map, map50: preview.map50, scoreThreshold: SHOWN_SCORE, images };
  writeAtomically(path.join(dir, FILE), JSON.stringify(file));
}

export function readDetPreview(runFolder: string): DetPreview | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(runFolder, PREVIEW_DIR, FILE), 'utf8')) as DetPreview;
  } catch {
    return null;
  }
}
