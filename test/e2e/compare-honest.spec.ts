/**
 * Issue 13, as a W&B / MLflow user would check it on real runs made by the engine:
 * - Compare draws memory as measured: each run's whole-step peak and each module's own peak, the
 *   bars equal to the stored figures and never stacked; the saving against end-to-end is labelled;
 * - each run has one colour across the charts and the table, a legend hides and shows it, short
 *   names tell seed 0 from seed 1, settings read as people write them (no `"e2e"`, no `1,0,2,0`);
 * - search finds a method only in its own runs, "seed 1" only seed 1;
 * - a bulk edit of two runs changes only them, says what it does, and is undone; rename is one run;
 * - the split editor keeps its cuts across workspaces, the launcher its last values;
 * - the live dashboard shows the backend and the module memory while the run still trains;
 * - ?run=999 says so; a project's experiment count follows a new experiment;
 * - screenshots at 1024x700 and 1440x900 in light and dark, and no console errors.
 */
import Database from 'better-sqlite3';
import type { Page } from '@playwright/test';
import { expect, screenshots, test, trainByCli } from './fixtures';

const MiB = 2 ** 20;

const train = (db: string, args: string[]): Promise<void> => trainByCli(db, args, { trainLimit: 64 });

const json = async <T>(page: Page, testId: string, attribute: string): Promise<T> => JSON.parse((await page.getByTestId(testId).getAttribute(attribute))!) as T;

