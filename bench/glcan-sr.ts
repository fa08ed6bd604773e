/**
 * Super-resolution benchmark (issue 16), not a test: for each scale, an EDSR trained end-to-end,
 * with simple per-block local heads and with GLCAN's auxiliary nets (this studio's reading,
 * main/engine/tasks/super-resolution/glcan-sr.ts), side by side in one run:
 *   - peak memory of one training step (tf.profile peak of live tensor bytes, weights and Adam
 *     state included: main/engine/memory/probe.ts, the probe every method's figure uses), as a
 *     ratio to end-to-end's;
 *   - PSNR / SSIM on Y with the scale's border cropped, on held-out crops of a photograph no
 *     method trains on, and the PSNR gap to end-to-end in dB, beside the renamed GLCAN paper's
 *     reported gaps (FBA Table 5 via methods.md 3.1: -0.73 / -1.71 / -1.21 dB at x2 / x3 / x4;
 *     EDSR on DIV2K, 300 epochs: not comparable in scale, only in direction and rough size).
 *
 * Photographs: scikit-image's data folder when Python's skimage is installed (apt python3-skimage),
 * otherwise the face-api demo JPEGs in node_modules (six 1920 px photos); never shipped by the app.
 * LR images: MATLAB-style bicubic downscaling of each whole photo (main/engine/tasks/super-resolution/sr-data.ts).
 *
 *   node scripts/run-ts.mjs bench/glcan-sr.ts -- [--scales 2,3,4] [--features 32] [--blocks 8] [--k 4]
 *        [--steps 300] [--batch 8] [--patch 24] [--lr 5e-4] [--eval-crop 96] [--backend wasm] [--seed 1]
 */
