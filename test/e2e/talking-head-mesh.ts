/**
 * Head yaw of PNG frames by the real face mesh (human, main/speak/instruments/head-pose.ts), for
 * the talking-head editor's UI test. A script of its own (node scripts/run-ts.mjs), because the
 * instruments load JSON model lists that Playwright's module loader does not take.
 * Usage: node scripts/run-ts.mjs test/e2e/talking-head-mesh.ts a.png b.png  -> JSON [yaw|null, ...]
 */
import fs from 'node:fs';
import { decodePngRgb } from '../../main/speak/corpus/png';
import { FaceMeshMeter } from '../../main/speak/instruments/head-pose';

async function main(files: string[]): Promise<void> {
  const meter = await FaceMeshMeter.start();
  const yaws: (number | null)[] = [];
  for (const file of files) {
    const png = decodePngRgb(fs.readFileSync(file));
    yaws.push((await meter.headPose({ width: png.width, height: png.height, data: png.rgb }))?.yaw ?? null);
  }
  await meter.close();
  console.log(JSON.stringify(yaws));
}

void main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
