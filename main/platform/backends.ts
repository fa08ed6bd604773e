/**
 * Which TF.js training backends this installation has, best first. Detection here asks
 * whether each backend's packages are installed (several are optional dependencies that fail
 * to install where their native downloads are unreachable) and, for WebGPU, whether a GPU
 * adapter exists (a child process asks Dawn; a software rasteriser does not count). The engine
 * confirms the chosen one when a job starts and records the backend that actually ran.
 */
import type { BackendInfo } from '../../shared/api/schemas';
import type { BackendId } from '../../shared/ids';
import { probeWebGpu, type WebGpuAdapter } from '../engine/backend/webgpu-setup';

interface Candidate {
  id: BackendId;
  label: string;
  packages: string[];
  /** Why this backend is better or worse than the others, shown beside it. */
  note: string;
}

const CANDIDATES: readonly Candidate[] = [
  { id: 'tensorflow-gpu', label: 'TensorFlow CUDA (tfjs-node-gpu)', packages: ['@tensorflow/tfjs-node-gpu'], note: 'NVIDIA GPU through libtensorflow' },
  { id: 'webgpu', label: 'WebGPU (Dawn)', packages: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'], note: 'any GPU vendor; needs a GPU adapter' },
  { id: 'tensorflow', label: 'TensorFlow CPU (tfjs-node)', packages: ['@tensorflow/tfjs-node'], note: 'native CPU kernels' },
  { id: 'wasm', label: 'WebAssembly (XNNPACK)', packages: ['@tensorflow/tfjs-backend-wasm'], note: 'portable CPU path' },
  { id: 'cpu', label: 'Plain JavaScript', packages: ['@tensorflow/tfjs-backend-cpu'], note: 'reference kernels; too slow to train real nets' },
];

export type Resolver = (pkg: string) => boolean;

const isInstalled: Resolver = (pkg) => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

/** The adapter WebGPU would use here, or why there is none. */
export type GpuProbe = () => WebGpuAdapter | null;

const probeInstalled: GpuProbe = () => probeWebGpu(require.resolve('webgpu'));

export function detectBackends(resolve: Resolver = isInstalled, probeGpu: GpuProbe = probeInstalled): BackendInfo[] {
  return CANDIDATES.map(({ id, label, packages, note }) => {
    const missing = packages.filter((p) => !resolve(p));
    if (missing.length) return { id, label, installed: false, detail: `not installed (${missing.join(', ')})` };
    if (id === 'webgpu') {
      let adapter: WebGpuAdapter | null = null;
      try {
        adapter = probeGpu();
      } catch {
        // A probe that fails is no adapter.
      }
      if (!adapter) return { id, label, installed: false, detail: 'installed, but no GPU adapter' };
      if (adapter.software) return { id, label, installed: false, detail: `installed, but only a software adapter (${adapter.description}); use --backend webgpu to try it` };
      return { id, label, installed: true, detail: `${note}: ${adapter.description}` };
    }
    return { id, label, installed: true, detail: note };
  });
}

export function preferredBackend(backends: readonly BackendInfo[]): BackendId | null {
  return backends.find((b) => b.installed)?.id ?? null;
}
