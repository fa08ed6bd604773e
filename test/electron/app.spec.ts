/**
 * The Electron app itself, driven by Playwright's _electron. It needs the Electron binary,
 * which the optional `electron` package downloads at install; where that download is not
 * possible (CI here), every test is skipped with the reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';
import { electronBinary } from '../helpers/browsers';

const binary = electronBinary();

test.skip(!('path' in binary), `Electron binary not available, so the desktop app cannot be launched here: ${'missing' in binary ? binary.missing : ''}. The same renderer and services are covered by the web-host tests.`);

test('opens a sandboxed, context-isolated window that talks to the services only through the bridge', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-electron-'));
  const dbPath = path.join(dir, 'studio.sqlite');
  const app = await electron.launch({
    executablePath: (binary as { path: string }).path,
    args: ['.', '--db', dbPath, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
  });
  try {
    const window = await app.firstWindow();
    await expect(window.getByTestId('status-host')).toHaveText('Host: Electron app');
    await expect(window.getByTestId('status-db')).toHaveText(`Database: ${dbPath}`);
    // No Node in the page (nodeIntegration off, sandboxed), and only the bridge's two functions exposed.
    expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await window.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    expect(await window.evaluate(() => Object.keys((globalThis as unknown as { studioBridge: object }).studioBridge).sort())).toEqual(['call', 'onEvent']);

    // A bad call through the bridge gets the same clear error as the web host's 400.
    const bad = await window.evaluate(() => (globalThis as unknown as { studioBridge: { call: (n: string, i: unknown) => Promise<unknown> } }).studioBridge.call('projects:create', { name: '' }));
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });

    // Navigation away from the app is blocked.
    await window.evaluate(() => (location.href = 'https://example.com/'));
    await window.waitForTimeout(500);
    expect(window.url()).toMatch(/^app:\/\/studio\//);
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
