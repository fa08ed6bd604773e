import { describe, expect, it } from 'vitest';
import { atPaperScale, faceLmd, mouthLmd, sequenceLmd } from '../../../main/speak/eval/landmark-distance';
import { emptyRow, formatEvalTable, meetsTargets, PAPER_ROWS } from '../../../main/speak/eval/eval-table';

/** 68 distinct points on a 64 px frame. */
const truth = Float32Array.from({ length: 136 }, (_, i) => (i % 2 === 0 ? 10 + (i % 40) : 20 + Math.floor(i / 40) * 7));
const shifted = (points: Float32Array, dx: number, dy: number, only?: (p: number) => boolean) =>
  points.map((v, i) => (only && !only(Math.floor(i / 2)) ? v : v + (i % 2 === 0 ? dx : dy)));

describe('SPEAK eval: landmark distance', () => {
  it('is 5 px for every point moved by (3, 4), on the face and on the mouth', () => {
    const p = shifted(truth, 3, 4);
    expect(faceLmd(p, truth)).toBeCloseTo(5, 5);
    expect(mouthLmd(p, truth)).toBeCloseTo(5, 5);
  });

  it('counts only points 48-67 in M-LMD: a mouth moved by (6, 8) gives M-LMD 10 and F-LMD 10 * 20/68', () => {
    const p = shifted(truth, 6, 8, (k) => k >= 48);
    expect(mouthLmd(p, truth)).toBeCloseTo(10, 5);
    expect(faceLmd(p, truth)).toBeCloseTo((10 * 20) / 68, 5);
    // Moving the jaw (0-16) leaves M-LMD at 0.
    expect(mouthLmd(shifted(truth, 5, 0, (k) => k <= 16), truth)).toBe(0);
  });

  it('averages over frames, and rescales to the paper 256 px frames by 256 / size', () => {
    const r = sequenceLmd([shifted(truth, 3, 4), truth], [truth, truth]);
    expect(r).toEqual({ fLmd: 2.5, mLmd: 2.5, frames: 2 });
    expect(atPaperScale(2, 64)).toBe(8);
  });

  it('refuses landmarks of the wrong length, non-finite points and unpaired frames', () => {
    expect(() => faceLmd(truth.subarray(0, 134), truth)).toThrow(/134 values; 68 landmarks need 136/);
    const bad = truth.slice();
    bad[7] = NaN;
    expect(() => faceLmd(bad, truth)).toThrow(/value 7 is NaN/);
    expect(() => sequenceLmd([truth], [truth, truth])).toThrow(/1 predicted frames against 2/);
  });
});

describe('SPEAK eval: the table', () => {
  it('prints the paper rows beside ours, LMDs with the 256 px equivalent, and missing measures as dashes', () => {
    const ours = { ...emptyRow('ours (64 px)'), size: 64, ssim: 0.912, psnr: 30.5, fLmd: 1.25, mLmd: 0.5, syncConf: 4.2, syncConfShuffled: 1.1 };
    const text = formatEvalTable([ours]);
    expect(text).toContain('| SPEAK, paper (MEAD) | 0.81 | 29.31 | 2.48 | 3.25 | 3.99 | – |');
    expect(text).toContain('| SPEAK w/o L_sync, paper (MEAD) | 0.72 | 28.41 | 2.64 | 4.14 | 3.16 | – |');
    expect(text).toContain('| ours (64 px) | 0.912 | 30.50 | 1.25 (5.00 @256) | 0.50 (2.00 @256) | 4.20 | 1.10 |');
    expect(text).toContain('| ours (64 px) | – | – | – | – | – | – | – | – |');
    expect(() => formatEvalTable([])).toThrow(/at least one row/);
  });

  it('prints the measures beyond the paper and per-class agreement, and checks them against the targets', () => {
    const row = {
      ...emptyRow('ours'),
      emotionAccuracy: 0.925,
      poseError: { yaw: 2.5, pitch: 1.25, roll: 3.5 },
      identitySameRate: 1,
      previewMs: 42,
      fps: 31.25,
      syncConf: 3,
      syncConfShuffled: 3.5,
      expressionAgreementPerClass: { happy: 1, sad: 0.5 },
    };
    const text = formatEvalTable([row], [PAPER_ROWS.speakMead]);
    expect(text).toContain('| ours | 92.5% | 2.5 / 1.3 / 3.5 | 100.0% | – | – | – | 42 | 31.3 |');
    expect(text).toContain('| ours | 100.0% | 50.0% |');
    const met = meetsTargets(row);
    expect(met.emotionAccuracy).toBe(true);
    expect(met.poseErrorDegrees).toBe(false); // roll 3.5 > 3
    expect(met.syncAboveShuffled).toBe(false);
    expect(met.ssim).toBeNull();
  });
});
