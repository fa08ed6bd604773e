/**
 * Training on an imported data set through the UI, not the built-in MNIST: tiny CIFAR-10 files
 * in the real binary format (with the set's own class names) are registered, chosen in the
 * split editor, launched from the launcher, trained to done on the dashboard and exported; the
 * model card names the registered set and its classes, and the accuracy the dashboard shows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { patternSamples, writeCifar10 } from '../helpers/dataset-files';
import { callApi, expect, keepScreenshot, test } from './fixtures';

const CLASS_NAMES = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'lorry'];

test('trains and exports a greedy run on imported CIFAR-10 files, launched from the UI', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(90_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-cifar-'));
  // Two training and one test image per class: every class in both splits.
  writeCifar10(dir, { train: patternSamples(20, 32, 32), test: patternSamples(10, 32, 32, 10, 100) }, { classNames: CLASS_NAMES });
  const dataset = await callApi<{ id: string; classes: string[] }>(studio, 'datasets:import', { path: dir, name: 'tiny CIFAR' });
  expect(dataset.classes).toEqual(CLASS_NAMES);

  await page.goto(studio.url);
  await page.getByTestId('workspace-nav').getByText('Split editor').click();
  const editor = page.getByTestId('workspace-split');
  await editor.getByTestId('split-dataset').click();
  await page.locator('.n-base-select-option', { hasText: 'tiny CIFAR' }).click();
  await editor.getByTestId('gap-1-0').click();
  await expect(editor.getByTestId('split-json').locator('input')).toHaveValue('[[1,0]]');
  await editor.getByTestId('split-train').click();

  const launch = page.getByTestId('launch-dialog');
  await expect(launch.getByTestId('launch-dataset')).toContainText('tiny CIFAR');
  await launch.getByTestId('launch-method').click();
  await page.locator('.n-base-select-option', { hasText: /^Greedy/ }).click();
  await launch.getByTestId('launch-baseline').click(); // this run only
  await launch.getByTestId('launch-batch').locator('input').fill('10');
  await launch.getByTestId('launch-train-limit').locator('input').fill('20');
  await expect(launch.getByTestId('launch-submit')).toHaveText('Queue 1 run');
  await launch.getByTestId('launch-submit').click();

  await expect(page).toHaveURL(/#\/training\?run=\d+$/);
  const runId = Number(new URL(page.url().replace('#/', '')).searchParams.get('run'));
  const dashboard = page.getByTestId(`run-dashboard-${runId}`);
  await expect(dashboard).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(dashboard.getByTestId('chart-loss')).toHaveAttribute('data-points', '4'); // 2 modules x 2 steps
  const shown = /Test accuracy (\d+\.\d\d)%/.exec((await dashboard.getByTestId('run-test-accuracy').textContent())!)![1]!;
  await keepScreenshot(page, 'imported-cifar-dashboard');

  // The run trained on the imported set, with the launcher's settings.
  const db = new Database(studio.dbPath, { readonly: true });
  const config = JSON.parse((db.prepare('SELECT config FROM runs WHERE id = ?').get(runId) as { config: string }).config) as Record<string, unknown>;
  db.close();
  expect(config).toMatchObject({ dataset: dataset.id, method: 'greedy', split: [[1, 0]], batchSize: 10, trainLimit: 20 });

  await dashboard.getByTestId('run-export').click();
  const exportDialog = page.getByTestId('export-dialog');
  const out = path.join(dir, 'model');
  await exportDialog.getByTestId('export-folder').locator('input').fill(out);
  await exportDialog.getByTestId('export-submit').click();
  await expect(exportDialog.getByTestId('export-dir')).toHaveText(out);
  const card = JSON.parse(fs.readFileSync(path.join(out, 'card.json'), 'utf8')) as Record<string, unknown>;
  expect(card).toMatchObject({ runId, method: 'greedy', dataset: { id: dataset.id, name: 'tiny CIFAR' }, classNames: CLASS_NAMES, classes: 10, inputShape: [32, 32, 3], testImages: 10, backend: 'wasm' });
  expect((100 * (card.testAccuracy as number)).toFixed(2)).toBe(shown);
  fs.rmSync(dir, { recursive: true, force: true });
  expect(consoleErrors).toEqual([]);
});
