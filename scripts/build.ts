// `npm run build`: bundles the Lambda entries into dist/handler.mjs and
// dist/worker.mjs (plus the lazily loaded chunks under dist/chunks/), the artifact the CDK stack deploys. The esbuild
// options live in lambda-bundle.ts.

import { rm, writeFile } from 'node:fs/promises';
import { buildBundles, loadedAtColdStart, META_FILE, OUT_DIR, OUT_FILE, WORKER_FILE } from './lambda-bundle.ts';

// Chunk names carry content hashes: stale ones must not ride along into a deploy.
await rm(OUT_DIR, { recursive: true, force: true });
const metafile = await buildBundles();
await writeFile(META_FILE, JSON.stringify(metafile));
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
for (const entry of [OUT_FILE, WORKER_FILE]) {
  const own = metafile.outputs[entry]?.bytes ?? 0;
  // What a cold start parses before the first event: the entry and its static imports.
  const loaded = loadedAtColdStart(metafile, entry).reduce((sum, file) => sum + (metafile.outputs[file]?.bytes ?? 0), 0);
  console.log(`${entry}: ${kib(own)}, ${kib(loaded)} with its static imports`);
}
console.log(`metafile: ${META_FILE}`);
