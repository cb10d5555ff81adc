// What is recorded for a delivery, and read back for its repeats: the final
// answer, whichever the caller kind, so that each caller gets it again in its
// own terms (respond.ts renders it, as it rendered the first).
//
// Kept as the JSON text of the answer rather than as a DynamoDB map, so that
// a replayed HTTP body is the first one byte for byte (a map does not keep
// key order). An answer over COMPRESS_ABOVE characters is gzipped: the result
// of a 10,000-incident request lists every incident, and a DynamoDB item
// holds at most 400 KB.

import { gunzipSync, gzipSync } from 'node:zlib';
import { InternalError, publicDetail, type AdapterError, type FieldError, type RecordedRejectionFields } from '../errors.ts';
import type { Result } from '../move-incidents.ts';

/** A result (`ignored` included), or a rejection that retrying would not change. */
export type RecordedAnswer = { result: Result } | { rejected: RecordedRejectionFields };

export const COMPRESS_ABOVE = 16 * 1024;
const GZIP_PREFIX = 'gzip:';

export function encodeAnswer(answer: RecordedAnswer): string {
  const json = JSON.stringify(answer);
  return json.length <= COMPRESS_ABOVE ? json : `${GZIP_PREFIX}${gzipSync(json).toString('base64')}`;
}

/** The answer recorded as `text`; InternalError if it is not one this code wrote. */
export function decodeAnswer(text: unknown): RecordedAnswer {
  try {
    if (typeof text !== 'string') throw new TypeError(`a ${typeof text}`);
    const json = text.startsWith(GZIP_PREFIX)
      ? gunzipSync(Buffer.from(text.slice(GZIP_PREFIX.length), 'base64')).toString('utf8')
      : text;
    const answer = JSON.parse(json) as Partial<{ result: { status?: unknown }; rejected: { name?: unknown; status?: unknown } }>;
    if (typeof answer?.result?.status === 'string') return answer as RecordedAnswer;
    if (typeof answer?.rejected?.name === 'string' && typeof answer.rejected.status === 'number') return answer as RecordedAnswer;
    throw new TypeError('neither a result nor a rejection');
  } catch (error) {
    throw new InternalError('A delivery’s recorded answer could not be read.', {
      cause: error,
      logFields: { recordedAnswer: error instanceof Error ? error.message.slice(0, 100) : 'unreadable' },
    });
  }
}

/** The rejection `error` as recorded: what its answer shows, nothing that is only logged. */
export function rejectionOf(error: AdapterError, requestId: string): RecordedRejectionFields {
  return {
    name: error.name,
    status: error.status,
    title: error.title,
    detail: publicDetail(error),
    requestId,
    ...('errors' in error && Array.isArray(error.errors) ? { errors: error.errors as FieldError[] } : {}),
  };
}
