// The storm's verdict: what became of every webhook offered and of every
// incident, from the answers the storm got and from D3's own state (the
// simulator's site of each incident). Pure, so each rule has a unit test.
//
// A webhook is accepted when answered 202: a new delivery, queued, or a copy
// of one answered from its record (`idempotent-replayed: true`); anything
// else is refused (409, 4xx, 5xx, no answer). A delivery is queued by the
// copy that got the new 202; two new 202s for one delivery is a delivery
// queued twice.
//
// Each incident must end on the site of its last queued delivery, in the
// order the storm sent them (the adapter orders them by signed timestamp or
// intake time, and the plan spaces them so both agree with the sending
// order). An incident whose final site is not that one is:
//   stale   on the site of an older queued delivery of it: a stale move applied
//   failed  elsewhere (or nowhere), but reported failed for a final reason
//           (a dead-lettered message naming it, or D3 refusing it)
//   lost    elsewhere (or nowhere), and never reported failed
// An incident none of whose deliveries was queued must stay where it was
// (nowhere, in the simulator): moved anyway, it is `unexplained`.

export interface CheckedDelivery {
  deliveryId: string;
  incident: string;
  site: string;
}

export interface SentCopy {
  delivery: CheckedDelivery;
  /** When it was sent, on the storm's clock. */
  sentAt: number;
  /** The HTTP status; undefined when no answer came (the connection failed). */
  status: number | undefined;
  /** The answer carried `idempotent-replayed: true`. */
  replayed: boolean;
}

export interface IncidentOutcome {
  incident: string;
  expected: string;
  /** Where D3 has it; undefined when it never moved. */
  final: string | undefined;
}

export interface StormVerdict {
  offered: number;
  /** 202s, replayed ones included. */
  accepted: number;
  replayed: number;
  refused: number;
  /** The HTTP status of each refusal ("none" when no answer came), with how many. */
  refusedBy: Map<string, number>;
  /** Delivery ids that got a new 202 more than once. */
  queuedTwice: string[];
  /** Incidents on their expected site. */
  moved: number;
  stale: IncidentOutcome[];
  failed: Array<IncidentOutcome & { reason: string }>;
  lost: IncidentOutcome[];
  unexplained: IncidentOutcome[];
}

export function checkStorm(
  copies: readonly SentCopy[],
  finalSites: ReadonlyMap<string, string>,
  reportedFailed: ReadonlyMap<string, string> = new Map(),
): StormVerdict {
  const verdict: StormVerdict = {
    offered: copies.length,
    accepted: 0,
    replayed: 0,
    refused: 0,
    refusedBy: new Map(),
    queuedTwice: [],
    moved: 0,
    stale: [],
    failed: [],
    lost: [],
    unexplained: [],
  };
  /** The copy of each delivery that queued it (its first new 202), by delivery id. */
  const queuedBy = new Map<string, SentCopy>();
  const incidents = new Set<string>();
  for (const copy of [...copies].sort((a, b) => a.sentAt - b.sentAt)) {
    incidents.add(copy.delivery.incident);
    if (copy.status !== 202) {
      verdict.refused += 1;
      const status = copy.status === undefined ? 'none' : String(copy.status);
      verdict.refusedBy.set(status, (verdict.refusedBy.get(status) ?? 0) + 1);
      continue;
    }
    verdict.accepted += 1;
    if (copy.replayed) {
      verdict.replayed += 1;
      continue;
    }
    const id = copy.delivery.deliveryId;
    if (queuedBy.has(id)) {
      if (!verdict.queuedTwice.includes(id)) verdict.queuedTwice.push(id);
    } else {
      queuedBy.set(id, copy);
    }
  }

  /** Each incident's queued deliveries, in the order the copies that queued them were sent. */
  const queued = new Map<string, CheckedDelivery[]>();
  for (const copy of [...queuedBy.values()].sort((a, b) => a.sentAt - b.sentAt)) {
    const { incident } = copy.delivery;
    queued.set(incident, [...(queued.get(incident) ?? []), copy.delivery]);
  }
  for (const incident of incidents) {
    const final = finalSites.get(incident);
    const deliveries = queued.get(incident) ?? [];
    const latest = deliveries.at(-1);
    if (!latest) {
      if (final !== undefined) verdict.unexplained.push({ incident, expected: '(none queued)', final });
      continue;
    }
    const outcome = { incident, expected: latest.site, final };
    if (final === latest.site) verdict.moved += 1;
    else if (deliveries.slice(0, -1).some((older) => older.site === final)) verdict.stale.push(outcome);
    else if (reportedFailed.has(incident)) verdict.failed.push({ ...outcome, reason: reportedFailed.get(incident)! });
    else verdict.lost.push(outcome);
  }
  return verdict;
}
