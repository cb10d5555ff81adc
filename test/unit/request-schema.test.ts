// The request rules (docs/interface.md, "The request"): the simplified shape,
// D3's own sample shape, and the errors a caller gets back when either is wrong.

import { describe, it, expect } from 'vitest';
import { ValidationError } from '../../lambda/errors.ts';
import { MAX_INCIDENTS, parseMoveRequest } from '../../lambda/request-schema.ts';

/** The ValidationError `parseMoveRequest(body)` throws; fails the test if it does not throw one. */
function rejection(body: unknown): ValidationError {
  try {
    parseMoveRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected parseMoveRequest to throw a ValidationError');
}

const numbers = (count: number, prefix = 'INC-') => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('parseMoveRequest: the simplified shape', () => {
  it('returns the incidents, site and username when the request is valid', () => {
    expect(
      parseMoveRequest({ incidentNumbers: ['20210127-198', '20210127-197'], site: 'Security Operations', username: 'alice' }),
    ).toStrictEqual({ incidentNumbers: ['20210127-198', '20210127-197'], site: 'Security Operations', username: 'alice' });
  });

  it('leaves username out entirely when the caller did not give one', () => {
    const request = parseMoveRequest({ incidentNumbers: ['A-1'], site: 'Tier 2' });
    expect(request).toStrictEqual({ incidentNumbers: ['A-1'], site: 'Tier 2' });
    expect(request).not.toHaveProperty('username');
  });

  it('ignores unknown keys when they sit beside the known fields', () => {
    expect(
      parseMoveRequest({ incidentNumbers: ['A-1'], site: 'Tier 2', priority: 'high', Username: 'ignored', nested: { x: 1 } }),
    ).toStrictEqual({ incidentNumbers: ['A-1'], site: 'Tier 2' });
  });

  it('splits a string on commas, semicolons and whitespace when incidentNumbers is one string', () => {
    expect(parseMoveRequest({ incidentNumbers: 'A-1,A-2;A-3 A-4\tA-5\nA-6\r\nA-7 , ;A-8', site: 'S' }).incidentNumbers).toEqual([
      'A-1',
      'A-2',
      'A-3',
      'A-4',
      'A-5',
      'A-6',
      'A-7',
      'A-8',
    ]);
  });

  it('accepts a single incident number when the string has no separator', () => {
    expect(parseMoveRequest({ incidentNumbers: '20210127-198', site: 'S' }).incidentNumbers).toEqual(['20210127-198']);
  });

  it('trims entries and drops empty ones when the list has padding and blanks', () => {
    expect(parseMoveRequest({ incidentNumbers: ['  A-1 ', '', '   ', '\tA-2\n'], site: 'S' }).incidentNumbers).toEqual([
      'A-1',
      'A-2',
    ]);
    expect(parseMoveRequest({ incidentNumbers: ' ,, A-1 ;; ,A-2, ', site: 'S' }).incidentNumbers).toEqual(['A-1', 'A-2']);
  });

  it('drops duplicates keeping the first occurrence and the caller’s order when numbers repeat', () => {
    expect(parseMoveRequest({ incidentNumbers: ['C', 'A', ' C', 'B', 'A ', 'C'], site: 'S' }).incidentNumbers).toEqual([
      'C',
      'A',
      'B',
    ]);
    expect(parseMoveRequest({ incidentNumbers: 'C,A;C B A', site: 'S' }).incidentNumbers).toEqual(['C', 'A', 'B']);
  });

  it('trims site and username when they carry surrounding whitespace', () => {
    const request = parseMoveRequest({ incidentNumbers: ['A-1'], site: '  Tier 2 \n', username: '\t alice  ' });
    expect(request.site).toBe('Tier 2');
    expect(request.username).toBe('alice');
  });
});

describe('parseMoveRequest: D3’s CommandParams sample shape', () => {
  it('reads Incident Numbers, Site and Username from CommandParams when the caller pastes D3’s sample', () => {
    expect(
      parseMoveRequest({
        Username: 'Admin',
        Site: 'Security Operations',
        CommandParams: { 'Incident Numbers': ['20210127-198', '20210127-197'], Site: 'Tier 2', Username: 'bob' },
      }),
    ).toStrictEqual({ incidentNumbers: ['20210127-198', '20210127-197'], site: 'Tier 2', username: 'bob' });
  });

  it('ignores the top-level Username and Site when CommandParams has none', () => {
    const request = parseMoveRequest({
      Username: 'Admin',
      Site: 'Security Operations',
      CommandParams: { 'Incident Numbers': ['A-1'], Site: 'Tier 2' },
    });
    expect(request).toStrictEqual({ incidentNumbers: ['A-1'], site: 'Tier 2' });
  });

  it('applies the same splitting, trimming and de-duplication when Incident Numbers is a string', () => {
    expect(parseMoveRequest({ CommandParams: { 'Incident Numbers': ' B; A ,B  C', Site: ' Tier 2 ' } })).toStrictEqual({
      incidentNumbers: ['B', 'A', 'C'],
      site: 'Tier 2',
    });
  });

  it('points at the caller’s own index inside CommandParams when an entry is invalid', () => {
    const error = rejection({ CommandParams: { 'Incident Numbers': ['A-1', 'A-1', 'x'.repeat(65)], Site: 'S' } });
    expect(error.errors).toEqual([{ path: '/CommandParams/Incident Numbers/2', message: 'must be at most 64 characters' }]);
  });

  it('names the missing CommandParams fields when they are absent', () => {
    const error = rejection({ Site: 'Security Operations', CommandParams: {} });
    expect(error.errors).toEqual([
      { path: '/CommandParams/Incident Numbers', message: 'is required' },
      { path: '/CommandParams/Site', message: 'is required' },
    ]);
  });

  it('refuses CommandParams when it is not an object', () => {
    expect(rejection({ CommandParams: 'A-1' }).errors).toEqual([{ path: '/CommandParams', message: 'must be an object' }]);
  });
});

describe('parseMoveRequest: how many incidents', () => {
  it(`accepts exactly ${MAX_INCIDENTS} distinct incident numbers when that is the limit`, () => {
    expect(MAX_INCIDENTS).toBe(10_000);
    const request = parseMoveRequest({ incidentNumbers: numbers(10_000), site: 'S' });
    expect(request.incidentNumbers).toHaveLength(10_000);
    expect(request.incidentNumbers[9_999]).toBe('INC-9999');
  });

  it('refuses 10,001 distinct incident numbers when that is one over the limit', () => {
    const error = rejection({ incidentNumbers: numbers(10_001), site: 'S' });
    expect(error.errors).toEqual([
      { path: '/incidentNumbers', message: 'must contain at most 10000 distinct incident numbers (got 10001)' },
    ]);
  });

  it('refuses 10,001 distinct incident numbers when they come as one string', () => {
    const error = rejection({ incidentNumbers: numbers(10_001).join(','), site: 'S' });
    expect(error.errors).toEqual([
      { path: '/incidentNumbers', message: 'must contain at most 10000 distinct incident numbers (got 10001)' },
    ]);
  });

  it('accepts 10,001 entries when duplicates collapse them to 10,000', () => {
    const request = parseMoveRequest({ incidentNumbers: [...numbers(10_000), 'INC-42'], site: 'S' });
    expect(request.incidentNumbers).toHaveLength(10_000);
    expect(request.incidentNumbers).toEqual(numbers(10_000));
  });

  it('accepts 20,000 entries when duplicates collapse them to far fewer', () => {
    const request = parseMoveRequest({ incidentNumbers: [...numbers(5), ...Array(19_995).fill('INC-0')], site: 'S' });
    expect(request.incidentNumbers).toEqual(numbers(5));
  });

  it('refuses the request when the list is empty', () => {
    expect(rejection({ incidentNumbers: [], site: 'S' }).errors).toEqual([
      { path: '/incidentNumbers', message: 'must contain at least one incident number' },
    ]);
  });

  it('refuses the request when every entry is blank', () => {
    expect(rejection({ incidentNumbers: ' ,; \n', site: 'S' }).errors).toEqual([
      { path: '/incidentNumbers', message: 'must contain at least one incident number' },
    ]);
    expect(rejection({ incidentNumbers: ['', '  '], site: 'S' }).errors).toEqual([
      { path: '/incidentNumbers', message: 'must contain at least one incident number' },
    ]);
  });
});

describe('parseMoveRequest: each incident number', () => {
  it('accepts 1 and 64 characters when those are the bounds', () => {
    const sixtyFour = 'x'.repeat(64);
    expect(parseMoveRequest({ incidentNumbers: ['1', sixtyFour], site: 'S' }).incidentNumbers).toEqual(['1', sixtyFour]);
  });

  it('refuses 65 characters and points at the caller’s own index when earlier entries were blank or repeated', () => {
    const error = rejection({ incidentNumbers: ['A-1', '', ' A-1 ', 'x'.repeat(65)], site: 'S' });
    expect(error.errors).toEqual([{ path: '/incidentNumbers/3', message: 'must be at most 64 characters' }]);
  });

  it('measures the length after trimming when an entry has padding', () => {
    const padded = `  ${'x'.repeat(64)}  `;
    expect(parseMoveRequest({ incidentNumbers: [padded], site: 'S' }).incidentNumbers).toEqual(['x'.repeat(64)]);
  });

  it.each([
    ['NUL (C0)', 'A\u0000B'],
    ['BEL (C0)', 'A\u0007B'],
    ['ESC (C0)', 'A\u001bB'],
    ['US (C0)', 'A\u001fB'],
    ['DEL', 'A\u007fB'],
    ['PAD (C1)', 'A\u0080B'],
    ['NEL (C1)', 'A\u0085B'],
    ['APC (C1)', 'A\u009fB'],
  ])('refuses an entry when it contains %s', (_name, entry) => {
    const error = rejection({ incidentNumbers: ['OK-1', entry], site: 'S' });
    expect(error.errors).toEqual([{ path: '/incidentNumbers/1', message: 'must not contain control characters' }]);
  });

  it('accepts printable characters just outside the control ranges when an entry holds them', () => {
    const entries = ['A B', 'A~B', 'A\u00a0B', 'A\u00a1B', 'Ünïcode-1'];
    expect(parseMoveRequest({ incidentNumbers: entries, site: 'S' }).incidentNumbers).toEqual(entries);
  });

  it('refuses a control character in a string and names the entry without echoing the raw control character', () => {
    const error = rejection({ incidentNumbers: 'A-1, A\u0001B', site: 'S' });
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]!.path).toBe('/incidentNumbers');
    expect(error.errors[0]!.message).toContain('must not contain control characters');
    expect(error.errors[0]!.message).toContain('A\\u0001B');
    expect(error.errors[0]!.message).not.toContain('\u0001');
    expect(error.message).not.toContain('\u0001');
  });

  it('refuses an over-long entry in a string and names it', () => {
    const error = rejection({ incidentNumbers: `A-1;${'y'.repeat(65)}`, site: 'S' });
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]!.path).toBe('/incidentNumbers');
    expect(error.errors[0]!.message).toContain('must be at most 64 characters');
    expect(error.errors[0]!.message).toContain('yyyyyyyyyy');
  });

  it('refuses entries that are not strings and points at each of them', () => {
    const error = rejection({ incidentNumbers: ['A-1', 7, null, { n: 'A-2' }], site: 'S' });
    expect(error.errors).toEqual([
      { path: '/incidentNumbers/1', message: 'must be a string' },
      { path: '/incidentNumbers/2', message: 'must be a string' },
      { path: '/incidentNumbers/3', message: 'must be a string' },
    ]);
  });
});

