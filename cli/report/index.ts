/** `navlake report`: the lake's figures as one self-contained HTML file. Loads Vega; import it lazily. */
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadReportData } from './data.ts';
import { type DatasetCharts, reportPage } from './html.ts';
import { renderSvg } from './render.ts';
import { countySpec, trendSpec } from './specs.ts';

export interface ReportOptions {
  /** Shown in the page; defaults to now. */
  generatedAt?: Date;
}

export async function buildReport(lakeDir: string, options: ReportOptions = {}): Promise<string> {
  const data = await loadReportData(lakeDir);
  const charts: DatasetCharts[] = [];
  for (const d of data.datasets) {
    charts.push({
      trend: d.trend.length > 0 ? await renderSvg(trendSpec(d.trend)) : null,
      counties: d.countyPeriod !== null && d.counties.length > 0 ? await renderSvg(countySpec(d.countyPeriod, d.counties)) : null,
    });
  }
  const generatedAt = (options.generatedAt ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return reportPage({ lakeDir, generatedAt, data, charts });
}

/** Writes the report to `outFile` through a file beside it, so a browser open on it never reads half a page. */
export async function writeReport(lakeDir: string, outFile: string, options: ReportOptions = {}): Promise<{ path: string; bytes: number }> {
  const html = await buildReport(lakeDir, options);
  const temp = join(dirname(outFile), `.${basename(outFile)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, html);
    await rename(temp, outFile);
  } finally {
    await rm(temp, { force: true });
  }
  return { path: outFile, bytes: Buffer.byteLength(html) };
}

/** `48213` → `47.1 KB`. */
export function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}
