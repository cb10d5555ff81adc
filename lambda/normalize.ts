// Turns D3's per-incident answer into "updated" and "failed" (CONTRACT §4),
// accounting for every requested incident exactly once: an incident D3 does
// not mention failed, one D3 mentions twice with different results failed,
// and incidents D3 mentions that we never asked about are not invented.

import type { D3Answer } from './d3-client.ts';

export interface IncidentFailure {
  incidentNumber: string;
  reason: string;
}

export interface Outcome {
  updated: string[];
  failed: IncidentFailure[];
}

const SUCCESS = 'successful';
// D3 documents "Incident Number"; other D3 commands answer camelCase or no
// space, so all three are read.
const NUMBER_KEYS = ['Incident Number', 'IncidentNumber', 'incidentNumber'] as const;
const RESULT_KEYS = ['Result', 'result'] as const;

export function normalizeAnswer(requested: readonly string[], answer: D3Answer): Outcome {
  if (answer.error) return failAll(requested, `D3 SOAR reported an error: ${clip(answer.error)}`);

  const wanted = new Set(requested);
  const reported = new Map<string, string>();
  for (const item of answer.contextData) {
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

  const outcome: Outcome = { updated: [], failed: [] };
  for (const incidentNumber of requested) {
    const result = reported.get(incidentNumber);
    if (result === undefined) {
      outcome.failed.push({ incidentNumber, reason: 'D3 SOAR did not report a result for this incident' });
    } else if (result.toLowerCase() === SUCCESS) {
      outcome.updated.push(incidentNumber);
    } else {
      outcome.failed.push({ incidentNumber, reason: clip(result) });
    }
  }
  return outcome;
}

export function failAll(requested: readonly string[], reason: string): Outcome {
  return { updated: [], failed: requested.map((incidentNumber) => ({ incidentNumber, reason })) };
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
