import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { EspeakMissingError, speak } from '../../../main/speak/audio/espeak';

// Its own file: the module remembers whether espeak-ng was found, once per process.
const savedPath = process.env.PATH;
afterAll(() => {
  process.env.PATH = savedPath;
});

it('says how to install espeak-ng when it is missing', () => {
  process.env.PATH = mkdtempSync(path.join(os.tmpdir(), 'no-espeak-'));
  expect(() => speak('Hello there.')).toThrow(EspeakMissingError);
  expect(() => speak('Hello there.')).toThrow(/apt-get install espeak-ng/);
});
