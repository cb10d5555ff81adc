// One Secrets Manager client for `npm start` that reads some secrets from the
// loopback Secrets Manager (dev/secrets-manager-local.ts) and every other one
// from AWS. The handler takes a single client, yet locally its D3 credentials
// may live in AWS (D3_SECRET_ID) while the signing secret is given on the
// command line (WEBHOOK_SECRET); the handler then runs unchanged, reading both.

import {
  GetSecretValueCommand,
  SecretsManagerClient,
  type GetSecretValueCommandInput,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';

/**
 * A client with the SDK's standard configuration (or `config`) whose
 * GetSecretValue calls for `localIds` are answered by `local` instead.
 */
export function routeSecrets(
  local: SecretsManagerClient,
  localIds: Iterable<string>,
  config: SecretsManagerClientConfig = {},
): SecretsManagerClient {
  const ids = new Set(localIds);
  const client = new SecretsManagerClient(config);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Partial<GetSecretValueCommandInput>;
      if (context.commandName !== 'GetSecretValueCommand' || !input.SecretId || !ids.has(input.SecretId)) return next(args);
      // Sent before AWS's own steps (endpoint, credentials, signing), so a local read needs no AWS set-up at all.
      const output = await local.send(new GetSecretValueCommand(input as GetSecretValueCommandInput));
      return { output: output as never, response: undefined };
    },
    { step: 'initialize', name: 'localSecretsRouting', priority: 'high' },
  );
  return client;
}
