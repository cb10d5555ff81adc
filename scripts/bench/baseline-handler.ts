// The floor for "first answer of a fresh process": the least a handler can do
// for this job, the AWS SDK client plus one fetch, with no Middy, zod,
// Powertools or signature check. The benchmark bundles it with the adapter's
// own esbuild options and races the two.

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const client = new SecretsManagerClient({});

export const handler = async (event: { body: string }) => {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: process.env.D3_SECRET_ID }));
  const request = JSON.parse(event.body) as { incidentNumbers: string[]; site: string };
  const response = await fetch(`${process.env.D3_BASE_URL}/api/Command/UpdateIncidentSiteInBulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', d3key: SecretString ?? '' },
    body: JSON.stringify({
      Username: process.env.D3_USERNAME,
      Site: process.env.D3_COMMAND_SITE,
      CommandParams: { 'Incident Numbers': request.incidentNumbers, Site: request.site },
    }),
  });
  return { statusCode: response.status, body: await response.text() };
};
