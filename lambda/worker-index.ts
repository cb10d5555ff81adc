// What Lambda loads for the queue worker (`dist/worker.mjs` exports this): one
// handler per instance, built at cold start from the function's environment.

import { createWorker } from './worker.ts';

export const handler = createWorker();
