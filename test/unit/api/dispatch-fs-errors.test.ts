/**
 * A file-system error that escapes a handler (a folder that became a file, a disk that filled up)
 * reaches the caller as a plain 400 naming the file and what to do, not as a 500 carrying the raw
 * system error; any other failure stays internal and is logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDispatcher, type Handlers } from '../../../main/api/dispatch';
import { useTempDir } from '../../helpers/temp';

describe('dispatch of file-system errors', () => {
  const tmp = useTempDir();

  it('answers a real system error with a plain bad request, and logs nothing', async () => {
    fs.writeFileSync(path.join(tmp(), 'file'), 'x');
    const target = path.join(tmp(), 'file', 'sub');
    const logged: string[] = [];
    const handlers = { 'app:info': () => fs.mkdirSync(target) } as unknown as Handlers;
    const reply = await createDispatcher(handlers, (m) => logged.push(m))('app:info', {});
    expect(reply).toEqual({ ok: false, error: { code: 'bad_request', message: `Cannot create ${target}: a part of the path is a file, not a folder: check the path.` } });
    expect(logged).toEqual([]);
  });

  it('keeps any other failure internal, logged with its stack', async () => {
    const logged: string[] = [];
    const handlers = { 'app:info': () => JSON.parse('{') as unknown } as unknown as Handlers;
    const reply = await createDispatcher(handlers, (m) => logged.push(m))('app:info', {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(logged[0]).toMatch(/^\[dispatch\] app:info failed: SyntaxError/);
  });
});
