// A loopback AWS Secrets Manager endpoint that speaks just enough of the AWS JSON 1.1
// protocol for the real SDK v3 SecretsManagerClient (pointed at it via `endpoint` or
// AWS_ENDPOINT_URL_SECRETS_MANAGER) to run GetSecretValue. Tests and the local dev
// server use it so the adapter's secret loading, caching and error handling run
// against the real client code, wire format included, without AWS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listenOnLoopback, type LoopbackTls } from './loopback-tls.ts';
import { readText } from './read-body.ts';

export type SecretsManagerFault =
  | 'ThrottlingException'
  | 'InternalServiceError'
  | 'AccessDeniedException'
  | 'ResourceNotFoundException'
  | 'reset';
export interface LocalSecretsManager {
  readonly endpoint: string;
  readonly calls: Array<{ target: string; secretId: string }>;
  set(id: string, value: string): void;
  delete(id: string): void;
  inject(...faults: SecretsManagerFault[]): void;
  close(): Promise<void>;
}

interface StoredSecret {
  name: string;
  value: string;
  versionId: string;
  createdDate: number;
}

// The fixed ARN suffix lets tests spell a secret's full ARN without asking for it first.
const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:';
const arnOf = (name: string) => `${ARN_PREFIX}${name}-AbCdEf`;
const TARGET_PREFIX = 'secretsmanager.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

// What AWS answers for each error type (status, message).
const ERRORS: Record<string, [number, string]> = {
  ResourceNotFoundException: [400, "Secrets Manager can't find the specified secret."],
  ThrottlingException: [400, 'Rate exceeded'],
  InternalServiceError: [500, 'An error occurred on the server side.'],
  AccessDeniedException: [400, 'User is not authorized to perform secretsmanager:GetSecretValue on this resource.'],
};

export async function startLocalSecretsManager(
  /** `tls`: serve https with this identity (see loopback-tls.ts), as AWS does; http otherwise. */
  options: { secrets?: Record<string, string>; port?: number; delayMs?: number; tls?: LoopbackTls } = {},
): Promise<LocalSecretsManager> {
  const secrets = new Map<string, StoredSecret>();
  const calls: Array<{ target: string; secretId: string }> = [];
  const queue: SecretsManagerFault[] = [];
  const delayMs = options.delayMs ?? 0;
  const timers = new Set<NodeJS.Timeout>();

  const set = (name: string, value: string) => {
    // A new VersionId on every write mirrors PutSecretValue/rotation; the creation date stays.
    const createdDate = secrets.get(name)?.createdDate ?? Math.floor(Date.now() / 1000);
    secrets.set(name, { name, value, versionId: randomUUID(), createdDate });
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) set(name, value);

  // Accepts a name, a full ARN, or a partial ARN without the random suffix, as AWS does.
  function lookup(secretId: string): StoredSecret | undefined {
    if (!secretId.startsWith(ARN_PREFIX)) return secrets.get(secretId);
    const rest = secretId.slice(ARN_PREFIX.length);
    const byFull = [...secrets.values()].find((s) => arnOf(s.name) === secretId);
    return byFull ?? secrets.get(rest);
  }

  function send(res: ServerResponse, status: number, body: unknown, errorType?: string) {
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() };
    if (errorType !== undefined) headers['x-amzn-errortype'] = errorType; // the SDK reads the type from here first
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  }
  function sendError(res: ServerResponse, type: string, status = 400, message?: string) {
    const known = ERRORS[type];
    send(res, known?.[0] ?? status, { __type: type, message: message ?? known?.[1] ?? type }, type);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readText(req);
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, delayMs);
        timers.add(t);
      });
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || target !== `${TARGET_PREFIX}GetSecretValue`) {
      return sendError(res, 'UnknownOperationException', 400, `Unknown operation ${target}`);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return sendError(res, 'SerializationException', 400, 'Malformed JSON body');
    }
    const secretId = typeof body?.SecretId === 'string' ? body.SecretId : '';
    calls.push({ target, secretId });

    const fault = queue.shift();
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined) return sendError(res, fault);
    if (secretId === '')
      return sendError(
        res,
        'ValidationException',
        400,
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
      );

    const secret = lookup(secretId);
    if (secret === undefined) return sendError(res, 'ResourceNotFoundException');
    return send(res, 200, {
      ARN: arnOf(secret.name),
      Name: secret.name,
      SecretString: secret.value,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate, // epoch seconds, which the SDK turns into a Date
    });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 'InternalServiceError');
    });
  };
  const { server, origin } = await listenOnLoopback(listener, options);

  return {
    endpoint: origin,
    calls,
    set,
    delete: (id) => {
      const s = lookup(id);
      if (s !== undefined) secrets.delete(s.name);
    },
    inject: (...faults) => {
      queue.push(...faults);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections(); // the SDK keeps sockets alive; do not wait for them to idle out
      }),
  };
}
