/** The report's charts as Vega-Lite specs, data inline: rendered to SVG once, at report time. */
import type { Config, TopLevelSpec } from 'vega-lite';
import type { CountyBar, TrendPoint } from './data.ts';

export const TREND_SUBTITLE = [
  'Participants: the national total (region "I alt") of all main groups (main group "I alt"),',
  'one line per measure group. Gaps are months where NAV suppressed the value.',
];

const CONFIG: Config = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 8,
  view: { stroke: null },
  title: { anchor: 'start', fontSize: 15, subtitleFontSize: 12, subtitleColor: '#555', offset: 12 },
  axis: { labelFontSize: 11, titleFontSize: 11, titleColor: '#333', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 320 },
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `2019-12` as `December 2019`, without a time zone that could move it to another month. */
export function monthName(period: string): string {
  const [year, month] = period.split('-');
  return `${MONTHS[Number(month) - 1] ?? month} ${year}`;
}

export function trendSpec(points: readonly TrendPoint[]): TopLevelSpec {
  const groups = legendOrder(points);
  const periods = new Set(points.map((p) => p.period)).size;
  return {
    name: 'trend',
    title: { text: 'Participants per month by measure group', subtitle: TREND_SUBTITLE },
    width: 600,
    height: 300,
    // `-01` makes a date of the month; it is read and shown as UTC so no time zone moves it into the month before.
    data: { values: points.map((p) => ({ measure_group: p.measureGroup, month: `${p.period}-01`, participants: p.value })) },
    // A single month draws no line; the points keep it visible.
    mark: { type: 'line', strokeWidth: 2, point: periods === 1 },
    encoding: {
      x: { field: 'month', type: 'temporal', timeUnit: 'utcyearmonth', title: null, axis: { labelAngle: 0, labelOverlap: 'greedy' } },
      y: { field: 'participants', type: 'quantitative', title: 'participants', axis: { format: ',d' } },
      color: {
        field: 'measure_group',
        type: 'nominal',
        title: 'Measure group',
        sort: groups,
        scale: { scheme: groups.length > 10 ? 'tableau20' : 'tableau10' },
      },
    },
    config: CONFIG,
  };
}

/** Legend entries from the highest line to the lowest in the last month, so the legend reads like the chart's right edge. */
function legendOrder(points: readonly TrendPoint[]): string[] {
  const last = new Map<string, { period: string; value: number }>();
  for (const p of points) {
    const seen = last.get(p.measureGroup);
    if (p.value !== null && (!seen || p.period > seen.period)) last.set(p.measureGroup, { period: p.period, value: p.value });
  }
  const groups = [...new Set(points.map((p) => p.measureGroup))];
  return groups.sort((a, b) => (last.get(b)?.value ?? -1) - (last.get(a)?.value ?? -1) || a.localeCompare(b));
}

export function countySubtitle(bars: readonly CountyBar[]): string[] {
  const suppressed = bars.reduce((n, b) => n + b.suppressedValues, 0);
  return [
    'Sum over the measure groups of the counties\' all-main-groups rows; "Øvrige områder" and "Ukjent" are no county.',
    suppressed === 0
      ? 'No value was suppressed.'
      : `${suppressed} suppressed value${suppressed === 1 ? '' : 's'} (each under 4) counted as nothing.`,
  ];
}

export function countySpec(period: string, bars: readonly CountyBar[]): TopLevelSpec {
  return {
    name: 'counties',
    title: { text: `Participants by county, ${monthName(period)}`, subtitle: countySubtitle(bars) },
    width: 640,
    height: { step: 18 },
    data: { values: bars.map((b) => ({ county: b.region, code: b.regionCode, participants: b.participants })) },
    encoding: {
      // The rows come sorted (most participants first), and one order for both layers keeps Vega-Lite from guessing.
      y: { field: 'county', type: 'nominal', sort: null, title: null },
      x: { field: 'participants', type: 'quantitative', title: 'participants', axis: { format: ',d', tickCount: 5 } },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' } },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#333' },
        encoding: { text: { field: 'participants', format: ',d' } },
      },
    ],
    config: CONFIG,
  };
}
