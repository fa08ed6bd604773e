/**
 * Issue 13, every setting reachable from the launcher under the API's names: padding,
 * normalisation and the MNIST split travel in `runs:start` as `input` and `dataSplit`, and each
 * run carries only its own method's option blocks (the end-to-end baseline none). The request is
 * answered here instead of by the host, so nothing trains.
 */
import { expect, test } from './fixtures';

test('launcher: padding, normalisation and split sent by their API names, only the method’s own blocks', async ({ page, studio, consoleErrors }) => {
  await page.goto(studio.url);
  await page.getByTestId('workspace-nav').getByText('Split editor').click();
  const editor = page.getByTestId('workspace-split');
  await editor.getByTestId('gap-1-0').click();
  await expect(editor.getByTestId('split-json').locator('input')).toHaveValue('[[1,0]]');
  await editor.getByTestId('split-train').click();
  const launch = page.getByTestId('launch-dialog');
  await launch.getByText('Input and data split').click();
  await launch.getByTestId('launch-pad').locator('input').fill('2');
  await launch.getByTestId('launch-mean').locator('input').fill('0.5');
  await launch.getByTestId('launch-std').locator('input').fill('0.5');
  await launch.getByTestId('launch-split-seed').locator('input').fill('5');
  await launch.getByTestId('launch-test-per-class').locator('input').fill('10');
  await launch.getByTestId('launch-augment').click();

  const sent: Record<string, unknown>[] = [];
  await page.route(/\/api\/call\/runs(%3A|:)start$/, async (route) => {
    sent.push((route.request().postDataJSON() as { config: Record<string, unknown> }).config);
    await route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ ok: false, error: { code: 'bad_request', message: 'Stopped by the test: nothing trains.' } }) });
  });
  await launch.getByTestId('launch-submit').click();
  await expect(launch).toContainText('Stopped by the test');
  expect(sent.length).toBeGreaterThanOrEqual(1);
  const [infopro] = sent as [Record<string, unknown>];
  expect(infopro).toMatchObject({ method: 'infopro', augment: false, input: { pad: 2, normalization: { mean: [0.5], std: [0.5] } }, dataSplit: { seed: 5, testPerClass: 10 }, infopro: { auxConfig: '1c2f', lossMode: 'contrast' } });
  expect(infopro.hpff).toBeUndefined();
  expect(infopro.man).toBeUndefined();
  expect(consoleErrors).toEqual([]);
});
