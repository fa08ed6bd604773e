/**
 * Remote workers in the UI, all real: a redis-server on a loopback port and a `blockwise worker`
 * process (dist/main/blockwise.cjs). The user adds the queue under Training > Remote workers
 * (a malformed URL explained, the connection tested), sees the worker listed, launches a run on
 * the remote queue from the launcher and watches its dashboard to the end.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { startRedis } from '../unit/remote/fixtures';
import { callApi, expect, keepScreenshot, test } from './fixtures';

test('adds the remote queue in settings, launches a run on it and watches its dashboard', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(150_000);
  const redis = await startRedis();
  const worker = spawn(process.execPath, ['dist/main/blockwise.cjs', 'worker', '--redis', redis.url, '--name', 'gpu-box-1', '--backend', 'wasm'], { stdio: 'ignore' });
  const workerExited = new Promise((resolve) => worker.once('exit', resolve));
  try {
    await page.goto(`${studio.url}#/training`);
    const panel = page.getByTestId('remote-workers-panel');
    const url = panel.getByTestId('remote-url').locator('input');
    // A URL that is not one is explained, and nothing is kept.
    await url.fill('localhost:6379');
    await panel.getByTestId('remote-test').click();
    await expect(panel.getByTestId('remote-message')).toContainText('write it as redis://HOST:PORT');
    await url.fill(redis.url);
    await panel.getByTestId('remote-test').click();
    await expect(panel.getByTestId('remote-message')).toContainText(/Redis \d+\.\d+\.\d+ answered in \d+\.\d ms/);
    await panel.getByTestId('remote-save').click();
    await expect(panel.getByTestId('remote-connection')).toHaveText('connected');
    await expect(panel.getByTestId('remote-url-shown')).toHaveText(redis.url);
    const listed = panel.getByTestId('remote-worker-gpu-box-1');
    await expect(listed).toContainText(`${os.hostname()} · wasm`, { timeout: 30_000 });
    await expect(listed).toContainText('idle');
    await expect(listed).toContainText(/\d+ s ago/);
    await keepScreenshot(page, 'remote-workers');

    // Launch from the split editor onto the remote queue.
    await page.getByTestId('workspace-nav').getByText('Split editor').click();
    const editor = page.getByTestId('workspace-split');
    await editor.getByTestId('gap-1-0').click();
    await editor.getByTestId('split-train').click();
    const launch = page.getByTestId('launch-dialog');
    await launch.getByTestId('launch-batch').locator('input').fill('32');
    await launch.getByTestId('launch-train-limit').locator('input').fill('64');
    await launch.getByTestId('launch-test-limit').locator('input').fill('100');
    await launch.getByTestId('launch-seeds').locator('input').fill('0');
    await launch.getByTestId('launch-baseline').click(); // the end-to-end baseline is on by default
    await launch.getByTestId('launch-target').click();
    await page.getByText('Remote queue (1 worker)').click();
    await expect(launch.getByTestId('launch-submit')).toHaveText('Queue 1 run');
    await launch.getByTestId('launch-submit').click();

    // Its dashboard, fed from the worker through Redis, to the end.
    await expect(page).toHaveURL(/#\/training\?run=\d+$/);
    const runId = Number(new URL(page.url().replace('#/', '')).searchParams.get('run'));
    const dashboard = page.getByTestId(`run-dashboard-${runId}`);
    await expect(dashboard).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
    await expect(dashboard.getByTestId('run-backend')).toHaveText('wasm');
    await expect(dashboard.getByTestId('chart-loss')).toHaveAttribute('data-points', '4'); // 2 modules x 2 steps
    await expect(dashboard.getByTestId('run-test-accuracy')).toContainText(/Test accuracy \d+\.\d\d%/);
    const run = await callApi<{ environment: { worker?: string; host?: string } }>(studio, 'runs:get', { id: runId });
    expect(run.environment.worker).toBe('gpu-box-1');
    await expect(listed).toContainText('idle');
    await keepScreenshot(page, 'remote-dashboard');
    expect(consoleErrors).toEqual([]);
  } finally {
    worker.kill('SIGKILL');
    await workerExited;
    await redis.stop();
  }
});