test('compare: measured memory, one colour per run, honest search, bulk edit with undo', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(120_000);
  // Default names (no --name): they must carry method, K and seed.
  // (The CLI stores a cut list for end-to-end too: here one that differs from the others, so the split is an axis.)
  // The first alone: it creates the CLI's project and experiment, which two processes must not both try to.
  await train(studio.dbPath, ['--method', 'e2e', '--split', 'k2', '--seed', '0']);
  await Promise.all([
    train(studio.dbPath, ['--method', 'infopro', '--split', 'k3', '--seed', '0']),
    train(studio.dbPath, ['--method', 'infopro', '--split', 'k3', '--seed', '1']),
  ]);
  const db = new Database(studio.dbPath, { readonly: true });
  const runs = db.prepare("SELECT id, name, peak_bytes FROM runs ORDER BY CASE WHEN method = 'e2e' THEN 0 ELSE 1 END, seed").all() as { id: number; name: string; peak_bytes: number }[];
  expect(runs.map((r) => r.name)).toEqual(['End-to-end seed 0 · ResNet-8 · mnist', 'InfoPro K=3 seed 0 · ResNet-8 · mnist', 'InfoPro K=3 seed 1 · ResNet-8 · mnist']);
  const [e2e, s0, s1] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
  const modulePeaks = (id: number) => (db.prepare('SELECT peak_bytes FROM memory_samples WHERE run_id = ? AND module IS NOT NULL ORDER BY module').all(id) as { peak_bytes: number }[]).map((r) => r.peak_bytes);
  const tagsOf = (id: number) => (db.prepare('SELECT tag FROM tags WHERE run_id = ? ORDER BY tag').all(id) as { tag: string }[]).map((r) => r.tag);
  const notesOf = (id: number) => (db.prepare('SELECT notes FROM runs WHERE id = ?').get(id) as { notes: string }).notes;

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.keyboard.press('Alt+5');
  const table = page.getByTestId('runs-table');
  const search = page.getByTestId('runs-search').locator('input');
  await expect(page.getByTestId('runs-total')).toHaveText('3 runs');
  // Search: a method's name finds its runs only (every stored config carries InfoPro's defaults); "seed 1" is seed 1.
  await search.fill('InfoPro');
  await expect(page.getByTestId('runs-total')).toHaveText('2 runs');
  await search.fill('seed 1');
  await expect(page.getByTestId('runs-total')).toHaveText('1 run');
  await expect(table.locator('tbody tr')).toContainText(s1.name);
  await search.fill('');
  await expect(page.getByTestId('runs-total')).toHaveText('3 runs');

  for (const run of runs) await table.locator('tbody tr', { hasText: run.name }).locator('.n-checkbox').click();
  const panel = page.getByTestId('compare-panel');
  await expect(panel.getByTestId('compare-legend').locator('button')).toHaveCount(3);

  // Memory: the whole-step bars are the stored peaks; the module bars each module's own peak; nothing stacked.
  type Series = { name: string; type: string; stack: string | null; data: (number | null)[] };
  const labelOf = async (id: number) => (await panel.getByTestId(`compare-legend-${id}`).getAttribute('data-label'))!;
  const whole = await json<Series[]>(page, 'compare-chart-memory', 'data-series');
  expect(whole).toHaveLength(1);
  expect(whole[0]!.stack).toBeNull();
  const values = await json<{ id: number; peakBytes: number; modules: number[]; saving: number | null }[]>(page, 'compare-chart-memory', 'data-values');
  expect(values.map((v) => v.id)).toEqual(runs.map((r) => r.id));
  runs.forEach((run, i) => expect(whole[0]!.data[i]).toBeCloseTo(run.peak_bytes / MiB, 9));
  const perModule = await json<Series[]>(page, 'compare-chart-modules', 'data-series');
  expect(perModule.map((s) => s.stack)).toEqual([null, null, null]);
  for (const run of runs) {
    const label = await labelOf(run.id);
    const drawn = perModule.find((s) => s.name === label)!;
    expect(drawn, label).toBeDefined();
    const expected = modulePeaks(run.id).map((b) => b / MiB);
    expect(drawn.data.filter((d) => d !== null)).toEqual(expected.map((v) => expect.closeTo(v, 9)));
  }
  expect(modulePeaks(s0.id)).toHaveLength(3);
  // The sum of module peaks is not what a step needs: the whole-step bar is not that sum.
  expect(s0.peak_bytes).toBeLessThan(modulePeaks(s0.id).reduce((a, b) => a + b, 0));
  const saving = 1 - s0.peak_bytes / e2e.peak_bytes;
  expect(values.find((v) => v.id === s0.id)!.saving).toBeCloseTo(saving, 9);
  await expect(panel.getByTestId('compare-savings')).toContainText(`${await labelOf(s0.id)}: ${saving >= 0 ? '−' : '+'}${Math.abs(100 * saving).toFixed(1)}% vs E2E`);

  // One colour per run: the legend, the table's swatch and every chart agree; seed 0 and seed 1 differ in name and colour.
  const colours: Record<number, string> = {};
  for (const run of runs) colours[run.id] = (await panel.getByTestId(`compare-legend-${run.id}`).getAttribute('data-colour'))!;
  expect(new Set(Object.values(colours)).size).toBe(3);
  expect(await labelOf(s0.id)).not.toBe(await labelOf(s1.id));
  for (const run of runs) await expect(table.getByTestId(`run-swatch-${run.id}`)).toHaveAttribute('data-colour', colours[run.id]!);
  for (const chart of ['accuracy', 'loss', 'memory', 'modules', 'scatter', 'parallel']) {
    const drawn = await json<Record<string, string>>(page, `compare-chart-${chart}`, 'data-colours');
    for (const run of runs) expect(drawn[await labelOf(run.id)], `${chart}: run ${run.id}`).toBe(colours[run.id]);
  }
  // The legend hides a run in every chart, and shows it again.
  await panel.getByTestId(`compare-legend-${e2e.id}`).click();
  await expect(panel.getByTestId(`compare-legend-${e2e.id}`)).toHaveAttribute('aria-pressed', 'false');
  expect((await json<{ id: number }[]>(page, 'compare-chart-memory', 'data-values')).map((v) => v.id)).toEqual([s0.id, s1.id]);
  expect(Object.keys(await json<Record<string, string>>(page, 'compare-chart-accuracy', 'data-colours'))).not.toContain(await labelOf(e2e.id));
  await panel.getByTestId(`compare-legend-${e2e.id}`).click();
  expect((await json<{ id: number }[]>(page, 'compare-chart-memory', 'data-values')).map((v) => v.id)).toEqual(runs.map((r) => r.id));

  // Settings as people write them: method names, one split axis, cut lists as lists.
  await expect(panel.getByTestId('compare-diff').locator('tr[data-key="method"]')).toContainText('End-to-end');
  await expect(panel.getByTestId('compare-diff').locator('tr[data-key="method"]')).not.toContainText('"e2e"');
  const axes = await json<{ name: string; data: string[] | null }[]>(page, 'compare-chart-parallel', 'data-axes');
  const names = axes.map((a) => a.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names.filter((n) => /split|cuts/.test(n))).toEqual(['split (cuts)']);
  const cutsOf = (id: number) => JSON.stringify(JSON.parse((db.prepare('SELECT config FROM runs WHERE id = ?').get(id) as { config: string }).config).cuts);
  expect(axes.find((a) => a.name === 'split (cuts)')!.data).toEqual([cutsOf(e2e.id), cutsOf(s0.id)]);
  expect(cutsOf(s0.id)).toMatch(/^\[\[\d,\d\],\[\d,\d\]\]$/); // a list of [stage, block] pairs, not 1,0,2,0
  expect(axes.find((a) => a.name === 'method')!.data).toEqual(['End-to-end', 'InfoPro']);
  for (const axis of axes) for (const value of axis.data ?? []) expect(value).not.toMatch(/^\d+(,\d+)+$/);
  await screenshots(page, 'compare', 'compare-legend');
  await page.setViewportSize({ width: 1440, height: 900 });

  // Bulk edit of the two InfoPro runs: says what it does, changes only them, and is undone.
  await table.locator('tbody tr', { hasText: e2e.name }).locator('.n-checkbox').click();
  await expect(page.getByTestId('runs-actions')).toHaveText('2 selected ▾');
  await page.getByTestId('runs-actions').click();
  await expect(page.locator('.n-dropdown-option-body', { hasText: 'Rename' })).toHaveClass(/n-dropdown-option-body--disabled/);
  await page.locator('.n-dropdown-option', { hasText: 'Tags of 2 runs' }).click();
  const dialog = page.getByTestId('runs-edit-dialog');
  await expect(dialog.getByTestId('runs-edit-current')).toHaveText('Their tags now: none');
  await dialog.getByTestId('runs-edit-value').locator('input').fill('paper k3');
  await expect(dialog.getByTestId('runs-edit-summary')).toHaveText('Add the tags paper, k3 to 2 runs; their other tags stay.');
  await dialog.getByTestId('runs-edit-save').click();
  await expect(page.getByTestId('runs-undo-bar')).toContainText('Added the tags paper, k3 to 2 runs');
  expect([tagsOf(e2e.id), tagsOf(s0.id), tagsOf(s1.id)]).toEqual([[], ['k3', 'paper'], ['k3', 'paper']]);

  await page.getByTestId('runs-actions').click();
  await page.locator('.n-dropdown-option', { hasText: 'Notes of 2 runs' }).click();
  await dialog.getByTestId('runs-edit-how').getByText('Replace their notes').click();
  await dialog.getByTestId('runs-edit-value').locator('textarea').fill('checked on MNIST');
  await expect(dialog.getByTestId('runs-edit-summary')).toContainText('Replace the notes of 2 runs');
  await dialog.getByTestId('runs-edit-save').click();
  await expect(page.getByTestId('runs-undo-bar')).toContainText('Replaced the notes of 2 runs');
  expect([notesOf(e2e.id), notesOf(s0.id), notesOf(s1.id)]).toEqual(['', 'checked on MNIST', 'checked on MNIST']);
  await page.getByTestId('runs-undo').click();
  await expect(page.getByTestId('runs-undo-bar')).toHaveCount(0);
  expect([notesOf(s0.id), notesOf(s1.id)]).toEqual(['', '']);
  // Names untouched by every bulk edit.
  const namesNow = () => Object.fromEntries((db.prepare('SELECT id, name FROM runs').all() as { id: number; name: string }[]).map((r) => [r.id, r.name]));
  expect(namesNow()).toEqual(Object.fromEntries(runs.map((r) => [r.id, r.name])));

  // Rename acts on one run.
  await table.locator('tbody tr', { hasText: s0.name }).locator('.n-checkbox').click();
  await expect(page.getByTestId('runs-actions')).toHaveText('1 selected ▾');
  await page.getByTestId('runs-actions').click();
  await page.locator('.n-dropdown-option', { hasText: 'Rename' }).click();
  await dialog.getByTestId('runs-edit-value').locator('input').fill('InfoPro K=3 seed 1 (kept)');
  await dialog.getByTestId('runs-edit-save').click();
  await expect(table.locator('tbody tr', { hasText: 'InfoPro K=3 seed 1 (kept)' })).toHaveCount(1);
  expect(namesNow()).toEqual({ [e2e.id]: e2e.name, [s0.id]: s0.name, [s1.id]: 'InfoPro K=3 seed 1 (kept)' });
  db.close();
  expect(consoleErrors).toEqual([]);
});