describe('parseMoveRequest: site and username', () => {
  it('accepts 256 characters after trimming when that is the limit', () => {
    const site = 's'.repeat(256);
    expect(parseMoveRequest({ incidentNumbers: ['A'], site: `  ${site}  `, username: site }).site).toBe(site);
  });

  it('refuses 257 characters for site and username when they are one over the limit', () => {
    const error = rejection({ incidentNumbers: ['A'], site: 's'.repeat(257), username: 'u'.repeat(257) });
    expect(error.errors).toEqual([
      { path: '/site', message: 'must be at most 256 characters' },
      { path: '/username', message: 'must be at most 256 characters' },
    ]);
  });

  it('refuses site and username when they are blank after trimming', () => {
    const error = rejection({ incidentNumbers: ['A'], site: '   ', username: '\t' });
    expect(error.errors).toEqual([
      { path: '/site', message: 'must not be empty' },
      { path: '/username', message: 'must not be empty' },
    ]);
  });

  it('says site is required when it is missing', () => {
    expect(rejection({ incidentNumbers: ['A'] }).errors).toEqual([{ path: '/site', message: 'is required' }]);
  });

  it('says what type is expected when fields have the wrong type', () => {
    const error = rejection({ incidentNumbers: 42, site: ['S'], username: 7 });
    expect(error.errors).toEqual([
      { path: '/incidentNumbers', message: 'must be a list of incident numbers or a string of them' },
      { path: '/site', message: 'must be a string' },
      { path: '/username', message: 'must be a string' },
    ]);
  });
});

