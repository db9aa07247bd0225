// A lake holding the 2019 seed (the 2018-2019 county structure) and one export for each year 2020-2024 (the 2020
// and 2024 structures), built so that every area's true count is the same each calendar month as in 2019: the series
// per region group must then run without a gap or a jump across both reforms, and the groups must add up to the
// national total. Real embedded S3, real ingest handler, real DuckDB views; the SQL is the saved named queries'.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalQuery } from '../../cli/local-query.ts';
import { startLocalLake, uploadAndWait } from '../../cli/local-lake.ts';
import type { IngestOutcome } from '../../lambdas/ingest/ingest-upload.ts';
import { countiesOf } from '../../lambdas/parser/regions.ts';
import { REGION_GROUPS } from '../../lambdas/regions/region-groups.ts';
import { validAt } from '../../lambdas/regions/region-table.ts';
import { EXAMPLE_QUERIES } from '../../lambdas/schema/example-queries.ts';
import { exportSectionsText } from '../helpers/events.ts';
import { SEED_FILE } from '../helpers/seeded-lake.ts';

const YEARS = [2020, 2021, 2022, 2023, 2024];

/** The seed's first section (Opplæring, all main groups): label -> 12 monthly cells. */
function seedOpplaering(text: string): Map<string, Array<number | '*'>> {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('I alt opplæring\t'));
  const rows = new Map<string, Array<number | '*'>>();
  for (let i = start; i < lines.length && (lines[i] ?? '').includes('\t'); i++) {
    const [label = '', ...cells] = (lines[i] ?? '').split('\t');
    rows.set(
      label,
      cells.map((c) => (c.trim() === '*' ? '*' : Number(c.replace(/\s/g, '')))),
    );
  }
  return rows;
}

const groupOf = (name: string, year: number): string => {
  const g = REGION_GROUPS.find((x) => x.region === name && validAt(x, `${year}-01`));
  if (!g) throw new Error(`no group for ${name} in ${year}`);
  return g.region_group;
};

let lakeDir: string;
let outcomes: IngestOutcome[];
/** Group -> month (1-12) -> the seed's value for the group; the national total per month. */
let groupValues: Map<string, number[]>;
let national: number[];

beforeAll(async () => {
  const seed = seedOpplaering(await readFile(SEED_FILE, 'utf8'));
  national = (seed.get('I alt opplæring') ?? []).map(Number);
  groupValues = new Map();
  for (const [label, cells] of seed) {
    if (label.startsWith('I alt')) continue;
    const values = groupValues.get(groupOf(label, 2019)) ?? Array(12).fill(0);
    cells.forEach((c, m) => {
      values[m] += c === '*' ? 0 : c;
    });
    groupValues.set(groupOf(label, 2019), values);
  }
  // The seed suppresses Øvrige områder (under 4); its true value is what the national total leaves over.
  const shown = [...groupValues.values()].reduce((sum, v) => sum.map((s, m) => s + (v[m] ?? 0)), Array(12).fill(0) as number[]);
  const ovrige = groupValues.get('Øvrige områder') ?? [];
  groupValues.set(
    'Øvrige områder',
    ovrige.map((v, m) => v + (national[m] ?? 0) - (shown[m] ?? 0)),
  );

  lakeDir = await mkdtemp(join(tmpdir(), 'navlake-regions-'));
  const files = await mkdtemp(join(tmpdir(), 'navlake-regions-exports-'));
  const lake = await startLocalLake({ lakeDir, port: 0 });
  try {
    outcomes = [await uploadAndWait(lake, SEED_FILE, 'nav-tiltak-fylke-2019.txt')];
    for (const year of YEARS) {
      // Each group's value split over its counties of the year (uneven shares, the last takes the remainder).
      const rows: Array<[string, number[]]> = [];
      const names = [...countiesOf(year).map((c) => c.name), 'Øvrige områder', 'Ukjent'];
      const byGroup = new Map<string, string[]>();
      for (const name of names) byGroup.set(groupOf(name, year), [...(byGroup.get(groupOf(name, year)) ?? []), name]);
      for (const [group, members] of byGroup) {
        const total = groupValues.get(group) ?? [];
        let left = [...total];
        members.forEach((name, i) => {
          const share = i === members.length - 1 ? left : total.map((v) => Math.floor((v * (i + 2)) / (members.length * 4)));
          left = left.map((v, m) => v - (share[m] ?? 0));
          rows.push([name, share]);
        });
      }
      const file = join(files, `nav-tiltak-fylke-${year}.txt`);
      await writeFile(file, exportSectionsText([{ year, firstMonth: 1, lastMonth: 12, measure: 'Opplæring', rows }]));
      outcomes.push(await uploadAndWait(lake, file, `nav-tiltak-fylke-${year}.txt`));
    }
  } finally {
    await lake.close();
    await rm(files, { recursive: true, force: true });
  }
}, 60_000);

