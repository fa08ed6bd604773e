import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, selectBackend } from '../../../main/engine/backend/select';

describe('backend selection', () => {
  it('starts the best backend present here (wasm) and says why it passed over the better ones', async () => {
    const choice = await selectBackend();
    expect(choice).toMatchObject({ id: 'wasm', tfName: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.id)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow']);
    expect(choice.skipped[0]!.reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed \(npm install @tensorflow\/tfjs-node-gpu/);
  });

  it('starts exactly the backend asked for', async () => {
    expect(await selectBackend('cpu')).toMatchObject({ id: 'cpu', tfName: 'cpu', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('refuses an unavailable or unknown backend with the reason and the fix', async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(BackendUnavailableError);
    await expect(selectBackend('tensorflow')).rejects.toThrow('The tensorflow backend cannot be used: @tensorflow/tfjs-node is not installed');
    await expect(selectBackend('metal' as never)).rejects.toThrow('unknown backend; choose one of tensorflow-gpu, webgpu, tensorflow, wasm, cpu');
  });
});
