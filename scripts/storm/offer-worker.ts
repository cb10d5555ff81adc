// The storm's sending thread (see offer.ts): signs and posts each job at its
// time, on keep-alive sockets, and reports what came back.

import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { REPLAYED_HEADER } from '../../lambda/http-response.ts';
import { signRequest } from '../signers.ts';
import { epochNow, type OfferJob, type OfferMessage, type OfferResult } from './offer.ts';

const PROGRESS_INTERVAL_MS = 250;
/** Timers fire late by a millisecond or more; waking this much early keeps the schedule. */
const EARLY_MS = 1;

const { jobs, sockets, timeoutMs } = workerData as { jobs: OfferJob[]; sockets: number; timeoutMs: number };
const post = (message: OfferMessage) => parentPort!.postMessage(message);
const agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
const results: OfferResult[] = new Array(jobs.length);
let offered = 0;
let answered = 0;

function send(job: OfferJob, index: number): void {
  const sentAt = epochNow();
  const finish = (result: Omit<OfferResult, 'sentAt' | 'answeredAt'>) => {
    if (results[index]) return;
    results[index] = { sentAt, answeredAt: epochNow(), ...result };
    answered += 1;
    if (answered === jobs.length) done();
  };
  const outgoing = request(
    job.url,
    { method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/json', ...job.headers } },
    (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => finish({ status: undefined, replayed: false, error: error.message }));
      response.on('end', () => {
        let body: OfferResult['body'];
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OfferResult['body'];
        } catch {
          body = undefined;
        }
        const { status, deliveryId, site, requested, type, detail } = body ?? {};
        finish({
          status: response.statusCode,
          replayed: response.headers[REPLAYED_HEADER] === 'true',
          ...(body ? { body: { status, deliveryId, site, requested, type, detail } } : {}),
        });
      });
    },
  );
  outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  outgoing.on('error', (error) => finish({ status: undefined, replayed: false, error: error.message }));
  // Signed once a connection takes it, not when it is queued for one: a
  // sender signs at the moment it sends, so a webhook that waited for a free
  // connection carries the time it left, which is also when it arrives.
  outgoing.once('socket', () => {
    const signature = signRequest(job.scheme, job.key, job.body, {}, { at: new Date(), deliveryId: job.deliveryId });
    for (const [name, value] of Object.entries(signature)) outgoing.setHeader(name, value);
    outgoing.end(job.body);
  });
  offered += 1;
}

const progress = setInterval(() => post({ kind: 'progress', offered, answered }), PROGRESS_INTERVAL_MS);
function done(): void {
  clearInterval(progress);
  agent.destroy();
  post({ kind: 'progress', offered, answered });
  post({ kind: 'done', results, startedAt });
}

// The open loop: every job whose time has come goes now, however many are still unanswered.
// Counted from now, once this thread has loaded: its start-up is not the storm's.
const startedAt = epochNow();
let next = 0;
function tick(): void {
  const now = epochNow() - startedAt;
  while (next < jobs.length && jobs[next]!.at <= now) {
    send(jobs[next]!, next);
    next += 1;
  }
  if (next < jobs.length) setTimeout(tick, Math.max(0, jobs[next]!.at - (epochNow() - startedAt) - EARLY_MS));
}
if (jobs.length === 0) done();
else tick();