afterAll(() => rm(lakeDir, { recursive: true, force: true }));

async function named(id: string) {
  const q = EXAMPLE_QUERIES.find((x) => x.id === id);
  if (!q) throw new Error(`no query ${id}`);
  return (await runLocalQuery(lakeDir, q.sql)).rows;
}

describe('a lake across the county reforms', () => {
  it('ingests the 2019 seed and the 2020-2024 exports, knowing every region name', () => {
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted']);
    for (const o of outcomes) expect(JSON.stringify(o)).not.toContain('UNKNOWN_REGION');
  });

  it('gives each county group a continuous series: every month of 2019-2024, the same value each calendar month', async () => {
    const rows = await named('participants-by-region-group');
    const groups = [...groupValues.keys()].filter((g) => g !== 'Øvrige områder' && g !== 'Ukjent').sort();
    expect([...new Set(rows.map((r) => r.region_group))].sort()).toEqual(groups);
    for (const group of groups) {
      const series = rows.filter((r) => r.region_group === group);
      expect(
        series.map((r) => r.period),
        group,
      ).toEqual([2019, ...YEARS].flatMap((y) => Array.from({ length: 12 }, (_, m) => `${y}-${String(m + 1).padStart(2, '0')}`)));
      const expected = groupValues.get(group) ?? [];
      expect(
        series.map((r) => Number(r.participants)),
        group,
      ).toEqual([2019, ...YEARS].flatMap(() => expected));
    }
  });

  it('marks Viken, whose border moved, as not exact, and Agder as exact', async () => {
    const rows = await named('participants-by-region-group');
    expect(new Set(rows.filter((r) => r.region_group === 'Viken').map((r) => r.exact))).toEqual(new Set([false]));
    expect(new Set(rows.filter((r) => r.region_group === 'Agder').map((r) => r.exact))).toEqual(new Set([true]));
  });

  it('adds the groups up to the national total wherever every group is present', async () => {
    const [row] = await named('region-group-totals-check');
    expect(row?.mismatches).toBe(0);
    // At least the 60 months of 2020-2024 (the seed's Opplæring suppresses Øvrige områder and is left out).
    expect(Number(row?.checked)).toBeGreaterThanOrEqual(60);
    const totals = await runLocalQuery(
      lakeDir,
      "SELECT period, value FROM observations WHERE region = 'I alt' AND main_group = 'I alt' AND measure_group = 'Opplæring' ORDER BY period",
    );
    expect(totals.rows.map((r) => r.value)).toEqual([2019, ...YEARS].flatMap(() => national));
  });

  it('serves the reference tables from the lake, as the table module holds them', async () => {
    const regions = await runLocalQuery(
      lakeDir,
      "SELECT count(*) AS n FROM regions WHERE kind = 'county' AND '2024-06' BETWEEN valid_from AND coalesce(valid_to, '9999-12')",
    );
    expect(regions.rows).toEqual([{ n: 15 }]);
    const groups = await runLocalQuery(lakeDir, 'SELECT count(*) AS n FROM region_groups');
    expect(groups.rows).toEqual([{ n: REGION_GROUPS.length }]);
  });
});
