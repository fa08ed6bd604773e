/**
 * Edits of several runs at once (tags, notes) and one run's rename, as plans: what each run has
 * before and after, said in words before it is applied, and undone by applying the plan backwards.
 */
import type { Run } from '../../../shared/api/schemas';

export type BulkEdit =
  | { kind: 'add-tags'; tags: string[] }
  | { kind: 'remove-tags'; tags: string[] }
  | { kind: 'replace-notes'; notes: string }
  | { kind: 'append-notes'; notes: string }
  | { kind: 'rename'; name: string };

/** What a run's editable fields are. */
export interface Editable {
  id: number;
  name: string;
  notes: string;
  tags: string[];
}

export interface EditStep {
  id: number;
  before: Editable;
  after: Editable;
}

/** Tags as typed: separated by spaces or commas, each once. */
export const parseTags = (text: string): string[] => [...new Set(text.split(/[\s,]+/).filter(Boolean))];

const pick = (r: Pick<Run, 'id' | 'name' | 'notes' | 'tags'>): Editable => ({ id: r.id, name: r.name, notes: r.notes, tags: [...r.tags] });

/** The change of each run, leaving out runs it would not change. A rename applies to exactly one run. */
export function planEdit(runs: readonly Pick<Run, 'id' | 'name' | 'notes' | 'tags'>[], edit: BulkEdit): EditStep[] {
  if (edit.kind === 'rename' && runs.length !== 1) throw new Error(`Rename changes one run; ${runs.length} are ticked. Tick only the run to rename.`);
  return runs
    .map((run) => {
      const before = pick(run);
      const after = { ...before, tags: [...before.tags] };
      if (edit.kind === 'add-tags') after.tags = [...new Set([...before.tags, ...edit.tags])].sort();
      else if (edit.kind === 'remove-tags') after.tags = before.tags.filter((t) => !edit.tags.includes(t));
      else if (edit.kind === 'replace-notes') after.notes = edit.notes;
      else if (edit.kind === 'append-notes') after.notes = before.notes.trim() ? `${before.notes.trimEnd()}\n${edit.notes}` : edit.notes;
      else after.name = edit.name;
      return { id: run.id, before, after };
    })
    .filter((s) => JSON.stringify(s.before) !== JSON.stringify(s.after));
}

/** The plan that takes every run back to how it was. */
export const reversePlan = (steps: readonly EditStep[]): EditStep[] => steps.map((s) => ({ id: s.id, before: s.after, after: s.before }));

/**
 * In words: before it happens ("Add the tags paper, k3 to 2 runs; their other tags stay.") or,
 * with `done`, after ("Added the tags paper, k3 to 2 runs; their other tags stay.").
 */
export function describeEdit(edit: BulkEdit, ticked: number, changed: number, done = false): string {
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  const unchanged = ticked - changed;
  const rest = unchanged > 0 ? ` (${runs(unchanged)} unchanged)` : '';
  const verb = (now: string, past: string) => (done ? past : now);
  const plural = (tags: string[]) => `tag${tags.length === 1 ? '' : 's'} ${tags.join(', ')}`;
  switch (edit.kind) {
    case 'add-tags':
      return edit.tags.length ? `${verb('Add', 'Added')} the ${plural(edit.tags)} to ${runs(changed)}${rest}; their other tags stay.` : 'Type the tags to add.';
    case 'remove-tags':
      return edit.tags.length ? `${verb('Remove', 'Removed')} the ${plural(edit.tags)} from ${runs(changed)}${rest}.` : 'Type the tags to remove.';
    case 'replace-notes':
      return `${verb('Replace', 'Replaced')} the notes of ${runs(changed)}${rest}: what they said is overwritten (Undo brings it back).`;
    case 'append-notes':
      return `${verb('Add', 'Added')} this text at the end of the notes of ${runs(changed)}${rest}; what they said stays.`;
    case 'rename':
      return changed ? `${verb('Rename', 'Renamed')} this run.` : 'The name is unchanged.';
  }
}

/** The contract calls that apply one step: the name and notes in one update, tags as added and removed. */
export function stepCalls(step: EditStep): ({ op: 'runs:update'; input: { id: number; name?: string; notes?: string } } | { op: 'runs:tag'; input: { id: number; add: string[]; remove: string[] } })[] {
  const calls: ReturnType<typeof stepCalls> = [];
  const update: { id: number; name?: string; notes?: string } = { id: step.id };
  if (step.before.name !== step.after.name) update.name = step.after.name;
  if (step.before.notes !== step.after.notes) update.notes = step.after.notes;
  if (update.name !== undefined || update.notes !== undefined) calls.push({ op: 'runs:update', input: update });
  const add = step.after.tags.filter((t) => !step.before.tags.includes(t));
  const remove = step.before.tags.filter((t) => !step.after.tags.includes(t));
  if (add.length || remove.length) calls.push({ op: 'runs:tag', input: { id: step.id, add, remove } });
  return calls;
}
