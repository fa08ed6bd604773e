/** Answers applied newest-first (renderer/src/stores/newest-wins.ts), in the orders the web host can give them. */
import { describe, expect, it } from 'vitest';
import { newestWins } from '../../../renderer/src/stores/newest-wins';

describe('newestWins', () => {
  it('drops an answer to an older request that arrives after a newer one was applied', () => {
    const answers = newestWins();
    const listing = answers.take('queue'); // jobs:status sent
    const reorder = answers.take('queue'); // jobs:reorder sent after it
    expect(reorder()).toBe(true); // the reorder answers first
    expect(listing()).toBe(false); // the old order must not come back
  });

  it('applies answers that come back in order, and keeps keys apart', () => {
    const answers = newestWins();
    const a = answers.take('memory');
    const b = answers.take('memory');
    const other = answers.take('run 3');
    expect(a()).toBe(true);
    expect(b()).toBe(true);
    expect(other()).toBe(true);
  });

  it('a stamp taken before a listing guards every row it brings back', () => {
    const answers = newestWins();
    const sent = answers.stamp(); // runs:list sent
    const row = answers.take('run 7'); // runs:get for run 7 sent later
    expect(row()).toBe(true); // and answered first
    expect(answers.accept('run 7', sent)).toBe(false);
    expect(answers.accept('run 8', sent)).toBe(true);
  });
});
