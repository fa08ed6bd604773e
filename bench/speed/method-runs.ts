/**
 * Whole runs on the issue's protocol (issue 17): MNIST, 8,000 training images, 3 epochs, batch
 * 128, ResNet-8 cut into K = 4 modules, end-to-end, InfoPro and DGL, each trained by the studio's
 * own command line (`blockwise train`, a fresh process and database per run, as a user runs it)
 * on 1 and on 2 data-parallel workers. Reported: the run's wall clock (process start to exit,
 * testing included) and its training time (the run's record, `trained_ms`), next to the
 * independent PyTorch implementation's wall times the issue quotes for the same protocol on
 * 2 threads (measured on the same machine type, not here: that implementation is not in
 * this repository). With `builds`, each run once per build of the wasm SIMD kernels (plain, and
 * relaxed SIMD's fused multiply-adds, chosen by BLOCKWISE_WASM_FMA in the child), side by side.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { SimdVariant } from '../../main/engine/backend/wasm-simd';

export type ProtocolMethod = 'e2e' | 'infopro' | 'dgl';

/** The issue's PyTorch wall times, seconds on 2 threads (issue 17's opening measurement). */
export const QUOTED_TORCH_SECONDS: Record<ProtocolMethod, [number, number]> = { e2e: [16, 26], infopro: [23, 57], dgl: [32, 36] };

export interface MethodRunRow {
  method: ProtocolMethod;
  workers: number;
  /** The build of the SIMD kernels the run was told to use (the engine's choice when it compiles). */
  build: SimdVariant;
  /** Process start to exit. */
  wallSeconds: number;
  /** The run's training time as it recorded it. */
  trainSeconds: number;
  testAccuracy: number | null;
}

export interface MethodRunOptions {
  methods?: ProtocolMethod[];
  workers?: number[];
  /** Builds of the SIMD kernels to run each configuration with; default the engine's own (relaxed where it compiles). */
  builds?: SimdVariant[];
  trainLimit?: number;
  epochs?: number;
  log?: (line: string) => void;
}

function oneRun(method: ProtocolMethod, workers: number, build: SimdVariant, trainLimit: number, epochs: number): MethodRunRow {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-protocol-'));
  try {
    const db = path.join(dir, 'studio.sqlite');
    const args = ['dist/main/blockwise.cjs', 'train', '--dataset', 'mnist', '--net', 'resnet8', '--method', method, ...(method === 'e2e' ? [] : ['--split', '4']), '--epochs', String(epochs), '--batch', '128', '--train-limit', String(trainLimit), '--workers', String(workers), '--backend', 'wasm', '--db', db];
    const started = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, BLOCKWISE_WASM_FMA: build === 'plain' ? '0' : '1' } });
    const wallSeconds = (performance.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`blockwise train --method ${method} --workers ${workers} failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-800)}`);
    const store = new Database(db, { readonly: true });
    try {
      const run = store.prepare('SELECT trained_ms, final_test_acc FROM runs ORDER BY id DESC LIMIT 1').get() as { trained_ms: number | null; final_test_acc: number | null };
      return { method, workers, build, wallSeconds, trainSeconds: (run.trained_ms ?? NaN) / 1000, testAccuracy: run.final_test_acc };
    } finally {
      store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function methodRuns(options: MethodRunOptions = {}): MethodRunRow[] {
  const log = options.log ?? (() => {});
  if (!fs.existsSync('dist/main/blockwise.cjs')) throw new Error('dist/main/blockwise.cjs is missing: run `npm run build` first');
  const rows: MethodRunRow[] = [];
  for (const method of options.methods ?? ['e2e', 'infopro', 'dgl']) {
    for (const workers of options.workers ?? [1, 2]) {
      for (const build of options.builds ?? ['relaxed']) {
        const row = oneRun(method, workers, build, options.trainLimit ?? 8000, options.epochs ?? 3);
        log(`${method}, ${workers} worker(s), ${build} kernels: ${row.wallSeconds.toFixed(1)} s wall, ${row.trainSeconds.toFixed(1)} s training`);
        rows.push(row);
      }
    }
  }
  return rows;
}

export function formatMethodRuns(rows: MethodRunRow[]): string {
  const lines = ['method     workers  kernels   wall s   training s   test acc   PyTorch s (issue, 2 threads)   wall / PyTorch'];
  for (const r of rows) {
    const [low, high] = QUOTED_TORCH_SECONDS[r.method];
    const ratio = `${(r.wallSeconds / high).toFixed(2)}-${(r.wallSeconds / low).toFixed(2)}x`;
    lines.push(
      `${r.method.padEnd(10)}${String(r.workers).padStart(8)}${r.build.padStart(9)}${r.wallSeconds.toFixed(1).padStart(9)}${r.trainSeconds.toFixed(1).padStart(13)}` +
        `${(r.testAccuracy === null ? 'n/a' : (100 * r.testAccuracy).toFixed(2) + '%').padStart(11)}${`${low}-${high}`.padStart(31)}${ratio.padStart(17)}`,
    );
  }
  return lines.join('\n');
}
