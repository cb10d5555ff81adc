import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A free port no other test worker hands out: for a recipe that hard-codes one (`npm start` on
 * PORT, then `curl 127.0.0.1:PORT`), or for a port that must stay closed.
 *
 * Not `listen(0)` then close: that port comes from the kernel's ephemeral range, where every
 * server the other test workers start on port 0 (simulator, Secrets Manager, DynamoDB, SQS) draws
 * too, so one of them can take it before the recipe binds it: the recipe's `until curl` then
 * talks to that server, and a "closed" port answers. Here each worker takes its own block below
 * the ephemeral range (`VITEST_POOL_ID` is unique among the workers running at once), and skips
 * ports held anyway.
 */
export async function workerPort(): Promise<number> {
  const pool = Number(process.env.VITEST_POOL_ID ?? '1');
  const block = 20_000 + (pool - 1) * BLOCK;
  if (block + BLOCK > ephemeralFloor()) throw new Error(`VITEST_POOL_ID ${pool} puts ports into the ephemeral range`);
  for (let tries = 0; tries < BLOCK; tries += 1) {
    const port = block + (next++ % BLOCK);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${block}–${block + BLOCK - 1}`);
}

const BLOCK = 1000;
/** Where this worker starts in its block: random, so that runs side by side (not CI) seldom meet. */
let next = randomInt(BLOCK);

function ephemeralFloor(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768; // Linux's default; macOS's starts at 49152.
  }
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
