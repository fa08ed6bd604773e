/**
 * Issue 13, a page for one run, on a real tiny run made by the CLI: opened from the runs table
 * (and from an experiment's rows and the dashboard), it shows every setting with its defaults
 * resolved, the environment, times, notes, tags and files; the saved network's confusion matrix
 * on the test set, whose total is the test images and whose diagonal gives the stored accuracy;
 * predictions right and wrong as images; the event log. Screenshots at 1024x700 and 1440x900 in
 * light and dark; no console errors.
 */
import Database from 'better-sqlite3';
import { callApi, expect, screenshots, test, trainByCli } from './fixtures';

test('run page: resolved settings, environment, confusion matrix and predictions of a real run', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(150_000); // a real run, trained and evaluated on shared cores
  await trainByCli(studio.dbPath, ['--method', 'infopro', '--split', 'k3', '--seed', '2'], { trainLimit: 320 });
  await callApi(studio, 'runs:tag', { id: 1, add: ['protocol-a'] });
  await callApi(studio, 'runs:update', { id: 1, notes: 'first look at the page' });
  const db = new Database(studio.dbPath, { readonly: true });
  const stored = db.prepare('SELECT final_test_acc AS accuracy, environment FROM runs WHERE id = 1').get() as { accuracy: number; environment: string };
  db.close();
  const environment = JSON.parse(stored.environment) as { backend: string; gitCommit: string | null; versions: Record<string, string> };

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await page.keyboard.press('Alt+5');
  await page.getByTestId('run-link-1').click();
  await expect(page).toHaveURL(/#\/runs\/1$/);
  await expect(page.getByTestId('run-page-title')).toHaveText('InfoPro K=3 seed 2 · ResNet-8 · mnist');
  await expect(page.getByTestId('run-page-status')).toHaveText('done');

  // Settings with every default resolved: InfoPro's λ for K = 3, normalisation, padding, the MNIST split.
  const setting = (key: string) => page.getByTestId(`setting-${key}`).locator('.value');
  await expect(setting('infopro.lambdas.ixx1')).toHaveText('6');
  await expect(setting('infopro.lambdas.ixy1')).toHaveText('0');
  await expect(setting('infopro.lossMode')).toHaveText('contrast');
  await expect(setting('input.pad')).toHaveText('0');
  await expect(setting('input.normalization.mean')).toHaveText('[0.1307]');
  await expect(setting('dataSplit.seed')).toHaveText('20261129');
  await expect(setting('testLimit')).toHaveText('100');
  await expect(page.getByTestId('run-not-applying')).toContainText('hpff, man');
  await expect(page.getByTestId('module-row-1')).toContainText('1c2f + decoder');
  await expect(page.getByTestId('module-row-1').locator('td').nth(5)).toHaveText('0'); // the first module's λy: no classification loss
  await expect(page.getByTestId('module-row-3')).toContainText('the network head');

  // Environment, times, notes, tags, files, events.
  await expect(page.getByTestId('run-backend')).toHaveText(environment.backend);
  await expect(page.getByTestId('run-version-node')).toHaveText(environment.versions.node!);
  await expect(page.getByTestId('run-commit')).toHaveText(environment.gitCommit ?? 'not a git checkout');
  await expect(page.getByTestId('run-duration')).toContainText('queue time apart');
  await expect(page.getByTestId('run-tags')).toContainText('protocol-a');
  await expect(page.getByTestId('run-notes')).toHaveText('first look at the page');
  await expect(page.getByTestId('artifact-weights')).toContainText('runs/1');
  await expect(page.getByTestId('run-events')).toContainText('Epoch 1: test accuracy');
  await expect(page.getByTestId('run-events')).toContainText('Ended done');

  // The confusion matrix: 100 test images in all, its diagonal the stored test accuracy.
  const matrix = page.getByTestId('confusion-matrix');
  await expect(matrix).toBeVisible({ timeout: 30_000 });
  const cells = await matrix.locator('td[data-testid^="cell-"]').evaluateAll((tds) => tds.map((td) => ({ id: td.getAttribute('data-testid')!, count: Number(td.textContent) })));
  expect(cells).toHaveLength(100);
  expect(cells.reduce((n, c) => n + c.count, 0)).toBe(100);
  const diagonal = cells.filter((c) => /^cell-(\d+)-\1$/.test(c.id)).reduce((n, c) => n + c.count, 0);
  expect(diagonal).toBe(Math.round(stored.accuracy * 100));
  await expect(page.getByTestId('run-evaluation-summary')).toContainText(`accuracy ${(stored.accuracy * 100).toFixed(2)}%`);
  // Accuracy per class: each row's diagonal over the row.
  for (let t = 0; t < 10; t++) {
    const row = cells.filter((c) => c.id.startsWith(`cell-${t}-`));
    const total = row.reduce((n, c) => n + c.count, 0);
    const hit = row.find((c) => c.id === `cell-${t}-${t}`)!.count;
    await expect(page.getByTestId(`class-accuracy-${t}`)).toHaveText(total ? `${((100 * hit) / total).toFixed(2)}%` : '–');
  }

  // Predictions as images, right and wrong, as many as the matrix allows (12 of each at most).
  await expect(page.getByTestId('prediction-right')).toHaveCount(Math.min(12, diagonal));
  await expect(page.getByTestId('prediction-wrong')).toHaveCount(Math.min(12, 100 - diagonal));
  const sizes = await page.locator('[data-testid^="prediction-"] img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).naturalWidth));
  expect(sizes.length).toBeGreaterThan(0);
  expect(sizes.every((w) => w === 28)).toBe(true);

  // The page follows the run as it changes on the host (here a tag added by a script).
  await callApi(studio, 'runs:tag', { id: 1, add: ['seen-live'] });
  await expect(page.getByTestId('run-tags')).toContainText('seen-live');

  await screenshots(page, 'run-page', 'run-page');
  await page.getByTestId('run-evaluation').evaluate((e) => e.scrollIntoView());
  await screenshots(page, 'run-page-test-set', 'run-evaluation');

  // Reachable from an experiment's rows and from the live dashboard too; a wrong id says so.
  await page.keyboard.press('Alt+1');
  await page.getByText('Command line').first().click();
  await page.getByText('CLI runs').first().click();
  await page.getByTestId('experiment-run-link-1').click();
  await expect(page).toHaveURL(/#\/runs\/1$/);
  await page.keyboard.press('Alt+4');
  await page.getByTestId('recent-1').click();
  await page.getByTestId('run-dashboard-1').getByTestId('dashboard-run-page').click();
  await expect(page).toHaveURL(/#\/runs\/1$/);
  await expect(page.getByTestId('run-page-title')).toBeVisible();
  // A click on the run's bar in Compare's memory chart opens its page too.
  await page.goto(`${studio.origin}/#/compare`);
  await page.getByTestId('runs-table').locator('tbody tr', { hasText: 'InfoPro K=3 seed 2' }).locator('.n-checkbox').click();
  const bars = page.getByTestId('compare-chart-memory').locator('.echart');
  await bars.scrollIntoViewIfNeeded();
  await page.waitForTimeout(500); // the bars grow in (animation)
  const box = (await bars.boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height * 0.6);
  await expect(page).toHaveURL(/#\/runs\/1$/);
  await page.goto(`${studio.origin}/#/runs/999`);
  await expect(page.getByTestId('run-page-error')).toContainText('Run 999 does not exist');
  expect(consoleErrors).toEqual([]);
});
