/**
 * WebGPU selection (main/engine/backend/webgpu-setup.ts): the automatic choice asks a child
 * process for an adapter and never loads Dawn here for a software one. The gradient check is
 * bench/webgpu-check.ts (npm run check:webgpu): Dawn on Mesa's llvmpipe aborts natively in most
 * runs on these machines, so it cannot be a CI test.
 */
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { probeWebGpu } from '../../../main/engine/backend/webgpu-setup';

describe('webgpu backend selection', () => {
  it('finds the adapter in a child process and passes over a software one, saying why', async () => {
    const adapter = probeWebGpu(require.resolve('webgpu'));
    const best = await selectBackend();
    expect(best.id).not.toBe('webgpu');
    const reason = best.skipped.find((s) => s.id === 'webgpu')?.reason;
    if (adapter) {
      expect(adapter.description.length).toBeGreaterThan(0);
      if (adapter.software) expect(reason).toMatch(/software rasteriser \(.+\), slower than wasm; ask for --backend webgpu/);
    } else expect(reason).toMatch(/no WebGPU adapter/);
    // Nothing of Dawn was loaded into this process.
    expect(Object.keys(require.cache).some((file) => file.includes('dawn.node'))).toBe(false);
  });
});
