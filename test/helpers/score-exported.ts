// For tests that cannot import the engine (Playwright runs ESM): `node scripts/run-ts.mjs
// test/helpers/score-exported.ts DIR [TEST_LIMIT]` prints {"accuracy":..,"images":..}, scored on
// the wasm backend the studio trained and measured on.
import { initWasmBackend } from '../../main/engine/backend/wasm-setup';
import { exportedAccuracy } from './exported-accuracy';

const [dir, limit] = process.argv.slice(2);
initWasmBackend()
  .then(() => exportedAccuracy(dir!, limit ? Number(limit) : undefined))
  .then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
