// The operator's dashboard, as `cdk synth` builds it: the
// adapter's own metrics (namespace D3SiteAdapter, dimensions {service,
// CallerKind}) beside AWS's, each widget reading what it claims to. The names
// are the contract the function's Powertools Metrics emit, written out rather
// than imported, so a rename on either side fails a test.

import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { defaultAndTunedTemplates, onlyResourceId } from './fixture.ts';

const NAMESPACE = 'D3SiteAdapter';
const SERVICE = 'd3-site-adapter';
const CALLER_KINDS = ['http', 'eventbridge', 'direct', 'queue'];
const COUNTS = [
  'IncidentsRequested',
  'IncidentsUpdated',
  'IncidentsFailed',
  'D3Requests',
  'D3Retries',
  'D3Throttled',
  'RequestsRejected',
  'DuplicatesReplayed',
  'DuplicatesInProgress',
];

const synthesized = defaultAndTunedTemplates();

type MetricRow = Array<string | Record<string, unknown>>;
interface Widget {
  type: string;
  properties: {
    title?: string;
    alarms?: string[];
    metrics?: MetricRow[];
    annotations?: { horizontal?: Array<{ value: number; label?: string }> };
  };
}

/** The dashboard body as JSON, each CloudFormation reference written `${Ref:Id}` or `${Fn::GetAtt:[Id,Attr]}`. */
function dashboardBody(from: Template): { start: string; widgets: Widget[] } {
  const dashboard = from.findResources('AWS::CloudWatch::Dashboard')[onlyResourceId(from, 'AWS::CloudWatch::Dashboard')]!;
  const body = dashboard.Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = parts.map((part) => (typeof part === 'string' ? part : placeholder(part))).join('');
  return JSON.parse(text);
}

const placeholder = (reference: unknown) => `\${${JSON.stringify(reference).replace(/"/g, '')}}`;
const refTo = (id: string) => placeholder({ Ref: id });
const attOf = (id: string, attribute: string) => placeholder({ 'Fn::GetAtt': [id, attribute] });

