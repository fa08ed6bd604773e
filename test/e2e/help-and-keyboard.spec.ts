/**
 * Layout, keyboard and help as a new user meets them: Tab reaches the workspace list with a ring
 * that shows in both themes; a launcher slip is said beside its field, in plain words, once, and
 * scrolled into view; no field says "Please Input"; help tips explain the method's words; at
 * 1024x700 the runs table keeps accuracy, memory and duration on screen and headers on one line.
 */
import type { Page } from '@playwright/test';
import { GLOSSARY } from '../../renderer/src/help/glossary';
import { expect, test, trainByCli } from './fixtures';

/** The focused element's ring: outline or box-shadow, as the browser draws it. */
const focusRing = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return { testid: el.dataset.testid ?? '', outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`, outlineWidth: parseFloat(style.outlineWidth), shadow: style.boxShadow };
  });

async function screenshotBoth(page: Page, name: string) {
  for (const theme of ['light', 'dark'] as const) {
    const isDark = await page.evaluate(() => document.documentElement.classList.contains('dark-theme'));
    if (isDark !== (theme === 'dark')) await page.getByTestId('theme-toggle').click();
    await page.mouse.move(600, 650); // off the toggle and cells, so no tooltip is in the picture
    await expect(page.locator('.n-tooltip')).toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath(`${name}-${theme}.png`) });
  }
}

test('Tab reaches every workspace in the sidebar with a visible focus ring, light and dark', async ({ page, studio, consoleErrors }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(studio.url);
  await expect(page.getByTestId('workspace-experiments')).toBeVisible();
  const reached: string[] = [];
  for (let i = 0; i < 12 && !reached.includes('nav-compare'); i++) {
    await page.keyboard.press('Tab');
    const ring = await focusRing(page);
    if (ring.testid.startsWith('nav-')) {
      reached.push(ring.testid);
      expect(ring.outlineWidth, `${ring.testid}: ${ring.outline}`).toBeGreaterThanOrEqual(2);
      expect(ring.outline).toContain('solid');
    }
  }
  expect(reached).toEqual(['nav-experiments', 'nav-datasets', 'nav-split', 'nav-training', 'nav-compare']);
  await page.screenshot({ path: test.info().outputPath('focus-ring-on-compare-light.png') });
  // Enter opens the focused workspace.
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/compare$/);
  await screenshotBoth(page, 'focus-ring-1440');

  // Each theme draws its own ring (lighter on dark), 2 px, on a link reached by the keyboard.
  const themeOf = () => page.evaluate(() => (document.documentElement.classList.contains('dark-theme') ? 'dark' : 'light'));
  const ringOnSplit = async () => {
    await page.getByTestId('nav-split').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await focusRing(page);
    expect(ring.testid).toBe('nav-split');
    expect(ring.outlineWidth).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: test.info().outputPath(`focus-ring-on-split-${await themeOf()}.png`) });
    return ring.outline;
  };
  const first = await ringOnSplit();
  const firstTheme = await themeOf();
  await page.getByTestId('theme-toggle').click();
  expect(await themeOf()).not.toBe(firstTheme);
  expect(await ringOnSplit()).not.toBe(first);
  expect(consoleErrors).toEqual([]);
});

test('a launcher slip is said beside its field in plain words, once, in view; no field says Please Input', async ({ page, studio, consoleErrors }) => {
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto(`${studio.url.replace(/#.*$/, '')}#/split`);
  await page.getByTestId('split-train').click();
  const launch = page.getByTestId('launch-dialog');
  await expect(launch).toBeVisible();
  // Open every collapsed group too, then look at every field's placeholder and text.
  for (const header of await launch.locator('.n-collapse-item__header').all()) await header.click();
  await expect(launch.locator('input').first()).toBeVisible();
  const placeholders = await launch.locator('input, textarea').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).placeholder));
  expect(placeholders.length).toBeGreaterThan(15);
  expect(placeholders.filter((p) => /please/i.test(p))).toEqual([]);
  await expect(launch).not.toContainText(/Please (Input|Select)/);

  // Two seeds (two runs), an emptied Epochs field and a test-image count of 0.
  await page.getByTestId('launch-seeds').locator('input').fill('0, 1');
  await page.getByTestId('launch-epochs').locator('input').fill('');
  await page.getByTestId('launch-epochs').locator('input').blur();
  await page.getByTestId('launch-submit').click();
  const epochsItem = launch.locator('.n-form-item', { has: page.getByTestId('launch-epochs') });
  const feedback = epochsItem.locator('.n-form-item-feedback--error');
  await expect(feedback).toHaveText('Epochs: enter a number (the field is empty or not a number).');
  // Once, though both runs carry the slip; no schema words anywhere.
  await expect(launch.getByText('Epochs: enter a number', { exact: false })).toHaveCount(1);
  await expect(launch).not.toContainText(/expected|received|NaN/);
  // Beside its field: right under the input, and in the viewport.
  const field = (await page.getByTestId('launch-epochs').boundingBox())!;
  const said = (await feedback.boundingBox())!;
  expect(said.y - (field.y + field.height)).toBeLessThan(30);
  expect(Math.abs(said.x - field.x)).toBeLessThan(20);
  await expect(feedback).toBeInViewport();
  await page.screenshot({ path: test.info().outputPath('launcher-error-1024.png') });
  // Fixed, the message goes on the next try (nothing queued: seeds emptied instead, said beside Seeds).
  await page.getByTestId('launch-epochs').locator('input').fill('1');
  await page.getByTestId('launch-seeds').locator('input').fill('x');
  await page.getByTestId('launch-submit').click();
  await expect(launch.locator('.n-form-item', { has: page.getByTestId('launch-seeds') }).locator('.n-form-item-feedback--error')).toHaveText('Seeds: give whole numbers ≥ 0 separated by commas, e.g. 0, 1, 2.');
  await expect(feedback).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});

