/**
 * The release workflow (.github/workflows/release.yml) cannot run here; this reads it as YAML and
 * checks what it promises: one job per OS on Windows, macOS and Linux runners, each running the
 * Electron Playwright test before electron-builder builds that OS's installers, and uploading them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_ROOT } from '../../../main/platform/app-root';

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on': string;
  strategy?: { matrix?: { include?: Record<string, string>[]; os?: string[] } };
  steps: Step[];
}

const file = path.join(APP_ROOT, '.github', 'workflows', 'release.yml');

describe('release workflow', () => {
  const workflow = parse(fs.readFileSync(file, 'utf8')) as { on: Record<string, unknown>; jobs: Record<string, Job> };
  const jobs = Object.values(workflow.jobs);

  it('runs on version tags and by hand', () => {
    expect(workflow.on).toMatchObject({ push: { tags: ['v*'] } });
    expect(workflow.on).toHaveProperty('workflow_dispatch');
  });

  it('builds on a Windows, a macOS and a Linux runner, each its own', () => {
    const runners = jobs.flatMap((job) => {
      const include = job.strategy?.matrix?.include;
      return job['runs-on'] === '${{ matrix.os }}' && include ? include.map((entry) => entry.os!) : [job['runs-on']];
    });
    expect(runners.some((r) => /^windows-/.test(r))).toBe(true);
    expect(runners.some((r) => /^macos-/.test(r))).toBe(true);
    expect(runners.some((r) => /^ubuntu-/.test(r))).toBe(true);
    expect(new Set(runners).size).toBe(runners.length);
  });

  it('installs, builds, runs the Electron test, then electron-builder, and uploads the installers', () => {
    for (const job of jobs) {
      const runs = job.steps.map((s) => s.run ?? '');
      const at = (pattern: RegExp) => runs.findIndex((r) => pattern.test(r));
      const tests = job.strategy!.matrix!.include!.map((entry) => entry['electron-test']!);
      // Every runner's Electron test command runs the Playwright project that holds test/electron/.
      for (const command of tests) expect(command).toMatch(/playwright test --project electron\b/);
      expect(fs.readFileSync(path.join(APP_ROOT, 'playwright.config.ts'), 'utf8')).toMatch(/name: 'electron', testDir: 'test\/electron'/);
      const install = at(/^npm ci\b/);
      const build = at(/^npm run build$/);
      const electronTest = at(/matrix\.electron-test/);
      const builder = at(/electron-builder --config electron-builder\.yml/);
      expect(install).toBeGreaterThanOrEqual(0);
      expect(build).toBeGreaterThan(install);
      expect(electronTest).toBeGreaterThan(build);
      expect(builder).toBeGreaterThan(electronTest);
      const upload = job.steps.findIndex((s) => s.uses?.startsWith('actions/upload-artifact'));
      expect(upload).toBeGreaterThan(builder);
      expect(String(job.steps[upload]!.with!.path)).toMatch(/\.exe[\s\S]*\.dmg[\s\S]*\.AppImage[\s\S]*\.deb/);
    }
  });
});