/** The one resource of `type` whose logical id is `prefix` and CDK's 8-digit hash, or starts with `prefix` followed by more. */
function idOf(from: Template, type: string, prefix: string): string {
  const all = Object.keys(from.findResources(type));
  const exact = all.filter((id) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  const ids = exact.length > 0 ? exact : all.filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.length}`);
  return ids[0]!;
}

const allRows = (from: Template) => dashboardBody(from).widgets.flatMap((widget) => widget.properties.metrics ?? []);

/** The rows graphing `metricName` ([namespace, name, ...dimension pairs, options]). */
const rowsOf = (rows: MetricRow[], namespace: string, metricName: string) =>
  rows.filter((row) => row[0] === namespace && row[1] === metricName);

/** A row's options object (its last element). */
const optionsOf = (row: MetricRow) => row[row.length - 1] as Record<string, unknown>;

const adapterDimensions = (kind: string) => ['CallerKind', kind, 'service', SERVICE];

const total = (prefix: string) => CALLER_KINDS.map((kind) => `FILL(${prefix}_${kind}, 0)`).join(' + ');

describe('the dashboard', () => {
  it('exists once, named after the stack and its region, and is output by name and console URL', () => {
    synthesized.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['', ['D3SiteAdapter-', { Ref: 'AWS::Region' }]] },
    });
    const dashboard = { Ref: onlyResourceId(synthesized.template, 'AWS::CloudWatch::Dashboard') };
    synthesized.template.hasOutput('DashboardName', { Value: dashboard });
    synthesized.template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          Match.arrayWith(['.console.aws.amazon.com/cloudwatch/home?region=', '#dashboards/dashboard/', dashboard]),
        ],
      },
    });
  });

  it('mentions the namespace and every metric the function emits when the body is read as text', () => {
    const text = JSON.stringify(dashboardBody(synthesized.template));
    const workerMetrics = ['DeliveriesQueued', 'IncidentsSuperseded', 'IncidentsPerD3Call', 'DeliveriesReturned'];
    for (const name of [NAMESPACE, ...COUNTS, ...workerMetrics, 'D3Latency', 'ColdStart']) {
      expect(text).toContain(`"${name}"`);
    }
  });

  it('reads each of the adapter’s metrics for each caller kind, in the one dimension set {service, CallerKind}', () => {
    const rows = allRows(synthesized.template);
    for (const metricName of [...COUNTS, 'D3Latency']) {
      const found = rowsOf(rows, NAMESPACE, metricName);
      expect(found.length, metricName).toBeGreaterThan(0);
      for (const row of found) expect(row.slice(2, -1), metricName).toEqual(expect.arrayContaining(['service', SERVICE]));
      for (const kind of CALLER_KINDS) {
        expect(found.some((row) => JSON.stringify(row.slice(2, -1)) === JSON.stringify(adapterDimensions(kind)))).toBe(true);
      }
    }
  });

  it('graphs each count as the total over the four caller kinds, a kind with no data counting 0', () => {
    const expressions = allRows(synthesized.template).map((row) => optionsOf(row).expression);
    for (const prefix of ['requested', 'updated', 'failed', 'requests', 'retries', 'throttled', 'replayed', 'inProgress']) {
      expect(expressions).toContain(total(prefix));
    }
    // Each id in those totals reads the right metric, as a Sum.
    const rows = allRows(synthesized.template);
    const pairs: Record<string, string> = {
      requested: 'IncidentsRequested',
      updated: 'IncidentsUpdated',
      failed: 'IncidentsFailed',
      requests: 'D3Requests',
      retries: 'D3Retries',
      throttled: 'D3Throttled',
      replayed: 'DuplicatesReplayed',
      inProgress: 'DuplicatesInProgress',
    };
    for (const [prefix, metricName] of Object.entries(pairs)) {
      for (const kind of CALLER_KINDS) {
        const row = rows.find((candidate) => optionsOf(candidate).id === `${prefix}_${kind}`);
        expect(row, `${prefix}_${kind}`).toEqual([
          NAMESPACE,
          metricName,
          ...adapterDimensions(kind),
          { id: `${prefix}_${kind}`, visible: false, stat: 'Sum' },
        ]);
      }
    }
  });

  it('graphs duplicate deliveries, replayed and refused in progress, as totals in one widget of their own', () => {
    const { widgets } = dashboardBody(synthesized.template);
    const expressionsOf = (widget: Widget) => (widget.properties.metrics ?? []).map((row) => optionsOf(row).expression);
    const duplicates = widgets.filter((widget) => expressionsOf(widget).includes(total('replayed')));
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]!.properties.title).toMatch(/^Duplicate deliveries/);
    const shown = (duplicates[0]!.properties.metrics ?? []).filter((row) => optionsOf(row).expression !== undefined);
    expect(shown.map((row) => optionsOf(row).expression)).toEqual([total('replayed'), total('inProgress')]);
    // The hidden queries feeding them read exactly the two metrics, nothing else.
    const queried = (duplicates[0]!.properties.metrics ?? []).filter((row) => row[0] === NAMESPACE).map((row) => row[1]);
    expect([...new Set(queried)].sort()).toEqual(['DuplicatesInProgress', 'DuplicatesReplayed']);
  });

  it('graphs the delivery table’s throttled requests and system errors, each summed over the five calls the functions make, and its PutItem latency', () => {
    const rows = allRows(synthesized.template);
    const table = refTo(onlyResourceId(synthesized.template, 'AWS::DynamoDB::GlobalTable'));
    const operations = ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem'];
    const expressions = rows.map((row) => optionsOf(row).expression);
    for (const [prefix, metricName] of [
      ['throttled', 'ThrottledRequests'],
      ['errors', 'SystemErrors'],
    ] as const) {
      expect(expressions).toContain(operations.map((operation) => `FILL(${prefix}_${operation}, 0)`).join(' + '));
      for (const operation of operations) {
        expect(rows.find((row) => optionsOf(row).id === `${prefix}_${operation}`)).toEqual([
          'AWS/DynamoDB',
          metricName,
          'Operation',
          operation,
          'TableName',
          table,
          { id: `${prefix}_${operation}`, visible: false, stat: 'Sum' },
        ]);
      }
    }
    expect(rowsOf(rows, 'AWS/DynamoDB', 'SuccessfulRequestLatency')).toEqual([
      [
        'AWS/DynamoDB',
        'SuccessfulRequestLatency',
        'Operation',
        'PutItem',
        'TableName',
        table,
        expect.objectContaining({ stat: 'p99', yAxis: 'right' }),
      ],
    ]);
  });

  it('graphs D3 latency at p50 and p99 per caller kind, never summed across kinds', () => {
    const latency = rowsOf(allRows(synthesized.template), NAMESPACE, 'D3Latency');
    const shown = latency.map((row) => `${optionsOf(row).stat} ${row[3]}`).sort();
    expect(shown).toEqual([
      'p50 direct',
      'p50 eventbridge',
      'p50 http',
      'p50 queue',
      'p99 direct',
      'p99 eventbridge',
      'p99 http',
      'p99 queue',
    ]);
    // Plotted as they are: no hidden query feeding an expression.
    for (const row of latency) expect(optionsOf(row).id).toBeUndefined();
  });

  it('graphs the depth of the three dead-letter queues in one widget, and of the queue of accepted deliveries in another', () => {
    const { widgets } = dashboardBody(synthesized.template);
    const queueName = (prefix: string) => attOf(idOf(synthesized.template, 'AWS::SQS::Queue', prefix), 'QueueName');
    const depthIn = (widget: Widget) => rowsOf(widget.properties.metrics ?? [], 'AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    const deadLetters = widgets.find((widget) => widget.properties.title?.startsWith('Dead-letter queue depth'))!;
    expect(depthIn(deadLetters).map((row) => row[3])).toEqual(
      ['FailedInvocationsQueue', 'RuleDeadLetterQueue', 'DeliveryQueueDeadLetters'].map(queueName),
    );
    for (const row of depthIn(deadLetters)) expect(optionsOf(row).stat).toBe('Maximum');

    const waiting = widgets.find((widget) => widget.properties.title?.startsWith('Queue of accepted deliveries'))!;
    const rows = waiting.properties.metrics ?? [];
    expect(rows.map((row) => [row[1], row[3], optionsOf(row).stat])).toEqual([
      ['ApproximateNumberOfMessagesVisible', queueName('DeliveryQueue'), 'Maximum'],
      ['ApproximateNumberOfMessagesNotVisible', queueName('DeliveryQueue'), 'Maximum'],
    ]);
  });

  it('graphs the oldest accepted delivery’s age with the alarm’s threshold of 300 seconds', () => {
    const { widgets } = dashboardBody(synthesized.template);
    const age = widgets.find((widget) => widget.properties.metrics?.some((row) => row[1] === 'ApproximateAgeOfOldestMessage'))!;
    expect(age.properties.metrics!.map((row) => [row[0], row[3], optionsOf(row).stat])).toEqual([
      ['AWS/SQS', attOf(idOf(synthesized.template, 'AWS::SQS::Queue', 'DeliveryQueue'), 'QueueName'), 'Maximum'],
    ]);
    expect(age.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 300 })]);
  });

  it('graphs coalescing: incidents per D3 call (average and maximum) from the worker, in the {service, CallerKind queue} set', () => {
    const rows = rowsOf(allRows(synthesized.template), NAMESPACE, 'IncidentsPerD3Call');
    // A dashboard row leaves out Average, its default statistic.
    expect(rows.map((row) => [...row.slice(2, -1), optionsOf(row).stat ?? 'Average'])).toEqual([
      [...adapterDimensions('queue'), 'Average'],
      [...adapterDimensions('queue'), 'Maximum'],
    ]);
  });

  it('graphs deliveries queued by the HTTP intake, and deliveries returned and incidents superseded by the worker', () => {
    const rows = allRows(synthesized.template);
    for (const [metricName, kind] of [
      ['DeliveriesQueued', 'http'],
      ['DeliveriesReturned', 'queue'],
      ['IncidentsSuperseded', 'queue'],
    ] as const) {
      expect(
        rowsOf(rows, NAMESPACE, metricName).map((row) => [...row.slice(2, -1), optionsOf(row).stat]),
        metricName,
      ).toEqual([[...adapterDimensions(kind), 'Sum']]);
    }
  });

  it('graphs each function’s invocations, errors and throttles, the synchronous function’s and the worker’s duration (each timeout marked), and their cold starts', () => {
    const rows = allRows(synthesized.template);
    const fns = (['Adapter', 'Intake', 'Worker'] as const).map((prefix) =>
      refTo(idOf(synthesized.template, 'AWS::Lambda::Function', `${prefix}Function`)),
    );
    for (const metricName of ['Errors', 'Throttles', 'Invocations']) {
      expect(rowsOf(rows, 'AWS/Lambda', metricName).map((row) => [row[3], optionsOf(row).stat])).toEqual(
        fns.map((fn) => [fn, 'Sum']),
      );
    }
    const [adapter, , worker] = fns;
    const duration = rowsOf(rows, 'AWS/Lambda', 'Duration');
    expect(duration.map((row) => `${row[3]} ${optionsOf(row).stat}`).sort()).toEqual(
      [adapter, worker].flatMap((fn) => ['p50', 'p99', 'Maximum'].map((stat) => `${fn} ${stat}`)).sort(),
    );
    const timeoutOf = (fn: string) =>
      dashboardBody(synthesized.template).widgets.find((widget) =>
        widget.properties.metrics?.some((row) => row[1] === 'Duration' && row[3] === fn),
      )!.properties.annotations?.horizontal;
    expect(timeoutOf(adapter!)).toEqual([expect.objectContaining({ value: 25_000 })]);
    expect(timeoutOf(worker!)).toEqual([expect.objectContaining({ value: 120_000 })]);

    expect(rowsOf(rows, NAMESPACE, 'ColdStart')).toEqual(
      fns.map((fn) => [
        NAMESPACE,
        'ColdStart',
        'function_name',
        fn,
        'service',
        SERVICE,
        expect.objectContaining({ stat: 'Sum' }),
      ]),
    );
  });

  it('shows the state of all thirteen alarms, and the failure-ratio threshold on the ratio graph', () => {
    const { widgets } = dashboardBody(synthesized.template);
    const status = widgets.find((widget) => widget.type === 'alarm')!;
    const alarmIds = Object.keys(synthesized.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarmIds).toHaveLength(13);
    expect([...status.properties.alarms!].sort()).toEqual(alarmIds.map((id) => attOf(id, 'Arn')).sort());

    const ratio = widgets.find((widget) =>
      widget.properties.metrics?.some((row) => optionsOf(row).expression === 'IF(requested > 0, failed / requested, 0)'),
    )!;
    expect(ratio.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 0.2 })]);
    const tunedRatio = dashboardBody(synthesized.tuned).widgets.find(
      (widget) => widget.properties.title === ratio.properties.title,
    )!;
    expect(tunedRatio.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 0.05 })]);
  });
});
