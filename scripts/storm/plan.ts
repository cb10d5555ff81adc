// The traffic of `npm run storm`, planned before anything is sent: which
// webhook goes when, from which sender, moving which incident to which site,
// and so where each incident must end. Pure: the randomness comes in through
// `random`, so a test can check the plan's invariants.
//
// Webhooks go out on a fixed grid, one every 1/rate seconds (an open loop:
// the schedule never waits for answers). Three kinds share the grid:
//   first      an incident's first delivery (one incident per webhook)
//   move       a later, new delivery moving an incident already moved to a
//              different site, MOVE_GAP_MS after its first
//   duplicate  a delivery sent again with the same delivery id and bytes,
//              DUPLICATE_GAP_MS after its first copy, as a sender redelivers
//              what it did not see acknowledged; it must be answered from the
//              delivery's record, not queued again
// A move or duplicate takes the first free slot from its earliest time on, so
// its gap is never shorter than drawn (and rarely much longer: they are few).

import { shuffled } from '../shared/shuffled.ts';
import type { StormSender } from './senders.ts';

/** How long after an incident's first delivery its move is sent. */
export const MOVE_GAP_MS = { min: 500, max: 3_000 } as const;
/**
 * The least gap when the two deliveries are ordered by different clocks (one
 * sender signs whole seconds, the other is ordered by the intake's clock in
 * milliseconds): the signed second is up to 1 s earlier than the moment of
 * sending, and the intake's clock a little later, so a shorter gap could
 * order the two the other way round than they were sent.
 */
export const MIXED_CLOCK_MIN_GAP_MS = 2_000;
/** How long after its first copy a duplicate is sent: long enough for the first to be recorded, so the copy is not a 409. */
export const DUPLICATE_GAP_MS = { min: 200, max: 2_000 } as const;

export type PlanSender = Pick<StormSender, 'name' | 'sites' | 'clock' | 'deliveryId'>;

export interface PlanSettings {
  /** Webhooks sent in all, duplicates included. */
  webhooks: number;
  /** Webhooks offered per second. */
  rate: number;
  /** Share of the webhooks that are duplicates. */
  duplicateShare: number;
  /** Share of the webhooks that move an incident a second time. */
  movedTwiceShare: number;
  /** The incident numbers' date part, YYYYMMDD (D3's format: `YYYYMMDD-N`). */
  date: string;
}

export interface PlannedDelivery<S extends PlanSender = PlanSender> {
  /** Its place in `plan.deliveries`. */
  index: number;
  sender: S;
  deliveryId: string;
  incident: string;
  site: string;
  role: 'first' | 'move';
}

export interface PlannedSend<S extends PlanSender = PlanSender> {
  /** When to send it, ms after the storm's start. */
  at: number;
  delivery: PlannedDelivery<S>;
  copy: 'original' | 'duplicate';
}

export interface TrafficPlan<S extends PlanSender = PlanSender> {
  /** In the order (and at the times) they are sent. */
  sends: PlannedSend<S>[];
  deliveries: PlannedDelivery<S>[];
  /** Each incident's site once every delivery is carried out: its last delivery's. */
  expectedSite: Map<string, string>;
  duplicates: number;
  movedTwice: number;
}

/** How many of each kind `settings` asks for; the problem when they do not fit (more moves than incidents, …). */
export function planCounts(settings: Pick<PlanSettings, 'webhooks' | 'duplicateShare' | 'movedTwiceShare'>) {
  const duplicates = Math.round(settings.webhooks * settings.duplicateShare);
  const movedTwice = Math.round(settings.webhooks * settings.movedTwiceShare);
  const firsts = settings.webhooks - duplicates - movedTwice;
  return { duplicates, movedTwice, firsts };
}

