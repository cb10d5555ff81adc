// The worker's use case: settle a batch of queued deliveries with as few D3
// calls as the batch allows, and say of each delivery what became of every
// one of its incidents.
//
// 1. Of two deliveries moving one incident, the later wins (signed timestamp,
//    else intake time; then the intake time; then the delivery's name, so
//    that every worker orders them alike); the earlier is superseded for it.
// 2. The winners are grouped per (site, username) and each group is carried
//    out as one request: the synchronous path's own batching, pacing and
//    retries (move-incidents.ts), so a hundred one-incident webhooks cost one
//    D3 call.
// 3. With a record of latest moves (latest-moves.ts), the same rule holds
//    across batches and workers: an incident is sent only under a claim no
//    later delivery holds, and a move that may have landed after a later
//    one's is put right by applying the later one again (moving an incident
//    is idempotent, so applying the latest move twice is harmless).
//
// Every incident of every delivery ends in exactly one of updated, failed (D3
// refused it, or the request cannot succeed: final), retrying (a retry could
// move it: the message goes back to the queue) and superseded.

import { DeliveryStoreUnavailableError, publicDetail, shouldRedeliver, toAdapterError, type AdapterError } from './errors.ts';
import type { IncidentFailure, Moved } from './move-incidents.ts';
import type { QueuedDelivery } from './queue/queued-delivery.ts';
import type { MoveRequest } from './request-schema.ts';

export interface QueuedMessage {
  messageId: string;
  /** How many times SQS has handed this message out, this time included. */
  receiveCount: number;
  delivery: QueuedDelivery;
}

export interface Supersession {
  incidentNumber: string;
  /** The later delivery, as `<source>:<deliveryId>`. */
  by: string;
}

export interface Settlement {
  message: QueuedMessage;
  updated: string[];
  failed: IncidentFailure[];
  retrying: IncidentFailure[];
  superseded: Supersession[];
  /** What kept some incidents from D3 (for the log line), if anything did. */
  incomplete?: AdapterError;
}

/** One incident's move, as the record of latest moves keeps it. */
export interface MoveClaim {
  incidentNumber: string;
  /** Orders moves: a later move has a greater stamp (see `stampOf`). */
  stamp: string;
  site: string;
  username?: string;
  /** The delivery, as `<source>:<deliveryId>`. */
  by: string;
}

/**
 * The record of the latest move of each incident, shared by every worker
 * (deliveries/latest-moves.ts keeps it in the delivery table).
 */
export interface LatestMoves {
  /**
   * Claims each incident for its move unless a later move holds it; a move
   * may claim again what it holds. Resolves with the later claims that won,
   * by incident. Throws DeliveryStoreUnavailableError.
   */
  claim(claims: readonly MoveClaim[]): Promise<Map<string, MoveClaim>>;
  /** The claims now later than these, by incident. Throws DeliveryStoreUnavailableError. */
  later(claims: readonly MoveClaim[]): Promise<Map<string, MoveClaim>>;
}

export interface CoalesceOptions {
  /** Carries out one request (batched, paced, retried); throws when D3 could not be used at all. */
  move(request: MoveRequest): Promise<Moved>;
  latest?: LatestMoves;
}

/** `<source>:<deliveryId>`: a delivery's name in outcome lines and claims. */
export function deliveryName(delivery: QueuedDelivery): string {
  return `${delivery.source}:${delivery.deliveryId}`;
}

/**
 * Sortable as text, in the order deliveries happened: padded epoch ms, so
 * that DynamoDB compares claims as this code does.
 */
export function stampOf(delivery: QueuedDelivery): string {
  const pad = (ms: number) => String(ms).padStart(15, '0');
  return `${pad(delivery.occurredAt)}.${pad(delivery.acceptedAt)}.${deliveryName(delivery)}`;
}

