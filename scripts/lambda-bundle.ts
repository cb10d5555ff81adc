// The esbuild options for the Lambda bundle, defined once: `npm run build`,
// the benchmark and the CDK stack's tests all build with these. Two entries,
// one per kind of function the stack deploys from the same asset: the
// handler (HTTP, EventBridge, direct calls) and the queue worker. Each is
// built on its own (buildBundles), so that neither loads the other's code
// as shared chunks: built together, handler.mjs became a stub importing ten
// chunks, and its first answer took about 10% longer (npm run bench).

import { build, type BuildOptions, type Metafile } from 'esbuild';

export const OUT_DIR = 'dist';
export const OUT_FILE = 'dist/handler.mjs';
/** The queue worker's entry (handler `worker.handler`). */
export const WORKER_FILE = 'dist/worker.mjs';
export const META_FILE = 'dist/meta.json';

/** Each deployed entry, by the name of its file in dist/. */
export const ENTRY_POINTS = { handler: 'lambda/index.ts', worker: 'lambda/worker-index.ts' } as const;

export const bundleOptions = {
  entryPoints: { handler: ENTRY_POINTS.handler },
  outdir: OUT_DIR,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The Lambda runtime's Node major (nodejs24.x).
  target: 'node24',
  minify: true,
  sourcemap: true,
  metafile: true,
  // Code behind a dynamic import() goes to its own chunk, loaded only when
  // reached: the SDK's SSO/INI/web-identity credential providers and their
  // STS/SSO clients (Lambda's credentials come from the environment, the
  // first link of the chain), and jose (JWT mode only). Cold starts parse
  // only what the first answer needs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // The AWS SDK ships ESM under "module"; preferring it lets esbuild drop what is unused.
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may still require() Node built-ins.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
} satisfies BuildOptions & { metafile: true };

/**
 * What a cold start may load as deployed: dist/handler.mjs, the chunks it
 * imports statically, and the delivery store's chunk, which the stack's
 * function loads during init since it always sets IDEMPOTENCY_TABLE.
 * Enforced by the test suite. Was 350 KiB before the delivery store, whose
 * chunk (the DynamoDB client and Powertools Idempotency) is about 67 KiB,
 * and 400 KiB before async mode, whose intake (the queue sender, the queued
 * message's schema, the 202) adds about 7 KiB. The SQS client itself (36 KiB)
 * is loaded by the synchronous function only when a request asks for async.
 */
export const COLD_START_BUDGET_BYTES = 420 * 1024;

/**
 * The same ceiling for the worker's cold start (dist/worker.mjs and the
 * chunks it imports statically): it needs what the handler needs to call D3
 * and the delivery table, less the HTTP and signature code. Enforced by the
 * test suite beside the handler's.
 */
export const WORKER_COLD_START_BUDGET_BYTES = COLD_START_BUDGET_BYTES;

/** The module behind the delivery store's dynamic import(). */
export const DELIVERY_STORE_MODULE = 'lambda/deliveries/delivery-ledger.ts';

/**
 * The output files a cold start loads: the entry and every chunk it imports
 * statically; with `deployed`, also the delivery store's chunk and its imports.
 */
export function loadedAtColdStart(meta: Metafile, entry: string = OUT_FILE, deployed = false): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of meta.outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  if (deployed) {
    const store = Object.entries(meta.outputs).find(([, output]) => output.entryPoint === DELIVERY_STORE_MODULE)?.[0];
    if (store === undefined)
      throw new Error(`No chunk holds ${DELIVERY_STORE_MODULE}: is the delivery store still loaded lazily?`);
    visit(store);
  }
  return [...seen];
}

/**
 * Builds every entry into dist/, one esbuild build each, and returns their
 * metafiles merged. A lazy chunk both need is written by both builds under
 * the same content-hashed name, with the same bytes.
 */
export async function buildBundles(): Promise<Metafile> {
  const metafiles = await Promise.all(
    Object.entries(ENTRY_POINTS).map(async ([name, entry]) => {
      const { metafile } = await build({ ...bundleOptions, entryPoints: { [name]: entry } });
      return metafile;
    }),
  );
  return {
    inputs: Object.assign({}, ...metafiles.map((meta) => meta.inputs)),
    outputs: Object.assign({}, ...metafiles.map((meta) => meta.outputs)),
  };
}
