// The senders of `npm run storm`: four ticketing and alerting tools and one
// Standard Webhooks script, each an async source of SOURCES with its own
// scheme and `map`, posting one incident per webhook in the payload it sends
// anyway. The payloads and sources are the examples/ recipes (the ones the
// docs pages show and test/docs runs), with `"mode": "async"`, and where the
// recipe's site is a literal, the documented alternative that reads it from
// the payload, so the storm can move an incident to any site.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readExample, type SourceExample, sourceEntry } from '../invoke.ts';
import type { SenderScheme } from '../signers.ts';

/** The D3 sites the storm moves incidents between. */
export const STORM_SITES = ['Tier 1', 'Tier 2', 'Tier 3', 'Security Operations', 'Quarantine'] as const;

/**
 * Which time the adapter orders two deliveries of one incident by (§14): a
 * timestamp the sender signs, in whole seconds (Standard Webhooks, Slack,
 * Zendesk), or, for senders that sign none, the intake's own clock when it
 * accepted the delivery, in milliseconds.
 */
export type SenderClock = 'signed-seconds' | 'intake';

export interface StormSender {
  /** The source's name: its key in SOURCES and its route, /incidents/site/<name>. */
  name: string;
  scheme: SenderScheme;
  /** Its SOURCES entry, async, without a secretId (the local adapter serves SOURCE_SECRETS). */
  entry: Record<string, unknown>;
  /** The sites its `map` can name. */
  sites: readonly string[];
  clock: SenderClock;
  /** Headers it sends besides its signature (event names and the like). */
  headers: Readonly<Record<string, string>>;
  /** The payload that moves `incident` to `site`: the recipe's, with those two changed. */
  body(incident: string, site: string): unknown;
  /** A fresh delivery id in the sender's own format; `sequence` makes it unique in the run. */
  deliveryId(sequence: number): string;
}

const SIGNS_SECONDS: ReadonlySet<SenderScheme> = new Set(['standard-webhooks', 'slack', 'zendesk']);

function recipe(name: string): SourceExample {
  const example = readExample(fileURLToPath(new URL(`../../examples/${name}.json`, import.meta.url)));
  if (example.kind !== 'source') throw new Error(`examples/${name}.json is not a source recipe`);
  return example;
}

/** A deep copy of the recipe's body, to change without touching the recipe. */
const copyOf = <T>(value: T): T => structuredClone(value);

/**
 * One sender from its recipe: `site` overrides the recipe's `map.site` (a
 * literal there) with an expression reading the payload, `sites` says which
 * sites the payload can then name, `fill` writes the incident and site into a
 * copy of the recipe's body.
 */
function fromRecipe(
  name: string,
  options: {
    site?: string;
    sites: readonly string[];
    fill: (body: Record<string, unknown>, incident: string, site: string) => void;
    deliveryId: (sequence: number) => string;
  },
): StormSender {
  const example = recipe(name);
  const base = sourceEntry(example);
  const map = { ...(base.map as Record<string, unknown>), ...(options.site ? { site: options.site } : {}) };
  const scheme = example.source.scheme as SenderScheme;
  return {
    name,
    scheme,
    entry: { ...base, map, mode: 'async' },
    sites: options.sites,
    clock: SIGNS_SECONDS.has(scheme) ? 'signed-seconds' : 'intake',
    headers: example.headers ?? {},
    body(incident, site) {
      const body = copyOf(example.body) as Record<string, unknown>;
      options.fill(body, incident, site);
      return body;
    },
    deliveryId: options.deliveryId,
  };
}

// Jira and Zendesk number their deliveries; a run's numbers start high enough
// to look like theirs and stay unique within it.
const numbered = (start: number) => (sequence: number) => String(start + sequence);

/** The object at `path` in a recipe's body, to write into; a recipe whose shape changed is named, not a TypeError. */
function objectAt(body: Record<string, unknown>, path: string): Record<string, unknown> {
  let here: unknown = body;
  for (const key of path.split('.')) here = (here as Record<string, unknown> | undefined)?.[key];
  if (typeof here !== 'object' || here === null) throw new Error(`The storm's recipe body has no object at ${path}`);
  return here as Record<string, unknown>;
}

/** The storm's senders, read from the recipes each time (a recipe changed is a storm changed). */
export function stormSenders(): StormSender[] {
  return [
    // docs/jira-cloud.md: "to take it from a select-list custom field instead".
    fromRecipe('jira-cloud', {
      site: 'issue.fields.customfield_10043.value',
      sites: STORM_SITES,
      fill(body, incident, site) {
        const fields = objectAt(body, 'issue.fields');
        fields.customfield_10042 = incident;
        fields.customfield_10043 = { value: site, id: String(10_100 + STORM_SITES.indexOf(site as never)) };
      },
      deliveryId: numbered(4_200_000_000),
    }),
    // docs/pagerduty.md: "`event.data.service.summary` if the services are named after the sites".
    fromRecipe('pagerduty', {
      site: 'event.data.service.summary',
      sites: STORM_SITES,
      fill(body, incident, site) {
        objectAt(body, 'event').id = randomUUID();
        objectAt(body, 'event.data').incident_key = incident;
        objectAt(body, 'event.data.service').summary = site;
      },
      deliveryId: () => randomUUID(),
    }),
    // docs/github.md: one source per target site; this one is the recipe's, Tier 2.
    fromRecipe('github', {
      sites: ['Tier 2'],
      fill(body, incident) {
        objectAt(body, 'issue').title = incident;
      },
      deliveryId: () => randomUUID(),
    }),
    // docs/zendesk.md: the site is the ticket's group.
    fromRecipe('zendesk', {
      sites: STORM_SITES,
      fill(body, incident, site) {
        const ticket = objectAt(body, 'ticket');
        ticket.d3_incidents = incident;
        ticket.group = site;
      },
      deliveryId: numbered(7_000_000_000),
    }),
  ];
}
