import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { jpegBytes, makeImageFolder } from '../helpers/image-files';
import { expect, keepScreenshot, test } from './fixtures';

const registered = (dbPath: string) => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT name, kind FROM datasets ORDER BY id').all() as { name: string; kind: string }[]);
  } finally {
    db.close();
  }
};

/** A small ImageNet-layout folder: red "apple" and blue "berry" images in train/ and val/. */
function appleBerryFolder(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-images-'));
  const many = (pixels: [number, number, number], n: number, format: 'png' | 'jpeg') =>
    Array.from({ length: n }, () => ({ format, width: 20, height: 16, pixels }));
  makeImageFolder(root, {
    'train/apple': many([220, 30, 30], 6, 'png'),
    'train/berry': many([30, 40, 220], 5, 'jpeg'),
    'val/apple': many([220, 30, 30], 2, 'jpeg'),
    'val/berry': many([30, 40, 220], 3, 'png'),
  });
  return root;
}

/** Opens the import dialog and checks `folder`. */
async function checkFolder(page: import('@playwright/test').Page, folder: string) {
  await page.keyboard.press('Alt+2');
  await page.getByTestId('import-dataset').click();
  await page.getByTestId('import-path').locator('input').fill(folder);
  await page.getByTestId('import-check').click();
}

test('shows the built-in MNIST with its classes and real sample digits', async ({ page, studio, consoleErrors }) => {
  await page.goto(`${studio.url}`);
  await page.getByTestId('workspace-nav').getByText('Data sets').click();
  await expect(page.getByTestId('dataset-title')).toHaveText('MNIST (built in)');
  const table = page.getByTestId('class-table');
  for (let digit = 0; digit < 10; digit++) {
    await expect(table.getByTestId(`class-${digit}`).locator('img')).toHaveCount(8);
  }
  // Every thumbnail really decodes as a 28x28 image.
  const sizes = await table.locator('img').evaluateAll((imgs) => imgs.map((img) => `${(img as HTMLImageElement).naturalWidth}x${(img as HTMLImageElement).naturalHeight}`));
  expect(new Set(sizes)).toEqual(new Set(['28x28']));
  await page.getByTestId('split-test').click();
  await expect(table.getByTestId('class-0')).toContainText(/^0\s*\d{3}/);
  await keepScreenshot(page, 'datasets-mnist');
  expect(consoleErrors).toEqual([]);
});

test('imports an image folder after checking it, then shows its classes and samples', async ({ page, studio, consoleErrors }) => {
  const folder = appleBerryFolder();
  await page.goto(studio.url);
  await page.keyboard.press('Alt+2');
  await expect(page.getByTestId('dataset-title')).toHaveText('MNIST (built in)');

  await page.getByTestId('import-dataset').click();
  const dialog = page.getByTestId('import-dialog');
  // A path that does not exist is explained; nothing is registered.
  await page.getByTestId('import-path').locator('input').fill(path.join(folder, 'nope'));
  await page.getByTestId('import-check').click();
  await expect(page.getByTestId('import-error')).toContainText('does not exist');

  await page.getByTestId('import-path').locator('input').fill(folder);
  await page.getByTestId('import-check').click();
  const preview = page.getByTestId('import-preview');
  await expect(preview).toContainText('Image folder');
  await expect(preview).toContainText('Train images11');
  await expect(preview).toContainText('Test images5');
  await expect(preview).toContainText('32×32×3');
  await page.getByTestId('import-name').locator('input').fill('Apples and berries');
  await keepScreenshot(page, 'datasets-import-preview');
  await page.getByTestId('import-submit').click();
  await expect(dialog).toBeHidden();

  await expect(page.getByTestId('dataset-title')).toHaveText('Apples and berries');
  const table = page.getByTestId('class-table');
  await expect(table.getByTestId('class-apple')).toContainText('6');
  await expect(table.getByTestId('class-berry')).toContainText('5');
  await expect(table.getByTestId('class-apple').locator('img')).toHaveCount(6);
  // The samples are the real images: red apples and blue berries.
  const colour = (cls: string) =>
    table.getByTestId(`class-${cls}`).locator('img').first().evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      return Array.from(ctx.getImageData(16, 16, 1, 1).data.slice(0, 3));
    });
  const apple = await colour('apple');
  const berry = await colour('berry');
  expect(apple[0]).toBeGreaterThan(180);
  expect(apple[2]).toBeLessThan(80);
  expect(berry[2]).toBeGreaterThan(180);
  expect(berry[0]).toBeLessThan(80);
  await page.getByTestId('split-test').click();
  await expect(table.getByTestId('class-berry')).toContainText('3');
  await keepScreenshot(page, 'datasets-imported');

  expect(registered(studio.dbPath)).toEqual([{ name: 'Apples and berries', kind: 'imagefolder' }]);
  await page.reload();
  await expect(page.getByTestId('dataset-list')).toContainText('Apples and berries');
  expect(consoleErrors).toEqual([]);
  fs.rmSync(folder, { recursive: true, force: true });
});

