/**
 * Speed benchmarks of the engine, each section its own exported function under bench/speed/.
 *
 *   npm run bench:speed -- [--profile [--by-shape Conv2D,Transpose]] [--no-torch] [--budget-ms 4000] [--python /usr/bin/python3]
 *
 * (1) wasm vs PyTorch: one ResNet-8 training step at batch 64 on 28x28x1 and 32x32x3, wasm
 *     (single thread) against PyTorch at 1 and 2 threads; --profile adds the wasm step's time
 *     per kernel.
 * (2) wall-clock per epoch of end-to-end, sequential local and module-parallel local training
 *     (2 stage workers), InfoPro and DGL at K = 4, as ratios. --only-torch / --only-parallel.
 * (3) data-parallel scaling: ResNet-8 and ResNet-20 img/s on 1 thread and on 2 data-parallel
 *     workers, next to PyTorch CPU at 1 and 2 threads. --only-data-parallel, --dp-steps N
 *     [30], --dp-rounds N [2], --dp-depths 8,20.
 * (4) the wasm kernels old vs new, interleaved (bench/speed/kernels.ts): the conv filter
 *     gradient's GFLOP/s (XNNPACK form vs SIMD GEMM vs the forward conv), a ResNet-8 step
 *     with the SIMD GEMMs off and on, the DGL head's time per image (former vs current) beside
 *     the ResNet-8 step's. --only-kernels, --kernel-rounds N [5]; --no-kernels skips it.
 * (5) whole runs on the protocol (MNIST 8k, 3 epochs, batch 128, ResNet-8 K = 4):
 *     end-to-end, InfoPro and DGL through `blockwise train` on 1 and 2 data-parallel workers,
 *     next to the PyTorch wall times the issue quotes. --only-protocol; --no-protocol skips it;
 *     --protocol-builds plain,relaxed runs each with both builds of the SIMD kernels;
 *     --protocol-methods dgl,e2e a subset.
 * The load average is printed first: figures taken with the cores busy (load above their
 * count) say little about scaling.
 */
import { availableParallelism, loadavg } from 'node:os';
import { dataParallelScaling, formatScalingRows } from './speed/data-parallel';
import { formatKernelSpeed, kernelSpeed } from './speed/kernels';
import { formatMethodRuns, methodRuns } from './speed/method-runs';
import { formatModuleParallelRows, moduleParallelWallClock } from './speed/module-parallel';
import { formatProfile, formatRows, wasmVsTorch } from './speed/wasm-vs-torch';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

async function wasmVsTorchSection(): Promise<void> {
  const budget = arg('--budget-ms');
  const rows = await wasmVsTorch({
    budgetMs: budget ? Number(budget) : undefined,
    python: arg('--python'),
    profile: process.argv.includes('--profile'),
    torch: !process.argv.includes('--no-torch'),
    profileByShape: arg('--by-shape')?.split(','),
    log: (line) => console.log(`[wasm-vs-torch] ${line}`),
  });
  console.log('\n(1) ResNet training step, wasm (1 thread) vs PyTorch CPU');
  console.log(formatRows(rows));
  for (const r of rows) {
    if (r.profile) console.log(`\nwasm step profile, ${r.input}, batch ${r.batch}:\n${formatProfile(r.profile, arg('--top') ? Number(arg('--top')) : undefined)}`);
  }
}

async function moduleParallelSection(): Promise<void> {
  const rows = await moduleParallelWallClock({
    nets: ['mnist-resnet8', ...(process.argv.includes('--with-resnet20') ? ['cifar-resnet20' as const] : [])],
    rounds: Number(arg('--rounds') ?? 2),
    log: (line) => console.log(`[module-parallel] ${line}`),
  });
  console.log('\n(2) Wall-clock per epoch: end-to-end, sequential local, module-parallel local (wasm, 2 cores)');
  console.log(formatModuleParallelRows(rows));
}

async function dataParallelSection(): Promise<void> {
  const steps = arg('--dp-steps');
  const rounds = arg('--dp-rounds');
  const rows = await dataParallelScaling({
    depths: (arg('--dp-depths') ?? '8,20').split(',').map(Number),
    ...(steps ? { steps: Number(steps) } : {}),
    ...(rounds ? { rounds: Number(rounds) } : {}),
    python: arg('--python'),
    torch: !process.argv.includes('--no-torch'),
    log: (line) => console.log(`[data-parallel] ${line}`),
  });
  console.log('\n(3) Data-parallel scaling, end-to-end on MNIST 28x28x1, batch 64, wasm: 1 thread vs 2 workers, PyTorch CPU at the same threads');
  console.log(formatScalingRows(rows));
}

async function kernelSection(): Promise<void> {
  const rounds = arg('--kernel-rounds');
  const report = await kernelSpeed({ ...(rounds ? { rounds: Number(rounds) } : {}), log: (line) => console.log(`[kernels] ${line}`) });
  console.log('\n(4) wasm kernels, old vs new (interleaved in one process)');
  console.log(formatKernelSpeed(report));
}

function protocolSection(): void {
  const builds = arg('--protocol-builds')?.split(',') as ('plain' | 'relaxed')[] | undefined;
  if (builds?.some((b) => b !== 'plain' && b !== 'relaxed')) throw new Error(`--protocol-builds takes plain and/or relaxed (comma-separated), got ${builds.join(',')}`);
  const methods = arg('--protocol-methods')?.split(',') as ('e2e' | 'infopro' | 'dgl')[] | undefined;
  if (methods?.some((m) => !['e2e', 'infopro', 'dgl'].includes(m))) throw new Error(`--protocol-methods takes e2e, infopro and/or dgl (comma-separated), got ${methods.join(',')}`);
  const rows = methodRuns({ ...(builds ? { builds } : {}), ...(methods ? { methods } : {}), log: (line) => console.log(`[protocol] ${line}`) });
  console.log("\n(5) Whole runs on the issue's protocol (MNIST 8k, 3 epochs, batch 128, ResNet-8 K = 4), blockwise train, wasm");
  console.log(formatMethodRuns(rows));
}

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  console.log(`load average ${load.toFixed(2)} on ${availableParallelism()} cores${load > availableParallelism() ? ': the cores are busy with other work, so these figures (scaling most of all) need a quiet machine' : ''}`);
  if (process.argv.includes('--only-kernels')) {
    await kernelSection();
    process.exit(0);
  }
  if (process.argv.includes('--only-protocol')) {
    protocolSection();
    process.exit(0);
  }
  const only = process.argv.includes('--only-data-parallel');
  if (!only && !process.argv.includes('--only-parallel')) await wasmVsTorchSection();
  if (!only && !process.argv.includes('--only-torch')) await moduleParallelSection();
  if (only || !(process.argv.includes('--only-torch') || process.argv.includes('--only-parallel'))) await dataParallelSection();
  if (!only && !process.argv.includes('--only-torch') && !process.argv.includes('--only-parallel') && !process.argv.includes('--no-kernels')) await kernelSection();
  if (!only && !process.argv.includes('--only-torch') && !process.argv.includes('--only-parallel') && !process.argv.includes('--no-protocol')) protocolSection();
  // Stage workers and wasm keep nothing alive once done, but say so explicitly.
  process.exit(0);
}

void main();
