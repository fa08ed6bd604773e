/**
 * How a run is told apart from the others it is compared with: one colour per run, the same in
 * every chart and in the table, kept while it stays ticked; and a short name for labels.
 */
import type { Run } from '../../../shared/api/schemas';

/** Ten colours distinct on light and dark backgrounds (Tableau 10). */
export const RUN_PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;

/**
 * Colours for the ticked runs: a run keeps the colour it had; a newly ticked run takes the first
 * colour nobody uses (the palette repeats only past ten runs).
 */
export function assignColours(previous: Readonly<Record<number, string>>, ids: readonly number[]): Record<number, string> {
  const next: Record<number, string> = {};
  for (const id of ids) if (previous[id]) next[id] = previous[id]!;
  for (const id of ids) {
    if (next[id]) continue;
    const used = new Set(Object.values(next));
    next[id] = RUN_PALETTE.find((c) => !used.has(c)) ?? RUN_PALETTE[Object.keys(next).length % RUN_PALETTE.length]!;
  }
  return next;
}

/**
 * A run's short name for chart labels and legends: its id and the first part of its name (default
 * names start with method, K and seed), at most `max` characters.
 */
export function shortName(run: Pick<Run, 'id' | 'name'>, max = 32): string {
  const head = run.name.split(' · ')[0]!.trim();
  const text = `#${run.id} ${head}`;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
