// What Lambda loads (`dist/handler.mjs` exports this): one handler per
// instance, built at cold start from the function's environment.

import { createHandler } from './handler.ts';

export const handler = createHandler();
