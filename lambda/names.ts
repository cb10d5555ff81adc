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

/** The one HTTP route, on API Gateway and on the local server. */
export const ROUTE_PATH = '/incidents/site';

/** Who invoked the function: the value of the `CallerKind` metric dimension and log key. */
export const CALLER_KINDS = ['http', 'eventbridge', 'direct'] as const;
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
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The two kinds of duplicate delivery the metrics count. */
export type Duplicate = 'replayed' | 'inProgress';
