// Reading D3's 200 reply to UpdateIncidentSiteInBulk: its body parsed (with any
// credential D3 echoes redacted), then tallied into "updated" and "failed",
// accounting for every requested incident exactly once: an incident D3 does
// not mention failed, one D3 mentions twice with different results failed,
// and incidents D3 mentions that were never asked about are not invented.

import { failAll, type BatchTally } from '../move-incidents.ts';

/** D3's 200 body, reduced to the two fields the tally is built from. */
export interface D3Reply {
  /** D3's `error` field; '' when the command ran. */
  error: string;
  contextData: unknown[];
}

const SUCCESS = 'successful';
// D3 documents "Incident Number"; other D3 commands answer camelCase or no
// space, so all three are read.
const NUMBER_KEYS = ['Incident Number', 'IncidentNumber', 'incidentNumber'] as const;
const RESULT_KEYS = ['Result', 'result'] as const;

/**
 * D3's 200 body: `{ error, returnData, contextData }`; anything else is
 * unreadable (undefined). D3's texts reach callers and logs (`error`, each
 * `Result`), so a credential D3 echoes back is redacted here, after JSON
 * unescaping.
 */
export function parseReply(text: string, credential: string): D3Reply | undefined {
  let parsed: unknown;
  try {
    // The reviver only when the credential could be in there: JSON escapes can
    // hide it from a plain search only by containing a backslash.
    const mayEcho = credential !== '' && (text.includes(credential) || text.includes('\\'));
    parsed = mayEcho
      ? JSON.parse(text, (_key, value: unknown) =>
          typeof value === 'string' && value.includes(credential) ? value.replaceAll(credential, '[redacted]') : value,
        )
      : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { error, contextData } = parsed as { error?: unknown; contextData?: unknown };
  const message = typeof error === 'string' ? error.trim() : '';
  if (message) return { error: message, contextData: Array.isArray(contextData) ? contextData : [] };
  return Array.isArray(contextData) ? { error: '', contextData } : undefined;
}

/**
 * Which of `requested` D3 updated. A 200 whose `error` is not empty means the
 * command did not run for this batch (D3: "even with a 200 OK status, the
 * desired data may not be returned"), so every incident failed, with D3's own
 * text as the reason.
 */
export function tallyReply(requested: readonly string[], reply: D3Reply): BatchTally {
  if (reply.error) return failAll(requested, clip(reply.error));

  const wanted = new Set(requested);
  const reported = new Map<string, string>();
  for (const item of reply.contextData) {
    if (typeof item !== 'object' || item === null) continue;
    const number = pick(item, NUMBER_KEYS);
    if (typeof number !== 'string' || !wanted.has(number.trim())) continue;
    const key = number.trim();
    const result = pick(item, RESULT_KEYS);
    const text = typeof result === 'string' && result.trim() ? result.trim() : 'D3 SOAR reported no result';
    const previous = reported.get(key);
    // Case-insensitive, like the success check: "Successful" twice in two cases is one answer.
    const same = previous !== undefined && previous.toLowerCase() === text.toLowerCase();
    reported.set(key, previous === undefined || same ? (previous ?? text) : 'D3 SOAR reported conflicting results');
  }

  const tally: BatchTally = { updated: [], failed: [] };
  for (const incidentNumber of requested) {
    const result = reported.get(incidentNumber);
    if (result === undefined) {
      tally.failed.push({ incidentNumber, reason: 'D3 SOAR did not report a result for this incident' });
    } else if (result.toLowerCase() === SUCCESS) {
      tally.updated.push(incidentNumber);
    } else {
      tally.failed.push({ incidentNumber, reason: clip(result) });
    }
  }
  return tally;
}

function pick(item: object, keys: readonly string[]): unknown {
  for (const key of keys) {
    if (key in item) return (item as Record<string, unknown>)[key];
  }
  return undefined;
}

/** D3's text reaches callers; keep a hostile or runaway answer from bloating the result. */
function clip(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
