/** Edits of several runs: planned per run, said in words, applied as contract calls and undone exactly. */
import { describe, expect, it } from 'vitest';
import { describeEdit, parseTags, planEdit, reversePlan, stepCalls } from '../../../renderer/src/compare/bulk-edit';

const runs = [
  { id: 1, name: 'InfoPro K=3 seed 0', notes: 'first', tags: ['paper'] },
  { id: 2, name: 'InfoPro K=3 seed 1', notes: '', tags: [] },
];

describe('bulk edit', () => {
  it('adds tags to every ticked run, keeping their own, and says so', () => {
    const steps = planEdit(runs, { kind: 'add-tags', tags: parseTags('paper, k3 k3') });
    expect(steps.map((s) => s.after.tags)).toEqual([['k3', 'paper'], ['k3', 'paper']]);
    expect(steps.map((s) => s.after.name)).toEqual(['InfoPro K=3 seed 0', 'InfoPro K=3 seed 1']);
    expect(describeEdit({ kind: 'add-tags', tags: ['paper', 'k3'] }, 2, 2)).toBe('Add the tags paper, k3 to 2 runs; their other tags stay.');
    expect(describeEdit({ kind: 'add-tags', tags: ['paper', 'k3'] }, 2, 2, true)).toBe('Added the tags paper, k3 to 2 runs; their other tags stay.');
    expect(stepCalls(steps[0]!)).toEqual([{ op: 'runs:tag', input: { id: 1, add: ['k3'], remove: [] } }]);
    expect(stepCalls(reversePlan(steps)[0]!)).toEqual([{ op: 'runs:tag', input: { id: 1, add: [], remove: ['k3'] } }]);
  });

  it('appends to or replaces notes, leaves unchanged runs out, and undoes to the old text', () => {
    const append = planEdit(runs, { kind: 'append-notes', notes: 'lr 0.1' });
    expect(append.map((s) => s.after.notes)).toEqual(['first\nlr 0.1', 'lr 0.1']);
    const replace = planEdit(runs, { kind: 'replace-notes', notes: 'first' });
    expect(replace.map((s) => s.id)).toEqual([2]); // run 1 already says exactly that
    expect(describeEdit({ kind: 'replace-notes', notes: 'first' }, 2, 1)).toContain('Replace the notes of 1 run (1 run unchanged)');
    expect(stepCalls(reversePlan(append)[0]!)).toEqual([{ op: 'runs:update', input: { id: 1, notes: 'first' } }]);
  });

  it('renames exactly one run', () => {
    expect(() => planEdit(runs, { kind: 'rename', name: 'x' })).toThrow(/Rename changes one run; 2 are ticked/);
    const [step] = planEdit([runs[1]!], { kind: 'rename', name: 'seed 1 again' });
    expect(stepCalls(step!)).toEqual([{ op: 'runs:update', input: { id: 2, name: 'seed 1 again' } }]);
  });
});
