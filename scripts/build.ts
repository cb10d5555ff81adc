// `npm run build`: bundles the Lambda entry into dist/handler.mjs, the one
// artifact the CDK stack deploys (CONTRACT §11). The esbuild options live in
// lambda-bundle.ts so the stack and the benchmark cannot drift from them.

import { mkdir, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';
import { bundleOptions, OUT_FILE, META_FILE } from './lambda-bundle.ts';

await mkdir('dist', { recursive: true });
const result = await build(bundleOptions);
await writeFile(META_FILE, JSON.stringify(result.metafile));
const bytes = result.metafile.outputs[OUT_FILE]?.bytes ?? 0;
console.log(`${OUT_FILE}: ${(bytes / 1024).toFixed(1)} KiB (metafile: ${META_FILE})`);
