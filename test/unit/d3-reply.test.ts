// D3's per-incident answer becomes `updated` and `failed`, with
// every requested incident accounted for exactly once.

import { describe, it, expect } from 'vitest';
import { tallyReply, type D3Reply } from '../../lambda/d3/reply.ts';
import { failAll, type BatchTally } from '../../lambda/move-incidents.ts';

const row = (number: string, result: string) => ({
  'Incident Number': number,
  'Incident Owner': 'Security Operations',
  Result: result,
});
const answer = (contextData: unknown[], error = ''): D3Reply => ({ error, contextData });

/** Every requested incident is in exactly one of the two lists, and nothing else is. */
function expectAccountedFor(requested: string[], outcome: BatchTally): void {
  const all = [...outcome.updated, ...outcome.failed.map((f) => f.incidentNumber)];
  expect(all.toSorted()).toEqual([...requested].toSorted());
  expect(new Set(all).size).toBe(all.length);
}

describe('tallyReply', () => {
  it('marks every incident updated when D3 reports each one Successful', () => {
    const requested = ['20210127-198', '20210127-197'];
    const outcome = tallyReply(requested, answer([row('20210127-198', 'Successful'), row('20210127-197', 'Successful')]));
    expect(outcome).toEqual({ updated: ['20210127-198', '20210127-197'], failed: [] });
  });

  it.each(['Successful', 'successful', 'SUCCESSFUL', 'sUcCeSsFuL', '  Successful  '])(
    'treats Result "%s" as success whatever its case',
    (result) => {
      expect(tallyReply(['A'], answer([row('A', result)]))).toEqual({ updated: ['A'], failed: [] });
    },
  );

  it.each(['Failed', 'Incident not found', 'Success', 'Successfully', 'Unsuccessful', 'OK'])(
    'marks the incident failed with D3’s text as the reason when Result is "%s"',
    (result) => {
      expect(tallyReply(['A'], answer([row('A', result)]))).toEqual({
        updated: [],
        failed: [{ incidentNumber: 'A', reason: result }],
      });
    },
  );

  it('gives a reason of its own when D3’s Result is missing or blank', () => {
    const outcome = tallyReply(
      ['A', 'B', 'C'],
      answer([{ 'Incident Number': 'A' }, row('B', '   '), { 'Incident Number': 'C', Result: 42 }]),
    );
    expect(outcome).toEqual({
      updated: [],
      failed: [
        { incidentNumber: 'A', reason: 'D3 SOAR reported no result' },
        { incidentNumber: 'B', reason: 'D3 SOAR reported no result' },
        { incidentNumber: 'C', reason: 'D3 SOAR reported no result' },
      ],
    });
  });

  it('marks an incident failed when contextData does not mention it', () => {
    const outcome = tallyReply(['A', 'B', 'C'], answer([row('A', 'Successful'), row('C', 'Successful')]));
    expect(outcome).toEqual({
      updated: ['A', 'C'],
      failed: [{ incidentNumber: 'B', reason: 'D3 SOAR did not report a result for this incident' }],
    });
  });

  it('marks every incident failed when contextData is empty', () => {
    const outcome = tallyReply(['A', 'B'], answer([]));
    expect(outcome.updated).toEqual([]);
    expect(outcome.failed.map((f) => f.incidentNumber)).toEqual(['A', 'B']);
  });

  it('does not invent incidents when contextData mentions ones that were not requested', () => {
    const outcome = tallyReply(
      ['A'],
      answer([row('A', 'Successful'), row('Z-NOT-ASKED', 'Successful'), row('Y-NOT-ASKED', 'Failed')]),
    );
    expect(outcome).toEqual({ updated: ['A'], failed: [] });
  });

  it('matches D3’s incident number after trimming when D3 pads it', () => {
    expect(tallyReply(['A-1'], answer([row('  A-1 ', 'Successful')]))).toEqual({ updated: ['A-1'], failed: [] });
  });

  it('marks an incident failed when D3 reports it twice with conflicting results', () => {
    const outcome = tallyReply(['A', 'B'], answer([row('A', 'Successful'), row('B', 'Successful'), row('A', 'Failed')]));
    expect(outcome).toEqual({
      updated: ['B'],
      failed: [{ incidentNumber: 'A', reason: 'D3 SOAR reported conflicting results' }],
    });
  });

  it('keeps the result when D3 reports an incident twice with the same result', () => {
    expect(tallyReply(['A'], answer([row('A', 'Successful'), row('A', 'Successful')]))).toEqual({
      updated: ['A'],
      failed: [],
    });
    expect(tallyReply(['B'], answer([row('B', 'Locked'), row('B', 'Locked')]))).toEqual({
      updated: [],
      failed: [{ incidentNumber: 'B', reason: 'Locked' }],
    });
  });

  it('keeps the success when D3 reports an incident twice as Successful in different cases', () => {
    expect(tallyReply(['A'], answer([row('A', 'Successful'), row('A', 'successful')]))).toEqual({
      updated: ['A'],
      failed: [],
    });
  });

  it('marks every incident failed with D3’s message when D3 answers with an error', () => {
    const outcome = tallyReply(['A', 'B'], answer([row('A', 'Successful')], 'Site "Nowhere" does not exist'));
    expect(outcome).toEqual({
      updated: [],
      failed: [
        { incidentNumber: 'A', reason: 'Site "Nowhere" does not exist' },
        { incidentNumber: 'B', reason: 'Site "Nowhere" does not exist' },
      ],
    });
  });

  it.each([
    ['IncidentNumber', 'Result'],
    ['incidentNumber', 'result'],
    ['Incident Number', 'result'],
    ['IncidentNumber', 'result'],
  ])('reads the "%s" and "%s" spellings when D3 answers with them', (numberKey, resultKey) => {
    const outcome = tallyReply(
      ['A', 'B'],
      answer([
        { [numberKey]: 'A', [resultKey]: 'Successful' },
        { [numberKey]: 'B', [resultKey]: 'Denied' },
      ]),
    );
    expect(outcome).toEqual({ updated: ['A'], failed: [{ incidentNumber: 'B', reason: 'Denied' }] });
  });

  it('skips entries that are not objects or have no string incident number', () => {
    const outcome = tallyReply(
      ['A', '7'],
      answer([null, 'A', 42, ['A', 'Successful'], { 'Incident Number': 7, Result: 'Successful' }, row('A', 'Successful')]),
    );
    expect(outcome).toEqual({
      updated: ['A'],
      failed: [{ incidentNumber: '7', reason: 'D3 SOAR did not report a result for this incident' }],
    });
  });

  it('keeps the requested order when D3 answers in another order', () => {
    const requested = ['A', 'B', 'C', 'D', 'E'];
    const outcome = tallyReply(
      requested,
      answer([row('E', 'Failed'), row('D', 'Successful'), row('C', 'Failed'), row('B', 'Successful'), row('A', 'Successful')]),
    );
    expect(outcome.updated).toEqual(['A', 'B', 'D']);
    expect(outcome.failed.map((f) => f.incidentNumber)).toEqual(['C', 'E']);
  });

  it('clips a runaway reason to 500 characters when D3 sends a huge text', () => {
    const huge = 'x'.repeat(5_000);
    const [failure] = tallyReply(['A'], answer([row('A', huge)])).failed;
    expect(failure!.reason).toBe(`${'x'.repeat(500)}…`);
  });

  it('accounts for every requested incident exactly once when the answer is a mix of everything', () => {
    const requested = Array.from({ length: 50 }, (_, i) => `INC-${i}`);
    const contextData = [
      ...requested.filter((_, i) => i % 3 === 0).map((n) => row(n, 'Successful')),
      ...requested.filter((_, i) => i % 3 === 1).map((n) => row(n, 'Failed')),
      ...requested.filter((_, i) => i % 5 === 0).map((n) => row(n, 'Failed')),
      row('INC-999', 'Successful'),
    ];
    const outcome = tallyReply(requested, answer(contextData));
    expectAccountedFor(requested, outcome);
    // Multiples of 3 not also multiples of 5 (whose second row conflicts).
    expect(outcome.updated).toEqual(requested.filter((_, i) => i % 3 === 0 && i % 5 !== 0));
  });
});

describe('failAll', () => {
  it('fails every incident with the one reason in order when a batch could not be sent', () => {
    expect(failAll(['B', 'A'], 'Not sent')).toEqual({
      updated: [],
      failed: [
        { incidentNumber: 'B', reason: 'Not sent' },
        { incidentNumber: 'A', reason: 'Not sent' },
      ],
    });
  });
});
