/** Where the editor keeps faces and speech: beside the database (a temporary folder for an in-memory one). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let memoryRoot: string | undefined;

export function editorRoot(dbPath: string): string {
  if (dbPath !== ':memory:') return path.join(path.dirname(dbPath), 'talking-head-editor');
  memoryRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-editor-'));
  return memoryRoot;
}
