/**
 * The job queue's controls, clicked in the Training workspace: move a waiting run up, raise how
 * many runs train at once, cancel a waiting run and a training one. After each click the host's
 * queue (jobs:status) and the database say the same as the screen.
 */
import Database from 'better-sqlite3';
import { callApi, expect, keepScreenshot, newExperiment, test } from './fixtures';

// Long enough (5 epochs of 500 steps, minutes) to still be training when the test acts; every run is cancelled before it ends.
const LONG = { dataset: 'mnist', method: 'e2e', epochs: 5, batchSize: 16, testLimit: 16, backend: 'wasm' };

interface JobsStatus {
  concurrency: number;
  running: number[];
  queued: number[];
}

test('reorders the queue, raises concurrency and cancels runs from the UI; the host and database follow', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(90_000);
  const experimentId = await newExperiment(studio);
  const start = async (name: string) => (await callApi<{ id: number }>(studio, 'runs:start', { experimentId, name, config: LONG })).id;
  const [a, b, c] = [await start('first'), await start('second'), await start('third')];
  const db = new Database(studio.dbPath, { readonly: true });
  const status = (id: number) => (db.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: string }).status;
  const queueInDb = () => (db.prepare("SELECT id FROM runs WHERE status = 'queued' ORDER BY coalesce(queue_position, id), id").all() as { id: number }[]).map((r) => r.id);
  const jobs = () => callApi<JobsStatus>(studio, 'jobs:status');

  await page.goto(`${studio.url}#/training?run=${a}`);
  const queue = page.getByTestId('queue');
  await expect(queue.locator('[data-testid^="queued-"]')).toHaveCount(2);
  expect(await jobs()).toEqual({ concurrency: 1, running: [a], queued: [b, c] });

  // Move the third run up: it now waits first, on screen, in the host's queue and in the database.
  await page.getByRole('button', { name: `Move run ${c} up` }).click();
  await expect(queue.locator('[data-testid^="queued-"]').first()).toHaveAttribute('data-testid', `queued-${c}`);
  expect((await jobs()).queued).toEqual([c, b]);
  expect(queueInDb()).toEqual([c, b]);

  // Two at once: the run now first in the queue starts beside the first.
  await page.getByTestId('queue-concurrency').locator('input').fill('2');
  await expect.poll(async () => (await jobs()).concurrency).toBe(2);
  await expect.poll(() => status(c), { timeout: 20_000 }).toBe('running');
  expect(await jobs()).toEqual({ concurrency: 2, running: [a, c], queued: [b] });
  expect(status(b)).toBe('queued');
  await keepScreenshot(page, 'queue-two-at-once');

  // Cancel the waiting run from its dashboard: cancelled at once, never started.
  await page.getByTestId(`queued-${b}`).click();
  await page.getByTestId(`run-dashboard-${b}`).getByTestId('run-cancel').click();
  await expect(page.getByTestId(`run-dashboard-${b}`)).toHaveAttribute('data-status', 'cancelled');
  expect(status(b)).toBe('cancelled');
  expect((db.prepare('SELECT started_at FROM runs WHERE id = ?').get(b) as { started_at: number | null }).started_at).toBeNull();

  // Cancel a training run: it stops after its current step, resumable, and leaves the host's running list.
  for (const id of [a, c]) {
    await page.getByTestId(`recent-${id}`).click();
    const dashboard = page.getByTestId(`run-dashboard-${id}`);
    await dashboard.getByTestId('run-cancel').click();
    await expect(dashboard).toHaveAttribute('data-status', 'cancelled', { timeout: 20_000 });
    await expect(dashboard.getByTestId('run-resume')).toBeVisible();
    expect(status(id)).toBe('cancelled');
  }
  expect(await jobs()).toEqual({ concurrency: 2, running: [], queued: [] });
  db.close();
  expect(consoleErrors).toEqual([]);
});
