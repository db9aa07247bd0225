// The replacement rules on their own, without S3: which rows a month holds after a set of uploads.
// The oracle below states the rules as a set definition (per section: the newest complete copy sets a floor; per
// cell: the newest copy at or above the floor wins); the merge under test works incrementally, one upload at a time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredObservation } from '../../lambdas/lake/observation-file.ts';
import { mergePartition } from '../../lambdas/lake/partition-merge.ts';
import { readHeldRows } from '../../lambdas/lake/observation-file.ts';
import { gzipSync } from 'node:zlib';

interface Section {
  main: string;
  measure: string;
  complete: boolean;
  cells: Array<[region: string, value: number]>;
}

interface Upload {
  rank: string;
  sections: Section[];
}

function row(u: Upload, s: Section, region: string, value: number): StoredObservation {
  return {
    dataset: 'd',
    table_title: 'T',
    breakdown: 'B',
    main_group: s.main,
    measure_group: s.measure,
    region,
    region_code: null,
    period: '2019-01',
    value,
    suppressed: false,
    source_key: `k${u.rank}`,
    source_vintage: '2019-01',
    ingested_at: null,
    upload_rank: u.rank,
    section_rank: null,
  };
}

/** Rows as a merge takes them: in batches, here of up to three rows. */
async function* inBatches<T>(rows: readonly T[]): AsyncGenerator<T[]> {
  for (let i = 0; i < rows.length; i += 3) yield rows.slice(i, i + 3);
}

const sectionOf = (r: { main_group: string; measure_group: string }) => `${r.main_group}\u0000${r.measure_group}`;

/** Merges one upload into the rows held, as the partition store does. */
async function mergeOne(held: StoredObservation[], u: Upload): Promise<{ rows: StoredObservation[]; changed: boolean; written: number }> {
  const incoming = u.sections.flatMap((s) => s.cells.map(([region, value]) => row(u, s, region, value)));
  const complete = new Set(u.sections.filter((s) => s.complete).map((s) => `${s.main}\u0000${s.measure}`));
  const out: StoredObservation[] = [];
  const result = await mergePartition(
    {
      existing: held,
      incoming: inBatches(incoming),
      rank: u.rank,
      sections: new Set(u.sections.filter((s) => s.cells.length > 0).map((s) => `${s.main}\u0000${s.measure}`)),
      complete: (s) => complete.has(s),
    },
    (r, sectionRank) => out.push({ ...(r as StoredObservation), section_rank: sectionRank }),
  );
  return { rows: out, changed: result.changed, written: result.written };
}

async function mergeAll(uploads: readonly Upload[]): Promise<StoredObservation[]> {
  let held: StoredObservation[] = [];
  for (const u of uploads) held = (await mergeOne(held, u)).rows;
  return held;
}

/** The rules as a definition over the set of uploads. */
function oracle(uploads: readonly Upload[]): Array<[string, string, string]> {
  const floor = new Map<string, string>();
  for (const u of uploads) {
    for (const s of u.sections) {
      const key = `${s.main}\u0000${s.measure}`;
      if (s.complete && s.cells.length > 0 && (floor.get(key) ?? '') < u.rank) floor.set(key, u.rank);
    }
  }
  const best = new Map<string, [string, string, string]>();
  for (const u of uploads) {
    for (const s of u.sections) {
      const key = `${s.main}\u0000${s.measure}`;
      if (u.rank < (floor.get(key) ?? '')) continue;
      for (const [region, value] of s.cells) {
        const cell = `${key}\u0000${region}`;
        const prior = best.get(cell);
        if (!prior || prior[2].split('=')[0]! < u.rank) best.set(cell, [cell, String(value), `${u.rank}=${floor.get(key) ?? ''}`]);
      }
    }
  }
  return [...best.values()].sort();
}

function view(rows: readonly StoredObservation[]): Array<[string, string, string]> {
  return rows
    .map((r): [string, string, string] => [`${sectionOf(r)}\u0000${r.region}`, String(r.value), `${r.upload_rank}=${r.section_rank ?? ''}`])
    .sort();
}

const OPPL = { main: 'I alt', measure: 'Opplæring' };
const AVKL = { main: 'I alt', measure: 'Avklaring' };

