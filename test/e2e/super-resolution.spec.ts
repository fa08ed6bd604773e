/**
 * Super-resolution as a task in the studio (issue 16), through the UI on a real web host: an
 * image folder of real photographs (the face-api demo photos, shrunk) is registered; the split
 * editor's task selector (by keyboard) swaps in the EDSR, which is cut by clicking a gap; the
 * launcher shows the super-resolution settings, refuses a bad one naming the field, and queues a
 * tiny GLCAN run; the dashboard shows the low-res / output / high-res preview and PSNR when it is
 * done, and the runs table shows that PSNR.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makePhotoFolder } from '../helpers/photo-folder';
import { callApi, expect, keepScreenshot, test } from './fixtures';

test('launches a tiny super-resolution run from the launcher and sees its preview and PSNR', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-sr-'));
  makePhotoFolder(dir, 48);
  const dataset = await callApi<{ id: string }>(studio, 'datasets:import', { path: dir, name: 'photos' });

  await page.goto(studio.url);
  await page.getByTestId('workspace-nav').getByText('Split editor').click();
  const editor = page.getByTestId('workspace-split');
  // The task selector is reachable by keyboard: focus the first task, arrow to the next.
  await editor.getByTestId('split-task-classification').locator('input').focus();
  await page.keyboard.press('ArrowRight');
  const panel = editor.getByTestId('sr-split');
  await expect(panel).toBeVisible();
  await panel.getByTestId('sr-features').locator('input').fill('8');
  await panel.getByTestId('sr-blocks').locator('input').fill('3');
  await panel.getByTestId('sr-blocks').locator('input').blur();
  await panel.getByTestId('sr-patch').locator('input').fill('12');
  await panel.getByTestId('sr-patch').locator('input').blur();
  // The default cut is after block 2 (index 1); a click adds one after block 1.
  await panel.getByTestId('sr-gap-0').click();
  await expect(panel.getByTestId('sr-gap-0')).toHaveAttribute('aria-pressed', 'true');
  await expect(panel.getByTestId('sr-modules').locator('[data-testid^="sr-module-"]')).toHaveCount(3);
  await expect(panel.getByTestId('sr-unit-0')).toContainText('Head');
  await expect(panel.getByTestId('sr-unit-5')).toContainText('Upsampler ×2');
  // One real step of this split and of end-to-end, measured in a worker.
  await panel.getByTestId('sr-measure-button').click();
  await expect(panel.getByTestId('sr-measured')).toContainText('Per module:', { timeout: 30_000 });
  await expect(panel.getByTestId('sr-measured-peak')).toHaveText(/\d/);
  await keepScreenshot(page, 'sr-split-editor');
  await editor.getByTestId('split-train').click();

  const launch = page.getByTestId('launch-dialog');
  await expect(launch.getByTestId('launch-task-super-resolution').locator('input')).toBeChecked();
  const fields = launch.getByTestId('launch-sr');
  await expect(fields.getByTestId('launch-sr-dataset')).toContainText('photos');
  await expect(fields.getByTestId('launch-sr-method')).toContainText('GLCAN (this studio\'s reading; the paper\'s v1 design is not public)');
  await expect(fields.getByTestId('launch-sr-cuts')).toHaveText('[0,1]');
  await fields.getByTestId('launch-sr-epochs').locator('input').fill('2');
  await fields.getByTestId('launch-sr-steps').locator('input').fill('3');
  await fields.getByTestId('launch-sr-batch').locator('input').fill('2');
  await fields.getByTestId('launch-sr-eval-crop').locator('input').fill('16');
  await fields.getByTestId('launch-sr-backend').click();
  await page.locator('.n-base-select-option', { hasText: /^wasm$/ }).click();
  // A patch larger than the photographs: the host refuses it naming the field, and nothing is queued.
  await fields.getByTestId('launch-sr-patch').locator('input').fill('40');
  await fields.getByTestId('launch-sr-patch').locator('input').blur();
  await launch.getByTestId('launch-submit').click();
  await expect(launch.getByTestId('launch-problems')).toContainText(/patch: .*48x48, smaller than one 40 px low-res patch at x2/);
  expect((await callApi<{ total: number }>(studio, 'runs:list', {})).total).toBe(0);
  await fields.getByTestId('launch-sr-patch').locator('input').fill('12');
  await fields.getByTestId('launch-sr-patch').locator('input').blur();
  await expect(launch.getByTestId('launch-submit')).toHaveText('Queue 1 run');
  await launch.getByTestId('launch-submit').click();

  await expect(page).toHaveURL(/#\/training\?run=\d+$/);
  const runId = Number(new URL(page.url().replace('#/', '')).searchParams.get('run'));
  const dashboard = page.getByTestId(`run-dashboard-${runId}`);
  await expect(dashboard).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  const run = await callApi<{ kind: string; config: Record<string, unknown>; summary: { psnr: number; ssim: number } }>(studio, 'runs:get', { id: runId });
  expect(run.kind).toBe('super-resolution');
  expect(run.config).toMatchObject({ dataset: dataset.id, method: 'glcan', scale: 2, features: 8, blocks: 3, cuts: [0, 1], patch: 12, epochs: 2, stepsPerEpoch: 3, batchSize: 2, evalCrop: 16, backend: 'wasm' });
  const psnr = run.summary.psnr.toFixed(2);
  await expect(dashboard.getByTestId('run-psnr')).toContainText(`PSNR-Y ${psnr} dB`);
  await expect(dashboard.getByTestId('chart-loss')).toHaveAttribute('data-points', '18'); // 3 modules x 6 steps
  // The preview of the last evaluation: three images, low-res 16 px, output and high-res 32 px.
  const preview = dashboard.getByTestId('sr-preview');
  await expect(preview).toHaveAttribute('data-epoch', '2');
  for (const [part, size] of [['lr', 16], ['sr', 32], ['hr', 32]] as const) {
    const image = preview.getByTestId(`sr-preview-${part}`).locator('img');
    await expect(image).toHaveAttribute('src', /^data:image\/png;base64,/);
    expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([size, size]);
  }
  await preview.screenshot({ path: test.info().outputPath('sr-preview.png') });
  await keepScreenshot(page, 'sr-dashboard');

  // The runs table (Compare) shows the run's task and PSNR.
  await page.getByTestId('workspace-nav').getByText('Compare').click();
  const row = page.getByTestId('runs-table').locator('tr', { has: page.getByTestId(`run-link-${runId}`) });
  await expect(row).toContainText(psnr);
  await expect(row).toContainText('Super-resolution');
  await expect(row).toContainText('GLCAN (our reading)');
  await keepScreenshot(page, 'sr-runs-table');
  fs.rmSync(dir, { recursive: true, force: true });
  expect(consoleErrors).toEqual([]);
});

test('launches a tiny detection run on the built-in MNIST canvases and sees its predicted boxes and mAP', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(120_000);
  await page.goto(studio.url);
  await page.getByTestId('workspace-nav').getByText('Split editor').click();
  const editor = page.getByTestId('workspace-split');
  await editor.getByTestId('split-task-detection').click();
  const panel = editor.getByTestId('det-split');
  await expect(panel).toBeVisible();
  const fill = async (testid: string, value: string) => {
    const input = panel.getByTestId(testid).locator('input');
    await input.fill(value);
    await input.blur();
  };
  await fill('det-canvas', '32');
  for (const s of [0, 1, 2, 3]) await fill(`det-width-${s}`, '4');
  await fill('det-fpn', '4');
  await fill('det-tower', '1');
  // The default cut is after backbone block 2 (index 1); a click adds one after block 1.
  await panel.getByTestId('det-gap-0').click();
  await expect(panel.getByTestId('det-modules').locator('[data-testid^="det-module-"]')).toHaveCount(3);
  await expect(panel.getByTestId('det-unit-0')).toContainText('Stem');
  await expect(panel.getByTestId('det-unit-5')).toContainText('FPN');
  await expect(panel.getByTestId('det-unit-6')).toContainText('FCOS head');
  await keepScreenshot(page, 'det-split-editor');
  await editor.getByTestId('split-train').click();

  const launch = page.getByTestId('launch-dialog');
  await expect(launch.getByTestId('launch-task-detection').locator('input')).toBeChecked();
  const fields = launch.getByTestId('launch-det');
  await expect(fields.getByTestId('launch-det-cuts')).toHaveText('[0,1]');
  const set = async (testid: string, value: string) => {
    const input = fields.getByTestId(testid).locator('input');
    await input.fill(value);
    await input.blur();
  };
  await set('launch-det-train', '16');
  await set('launch-det-test', '6');
  await set('launch-det-epochs', '2');
  await set('launch-det-steps', '2');
  await set('launch-det-batch', '4');
  await fields.getByTestId('launch-det-backend').click();
  await page.locator('.n-base-select-option', { hasText: /^wasm$/ }).click();
  // More canvases scored than exist: refused beside the field, nothing queued.
  await set('launch-det-eval', '10');
  await launch.getByTestId('launch-submit').click();
  await expect(fields.locator('.n-form-item-feedback--error')).toContainText('only 6 test canvases exist');
  expect((await callApi<{ total: number }>(studio, 'runs:list', {})).total).toBe(0);
  await set('launch-det-eval', '6');
  await launch.getByTestId('launch-submit').click();

  await expect(page).toHaveURL(/#\/training\?run=\d+$/);
  const runId = Number(new URL(page.url().replace('#/', '')).searchParams.get('run'));
  const dashboard = page.getByTestId(`run-dashboard-${runId}`);
  await expect(dashboard).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  const run = await callApi<{ kind: string; config: Record<string, unknown>; summary: { map: number; map50: number } }>(studio, 'runs:get', { id: runId });
  expect(run.kind).toBe('detection');
  expect(run.config).toMatchObject({ dataset: 'mnist-canvas', canvas: { size: 32, train: 16, test: 6 }, widths: [4, 4, 4, 4], fpn: 4, towerConvs: 1, method: 'glcan', cuts: [0, 1], epochs: 2, stepsPerEpoch: 2, batchSize: 4, evalImages: 6, backend: 'wasm' });
  const map = (100 * run.summary.map).toFixed(1);
  await expect(dashboard.getByTestId('run-map')).toContainText(`mAP@[.5:.95] ${map}`);
  // The preview: four test canvases with their true digits' boxes (every canvas holds 1 to 4).
  const preview = dashboard.getByTestId('det-preview');
  await expect(preview).toHaveAttribute('data-epoch', '2');
  const images = preview.getByTestId('det-preview-image');
  await expect(images).toHaveCount(4);
  for (let i = 0; i < 4; i++) {
    const truth = Number(await images.nth(i).getAttribute('data-truth'));
    expect(truth).toBeGreaterThanOrEqual(1);
    await expect(images.nth(i).locator('rect.truth')).toHaveCount(truth);
    await expect(images.nth(i).locator('rect.predicted')).toHaveCount(Number(await images.nth(i).getAttribute('data-predicted')));
  }
  await preview.screenshot({ path: test.info().outputPath('det-preview.png') });
  await keepScreenshot(page, 'det-dashboard');

  // Exported from the dashboard as a TF.js model with its card.
  await dashboard.getByTestId('run-export').click();
  const exportDialog = page.getByTestId('export-dialog');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-det-')), 'model');
  await exportDialog.getByTestId('export-folder').locator('input').fill(out);
  await exportDialog.getByTestId('export-submit').click();
  await expect(exportDialog.getByTestId('export-dir')).toHaveText(out);
  const card = JSON.parse(fs.readFileSync(path.join(out, 'card.json'), 'utf8')) as Record<string, unknown>;
  expect(card).toMatchObject({ task: 'detection', runId, method: 'glcan', cuts: [0, 1], inputShape: [32, 32, 1], map: run.summary.map, backend: 'wasm' });
  await page.keyboard.press('Escape');
  fs.rmSync(path.dirname(out), { recursive: true, force: true });

  await page.getByTestId('workspace-nav').getByText('Compare').click();
  const row = page.getByTestId('runs-table').locator('tr', { has: page.getByTestId(`run-link-${runId}`) });
  await expect(row).toContainText('Object detection');
  await expect(row).toContainText(map);
  expect(consoleErrors).toEqual([]);
});
