/** What can be checked of the installers without downloading Electron: the builder config and its inputs. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import pkg from '../../../package.json';

const config = parse(fs.readFileSync('electron-builder.yml', 'utf8'));
const targets = (platform: string) => (config[platform].target as (string | { target: string })[]).map((t) => (typeof t === 'string' ? t : t.target));

function pngSize(file: string): { width: number; height: number } {
  const png = fs.readFileSync(file);
  expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('electron-builder config', () => {
  it('builds NSIS, DMG, AppImage and deb installers', () => {
    expect(targets('win')).toEqual(['nsis']);
    expect(targets('mac')).toEqual(['dmg']);
    expect(targets('linux')).toEqual(['AppImage', 'deb']);
  });

  it('names the app and pins the Electron version the project depends on', () => {
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z]+)+$/);
    expect(config.productName).toBe(pkg.productName);
    expect(config.electronVersion).toBe(pkg.optionalDependencies.electron);
  });

  it('rebuilds native modules for Electron and keeps them outside the asar', () => {
    expect(config.npmRebuild).toBe(true);
    expect(config.asarUnpack).toContain('**/node_modules/better-sqlite3/**');
    expect(Object.keys(pkg.dependencies)).toContain('better-sqlite3');
  });

  it('packs the built app whose entry package.json names', () => {
    expect(config.files).toContain('dist/**');
    expect(pkg.main).toMatch(/^dist\/main\/.+\.cjs$/);
    expect(fs.existsSync(pkg.main), `${pkg.main} is missing: run npm run build first`).toBe(true);
  });

  it('has an icon of at least 512x512 for every platform', () => {
    for (const platform of ['win', 'mac', 'linux']) {
      const icon = config[platform].icon as string;
      expect(fs.existsSync(icon), icon).toBe(true);
      const { width, height } = pngSize(icon);
      expect(width).toBeGreaterThanOrEqual(512);
      expect(height).toBe(width);
    }
  });

  it('keeps renderer-only libraries out of the packaged dependencies', () => {
    for (const bundled of ['vue', 'pinia', 'naive-ui', 'vue-router']) expect(Object.keys(pkg.dependencies)).not.toContain(bundled);
  });
});