export async function coalesce(messages: readonly QueuedMessage[], options: CoalesceOptions): Promise<Settlement[]> {
  const settlements = new Map<QueuedMessage, Settlement>(
    messages.map((message) => [message, { message, updated: [], failed: [], retrying: [], superseded: [] }]),
  );
  // One claim per incident: its latest move in this batch. Copies of one
  // delivery (SQS delivers at least once) share its claim and its fate.
  const claims = new Map<string, MoveClaim>();
  const holders = new Map<string, QueuedMessage[]>(); // incident → the messages its claim settles
  for (const message of messages) {
    const { delivery } = message;
    const stamp = stampOf(delivery);
    for (const incidentNumber of delivery.request.incidentNumbers) {
      const held = claims.get(incidentNumber);
      if (held === undefined || held.stamp < stamp) {
        if (held) for (const earlier of holders.get(incidentNumber)!) supersede(earlier, incidentNumber, deliveryName(delivery));
        claims.set(incidentNumber, claimOf(delivery, incidentNumber, stamp));
        holders.set(incidentNumber, [message]);
      } else if (held.stamp === stamp) {
        holders.get(incidentNumber)!.push(message);
      } else {
        supersede(message, incidentNumber, held.by);
      }
    }
  }

  function supersede(message: QueuedMessage, incidentNumber: string, by: string): void {
    settlements.get(message)!.superseded.push({ incidentNumber, by });
  }
  function settle(incidentNumber: string, how: (settlement: Settlement) => void): void {
    for (const message of holders.get(incidentNumber) ?? []) how(settlements.get(message)!);
  }
  function retryAll(incidents: Iterable<string>, error: AdapterError): void {
    for (const incidentNumber of incidents) {
      settle(incidentNumber, (s) => {
        s.retrying.push({ incidentNumber, reason: publicDetail(error) });
        s.incomplete ??= error;
      });
    }
  }

  let sendable = [...claims.values()];
  const repairs: MoveClaim[] = [];
  if (options.latest) {
    let later: Map<string, MoveClaim>;
    try {
      later = await options.latest.claim(sendable);
    } catch (error) {
      retryAll(claims.keys(), storeFault(error));
      return [...settlements.values()];
    }
    for (const [incidentNumber, winner] of later) {
      settle(incidentNumber, (s) => s.superseded.push({ incidentNumber, by: winner.by }));
      // A copy handed out again may have moved the incident before the later
      // claim was made, and been cut off before putting it right: do it now.
      if (holders.get(incidentNumber)!.some((message) => message.receiveCount > 1)) repairs.push(winner);
    }
    sendable = sendable.filter((claim) => !later.has(claim.incidentNumber));
  }

  const moved = await Promise.all(
    groups(sendable).map(async (group) => {
      const { updated, failed, retrying, incomplete } = await carryOut(group, options.move);
      for (const incidentNumber of updated) settle(incidentNumber, (s) => s.updated.push(incidentNumber));
      for (const failure of failed) settle(failure.incidentNumber, (s) => s.failed.push(failure));
      for (const failure of retrying) settle(failure.incidentNumber, (s) => s.retrying.push(failure));
      if (incomplete) {
        for (const { incidentNumber } of [...failed, ...retrying]) settle(incidentNumber, (s) => (s.incomplete ??= incomplete));
      }
      const moved = new Set(updated);
      return group.filter((claim) => moved.has(claim.incidentNumber));
    }),
  );

  if (options.latest) {
    // A later claim made while this batch's moves were on their way may have
    // been applied before them: apply it again, after them.
    const applied = moved.flat();
    try {
      const later = applied.length > 0 ? await options.latest.later(applied) : new Map<string, MoveClaim>();
      reclassify(new Map([...later].map(([incidentNumber, winner]) => [incidentNumber, { by: winner.by }])));
      repairs.push(...later.values());
    } catch (error) {
      const fault = storeFault(error);
      reclassify(new Map(applied.map((claim) => [claim.incidentNumber, { fault }])));
    }
    await repair(repairs);
  }
  return [...settlements.values()];

  /**
   * Moves incidents of their holders out of whatever they were reported as
   * (updated, superseded) into what they are now: superseded by a later
   * delivery, or handed back for a fault. One pass per settlement, so that a
   * delivery of 10,000 incidents is not filtered 10,000 times.
   */
  function reclassify(changes: ReadonlyMap<string, { by: string } | { fault: AdapterError }>): void {
    const held = new Map<Settlement, Set<string>>();
    for (const incidentNumber of changes.keys()) {
      settle(incidentNumber, (s) => {
        const mine = held.get(s) ?? new Set<string>();
        mine.add(incidentNumber);
        held.set(s, mine);
      });
    }
    for (const [s, mine] of held) {
      s.updated = s.updated.filter((n) => !mine.has(n));
      s.superseded = s.superseded.filter(({ incidentNumber }) => !mine.has(incidentNumber));
      s.retrying = s.retrying.filter(({ incidentNumber }) => !mine.has(incidentNumber));
      for (const incidentNumber of mine) {
        const change = changes.get(incidentNumber)!;
        if ('by' in change) {
          s.superseded.push({ incidentNumber, by: change.by });
        } else {
          s.retrying.push({ incidentNumber, reason: publicDetail(change.fault) });
          s.incomplete ??= change.fault;
        }
      }
    }
  }

  /** Applies later moves again; what could not be applied sends its holders back to the queue, to try again. */
  async function repair(winners: readonly MoveClaim[]): Promise<void> {
    await Promise.all(
      groups(winners).map(async (group) => {
        const { retrying, incomplete } = await carryOut(group, options.move);
        if (incomplete) reclassify(new Map(retrying.map(({ incidentNumber }) => [incidentNumber, { fault: incomplete }])));
      }),
    );
  }
}

