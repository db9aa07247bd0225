// `navlake report`: a real lake (the 2019 export through the real handler, plus a rejected upload under a hostile
// key), the report written by the real CLI, opened in a real headless Chromium from its file.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalLake, uploadAndWait } from '../../cli/local-lake.ts';
import { runLocalQuery } from '../../cli/local-query.ts';
import type { ReportData } from '../../cli/report/data.ts';
import { escapeHtml, reportPage } from '../../cli/report/html.ts';
import { buildReport } from '../../cli/report/index.ts';
import { renderSvg } from '../../cli/report/render.ts';
import { countySpec, TREND_SUBTITLE, trendSpec } from '../../cli/report/specs.ts';
import { launchChromium, type OpenedPage, openFile } from '../../scripts/chromium.ts';
import { navlake } from '../helpers/cli.ts';
import { seededLake } from '../helpers/seeded-lake.ts';

const HOSTILE_KEY = '<script>alert("key")</script>.txt';

let lake: Awaited<ReturnType<typeof seededLake>>;
let launching: Promise<Browser> | undefined;
let scratch: string;

/**
 * The browser, awaited inside each test rather than in a hook: without Chromium every browser test fails with the
 * reason, where a failing hook would leave them reported as skipped.
 */
function browser(): Promise<Browser> {
  launching ??= launchChromium();
  return launching;
}

beforeAll(async () => {
  // Chromium starts while the lake is built; its failure is reported by the tests that need it.
  browser().catch(() => {});
  scratch = await mkdtemp(join(tmpdir(), 'navlake-report-'));
  lake = await seededLake();
  const notAnExport = join(scratch, 'not-an-export.txt');
  await writeFile(notAnExport, 'this is not a NAV export\n');
  const server = await startLocalLake({ lakeDir: lake.lakeDir, port: 0 });
  try {
    const outcome = await uploadAndWait(server, notAnExport, HOSTILE_KEY);
    expect(outcome.status).toBe('rejected');
  } finally {
    await server.close();
  }
});

