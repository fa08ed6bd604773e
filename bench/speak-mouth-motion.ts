/**
 * Issue 14: does the speech drive the generator's mouth? Measures, on held-out procedural people
 * (the evaluation's: people 1000-1003 of seed 0), the lip opening of the motion head's predicted
 * driving landmarks against the ground truth's, against the speech's loudness, and with another
 * clip's speech (the control), for
 *   - the shipped model (resources/speak-model), and
 *   - a generator stage trained here for --steps steps on the recipe's 24 people with the shipped
 *     model's IRFD frozen, with the recipe's settings plus --settings JSON (e.g. the mouth fix:
 *     '{"keypointBatch":32,"weights":{"mouth":100},"generator":{"motion":{"audioMouth":true}}}').
 * The source is each held-out person's neutral clip, frame 0; emotion and pose codes from the
 * target frames (IRFD), as in training.
 *
 *   node scripts/run-ts.mjs bench/speak-mouth-motion.ts [--steps 300] [--settings JSON] [--backend wasm]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { selectBackend } from '../main/engine/backend/select';
import type { BackendId } from '../shared/ids';
import { frameRms, loudnessFromRms } from '../main/speak/audio/loudness';
import { melWindows } from '../main/speak/audio/mel';
import type { ClipSet, SpeakClip } from '../main/speak/data/clip';
import { proceduralClips } from '../main/speak/data/procedural-clips';
import { pearson } from '../main/speak/eval/frame-quality';
import { audioEncoder } from '../main/speak/model/audio-encoder';
import { drivingLandmarks, type GeneratorSettings } from '../main/speak/model/generator';
import { createGeneratorStage, type GeneratorStageSettings } from '../main/speak/model/generator-stage';
import { encodeFaces } from '../main/speak/model/irfd';
import { lipOpening } from '../main/speak/model/mouth';
import { Params } from '../main/speak/model/nn';
import { loadSpeakModel, type SpeakModel } from '../main/speak/speak-model';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

interface MotionPath {
  generator: Params;
  audio: Params;
  settings: GeneratorSettings;
  audioSettings: object;
}

/** Mean over held-out clips of r(predicted opening, true), r(control prediction, true), r(predicted, loudness), r(true, loudness). */
function measure(model: SpeakModel, path: MotionPath, held: ClipSet): number[] {
  const rows: number[][] = [];
  const neutralOf = (identity: string) => held.clips.find((c) => c.identity === identity && c.emotion === 'neutral')!;
  held.clips.forEach((clip, k) => {
    const other = held.clips[(k + 9) % held.clips.length]!;
    const n = Math.min(clip.frameCount, other.frameCount);
    const source = neutralOf(clip.identity);
    const predictWith = (speech: SpeakClip) =>
      tf.tidy(() => {
        const images = new Float32Array(n * clip.size * clip.size * 3);
        for (let i = 0; i < n; i++) clip.frame(i).forEach((v, j) => (images[i * clip.size * clip.size * 3 + j] = v / 255));
        const target = encodeFaces(model.irfd, tf.tensor4d(images, [n, clip.size, clip.size, 3]), model.arch);
        const src = encodeFaces(model.irfd, tf.tensor4d(Float32Array.from(source.frame(0), (v) => v / 255), [1, clip.size, clip.size, 3]), model.arch);
        const w = melWindows(speech.audio, speech.frameCount, { fps: speech.fps });
        const mel = tf.tensor3d(w.data.subarray(0, n * w.steps * w.mels), [n, w.steps, w.mels]);
        const { landmarks } = drivingLandmarks(
          path.generator,
          {
            sourceLandmarks: tf.tile(tf.tensor2d(source.landmarks![0]!, [1, 136]), [n, 1]),
            identity: tf.tile(src.identity, [n, 1]),
            emotion: target.emotion,
            pose: target.pose,
            audio: audioEncoder(path.audio, mel, path.audioSettings),
            noiseSeed: null,
          },
          clip.size,
          path.settings,
        );
        const px = tf.mul(tf.add(landmarks, 1), clip.size / 2).arraySync() as number[][];
        return px.map(lipOpening);
      });
    const truth = Array.from({ length: n }, (_, i) => lipOpening(clip.landmarks![i]!));
    const own = predictWith(clip);
    const control = predictWith(other);
    const loud = Array.from(frameRms(clip.audio), loudnessFromRms).slice(0, n);
    rows.push([pearson(own, truth), pearson(control, truth), pearson(own, loud), pearson(truth, loud)]);
  });
  return [0, 1, 2, 3].map((j) => {
    const xs = rows.map((r) => r[j]!).filter(Number.isFinite);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  });
}

const show = (name: string, r: number[]) =>
  console.log(`${name}: r(pred opening, true) ${r[0]!.toFixed(3)} | control (other clip's speech) ${r[1]!.toFixed(3)} | r(pred, loudness) ${r[2]!.toFixed(3)} | r(true, loudness) ${r[3]!.toFixed(3)}`);

async function main() {
  await selectBackend(opt('backend', 'wasm') as BackendId);
  const steps = Number(opt('steps', '300'));
  const extra = JSON.parse(opt('settings', '{}')) as Partial<GeneratorStageSettings>;
  const model = loadSpeakModel(opt('model', 'resources/speak-model'));
  const held = proceduralClips({ first: 1000, count: 4, seed: 0, size: model.size, maxFrames: 50 });
  if (!args.includes('--skip-shipped')) show('shipped model', measure(model, { generator: model.generator.scope('generator'), audio: model.generator.scope('audio'), settings: model.generatorSettings, audioSettings: model.audioSettings }, held));
  if (steps === 0) return;
  const t0 = Date.now();
  const train = proceduralClips({ count: 24, seed: 0, size: model.size, maxFrames: 50 });
  console.log(`clips ${train.clips.length} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const audio = new Params('audio', 11);
  const w0 = melWindows(train.clips[0]!.audio, train.clips[0]!.frameCount);
  tf.tidy(() => audioEncoder(audio, tf.zeros([1, w0.steps, w0.mels])));
  const stage = createGeneratorStage(
    train,
    { size: model.size, batchSize: 4, learningRate: 1e-3, discriminatorLearningRate: 1e-3, ...extra },
    { encodeFaces: (images) => encodeFaces(model.irfd, images, model.arch), encodeAudio: (mel) => audioEncoder(audio, mel), audioVariables: () => audio.trainable() },
    11,
  );
  const started = Date.now();
  for (let s = 0; s < steps; s++) {
    const losses = await stage.step(s);
    if (s % 50 === 0 || s < 3 || s === steps - 1) console.log(`step ${s} ${((Date.now() - started) / 1000).toFixed(0)} s ${Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ')}`);
  }
  show(`trained ${steps} steps ${JSON.stringify(extra)}`, measure(model, { generator: stage.params.scope('generator'), audio, settings: stage.settings.generator, audioSettings: {} }, held));
}

void main();
