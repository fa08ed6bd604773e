/**
 * Trains the SPEAK evaluation instruments properly (emotion classifier, pose regressor, landmark
 * regressor: main/speak/eval/corpus-classifiers.ts) on procedural corpus frames, reports their
 * accuracy on held-out identities, and saves them.
 *
 *   node scripts/run-ts.mjs bench/speak-eval-instruments.ts [--ids 80] [--held-out 10] [--steps 3000]
 *     [--frames 4] [--width 16] [--size 64] [--kinds emotion,pose,landmarks] [--stem 0]
 *     [--backend wasm] [--out <dir>]
 *
 * Training identities are the seed's first `ids` people; the held-out ones the next `held-out`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selectBackend } from '../main/engine/backend/select';
import type { BackendId } from '../shared/ids';
import { EMOTIONS } from '../main/speak/corpus/emotions';
import { proceduralClips } from '../main/speak/data/procedural-clips';
import {
  createInstrument,
  emotionAccuracy,
  emotionConfusion,
  poseError,
  predictLandmarks,
  saveInstrument,
  trainInstrument,
  type InstrumentKind,
} from '../main/speak/eval/corpus-classifiers';
import { frameSetFromClips } from '../main/speak/eval/frame-set';
import { atPaperScale, sequenceLmd } from '../main/speak/eval/landmark-distance';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  // Held-out emotion accuracy grows with the people seen (0.35 at 24, 0.47 at 32, 0.64 at 80, 0.67 at 160
  // identities, the last with 5000 steps; 2026-12-02), so the default trains on many people, few frames each.
  const ids = Number(option('ids', '80'));
  const heldOut = Number(option('held-out', '10'));
  const steps = Number(option('steps', '3000'));
  const frames = Number(option('frames', '4'));
  const width = Number(option('width', '16'));
  const size = Number(option('size', '64'));
  const seed = Number(option('seed', '11'));
  const kinds = option('kinds', 'emotion,pose,landmarks').split(',') as InstrumentKind[];
  const stem = option('stem', '0') === '1';
  for (const [name, value] of Object.entries({ ids, 'held-out': heldOut, steps, frames, width, size })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer (got ${value})`);
  }
  const out = option('out', path.join(os.tmpdir(), 'speak-eval-instruments'));
  const backend = await selectBackend(option('backend', 'wasm') as BackendId);
  console.log(`backend ${backend.id}; ${ids} training identities, ${heldOut} held out, 8 emotions at intensity 1, ${size} px, ${frames} frames per clip, ${steps} steps, width ${width}, stem ${stem}`);

  let t = Date.now();
  const train = frameSetFromClips(proceduralClips({ count: ids, seed, size, maxFrames: 50 }), frames);
  const test = frameSetFromClips(proceduralClips({ first: ids, count: heldOut, seed, size, maxFrames: 50 }), frames);
  console.log(`frames: ${train.count} training, ${test.count} held-out (${((Date.now() - t) / 1000).toFixed(1)} s to render)`);
  fs.mkdirSync(out, { recursive: true });

  for (const kind of kinds) {
    t = Date.now();
    const inst = createInstrument(kind, { width, seed, stem });
    await trainInstrument(inst, train, steps, (p) => {
      if (p.step % 100 === 0 || p.step === p.steps) console.log(`  ${kind} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} (${(p.elapsedMs / 1000).toFixed(0)} s)`);
    });
    const seconds = (Date.now() - t) / 1000;
    const saved = await saveInstrument(inst, path.join(out, kind));
    if (kind === 'emotion') {
      console.log(`emotion: held-out accuracy ${(await emotionAccuracy(inst, test)).toFixed(3)} (training frames ${(await emotionAccuracy(inst, train)).toFixed(3)}; chance 0.125)`);
      const confusion = await emotionConfusion(inst, test);
      console.log(`  held-out confusion (rows: true, columns: predicted; ${EMOTIONS.join(', ')}):`);
      confusion.forEach((row, i) => console.log(`  ${EMOTIONS[i]!.padEnd(10)} ${row.map((n) => String(n).padStart(4)).join('')}`));
    } else if (kind === 'pose') {
      const e = await poseError(inst, test);
      console.log(`pose: held-out mean absolute error yaw ${e.yaw.toFixed(2)}, pitch ${e.pitch.toFixed(2)}, roll ${e.roll.toFixed(2)} degrees`);
    } else {
      const predicted = await predictLandmarks(inst, test.pixels, test.size);
      const truth = Array.from({ length: test.count }, (_, i) => test.landmarks.subarray(i * 136, (i + 1) * 136));
      const lmd = sequenceLmd(predicted, truth);
      console.log(`landmarks: held-out F-LMD ${lmd.fLmd.toFixed(2)} px, M-LMD ${lmd.mLmd.toFixed(2)} px at ${size} px (${atPaperScale(lmd.fLmd, size).toFixed(2)} / ${atPaperScale(lmd.mLmd, size).toFixed(2)} at 256 px)`);
    }
    console.log(`  ${kind}: ${seconds.toFixed(0)} s training, ${(saved.bytes / 1024).toFixed(0)} KiB -> ${saved.manifest}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
