/**
 * Per-epoch learning rate of the shared CIFAR/SVHN/STL recipe (../../../../shared/docs/methods.md
 * 0.4), read the way the reference code computes it: the epoch counter e runs 1..E and the rate
 * is set once at the start of each epoch.
 *
 * - cosine (`--cos_lr`): c(e) = ½·lr0·(1 + cos(π·e/E)); for e ≤ W (W = 10 warm-up epochs)
 *   lr = c(e)·(e−1)/W + 0.01·(W+1−e)/W, a linear blend from 0.01 into the cosine; else lr = c(e).
 * - step (no `--cos_lr`): lr0 multiplied by gamma (0.1) once for every milestone (80, 120) ≤ e.
 */

export interface LearningRateSchedule {
  kind: 'cosine' | 'step';
  /** Base learning rate (0.8 for batch 1024, 0.1 for batch 128 in the reference). */
  lr0: number;
  /** Total epochs E; the epoch argument runs 1..E. */
  epochs: number;
  /** Cosine only: linear warm-up epochs, default 10. 0 turns warm-up off. */
  warmupEpochs?: number;
  /** Step only: epochs at which the rate is multiplied by gamma, default [80, 120]. */
  milestones?: number[];
  /** Step only: the factor at each milestone, default 0.1. */
  gamma?: number;
}

export const DEFAULT_WARMUP_EPOCHS = 10;
export const DEFAULT_MILESTONES: readonly number[] = [80, 120];
export const DEFAULT_GAMMA = 0.1;
/** The rate the reference warm-up starts from (epoch 1 gives exactly this). */
export const WARMUP_START_LR = 0.01;

function validate(schedule: LearningRateSchedule): void {
  const { kind, lr0, epochs } = schedule;
  if (kind !== 'cosine' && kind !== 'step') throw new Error(`Unknown schedule kind '${String(kind)}' (expected 'cosine' or 'step')`);
  if (!Number.isFinite(lr0) || lr0 <= 0) throw new Error(`lr0 must be a positive finite number, got ${lr0}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs must be a positive integer, got ${epochs}`);
  if (kind === 'cosine') {
    const w = schedule.warmupEpochs ?? DEFAULT_WARMUP_EPOCHS;
    if (!Number.isInteger(w) || w < 0) throw new Error(`warmupEpochs must be a non-negative integer, got ${w}`);
  } else {
    const gamma = schedule.gamma ?? DEFAULT_GAMMA;
    if (!Number.isFinite(gamma) || gamma <= 0) throw new Error(`gamma must be a positive finite number, got ${gamma}`);
    for (const m of schedule.milestones ?? DEFAULT_MILESTONES) {
      if (!Number.isInteger(m) || m < 1) throw new Error(`milestones must be positive integers, got ${m} in [${String(schedule.milestones)}]`);
    }
  }
}

/** The learning rate for epoch `epoch` (1-based, 1..E, as the reference counts). */
export function learningRate(schedule: LearningRateSchedule, epoch: number): number {
  validate(schedule);
  const { lr0, epochs } = schedule;
  if (!Number.isInteger(epoch) || epoch < 1 || epoch > epochs) throw new Error(`epoch must be an integer in 1..${epochs}, got ${epoch}`);
  if (schedule.kind === 'step') {
    const gamma = schedule.gamma ?? DEFAULT_GAMMA;
    const drops = (schedule.milestones ?? DEFAULT_MILESTONES).filter((m) => m <= epoch).length;
    // Multiplicative drops, as the reference's loop `lr *= 0.1` per passed milestone.
    let lr = lr0;
    for (let i = 0; i < drops; i++) lr *= gamma;
    return lr;
  }
  const w = schedule.warmupEpochs ?? DEFAULT_WARMUP_EPOCHS;
  const c = 0.5 * lr0 * (1 + Math.cos((Math.PI * epoch) / epochs));
  if (epoch <= w) return (c * (epoch - 1)) / w + (WARMUP_START_LR * (w + 1 - epoch)) / w;
  return c;
}

/** One line for the UI, e.g. "cosine from 0.8 over 160 epochs, 10-epoch linear warm-up from 0.01". */
export function describeSchedule(schedule: LearningRateSchedule): string {
  validate(schedule);
  const { lr0, epochs } = schedule;
  if (schedule.kind === 'cosine') {
    const w = schedule.warmupEpochs ?? DEFAULT_WARMUP_EPOCHS;
    const warmup = w > 0 ? `, ${w}-epoch linear warm-up from ${WARMUP_START_LR}` : ', no warm-up';
    return `cosine from ${lr0} over ${epochs} epochs${warmup}`;
  }
  const milestones = schedule.milestones ?? DEFAULT_MILESTONES;
  const gamma = schedule.gamma ?? DEFAULT_GAMMA;
  const drops = milestones.length > 0 ? `×${gamma} at epoch${milestones.length > 1 ? 's' : ''} ${milestones.join(', ')}` : 'no drops';
  return `step from ${lr0} over ${epochs} epochs, ${drops}`;
}

/**
 * The cosine schedule evaluated at every step, over the run's own length: `position` is the
 * number of epochs completed so far (0 at the first step, just under E at the last). The
 * reference sets c(e) at the start of epoch e = 1..E, so its last epoch trains at lr 0; over
 * 160 epochs that is negligible, but a 1- or 2-epoch run would barely train. This reading starts
 * at lr0 and reaches 0 only after the last step; warm-up blends in from WARMUP_START_LR over
 * `warmupEpochs` as the reference's does.
 */
export function cosineAt(lr0: number, epochs: number, warmupEpochs: number, position: number): number {
  if (!(lr0 > 0)) throw new RangeError(`lr0 must be positive, got ${lr0}`);
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new RangeError(`epochs must be a whole number of at least 1, got ${epochs}`);
  if (!(position >= 0 && position <= epochs)) throw new RangeError(`position must lie in 0..${epochs} epochs, got ${position}`);
  const cosine = 0.5 * lr0 * (1 + Math.cos((Math.PI * position) / epochs));
  if (warmupEpochs <= 0 || position >= warmupEpochs) return cosine;
  const r = position / warmupEpochs;
  return cosine * r + WARMUP_START_LR * (1 - r);
}