afterAll(async () => {
  await launching?.then(
    (b) => b.close(),
    () => {},
  );
  await lake?.cleanup();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function scalar(lakeDir: string, sql: string): Promise<number> {
  const { rows } = await runLocalQuery(lakeDir, sql);
  const value = rows[0] ? Object.values(rows[0])[0] : undefined;
  if (typeof value !== 'number') throw new Error(`${sql} gave ${String(value)}`);
  return value;
}

function count(opened: OpenedPage, selector: string): Promise<number> {
  return opened.page.$$eval(selector, (nodes) => nodes.length);
}

function expectCleanLoad(opened: OpenedPage): void {
  expect(opened.consoleErrors).toEqual([]);
  expect(opened.pageErrors).toEqual([]);
  expect(opened.failedRequests).toEqual([]);
  expect(opened.otherRequests).toEqual([]);
}

const LINES = 'figure[data-chart="trend"] g.mark-line.role-mark path';
const BARS = 'figure[data-chart="counties"] g.mark-rect.role-mark path';
const INGESTION_ROWS = 'table.ingestions tbody tr';

describe('navlake report on a lake', () => {
  let html: string;
  let reportFile: string;
  let opening: Promise<OpenedPage> | undefined;
  const open = (): Promise<OpenedPage> => {
    opening ??= browser().then((b) => openFile(b, reportFile));
    return opening;
  };

  beforeAll(async () => {
    const r = await navlake(['report', '--lake', lake.lakeDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    reportFile = join(lake.lakeDir, 'report.html');
    const size = (await stat(reportFile)).size;
    expect(r.stdout).toBe(`navlake report: wrote ${reportFile} (${(size / 1024).toFixed(1)} KB)\n`);
    html = await readFile(reportFile, 'utf8');
  });
  afterAll(() =>
    opening?.then(
      (o) => o.page.close(),
      () => {},
    ),
  );

  it('opens in Chromium with no console errors, page errors or requests', async () => {
    expectCleanLoad(await open());
  });

  it('draws one line per measure group', async () => {
    const opened = await open();
    const measureGroups = await scalar(lake.lakeDir, 'SELECT count(DISTINCT measure_group) FROM observations');
    expect(measureGroups).toBeGreaterThan(1);
    expect(await count(opened, LINES)).toBe(measureGroups);
    // Drawn, not just present: the 2019 national totals have no gap, so every line spans the year.
    const widths = await opened.page.$$eval(LINES, (paths) => paths.map((p) => p.getBoundingClientRect().width));
    expect(widths.every((w) => w > 300)).toBe(true);
  });

  it('draws one bar per county in the latest month', async () => {
    const opened = await open();
    const counties = await scalar(
      lake.lakeDir,
      `SELECT count(DISTINCT region_code) FROM observations
       WHERE period = (SELECT max(period) FROM observations) AND region_code IS NOT NULL`,
    );
    // Norway had 18 counties in 2019 (Trøndelag merged, the 2020 reform not yet in force).
    expect(counties).toBe(18);
    expect(await count(opened, BARS)).toBe(counties);
    const widths = await opened.page.$$eval(BARS, (bars) => bars.map((b) => b.getBoundingClientRect().width));
    expect(widths.every((w) => w > 0)).toBe(true);
  });

  it('lists every ingestion, with status, warnings and error code', async () => {
    const opened = await open();
    const ingestions = await scalar(lake.lakeDir, 'SELECT count(*) FROM ingestions');
    expect(ingestions).toBe(2);
    expect(await count(opened, INGESTION_ROWS)).toBe(ingestions);
    const rows = await opened.page.$$eval(INGESTION_ROWS, (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
    );
    const accepted = rows.find((cells) => cells[1] === 'nav-tiltak-fylke-2019.txt');
    expect(accepted?.slice(2, 5)).toEqual(['accepted', '2019-12', '7,430 / 7,430']);
    expect(accepted?.[5]).toMatch(/^1: CUT_OFF/);
    const rejected = rows.find((cells) => cells[2] === 'rejected');
    expect(rejected?.[6]).toMatch(/^[A-Z_]+\b/);
  });

  it('shows a hostile upload key as text, never as markup', async () => {
    const opened = await open();
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain(escapeHtml(HOSTILE_KEY));
    expect(await count(opened, 'script')).toBe(0);
    const keys = await opened.page.$$eval('td.key', (tds) => tds.map((td) => td.textContent));
    expect(keys).toContain(HOSTILE_KEY);
  });

  it('is self-contained: no script, no external resource', () => {
    // SVG namespace declarations are names, not resources; nothing else may point off the file.
    const withoutNamespaces = html.replace(/\sxmlns(:\w+)?="[^"]*"/g, '');
    expect(withoutNamespaces).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/<(script|link|iframe|object|embed|img)\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import/i);
  });

  it('states what the line chart counts in its subtitle', async () => {
    const opened = await open();
    const subtitle = await opened.page.$$eval('figure[data-chart="trend"] .role-title-subtitle tspan', (ts) =>
      ts.map((t) => t.textContent),
    );
    expect(subtitle).toEqual(TREND_SUBTITLE);
  });
});

describe('navlake report edge cases', () => {
  it('writes a report saying "no data" for a lake without observations', async () => {
    const empty = join(scratch, 'empty-lake');
    await mkdir(join(empty, 's3'), { recursive: true });
    const out = join(scratch, 'empty.html');
    const r = await navlake(['report', '--lake', empty, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^navlake report: wrote .*empty\.html \(\d+\.\d KB\)\n$/);
    const opened = await openFile(await browser(), out);
    try {
      expectCleanLoad(opened);
      expect(await opened.page.$eval('#no-data', (p) => p.textContent)).toMatch(/^No data/);
      expect(await count(opened, 'svg')).toBe(0);
      expect(await count(opened, INGESTION_ROWS)).toBe(0);
    } finally {
      await opened.page.close();
    }
  });

  it('refuses a --lake that holds no lake, with exit code 2', async () => {
    const r = await navlake(['report', '--lake', join(scratch, 'nowhere')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^navlake: .*nowhere is not a navlake lake .*\n$/);
    expect(r.stdout).toBe('');
  });

  it('refuses an --out in a missing directory in one line', async () => {
    const out = join(scratch, 'missing-dir', 'report.html');
    const r = await navlake(['report', '--lake', lake.lakeDir, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`navlake: cannot write ${out}: the directory ${join(scratch, 'missing-dir')} does not exist\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('says in one line when the page cannot be written where asked (here /proc, which takes no new files)', async () => {
    const out = '/proc/navlake-report.html';
    const r = await navlake(['report', '--lake', lake.lakeDir, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`navlake: cannot write ${out} (ENOENT); pick another --out\n`);
  });
});

describe('report rendering', () => {
  it('escapes hostile text from the lake in headings, legends and labels', async () => {
    const evil = '<script>alert(1)</script>';
    const data: ReportData = {
      datasets: [
        {
          dataset: `x${evil}`,
          title: `Title ${evil}`,
          firstPeriod: '2019-01',
          lastPeriod: '2019-02',
          observations: 4,
          suppressed: 1,
          trend: [
            { measureGroup: evil, period: '2019-01', value: 5 },
            { measureGroup: evil, period: '2019-02', value: null },
          ],
          measureGroupsWithoutTotal: [`other ${evil}`],
          countyPeriod: '2019-02',
          counties: [{ regionCode: '03', region: evil, participants: 7, suppressedValues: 1 }],
        },
      ],
      ingestions: [
        {
          sourceKey: evil,
          status: `rejected${evil}`,
          sourceVintage: evil,
          records: 0,
          recordsWritten: 0,
          warnings: [`BAD: ${evil}`],
          errorCode: evil,
          errorMessage: evil,
          errorLine: 3,
          ingestedAt: evil,
        },
      ],
    };
    const d = data.datasets[0]!;
    const page = reportPage({
      lakeDir: `/tmp/${evil}`,
      generatedAt: '2019-12-31T00:00:00Z',
      data,
      charts: [{ trend: await renderSvg(trendSpec(d.trend)), counties: await renderSvg(countySpec('2019-02', d.counties)) }],
    });
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('&lt;script&gt;');
    const file = join(scratch, 'hostile.html');
    await writeFile(file, page);
    const opened = await openFile(await browser(), file);
    try {
      expectCleanLoad(opened);
      expect(await count(opened, 'script')).toBe(0);
      expect(await opened.page.$eval('h2', (h) => h.textContent)).toBe(`Title ${evil}`);
      const svgText = await opened.page.$$eval('svg text', (ts) => ts.map((t) => t.textContent ?? ''));
      expect(svgText).toContain(evil);
    } finally {
      await opened.page.close();
    }
  });

  it('builds the same page for the same lake and time', async () => {
    const at = new Date('2020-01-01T00:00:00Z');
    expect(await buildReport(lake.lakeDir, { generatedAt: at })).toBe(await buildReport(lake.lakeDir, { generatedAt: at }));
  });
});
