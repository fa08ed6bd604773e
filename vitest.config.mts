import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    // Vitest's default (cores - 1) runs one file at a time on 2 cores; many files wait on child
    // processes, sockets and Redis, so two at a time took the suite from ~12 to ~9 minutes there.
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
  },
});
