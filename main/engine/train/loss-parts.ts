/**
 * Local losses as weighted parts (a decoder's reconstruction, a classifier's task loss, one PFF
 * quadrant), and the two ways a step can back-propagate them:
 *
 *   reference  every part's graph is built in the module's tape and all are back-propagated
 *              together, as the reference PyTorch code does (their activations are alive at once);
 *   lean       the parts hang off the module's output h through one custom op: the module's tape
 *              sees a single node, and when the backward pass reaches it, each part is built and
 *              back-propagated on its own (a nested gradient call), its graph freed before the
 *              next part's is built. The part gradients are the same; only one part's activations
 *              are alive at a time, and each part is computed once.
 *
 * TF.js frees a tape after its one backward pass and has no public way to run a second gradient
 * computation inside a backward pass; `nestedGradients` does exactly that by setting aside the
 * outer tape while the inner one runs (tfjs-core 4.x Engine.gradients, pinned in package.json).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addGradient } from './trainer';

export interface LossPart {
  /** What the part is, for error messages ('decoder', 'classifier', 'pff quadrant 2'). */
  name: string;
  /** The weight the part's loss enters the module's objective with; parts with weight 0 are skipped. */
  weight: number;
  /** Variables only this part's loss trains (its auxiliary net). */
  variables: tf.Variable[];
  /** The unweighted loss from the module output h. */
  loss(h: tf.Tensor4D): tf.Scalar;
}

export type Execution = 'reference' | 'lean';

/** Gradients and loss values produced outside the module's own tape (lean parts). */
export class GradientSink {
  readonly grads = new Map<tf.Variable, tf.Tensor>();
  /** Sum of the weighted part losses computed during the backward pass (a tensor: no device sync in the step). */
  private value: tf.Scalar | null = null;

  addValue(value: tf.Scalar): void {
    const previous = this.value;
    this.value = tf.keep(previous ? tf.add<tf.Scalar>(previous, value) : tf.clone(value));
    previous?.dispose();
  }

  /** Sum `grad` in (the sink takes it over and keeps it past the backward pass's scopes). */
  add(variable: tf.Variable, grad: tf.Tensor): void {
    addGradient(this.grads, variable, tf.keep(grad));
  }

  /** The value collected so far (the caller owns it; null if none), resetting it. */
  takeValue(): tf.Scalar | null {
    const value = this.value;
    this.value = null;
    return value;
  }

  dispose(): void {
    this.value?.dispose();
    tf.dispose([...this.grads.values()]);
    this.grads.clear();
  }
}

interface EngineState {
  activeTape: unknown;
  gradientDepth: number;
}

/** A complete gradient computation run from inside another's backward pass. */
function nestedGradients(f: () => tf.Scalar, xs: tf.Tensor[]): { value: tf.Scalar; grads: tf.Tensor[] } {
  const engine = tf.engine() as unknown as { state: EngineState; gradients: (f: () => tf.Scalar, xs: tf.Tensor[]) => { value: tf.Scalar; grads: tf.Tensor[] } };
  const outer = engine.state.activeTape;
  if (engine.state.gradientDepth !== 0) throw new Error('lean loss parts run only inside a first-order backward pass');
  try {
    return engine.gradients(f, xs);
  } finally {
    // The inner call ends by dropping "the" tape; the outer backward pass still needs its own.
    engine.state.activeTape = outer;
  }
}

/**
 * The weighted sum of `parts` on h, to add to a module's objective inside its gradient tape.
 * Reference: built in the tape. Lean: the returned scalar is 0 in value (the true value lands in
 * the sink during the backward pass) and the part variables' gradients land in `sink`.
 */
export function partsObjective(h: tf.Tensor4D, parts: readonly LossPart[], execution: Execution, sink: GradientSink): tf.Scalar {
  const active = parts.filter((p) => p.weight !== 0);
  // Every weight 0 (the code's schedules reach (0, 0)): the module's gradient is zero, not absent,
  // as PyTorch's 0 * loss gives, so weight decay and momentum still move it.
  if (active.length === 0) return tf.tidy(() => tf.mul(tf.sum(h), 0) as tf.Scalar);
  if (execution === 'reference') {
    return tf.tidy(() => active.reduce<tf.Scalar>((sum, p) => tf.add(sum, tf.mul(p.loss(h), p.weight)), tf.scalar(0)));
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([input]);
    return {
      value: tf.scalar(0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const hIn = saved[0] as tf.Tensor4D;
        let dh: tf.Tensor | undefined;
        for (const part of active) {
          // dy scales the parts as the outer objective does, so value is their share of its value.
          const { value, grads } = nestedGradients(() => tf.mul(part.loss(hIn), tf.mul(dy, part.weight)) as tf.Scalar, [hIn, ...part.variables]);
          sink.addValue(value);
          value.dispose();
          const [dPart, ...varGrads] = grads;
          part.variables.forEach((v, i) => {
            if (varGrads[i]) sink.add(v, varGrads[i]!);
          });
          const next = dh ? tf.add(dh, dPart!) : dPart!;
          if (dh) tf.dispose([dh, dPart!]);
          dh = next;
        }
        return [dh!];
      },
    };
  });
  return op(h) as tf.Scalar;
}