/** The plan for `senders`; each planned delivery holds its sender as given. */
export function planTraffic<S extends PlanSender>(
  settings: PlanSettings,
  senders: readonly S[],
  random: () => number = Math.random,
): TrafficPlan<S> {
  const { duplicates, movedTwice, firsts } = planCounts(settings);
  if (firsts < movedTwice || firsts < 1)
    throw new RangeError('More moves and duplicates than first deliveries: lower the shares.');
  const pick = (below: number) => Math.floor(random() * below);
  const draw = <T>(items: readonly T[]): T => items[pick(items.length)]!;
  const between = ({ min, max }: { min: number; max: number }) => min + random() * (max - min);
  const slotMs = 1_000 / settings.rate;
  let sequence = 0;

  const deliveries: PlannedDelivery<S>[] = [];
  const deliver = (sender: S, incident: string, site: string, role: PlannedDelivery['role']) => {
    const delivery = { index: deliveries.length, sender, deliveryId: sender.deliveryId(sequence++), incident, site, role };
    deliveries.push(delivery);
    return delivery;
  };
  // Moves and duplicates are drawn among the deliveries sent early enough
  // for them to fall within the grid, so the storm keeps its rate to the end
  // instead of trailing off; a run too short for that draws among all. The
  // extra second leaves room for the few that wait for a free slot.
  const longestGap = Math.max(MOVE_GAP_MS.max, MIXED_CLOCK_MIN_GAP_MS, DUPLICATE_GAP_MS.max) + 1_000;
  const tail = Math.ceil((longestGap * settings.rate) / 1_000);
  const moved = new Set(shuffled(Math.max(movedTwice, firsts - tail), pick).slice(0, movedTwice));
  // Delivery i (in the order sent: firsts and moves together) is duplicated when it is among these.
  const duplicated = new Set(shuffled(Math.max(duplicates, firsts + movedTwice - tail), pick).slice(0, duplicates));

  /** Moves and duplicates waiting for their slot, soonest first. */
  const waiting: Array<{ slot: number; delivery: PlannedDelivery<S>; copy: PlannedSend['copy'] }> = [];
  const wait = (slot: number, delivery: PlannedDelivery<S>, copy: PlannedSend['copy']) => {
    let at = waiting.length;
    while (at > 0 && waiting[at - 1]!.slot > slot) at--;
    waiting.splice(at, 0, { slot, delivery, copy });
  };
  const slotsAfter = (ms: number) => Math.ceil(ms / slotMs);

  const sends: PlannedSend<S>[] = [];
  let nextFirst = 0;
  let deliveryCount = 0; // deliveries sent so far, in the numbering of `duplicated`
  for (let slot = 0; sends.length < settings.webhooks; slot++) {
    let send: { delivery: PlannedDelivery<S>; copy: PlannedSend['copy'] };
    if (waiting.length > 0 && (waiting[0]!.slot <= slot || nextFirst === firsts)) {
      const due = waiting.shift()!;
      slot = Math.max(slot, due.slot);
      send = due;
    } else {
      const sender = draw(senders);
      const incident = `${settings.date}-${nextFirst + 1}`;
      const delivery = deliver(sender, incident, draw(sender.sites), 'first');
      if (moved.has(nextFirst)) {
        const to = senders.filter((other) => other.sites.some((site) => site !== delivery.site));
        const mover = draw(to);
        const move = deliver(mover, incident, draw(mover.sites.filter((site) => site !== delivery.site)), 'move');
        const gap = Math.max(between(MOVE_GAP_MS), mover.clock === sender.clock ? 0 : MIXED_CLOCK_MIN_GAP_MS);
        wait(slot + slotsAfter(gap), move, 'original');
      }
      nextFirst += 1;
      send = { delivery, copy: 'original' };
    }
    if (send.copy === 'original') {
      if (duplicated.has(deliveryCount)) wait(slot + slotsAfter(between(DUPLICATE_GAP_MS)), send.delivery, 'duplicate');
      deliveryCount += 1;
    }
    sends.push({ at: slot * slotMs, ...send });
  }

  const expectedSite = new Map<string, string>();
  for (const { delivery, copy } of sends) if (copy === 'original') expectedSite.set(delivery.incident, delivery.site);
  return { sends, deliveries, expectedSite, duplicates, movedTwice };
}
