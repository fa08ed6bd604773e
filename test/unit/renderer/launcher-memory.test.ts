/** The launcher's remembered values: saved values over the defaults, bad ones ignored. */
import { describe, expect, it } from 'vitest';
import { launcherDefaults, restoreLauncher } from '../../../renderer/src/stores/launcher-memory';

describe('launcher memory', () => {
  it('restores what was left, key by key, over the defaults', () => {
    const form = restoreLauncher(JSON.stringify({ epochs: 3, trainLimit: 96, testLimit: null, seeds: '0, 1', infopro: { lossMode: 'cross_entropy' }, name: 'kept?' }));
    expect(form.epochs).toBe(3);
    expect(form.trainLimit).toBe(96);
    expect(form.testLimit).toBeNull();
    expect(form.seeds).toBe('0, 1');
    expect(form.infopro).toEqual({ auxConfig: '1c2f', lossMode: 'cross_entropy' });
    expect(form.name).toBe(''); // a run name is per launch
  });

  it('keeps the defaults for unreadable or mistyped values', () => {
    expect(restoreLauncher('{not json')).toEqual(launcherDefaults());
    expect(restoreLauncher(null)).toEqual(launcherDefaults());
    const form = restoreLauncher(JSON.stringify({ epochs: 'many', trainLimit: 'x', sweepMethods: 'dgl', unknown: 1 }));
    expect(form).toEqual(launcherDefaults());
  });
});
