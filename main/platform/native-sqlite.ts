/**
 * better-sqlite3 is a native addon, built at install for the Node.js that ran `npm install`.
 * Electron embeds a Node.js of another ABI, so `npm start` in Electron needs a second build
 * of the addon. It is made once per Electron version into a cache beside node_modules (a
 * prebuilt download first, else a compile against Electron's headers) and handed to the
 * Electron main process; the plain-Node build stays in place for the web host, the CLI and
 * the tests. Packaged apps do not need this: electron-builder rebuilds the addon for them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SQLITE_BINDING_ENV = 'BLOCKWISE_SQLITE_BINDING';

export interface NativeTarget {
  runtime: 'node' | 'electron';
  version: string;
  arch?: string;
}

export interface EnsureOptions {
  /** Folder holding node_modules/better-sqlite3. */
  appRoot: string;
  cacheRoot: string;
  log?: (message: string) => void;
}

export function sqliteBindingPath(cacheRoot: string, target: NativeTarget): string {
  return path.join(cacheRoot, `${target.runtime}-${target.version}-${process.platform}-${target.arch ?? process.arch}`, 'better_sqlite3.node');
}

/** The path of a better-sqlite3 binary for `target`, building it on first use. Throws with both attempts' output if it cannot. */
export function ensureSqliteBinding(target: NativeTarget, { appRoot, cacheRoot, log = () => {} }: EnsureOptions): string {
  const out = sqliteBindingPath(cacheRoot, target);
  if (fs.existsSync(out)) return out;
  const source = path.join(appRoot, 'node_modules', 'better-sqlite3');
  if (!fs.existsSync(path.join(source, 'binding.gyp'))) throw new Error(`better-sqlite3's sources are not in ${source}: run npm install first`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-sqlite-'));
  try {
    const pkg = path.join(work, 'better-sqlite3');
    fs.cpSync(source, pkg, { recursive: true, filter: (file) => !file.startsWith(path.join(source, 'build')) });
    log(`Preparing better-sqlite3 for ${target.runtime} ${target.version} (once; cached in ${path.dirname(out)})...`);
    const failures: string[] = [];
    for (const attempt of buildCommands(appRoot, target)) {
      const result = spawnSync(process.execPath, attempt.args, { cwd: pkg, env: attempt.env, encoding: 'utf8', timeout: 10 * 60_000 });
      const built = path.join(pkg, 'build', 'Release', 'better_sqlite3.node');
      if (result.status === 0 && fs.existsSync(built)) {
        fs.mkdirSync(path.dirname(out), { recursive: true });
        // Copy then rename, so an interrupted build never leaves a half-written binary in the cache.
        fs.copyFileSync(built, `${out}.partial`);
        fs.renameSync(`${out}.partial`, out);
        return out;
      }
      failures.push(`${attempt.name}: ${(result.error?.message ?? `${result.stderr}`).trim().split('\n').slice(-3).join(' | ')}`);
    }
    throw new Error(`could not build better-sqlite3 for ${target.runtime} ${target.version} (${failures.join('; ')})`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function buildCommands(appRoot: string, target: NativeTarget): { name: string; args: string[]; env: NodeJS.ProcessEnv }[] {
  const arch = target.arch ?? process.arch;
  // npm exports its nodedir to scripts; it points at this Node's headers, wrong for Electron.
  const { npm_config_nodedir: nodedir, ...env } = process.env;
  const headers = target.runtime === 'electron' ? ['--dist-url=https://electronjs.org/headers'] : nodedir ? [`--nodedir=${nodedir}`] : [];
  const commands = [
    {
      name: 'prebuilt download',
      args: [path.join(appRoot, 'node_modules', 'prebuild-install', 'bin.js'), `--runtime=${target.runtime}`, `--target=${target.version}`, `--arch=${arch}`],
      env,
    },
  ];
  const nodeGyp = findNodeGyp();
  if (nodeGyp) commands.push({ name: 'compile', args: [nodeGyp, 'rebuild', '--release', '--jobs=max', `--target=${target.version}`, `--arch=${arch}`, ...headers], env });
  return commands;
}

/** npm's own node-gyp: from npm's environment when run by an npm script, else beside this Node's npm. */
function findNodeGyp(): string | undefined {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c): c is string => !!c && fs.existsSync(c));
}
