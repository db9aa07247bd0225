// The README is documentation users copy from: its schema section must match the schema module, and its SQL and
// the named queries must run on the local views exactly as written.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalQuery } from '../cli/local-query.ts';
import { EXAMPLE_QUERIES } from '../lambdas/schema/example-queries.ts';
import { schemaMarkdown } from '../lambdas/schema/columns.ts';
import { seededLake } from './helpers/seeded-lake.ts';

const README = new URL('../README.md', import.meta.url);

let readme: string;
let lake: Awaited<ReturnType<typeof seededLake>>;

beforeAll(async () => {
  readme = await readFile(README, 'utf8');
  lake = await seededLake();
});
afterAll(() => lake.cleanup());

describe('README', () => {
  it('has the schema section generated from the schema module', () => {
    const m = /<!-- schema:start -->\n([\s\S]*?)\n<!-- schema:end -->/.exec(readme);
    expect(m?.[1]).toBe(schemaMarkdown());
  });

  it('gives the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });

  it('has SQL blocks that all run on the local views', async () => {
    const blocks = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const sql of blocks) {
      const result = await runLocalQuery(lake.lakeDir, sql);
      expect(result.rows.length, sql).toBeGreaterThan(0);
    }
  });
});

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
