/**
 * `npm start`: the Electron window where an Electron binary is installed, otherwise the web
 * host in the default browser. Both serve the same renderer and the same services.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { runWebHost } from './host/run';
import { APP_ROOT } from './platform/app-root';
import { ArgsError, parseArgs } from './platform/args';
import { ensureSqliteBinding, SQLITE_BINDING_ENV } from './platform/native-sqlite';

/**
 * The Electron binary's path, or why there is none, in words for the startup line. In plain Node,
 * `require('electron')` returns that path; without the binary it throws its own install advice
 * ("failed to install correctly, please delete node_modules/electron"), which is wrong advice
 * where the download was skipped on purpose (CI, offline machines).
 */
function findElectron(): { binary: string } | { missing: string } {
  const notInstalled = 'the Electron app is not installed here (its binary download was skipped or failed; `npm install` fetches it where the internet is reachable)';
  try {
    const binary: unknown = require('electron');
    return typeof binary === 'string' ? { binary } : { missing: notInstalled };
  } catch (error) {
    const message = (error as Error).message;
    return { missing: /Cannot find module|failed to install correctly/.test(message) ? notInstalled : `Electron could not be loaded (${message})` };
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const electron = args.web ? { missing: '--web was given' } : findElectron();
  if (!('binary' in electron)) return runWebHost(args, `Starting the web host: ${electron.missing}.`);
  const version = (require('electron/package.json') as { version: string }).version;
  let binding: string;
  try {
    binding = ensureSqliteBinding({ runtime: 'electron', version }, { appRoot: APP_ROOT, cacheRoot: path.join(APP_ROOT, 'node_modules', '.cache', 'blockwise-native'), log: console.log });
  } catch (error) {
    return runWebHost(args, `Starting the web host: ${(error as Error).message}.`);
  }
  const child = spawn(electron.binary, [APP_ROOT, ...argv], { stdio: 'inherit', env: { ...process.env, [SQLITE_BINDING_ENV]: binding } });
  child.on('exit', (code) => process.exit(code ?? 0));
}

main().catch((error: unknown) => {
  console.error(error instanceof ArgsError ? error.message : `Blockwise Studio could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