test('at 1024x700 the runs table keeps accuracy, memory and duration on screen; headers stay on one line', async ({ page, studio, consoleErrors }) => {
  test.setTimeout(90_000);
  // One real tiny run with a long name, as the engine's CLI records it.
  const longName = 'InfoPro K=2 seed 0 · ResNet-8 · mnist · a long descriptive name that cannot fit';
  await trainByCli(studio.dbPath, ['--name', longName, '--method', 'infopro', '--split', '[[1,0]]'], { trainLimit: 64 });

  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto(studio.url);
  await page.getByTestId('project-list').getByText('Command line').click();
  await page.getByTestId('experiment-list').getByText('CLI runs').click();
  const runTable = page.getByTestId('run-table');
  await expect(runTable).toContainText(longName);
  // Each header on one line: as tall as the one-word "Run" header, its text one line high.
  const runHeader = (await runTable.locator('th', { hasText: 'Run' }).first().boundingBox())!;
  for (const title of ['Status', 'Seed', 'Created', 'Tags']) {
    const th = runTable.locator('th', { hasText: title }).first();
    expect((await th.boundingBox())!.height, title).toBeLessThanOrEqual(runHeader.height + 1);
    // The lines its text occupies: one top per line box of the title's text.
    const lines = await th.evaluate((el) => {
      const tops = new Set<number>();
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent?.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
      }
      return tops.size;
    });
    expect(lines, title).toBe(1);
  }
  await screenshotBoth(page, 'experiments-1024');

  await page.getByTestId('nav-compare').click();
  const table = page.getByTestId('runs-table');
  await expect(table.locator('tbody tr')).toHaveCount(1);
  const box = (await table.boundingBox())!;
  const right = Math.min(1024, box.x + box.width) + 1;
  for (const title of ['Run', 'Best test acc', 'Final test acc', 'Peak memory', 'Duration']) {
    const th = table.locator('th', { hasText: title }).first();
    const b = (await th.boundingBox())!;
    expect(b.x + b.width, title).toBeLessThanOrEqual(right);
    // The title whole, not cut with an ellipsis.
    expect(await th.locator('.n-data-table-th__ellipsis, .n-ellipsis').evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth).length), title).toBe(0);
  }
  // The cells under them too, with the run's values.
  const row = table.locator('tbody tr').first();
  for (const cell of await row.locator('td').all()) {
    const key = await cell.getAttribute('data-col-key');
    if (!['best', 'final', 'peak', 'duration'].includes(key ?? '')) continue;
    const b = (await cell.boundingBox())!;
    expect(b.x + b.width, key!).toBeLessThanOrEqual(right);
    await expect(cell).not.toHaveText('–');
  }
  // The long name is cut with a tooltip that shows it whole; the name column is sticky; columns resize.
  await row.locator('td[data-col-key="name"] .n-ellipsis').hover();
  await expect(page.locator('.n-tooltip', { hasText: longName })).toBeVisible();
  await expect(table.locator('th', { hasText: 'Run' }).first()).toHaveClass(/n-data-table-th--fixed-left/);
  expect(await table.locator('.n-data-table-resize-button').count()).toBeGreaterThanOrEqual(8);
  await screenshotBoth(page, 'compare-1024');
  await page.setViewportSize({ width: 1440, height: 900 });
  await screenshotBoth(page, 'compare-1440');
  expect(consoleErrors).toEqual([]);
});

test('help tips beside the method words explain K, module and InfoPro, by mouse and by keyboard', async ({ page, studio, consoleErrors }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${studio.url.replace(/#.*$/, '')}#/split`);
  const editor = page.getByTestId('workspace-split');
  // K: clicked, the glossary's words appear, and Escape closes them.
  await editor.getByTestId('help-k').click();
  const popover = page.locator('.n-popover');
  await expect(popover.filter({ hasText: GLOSSARY.k.text })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(popover.filter({ hasText: GLOSSARY.k.text })).toHaveCount(0);
  // Module: reached with the keyboard (focus opens it), then left (blur closes it).
  await editor.getByTestId('help-module').focus();
  await expect(popover.filter({ hasText: GLOSSARY.module.text })).toBeVisible();
  await expect(editor.getByTestId('help-module')).toHaveAccessibleName('What is Module?');
  await page.keyboard.press('Tab');
  await expect(popover.filter({ hasText: GLOSSARY.module.text })).toHaveCount(0);

  // InfoPro in the launcher, beside the method it explains; λx/λy and the others in Method parameters.
  await editor.getByTestId('split-train').click();
  const launch = page.getByTestId('launch-dialog');
  await launch.getByTestId('launch-method').click();
  await page.locator('.n-base-select-option', { hasText: /^InfoPro$/ }).click();
  await launch.getByTestId('help-infopro').hover();
  await expect(popover.filter({ hasText: GLOSSARY.infopro.text })).toBeVisible();
  await expect(popover.filter({ hasText: GLOSSARY.infopro.text })).toContainText('InfoPro');
  await page.screenshot({ path: test.info().outputPath('help-infopro-1440.png') });
  await launch.locator('.n-collapse-item__header', { hasText: 'Method parameters' }).click();
  for (const term of ['execution', 'moduleParallel', 'dataParallel', 'aux', 'contrast', 'lambdas'] as const) await expect(launch.getByTestId(`help-${term}`)).toHaveCount(1);
  expect(consoleErrors).toEqual([]);
});
