/** Starting the web host from the command line: open the store, listen, print the URL, open a browser. */
import { spawn } from 'node:child_process';
import type { StudioArgs } from '../platform/args';
import { RENDERER_DIR } from '../platform/app-root';
import { resolveDbPath } from '../platform/paths';
import { createStudio } from '../studio';
import { createToken } from './auth';
import { startWebHost } from './server';

export async function runWebHost(args: StudioArgs, reason?: string): Promise<void> {
  const studio = createStudio({ host: 'web', dbPath: resolveDbPath(args.db) });
  const host = await startWebHost({ studio, token: createToken(), rendererDir: RENDERER_DIR, port: args.port, log: console.error });
  if (reason) console.log(reason);
  console.log(`Blockwise Studio web host: ${host.url}`);
  console.log(`Database: ${studio.store.path}`);
  console.log('Press Ctrl+C to stop.');
  if (args.open) openBrowser(host.url);
  const stop = () => {
    void host
      .close()
      .then(() => studio.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Best effort: a machine without a desktop just keeps the printed URL. */
function openBrowser(url: string): void {
  if (process.env.CI) return;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const [command, ...args] =
    process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  try {
    const child = spawn(command!, args, { stdio: 'ignore', detached: true });
    child.on('error', () => console.log('(Could not open a browser: open the URL above yourself.)'));
    child.unref();
  } catch {
    console.log('(Could not open a browser: open the URL above yourself.)');
  }
}
