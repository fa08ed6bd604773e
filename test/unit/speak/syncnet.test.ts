import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../main/data/random';
import { selectBackend } from '../../../main/engine/backend/select';
import { melWindows } from '../../../main/speak/audio/mel';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { Params } from '../../../main/speak/model/nn';
import {
  contrastiveLoss,
  createSyncNetStage,
  sampleSyncBatch,
  SYNCNET_DEFAULTS,
  syncConfidence,
  syncLoss,
} from '../../../main/speak/model/syncnet';

/** Small nets for the tests (the shipped widths are SYNCNET_DEFAULTS). */
const TINY = { visualWidths: [8, 16, 32, 32], audioWidths: [8, 16, 32], hidden: 64 };

function unitVectors(count: number, dim: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    const v = Float32Array.from({ length: dim }, () => rng() - 0.5);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

describe('SyncNet', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('uses SPEAK’s contrastive loss (1/2N) sum [y d^2 + (1 - y) max(margin - d, 0)^2]', () => {
    const d = [0.2, 1.5, 0.3, 0.9];
    const y = [1, 1, 0, 0];
    const margin = 1.2;
    const expected = (0.2 ** 2 + 1.5 ** 2 + (1.2 - 0.3) ** 2 + (1.2 - 0.9) ** 2) / (2 * 4);
    const loss = contrastiveLoss(tf.tensor1d(d), tf.tensor1d(y), margin);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 6);
    // Off-sync pairs beyond the margin cost nothing.
    expect(contrastiveLoss(tf.tensor1d([1.3]), tf.tensor1d([0]), 1.2).dataSync()[0]).toBe(0);
  });

  it('syncConfidence finds the offset of audio that lags the video and sees none in unrelated audio', () => {
    const visual = unitVectors(40, 64, 1);
    const noise = unitVectors(40, 64, 2);
    // audio[t + 3] belongs to visual[t]: the audio lags by 3 frames.
    const audio = visual.map((_, t) => (t >= 3 ? visual[t - 3]! : noise[t]!));
    const lagged = syncConfidence(visual, audio);
    expect(lagged.offset).toBe(3);
    expect(lagged.distances).toHaveLength(31);
    expect(lagged.minDistance).toBeLessThan(0.2);
    expect(lagged.confidence).toBeGreaterThan(1);
    const unrelated = syncConfidence(visual, noise);
    expect(unrelated.confidence).toBeLessThan(0.2);
    expect(() => syncConfidence(visual, audio.slice(1))).toThrow(/one visual and one audio embedding per frame/);
  });

  it('draws balanced batches: half in sync, the rest shifted >= 5 frames or from another clip, never a held-out frame', () => {
    const set = proceduralClips({ count: 2, seed: 5, size: 64, emotions: ['neutral'], maxFrames: 30 });
    const windows = set.clips.map((c) => melWindows(c.audio, c.frameCount));
    const usable = set.clips.map((c) => Array.from({ length: c.frameCount }, (_, i) => i).filter((i) => i < 10 || i >= 20));
    const settings = { ...SYNCNET_DEFAULTS, batchSize: 64, otherClipShare: 0.5 };
    const batch = sampleSyncBatch(set.clips, windows, usable, settings, 7, 3);
    expect(batch.inSync.reduce((a, b) => a + b, 0)).toBe(32);
    let otherClip = 0;
    batch.pairs.forEach((p, b) => {
      for (const frame of [p.frame, p.audioFrame]) expect(frame < 10 || frame >= 20).toBe(true);
      if (batch.inSync[b]) expect([p.audioClip, p.audioFrame]).toEqual([p.clip, p.frame]);
      else if (p.audioClip === p.clip) expect(Math.abs(p.audioFrame - p.frame)).toBeGreaterThanOrEqual(5);
      else otherClip++;
      // The batch holds the frame's pixels and the chosen window.
      const per = windows[0]!.steps * windows[0]!.mels;
      expect(Array.from(batch.mel.subarray(b * per, b * per + 8))).toEqual(Array.from(windows[p.audioClip]!.data.subarray(p.audioFrame * per, p.audioFrame * per + 8)));
      expect(batch.frames[b * 64 * 64 * 3 + 5000]).toBeCloseTo(set.clips[p.clip]!.frame(p.frame)[5000]! / 255, 6);
    });
    expect(otherClip).toBeGreaterThan(4);
    expect(otherClip).toBeLessThan(28);
    // The same (seed, step) draws the same batch: a resumed run repeats it.
    expect(sampleSyncBatch(set.clips, windows, usable, settings, 7, 3).pairs).toEqual(batch.pairs);
    expect(sampleSyncBatch(set.clips, windows, usable, settings, 7, 4).pairs).not.toEqual(batch.pairs);
  });

  it('L_sync is 0 for the real frame itself, and a generator step through it moves only the generator (SyncNet frozen)', () => {
    const set = proceduralClips({ count: 1, seed: 5, size: 64, emotions: ['neutral'], maxFrames: 12 });
    const clip = set.clips[0]!;
    const toTensor = (frames: number[]) => tf.tensor4d(Float32Array.from(frames.flatMap((i) => Array.from(clip.frame(i), (v) => v / 255))), [frames.length, 64, 64, 3]);
    const real = toTensor([2, 6, 10]);
    const p = new Params('syncnet', 4);
    expect(syncLoss(p, real, real, TINY).dataSync()[0]).toBeCloseTo(0, 6);
    // A stand-in generator: a learnable image, starting as other frames of the clip.
    const generated = tf.variable(toTensor([0, 1, 11]), true, 'generator.image');
    const before = p.variables().map(({ variable }) => variable.dataSync().slice());
    const start = syncLoss(p, real, generated, TINY).dataSync()[0]!;
    expect(start).toBeGreaterThan(0);
    const optimizer = tf.train.adam(1e-2);
    const imageBefore = generated.dataSync().slice();
    for (let i = 0; i < 5; i++) optimizer.minimize(() => syncLoss(p, real, generated, TINY), false, [generated]);
    expect(syncLoss(p, real, generated, TINY).dataSync()[0]).toBeLessThan(start);
    expect(generated.dataSync().some((v, i) => v !== imageBefore[i])).toBe(true);
    p.variables().forEach(({ variable }, k) => expect(variable.dataSync()).toEqual(before[k]));
    optimizer.dispose();
    generated.dispose();
    p.dispose();
  });

  it('refuses settings it cannot train with, saying why', () => {
    const set = proceduralClips({ count: 1, seed: 5, size: 64, emotions: ['neutral'], maxFrames: 12 });
    expect(() => createSyncNetStage({ clips: [], identities: [] })).toThrow(/at least one clip/);
    expect(() => createSyncNetStage(set, { batchSize: 3 })).toThrow(/batchSize is 3; it must be an even number/);
    expect(() => createSyncNetStage(set, { margin: 0 })).toThrow(/margin is 0; it must be positive/);
    expect(() => createSyncNetStage(set, {}, 1, { trainFrame: () => false })).toThrow(/every frame of every clip is held out/);
  });
});