describe('the replacement rules for one month', () => {
  it('a complete section replaces its section-month wholesale: a region it no longer lists is gone', async () => {
    const old: Upload = {
      rank: '1',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 10],
            ['Viken', 20],
            ['Ukjent', 3],
          ],
        },
      ],
    };
    const restated: Upload = {
      rank: '2',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 11],
            ['Viken', 21],
          ],
        },
      ],
    };

    const rows = await mergeAll([old, restated]);

    expect(rows.map((r) => [r.region, r.value]).sort()).toEqual([
      ['Oslo', 11],
      ['Viken', 21],
    ]);
  });

  it('a cut-off section replaces only the cells it has and deletes none', async () => {
    const full: Upload = {
      rank: '1',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 10],
            ['Viken', 20],
            ['Ukjent', 3],
          ],
        },
      ],
    };
    const cut: Upload = { rank: '2', sections: [{ ...OPPL, complete: false, cells: [['Oslo', 12]] }] };

    const rows = await mergeAll([full, cut]);

    expect(rows.map((r) => [r.region, r.value, r.upload_rank]).sort()).toEqual([
      ['Oslo', 12, '2'],
      ['Ukjent', 3, '1'],
      ['Viken', 20, '1'],
    ]);
  });

  it('an upload never touches a section it does not have', async () => {
    const both: Upload = {
      rank: '1',
      sections: [
        { ...OPPL, complete: true, cells: [['Oslo', 10]] },
        { ...AVKL, complete: true, cells: [['Oslo', 5]] },
      ],
    };
    const onlyOne: Upload = { rank: '2', sections: [{ ...OPPL, complete: true, cells: [['Oslo', 11]] }] };

    const rows = await mergeAll([both, onlyOne]);

    expect(rows.map((r) => [r.measure_group, r.value]).sort()).toEqual([
      ['Avklaring', 5],
      ['Opplæring', 11],
    ]);
  });

  it('an older upload changes nothing and says so', async () => {
    const newer: Upload = { rank: '2', sections: [{ ...OPPL, complete: true, cells: [['Oslo', 11]] }] };
    const older: Upload = {
      rank: '1',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 10],
            ['Viken', 20],
          ],
        },
      ],
    };
    const held = await mergeAll([newer]);

    const result = await mergeOne(held, older);

    expect(result).toMatchObject({ changed: false, written: 0 });
    expect(view(result.rows)).toEqual(view(held));
  });

  it('the same upload merged again changes nothing', async () => {
    const u: Upload = {
      rank: '1',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 10],
            ['Viken', 20],
          ],
        },
      ],
    };
    const held = await mergeAll([u]);

    const again = await mergeOne(held, u);

    expect(again).toMatchObject({ changed: false, written: 2 });
  });

  it('remembers a complete copy that newer cut-off cells have wholly overwritten, so an older complete copy stays out', async () => {
    // W (complete) is overwritten cell by cell by U (cut off, newer); W0 is older than both and lists Ukjent.
    const w0: Upload = {
      rank: '1',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 1],
            ['Viken', 1],
            ['Ukjent', 1],
          ],
        },
      ],
    };
    const w: Upload = {
      rank: '2',
      sections: [
        {
          ...OPPL,
          complete: true,
          cells: [
            ['Oslo', 2],
            ['Viken', 2],
          ],
        },
      ],
    };
    const u: Upload = {
      rank: '3',
      sections: [
        {
          ...OPPL,
          complete: false,
          cells: [
            ['Oslo', 3],
            ['Viken', 3],
          ],
        },
      ],
    };

    const rows = await mergeAll([w, u, w0]);

    expect(rows.map((r) => [r.region, r.value]).sort()).toEqual([
      ['Oslo', 3],
      ['Viken', 3],
    ]);
    expect(new Set(rows.map((r) => r.section_rank))).toEqual(new Set(['2']));
  });

  it('rows written before ranks existed keep their newer vintage against an older upload', async () => {
    const legacy = { ...row({ rank: 'x', sections: [] }, { ...OPPL, complete: true, cells: [] }, 'Oslo', 500), source_vintage: '2019-12' };
    const { upload_rank: _u, section_rank: _s, ...withoutRanks } = legacy;
    const held = readHeldRows(gzipSync(`${JSON.stringify(withoutRanks)}\n`));
    const out: StoredObservation[] = [];

    const result = await mergePartition(
      {
        existing: held,
        incoming: inBatches([row({ rank: '2019-03/2024', sections: [] }, { ...OPPL, complete: true, cells: [] }, 'Oslo', 1)]),
        rank: '2019-03/2024',
        sections: new Set([`${OPPL.main}\u0000${OPPL.measure}`]),
        complete: () => true,
      },
      (r) => out.push(JSON.parse((r as { line: string }).line) as StoredObservation),
    );

    expect(result).toMatchObject({ changed: false, written: 0 });
    expect(out.map((r) => r.value)).toEqual([500]);
  });

  it('gives the same rows for any set of uploads in any order (fast-check, against the set definition)', async () => {
    const regions = ['I alt', 'Oslo', 'Viken', 'Agder', 'Ukjent'];
    const sectionArb = fc.record({
      measure: fc.constantFrom('Opplæring', 'Avklaring', 'Arbeidstrening'),
      complete: fc.boolean(),
      cells: fc.subarray(regions).chain((rs) => fc.tuple(...rs.map((r) => fc.tuple(fc.constant(r), fc.integer({ min: 0, max: 999 }))))),
    });
    const uploadsArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 6 })
      .chain((ranks) =>
        fc.tuple(
          ...ranks.map((rank) =>
            fc
              .uniqueArray(sectionArb, { maxLength: 3, selector: (s) => s.measure })
              .map(
                (sections): Upload => ({ rank: String(rank).padStart(2, '0'), sections: sections.map((s) => ({ ...s, main: 'I alt' })) }),
              ),
          ),
        ),
      );

    await fc.assert(
      fc.asyncProperty(
        uploadsArb.chain((uploads) => fc.tuple(fc.constant(uploads), fc.shuffledSubarray(uploads, { minLength: uploads.length }))),
        async ([uploads, order]) => {
          const expected = oracle(uploads);
          expect(view(await mergeAll(uploads))).toEqual(expected);
          expect(view(await mergeAll(order))).toEqual(expected);
          // A redelivery anywhere changes nothing.
          expect(view(await mergeAll([...order, order[0]!]))).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
