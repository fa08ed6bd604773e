/** Where the studio keeps its data on each platform, and how a user overrides it. */
import os from 'node:os';
import path from 'node:path';

export const PRODUCT_NAME = 'Blockwise Studio';
export const DB_FILE_NAME = 'studio.sqlite';
export const DB_ENV = 'BLOCKWISE_DB';

/**
 * The per-user application data folder, the same one Electron's `app.getPath('userData')`
 * gives for our product name, so the Electron app and the web host share one database.
 */
export function userDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  if (platform === 'win32') return path.win32.join(env.APPDATA ?? path.win32.join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(home, '.config'), PRODUCT_NAME);
}

/** The database path: `--db` flag, then the BLOCKWISE_DB variable, then the user-data folder. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, dataDir = userDataDir()): string {
  const chosen = flag ?? env[DB_ENV];
  if (chosen !== undefined && chosen.trim() === '') throw new Error(`The database path is empty: pass --db PATH or set ${DB_ENV} to a file path.`);
  return path.resolve(chosen ?? path.join(dataDir, DB_FILE_NAME));
}
