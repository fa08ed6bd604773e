// `npm test`: type check, build, unit tests (vitest), UI tests (Playwright), then one summary line
// over both runners ("N passed, N failed, N skipped"). Stops at the first stage that fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

// Not under test-results/: Playwright empties that folder when it starts.
const REPORTS = 'test-reports';
mkdirSync(REPORTS, { recursive: true });

function stage(name, command, args, env = {}) {
  console.log(`\n== ${name}`);
  const { status } = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env }, shell: process.platform === 'win32' });
  if (status !== 0) {
    console.error(`\nnpm test: ${name} failed (exit ${status}).`);
    process.exit(status ?? 1);
  }
}

stage('type check', 'node', ['scripts/typecheck.mjs']);
stage('build', 'node', ['scripts/build.mjs']);
stage('unit tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORTS}/unit.json`]);
stage('UI tests', 'npx', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: `${REPORTS}/e2e.json` });

const unit = JSON.parse(readFileSync(`${REPORTS}/unit.json`, 'utf8'));
const e2e = JSON.parse(readFileSync(`${REPORTS}/e2e.json`, 'utf8')).stats;
const passed = unit.numPassedTests + e2e.expected;
const failed = unit.numFailedTests + e2e.unexpected + e2e.flaky;
const skipped = unit.numPendingTests + unit.numTodoTests + e2e.skipped;
console.log(`\nunit: ${unit.numPassedTests} passed; UI: ${e2e.expected} passed, ${e2e.skipped} skipped`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0 || passed === 0) process.exit(1);
