import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { measurePeak } from '../../../main/engine/memory/probe';

const MB = 1024 * 1024;
/** A float32 tensor of exactly `mb` MiB, made by a kernel (Fill) so the profile samples it. */
const block = (mb: number) => tf.fill([(mb * MB) / 4], 1);

describe('memory probe', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reports the highest point of live tensor bytes, not the end state', async () => {
    const weights = block(2);
    const peak = await measurePeak(() => {
      const a = block(3);
      const b = block(1);
      a.dispose(); // peak was 2 + 3 + 1 = 6 MiB here
      const c = block(2);
      b.dispose();
      c.dispose();
    });
    expect(peak.peakBytes).toBe(6 * MB);
    expect(peak.peakAboveStartBytes).toBe(4 * MB);
    expect(peak.retainedBytes).toBe(0);
    weights.dispose();
  });

  it('reports the starting total for work that runs no kernel', async () => {
    const weights = block(1);
    expect(await measurePeak(() => undefined)).toEqual({ peakBytes: MB, peakAboveStartBytes: 0, retainedBytes: 0, phasePeakBytes: [] });
    weights.dispose();
  });

  it('splits the peak by the phases the work announces', async () => {
    const peak = await measurePeak((onPhase) => {
      onPhase(0);
      const a = block(3);
      a.dispose();
      onPhase(1);
      const b = block(1);
      const c = block(1);
      tf.dispose([b, c]);
    });
    expect(peak.phasePeakBytes).toEqual([3 * MB, 2 * MB]);
    expect(peak.peakBytes).toBe(3 * MB);
  });

  it('tells a leak from work that cleaned up', async () => {
    let kept: tf.Tensor | undefined;
    const peak = await measurePeak(() => {
      kept = block(1);
    });
    expect(peak.retainedBytes).toBe(MB);
    kept!.dispose();
  });

  it('sees what a gradient step holds at once: a deeper chain of saved activations peaks higher', async () => {
    const x = tf.randomNormal([64, 256], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([256, 256], 0, 0.05, 'float32', 2));
    const chain = (depth: number) => async () => {
      const { grads, value } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (let i = 0; i < depth; i++) h = tf.relu(tf.matMul(h, w));
        return tf.sum(h) as tf.Scalar;
      });
      tf.dispose([value, ...Object.values(grads)]);
    };
    const shallow = await measurePeak(chain(2));
    const deep = await measurePeak(chain(8));
    expect(deep.peakAboveStartBytes).toBeGreaterThan(shallow.peakAboveStartBytes + 64 * 256 * 4 * 6);
    expect(deep.retainedBytes).toBe(0);
    tf.dispose([x, w]);
  });
});
