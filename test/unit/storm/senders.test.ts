// The storm's senders are the recipes' sources, async, and each payload they
// write is read by the adapter's own source reader and mapping, then validated as any request, as one
// incident moved to the site it was written for.

import { describe, expect, it } from 'vitest';
import { readDelivery } from '../../../lambda/sources/mapping.ts';
import { readSources } from '../../../lambda/sources/registry.ts';
import { parseMoveRequest } from '../../../lambda/request-schema.ts';
import { STORM_SITES, stormSenders } from '../../../scripts/storm/senders.ts';

describe('stormSenders', () => {
  it('are async sources, each ordered by the clock its scheme gives the adapter', () => {
    const senders = stormSenders();
    expect(senders.map((sender) => sender.entry.mode)).toEqual(senders.map(() => 'async'));
    expect(Object.fromEntries(senders.map((sender) => [sender.scheme, sender.clock]))).toEqual({
      jira: 'intake',
      pagerduty: 'intake',
      github: 'intake',
      zendesk: 'signed-seconds',
    });
  });

  it('write payloads that the adapter maps to the one incident and the site they were written for', () => {
    for (const sender of stormSenders()) {
      // The mode is left out: it is the queue's business, not the mapping's.
      const { mode: _mode, ...entry } = sender.entry;
      const problems: string[] = [];
      const source = readSources(JSON.stringify({ [sender.name]: { ...entry, secretId: 'unused' } }), undefined, problems).get(
        sender.name,
      )!;
      expect(problems).toEqual([]);
      for (const site of sender.sites) {
        const delivery = readDelivery(source, sender.body('20261130-7', site));
        expect(delivery.kind).toBe('request');
        expect(parseMoveRequest((delivery as { body: unknown }).body)).toMatchObject({ incidentNumbers: ['20261130-7'], site });
      }
    }
  });

  it('between them reach every site, and give unique delivery ids', () => {
    const senders = stormSenders();
    expect(new Set(senders.flatMap((sender) => sender.sites))).toEqual(new Set(STORM_SITES));
    for (const sender of senders) expect(new Set([0, 1, 2].map((n) => sender.deliveryId(n))).size).toBe(3);
  });
});
