/** The Electron entry: wiring only. Services come from createStudio, like the web host's. */
import { BrowserWindow, app, dialog, ipcMain, protocol } from 'electron';
import path from 'node:path';
import { IPC_CHANNELS } from '../../shared/api/bridge';
import { contentSecurityPolicy } from '../../shared/security/csp';
import { readStaticFile } from '../host/static-files';
import { RENDERER_DIR } from '../platform/app-root';
import { ArgsError, parseArgs } from '../platform/args';
import { SQLITE_BINDING_ENV } from '../platform/native-sqlite';
import { resolveDbPath } from '../platform/paths';
import { createStudio, type Studio } from '../studio';
import { APP_ENTRY, APP_SCHEME, isTrustedFrame, lockDownWebContents } from './security';

// Must run before `ready`: app:// behaves like https (secure context, fetch, its own origin).
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

function serveRenderer(): void {
  const csp = contentSecurityPolicy();
  protocol.handle(APP_SCHEME, (request) => {
    const file = readStaticFile(RENDERER_DIR, new URL(request.url).pathname);
    if (!file) return new Response('Not found', { status: 404 });
    return new Response(new Uint8Array(file.body), {
      headers: { 'Content-Type': file.contentType, 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff' },
    });
  });
}

function registerIpc(studio: Studio): void {
  ipcMain.handle(IPC_CHANNELS.call, (event, name: unknown, input: unknown) => {
    if (!isTrustedFrame(event.senderFrame)) {
      return { ok: false, error: { code: 'forbidden', message: 'IPC calls are accepted only from the studio window.' } };
    }
    return studio.dispatch(name, input);
  });
  studio.subscribe((event) => {
    for (const window of BrowserWindow.getAllWindows()) window.webContents.send(IPC_CHANNELS.event, event);
  });
}

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Blockwise Studio',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_ENTRY);
}

async function main(): Promise<void> {
  // Packaged apps get [exe, ...flags]; `electron .` gets [electron, appPath, ...flags].
  const args = parseArgs(process.argv.slice(app.isPackaged ? 1 : 2));
  await app.whenReady();
  lockDownWebContents();
  // Unpackaged (`npm start`), better-sqlite3 comes as a separate Electron build; packaged apps have it rebuilt in place.
  const sqliteBinding = app.isPackaged ? undefined : process.env[SQLITE_BINDING_ENV];
  const studio = createStudio({
    host: 'electron',
    dbPath: resolveDbPath(args.db, process.env, app.getPath('userData')),
    sqliteBinding,
    pickFolder: async (title) => {
      const window = BrowserWindow.getFocusedWindow();
      const options = { title, properties: ['openDirectory' as const] };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
  });
  serveRenderer();
  registerIpc(studio);
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    // Stopping the job workers is asynchronous: hold the quit until their runs are marked interrupted.
    event.preventDefault();
    void studio.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
}

main().catch((error: unknown) => {
  const message = error instanceof ArgsError ? error.message : `Blockwise Studio could not start: ${error instanceof Error ? error.message : String(error)}`;
  console.error(`[electron-main] ${message}`);
  if (/NODE_MODULE_VERSION/.test(message)) console.error('[electron-main] Start the app with `npm start`, which prepares better-sqlite3 for Electron.');
  if (app.isReady()) dialog.showErrorBox('Blockwise Studio', message);
  app.exit(2);
});
