/**
 * Object-detection benchmark (issue 16), not a test: the FCOS-style detector
 * (main/engine/tasks/detection/detector.ts) trained end-to-end, with DGL-style local heads and with
 * GLCAN's auxiliary nets (this studio's reading, main/engine/tasks/detection/glcan-det.ts), side by
 * side in one run on the built-in MNIST-on-canvas set:
 *   - peak memory of one training step (tf.profile peak of live tensor bytes, weights and Adam
 *     state included: main/engine/memory/probe.ts, the probe every method's figure uses), as a
 *     ratio to end-to-end's;
 *     The update (TF.js's Adam holds every variable's temporaries until all are updated) is
 *     reported apart from the module passes; and the same is measured at detection scale
 *     (--probe-size px canvases, --probe-batch images, a fresh net, 2 steps), where activations
 *     outweigh the weights as on COCO images, unlike on 64 px canvases;
 *   - mAP@0.5 and COCO mAP@[.5:.95] on the held-out canvases (digits MNIST's test split holds),
 *     and the gap to end-to-end in points.
 *
 *   node scripts/run-ts.mjs bench/glcan-detection.ts -- [--size 64] [--train 2000] [--test 200]
 *        [--widths 16,32,64,128] [--blocks 3,4,6,3 | 2] [--fpn 32] [--towers 2] [--k 4 | --cuts 0,2,5] [--steps 600]
 *        [--batch 16] [--lr 1e-3] [--backend wasm] [--seed 1] [--methods e2e,local,glcan]
 *        [--probe-size 256] [--probe-batch 16] (--probe-size 0: no probe)
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../main/engine/backend/select';
import { measurePeak, MEMORY_METHOD } from '../main/engine/memory/probe';
import { buildMnistDetectionSet, detectionBatches } from '../main/engine/tasks/detection/det-data';
import { createDetOptimizer, type DetMethod, DetTrainer, evaluateDetection, evenDetCuts } from '../main/engine/tasks/detection/det-trainer';
import { createDetector, type DetectorConfig } from '../main/engine/tasks/detection/detector';
import type { LabelledBox } from '../main/engine/tasks/detection/boxes';
import type { BackendId } from '../shared/ids';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));
const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const points = (v: number) => (100 * v).toFixed(1);

async function main() {
  const backend = await selectBackend(arg('--backend', 'wasm') as BackendId);
  const size = num('--size', 64);
  const steps = num('--steps', 600);
  const batch = num('--batch', 16);
  const learningRate = num('--lr', 1e-3);
  const seed = num('--seed', 1);
  const k = num('--k', 4);
  const methods = arg('--methods', 'e2e,local,glcan').split(',') as DetMethod[];
  const data = await buildMnistDetectionSet({ size, train: num('--train', 2000), test: num('--test', 200), seed });
  const config: DetectorConfig = {
    channels: data.channels,
    classes: data.classes.length,
    widths: arg('--widths', '16,32,64,128').split(',').map(Number) as DetectorConfig['widths'],
    blocksPerStage: (() => {
      const counts = arg('--blocks', '3,4,6,3').split(',').map(Number);
      return counts.length === 1 ? counts[0]! : (counts as DetectorConfig['blocksPerStage']);
    })(),
    fpn: num('--fpn', 32),
    towerConvs: num('--towers', 2),
    rangeScale: 2,
  };
  const probe = createDetector(config, seed);
  const cuts = process.argv.includes('--cuts') ? arg('--cuts', '').split(',').map(Number) : evenDetCuts(probe, k);
  probe.dispose();
  const boxes = data.test.reduce((s, x) => s + x.boxes.length, 0);
  console.log(`GLCAN detection benchmark: FCOS-style, ResNet stages ${config.widths.join('/')} x ${JSON.stringify(config.blocksPerStage)} blocks, FPN ${config.fpn}, towers ${config.towerConvs}; K=${cuts.length + 1} (cuts after blocks ${cuts.join(', ')}); ${steps} Adam steps lr ${learningRate}, batch ${batch}; backend ${backend.id}`);
  console.log(`data: ${data.name}: ${data.train.length} train / ${data.test.length} test canvases (${boxes} test boxes); memory: ${MEMORY_METHOD} of one training step`);

  const probeSize = num('--probe-size', 256);
  const probeBatch = num('--probe-batch', 16);
  const probeData = probeSize > 0 ? await buildMnistDetectionSet({ size: probeSize, train: probeBatch, test: 1, digitSize: [Math.round((14 * probeSize) / 64), Math.round((36 * probeSize) / 64)], seed }) : null;

  interface Memory {
    peak: number;
    /** Highest module phase: the forward/backward passes. */
    passes: number;
    /** The optimiser update phase. */
    update: number;
  }
  /** Peak of step 2 (Adam's moments exist from step 1 on, as in every later step), whole and split into passes / update. */
  const measureStep = async (trainer: DetTrainer, optimizer: tf.Optimizer, next: () => { images: tf.Tensor4D; boxes: LabelledBox[][] }): Promise<Memory> => {
    const first = next();
    tf.dispose(trainer.step(first.images, first.boxes, optimizer));
    first.images.dispose();
    const { images, boxes: truth } = next();
    const peak = await measurePeak((onPhase) => tf.dispose(trainer.step(images, truth, optimizer, onPhase)));
    images.dispose();
    const phases = peak.phasePeakBytes;
    return { peak: peak.peakBytes, passes: Math.max(...phases.slice(0, -1)), update: phases.at(-1)! };
  };

  const results: Record<string, { params: number; memory: Memory; probe: Memory | null; map50: number; map: number; seconds: number }> = {};
  for (const method of methods) {
    const t0 = Date.now();
    // Memory at detection scale first, on a fresh net (weights do not change a step's memory).
    let probe: Memory | null = null;
    if (probeData) {
      const model = createDetector(config, seed);
      const trainer = new DetTrainer({ model, method, cuts, seed });
      const optimizer = createDetOptimizer(learningRate);
      probe = await measureStep(trainer, optimizer, detectionBatches(probeData.train, probeBatch, seed));
      optimizer.dispose();
      trainer.dispose();
      model.dispose();
    }
    const model = createDetector(config, seed);
    const trainer = new DetTrainer({ model, method, cuts, seed });
    const params = trainer.trainableVariables().reduce((s, v) => s + v.size, 0);
    const optimizer = createDetOptimizer(learningRate);
    const next = detectionBatches(data.train, batch, seed * 7919);
    const memory = await measureStep(trainer, optimizer, next);
    let recent: number[] = [];
    for (let s = 2; s < steps; s++) {
      const { images, boxes: truth } = next();
      const losses = trainer.step(images, truth, optimizer);
      recent.push(losses.at(-1)!.dataSync()[0]!);
      tf.dispose([...losses, images]);
      if ((s + 1) % 100 === 0) {
        console.log(`  ${method} step ${s + 1}: real head loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        recent = [];
      }
    }
    const scores = evaluateDetection(model, data.test);
    results[method] = { params, memory, probe, map50: scores.map50, map: scores.map, seconds: (Date.now() - t0) / 1000 };
    const show = (m: Memory) => `peak ${MiB(m.peak)} MiB (passes ${MiB(m.passes)}, update ${MiB(m.update)})`;
    console.log(`  ${method}: ${(params / 1e3).toFixed(0)}k parameters; at ${size} px x ${batch}: ${show(memory)}${probe ? `; at ${probeSize} px x ${probeBatch}: ${show(probe)}` : ''}; mAP@0.5 ${points(scores.map50)}, mAP@[.5:.95] ${points(scores.map)} (${results[method]!.seconds.toFixed(0)} s)`);
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
  const e2e = results.e2e;
  const ratio = (v: number, base: number | undefined) => (base ? (v / base).toFixed(2) : '');
  console.log(`\n| method | params (with aux nets) | memory / E2E at ${size} px x ${batch} (passes / update) | memory / E2E at ${probeSize} px x ${probeBatch} (passes / update) | mAP@0.5 | gap pts | mAP@[.5:.95] | gap pts | train s |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const method of methods) {
    const r = results[method]!;
    const gap = (key: 'map50' | 'map') => (e2e ? (method === 'e2e' ? '0' : (100 * (r[key] - e2e[key])).toFixed(1)) : '');
    const mem = (m: Memory | null, base: Memory | null | undefined) => (m ? `${ratio(m.peak, base?.peak)} (${ratio(m.passes, base?.passes)} / ${ratio(m.update, base?.update)})` : '');
    console.log(`| ${method} | ${(r.params / 1e3).toFixed(0)}k | ${mem(r.memory, e2e?.memory)} | ${mem(r.probe, e2e?.probe)} | ${points(r.map50)} | ${gap('map50')} | ${points(r.map)} | ${gap('map')} | ${r.seconds.toFixed(0)} |`);
  }
  if (e2e) console.log(`E2E absolute: ${MiB(e2e.memory.peak)} MiB at ${size} px x ${batch}${e2e.probe ? `, ${MiB(e2e.probe.peak)} MiB at ${probeSize} px x ${probeBatch}` : ''}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
