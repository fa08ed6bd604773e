/**
 * SGD with momentum, Nesterov and L2 weight decay, following torch.optim.SGD exactly: the one
 * optimiser of the shared recipe (../../../../shared/docs/methods.md 0.4: momentum 0.9,
 * Nesterov, weight decay 1e-4, over all backbone and auxiliary parameters).
 *
 * For each parameter p that has a gradient g this step:
 *   g   = g + weightDecay·p
 *   buf = g on the parameter's first step, else momentum·buf + (1 − dampening)·g
 *   g   = g + momentum·buf (Nesterov) or buf
 *   p   = p − lr·g
 * A parameter without a gradient this step is skipped, buffer included, as PyTorch skips
 * params whose grad is None (in local learning not every loss reaches every parameter).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasFusedKernel, SGD_UPDATE, sgdUpdate } from '../backend/fused-ops';

export interface SgdOptions {
  lr: number;
  /** Default 0.9. */
  momentum?: number;
  /** L2 penalty added to the gradient, default 1e-4. */
  weightDecay?: number;
  /** Default true; needs momentum > 0 and dampening 0, as in PyTorch. */
  nesterov?: boolean;
  /** Default 0. */
  dampening?: number;
}

/** Gradients keyed by the variable itself or by its name (what tf.variableGrads returns). */
export type Gradients = Map<tf.Variable, tf.Tensor> | Record<string, tf.Tensor>;

/** Plain-data optimiser state for checkpoints. */
export interface SgdState {
  /** Number of step() calls made so far. */
  step: number;
  /** One entry per parameter that has a momentum buffer. */
  buffers: SgdBufferState[];
}

export interface SgdBufferState {
  /** The parameter's variable name. */
  name: string;
  /** Its position in the params list given to getState, when one was given. */
  index?: number;
  shape: number[];
  /** Float32Array from getState (no per-value boxing: heads of millions of values hand over fast). */
  values: Float32Array | number[];
}

function checkNumber(name: string, value: number, min: number, max = Infinity): void {
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`SGD ${name} must be a finite number in [${min}, ${max}], got ${value}`);
}

export class SgdNesterov {
  private lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly dampening: number;
  /** Momentum buffers, created on a parameter's first step with a gradient. */
  private readonly buffers = new Map<tf.Variable, tf.Variable>();
  private steps = 0;
  private disposed = false;

