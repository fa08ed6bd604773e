import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRAINABLE_METHODS } from '../../../shared/engine/config';
import { GLOSSARY, type GlossaryTerm, methodTerm } from '../../../renderer/src/help/glossary';

/** Every .vue file of the renderer, read as text. */
function vueSources(dir = 'renderer/src'): string {
  return fs.readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? vueSources(path.join(dir, e.name)) : e.name.endsWith('.vue') ? fs.readFileSync(path.join(dir, e.name), 'utf8') : '')).join('\n');
}

describe('glossary', () => {
  it('explains every local method the launcher offers', () => {
    for (const method of TRAINABLE_METHODS.filter((m) => m !== 'e2e')) expect(methodTerm(method), method).not.toBeNull();
    expect(methodTerm('e2e')).toBeNull();
  });

  it('has every entry placed beside its word somewhere in the UI', () => {
    const sources = vueSources();
    const viaMethod = new Set(TRAINABLE_METHODS.map(methodTerm).filter((t): t is GlossaryTerm => t !== null));
    const placed = (term: string) => sources.includes(`term="${term}"`) || sources.includes(`term: '${term}'`) || (viaMethod.has(term as GlossaryTerm) && sources.includes(':term="methodTerm('));
    expect(Object.keys(GLOSSARY).filter((term) => !placed(term))).toEqual([]);
  });

  it('keeps each explanation short enough for a tooltip', () => {
    for (const [key, entry] of Object.entries(GLOSSARY)) expect(entry.text.length, key).toBeLessThan(400);
  });
});
