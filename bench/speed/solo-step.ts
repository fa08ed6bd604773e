/**
 * One copy of the engine's 1-thread training step (ResNet end-to-end on MNIST digits, wasm), run
 * as its own process so the data-parallel bench can start several at once and read the machine's
 * own ceiling: what N cores give N runs that share nothing (./data-parallel.ts).
 *
 *   node scripts/run-ts.mjs bench/speed/solo-step.ts --depth 8 --steps 30 --batch 64 --epochs 3
 * prints one JSON line: { imagesPerSecond: [per timed epoch] }.
 */
import { selectBackend } from '../../main/engine/backend/select';
import { digitBatches, trainerFor } from './data-parallel';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const [depth, steps, batch, epochs] = [arg('--depth', 8), arg('--steps', 30), arg('--batch', 64), arg('--epochs', 3)];
  await selectBackend('wasm');
  const batches = await digitBatches(steps, batch);
  const runner = await trainerFor(depth, 1);
  await runner.epoch(batches.slice(0, 2));
  const imagesPerSecond: number[] = [];
  for (let e = 0; e < epochs; e++) imagesPerSecond.push((steps * batch) / (await runner.epoch(batches)));
  await runner.close();
  console.log(JSON.stringify({ imagesPerSecond }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
