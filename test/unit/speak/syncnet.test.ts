import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../main/data/random';
import { selectBackend } from '../../../main/engine/backend/select';
import { melWindows } from '../../../main/speak/audio/mel';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { Params } from '../../../main/speak/model/nn';
import { loadSpeakModelInto } from '../../../main/speak/train/speak-checkpoint';
import {
  clipSyncConfidence,
  contrastiveLoss,
  createSyncNetStage,
  embedClip,
  infoNceLoss,
  nearPairMask,
  sampleSyncBatch,
  sampleSyncGroups,
  SYNCNET_DEFAULTS,
  syncConfidence,
  syncLoss,
} from '../../../main/speak/model/syncnet';

/** Small nets for the tests (the shipped widths are SYNCNET_DEFAULTS). */
const TINY = { visualWidths: [8, 16, 32, 32], audioWidths: [8, 16, 32], hidden: 0 };
/** Enough InfoNCE steps to learn sync on 4 clips (loss 3.5 -> 0.05 by step ~80 here). */
const STEPS = 150;

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

  it('InfoNCE: cross-entropy of cosine / temperature both ways, excluded pairs out of the softmax', () => {
    const v = [[1, 0], [0, 1], [Math.SQRT1_2, Math.SQRT1_2]];
    const a = [[Math.SQRT1_2, Math.SQRT1_2], [0, 1], [1, 0]];
    const t = 0.5;
    const cos = v.map((x) => a.map((y) => x[0]! * y[0]! + x[1]! * y[1]!));
    const ce = (m: number[][], keep: (r: number, c: number) => boolean) =>
      m.reduce((sum, row, r) => sum - Math.log(Math.exp(row[r]! / t) / row.reduce((z, x, c) => z + (keep(r, c) ? Math.exp(x / t) : 0), 0)), 0) / m.length;
    const transpose = cos.map((_, r) => cos.map((row) => row[r]!));
    const all = () => true;
    const expected = (ce(cos, all) + ce(transpose, all)) / 2;
    expect(infoNceLoss(tf.tensor2d(v), tf.tensor2d(a), t).dataSync()[0]).toBeCloseTo(expected, 5);
    // Excluding pair (0, 2) (visual 0 with audio 2) drops it from row 0 and from column 2.
    const exclude = tf.tensor2d([[0, 0, 1], [0, 0, 0], [0, 0, 0]]);
    const keep = (r: number, c: number) => !(r === 0 && c === 2);
    const masked = (ce(cos, keep) + ce(transpose, (r, c) => keep(c, r))) / 2;
    expect(infoNceLoss(tf.tensor2d(v), tf.tensor2d(a), t, exclude).dataSync()[0]).toBeCloseTo(masked, 5);
    expect(masked).not.toBeCloseTo(expected, 3);
  });

  it('draws InfoNCE batches in clip groups: every frame with its own window, distinct frames, near windows masked', () => {
    const set = proceduralClips({ count: 2, seed: 5, size: 64, emotions: ['neutral', 'happy'], maxFrames: 30 });
    const windows = set.clips.map((c) => melWindows(c.audio, c.frameCount));
    const usable = set.clips.map((c) => Array.from({ length: c.frameCount }, (_, i) => i).filter((i) => i < 10 || i >= 20));
    const settings = { ...SYNCNET_DEFAULTS, batchSize: 12, framesPerClip: 4, minShift: 3 };
    const batch = sampleSyncGroups(set.clips, windows, usable, settings, 7, 3);
    expect(Array.from(batch.inSync)).toEqual(new Array(12).fill(1));
    const per = windows[0]!.steps * windows[0]!.mels;
    for (let g = 0; g < 3; g++) {
      const group = batch.pairs.slice(g * 4, g * 4 + 4);
      expect(new Set(group.map((p) => p.clip)).size).toBe(1);
      // However the first picks fall, 0-9 and 20-29 still hold 4 frames >= 3 apart: the sampler finds them.
      const frames = group.map((p) => p.frame).sort((x, y) => x - y);
      frames.slice(1).forEach((f, k) => expect(f - frames[k]!).toBeGreaterThanOrEqual(3));
    }
    expect(new Set([0, 4, 8].map((b) => batch.pairs[b]!.clip)).size).toBe(3);
    batch.pairs.forEach((p, b) => {
      expect(p.frame < 10 || p.frame >= 20).toBe(true);
      expect([p.audioClip, p.audioFrame]).toEqual([p.clip, p.frame]);
      expect(Array.from(batch.mel.subarray(b * per, b * per + 8))).toEqual(Array.from(windows[p.clip]!.data.subarray(p.frame * per, p.frame * per + 8)));
      expect(batch.frames[b * 64 * 64 * 3 + 5000]).toBeCloseTo(set.clips[p.clip]!.frame(p.frame)[5000]! / 255, 6);
    });
    expect(sampleSyncGroups(set.clips, windows, usable, settings, 7, 3).pairs).toEqual(batch.pairs);
    expect(sampleSyncGroups(set.clips, windows, usable, settings, 7, 4).pairs).not.toEqual(batch.pairs);
    const pairs = [
      { clip: 0, frame: 4, audioClip: 0, audioFrame: 4 },
      { clip: 0, frame: 6, audioClip: 0, audioFrame: 6 },
      { clip: 1, frame: 5, audioClip: 1, audioFrame: 5 },
      { clip: 0, frame: 12, audioClip: 0, audioFrame: 12 },
    ];
    // Same clip and 2 frames apart (< 3): masked both ways; another clip or 6+ frames apart: negatives.
    expect(Array.from(nearPairMask(pairs, 3))).toEqual([0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('trains with the paper’s contrastive loss when asked: balanced pairs, its loss and distances logged', async () => {
    const set = proceduralClips({ count: 1, seed: 5, size: 64, emotions: ['neutral', 'happy'], maxFrames: 20 });
    const stage = createSyncNetStage(set, { ...TINY, loss: 'contrastive', batchSize: 8 }, 2);
    const losses = await stage.step(0);
    expect(Object.keys(losses).sort()).toEqual(['sync_contrastive', 'sync_neg_distance', 'sync_pos_distance', 'total']);
    // Unit embeddings: the loss is at most (1/2)(max d^2 + margin^2) = (4 + 1) / 2.
    expect(losses.sync_contrastive!).toBeGreaterThan(0);
    expect(losses.sync_contrastive!).toBeLessThan(2.5);
    stage.params.dispose();
  });

  it('settings saved without the new keys (the shipped model’s) judge as before: same embeddings and confidence', () => {
    const p = new Params('syncnet');
    loadSpeakModelInto(p, resolve('resources/speak-model'), 'syncnet');
    const clip = proceduralClips({ count: 1, seed: 5, size: 64, emotions: ['neutral'], maxFrames: 20 }).clips[0]!;
    const saved = clipSyncConfidence(p, clip, {});
    // The old behaviour spelled out: stride-2 first visual conv; the loss does not enter judging.
    const old = clipSyncConfidence(p, clip, { visualFirstStride: 2, loss: 'contrastive' });
    expect(saved.distances).toEqual(old.distances);
    expect(clipSyncConfidence(p, clip, { visualFirstStride: 1 }).distances).not.toEqual(saved.distances);
    p.dispose();
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
    expect(() => createSyncNetStage(set, { loss: 'triplet' as never })).toThrow(/loss is 'triplet'; use one of 'contrastive', 'infonce'/);
    expect(() => createSyncNetStage(set, { visualFirstStride: 3 })).toThrow(/visualFirstStride is 3; it must be 1 or 2/);
    expect(() => createSyncNetStage(set, { temperature: 0 })).toThrow(/temperature is 0; it must be positive/);
    expect(() => createSyncNetStage(set, { framesPerClip: 0 })).toThrow(/framesPerClip is 0; it must be a whole number >= 1/);
    expect(() => createSyncNetStage(set, {}, 1, { trainFrame: () => false })).toThrow(/every frame of every clip is held out/);
  });

  it('learns sync on real clips: in-sync pairs closer on held-out frames, confidence above another clip’s audio', async () => {
    // 2 people x 2 emotions, 50 frames (2 s) each; frames 30-39 of every clip never train.
    const set = proceduralClips({ count: 2, seed: 5, size: 64, emotions: ['neutral', 'happy'], maxFrames: 50 });
    const heldOut = (i: number) => i >= 30 && i < 40;
    // The default loss (InfoNCE, each batch 32 frames of one clip).
    const stage = createSyncNetStage(set, { ...TINY, batchSize: 32, lr: 1e-3 }, 4, { trainFrame: (_, i) => !heldOut(i) });
    expect(stage.settings.loss).toBe('infonce');
    const losses: number[] = [];
    const started = performance.now();
    for (let i = 0; i < STEPS; i++) losses.push((await stage.step(i)).sync_infonce!);
    const msPerStep = (performance.now() - started) / STEPS;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Starts near ln(31) (chance among a batch's windows), ends well below it.
    expect(mean(losses.slice(0, 3))).toBeGreaterThan(3);
    expect(mean(losses.slice(-20))).toBeLessThan(2.5);

    const embeddings = set.clips.map((c, k) => embedClip(stage.params, c, stage.windows[k]!, stage.settings));
    const distance = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, k) => v - b[k]!));
    const inSync: number[] = [], shifted: number[] = [], otherClip: number[] = [];
    embeddings.forEach((e, c) => {
      const other = embeddings[(c + 2) % embeddings.length]!; // the other person's clip
      for (let t = 30; t < 40; t++) {
        inSync.push(distance(e.visual[t]!, e.audio[t]!));
        shifted.push(distance(e.visual[t]!, e.audio[t - 10]!), distance(e.visual[t]!, e.audio[t + 10]!));
        otherClip.push(distance(e.visual[t]!, other.audio[t]!));
      }
    });
    const confidences = embeddings.map((e) => syncConfidence(e.visual, e.audio));
    const controls = embeddings.map((e, c) => syncConfidence(e.visual, embeddings[(c + 2) % embeddings.length]!.audio));
    console.log(
      `SyncNet test: ${msPerStep.toFixed(0)} ms/step; loss ${losses.filter((_, i) => i % 20 === 0).map((l) => l.toFixed(3)).join(' ')}; ` +
        `held-out frames: in sync ${mean(inSync).toFixed(3)}, shifted 10 ${mean(shifted).toFixed(3)}, other clip ${mean(otherClip).toFixed(3)}; ` +
        `confidence ${confidences.map((c) => `${c.confidence.toFixed(3)}@${c.offset}`).join(' ')} vs other clip's audio ${controls.map((c) => c.confidence.toFixed(3)).join(' ')}`,
    );
    // Held-out frames: the frame's own window is nearer than the same clip's 10 frames away.
    // (Another clip's audio need not be far: one-clip batches never set clips against each other.)
    expect(mean(inSync)).toBeLessThan(mean(shifted));
    expect(confidences.filter((c) => Math.abs(c.offset) <= 1).length).toBeGreaterThanOrEqual(3);
    expect(mean(confidences.map((c) => c.confidence))).toBeGreaterThan(1.5 * mean(controls.map((c) => c.confidence)));
    // The same through clipSyncConfidence (windows from the clip's audio, or another audio as control).
    const first = clipSyncConfidence(stage.params, set.clips[0]!, stage.settings);
    expect(first.confidence).toBeCloseTo(confidences[0]!.confidence, 5);
    expect(clipSyncConfidence(stage.params, set.clips[0]!, stage.settings, set.clips[2]!.audio).confidence).toBeLessThan(first.confidence);
    stage.optimizer.dispose();
    stage.params.dispose();
  }, 120_000);
});
