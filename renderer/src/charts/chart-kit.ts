/**
 * Pieces every chart of the studio shares, as plain data: smoothing of noisy step curves, axes
 * whose titles are not clipped, integer step axes, and the zoom controls.
 */

/**
 * Exponential moving average as TensorBoard draws it (weight 0 = raw, 0.99 = very smooth), with
 * the start debiased so the curve does not begin near zero.
 */
export function smooth(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return [...values];
  let last = 0;
  let count = 0;
  return values.map((value) => {
    last = last * weight + (1 - weight) * value;
    count++;
    return last / (1 - weight ** count);
  });
}

/** A value axis titled along its side, far enough from the tick labels that the title is never cut. */
export function valueAxis(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'value', name, nameLocation: 'middle', nameGap: 44, nameTextStyle: { fontSize: 12 }, ...extra };
}

/** A step or epoch axis: whole numbers only (no 1.5, 2.5), titled below. */
export function countAxis(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'value', name, nameLocation: 'middle', nameGap: 26, minInterval: 1, axisLabel: { formatter: (v: number) => (Number.isInteger(v) ? String(v) : '') }, ...extra };
}

/** Wheel/drag zoom inside the plot plus a slider under it, on the x axis. */
export const X_ZOOM = [
  { type: 'inside', xAxisIndex: 0, filterMode: 'none' },
  { type: 'slider', xAxisIndex: 0, height: 16, bottom: 4, filterMode: 'none' },
] as const;

/** Room around a cartesian plot: y title at the left, slider at the bottom. */
export const GRID = { left: 64, right: 20, top: 16, bottom: 62 } as const;
