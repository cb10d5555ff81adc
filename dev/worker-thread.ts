// The queue worker's own thread (see worker-host.ts): the same createWorker
// the deployed worker function runs, with its own SDK clients, as a Lambda
// instance has its own. It takes one SQS batch at a time from the local
// event source mapping and answers with the worker's own answer.

import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSEvent } from 'aws-lambda';
import { parentPort, workerData } from 'node:worker_threads';
import { createStoreClient } from '../lambda/deliveries/store-client.ts';
import { createWorker } from '../lambda/worker.ts';
import { lambdaContext } from './lambda-context.ts';
import { routeSecrets } from './secrets-routing.ts';
import type { WorkerThreadRequest, WorkerThreadSettings } from './worker-host.ts';

const settings = workerData as WorkerThreadSettings;
const port = parentPort!;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const local = settings.secrets.endpoint
  ? new SecretsManagerClient({ endpoint: settings.secrets.endpoint, region: 'us-east-1', credentials })
  : undefined;
// As the local server routes them: the secrets given locally answered here, the others read from AWS.
const secretsClient = settings.secrets.readsAws
  ? local
    ? routeSecrets(local, settings.secrets.localIds)
    : new SecretsManagerClient({})
  : local;
const storeClient =
  settings.store.kind === 'embedded'
    ? createStoreClient({ config: { endpoint: settings.store.endpoint, region: 'us-east-1', credentials } })
    : settings.store.kind === 'aws'
      ? createStoreClient()
      : undefined;

const worker = createWorker({
  env: settings.env,
  ...(secretsClient ? { secretsClient } : {}),
  ...(storeClient ? { storeClient } : {}),
  ...(settings.silent ? { logger: new Logger({ logLevel: 'SILENT' }) } : {}),
});

port.on('message', (message: WorkerThreadRequest | { kind: 'close' }) => {
  if (message.kind === 'close') {
    secretsClient?.destroy();
    storeClient?.destroy();
    port.close();
    return;
  }
  const started = Date.now();
  const context = lambdaContext(() => message.remainingMs - (Date.now() - started), message.functionName);
  worker(message.event as SQSEvent, context).then(
    (answer) => port.postMessage({ id: message.id, answer }),
    (error: unknown) =>
      port.postMessage({
        id: message.id,
        error: {
          name: error instanceof Error ? error.name : 'Error',
          message: error instanceof Error ? error.message : String(error),
        },
      }),
  );
});
