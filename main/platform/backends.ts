/**
 * Which TF.js training backends this installation has, best first. Detection here only asks
 * whether each backend's packages are installed (several are optional dependencies that fail
 * to install where their native downloads are unreachable); the engine confirms the chosen one
 * when a job starts and records the backend that actually ran.
 */
import type { BackendInfo } from '../../shared/api/schemas';
import type { BackendId } from '../../shared/ids';

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

export function detectBackends(resolve: Resolver = isInstalled): BackendInfo[] {
  return CANDIDATES.map(({ id, label, packages, note }) => {
    const missing = packages.filter((p) => !resolve(p));
    return {
      id,
      label,
      installed: missing.length === 0,
      detail: missing.length === 0 ? note : `not installed (${missing.join(', ')})`,
    };
  });
}

export function preferredBackend(backends: readonly BackendInfo[]): BackendId | null {
  return backends.find((b) => b.installed)?.id ?? null;
}
