/**
 * Experiment tracking on a database holding real tiny runs made by the engine (the CLI) plus
 * bulk generated runs: sort and filter the runs table, compare three runs, check the scatter,
 * the memory bars and the config diff against the database, and download the CSV and the LaTeX
 * table and check what they hold.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { expect, keepScreenshot, test } from './fixtures';

const BULK = 252; // a multiple of 4 methods

function train(db: string, name: string, args: string[]): void {
  const result = spawnSync(process.execPath, ['dist/main/blockwise.cjs', 'train', '--db', db, '--name', name, '--epochs', '1', '--batch', '32', '--train-limit', '64', '--test-limit', '100', '--backend', 'wasm', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`blockwise train failed: ${result.stderr}`);
}

interface RunRow {
  id: number;
  name: string;
  best_test_acc: number | null;
  peak_bytes: number | null;
}

test('sorts, filters and compares real and bulk runs, and downloads CSV and LaTeX', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(180_000);
  train(studio.dbPath, 'real e2e', ['--method', 'e2e']);
  train(studio.dbPath, 'real infopro s0', ['--method', 'infopro', '--split', 'per-block', '--seed', '0']);
  train(studio.dbPath, 'real infopro s1', ['--method', 'infopro', '--split', 'per-block', '--seed', '1']);
  train(studio.dbPath, 'real dgl', ['--method', 'dgl', '--split', 'per-block']);
  const seeded = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'test/helpers/seed-runs.ts', studio.dbPath, String(BULK)], { encoding: 'utf8' });
  expect(seeded.status, seeded.stderr).toBe(0);
  const db = new Database(studio.dbPath, { readonly: true });
  const rows = db.prepare('SELECT id, name, best_test_acc, peak_bytes FROM runs ORDER BY id').all() as RunRow[];
  const byName = (name: string) => rows.find((r) => r.name === name)!;
  const best = [...rows].sort((a, b) => b.best_test_acc! - a.best_test_acc! || b.id - a.id)[0]!;

  await page.goto(studio.url);
  await page.getByTestId('workspace-nav').getByText('Compare').click();
  const table = page.getByTestId('runs-table');
  await expect(page.getByTestId('runs-total')).toHaveText(`${BULK + 4} runs`);
  // Newest first by default, 100 rows a page.
  await expect(table.locator('tbody tr').first()).toContainText('real dgl'); // newest first (the bulk runs are dated 2020)

  // Sort by best test accuracy: descending (the best real run on top), then ascending.
  const header = table.locator('th', { hasText: 'Best test acc' });
  await header.click();
  await expect(table.locator('tbody tr').first()).toContainText(best.name);
  await expect(table.locator('tbody tr').first()).toContainText(`${(100 * best.best_test_acc!).toFixed(2)}%`);
  await header.click();
  await expect(table.locator('tbody tr').first()).toContainText('bulk run 0'); // 0.20%, the lowest (ties by id)

  // Filter by method, then by words.
  await page.getByTestId('runs-method-filter').click();
  await page.locator('.n-base-select-option', { hasText: 'DGL' }).first().click();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('runs-total')).toHaveText(`${BULK / 4 + 1} runs`);
  await page.reload();
  await page.getByTestId('runs-search').locator('input').fill('real');
  await expect(page.getByTestId('runs-total')).toHaveText('4 runs');
  await keepScreenshot(page, 'runs-table');
  // With nothing ticked, the CSV holds every run the filters match.
  const [matching] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-csv').click()]);
  expect(fs.readFileSync((await matching.path())!, 'utf8').trim().split('\r\n').slice(1).map((line) => line.split(',')[1]).sort()).toEqual(['real dgl', 'real e2e', 'real infopro s0', 'real infopro s1']);

  // Compare three runs: end-to-end, InfoPro seed 0 and DGL.
  for (const name of ['real e2e', 'real infopro s0', 'real dgl']) {
    await table.locator('tbody tr', { hasText: name }).locator('.n-checkbox').click();
  }
  await expect(page.getByTestId('runs-actions')).toHaveText('3 selected ▾');
  const panel = page.getByTestId('compare-panel');
  const chosen = ['real e2e', 'real infopro s0', 'real dgl'].map(byName);

  // The memory bars and the scatter show the database's values; the front holds no dominated run.
  const memory = JSON.parse((await panel.getByTestId('compare-chart-memory').getAttribute('data-values'))!) as { id: number; peakBytes: number; modules: number[] }[];
  expect(memory).toHaveLength(3);
  expect(memory.map((m) => [m.id, m.peakBytes]).sort()).toEqual(chosen.map((r) => [r.id, r.peak_bytes]).sort());
  const modulesOf = (id: number) => (db.prepare('SELECT peak_bytes FROM memory_samples WHERE run_id = ? AND module IS NOT NULL ORDER BY module').all(id) as { peak_bytes: number }[]).map((r) => r.peak_bytes);
  for (const m of memory) expect(m.modules).toEqual(modulesOf(m.id));
  const scatter = JSON.parse((await panel.getByTestId('compare-chart-scatter').getAttribute('data-values'))!) as { id: number; memory: number; accuracy: number; front: boolean }[];
  // One point per compared run (an empty chart would pass the loop below).
  expect(scatter.map((p) => p.id).sort()).toEqual(chosen.map((r) => r.id).sort());
  expect(scatter.some((p) => p.front)).toBe(true);
  for (const point of scatter) {
    const row = rows.find((r) => r.id === point.id)!;
    expect(point.memory).toBeCloseTo(row.peak_bytes! / 2 ** 20, 6);
    expect(point.accuracy).toBeCloseTo(100 * (db.prepare("SELECT value FROM metrics WHERE run_id = ? AND key = 'test_acc' ORDER BY step DESC").get(point.id) as { value: number }).value, 6);
    const dominated = scatter.some((o) => o.id !== point.id && o.memory <= point.memory && o.accuracy >= point.accuracy && (o.memory < point.memory || o.accuracy > point.accuracy));
    expect(point.front).toBe(!dominated);
  }

  // Only the settings that differ, the method first: the method and the resolved settings only InfoPro has
  // (same split, data set and seed 0 in all three).
  const diff = panel.getByTestId('compare-diff');
  await expect(diff.locator('tbody tr').first()).toHaveAttribute('data-key', 'method');
  const differing = await diff.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')!));
  expect(differing.filter((key) => !key.startsWith('infopro.') && key !== 'modules')).toEqual(['method']);
  await expect(diff.locator('tr[data-key="method"]')).toContainText('End-to-end');
  await expect(diff.locator('tr[data-key="method"]')).toContainText('InfoPro');
  await expect(diff.locator('tr[data-key="method"]')).toContainText('DGL');
  await keepScreenshot(page, 'compare');

  // Downloads: the runs CSV of the selection and the papers' LaTeX table.
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-csv').click()]);
  const csv = fs.readFileSync((await csvDownload.path())!, 'utf8').trim().split('\r\n');
  expect(csv[0]).toContain('id,name,status,method,net,K,dataset,seed,best_test_acc');
  expect(csv).toHaveLength(4);
  const dglLine = csv.find((line) => line.includes('real dgl'))!;
  expect(dglLine).toContain(`,dgl,resnet8,3,mnist,0,${byName('real dgl').best_test_acc}`);

  const [texDownload] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('compare-latex').click()]);
  const tex = fs.readFileSync((await texDownload.path())!, 'utf8');
  expect(tex).toContain('\\begin{tabular}{lrrrr}');
  const errorOf = (name: string) => (100 * (1 - byName(name).best_test_acc!)).toFixed(2);
  expect(tex).toContain(`End-to-end & 1 & ${errorOf('real e2e')} $\\pm$ 0.00`);
  expect(tex).toContain(`DGL & 3 & ${errorOf('real dgl')} $\\pm$ 0.00`);
  const saving = (100 * (1 - byName('real dgl').peak_bytes! / byName('real e2e').peak_bytes!)).toFixed(1);
  expect(tex).toContain(`${saving}\\% \\\\`);

  // A chart as SVG.
  const [svgDownload] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('compare-scatter-svg').click()]);
  expect(fs.readFileSync((await svgDownload.path())!, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
  db.close();
  expect(consoleErrors).toEqual([]);
});
