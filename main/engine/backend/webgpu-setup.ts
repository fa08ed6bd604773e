/**
 * Starts TF.js's WebGPU backend in Node over Dawn (the `webgpu` package, optional): GPU training
 * on any vendor's GPU through Vulkan, Metal or D3D12, no CUDA or libtensorflow needed. Dawn's
 * native adapters are tried first; without one, its OpenGL backend in compatibility mode, which
 * on a machine without a GPU is Mesa's software rasteriser (llvmpipe): correct but slower than
 * wasm, so it is only used when WebGPU is asked for by name (tests, checks), never picked as
 * "best". PLATFORM.md has the measured details.
 *
 * Dawn, once loaded, keeps the process alive and can abort at exit in some hosts (a vitest
 * worker): so the automatic choice first asks a short-lived child process whether a hardware
 * adapter exists (probeWebGpu), and loads Dawn here only if one does. A process that trains on
 * WebGPU ends with process.exit, as the CLI does.
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';

interface Adapter {
  info?: { vendor?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}
interface Gpu {
  requestAdapter(options?: Record<string, unknown>): Promise<Adapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

export interface WebGpuAdapter {
  /** What the adapter says it is (vendor, device, driver). */
  description: string;
  /** A software rasteriser rather than a GPU. */
  software: boolean;
  /** Which of ROUTES found it. */
  route: number;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader/i;

/** Dawn instance flags and adapter options: a native GPU API first, then OpenGL in compatibility mode. */
const ROUTES = [
  { flags: [] as string[], options: { powerPreference: 'high-performance' } },
  { flags: ['backend=opengl'], options: { featureLevel: 'compatibility' } },
];

/**
 * The child's script: the first route that yields an adapter, as JSON on stdout. One process
 * tries them all because a Dawn instance whose native attempt failed (no Vulkan) leaves the
 * process unfit for a second instance: the training process creates only the route found here.
 */
const PROBE = `
const { create } = require(process.argv[1]);
const routes = ${JSON.stringify(ROUTES)};
(async () => {
  for (const [route, { flags, options }] of routes.entries()) {
    const adapter = await create(flags).requestAdapter(options);
    if (!adapter) continue;
    const info = adapter.info;
    process.stdout.write(JSON.stringify({ route, info: { vendor: info.vendor, device: info.device, description: info.description, isFallbackAdapter: info.isFallbackAdapter } }));
    process.exit(0);
  }
  process.stdout.write('null');
  process.exit(0);
})().catch(() => process.exit(1));`;

function describeAdapter(info: NonNullable<Adapter['info']>, route: number): WebGpuAdapter {
  const description = [info.vendor, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { description, software: Boolean(info.isFallbackAdapter) || SOFTWARE.test(description), route };
}

const probes = new Map<string, WebGpuAdapter | null>();

/**
 * The adapter WebGPU would train on, found in a child process (null: none); `webgpuPath` is the
 * resolved package. Asked once per process: the studio's status bar and every automatic backend
 * choice share the answer instead of starting Dawn again.
 */
export function probeWebGpu(webgpuPath: string): WebGpuAdapter | null {
  if (!probes.has(webgpuPath)) probes.set(webgpuPath, runProbe(webgpuPath));
  return probes.get(webgpuPath)!;
}

function runProbe(webgpuPath: string): WebGpuAdapter | null {
  const child = spawnSync(process.execPath, ['-e', PROBE, webgpuPath], {
    encoding: 'utf8',
    timeout: 20_000,
    // Electron's binary runs as plain Node with this; surfaceless EGL needs no display.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', EGL_PLATFORM: process.env.EGL_PLATFORM ?? 'surfaceless' },
  });
  if (child.status !== 0) throw new Error(`probing for a WebGPU adapter failed (${child.error?.message ?? `exit ${child.status}`})`);
  const found = JSON.parse(child.stdout || 'null') as { route: number; info: NonNullable<Adapter['info']> } | null;
  return found ? describeAdapter(found.info, found.route) : null;
}

export const WEBGPU_INSTALL = 'npm install webgpu @tensorflow/tfjs-backend-webgpu';

let started: WebGpuAdapter | undefined;

export const softwareOnly = (adapter: WebGpuAdapter): Error =>
  new Error(`the only WebGPU adapter is a software rasteriser (${adapter.description}), slower than wasm; ask for --backend webgpu to use it anyway`);

/** Start the adapter `probed` found (probeWebGpu), hand it to tfjs-backend-webgpu and make 'webgpu' the active backend. */
export async function initWebGpuBackend(load: (pkg: string, install: string) => unknown, probed: WebGpuAdapter | null, allowSoftware: boolean): Promise<WebGpuAdapter> {
  if (!probed) throw new Error('no WebGPU adapter: no GPU driver (Vulkan, Metal, D3D12) and no OpenGL to fall back on');
  if (probed.software && !allowSoftware) throw softwareOnly(probed);
  if (!started) {
    const dawn = load('webgpu', WEBGPU_INSTALL) as DawnModule;
    Object.assign(globalThis, dawn.globals);
    // Surfaceless EGL: Dawn's OpenGL backend needs no display.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    const { flags, options } = ROUTES[probed.route]!;
    const gpu = dawn.create(flags);
    const adapter = await gpu.requestAdapter(options);
    if (!adapter) throw new Error(`the WebGPU adapter found by the probe (${probed.description}) did not come back in this process`);
    // tfjs-backend-webgpu asks navigator.gpu.requestAdapter (its only use of it) when it starts: answer with the one found.
    const scope = globalThis as { navigator?: object };
    Object.defineProperty(globalThis, 'navigator', { value: { ...(scope.navigator ?? {}), gpu: { requestAdapter: async () => adapter } }, configurable: true, writable: true });
    load('@tensorflow/tfjs-backend-webgpu', WEBGPU_INSTALL);
    started = describeAdapter(adapter.info ?? {}, probed.route);
  }
  if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') throw new Error(`TF.js could not start its 'webgpu' backend on ${started.description}`);
  return started;
}
