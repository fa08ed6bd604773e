import { describe, expect, it } from 'vitest';
import { trainConfig } from '../../../shared/engine/config';
import { sortProblems } from '../../../renderer/src/help/field-problems';

const base = { dataset: 'mnist', depth: 8, method: 'e2e', split: [] };
const issuesOf = (config: object) => {
  const parsed = trainConfig.safeParse({ ...base, ...config });
  if (parsed.success) throw new Error('expected the config to be refused');
  return parsed.error.issues;
};

describe('launcher problems in plain words', () => {
  it('says what to enter beside each field, never the schema’s words', () => {
    const { fields, general } = sortProblems(issuesOf({ epochs: null, batchSize: 2.5, lr: 0, seed: Number.NaN, trainLimit: -1 }));
    expect(fields).toEqual({
      epochs: 'Epochs: enter a number (the field is empty or not a number).',
      batchSize: 'Batch size: enter a whole number.',
      lr: 'Learning rate: enter a number above 0.',
      seeds: 'Seeds: enter a number (the field is empty or not a number).',
      trainLimit: 'Training images per epoch: enter a number above 0.',
    });
    expect(general).toEqual([]);
    expect(JSON.stringify(fields)).not.toMatch(/expected|received|NaN|Invalid/);
  });

  it('says a slip once however many runs repeat it', () => {
    const issues = [...issuesOf({ epochs: 0, seed: 1 }), ...issuesOf({ epochs: 0, seed: 2 }), ...issuesOf({ epochs: 0, seed: 3 })];
    expect(issues).toHaveLength(3);
    expect(sortProblems(issues).fields).toEqual({ epochs: 'Epochs: enter 1 or more.' });
  });

  it('keeps the engine’s own refusals, which are written for people, and puts unmapped paths in the general list', () => {
    const { fields } = sortProblems(issuesOf({ stages: 2, workers: 2 }));
    expect(fields.workers).toMatch(/^Data-parallel workers \(2\) and module-parallel stages \(2\) cannot be combined/);
    const { general } = sortProblems([{ code: 'too_big', path: ['infopro', 'lambdas', 'ixx1'], message: 'x', maximum: 1, origin: 'number' }]);
    expect(general).toEqual(['infopro.lambdas.ixx1: enter 1 or less.']);
  });
});