describe('parseMoveRequest: the error it throws', () => {
  it.each([
    ['null', null],
    ['an array', [{ incidentNumbers: ['A'], site: 'S' }]],
    ['a string', 'A-1,A-2'],
    ['a number', 42],
    ['a boolean', true],
    ['undefined', undefined],
  ])('refuses the body with path "" when it is %s', (_name, body) => {
    const error = rejection(body);
    expect(error.name).toBe('ValidationError');
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });

  it('reports every wrong field at once when several are wrong', () => {
    const error = rejection({ incidentNumbers: ['ok', 'x'.repeat(65)], site: '' });
    expect(error.errors).toEqual([
      { path: '/incidentNumbers/1', message: 'must be at most 64 characters' },
      { path: '/site', message: 'must not be empty' },
    ]);
    expect(error.message).toBe(
      'The request body is invalid: /incidentNumbers/1 must be at most 64 characters; /site must not be empty.',
    );
  });

  it('reports at most 100 errors and counts the rest in the message when there are more', () => {
    const tooLong = Array.from({ length: 150 }, (_, i) => `${i}-${'x'.repeat(70)}`);
    const error = rejection({ incidentNumbers: ['OK-1', ...tooLong], site: 'S' });
    expect(error.errors).toHaveLength(100);
    expect(error.errors[0]).toEqual({ path: '/incidentNumbers/1', message: 'must be at most 64 characters' });
    expect(error.errors[99]).toEqual({ path: '/incidentNumbers/100', message: 'must be at most 64 characters' });
    expect(error.message).toContain('and 147 more');
  });
});

