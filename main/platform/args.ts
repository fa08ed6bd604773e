/** Command-line flags shared by `npm start`, the web host and the Electron app. */

export interface StudioArgs {
  /** Database file (overrides BLOCKWISE_DB and the user-data default). */
  db?: string;
  /** Web host port; 0 picks a free one. */
  port: number;
  /** Open the default browser on the web host's URL. */
  open: boolean;
  /** Use the web host even where Electron is installed. */
  web: boolean;
}

export const USAGE = `Usage: npm start -- [--db PATH] [--port N] [--no-open] [--web]
  --db PATH   SQLite database to use (default: BLOCKWISE_DB, else the user-data folder)
  --port N    web host port on 127.0.0.1 (default: a free port)
  --no-open   do not open a browser (web host only)
  --web       run the web host even where Electron is installed`;

export class ArgsError extends Error {}

export function parseArgs(argv: readonly string[]): StudioArgs {
  const args: StudioArgs = { port: 0, open: true, web: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.startsWith('--') && flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new ArgsError(`${name} needs a value.\n${USAGE}`);
      return v;
    };
    switch (name) {
      case '--db':
        args.db = value();
        break;
      case '--port': {
        const raw = value();
        const port = Number(raw);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ArgsError(`--port must be an integer from 0 to 65535, got "${raw}".`);
        args.port = port;
        break;
      }
      case '--no-open':
        args.open = false;
        break;
      case '--web':
        args.web = true;
        break;
      default:
        // Electron and Chromium add switches of their own (e.g. --no-sandbox); only ours are checked.
        if (name.startsWith('--') && !isForeignSwitch(name)) throw new ArgsError(`Unknown option ${name}.\n${USAGE}`);
    }
  }
  return args;
}

const FOREIGN_SWITCHES = ['--no-sandbox', '--inspect', '--remote-debugging-port', '--enable-logging', '--disable-gpu', '--headless'];

function isForeignSwitch(name: string): boolean {
  return FOREIGN_SWITCHES.some((s) => name === s || name.startsWith(`${s}=`));
}
