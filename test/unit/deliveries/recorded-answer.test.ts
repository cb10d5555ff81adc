// The recorded answer: written as text, read back exactly, compressed when a
// large result would not fit in a DynamoDB item; a record this code did not
// write is an InternalError, never a wrong answer.

import { describe, expect, it } from 'vitest';
import { COMPRESS_ABOVE, decodeAnswer, encodeAnswer, rejectionOf } from '../../../lambda/deliveries/recorded-answer.ts';
import { ConfigurationError, InternalError, ValidationError } from '../../../lambda/errors.ts';
import type { MoveResult } from '../../../lambda/move-incidents.ts';

const result = (count: number): MoveResult => ({
  status: 'partial',
  site: 'Tier 2',
  requested: count + 1,
  updated: Array.from({ length: count }, (_, i) => `20240601-${i}`),
  failed: [{ incidentNumber: 'ghost', reason: 'Failed. Incident not found.' }],
  requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
});

describe('encodeAnswer and decodeAnswer', () => {
  it('keep a small result as its JSON text, readable in the table, and give back the same keys in the same order', () => {
    const text = encodeAnswer({ result: result(2) });
    expect(text.startsWith('{"result":{"status":"partial"')).toBe(true);
    const back = decodeAnswer(text);
    expect(JSON.stringify(back)).toBe(text);
  });

  it('gzip a result larger than COMPRESS_ABOVE, and read it back whole', () => {
    const large = { result: result(30_000) };
    const text = encodeAnswer(large);
    expect(JSON.stringify(large).length).toBeGreaterThan(400 * 1024);
    expect(text.startsWith('gzip:')).toBe(true);
    expect(text.length).toBeLessThan(JSON.stringify(large).length / 4);
    expect(decodeAnswer(text)).toEqual(large);
    expect(encodeAnswer({ result: result(1) }).length).toBeLessThan(COMPRESS_ABOVE);
  });

  it('refuse, as an InternalError, anything that is not an answer this code wrote', () => {
    for (const text of [undefined, 42, '', 'not json', '{"other":1}', 'gzip:AAAA', '{"rejected":{"name":"X"}}']) {
      expect(() => decodeAnswer(text)).toThrow(InternalError);
    }
  });
});

describe('rejectionOf', () => {
  it('records what the answer showed: name, status, title, detail, field errors and the request id', () => {
    const error = new ValidationError('The site is invalid.', [{ path: '/site', message: 'is not a site' }]);
    expect(rejectionOf(error, 'req-1')).toEqual({
      name: 'ValidationError',
      status: 400,
      title: 'Invalid request',
      detail: 'The site is invalid.',
      requestId: 'req-1',
      errors: [{ path: '/site', message: 'is not a site' }],
    });
  });

  it('never records a message that was only for the log', () => {
    const recorded = rejectionOf(new ConfigurationError('SECRET_ID arn:aws:secretsmanager:... is unreadable'), 'req-2');
    expect(recorded.detail).not.toContain('arn:aws');
  });
});
