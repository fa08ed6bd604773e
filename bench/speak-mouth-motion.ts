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
import { melWindows } from '../main/speak/audio/mel';
import { proceduralClips } from '../main/speak/data/procedural-clips';
import { motionPathOf, mouthFollowing, type MouthFollowing } from '../main/speak/eval/mouth-following';
import { audioEncoder } from '../main/speak/model/audio-encoder';
import { createGeneratorStage, type GeneratorStageSettings } from '../main/speak/model/generator-stage';
import { encodeFaces } from '../main/speak/model/irfd';
import { Params } from '../main/speak/model/nn';
import { loadSpeakModel } from '../main/speak/speak-model';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

const show = (name: string, r: MouthFollowing) =>
  console.log(`${name}: r(pred opening, true) ${r.own.toFixed(3)} | control (other clip's speech) ${r.control.toFixed(3)} | r(pred, loudness) ${r.loudness.toFixed(3)} | r(true, loudness) ${r.truthLoudness.toFixed(3)}`);

async function main() {
  await selectBackend(opt('backend', 'wasm') as BackendId);
  const steps = Number(opt('steps', '300'));
  const extra = JSON.parse(opt('settings', '{}')) as Partial<GeneratorStageSettings>;
  const model = loadSpeakModel(opt('model', 'resources/speak-model'));
  const held = proceduralClips({ first: 1000, count: 4, seed: 0, size: model.size, maxFrames: 50 });
  if (!args.includes('--skip-shipped')) show('shipped model', mouthFollowing(model, motionPathOf(model), held));
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
  show(`trained ${steps} steps ${JSON.stringify(extra)}`, mouthFollowing(model, { generator: stage.params.scope('generator'), audio, settings: stage.settings.generator, audioSettings: {} }, held));
}

void main();