import '@tensorflow/tfjs-layers';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../main/data/image-codec';
import { selectBackend } from '../main/engine/backend/select';
import { measurePeak, MEMORY_METHOD } from '../main/engine/memory/probe';
import { createEdsr, type EdsrConfig, evenSrCuts, type SrScale } from '../main/engine/tasks/super-resolution/edsr';
import { cropImage, makeSrPair, patchSampler, readPhotos, type SrPair } from '../main/engine/tasks/super-resolution/sr-data';
import { createSrOptimizer, scoreSr, evaluateSr, type SrMethod, SrTrainer } from '../main/engine/tasks/super-resolution/sr-trainer';
import type { BackendId } from '../shared/ids';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));
const PAPER_GAP: Record<SrScale, number> = { 2: -0.73, 3: -1.71, 4: -1.21 };
const METHODS: SrMethod[] = ['e2e', 'local', 'glcan'];
const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** The photographs: skimage's data folder if Python has skimage, else the face-api demo JPEGs. */
function findPhotos(): { source: string; files: string[] } {
  try {
    const dir = execFileSync('python3', ['-c', 'import os, skimage; print(os.path.join(os.path.dirname(skimage.__file__), "data"))'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // The colour photographs of skimage.data (the rest are grey, tiny or synthetic).
    const names = ['astronaut.png', 'coffee.png', 'chelsea.png', 'rocket.jpg', 'motorcycle_left.png', 'hubble_deep_field.jpg', 'immunohistochemistry.png'];
    const files = names.map((n) => path.join(dir, n)).filter((f) => fs.existsSync(f));
    if (files.length >= 3) return { source: `scikit-image data (${dir})`, files };
  } catch {
    // No Python skimage: fall back.
  }
  const dir = path.resolve('node_modules/@vladmandic/face-api/demo');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(dir, f));
  if (files.length < 2) throw new Error('No photographs found: install python3-skimage (apt) or keep @vladmandic/face-api in node_modules');
  return { source: `face-api demo JPEGs (${dir})`, files };
}

/** Bilinear upscaling of the LR image, scored the same way: the floor any trained net should clear. */
function bilinearBaseline(pairs: readonly SrPair[], scale: number): number {
  const scores = pairs.map(({ lr, hr }) => {
    const up = tf.tidy(() => {
      const x = tf.div(tf.tensor4d(lr.data, [1, lr.height, lr.width, 3], 'int32'), 255) as tf.Tensor4D;
      return tf.round(tf.mul(tf.clipByValue(tf.image.resizeBilinear(x, [lr.height * scale, lr.width * scale], false, true), 0, 1), 255));
    });
    const sr: RgbImage = { width: hr.width, height: hr.height, data: Uint8Array.from(up.dataSync()) };
    up.dispose();
    return scoreSr(sr, hr, scale).psnr;
  });
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}

async function main() {
  const backend = await selectBackend(arg('--backend', 'wasm') as BackendId);
  const scales = arg('--scales', '2').split(',').map(Number) as SrScale[];
  const features = num('--features', 32);
  const blocks = num('--blocks', 8);
  const k = num('--k', 4);
  const steps = num('--steps', 300);
  const batch = num('--batch', 8);
  const patch = num('--patch', 24);
  const learningRate = num('--lr', 5e-4);
  const evalCrop = num('--eval-crop', 96);
  const seed = num('--seed', 1);
  const cuts = evenSrCuts(blocks, k);
  const { source, files } = findPhotos();
  const photos = readPhotos(files);
  // The last photo is held out for evaluation; the others are the training set.
  const train = photos.slice(0, -1);
  const test = photos.at(-1)!;
  console.log(`GLCAN super-resolution benchmark: EDSR F=${features} R=${blocks}, K=${k} (cuts after blocks ${cuts.join(', ')}), ${steps} Adam steps lr ${learningRate}, batch ${batch}, LR patch ${patch}, backend ${backend.id}`);
  console.log(`photos: ${source}: ${train.length} for training, 1 held out (${path.basename(files.at(-1)!)}, ${test.width}x${test.height}); memory: ${MEMORY_METHOD} of one training step`);

  const rows: string[] = [];
  for (const scale of scales) {
    const started = Date.now();
    const trainPairs = train.map((p) => makeSrPair(p, scale));
    // Four evalCrop x evalCrop LR crops (HR x scale) from the held-out photo, downscaled whole like the training set.
    const testPair = makeSrPair(test, scale);
    const side = evalCrop;
    const spots = [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.5, 0.5]].map(([fx, fy]) => [Math.floor((testPair.lr.width - side) * fx!), Math.floor((testPair.lr.height - side) * fy!)] as const);
    const evalPairs = spots.map(([x, y]) => ({ lr: cropImage(testPair.lr, x, y, side, side), hr: cropImage(testPair.hr, x * scale, y * scale, side * scale, side * scale) }));
    const baseline = bilinearBaseline(evalPairs, scale);
    const config: EdsrConfig = { scale, features, blocks, resScale: 1 };
    const results: Record<string, { peak: number; psnr: number; ssim: number; seconds: number }> = {};
    for (const method of METHODS) {
      const t0 = Date.now();
      const model = createEdsr(config, seed);
      const trainer = new SrTrainer({ model, method, cuts, seed });
      const optimizer = createSrOptimizer(learningRate);
      const next = patchSampler(trainPairs, { batch, lrPatch: patch, scale }, seed * 7919 + scale);
      let peak = 0;
      for (let s = 0; s < steps; s++) {
        const { lr, hr } = next();
        // Step 2's peak: Adam's moments exist from step 1 on, as in every later step.
        if (s === 1) peak = (await measurePeak(() => tf.dispose(trainer.step(lr, hr, optimizer)))).peakBytes;
        else tf.dispose(trainer.step(lr, hr, optimizer));
        tf.dispose([lr, hr]);
      }
      const scores = evaluateSr(model, evalPairs);
      results[method] = { peak, psnr: scores.psnr, ssim: scores.ssim, seconds: (Date.now() - t0) / 1000 };
      console.log(`  x${scale} ${method}: peak ${MiB(peak)} MiB, PSNR ${scores.psnr.toFixed(2)} dB, SSIM ${scores.ssim.toFixed(4)} (${results[method]!.seconds.toFixed(0)} s)`);
      optimizer.dispose();
      trainer.dispose();
      model.dispose();
    }
    const e2e = results.e2e!;
    for (const method of METHODS) {
      const r = results[method]!;
      const gap = method === 'e2e' ? '0' : (r.psnr - e2e.psnr).toFixed(2);
      const paper = method === 'glcan' ? PAPER_GAP[scale].toFixed(2) : '';
      rows.push(`| x${scale} | ${method} | ${MiB(r.peak)} | ${(r.peak / e2e.peak).toFixed(2)} | ${r.psnr.toFixed(2)} | ${gap} | ${r.ssim.toFixed(4)} | ${paper} |`);
    }
    rows.push(`| x${scale} | bilinear (no net) | | | ${baseline.toFixed(2)} | ${(baseline - e2e.psnr).toFixed(2)} | | |`);
    console.log(`  x${scale} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  console.log('\n| scale | method | peak MiB | memory / E2E | PSNR-Y dB | gap to E2E dB | SSIM-Y | paper gap dB (FBA Table 5) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
