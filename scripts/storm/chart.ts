// The storm's chart, an SVG of three panels over the run's time: webhooks
// offered per second, D3 requests per second against D3's limit, and the
// queue's depth. Drawn by Vega-Lite (the spec below) and rendered by Vega
// without a browser, so the pacing can be seen at a glance beside the
// storm's one-line verdict.

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface StormTimeline {
  /** Webhooks offered in each second of the run, second 0 first. */
  offeredPerSecond: readonly number[];
  /** Requests D3 received in each second of the run. */
  d3PerSecond: readonly number[];
  /** The queue sampled over the run: seconds since its start, messages waiting and messages a worker holds. */
  depth: ReadonlyArray<{ t: number; visible: number; inFlight: number }>;
  /** D3's limit, requests per second, drawn as a rule. */
  d3Limit: number;
  /** Moments worth a vertical rule on the queue's panel (the last webhook offered, the queue drained), seconds since the start. */
  moments: ReadonlyArray<{ t: number; label: string }>;
  /** Says what run this was, above the panels. */
  title: string;
}

export const CHART_TITLES = {
  offered: 'Webhooks offered per second',
  d3: 'D3 requests per second',
  depth: 'Queue depth (messages)',
} as const;

const WIDTH = 640;
const PANEL_HEIGHT = 140;
const TIME = { title: 'time since the first webhook (s)' };

/** The Vega-Lite spec: three panels sharing the time axis. */
export function stormChartSpec(timeline: StormTimeline): TopLevelSpec {
  // Each second is a bar from its start to the next's, so bars tile the time axis as the queue's line does.
  const perSecond = (counts: readonly number[]) => counts.map((count, second) => ({ second, end: second + 1, count }));
  const seconds = Math.max(timeline.offeredPerSecond.length, timeline.d3PerSecond.length, ...timeline.depth.map((s) => s.t));
  // A tenth more than the run, so the last moment's label fits.
  const x = { field: 'second', type: 'quantitative', scale: { domain: [0, Math.ceil(seconds * 1.1)] }, axis: TIME } as const;
  const x2 = { field: 'end' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: timeline.title, anchor: 'start', offset: 16 },
    config: { view: { stroke: null }, font: 'sans-serif' },
    vconcat: [
      {
        title: CHART_TITLES.offered,
        width: WIDTH,
        height: PANEL_HEIGHT,
        data: { values: perSecond(timeline.offeredPerSecond) },
        mark: { type: 'bar', color: '#4c78a8', stroke: 'white', strokeWidth: 0.5 },
        encoding: { x, x2, y: { field: 'count', type: 'quantitative', title: 'webhooks / s' }, y2: { datum: 0 } },
      },
      {
        title: CHART_TITLES.d3,
        width: WIDTH,
        height: PANEL_HEIGHT,
        layer: [
          {
            data: { values: perSecond(timeline.d3PerSecond) },
            mark: { type: 'bar', color: '#f58518', stroke: 'white', strokeWidth: 0.5 },
            encoding: { x, x2, y: { field: 'count', type: 'quantitative', title: 'requests / s' }, y2: { datum: 0 } },
          },
          {
            data: { values: [{ limit: timeline.d3Limit, label: `D3's limit, ${timeline.d3Limit}/s` }] },
            layer: [
              {
                mark: { type: 'rule', color: '#e45756', strokeDash: [6, 4] },
                encoding: { y: { field: 'limit', type: 'quantitative' } },
              },
              {
                mark: { type: 'text', color: '#e45756', align: 'right', dy: -6, x: 'width' },
                encoding: { y: { field: 'limit', type: 'quantitative' }, text: { field: 'label' } },
              },
            ],
          },
        ],
      },
      {
        title: CHART_TITLES.depth,
        width: WIDTH,
        height: PANEL_HEIGHT,
        data: {
          values: timeline.depth.flatMap(({ t, visible, inFlight }) => [
            { second: t, messages: visible, state: 'waiting (visible)' },
            { second: t, messages: inFlight, state: 'held by the worker (in flight)' },
          ]),
        },
        layer: [
          {
            mark: { type: 'line', interpolate: 'step-after' },
            encoding: {
              x,
              // Whole messages, and a scale from 0 even when the queue stayed empty.
              y: {
                field: 'messages',
                type: 'quantitative',
                title: 'messages',
                scale: { domainMin: 0 },
                axis: { format: 'd', tickMinStep: 1 },
              },
              color: {
                field: 'state',
                type: 'nominal',
                title: null,
                scale: { range: ['#54a24b', '#b279a2'] },
                legend: { orient: 'bottom', labelLimit: 400 },
              },
            },
          },
          {
            // Each label a line lower than the one before: moments a fraction of a second apart would overwrite each other.
            data: { values: timeline.moments.map(({ t, label }, index) => ({ second: t, label, top: 2 + 14 * index })) },
            layer: [
              { mark: { type: 'rule', color: '#666', strokeDash: [2, 3] }, encoding: { x } },
              {
                mark: { type: 'text', color: '#666', align: 'left', baseline: 'top', dx: 3 },
                // scale null: `top` is in pixels from the panel's top.
                encoding: { x, y: { field: 'top', type: 'quantitative', scale: null }, text: { field: 'label' } },
              },
            ],
          },
        ],
      },
    ],
  } as TopLevelSpec;
}

/** The chart as an SVG document, rendered headless (no browser, no canvas). */
export async function stormChartSvg(timeline: StormTimeline): Promise<string> {
  const view = new vega.View(vega.parse(compile(stormChartSpec(timeline)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
