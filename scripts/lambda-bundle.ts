// The esbuild options for the Lambda bundle, defined once.

import type { BuildOptions } from 'esbuild';

export const OUT_FILE = 'dist/handler.mjs';
export const META_FILE = 'dist/meta.json';

export const bundleOptions = {
  entryPoints: ['lambda/index.ts'],
  outfile: OUT_FILE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The Lambda runtime's Node major (nodejs24.x).
  target: 'node24',
  minify: true,
  sourcemap: true,
  metafile: true,
  // The AWS SDK ships ESM under "module"; preferring it lets esbuild drop what is unused.
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may still require() Node built-ins.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
} satisfies BuildOptions & { metafile: true };