function claimOf(delivery: QueuedDelivery, incidentNumber: string, stamp: string): MoveClaim {
  const { site, username } = delivery.request;
  return { incidentNumber, stamp, site, ...(username === undefined ? {} : { username }), by: deliveryName(delivery) };
}

/** Claims per (site, username), in the order first seen: one request each. */
function groups(claims: readonly MoveClaim[]): MoveClaim[][] {
  const bySite = new Map<string, MoveClaim[]>();
  for (const claim of claims) {
    const key = JSON.stringify([claim.site, claim.username ?? null]);
    const group = bySite.get(key);
    if (group) group.push(claim);
    else bySite.set(key, [claim]);
  }
  return [...bySite.values()];
}

interface GroupOutcome {
  updated: string[];
  failed: IncidentFailure[];
  retrying: IncidentFailure[];
  incomplete?: AdapterError;
}

/** One group as one request; D3's refusals are final, what D3 could not be asked is for a retry to decide. */
async function carryOut(group: readonly MoveClaim[], move: CoalesceOptions['move']): Promise<GroupOutcome> {
  const { site, username } = group[0]!;
  const request: MoveRequest = {
    incidentNumbers: group.map((claim) => claim.incidentNumber),
    site,
    ...(username === undefined ? {} : { username }),
  };
  try {
    const { result, incomplete, unreached = [] } = await move(request);
    const again = incomplete && shouldRedeliver(incomplete) ? new Set(unreached) : new Set<string>();
    return {
      updated: result.updated,
      failed: result.failed.filter((failure) => !again.has(failure.incidentNumber)),
      retrying: result.failed.filter((failure) => again.has(failure.incidentNumber)),
      ...(incomplete ? { incomplete } : {}),
    };
  } catch (thrown) {
    const error = toAdapterError(thrown);
    const failures = request.incidentNumbers.map((incidentNumber) => ({ incidentNumber, reason: publicDetail(error) }));
    return shouldRedeliver(error)
      ? { updated: [], failed: [], retrying: failures, incomplete: error }
      : { updated: [], failed: failures, retrying: [], incomplete: error };
  }
}

function storeFault(error: unknown): AdapterError {
  const fault = toAdapterError(error);
  return fault instanceof DeliveryStoreUnavailableError
    ? fault
    : new DeliveryStoreUnavailableError('The record of latest moves could not be read or written.', { cause: error });
}
