/**
 * A new user, by pointing and clicking only: cuts ResNet-8 three times in the split editor,
 * launches a one-epoch InfoPro run on a small MNIST subset with its end-to-end baseline, watches
 * both train to the end with their curves drawn, and exports the InfoPro model to a folder whose
 * model, loaded in TF.js, classifies the test digits exactly as well as the run reported.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { formatBytes } from '../../renderer/src/format';
import { expect, keepScreenshot, test } from './fixtures';

const TEST_IMAGES = 200;

test('splits ResNet-8, trains InfoPro and its baseline, watches them finish, exports the model', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(240_000);
  await page.goto(studio.url);
  await page.getByTestId('workspace-nav').getByText('Split editor').click();
  const editor = page.getByTestId('workspace-split');
  const cutJson = editor.getByTestId('split-json').locator('input');
  await expect(editor.getByTestId('unit-4')).toContainText('Head');

  // Three cuts: two by keyboard (Space on a focused gap, arrows to move), one by mouse.
  await editor.getByTestId('gap-0-0').focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await editor.getByTestId('gap-2-0').click();
  await expect(editor.getByTestId('gap-1-0')).toHaveAttribute('aria-pressed', 'true');
  await expect(cutJson).toHaveValue('[[0,0],[1,0],[2,0]]');
  await expect(editor.getByTestId('split-modules').locator('[data-testid^="module-"]')).toHaveCount(4);
  await expect(editor.getByTestId('unit-3')).toHaveAttribute('data-module', '3');
  // Undo and redo the last cut.
  await editor.getByTestId('split-undo').click();
  await expect(cutJson).toHaveValue('[[0,0],[1,0]]');
  await page.keyboard.press('Control+y');
  await expect(cutJson).toHaveValue('[[0,0],[1,0],[2,0]]');
  // A real measurement beside the estimate: one training step of the split and one of end-to-end.
  const [measureResponse] = await Promise.all([
    page.waitForResponse((r) => decodeURIComponent(new URL(r.url()).pathname) === '/api/call/splits:measure', { timeout: 60_000 }),
    editor.getByTestId('split-measure').click(),
  ]);
  await expect(editor.getByTestId('split-measured')).toContainText('Measured: the peak of one real training step each on wasm', { timeout: 60_000 });
  // The bars show the worker's measurement itself: a real peak (weights alone are over 0.3 MiB), the split's and end-to-end's.
  const probe = ((await measureResponse.json()) as { result: { peakBytes: number; endToEndPeakBytes: number; modulePeakBytes: number[] } }).result;
  expect(probe.peakBytes).toBeGreaterThan(2 ** 20);
  expect(probe.modulePeakBytes).toHaveLength(4);
  await expect(editor.getByTestId('split-measured-peak')).toHaveText(formatBytes(probe.peakBytes));
  await expect(editor.getByTestId('e2e-measured-peak')).toHaveText(formatBytes(probe.endToEndPeakBytes));
  // An impossible pasted split explains itself and changes nothing.
  await cutJson.fill('[[3,0]]');
  await editor.getByTestId('split-json-apply').click();
  await expect(editor).toContainText('Cut [3, 0] is the end of the network');
  await expect(editor.getByTestId('split-modules').locator('[data-testid^="module-"]')).toHaveCount(4);
  await keepScreenshot(page, 'split-editor');

  await editor.getByTestId('split-train').click();
  const launch = page.getByTestId('launch-dialog');
  await expect(launch.getByTestId('launch-split')).toContainText('ResNet-8, 3 cuts');
  await launch.getByTestId('launch-batch').locator('input').fill('32');
  await launch.getByTestId('launch-train-limit').locator('input').fill('96');
  await launch.getByTestId('launch-test-limit').locator('input').fill(String(TEST_IMAGES));
  // Bad input is refused before anything is sent.
  await launch.getByTestId('launch-seeds').locator('input').fill('one');
  await launch.getByTestId('launch-submit').click();
  await expect(launch.locator('.n-form-item', { has: page.getByTestId('launch-seeds') }).locator('.n-form-item-feedback--error')).toContainText('Seeds: give whole numbers');
  await launch.getByTestId('launch-seeds').locator('input').fill('0');
  await expect(launch.getByTestId('launch-submit')).toHaveText('Queue 2 runs');
  await keepScreenshot(page, 'launcher');
  await launch.getByTestId('launch-submit').click();

  // The dashboard of the first run (InfoPro) opens; both runs go through the queue to done.
  await expect(page).toHaveURL(/#\/training\?run=\d+$/);
  const infoproId = Number(new URL(page.url().replace('#/', '')).searchParams.get('run'));
  const dashboard = page.getByTestId(`run-dashboard-${infoproId}`);
  await expect(dashboard).toHaveAttribute('data-status', 'done', { timeout: 180_000 });
  await expect(dashboard.getByTestId('run-backend')).toHaveText('wasm');
  await expect(dashboard.getByTestId('chart-loss').locator('canvas')).toBeVisible();
  await expect(dashboard.getByTestId('chart-loss')).toHaveAttribute('data-points', '12'); // 4 modules x 3 steps
  await expect(dashboard.getByTestId('chart-accuracy').locator('canvas')).toBeVisible();
  await expect(dashboard.getByTestId('chart-memory')).toHaveAttribute('data-points', '4');
  // The measured peak shown is the one the run committed to the database (its whole step, and the run's summary).
  const db = new Database(studio.dbPath, { readonly: true });
  const stepPeak = (db.prepare('SELECT peak_bytes FROM memory_samples WHERE run_id = ? AND module IS NULL').get(infoproId) as { peak_bytes: number }).peak_bytes;
  const modulePeaks = db.prepare('SELECT peak_bytes FROM memory_samples WHERE run_id = ? AND module IS NOT NULL').all(infoproId) as { peak_bytes: number }[];
  expect((db.prepare('SELECT peak_bytes FROM runs WHERE id = ?').get(infoproId) as { peak_bytes: number }).peak_bytes).toBe(stepPeak);
  db.close();
  expect(modulePeaks).toHaveLength(4);
  expect(stepPeak).toBeGreaterThanOrEqual(Math.max(...modulePeaks.map((m) => m.peak_bytes)));
  await expect(dashboard.getByText(/^Whole step:/)).toHaveText(`Whole step: ${formatBytes(stepPeak)} (tf.profile peakBytes).`);
  await expect(dashboard.getByTestId('run-progress')).toHaveAttribute('aria-valuenow', '100');
  const reported = /Test accuracy (\d+\.\d\d)%/.exec((await dashboard.getByTestId('run-test-accuracy').textContent())!)![1]!;
  await keepScreenshot(page, 'dashboard-infopro');

  const baselineId = infoproId + 1;
  await page.getByTestId(`recent-${baselineId}`).click();
  const baseline = page.getByTestId(`run-dashboard-${baselineId}`);
  await expect(baseline).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(baseline.getByTestId('chart-loss')).toHaveAttribute('data-points', '3'); // one module
  await expect(baseline).toContainText('End-to-end');
  // It keeps its state across a reload.
  await page.reload();
  await expect(page.getByTestId(`run-dashboard-${baselineId}`)).toHaveAttribute('data-status', 'done');
  await keepScreenshot(page, 'dashboard-baseline');

  // Export the InfoPro model into a new folder.
  await page.getByTestId(`recent-${infoproId}`).click();
  await page.getByTestId(`run-dashboard-${infoproId}`).getByTestId('run-export').click();
  const exportDialog = page.getByTestId('export-dialog');
  await expect(exportDialog).toContainText('Left out: the auxiliary networks');
  await exportDialog.getByTestId('export-folder').locator('input').fill('models/relative');
  await exportDialog.getByTestId('export-submit').click();
  await expect(exportDialog).toContainText('must be an absolute path');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-export-')), 'infopro');
  await exportDialog.getByTestId('export-folder').locator('input').fill(out);
  await exportDialog.getByTestId('export-submit').click();
  await expect(exportDialog.getByTestId('export-dir')).toHaveText(out);
  await keepScreenshot(page, 'export');
  expect(fs.readdirSync(out).sort()).toEqual(['card.json', 'group1-shard1of1.bin', 'model.json']);

  // The exported model, loaded in TF.js, scores what the run reported on the same test digits.
  const scored = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'test/helpers/score-exported.ts', out, String(TEST_IMAGES)], { encoding: 'utf8' });
  expect(scored.status, scored.stderr).toBe(0);
  const { accuracy, images } = JSON.parse(scored.stdout.trim().split('\n').at(-1)!) as { accuracy: number; images: number };
  expect(images).toBe(TEST_IMAGES);
  expect((accuracy * 100).toFixed(2)).toBe(reported);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  expect(consoleErrors).toEqual([]);
});
