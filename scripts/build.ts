// `npm run build`: bundles the Lambda entry into dist/handler.mjs (plus the
// lazily loaded chunks under dist/chunks/), the artifact the CDK stack
// deploys. The esbuild options live in lambda-bundle.ts.

import { rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';
import { bundleOptions, META_FILE, OUT_DIR, OUT_FILE } from './lambda-bundle.ts';

// Chunk names carry content hashes: stale ones must not ride along into a deploy.
await rm(OUT_DIR, { recursive: true, force: true });
const result = await build(bundleOptions);
await writeFile(META_FILE, JSON.stringify(result.metafile));
const bytes = result.metafile.outputs[OUT_FILE]?.bytes ?? 0;
console.log(`${OUT_FILE}: ${(bytes / 1024).toFixed(1)} KiB (metafile: ${META_FILE})`);
