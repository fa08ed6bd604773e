/** Progress to the windows at most once per interval and run, the first at once and the last never lost (main/jobs/progress-throttle.ts). */
import { describe, expect, it } from 'vitest';
import { progressThrottle } from '../../../main/jobs/progress-throttle';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('progressThrottle', () => {
  it('sends the first step at once, then the latest at most once per interval, per run', async () => {
    const sent: [number, number][] = [];
    const throttle = progressThrottle<number>((run, step) => sent.push([run, step]), 300);
    for (let step = 1; step <= 200; step++) throttle.push(1, step);
    throttle.push(2, 1);
    expect(sent).toEqual([[1, 1], [2, 1]]);
    await expect.poll(() => sent.length, { timeout: 2000 }).toBe(3);
    expect(sent[2]).toEqual([1, 200]); // the latest of the burst, once
    throttle.push(1, 201); // within the interval of that send: held
    expect(sent.length).toBe(3);
    await expect.poll(() => sent.at(-1), { timeout: 2000 }).toEqual([1, 201]);
    expect(sent.length).toBe(4);
    throttle.close();
  });

  it('flush sends what is pending now (before the run\'s change), end forgets the run, close stops every timer', async () => {
    const sent: number[] = [];
    const throttle = progressThrottle<number>((_run, step) => sent.push(step), 1000);
    throttle.push(1, 1);
    throttle.push(1, 2);
    throttle.flush(1);
    expect(sent).toEqual([1, 2]);
    throttle.flush(1); // nothing pending: nothing sent twice
    expect(sent).toEqual([1, 2]);
    throttle.push(1, 3);
    throttle.end(1);
    expect(sent).toEqual([1, 2, 3]);
    throttle.push(1, 4); // a run started again is new: its first event goes at once
    expect(sent).toEqual([1, 2, 3, 4]);
    throttle.push(1, 5);
    throttle.close();
    await sleep(30);
    expect(sent).toEqual([1, 2, 3, 4]);
  });
});
