/**
 * The report as one HTML file: inline CSS and inline SVG, no script and no external reference, so it opens offline
 * and can be mailed. Everything read from the lake is escaped: upload keys and titles are whatever the uploader chose.
 */
import type { DatasetReport, IngestionSummary, ReportData } from './data.ts';
import { monthName } from './specs.ts';

/** A dataset's charts, rendered to SVG strings; null where the dataset has nothing to draw. */
export interface DatasetCharts {
  trend: string | null;
  counties: string | null;
}

export interface PageInput {
  lakeDir: string;
  generatedAt: string;
  data: ReportData;
  /** One entry per `data.datasets`, in the same order. */
  charts: readonly DatasetCharts[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const number = new Intl.NumberFormat('en-US');
const n = (x: number): string => number.format(x);
const plural = (count: number, word: string): string => `${n(count)} ${word}${count === 1 ? '' : 's'}`;

// The policy forbids what the page must never do anyway: run script or fetch anything.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #f6f6f4; }
main { max-width: 960px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 4px; border-top: 1px solid #ddd; padding-top: 20px; }
.meta, .note { color: #555; margin: 4px 0; }
.empty { padding: 16px; background: #fff6e0; border: 1px solid #f0d89a; }
figure { margin: 16px 0; overflow-x: auto; }
figure svg { display: block; max-width: none; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
th { background: #f0f0ee; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.key { word-break: break-all; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #eee; }
.status-accepted { background: #dcf2dc; color: #1d5c1d; }
.status-superseded { background: #e8eaf6; color: #2d3a80; }
.status-rejected { background: #fbe0e0; color: #8a1c1c; }
details summary { cursor: pointer; }
details ul { margin: 4px 0 0; padding-left: 18px; color: #555; }
`;

export function reportPage(input: PageInput): string {
  const { data } = input;
  const observations = data.datasets.reduce((sum, d) => sum + d.observations, 0);
  const body = [
    '<h1>navlake report</h1>',
    `<p class="meta">Lake <code>${escapeHtml(input.lakeDir)}</code>, generated ${escapeHtml(input.generatedAt)}: ` +
      `${plural(observations, 'value')} in ${plural(data.datasets.length, 'dataset')}, ${plural(data.ingestions.length, 'ingestion')}.</p>`,
    data.datasets.length === 0
      ? '<p class="empty" id="no-data">No data: the lake holds no observations yet.</p>'
      : data.datasets.map((d, i) => datasetSection(d, input.charts[i] ?? { trend: null, counties: null })).join('\n'),
    ingestionsSection(data.ingestions),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>navlake report</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}

function datasetSection(d: DatasetReport, charts: DatasetCharts): string {
  const parts = [
    `<section class="dataset">`,
    `<h2>${escapeHtml(d.title)}</h2>`,
    `<p class="meta">Dataset <code>${escapeHtml(d.dataset)}</code>: ${monthName(d.firstPeriod)} to ${monthName(d.lastPeriod)}, ` +
      `${plural(d.observations, 'value')} of which ${n(d.suppressed)} suppressed.</p>`,
    charts.trend
      ? `<figure class="chart" data-chart="trend">${charts.trend}</figure>`
      : '<p class="note">No national all-main-groups rows: no participants per month to draw.</p>',
  ];
  if (d.measureGroupsWithoutTotal.length > 0) {
    parts.push(
      `<p class="note">Not drawn for want of a national all-main-groups row: ${d.measureGroupsWithoutTotal.map(escapeHtml).join(', ')}.</p>`,
    );
  }
  parts.push(
    charts.counties
      ? `<figure class="chart" data-chart="counties">${charts.counties}</figure>`
      : '<p class="note">No county rows: no month by county to draw.</p>',
    '</section>',
  );
  return parts.join('\n');
}

const STATUS_CLASS: Readonly<Record<string, string>> = {
  accepted: 'status-accepted',
  superseded: 'status-superseded',
  rejected: 'status-rejected',
};

/** `CUT_OFF: line 1042: ...` → `CUT_OFF`; a warning without a code shows as itself in the list only. */
export function warningCode(warning: string): string | null {
  return /^([A-Z][A-Z0-9_]*):/.exec(warning)?.[1] ?? null;
}

function ingestionsSection(ingestions: readonly IngestionSummary[]): string {
  const head = `<h2 id="ingestions">Ingestions (${n(ingestions.length)})</h2>`;
  if (ingestions.length === 0) return `${head}\n<p class="note">No upload has been processed.</p>`;
  const rows = ingestions.map((i) => {
    const statusClass = STATUS_CLASS[i.status] ?? '';
    const codes = [...new Set(i.warnings.map(warningCode).filter((c): c is string => c !== null))];
    const warnings =
      i.warnings.length === 0
        ? '0'
        : `<details><summary>${n(i.warnings.length)}${codes.length > 0 ? `: ${escapeHtml(codes.join(', '))}` : ''}</summary>` +
          `<ul>${i.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></details>`;
    const error =
      i.errorCode === null
        ? ''
        : `<strong>${escapeHtml(i.errorCode)}</strong>${i.errorLine === null ? '' : ` (line ${i.errorLine})`}` +
          (i.errorMessage === null ? '' : `: ${escapeHtml(i.errorMessage)}`);
    return (
      '<tr>' +
      `<td>${escapeHtml(i.ingestedAt)}</td>` +
      `<td class="key">${escapeHtml(i.sourceKey)}</td>` +
      `<td><span class="status ${statusClass}">${escapeHtml(i.status)}</span></td>` +
      `<td>${escapeHtml(i.sourceVintage ?? '')}</td>` +
      `<td class="num">${n(i.recordsWritten)} / ${n(i.records)}</td>` +
      `<td>${warnings}</td>` +
      `<td>${error}</td>` +
      '</tr>'
    );
  });
  return `${head}
<table class="ingestions">
<thead><tr><th>Processed (UTC)</th><th>Source key</th><th>Status</th><th>Vintage</th><th>Written / records</th><th>Warnings</th><th>Error</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}
