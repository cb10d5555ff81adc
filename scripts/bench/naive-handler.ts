// A second warm floor: the naive adapter someone would write in an afternoon.
// The AWS SDK for the two secrets (read once, cached forever), node:crypto
// for the Standard Webhooks signature, hand-rolled checks on the body,
// fetch() to D3 and one log line; no Middy, zod, Powertools, retries, pacing
// or metrics. The benchmark bundles it with the adapter's own esbuild options
// and compares what each costs over its own bare call to D3.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const client = new SecretsManagerClient({});
const secret = async (id: string | undefined) =>
  (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? '';
let keys: Promise<[string, Buffer]> | undefined;

interface Event {
  headers: Record<string, string | undefined>;
  body: string;
  requestContext: { requestId: string };
}

export const handler = async (event: Event) => {
  keys ??= Promise.all([
    secret(process.env.D3_SECRET_ID),
    secret(process.env.WEBHOOK_SECRET_ID).then((s) => Buffer.from(s.replace(/^whsec_/, ''), 'base64')),
  ]);
  const [d3Key, signingKey] = await keys;

  const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures } = event.headers;
  if (!id || !timestamp || !signatures || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return { statusCode: 401 };
  const expected = Buffer.from(createHmac('sha256', signingKey).update(`${id}.${timestamp}.${event.body}`).digest('base64'));
  const signed = signatures.split(' ').some((s) => {
    const given = Buffer.from(s.slice(s.indexOf(',') + 1));
    return s.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!signed) return { statusCode: 401 };

  const request = JSON.parse(event.body) as { incidentNumbers?: unknown; site?: unknown };
  const numbers = request.incidentNumbers;
  if (
    !Array.isArray(numbers) ||
    numbers.length === 0 ||
    numbers.length > 10_000 ||
    !numbers.every((n) => typeof n === 'string' && n.length <= 64)
  ) {
    return { statusCode: 400 };
  }
  if (typeof request.site !== 'string' || request.site.length === 0 || request.site.length > 256) return { statusCode: 400 };

  const response = await fetch(`${process.env.D3_BASE_URL}/api/Command/UpdateIncidentSiteInBulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', d3key: d3Key },
    body: JSON.stringify({
      Username: process.env.D3_USERNAME,
      Site: process.env.D3_COMMAND_SITE,
      CommandParams: { 'Incident Numbers': numbers, Site: request.site },
    }),
  });
  const answer = (await response.json()) as { error?: string; contextData?: unknown[] };
  const updated = response.ok && !answer.error ? numbers : [];
  console.log(
    JSON.stringify({
      level: 'INFO',
      message: 'Incidents moved',
      requestId: event.requestContext.requestId,
      site: request.site,
      updated: updated.length,
    }),
  );
  return {
    statusCode: response.ok ? 200 : 502,
    body: JSON.stringify({ updated, failed: numbers.filter((n) => !updated.includes(n)) }),
  };
};
