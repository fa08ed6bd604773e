/**
 * A super-resolution run's live preview: the first test image's low-res input, the net's output
 * and the high-res original, written beside the database at every evaluation (replacing the
 * last), and read back for the run page as PNG data URLs. Fixed file names inside the run's own
 * folder: the renderer names a run, never a path.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RgbImage } from '../data/image-codec';
import { encodePng } from '../speak/corpus/png';
import { writeAtomically } from '../engine/train/weights';
import { makeFolders } from '../platform/user-paths';

const PREVIEW_DIR = 'preview';
const PARTS = ['lr', 'sr', 'hr'] as const;
type Part = (typeof PARTS)[number];
const LABELS: Record<Part, string> = { lr: 'Low-res input', sr: 'Network output', hr: 'High-res original' };

export interface SrPreviewInput {
  epoch: number;
  lr: RgbImage;
  sr: RgbImage;
  hr: RgbImage;
  /** This image's own scores (PSNR-Y dB, SSIM-Y). */
  psnr: number;
  ssim: number;
}

export interface SrPreview {
  task: 'super-resolution';
  epoch: number;
  psnr: number;
  ssim: number;
  images: { part: Part; label: string; width: number; height: number; dataUrl: string }[];
}

export function writeSrPreview(runFolder: string, preview: SrPreviewInput): void {
  const dir = path.join(runFolder, PREVIEW_DIR);
  makeFolders(dir, 'run preview folder');
  for (const part of PARTS) writeAtomically(path.join(dir, `${part}.png`), encodePng(preview[part].data, preview[part].width, preview[part].height));
  // Written last: a reader never pairs this epoch's scores with the previous epoch's images for long.
  const sizes = Object.fromEntries(PARTS.map((p) => [p, [preview[p].width, preview[p].height]]));
  writeAtomically(path.join(dir, 'preview.json'), JSON.stringify({ epoch: preview.epoch, psnr: preview.psnr, ssim: preview.ssim, sizes }));
}

/** The latest preview of a run, or null before its first evaluation. */
export function readSrPreview(runFolder: string): SrPreview | null {
  const dir = path.join(runFolder, PREVIEW_DIR);
  let meta: { epoch: number; psnr: number; ssim: number; sizes: Record<Part, [number, number]> };
  try {
    meta = JSON.parse(fs.readFileSync(path.join(dir, 'preview.json'), 'utf8')) as typeof meta;
  } catch {
    return null;
  }
  const images = PARTS.map((part) => {
    const [width, height] = meta.sizes[part];
    return { part, label: LABELS[part], width, height, dataUrl: `data:image/png;base64,${fs.readFileSync(path.join(dir, `${part}.png`)).toString('base64')}` };
  });
  return { task: 'super-resolution', epoch: meta.epoch, psnr: meta.psnr, ssim: meta.ssim, images };
}
