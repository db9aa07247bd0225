// The README and docs/ are documentation users copy from: the schema section must match the schema module, and their
// SQL and the named queries must run on the local views exactly as written.
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalQuery } from '../cli/local-query.ts';
import { EXAMPLE_QUERIES } from '../lambdas/schema/example-queries.ts';
import { schemaMarkdown } from '../lambdas/schema/columns.ts';
import { seededLake } from './helpers/seeded-lake.ts';

const README = new URL('../README.md', import.meta.url);
const DOCS = new URL('../docs/', import.meta.url);

let readme: string;
/** README.md and every docs/*.md, by name. */
let pages: Map<string, string>;
let lake: Awaited<ReturnType<typeof seededLake>>;

beforeAll(async () => {
  readme = await readFile(README, 'utf8');
  pages = new Map([['README.md', readme]]);
  for (const name of (await readdir(DOCS)).filter((n) => n.endsWith('.md')).sort()) {
    pages.set(`docs/${name}`, await readFile(new URL(name, DOCS), 'utf8'));
  }
  lake = await seededLake();
});
afterAll(() => lake.cleanup());

describe('README', () => {
  it('has the schema section in docs/data.md generated from the schema module', () => {
    const m = /<!-- schema:start -->\n([\s\S]*?)\n<!-- schema:end -->/.exec(pages.get('docs/data.md') ?? '');
    expect(m?.[1]).toBe(schemaMarkdown());
  });

  it('fits its quick start on one screen and links every page of docs/', () => {
    const quickStart = readme.slice(0, readme.indexOf('## More'));
    expect(quickStart.split('\n').length).toBeLessThanOrEqual(50);
    for (const page of pages.keys()) if (page !== 'README.md') expect(readme).toContain(`](${page})`);
  });

  it('has relative links that lead to files and headings that exist', async () => {
    for (const [page, text] of pages) {
      for (const [, target] of text.matchAll(/\]\(((?!https?:)[^)#\s]+)?(#[^)\s]+)?\)/g)) {
        if (!target) continue;
        const url = new URL(target, new URL(page, new URL('../', import.meta.url)));
        await expect(readFile(url), `${page} -> ${target}`).resolves.toBeDefined();
      }
      for (const [, target, anchor] of text.matchAll(/\]\(([^)#\s]*\.md)#([^)\s]+)\)/g)) {
        const linked = pages.get(new URL(target ?? '', `file:///${page}`).pathname.slice(1)) ?? '';
        const headings = [...linked.matchAll(/^#+ (.+)$/gm)].map((m) => githubAnchor(m[1] ?? ''));
        expect(headings, `${page} -> ${target}#${anchor}`).toContain(anchor);
      }
    }
  });

  it('gives the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });

  it('has SQL blocks (README and docs/) that all run on the local views', async () => {
    const blocks = [...pages.values()].flatMap((text) => [...text.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? ''));
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const sql of blocks) {
      const result = await runLocalQuery(lake.lakeDir, sql);
      expect(result.rows.length, sql).toBeGreaterThan(0);
    }
  });
});

/** GitHub's heading anchors: lower case, punctuation other than hyphens dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('the example queries (demo, README, Athena named queries)', () => {
  async function run(id: string) {
    const q = EXAMPLE_QUERIES.find((x) => x.id === id);
    if (!q) throw new Error(`no query ${id}`);
    return (await runLocalQuery(lake.lakeDir, q.sql)).rows;
  }

  it('count 7,430 values, 1,186 suppressed', async () => {
    expect(await run('row-count')).toEqual([{ records: 7430, suppressed: 1186 }]);
  });

  it('list the 18 counties of 2019 for January with Østfold first', async () => {
    const rows = await run('participants-by-county');
    expect(rows).toHaveLength(18);
    expect(rows[0]).toMatchObject({ region_code: '01', region: 'Østfold' });
  });

  it('give a 12-month time series starting at 14,402', async () => {
    const rows = await run('training-time-series');
    expect(rows).toHaveLength(12);
    expect(rows[0]).toEqual({ period: '2019-01', value: 14402 });
  });

  it('find no main-group mismatches', async () => {
    const [row] = await run('main-group-totals-check');
    expect(row?.mismatches).toBe(0);
    expect(Number(row?.checked)).toBeGreaterThan(0);
  });

  it('follow the 2019 counties into their region groups, Oslo exact and Viken not', async () => {
    const rows = await run('participants-by-region-group');
    expect(rows).toHaveLength(11 * 12);
    expect(rows.find((r) => r.region_group === 'Oslo' && r.period === '2019-01')).toEqual({
      period: '2019-01',
      region_group: 'Oslo',
      exact: true,
      participants: 2938,
    });
    expect(rows.find((r) => r.region_group === 'Viken' && r.period === '2019-01')).toMatchObject({
      exact: false,
      participants: 858 + 1682 + 408,
    });
  });

  it('find no region-group total that differs from the national one', async () => {
    const [row] = await run('region-group-totals-check');
    expect(row?.mismatches ?? 0).toBe(0);
  });

  it('show the ingestion', async () => {
    expect(await run('recent-ingestions')).toEqual([
      {
        processed: expect.any(Date),
        source_key: 'nav-tiltak-fylke-2019.txt',
        status: 'accepted',
        source_vintage: '2019-12',
        records_written: 7430,
        error_code: null,
      },
    ]);
  });
});