  constructor({ lr, momentum = 0.9, weightDecay = 1e-4, nesterov = true, dampening = 0 }: SgdOptions) {
    checkNumber('lr', lr, 0);
    checkNumber('momentum', momentum, 0);
    checkNumber('weightDecay', weightDecay, 0);
    checkNumber('dampening', dampening, 0, 1);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new Error(`Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${momentum}, dampening ${dampening}`);
    }
    this.lr = lr;
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    this.dampening = dampening;
  }

  get learningRate(): number {
    return this.lr;
  }

  /** Number of step() calls made so far. */
  get stepCount(): number {
    return this.steps;
  }

  setLearningRate(lr: number): void {
    checkNumber('lr', lr, 0);
    this.lr = lr;
  }

  /** One update of every parameter that has a gradient; the caller keeps ownership of the gradients. */
  step(grads: Gradients): void {
    this.checkAlive();
    const pairs = this.resolve(grads);
    if (hasFusedKernel(SGD_UPDATE)) this.fusedStep(pairs);
    else this.composedStep(pairs);
    this.steps++;
  }

  /** One SGD_UPDATE kernel per parameter (../backend/fused-ops.ts): same values, one pass. */
  private fusedStep(pairs: [tf.Variable, tf.Tensor][]): void {
    const attrs = { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay, dampening: this.dampening, nesterov: this.nesterov };
    tf.tidy(() => {
      for (const [param, grad] of pairs) {
        const buf = this.buffers.get(param);
        const next = sgdUpdate(param, grad, buf ?? null, attrs);
        if (next.buffer) {
          if (buf === undefined) this.buffers.set(param, tf.variable(next.buffer, false));
          else buf.assign(next.buffer);
        }
        param.assign(next.param);
      }
    });
  }

  private composedStep(pairs: [tf.Variable, tf.Tensor][]): void {
    tf.tidy(() => {
      const lr = tf.scalar(this.lr);
      const momentum = tf.scalar(this.momentum);
      const decay = tf.scalar(this.weightDecay);
      const keep = tf.scalar(1 - this.dampening);
      for (const [param, grad] of pairs) {
        let g: tf.Tensor = grad;
        if (this.weightDecay !== 0) g = tf.add(g, tf.mul(param, decay));
        if (this.momentum !== 0) {
          let buf = this.buffers.get(param);
          if (buf === undefined) {
            // First step: buf = g, no dampening (PyTorch clones the gradient).
            buf = tf.variable(g, false);
            this.buffers.set(param, buf);
          } else {
            buf.assign(tf.add(tf.mul(buf, momentum), tf.mul(g, keep)));
          }
          g = this.nesterov ? tf.add(g, tf.mul(buf, momentum)) : buf;
        }
        param.assign(tf.sub(param, tf.mul(g, lr)));
      }
    });
  }

  /**
   * Buffers and step count as plain arrays. With `params` (e.g. the model's variables in order)
   * each buffer also records its parameter's position, so a new process whose variables got other
   * names can restore it with setState(state, params).
   */
  getState(params?: readonly tf.Variable[]): SgdState {
    this.checkAlive();
    const index = new Map(params?.map((p, i) => [p, i]));
    const buffers: SgdBufferState[] = [];
    for (const [param, buf] of this.buffers) {
      const entry: SgdBufferState = { name: param.name, shape: [...buf.shape], values: (buf.dataSync() as Float32Array).slice() };
      const i = index.get(param);
      if (i !== undefined) entry.index = i;
      else if (params !== undefined) throw new Error(`SGD buffer of variable '${param.name}' has no entry in the params given to getState`);
      buffers.push(entry);
    }
    return { step: this.steps, buffers };
  }

  /**
   * Replaces buffers and step count with a saved state. Buffers are matched to parameters by
   * position in `params` when given (and the entry has an index), else by variable name.
   */
  setState(state: SgdState, params?: readonly tf.Variable[]): void {
    this.checkAlive();
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`SGD state step must be a non-negative integer, got ${state.step}`);
    const restored = new Map<tf.Variable, tf.Variable>();
    try {
      for (const entry of state.buffers) {
        const param = this.findParam(entry, params);
        if (restored.has(param)) throw new Error(`SGD state has two buffers for variable '${param.name}'`);
        const size = entry.shape.reduce((a, b) => a * b, 1);
        if (!tf.util.arraysEqual(entry.shape, param.shape) || entry.values.length !== size) {
          throw new Error(
            `SGD state buffer '${entry.name}' has shape [${entry.shape}] and ${entry.values.length} values; its parameter '${param.name}' has shape [${param.shape}]`,
          );
        }
        restored.set(param, tf.tidy(() => tf.variable(tf.tensor(entry.values, entry.shape, param.dtype), false)));
      }
    } catch (error) {
      for (const buf of restored.values()) buf.dispose();
      throw error;
    }
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
    for (const [param, buf] of restored) this.buffers.set(param, buf);
    this.steps = state.step;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('SGD optimiser used after dispose()');
  }

  private findParam(entry: SgdBufferState, params: readonly tf.Variable[] | undefined): tf.Variable {
    if (params !== undefined && entry.index !== undefined) {
      const param = params[entry.index];
      if (param === undefined) throw new Error(`SGD state buffer '${entry.name}' has index ${entry.index}, but only ${params.length} params were given`);
      return param;
    }
    const param = tf.engine().registeredVariables[entry.name];
    if (param === undefined) throw new Error(`SGD state buffer for variable '${entry.name}': no such variable is registered`);
    return param;
  }

  /** Gradients as [variable, gradient] pairs, checked for shape and existence. */
  private resolve(grads: Gradients): [tf.Variable, tf.Tensor][] {
    const pairs: [tf.Variable, tf.Tensor][] = [];
    if (grads instanceof Map) {
      for (const [param, grad] of grads) pairs.push([param, grad]);
    } else {
      const registered = tf.engine().registeredVariables;
      for (const [name, grad] of Object.entries(grads)) {
        const param = registered[name];
        if (param === undefined) throw new Error(`SGD got a gradient for '${name}', which is not a registered variable`);
        pairs.push([param, grad]);
      }
    }
    for (const [param, grad] of pairs) {
      if (param.isDisposed) throw new Error(`SGD got a gradient for disposed variable '${param.name}'`);
      if (grad.isDisposed) throw new Error(`SGD gradient for '${param.name}' is disposed`);
      if (!tf.util.arraysEqual(grad.shape, param.shape)) {
        throw new Error(`SGD gradient for '${param.name}' has shape [${grad.shape}], the variable has [${param.shape}]`);
      }
    }
    return pairs;
  }
}