test('refuses a folder with a broken image, naming the file, and registers nothing', async ({ page, studio }) => {
  const folder = appleBerryFolder();
  const broken = path.join(folder, 'train', 'apple', '3.png');
  fs.writeFileSync(broken, 'this is not a png');
  await page.goto(studio.url);
  await page.keyboard.press('Alt+2');
  await page.getByTestId('import-dataset').click();
  await page.getByTestId('import-path').locator('input').fill(folder);
  await page.getByTestId('import-check').click();
  await expect(page.getByTestId('import-error')).toContainText(broken);
  await expect(page.getByTestId('import-error')).toContainText('Nothing was imported');
  await expect(page.getByTestId('import-preview')).toHaveCount(0);
  expect(registered(studio.dbPath)).toEqual([]);
  fs.rmSync(folder, { recursive: true, force: true });
});

test('lists skipped files and flags a class without test images, importing only once both are ticked', async ({ page, studio, consoleErrors }) => {
  const folder = appleBerryFolder();
  makeImageFolder(folder, { 'train/cherry': [{ pixels: [150, 0, 40] }, { pixels: [150, 0, 40] }] });
  fs.writeFileSync(path.join(folder, 'train', 'apple', 'notes.txt'), 'picked in May');
  fs.symlinkSync('0.png', path.join(folder, 'train', 'apple', 'again.png'));
  await page.goto(studio.url);
  await checkFolder(page, folder);

  const skipped = page.getByTestId('import-skipped');
  await expect(skipped).toContainText('2 files in class folders will be skipped');
  await expect(skipped).toContainText('train/apple/again.png: a link to 0.png in the same class folder');
  await expect(skipped).toContainText('train/apple/notes.txt: not a .png, .jpg or .jpeg file');
  await expect(page.getByTestId('import-no-test')).toContainText('cherry has training images but none to test on');
  // The link counts once: 6 apples, not 7.
  await expect(page.getByTestId('import-preview')).toContainText('Train images13');
  const submit = page.getByTestId('import-submit');
  await expect(submit).toBeDisabled();
  await page.getByTestId('import-accept-skipped').click();
  await expect(submit).toBeDisabled();
  await page.getByTestId('import-accept-no-test').click();
  await expect(submit).toBeEnabled();
  await keepScreenshot(page, 'datasets-import-flags');
  await page.getByTestId('import-name').locator('input').fill('Fruit with a gap');
  await submit.click();
  await expect(page.getByTestId('import-dialog')).toBeHidden();
  await expect(page.getByTestId('dataset-title')).toHaveText('Fruit with a gap');
  await expect(page.getByTestId('dataset-no-test')).toHaveText('cherry');
  expect(registered(studio.dbPath)).toEqual([{ name: 'Fruit with a gap', kind: 'imagefolder' }]);
  expect(consoleErrors).toEqual([]);
  fs.rmSync(folder, { recursive: true, force: true });
});

test('refuses a link that leads out of its class folder, naming the link', async ({ page, studio }) => {
  const folder = appleBerryFolder();
  const link = path.join(folder, 'train', 'apple', 'up');
  fs.symlinkSync('../..', link);
  await page.goto(studio.url);
  await checkFolder(page, folder);
  await expect(page.getByTestId('import-error')).toContainText(`${link}: is a link to ${folder}, outside its class folder`);
  await expect(page.getByTestId('import-preview')).toHaveCount(0);
  expect(registered(studio.dbPath)).toEqual([]);
  fs.rmSync(folder, { recursive: true, force: true });
});

test('decodes every image on import with a progress bar and Stop; a JPEG cut in half is named; neither registers anything', async ({ page, studio, consoleErrors }) => {
  const folder = appleBerryFolder();
  // 120 large photos take several seconds to decode, long enough to watch and stop.
  const photo = jpegBytes(1600, 1200, (x, y) => [200, (x ^ y) & 255, 40], 90);
  for (let i = 0; i < 120; i++) fs.writeFileSync(path.join(folder, 'train', 'apple', `photo${i}.jpg`), photo);
  await page.goto(studio.url);
  await checkFolder(page, folder);
  await expect(page.getByTestId('import-preview')).toContainText('Train images131');
  await page.getByTestId('import-submit').click();

  const progress = page.getByTestId('import-progress');
  await expect(page.getByTestId('import-progress-count')).toHaveText(/^Decoding every image: \d+ of 136$/);
  await expect(progress.locator('.n-progress')).toBeVisible();
  await keepScreenshot(page, 'datasets-import-decoding');
  await page.getByTestId('import-cancel').click();
  await expect(page.getByTestId('import-error')).toHaveText(`The import of ${folder} was cancelled: nothing was registered.`);
  await expect(progress).toHaveCount(0);
  expect(registered(studio.dbPath)).toEqual([]);

  // Without the photos but with a JPEG cut in half: its header passes the check, decoding names it.
  for (let i = 0; i < 120; i++) fs.rmSync(path.join(folder, 'train', 'apple', `photo${i}.jpg`));
  const small = jpegBytes(48, 32, (x, y) => [x * 5, y * 7, 200]);
  const cut = path.join(folder, 'val', 'berry', 'cut.jpg');
  fs.writeFileSync(cut, small.subarray(0, small.length >> 1));
  await page.getByTestId('import-path').locator('input').fill(`${folder}/`);
  await page.getByTestId('import-check').click();
  await expect(page.getByTestId('import-preview')).toContainText('Test images6');
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('import-error')).toContainText(`${cut}: is a damaged JPEG`);
  await expect(page.getByTestId('import-error')).toContainText('Nothing was imported');
  expect(registered(studio.dbPath)).toEqual([]);
  expect(consoleErrors).toEqual([]);
  fs.rmSync(folder, { recursive: true, force: true });
});
