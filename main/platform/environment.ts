/** The facts recorded with every run so that it can be explained or reproduced later. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { RunEnvironment } from '../../shared/api/schemas';
import type { BackendId } from '../../shared/ids';
import { APP_VERSION } from './app-root';

/** The git commit of `dir`, or null where it is not a git checkout or git is missing. */
export function gitCommit(dir: string): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : null;
  } catch {
    return null;
  }
}

export function collectEnvironment(backend: BackendId | null, appDir: string, extraVersions: Record<string, string> = {}): RunEnvironment {
  const versions: Record<string, string> = { app: APP_VERSION, node: process.versions.node, ...extraVersions };
  if (process.versions.electron) versions.electron = process.versions.electron;
  return { backend, versions, platform: process.platform, arch: process.arch, cpus: os.cpus().length, gitCommit: gitCommit(appDir) };
}
