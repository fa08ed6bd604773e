/**
 * One ResNet training step on the active tfjs backend, as the engine runs it (training-mode
 * forward, cross-entropy, tf.variableGrads over every trainable variable, SgdNesterov step), and
 * a per-kernel profile of that step on 'wasm'. Shared by bench/speed/wasm-vs-torch.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from '../../main/engine/aux/losses';
import { createResNet, type ResNetModel } from '../../main/engine/nets/resnet-model';
import { SgdNesterov } from '../../main/engine/train/sgd';
import type { InputShape } from '../../shared/engine/resnet';

export interface StepRig {
  model: ResNetModel;
  /** Runs one full step (forward, backward, SGD) and waits for its loss. */
  step(): number;
  dispose(): void;
}

/** A fixed random batch and a fresh ResNet-`depth` with its optimiser. */
export function stepRig(depth: number, input: InputShape, batch: number, classes = 10): StepRig {
  const model = createResNet(depth, input, classes, 1);
  const sgd = new SgdNesterov({ lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
  const x = tf.randomNormal([batch, input.height, input.width, input.channels], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tidy(() => tf.cast(tf.mul(tf.randomUniform([batch], 0, 1, 'float32', 8), classes - 1e-3), 'int32')) as tf.Tensor1D;
  const variables = model.trainableVariables();
  return {
    model,
    step() {
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x, true), y), variables);
      sgd.step(grads);
      tf.dispose(grads);
      const loss = value.dataSync()[0]!;
      value.dispose();
      return loss;
    },
    dispose() {
      sgd.dispose();
      model.dispose();
      tf.dispose([x, y]);
    },
  };
}

/**
 * Per-call ms of `fn` over at least `minSteps` calls and about `budgetMs`, after `warmUp` calls:
 * the best call (what the machine does without other load; its 2 cores are shared) and the median.
 */
export function timeIt(fn: () => unknown, warmUp: number, minSteps: number, budgetMs: number): { best: number; median: number } {
  for (let i = 0; i < warmUp; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minSteps || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { best: times[0]!, median: times[times.length >> 1]! };
}

export interface KernelTime {
  kernel: string;
  /** Exclusive ms per step: time inside the kernel minus kernels it called itself. */
  ms: number;
  calls: number;
  /** Share of the whole step's wall time. */
  share: number;
}

/**
 * Exclusive time per kernel over `steps` steps of `step`, by wrapping every kernelFunc registered
 * for the active backend with a timer (wasm kernels are synchronous, so wall time is kernel
 * time). Kernels that call other kernels directly (our training kernels do) count only their own
 * part. The row '(js: tape, dispatch, glue)' is the step's time outside every kernel. Kernels
 * named in `byShape` get one row per input shapes.
 */
export function profileKernels(step: () => unknown, steps: number, byShape: ReadonlySet<string> = new Set()): { msPerStep: number; kernels: KernelTime[] } {
  const backend = tf.getBackend();
  const configs = tf.getKernelsForBackend(backend);
  const totals = new Map<string, { ms: number; calls: number }>();
  const originals = new Map<tf.KernelConfig, tf.KernelFunc>();
  // Stack of child time per open kernel call, for exclusive times.
  const childMs: number[] = [];
  for (const config of configs) {
    const inner = config.kernelFunc;
    originals.set(config, inner);
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      childMs.push(0);
      const start = performance.now();
      try {
        return inner(args);
      } finally {
        const elapsed = performance.now() - start;
        const own = elapsed - childMs.pop()!;
        if (childMs.length > 0) childMs[childMs.length - 1]! += elapsed;
        let key = config.kernelName;
        if (byShape.has(key)) key += ' ' + Object.values(args.inputs).map((t) => `[${t!.shape.join(',')}]`).join(' ');
        const entry = totals.get(key) ?? { ms: 0, calls: 0 };
        entry.ms += own;
        entry.calls++;
        totals.set(key, entry);
      }
    };
  }
  let wall = 0;
  try {
    const start = performance.now();
    for (let i = 0; i < steps; i++) step();
    wall = performance.now() - start;
  } finally {
    for (const [config, inner] of originals) (config as { kernelFunc: tf.KernelFunc }).kernelFunc = inner;
  }
  const msPerStep = wall / steps;
  const kernels: KernelTime[] = [...totals].map(([kernel, t]) => ({ kernel, ms: t.ms / steps, calls: t.calls / steps, share: t.ms / wall }));
  const inKernels = kernels.reduce((a, k) => a + k.ms, 0);
  kernels.push({ kernel: '(js: tape, dispatch, glue)', ms: msPerStep - inKernels, calls: 0, share: (msPerStep - inKernels) / msPerStep });
  kernels.sort((a, b) => b.ms - a.ms);
  return { msPerStep, kernels };
}