describe('parseMoveRequest error text for a string of incident numbers', () => {
  it('quotes a short bad entry whole, without an ellipsis', () => {
    expect(() => parseMoveRequest({ incidentNumbers: 'ok, bad\u0007x', site: 's' })).toThrowError(/entry "bad\\u0007x" must not/);
  });

  it('shortens a long bad entry to 20 characters and marks the cut', () => {
    expect(() => parseMoveRequest({ incidentNumbers: 'x'.repeat(70), site: 's' })).toThrowError(
      `entry "${'x'.repeat(20)}…" must be at most 64`,
    );
  });
});

describe('parseMoveRequest: control characters in site and username', () => {
  it.each([
    ['NUL', 'Tier\u00002'],
    ['an ESC sequence', 'Tier \u001b[31m2'],
    ['a newline inside', 'Tier\n2'],
    ['DEL', 'Tier\u007f2'],
    ['a C1 control (NEL)', 'Tier\u00852'],
  ])('refuses %s in site and username, as in incident numbers', (_name, value) => {
    expect(rejection({ incidentNumbers: ['A'], site: value }).errors).toEqual([
      { path: '/site', message: 'must not contain control characters' },
    ]);
    expect(rejection({ incidentNumbers: ['A'], site: 'S', username: value }).errors).toEqual([
      { path: '/username', message: 'must not contain control characters' },
    ]);
    expect(rejection({ CommandParams: { 'Incident Numbers': ['A'], Site: value } }).errors).toEqual([
      { path: '/CommandParams/Site', message: 'must not contain control characters' },
    ]);
  });

  it('accepts a newline or tab that trimming removes, and printable characters beside the control ranges', () => {
    expect(parseMoveRequest({ incidentNumbers: ['A'], site: '\tSécurité 🙂\u00a0\n', username: ' ann\u00a1 ' })).toEqual({
      incidentNumbers: ['A'],
      site: 'Sécurité 🙂',
      username: 'ann\u00a1',
    });
  });
});

describe('parseMoveRequest: errors that point at the fix', () => {
  it.each([
    ['incidentNumber', 'incidentNumbers'],
    ['IncidentNumbers', 'incidentNumbers'],
    ['incident_numbers', 'incidentNumbers'],
  ])('asks "did you mean incidentNumbers?" when the body has %s instead', (sent) => {
    const error = rejection({ [sent]: ['A'], site: 'S' });
    expect(error.errors).toEqual([
      { path: '/incidentNumbers', message: `is required (the body has "${sent}": did you mean "incidentNumbers"?)` },
    ]);
    expect(error.message).toContain('did you mean "incidentNumbers"?');
  });

  it('asks "did you mean site?" when the body has Site instead', () => {
    expect(rejection({ incidentNumbers: ['A'], Site: 'S' }).errors).toEqual([
      { path: '/site', message: 'is required (the body has "Site": did you mean "site"?)' },
    ]);
  });

  it('says only "is required" when nothing in the body looks like the missing field', () => {
    expect(rejection({ incidentNumbers: ['A'], place: 'S' }).errors).toEqual([{ path: '/site', message: 'is required' }]);
  });

  it.each([
    ['a control character', ['A\u0000']],
    ['an over-long entry', ['x'.repeat(65)]],
    ['an entry that is not a string', [42]],
  ])('reports only the bad entry, with no second "at least one" error, when the only entry has %s', (_name, entries) => {
    const { errors } = rejection({ incidentNumbers: entries, site: 'S' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('/incidentNumbers/0');
  });

  it('reports only the bad entry when the only entry of a string is bad', () => {
    const { errors } = rejection({ incidentNumbers: `${'x'.repeat(65)}`, site: 'S' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/at most 64 characters/);
  });
});
