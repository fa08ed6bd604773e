import { describe, expect, it } from 'vitest';
import { type Augmentation, PREPROCESSING, type Preprocessing, preprocessInto } from '../../../main/data/preprocess';
import { createRng } from '../../../main/data/random';
import type { ImageShape } from '../../../main/data/types';

/** A plain reference: pad the whole image, cut the window, then flip, exactly as the steps read. */
function reference(pixels: Uint8Array, shape: ImageShape, aug: Augmentation, dy: number, dx: number, flip: boolean): number[] {
  const { height: H, width: W, channels: C } = shape;
  const P = aug.pad;
  const padded = (y: number, x: number, c: number): number => {
    let sy = y - P;
    let sx = x - P;
    if (aug.padMode === 'zero') return sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : pixels[(sy * W + sx) * C + c]!;
    sy = sy < 0 ? -sy : sy >= H ? 2 * (H - 1) - sy : sy;
    sx = sx < 0 ? -sx : sx >= W ? 2 * (W - 1) - sx : sx;
    return pixels[(sy * W + sx) * C + c]!;
  };
  const out: number[] = [];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        const cx = flip ? W - 1 - x : x;
        out.push(padded(y + dy + P, cx + dx + P, c));
      }
  return out;
}

/** An rng that replays given values; preprocessInto draws dy, dx, then the flip. */
const replay = (...values: number[]) => () => values.shift() ?? 0;

describe('preprocessing', () => {
  const shape: ImageShape = { height: 5, width: 6, channels: 3 };
  const pixels = Uint8Array.from({ length: 5 * 6 * 3 }, (_, i) => (i * 37) % 256);
  const identity: Preprocessing['normalization'] = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] };

  it('normalises per channel: (v/255 - mean) / std', () => {
    const out = new Float32Array(pixels.length);
    preprocessInto(pixels, 1, shape, { ...PREPROCESSING.cifar10, augmentation: null }, createRng(1), out);
    const { mean, std } = PREPROCESSING.cifar10.normalization;
    for (let i = 0; i < pixels.length; i++) expect(out[i]).toBeCloseTo((pixels[i]! / 255 - mean[i % 3]!) / std[i % 3]!, 5);
  });

  for (const padMode of ['reflect', 'zero'] as const) {
    for (const [dy, dx, flip] of [[-2, -2, false], [2, 1, true], [0, -1, true], [1, 2, false]] as const) {
      it(`crops a ${padMode}-padded image at offset (${dy}, ${dx})${flip ? ' and flips it' : ''} like the reference`, () => {
        const aug: Augmentation = { pad: 2, padMode, flip: true };
        // randomInt(rng, 5) = floor(r * 5): r = (d + 2 + 0.5) / 5 picks offset d; r < 0.5 flips.
        const rng = replay((dy + 2.5) / 5, (dx + 2.5) / 5, flip ? 0.1 : 0.9);
        const out = new Float32Array(pixels.length);
        preprocessInto(pixels, 1, shape, { normalization: identity, augmentation: aug }, rng, out);
        expect(Array.from(out, Math.round)).toEqual(reference(pixels, shape, aug, dy, dx, flip));
      });
    }
  }

  it('never flips when the data set does not (SVHN)', () => {
    const svhn = PREPROCESSING.svhn.augmentation!;
    expect(svhn).toEqual({ pad: 2, padMode: 'zero', flip: false });
    const out = new Float32Array(pixels.length);
    preprocessInto(pixels, 1, shape, { normalization: identity, augmentation: svhn }, replay(0.5, 0.5), out);
    expect(Array.from(out, Math.round)).toEqual(Array.from(pixels));
  });

  it('follows the papers\' recipe for each data set', () => {
    expect(PREPROCESSING.cifar10.augmentation).toEqual({ pad: 4, padMode: 'reflect', flip: true });
    expect(PREPROCESSING.stl10.augmentation).toEqual({ pad: 4, padMode: 'zero', flip: true });
    expect(PREPROCESSING.stl10.normalization).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(PREPROCESSING.cifar10.normalization.mean[0]).toBeCloseTo(125.3 / 255, 10);
  });
});
