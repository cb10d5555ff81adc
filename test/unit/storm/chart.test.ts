// The storm's chart renders without a browser and shows what it says: each
// panel's title, one bar per second of webhooks offered and of D3 requests,
// D3's limit as a rule, the queue's two lines and the moments marked on it.

import { describe, expect, it } from 'vitest';
import { CHART_TITLES, stormChartSvg } from '../../../scripts/storm/chart.ts';

const timeline = {
  offeredPerSecond: [500, 512, 497],
  d3PerSecond: [3, 4, 2, 11],
  depth: [
    { t: 0, visible: 0, inFlight: 0 },
    { t: 1.5, visible: 120, inFlight: 80 },
    { t: 3.9, visible: 0, inFlight: 0 },
  ],
  d3Limit: 50,
  moments: [
    { t: 3, label: 'last webhook' },
    { t: 3.9, label: 'drained' },
  ],
  title: 'storm: 1509 webhooks at 503/s',
};

/** The accessible labels Vega gives each mark item, e.g. "second: 0; webhooks / s: 500; end: 1". */
const labels = (svg: string) => [...svg.matchAll(/aria-label="([^"]*)"/g)].map((match) => match[1]!);
const roles = (svg: string, role: string) => svg.split(`aria-roledescription="${role}"`).length - 1;

describe('stormChartSvg', () => {
  it('renders an SVG document with the run’s title and each panel’s', async () => {
    const svg = await stormChartSvg(timeline);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const title of [timeline.title, ...Object.values(CHART_TITLES)]) expect(svg).toContain(`>${title}<`);
  });

  it('draws one bar per second of webhooks offered and of D3 requests, each with its count', async () => {
    const svg = await stormChartSvg(timeline);
    const bars = labels(svg);
    const drawn = (text: string) => bars.some((label) => label.startsWith(`${text};`));
    for (const [second, count] of timeline.offeredPerSecond.entries()) {
      expect(drawn(`second: ${second}; webhooks / s: ${count}`)).toBe(true);
    }
    for (const [second, count] of timeline.d3PerSecond.entries()) {
      expect(drawn(`second: ${second}; requests / s: ${count}`)).toBe(true);
    }
    expect(roles(svg, 'bar')).toBe(timeline.offeredPerSecond.length + timeline.d3PerSecond.length);
  });

  it('draws D3’s limit as a labelled rule, the queue as two lines, and the moments marked', async () => {
    const svg = await stormChartSvg(timeline);
    expect(svg).toContain(">D3's limit, 50/s<");
    expect(roles(svg, 'line mark')).toBe(2);
    expect(svg).toContain('>waiting (visible)<');
    expect(svg).toContain('>held by the worker (in flight)<');
    // The limit's rule and one per moment.
    expect(roles(svg, 'rule mark')).toBe(1 + timeline.moments.length);
    for (const { label } of timeline.moments) expect(svg).toContain(`>${label}<`);
  });
});
