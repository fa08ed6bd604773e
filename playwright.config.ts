import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumExecutable } from './test/helpers/browsers';

export default defineConfig({
  outputDir: 'test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: process.env.CI ? 1 : 2,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: { screenshot: 'only-on-failure', trace: 'retain-on-failure' },
  projects: [
    {
      name: 'web',
      testDir: 'test/e2e',
      use: { browserName: 'chromium', launchOptions: { executablePath: chromiumExecutable(), args: CHROMIUM_ARGS } },
    },
    { name: 'electron', testDir: 'test/electron' },
  ],
});
