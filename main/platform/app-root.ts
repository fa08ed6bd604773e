/** Locations inside the installed app. The bundles all live flat in dist/main/. */
import path from 'node:path';
import { version } from '../../package.json';

export const APP_VERSION: string = version;

/** The app's root folder (holding package.json): two levels up from dist/main/ and from main/platform/ alike. */
export const APP_ROOT = path.resolve(__dirname, '../..');

/** The built renderer (index.html and assets). */
export const RENDERER_DIR = path.join(APP_ROOT, 'dist', 'renderer');
