// The storm's checker: from the answers and D3's final state, which webhooks
// were accepted or refused, which deliveries were queued twice, and which
// incidents ended where they should, on an older delivery's site (stale),
// nowhere with a reason (failed) or nowhere without one (lost).

import { describe, expect, it } from 'vitest';
import { checkStorm, type SentCopy } from '../../../scripts/storm/check.ts';

const first = { deliveryId: 'd1', incident: '20261130-1', site: 'Tier 1' };
const move = { deliveryId: 'd2', incident: '20261130-1', site: 'Tier 3' };
const other = { deliveryId: 'd3', incident: '20261130-2', site: 'Quarantine' };

/** A copy sent at `sentAt` and answered with `status` (null: no answer came). */
const sent = (delivery: SentCopy['delivery'], sentAt: number, status: number | null = 202, replayed = false): SentCopy => ({
  delivery,
  sentAt,
  status: status ?? undefined,
  replayed,
});

describe('checkStorm', () => {
  it('counts a replayed 202 as accepted, anything else but 202 as refused, by status', () => {
    const verdict = checkStorm(
      [sent(first, 0), sent(first, 1, 202, true), sent(move, 2, 409), sent(other, 3, null)],
      new Map([['20261130-1', 'Tier 1']]),
    );
    expect(verdict).toMatchObject({ offered: 4, accepted: 2, replayed: 1, refused: 2, queuedTwice: [] });
    expect(verdict.refusedBy).toEqual(
      new Map([
        ['409', 1],
        ['none', 1],
      ]),
    );
  });

  it('expects each incident on its last queued delivery’s site, by the order they were sent, not the order given', () => {
    const verdict = checkStorm(
      [sent(move, 5), sent(first, 1), sent(other, 2)],
      new Map([
        ['20261130-1', 'Tier 3'],
        ['20261130-2', 'Quarantine'],
      ]),
    );
    expect(verdict).toMatchObject({ moved: 2, stale: [], lost: [], failed: [] });
  });

  it('calls an incident left on an older delivery’s site stale, not lost', () => {
    const verdict = checkStorm([sent(first, 1), sent(move, 2)], new Map([['20261130-1', 'Tier 1']]));
    expect(verdict.stale).toEqual([{ incident: '20261130-1', expected: 'Tier 3', final: 'Tier 1' }]);
    expect(verdict.lost).toEqual([]);
  });

  it('calls an incident D3 never moved lost, unless it was reported failed for a final reason', () => {
    const copies = [sent(first, 1), sent(other, 2)];
    const lost = checkStorm(copies, new Map([['20261130-1', 'Tier 1']]));
    expect(lost.lost).toEqual([{ incident: '20261130-2', expected: 'Quarantine', final: undefined }]);
    const reported = checkStorm(copies, new Map([['20261130-1', 'Tier 1']]), new Map([['20261130-2', 'dead-lettered']]));
    expect(reported.lost).toEqual([]);
    expect(reported.failed).toEqual([
      { incident: '20261130-2', expected: 'Quarantine', final: undefined, reason: 'dead-lettered' },
    ]);
  });

  it('calls an incident on a site none of its deliveries named lost', () => {
    const verdict = checkStorm([sent(first, 1), sent(move, 2)], new Map([['20261130-1', 'Tier 2']]));
    expect(verdict.lost).toEqual([{ incident: '20261130-1', expected: 'Tier 3', final: 'Tier 2' }]);
  });

  it('ignores a refused delivery when choosing the expected site: the move that was refused cannot be expected', () => {
    const verdict = checkStorm([sent(first, 1), sent(move, 2, 503)], new Map([['20261130-1', 'Tier 1']]));
    expect(verdict).toMatchObject({ moved: 1, stale: [], lost: [] });
  });

  it('expects a delivery at the time of the copy that queued it: a refused first copy, a duplicate accepted after the move', () => {
    const verdict = checkStorm([sent(first, 1, 503), sent(move, 2), sent(first, 3)], new Map([['20261130-1', 'Tier 1']]));
    expect(verdict).toMatchObject({ moved: 1, stale: [] });
  });

  it('names a delivery that got a new 202 twice: it was queued twice', () => {
    const verdict = checkStorm([sent(first, 1), sent(first, 2)], new Map([['20261130-1', 'Tier 1']]));
    expect(verdict.queuedTwice).toEqual(['d1']);
  });

  it('calls an incident moved though none of its deliveries was queued unexplained', () => {
    const verdict = checkStorm([sent(other, 1, 500)], new Map([['20261130-2', 'Quarantine']]));
    expect(verdict.unexplained).toEqual([{ incident: '20261130-2', expected: '(none queued)', final: 'Quarantine' }]);
  });
});
