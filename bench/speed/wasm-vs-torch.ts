/**
 * Images/s of one ResNet training step (forward, cross-entropy, backward, SGD with Nesterov
 * momentum and weight decay) on the tfjs `wasm` backend against PyTorch on the CPU running the
 * same net (bench/speed/torch_step.py), side by side in one run. The wasm backend runs one
 * thread in Node (tfjs turns its threads off there), so every row's wasm figure is the
 * single-thread one; the torch figure is at the row's thread count.
 *
 * PyTorch is optional: without it (Debian: `apt-get install -y python3-torch`, then run with
 * /usr/bin/python3) the rows carry the wasm figure and null for torch.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { initWasmBackend } from '../../main/engine/backend/wasm-setup';
import type { InputShape } from '../../shared/engine/resnet';
import { profileKernels, stepRig, timeIt, type KernelTime } from './wasm-step';

export interface WasmVsTorchOptions {
  /** ResNet depth (6n + 2), default 8. */
  depth?: number;
  /** Input shapes, default 28x28x1 and 32x32x3. */
  inputs?: InputShape[];
  /** Default 64. */
  batch?: number;
  /** Torch thread counts, one row each; default [1, 2]. */
  threads?: number[];
  /** Timed wall time per measurement in ms (after warm-up), default 4000. */
  budgetMs?: number;
  /** Run the PyTorch side, default true (false: wasm figures only, e.g. while iterating on kernels). */
  torch?: boolean;
  /** Python with torch, default /usr/bin/python3 (Debian's python3-torch lives there). */
  python?: string;
  /** Also return each input's per-kernel profile of the wasm step. */
  profile?: boolean;
  /** Kernels the profile splits by input shapes (e.g. 'Conv2D'). */
  profileByShape?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface Row {
  net: string;
  /** 'HxWxC'. */
  input: string;
  batch: number;
  /** PyTorch's thread count; wasm always runs one. */
  threads: number;
  /** From the best step (see timeIt); the median step's figure beside it. */
  wasmImagesPerSecond: number;
  wasmMedianImagesPerSecond: number;
  /** Best step likewise; null when PyTorch is not available. */
  torchImagesPerSecond: number | null;
  torchMedianImagesPerSecond: number | null;
  /** wasm / torch; null without torch. */
  ratio: number | null;
  /** Per-kernel profile of the wasm step (with `profile`), on the first row of each input. */
  profile?: KernelTime[];
}

export const TORCH_HINT = 'PyTorch is not importable: install it with `apt-get install -y python3-torch` and use /usr/bin/python3 (or pass --python).';

/** Whether `python` can import torch; the reason when not. */
export function torchAvailable(python: string): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: r.error.message };
  if (r.status !== 0) return { ok: false, reason: r.stderr.trim().split('\n').pop() ?? `exit ${r.status}` };
  return { ok: true };
}

function torchImagesPerSecond(python: string, input: InputShape, batch: number, threads: number, budgetMs: number): { best: number; median: number } {
  const script = path.resolve('bench/speed/torch_step.py');
  const args = [script, '--height', String(input.height), '--width', String(input.width), '--channels', String(input.channels),
    '--batch', String(batch), '--threads', String(threads), '--budget-ms', String(budgetMs)];
  const r = spawnSync(python, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`torch_step.py failed (exit ${r.status}): ${r.stderr || r.error?.message}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { imagesPerSecond: number; medianImagesPerSecond: number };
  return { best: out.imagesPerSecond, median: out.medianImagesPerSecond };
}

const shapeName = (s: InputShape): string => `${s.height}x${s.width}x${s.channels}`;

export async function wasmVsTorch(options: WasmVsTorchOptions = {}): Promise<Row[]> {
  const depth = options.depth ?? 8;
  const inputs = options.inputs ?? [{ height: 28, width: 28, channels: 1 }, { height: 32, width: 32, channels: 3 }];
  const batch = options.batch ?? 64;
  const threads = options.threads ?? [1, 2];
  const budgetMs = options.budgetMs ?? 4000;
  const python = options.python ?? '/usr/bin/python3';
  const log = options.log ?? (() => {});

  const torch = options.torch === false ? { ok: false as const, reason: 'skipped' } : torchAvailable(python);
  if (!torch.ok && options.torch !== false) log(`${TORCH_HINT} (${python}: ${torch.reason})`);

  const previous = tf.getBackend();
  await initWasmBackend();
  const rows: Row[] = [];
  try {
    for (const input of inputs) {
      const rig = stepRig(depth, input, batch);
      let wasm: { best: number; median: number };
      let profile: KernelTime[] | undefined;
      try {
        const ms = timeIt(() => rig.step(), 3, 10, budgetMs);
        wasm = { best: (batch * 1000) / ms.best, median: (batch * 1000) / ms.median };
        if (options.profile) profile = profileKernels(() => rig.step(), 10, new Set(options.profileByShape)).kernels;
      } finally {
        rig.dispose();
      }
      log(`wasm ${shapeName(input)}: ${wasm.best.toFixed(1)} img/s best step, ${wasm.median.toFixed(1)} median`);
      threads.forEach((n, i) => {
        const t = torch.ok ? torchImagesPerSecond(python, input, batch, n, budgetMs) : null;
        if (t !== null) log(`torch ${shapeName(input)} ${n} thread(s): ${t.best.toFixed(1)} img/s best step, ${t.median.toFixed(1)} median`);
        const row: Row = {
          net: `ResNet-${depth}`,
          input: shapeName(input),
          batch,
          threads: n,
          wasmImagesPerSecond: wasm.best,
          wasmMedianImagesPerSecond: wasm.median,
          torchImagesPerSecond: t?.best ?? null,
          torchMedianImagesPerSecond: t?.median ?? null,
          ratio: t === null ? null : wasm.best / t.best,
        };
        if (i === 0 && profile) row.profile = profile;
        rows.push(row);
      });
    }
  } finally {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  }
  return rows;
}

/** The rows as a fixed-width table. */
export function formatRows(rows: Row[]): string {
  const lines = [
    'img/s from the best step of each side (median step in brackets): the 2 cores are shared',
    'net        input     batch  torch threads      wasm img/s (median)     torch img/s (median)   wasm/torch',
  ];
  const pair = (best: number | null, median: number | null) => (best === null ? 'n/a' : `${best.toFixed(1)} (${median!.toFixed(1)})`);
  for (const r of rows) {
    lines.push(
      `${r.net.padEnd(11)}${r.input.padEnd(10)}${String(r.batch).padStart(5)}${String(r.threads).padStart(15)}` +
        `${pair(r.wasmImagesPerSecond, r.wasmMedianImagesPerSecond).padStart(24)}${pair(r.torchImagesPerSecond, r.torchMedianImagesPerSecond).padStart(25)}` +
        `${(r.ratio === null ? 'n/a' : `${r.ratio.toFixed(3)}x`).padStart(13)}`,
    );
  }
  return lines.join('\n');
}

/** A profile as a table of its top `top` rows. */
export function formatProfile(kernels: KernelTime[], top = 12): string {
  const lines = ['kernel                              ms/step   calls/step   share'];
  for (const k of kernels.slice(0, top)) {
    lines.push(`${k.kernel.padEnd(34)}${k.ms.toFixed(2).padStart(9)}${(k.calls ? k.calls.toFixed(0) : '').padStart(13)}${(k.share * 100).toFixed(1).padStart(7)}%`);
  }
  return lines.join('\n');
}
