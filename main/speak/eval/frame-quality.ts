/**
 * SSIM and PSNR of generated talking-head frames against the ground-truth frames, as the
 * talking-head papers report them (SPEAK's Table 1): on the RGB frames (not on Y as SR papers),
 * SSIM averaged over the three channels, PSNR over all RGB values, peak 255, no border crop;
 * each metric averaged over the frames of a clip.
 */
import { psnrRgb, rgbBytes, ssimRgbMeanOverChannels } from '../../metrics/image-quality';

export interface FrameQuality {
  ssim: number;
  /** dB; identical frames are excluded from the mean (their PSNR is infinite) and counted. */
  psnr: number;
  frames: number;
  identicalFrames: number;
}

/** Mean SSIM and PSNR over paired RGB byte frames of side `size` (frame i against frame i). */
export function sequenceQuality(generated: readonly Uint8Array[], truth: readonly Uint8Array[], size: number): FrameQuality {
  if (generated.length !== truth.length) throw new Error(`${generated.length} generated frames against ${truth.length} ground-truth frames: SSIM/PSNR pair frame i with frame i`);
  if (generated.length === 0) throw new Error('SSIM/PSNR need at least one frame');
  let ssim = 0;
  let psnr = 0;
  let finite = 0;
  generated.forEach((g, i) => {
    const a = rgbBytes(g, size);
    const b = rgbBytes(truth[i]!, size);
    ssim += ssimRgbMeanOverChannels(a, b, { peak: 255 });
    const p = psnrRgb(a, b, 255);
    if (Number.isFinite(p)) {
      psnr += p;
      finite++;
    }
  });
  return { ssim: ssim / generated.length, psnr: finite ? psnr / finite : Infinity, frames: generated.length, identicalFrames: generated.length - finite };
}

/** Pearson correlation of two equally long series (e.g. mouth opening against the audio envelope); NaN if either is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Correlation needs series of equal length (${a.length} and ${b.length})`);
  if (a.length < 2) throw new Error('Correlation needs at least two values');
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return va === 0 || vb === 0 ? NaN : cov / Math.sqrt(va * vb);
}
