/** Each test gets its own web host on a fresh temporary database, started exactly as `npm start -- --web` does. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';

export interface StudioHost {
  /** The printed URL, token included. */
  url: string;
  origin: string;
  token: string;
  dbPath: string;
}

async function startHost(dbPath: string): Promise<{ host: StudioHost; process: ChildProcess }> {
  const child = spawn(process.execPath, ['dist/main/start.cjs', '--web', '--no-open', '--port', '0', '--db', dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web host printed no URL within 20 s:\n${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /web host: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => reject(new Error(`web host exited with ${code}:\n${output}`)));
  });
  const parsed = new URL(url);
  return { host: { url, origin: parsed.origin, token: parsed.searchParams.get('token')!, dbPath }, process: child };
}

export const test = base.extend<{ studio: StudioHost; consoleErrors: string[] }>({
  // eslint-disable-next-line no-empty-pattern
  studio: async ({}, use) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-e2e-'));
    const { host, process: child } = await startHost(path.join(dir, 'studio.sqlite'));
    await use(host);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  },
  /**
   * Console errors and uncaught exceptions of the page, CSP violations included; tests assert it
   * stays empty. Chromium's own log line for a 4xx answer is left out: tests provoke those on purpose.
   */
  consoleErrors: async ({ page }, use) => {
    const errors: string[] = [];
    const expected4xx = /^Failed to load resource: the server responded with a status of 4\d\d/;
    page.on('console', (message) => message.type() === 'error' && !expected4xx.test(message.text()) && errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(error.message));
    await use(errors);
  },
});

/** Keep a screenshot of each view as a test artifact. */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

export { expect };

/**
 * A web host the test starts, kills and restarts itself (crash recovery: same database, a new
 * process and token each time). The caller stops it (`process.kill`).
 */
export const launchHost = startHost;

/** One contract call as a script makes it (Authorization: Bearer); throws the host's error message. */
export async function callApi<T = unknown>(host: StudioHost, operation: string, args: object = {}): Promise<T> {
  const response = await fetch(`${host.origin}/api/call/${operation}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const envelope = (await response.json()) as { ok: true; result: T } | { ok: false; error: { message: string } };
  if (!envelope.ok) throw new Error(`${operation}: ${envelope.error.message}`);
  return envelope.result;
}

/** A project and experiment to queue runs under, made through the contract. */
export async function newExperiment(host: StudioHost): Promise<number> {
  const project = await callApi<{ id: number }>(host, 'projects:create', { name: `project ${Date.now()}` });
  return (await callApi<{ id: number }>(host, 'experiments:create', { projectId: project.id, name: 'runs' })).id;
}

/**
 * A tiny real run by the CLI (1 epoch, batch 32, `trainLimit` training and 100 test images, wasm)
 * into `db`, in its own process: several may train into the same database at once.
 */
export function trainByCli(db: string, args: string[], { trainLimit }: { trainLimit: number }): Promise<void> {
  const child = spawn(process.execPath, ['dist/main/blockwise.cjs', 'train', '--db', db, '--epochs', '1', '--batch', '32', '--train-limit', String(trainLimit), '--test-limit', '100', '--backend', 'wasm', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`blockwise train ${args.join(' ')} failed: ${stderr}`)))));
}

/** The page at 1024x700 and 1440x900 in light and dark, kept as test artifacts, scrolled so that test id `top` starts the view; ends in light. */
export async function screenshots(page: Page, name: string, top: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    const toggle = page.getByTestId('theme-toggle');
    const isDark = (await toggle.getAttribute('aria-label')) === 'Switch to light theme';
    if (isDark !== (theme === 'dark')) await toggle.click();
    await expect(toggle).toHaveAttribute('aria-label', theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme');
    for (const [width, height] of [[1024, 700], [1440, 900]] as const) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(150); // charts redraw on resize
      await page.getByTestId(top).evaluate((element) => element.scrollIntoView({ block: 'start' }));
      await page.mouse.move(1, height - 1); // no hover tooltip in the picture
      await page.screenshot({ path: test.info().outputPath(`${name}-${width}x${height}-${theme}.png`) });
    }
  }
  await page.getByTestId('theme-toggle').click(); // back to light
}
