// The incoming event as it may be logged when an operator turns event logging
// on (POWERTOOLS_LOGGER_LOG_EVENT): headers that carry credentials (a token
// source's token, an Authorization header, cookies) replaced by "[redacted]".
// Written here because Powertools logs the event exactly as it came.

const CREDENTIAL_HEADER = /authorization|cookie|token|secret|password|api-?key/i;

export function redactEvent(event: unknown, credentialHeaders: ReadonlySet<string>): unknown {
  if (typeof event !== 'object' || event === null) return event;
  const { headers, multiValueHeaders } = event as { headers?: unknown; multiValueHeaders?: unknown };
  if (headers === undefined && multiValueHeaders === undefined) return event;
  const redacted: Record<string, unknown> = { ...(event as Record<string, unknown>) };
  if (isRecord(headers)) redacted.headers = redactHeaders(headers, credentialHeaders);
  if (isRecord(multiValueHeaders)) redacted.multiValueHeaders = redactHeaders(multiValueHeaders, credentialHeaders);
  return redacted;
}

function redactHeaders(headers: Record<string, unknown>, credentialHeaders: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) =>
      CREDENTIAL_HEADER.test(name) || credentialHeaders.has(name.toLowerCase()) ? [name, '[redacted]'] : [name, value],
    ),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
