// The names that lambda/ and infra/ must agree on: the function emits these
// metrics and serves this route; the stack's dashboard, alarms and HTTP API
// read them. Both sides import this file, so a rename cannot leave a graph or
// an alarm reading nothing (CloudWatch counts missing data as healthy).
//
// Dependency-free on purpose: infra/ imports it without pulling in Powertools.

/** POWERTOOLS_SERVICE_NAME, which Powertools also puts in the `service` dimension. */
export const SERVICE_NAME = 'd3-site-adapter';
/** POWERTOOLS_METRICS_NAMESPACE. */
export const METRICS_NAMESPACE = 'D3SiteAdapter';

/** The environment variable naming the queue of accepted deliveries; unset, async mode is refused. */
export const QUEUE_URL_VARIABLE = 'QUEUE_URL';
/**
 * Set to `true` on a function that only takes deliveries in (the stack's
 * intake behind async sources' routes): every HTTP delivery is queued, none is
 * carried out, and D3 is never called, so its instances take nothing of D3's
 * budget.
 */
export const INTAKE_ONLY_VARIABLE = 'INTAKE_ONLY';

/** The one HTTP route, on API Gateway and on the local server. */
export const ROUTE_PATH = '/incidents/site';

/**
 * Who invoked the function: the value of the `CallerKind` metric dimension
 * and log key. `queue` is the worker (dist/worker.mjs), settling the
 * deliveries the HTTP intake accepted and queued.
 */
export const CALLER_KINDS = ['http', 'eventbridge', 'direct', 'queue'] as const;
export type CallerKind = (typeof CALLER_KINDS)[number];

/** The metrics the function emits, each per {service, CallerKind}. */
export const METRIC = {
  incidentsRequested: 'IncidentsRequested',
  incidentsUpdated: 'IncidentsUpdated',
  incidentsFailed: 'IncidentsFailed',
  d3Requests: 'D3Requests',
  d3Latency: 'D3Latency',
  d3Throttled: 'D3Throttled',
  d3Retries: 'D3Retries',
  requestsRejected: 'RequestsRejected',
  /** Repeats of a delivery answered with its recorded answer, D3 not called. */
  duplicatesReplayed: 'DuplicatesReplayed',
  /** Repeats of a delivery refused with 409 while its first copy was still being carried out. */
  duplicatesInProgress: 'DuplicatesInProgress',
  /** Deliveries the intake accepted (202) and sent to the queue. */
  deliveriesQueued: 'DeliveriesQueued',
  /** Incidents a later delivery moved elsewhere before this one reached D3: not sent for this one. */
  incidentsSuperseded: 'IncidentsSuperseded',
  /** One value per D3 call the worker makes: how many incidents it carried (coalescing at a glance). */
  incidentsPerD3Call: 'IncidentsPerD3Call',
  /** Queued deliveries handed back to the queue (batchItemFailures) because a retry could still move some of their incidents. */
  deliveriesReturned: 'DeliveriesReturned',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The two kinds of duplicate delivery the metrics count. */
export type Duplicate = 'replayed' | 'inProgress';
