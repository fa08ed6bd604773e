/** Finding the browsers the UI tests drive; nothing is ever downloaded. */
import fs from 'node:fs';
import { createRequire } from 'node:module';

const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
];

/** CHROMIUM_PATH, else a system Chromium or Chrome, else undefined (Playwright's own, if installed). */
export function chromiumExecutable(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  return CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
}

/** Flags for Chromium on a headless CI machine as root, with no network beyond loopback. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The Electron binary, or the reason there is none (the package is optional; its download can fail). */
export function electronBinary(): { path: string } | { missing: string } {
  try {
    const binary: unknown = createRequire(import.meta.url)('electron');
    if (typeof binary === 'string' && fs.existsSync(binary)) return { path: binary };
    return { missing: `the electron package points at ${String(binary)}, which does not exist` };
  } catch (error) {
    return { missing: (error as Error).message.split('\n')[0]! };
  }
}