test('split editor and launcher keep their values; the dashboard shows backend and module memory while training', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  // A project's experiment count follows a new experiment.
  await page.keyboard.press('Alt+1');
  await page.getByTestId('new-project').click();
  await page.getByTestId('create-name').locator('input').fill('Counting');
  await page.getByTestId('create-submit').click();
  await page.getByTestId('new-experiment').click();
  await page.getByTestId('create-name').locator('input').fill('K sweep');
  await page.getByTestId('create-submit').click();
  await expect(page.getByTestId('project-list')).toContainText('1 experiment');

  // The split editor keeps its cuts across workspaces (Alt+2 then Alt+3).
  await page.keyboard.press('Alt+3');
  const editor = page.getByTestId('workspace-split');
  await editor.getByTestId('gap-0-0').click();
  await editor.getByTestId('gap-1-0').click();
  const cutJson = editor.getByTestId('split-json').locator('input');
  await expect(cutJson).toHaveValue('[[0,0],[1,0]]');
  await page.keyboard.press('Alt+2');
  await expect(page.getByTestId('workspace-split')).toHaveCount(0);
  await page.keyboard.press('Alt+3');
  await expect(cutJson).toHaveValue('[[0,0],[1,0]]');
  await expect(editor.getByTestId('gap-1-0')).toHaveAttribute('aria-pressed', 'true');

  // The launcher remembers its last values, also after a reload.
  await editor.getByTestId('split-train').click();
  const launch = page.getByTestId('launch-dialog');
  await launch.getByTestId('launch-epochs').locator('input').fill('2');
  await launch.getByTestId('launch-train-limit').locator('input').fill('3200');
  await launch.getByTestId('launch-test-limit').locator('input').fill('100');
  await launch.getByTestId('launch-baseline').click();
  await launch.getByRole('button', { name: 'Cancel' }).click();
  await page.reload();
  await page.keyboard.press('Alt+3');
  await editor.getByTestId('gap-0-0').click();
  await editor.getByTestId('gap-1-0').click();
  await page.getByTestId('workspace-split').getByTestId('split-train').click();
  await expect(launch.getByTestId('launch-epochs').locator('input')).toHaveValue('2');
  await expect(launch.getByTestId('launch-train-limit').locator('input')).toHaveValue('3200');
  await expect(launch.getByTestId('launch-test-limit').locator('input')).toHaveValue('100');
  await expect(launch.getByTestId('launch-submit')).toHaveText('Queue 1 run');
  await launch.getByTestId('launch-batch').locator('input').fill('32');
  await launch.getByTestId('launch-submit').click();

  // While it trains: the backend and the measured memory of each module, pushed at the first step.
  await expect(page).toHaveURL(/#\/training\?run=\d+$/);
  const runId = Number(new URL(page.url().replace('#/', '')).searchParams.get('run'));
  const dashboard = page.getByTestId(`run-dashboard-${runId}`);
  await expect(dashboard.getByTestId('run-backend')).toHaveText('wasm', { timeout: 60_000 });
  await expect(dashboard.getByTestId('chart-memory')).toHaveAttribute('data-points', '3', { timeout: 30_000 });
  await expect(dashboard).toHaveAttribute('data-status', 'running');
  const db = new Database(studio.dbPath, { readonly: true });
  expect((db.prepare('SELECT count(*) AS n FROM memory_samples WHERE run_id = ? AND module IS NOT NULL').get(runId) as { n: number }).n).toBe(3);
  expect((db.prepare('SELECT count(*) AS n FROM metrics WHERE run_id = ? AND scope = ?').get(runId, 'epoch') as { n: number }).n).toBe(0); // no epoch has ended yet
  db.close();
  await dashboard.getByTestId('run-cancel').click();
  await expect(dashboard).toHaveAttribute('data-status', 'cancelled', { timeout: 60_000 });
  await screenshots(page, 'dashboard', 'workspace-training');

  // A run that does not exist says so, with a way back.
  await page.goto(`${studio.url}#/training?run=999`);
  await expect(page.getByTestId('run-missing')).toContainText('Run 999 does not exist');
  await page.getByTestId('run-missing-back').click();
  await expect(page.getByTestId(`run-dashboard-${runId}`)).toBeVisible();
  expect(consoleErrors).toEqual([]);
});
