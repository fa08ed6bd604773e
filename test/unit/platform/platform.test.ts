import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../../shared/security/csp';
import { ArgsError, parseArgs } from '../../../main/platform/args';
import { detectBackends, preferredBackend } from '../../../main/platform/backends';
import { collectEnvironment, gitCommit } from '../../../main/platform/environment';
import { DB_ENV, resolveDbPath, userDataDir } from '../../../main/platform/paths';
import { useTempDir } from '../../helpers/temp';

describe('user data and database path', () => {
  it('matches Electron userData on each platform', () => {
    expect(userDataDir('linux', {}, '/home/ada')).toBe('/home/ada/.config/Blockwise Studio');
    expect(userDataDir('linux', { XDG_CONFIG_HOME: '/xdg' }, '/home/ada')).toBe('/xdg/Blockwise Studio');
    expect(userDataDir('darwin', {}, '/Users/ada')).toBe('/Users/ada/Library/Application Support/Blockwise Studio');
    expect(userDataDir('win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada')).toBe('C:\\Users\\ada\\AppData\\Roaming\\Blockwise Studio');
  });

  it('prefers the flag, then the environment variable, then user data', () => {
    expect(resolveDbPath('/a/flag.sqlite', { [DB_ENV]: '/a/env.sqlite' }, '/data')).toBe('/a/flag.sqlite');
    expect(resolveDbPath(undefined, { [DB_ENV]: '/a/env.sqlite' }, '/data')).toBe('/a/env.sqlite');
    expect(resolveDbPath(undefined, {}, '/data')).toBe('/data/studio.sqlite');
    expect(() => resolveDbPath(' ', {}, '/data')).toThrow(/database path is empty/);
  });
});

describe('command-line flags', () => {
  it('parses ours and tolerates Chromium switches', () => {
    expect(parseArgs(['--db', 'x.sqlite', '--port=8080', '--no-open', '--no-sandbox'])).toEqual({ db: 'x.sqlite', port: 8080, open: false, web: false });
    expect(parseArgs([])).toEqual({ port: 0, open: true, web: false });
  });

  it.each([
    [['--port', 'abc'], /--port must be an integer/],
    [['--port', '70000'], /--port must be an integer/],
    [['--db'], /--db needs a value/],
    [['--dbb', 'x'], /Unknown option --dbb/],
  ])('rejects %j with a message naming the fix', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(ArgsError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('backend detection', () => {
  it('lists every backend best first and picks the best installed', () => {
    const installed = new Set(['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu', 'webgpu']);
    const backends = detectBackends((p) => installed.has(p));
    expect(backends.map((b) => b.id)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    expect(backends.find((b) => b.id === 'webgpu')).toMatchObject({ installed: false, detail: 'not installed (@tensorflow/tfjs-backend-webgpu)' });
    expect(preferredBackend(backends)).toBe('wasm');
    expect(preferredBackend(detectBackends(() => false))).toBeNull();
  });

  it('counts WebGPU only with a hardware adapter', () => {
    const webgpu = (probe: () => { description: string; software: boolean; route: number } | null) => detectBackends(() => true, probe).find((b) => b.id === 'webgpu')!;
    expect(webgpu(() => ({ description: 'NVIDIA RTX', software: false, route: 0 }))).toMatchObject({ installed: true, detail: 'any GPU vendor; needs a GPU adapter: NVIDIA RTX' });
    expect(webgpu(() => ({ description: 'llvmpipe', software: true, route: 1 }))).toMatchObject({ installed: false, detail: expect.stringContaining('only a software adapter (llvmpipe)') });
    expect(webgpu(() => null)).toMatchObject({ installed: false, detail: 'installed, but no GPU adapter' });
    expect(preferredBackend(detectBackends(() => true, () => null))).toBe('tensorflow-gpu');
  });

  it('finds the packages really installed here', () => {
    const backends = detectBackends();
    expect(backends.find((b) => b.id === 'wasm')?.installed).toBe(true);
    expect(backends.find((b) => b.id === 'cpu')?.installed).toBe(true);
  });
});

describe('run environment', () => {
  const tmp = useTempDir();

  it('records the git commit where there is one, and null elsewhere', () => {
    const dir = tmp();
    expect(gitCommit(dir)).toBeNull();
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
    git('init', '-q');
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    git('add', 'f');
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'x');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    expect(gitCommit(dir)).toBe(head);
    expect(collectEnvironment('wasm', dir, { tfjs: '4.22.0' })).toMatchObject({ backend: 'wasm', gitCommit: head, versions: { tfjs: '4.22.0', node: process.versions.node } });
  });
});

describe('content security policy', () => {
  it('allows no eval, no inline script and no foreign origins', () => {
    const csp = contentSecurityPolicy({ connect: ['ws://127.0.0.1:1'] });
    expect(csp).not.toMatch(/unsafe-eval|unsafe-hashes|\*/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain('connect-src \'self\' ws://127.0.0.1:1');
    expect(csp).not.toContain('frame-ancestors');
    expect(contentSecurityPolicy({ frameAncestors: true })).toContain("frame-ancestors 'none'");
  });
});
