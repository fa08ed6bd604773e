/**
 * Diagnosis of issue 14's mouth (does the speech carry the mouth at all?): trains SPEAK's audio
 * encoder plus a small dense head to predict the ground-truth lip opening of each frame from its
 * mel window alone, on the recipe's procedural people, and reports on held-out people the
 * Pearson r of the predicted opening against the true one, against another clip's speech (the
 * control: the same held-out mouths, audio from a different clip), and the true opening against
 * the speech's loudness (what the corpus itself gives).
 *
 *   node scripts/run-ts.mjs bench/speak-audio-mouth.ts [--ids 24] [--steps 300] [--batch 32] [--backend wasm]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { selectBackend } from '../main/engine/backend/select';
import type { BackendId } from '../shared/ids';
import { frameRms, loudnessFromRms } from '../main/speak/audio/loudness';
import { melWindows, type MelWindows } from '../main/speak/audio/mel';
import { proceduralClips } from '../main/speak/data/procedural-clips';
import type { SpeakClip } from '../main/speak/data/clip';
import { pearson } from '../main/speak/eval/frame-quality';
import { audioEncoder } from '../main/speak/model/audio-encoder';
import { dense, lrelu, Params } from '../main/speak/model/nn';
import { lipOpening } from '../main/speak/model/mouth';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const ids = Number(opt('ids', '24'));
const steps = Number(opt('steps', '300'));
const batch = Number(opt('batch', '32'));
async function main() {
await selectBackend(opt('backend', 'wasm') as BackendId);

const train = proceduralClips({ count: ids, seed: 0, size: 64, maxFrames: 50 }).clips;
const held = proceduralClips({ first: 1000, count: 4, seed: 0, size: 64, maxFrames: 50 }).clips;
const mels = new Map<SpeakClip, MelWindows>();
const melOf = (c: SpeakClip) => mels.get(c) ?? mels.set(c, melWindows(c.audio, c.frameCount, { fps: c.fps })).get(c)!;
const openingOf = (c: SpeakClip, i: number) => lipOpening(c.landmarks![i]!);

const p = new Params('probe', 1);
const predict = (mel: tf.Tensor3D) => tf.squeeze(dense(p, 'o', lrelu(dense(p, 'h', audioEncoder(p.scope('audio'), mel), 64)) as tf.Tensor2D, 1), [1]);
const opt_ = tf.train.adam(1e-3);
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const started = Date.now();
{
  const w0 = melOf(train[0]!);
  tf.tidy(() => predict(tf.zeros([1, w0.steps, w0.mels])));
}
for (let s = 0; s < steps; s++) {
  const first = melOf(train[0]!);
  const win = first.steps * first.mels;
  const mel = new Float32Array(batch * win);
  const y = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    const c = train[Math.floor(rand() * train.length)]!;
    const f = Math.floor(rand() * c.frameCount);
    mel.set(melOf(c).data.subarray(f * win, (f + 1) * win), b * win);
    y[b] = openingOf(c, f);
  }
  const loss = opt_.minimize(() => tf.mean(tf.square(tf.sub(predict(tf.tensor3d(mel, [batch, first.steps, first.mels])), tf.tensor1d(y)))) as tf.Scalar, true)!;
  if (s % 50 === 0 || s === steps - 1) console.log(`step ${s} loss ${(await loss.data())[0]!.toFixed(5)} ${((Date.now() - started) / 1000).toFixed(0)} s`);
  loss.dispose();
}
const rows: number[][] = [];
for (let k = 0; k < held.length; k++) {
  const c = held[k]!;
  const other = held[(k + 5) % held.length]!;
  const n = Math.min(c.frameCount, other.frameCount);
  const m = melOf(c);
  const mo = melOf(other);
  const predOf = (w: MelWindows) => tf.tidy(() => predict(tf.tensor3d(w.data.subarray(0, n * w.steps * w.mels), [n, w.steps, w.mels]))).dataSync();
  const truth = Array.from({ length: n }, (_, i) => openingOf(c, i));
  const own = Array.from(predOf(m));
  const ctl = Array.from(predOf(mo));
  const loud = Array.from(frameRms(c.audio), loudnessFromRms).slice(0, n);
  rows.push([pearson(own, truth), pearson(ctl, truth), pearson(own, loud), pearson(truth, loud)]);
}
const meanOf = (j: number) => rows.map((r) => r[j]!).filter(Number.isFinite).reduce((a, b, _, xs) => a + b / xs.length, 0);
console.log(`held-out clips ${rows.length}: r(pred, truth) ${meanOf(0).toFixed(3)}  control r(other audio pred, truth) ${meanOf(1).toFixed(3)}  r(pred, loudness) ${meanOf(2).toFixed(3)}  r(truth opening, loudness) ${meanOf(3).toFixed(3)}`);
}

void main();
