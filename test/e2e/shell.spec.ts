import Database from 'better-sqlite3';
import { WORKSPACES } from '../../renderer/src/workspaces';
import { expect, keepScreenshot, test } from './fixtures';

const projectNames = (dbPath: string) => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM projects ORDER BY id').all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
};

test('opens on an empty state that says what to do first, with the status bar filled in', async ({ page, studio, consoleErrors }) => {
  await page.goto(studio.url);
  await expect(page).toHaveURL(`${studio.origin}/#/experiments`);
  const empty = page.getByTestId('empty-state');
  await expect(empty).toContainText('No projects yet');
  await expect(empty).toContainText('Create a project to hold your experiments.');
  await expect(page.getByTestId('status-host')).toHaveText('Host: web host (127.0.0.1)');
  await expect(page.getByTestId('status-backend')).toContainText('Backend: wasm');
  await expect(page.getByTestId('status-db')).toHaveText(`Database: ${studio.dbPath}`);
  await keepScreenshot(page, 'experiments-empty');
  expect(consoleErrors).toEqual([]);
});

test('navigates every workspace by click and by keyboard', async ({ page, studio, consoleErrors }) => {
  await page.goto(studio.url);
  const nav = page.getByTestId('workspace-nav');
  for (const workspace of WORKSPACES) {
    await nav.getByText(workspace.title).click();
    await expect(page).toHaveURL(new RegExp(`#/${workspace.id}$`));
    const view = page.getByTestId(`workspace-${workspace.id}`);
    await expect(view.getByRole('heading', { level: 1 })).toHaveText(workspace.title);
    await expect(view).toContainText(workspace.summary);
    await keepScreenshot(page, `workspace-${workspace.id}`);
  }
  for (const [index, workspace] of WORKSPACES.entries()) {
    await page.keyboard.press(`Alt+${index + 1}`);
    await expect(page.getByTestId(`workspace-${workspace.id}`)).toBeVisible();
  }
  expect(consoleErrors).toEqual([]);
});

test('creates a project and an experiment that persist in SQLite, with clear errors on bad names', async ({ page, studio, consoleErrors }) => {
  await page.goto(studio.url);
  await page.getByTestId('new-project').click();
  const name = page.getByTestId('create-name').locator('input');
  await name.fill('   ');
  await page.getByTestId('create-submit').click();
  await expect(page.getByTestId('create-dialog')).toContainText('Name must not be empty.');
  expect(projectNames(studio.dbPath)).toEqual([]);

  await name.fill('MNIST local learning');
  await name.press('Enter');
  await expect(page.getByTestId('project-title')).toHaveText('MNIST local learning');
  expect(projectNames(studio.dbPath)).toEqual(['MNIST local learning']);

  // A second project with the same name (any case) is refused beside the field; nothing is written.
  await page.getByTestId('new-project').click();
  await name.fill('mnist LOCAL learning');
  await page.getByTestId('create-submit').click();
  await expect(page.getByTestId('create-dialog')).toContainText('already exists: choose another name');
  expect(projectNames(studio.dbPath)).toEqual(['MNIST local learning']);
  await page.keyboard.press('Escape');

  await page.getByTestId('new-experiment').click();
  await name.fill('InfoPro vs end-to-end');
  await page.getByTestId('create-submit').click();
  await expect(page.getByTestId('experiment-list')).toContainText('InfoPro vs end-to-end · 0 runs');
  await expect(page.getByTestId('run-table')).toContainText('No runs yet');
  await expect(page.getByTestId('create-dialog')).toBeHidden();
  await keepScreenshot(page, 'experiments-project');

  await page.reload();
  await expect(page.getByTestId('project-list')).toContainText('MNIST local learning');
  await expect(page.getByTestId('experiment-list')).toContainText('InfoPro vs end-to-end');
  expect(consoleErrors).toEqual([]);
});

test('switches to the dark theme and remembers it', async ({ page, studio }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(studio.url);
  // Relative luminance of the shell's background, 0 (black) to 1 (white); polled because the theme fades.
  const luminance = () =>
    page.locator('.shell').evaluate((el) => {
      const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+/g)!.map(Number) as [number, number, number];
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    });
  await expect.poll(luminance).toBeGreaterThan(0.8);
  await page.getByTestId('theme-toggle').click();
  await expect.poll(luminance).toBeLessThan(0.3);
  await page.reload();
  await expect.poll(luminance).toBeLessThan(0.3);
  await expect(page.getByTestId('theme-toggle')).toHaveText('Light theme');
  await keepScreenshot(page, 'experiments-dark');
});

test('refuses requests without the token and answers a bad request with a 400 that writes nothing', async ({ playwright, studio }) => {
  const anonymous = await playwright.request.newContext({ baseURL: studio.origin });
  const page = await anonymous.get('/');
  expect(page.status()).toBe(401);
  const call = await anonymous.post('/api/call/projects:create', { data: { name: 'intruder' } });
  expect(call.status()).toBe(401);
  expect((await call.json()).error.code).toBe('unauthorized');
  await anonymous.dispose();

  const authorised = await playwright.request.newContext({ baseURL: studio.origin, extraHTTPHeaders: { authorization: `Bearer ${studio.token}` } });
  const bad = await authorised.post('/api/call/projects:create', { data: { name: '', extra: 1 } });
  expect(bad.status()).toBe(400);
  const body = await bad.json();
  expect(body.error.message).toContain('name: must not be empty');
  expect(body.error.message).toContain('unknown field(s) "extra"');
  expect(projectNames(studio.dbPath)).toEqual([]);
  await authorised.dispose();
});

test('updates a second window live when a project is created elsewhere', async ({ page, context, studio }) => {
  await page.goto(studio.url);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  const other = await context.newPage();
  await other.goto(studio.url);
  await other.getByTestId('new-project').click();
  await other.getByTestId('create-name').locator('input').fill('Shared');
  await other.getByTestId('create-submit').click();
  await expect(page.getByTestId('project-list')).toContainText('Shared');
});
