/**
 * Choosing the TF.js backend a job trains on: the best one present, in the order of
 * shared/ids.ts BACKEND_IDS (CUDA, WebGPU, native CPU, wasm, cpu), or exactly the one asked
 * for with --backend. Each candidate is really started, not just found: a package that
 * installed but cannot run (no CUDA driver, no GPU adapter) falls through to the next, and the
 * reasons are kept so the run can record why it trains where it does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_IDS, type BackendId } from '../../../shared/ids';
import { initWasmBackend } from './wasm-setup';
import { simdVariant } from './wasm-simd';
import { initWebGpuBackend, probeWebGpu, WEBGPU_INSTALL } from './webgpu-setup';

export interface BackendChoice {
  id: BackendId;
  /** The name TF.js knows it by ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  tfName: string;
  /** Why each better candidate was passed over, best first. */
  skipped: { id: BackendId; reason: string }[];
}

export class BackendUnavailableError extends Error {
  constructor(
    readonly id: BackendId,
    reason: string,
  ) {
    super(`The ${id} backend cannot be used: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/** Starts a backend; `explicit` when the user named it (then slow-but-working options are accepted). */
type Starter = (explicit: boolean) => Promise<string>;

/** Loads an optional package by a name the bundler leaves alone; a missing one says how to get it. */
function load(pkg: string, install: string): unknown {
  try {
    return require(pkg) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(/Cannot find module/.test(message) ? `${pkg} is not installed (${install})` : `${pkg} failed to load: ${message.split('\n')[0]}`);
  }
}

/** The resolved path of an optional package, or the same message load gives. */
function resolveOptional(pkg: string, install: string): string {
  try {
    return require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed (${install})`);
  }
}

async function activate(tfName: string): Promise<string> {
  if (!(await tf.setBackend(tfName)) || tf.getBackend() !== tfName) throw new Error(`TF.js could not start its '${tfName}' backend`);
  return tfName;
}

const STARTERS: Record<BackendId, Starter> = {
  // tfjs-node(-gpu) registers the 'tensorflow' backend when loaded; it needs libtensorflow (and CUDA for -gpu).
  'tensorflow-gpu': async () => {
    load('@tensorflow/tfjs-node-gpu', 'npm install @tensorflow/tfjs-node-gpu; needs CUDA and a download of libtensorflow');
    const name = await activate('tensorflow');
    // libtensorflow's GPU build runs on the CPU when it finds no CUDA device: that is the native CPU backend, not this one.
    if ((tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === false) throw new Error('libtensorflow (GPU build) loaded but found no CUDA device');
    return name;
  },
  webgpu: async (explicit) => {
    // The probe runs in a child process: Dawn is loaded here only for an adapter worth using.
    // (tfjs-backend-webgpu registers itself at import only if navigator.gpu exists: loaded after setup.)
    resolveOptional('@tensorflow/tfjs-backend-webgpu', WEBGPU_INSTALL);
    const probed = probeWebGpu(resolveOptional('webgpu', WEBGPU_INSTALL));
    await initWebGpuBackend(load, probed, explicit);
    return 'webgpu';
  },
  tensorflow: async () => {
    load('@tensorflow/tfjs-node', 'npm install @tensorflow/tfjs-node; needs a download of libtensorflow');
    return activate('tensorflow');
  },
  wasm: async () => {
    await initWasmBackend();
    return 'wasm';
  },
  cpu: async () => {
    load('@tensorflow/tfjs-backend-cpu', 'npm install @tensorflow/tfjs-backend-cpu');
    return activate('cpu');
  },
};

/** Start `requested`, or the best backend that starts. Throws BackendUnavailableError naming the reason. */
export async function selectBackend(requested?: BackendId): Promise<BackendChoice> {
  if (requested !== undefined && !BACKEND_IDS.includes(requested)) {
    throw new BackendUnavailableError(requested, `unknown backend; choose one of ${BACKEND_IDS.join(', ')}`);
  }
  const skipped: BackendChoice['skipped'] = [];
  for (const id of requested ? [requested] : BACKEND_IDS) {
    try {
      return { id, tfName: await STARTERS[id](requested !== undefined), skipped };
    } catch (error) {
      const reason = (error as Error).message;
      if (requested) throw new BackendUnavailableError(id, reason);
      skipped.push({ id, reason });
    }
  }
  throw new BackendUnavailableError('cpu', `no TF.js backend could start (${skipped.map((s) => `${s.id}: ${s.reason}`).join('; ')})`);
}

/**
 * The engine's versions for a run's record: TF.js and, on wasm, which build of the SIMD kernels
 * ran (a relaxed-SIMD build rounds its multiply-adds as the CPU does, so results may differ in
 * the last bits between machines; see ./wasm-simd.ts).
 */
export function engineVersions(backend: BackendId): Record<string, string> {
  return { tfjs: tf.version_core, ...(backend === 'wasm' ? { wasmKernels: simdVariant() ?? 'none (JS loops)' } : {}) };
}
