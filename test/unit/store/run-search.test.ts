/** Search words match a run's name, notes, tags and the settings its method uses, on a real SQLite file. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainConfig } from '../../../shared/engine/config';
import { Store } from '../../../main/store';
import { foldWords, matchesAll, searchNeedles, settingsText } from '../../../main/store/run-search';
import { useTempDir } from '../../helpers/temp';

describe('run search', () => {
  const tmp = useTempDir();

  it('finds a method only in its own runs, though every stored config carries every method block', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const project = store.projects.create({ name: 'p' });
    const experiment = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
    const add = (name: string, input: Record<string, unknown>, cuts: number[][]) => {
      // As the job system stores them: the validated config with every default filled in, plus the cuts.
      const config = { ...trainConfig.parse(input), cuts };
      expect(config).toHaveProperty('infopro.lossMode', 'contrast');
      return store.runs.create({ experimentId: experiment.id, name, kind: 'local-learning', config, seed: config.seed });
    };
    add('run a', { method: 'e2e', seed: 0 }, []);
    add('run b', { method: 'infopro', seed: 0, split: [[1, 0], [2, 0]] }, [[1, 0], [2, 0]]);
    add('run c', { method: 'infopro', seed: 1, split: [[1, 0], [2, 0]] }, [[1, 0], [2, 0]]);
    const tagged = add('run d', { method: 'dgl+hpff', seed: 10, epochs: 1 }, [[1, 0]]);
    store.runs.tag(tagged.id, ['paper'], []);
    store.runs.update(tagged.id, { notes: 'Cascade weights as the code' });
    const names = (text: string) => store.runs.list({ text, limit: 10, offset: 0, sort: 'name' }).runs.map((r) => r.name);

    expect(names('InfoPro')).toEqual(['run b', 'run c']);
    expect(names('seed 1')).toEqual(['run c']); // not seed 10, not "epochs 1"
    expect(names('infopro seed 0')).toEqual(['run b']);
    expect(names('K=3')).toEqual(['run b', 'run c']);
    expect(names('end-to-end')).toEqual(['run a']);
    expect(names('contrast')).toEqual(['run b', 'run c']); // InfoPro's loss mode: only where InfoPro trains
    expect(names('pff code')).toEqual(['run d']); // HPFF's setting on the HPFF run
    expect(names('HPFF paper cascade')).toEqual(['run d']); // method, tag and notes together
    expect(names('info')).toEqual(['run b', 'run c']); // a word's start
    expect(names('nothing-like-this')).toEqual([]);
    store.close();
  });

  it('folds text to words and makes name-value pairs one term', () => {
    expect(foldWords('InfoPro+HPFF K=4 · lr 0.1.')).toBe('infopro hpff k 4 lr 0.1');
    expect(searchNeedles('seed 1 infopro')).toEqual([' seed 1 ', ' infopro']);
    expect(searchNeedles('50%_')).toEqual([' 50 ']);
    expect(matchesAll(' infopro k 3 seed 10 ', searchNeedles('seed 1'))).toBe(false);
    expect(matchesAll(' infopro k 3 seed 1 ', searchNeedles('Info seed 1'))).toBe(true);
    expect(settingsText({ method: 'e2e', depth: 8, seed: 2, infopro: { lossMode: 'contrast' } })).not.toContain('contrast');
    // A nested seed (the data split's) is named with its block: "seed 7" is the run's seed only.
    const text = ` ${foldWords(settingsText({ method: 'dgl', depth: 8, seed: 2, dataSplit: { seed: 7 } }))} `;
    expect(matchesAll(text, searchNeedles('seed 2'))).toBe(true);
    expect(matchesAll(text, searchNeedles('seed 7'))).toBe(false);
    expect(matchesAll(text, searchNeedles('datasplit'))).toBe(true);
    expect(matchesAll(` ${foldWords(settingsText({ method: 'infopro', infopro: { lossMode: 'contrast' } }))} `, searchNeedles('lossmode contrast'))).toBe(true);
  });
});
