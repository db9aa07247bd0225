// Duplicate, out-of-order, late and concurrent deliveries of uploads of one dataset, in random orders and subsets
// (fast-check): the lake always ends as a function of the SET of uploads made, never of the order they were processed
// in. The expected lake is an oracle written as a set definition over the uploads' parsed records, independent of
// the merge code: per section-month the newest complete copy sets the floor; per cell (a region of a section-month)
// the newest copy at or above the floor wins. "Newest" is the documented order: vintage (the last month any section
// of the export covers), then S3's event time, then its sequencer, then the sha256 of the key.
//
// Single cases (a newer vintage first, a same-vintage correction, a cut-off correction, 20 concurrent copies) are
// pinned in test/ingest/vintage.test.ts and test/ingest/duplicates.test.ts; this file tries many orders of a mix.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateExport } from '../../bench/generate-export.ts';
import { createIngestHandler } from '../../lambdas/ingest/handler.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../lambdas/ingest/ingest-upload.ts';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { parseBytes } from '../../lambdas/parser/index.ts';
import type { Ingestion } from '../../lambdas/schema/columns.ts';
import {
  exportText,
  expectedUploadRank,
  notificationMessage,
  type ObjectRef,
  partitionKey,
  putRaw,
  redelivered,
  s3Record,
  sqsEvent,
} from '../helpers/events.ts';
import { lakeState, type Row, sortedRows } from '../helpers/lake-state.ts';
import { startTestS3 } from '../helpers/local-s3.ts';

// ---- the uploads ------------------------------------------------------------------------------------------------

interface Upload {
  name: string;
  key: string;
  text: string;
}

/** Seven uploads of one dataset; which of them are made, and in which order, is up to each run. */
const POOL: Upload[] = [
  // Two sections ("I alt" Opplæring and Avklaringstiltak) each.
  { name: 'Q1', key: 'uploads/tiltak 2019.txt', text: generateExport({ seed: 21, years: [2019], sectionsPerYear: 2, lastYearMonths: 3 }) },
  {
    name: 'H1',
    key: 'uploads/tiltak januar-juni 2019.txt',
    text: generateExport({ seed: 22, years: [2019], sectionsPerYear: 2, lastYearMonths: 6 }),
  },
  { name: 'year', key: 'uploads/tiltak hele 2019.txt', text: generateExport({ seed: 23, years: [2019], sectionsPerYear: 2 }) },
  // A same-vintage correction of one section (Opplæring) in the last quarter, listing three regions: when it is the
  // newer, the other regions of that section-month are gone.
  {
    name: 'Q4 fix',
    key: 'uploads/rettelse Q4 2019.txt',
    text: exportText({
      year: 2019,
      firstMonth: 10,
      lastMonth: 12,
      rows: [
        ['Østfold', [110, 111, 112]],
        ['Oslo', [2210, 2211, 2212]],
        ['Ukjent', [7, 8, 9]],
      ],
    }),
  },
  // The whole year, its second section (Avklaringstiltak) cut off after three cells of January: that copy replaces
  // only those three cells and deletes none.
  {
    name: 'cut',
    key: 'uploads/tiltak 2019 avkuttet.txt',
    text: generateExport({ seed: 24, years: [2019], sectionsPerYear: 2, cutOffTail: true }),
  },
  // 2018 sections before 2019 sections, up to September 2019: vintage 2019-09, newer than H1 for January-June 2019.
  {
    name: '2018-2019',
    key: 'uploads/tiltak 2018-2019.txt',
    text: generateExport({ seed: 25, years: [2018, 2019], sectionsPerYear: 2, lastYearMonths: 9 }),
  },
  // The Q1 export uploaded again to the same key, byte for byte: a later event time and sequencer.
  { name: 'Q1 again', key: 'uploads/tiltak 2019.txt', text: '' },
];
POOL[6]!.text = POOL[0]!.text;
// Counterexamples name the uploads rather than print their text.
for (const u of POOL) Object.assign(u, { [fc.toStringMethod]: () => u.name });

interface Cell {
  partition: string;
  section: string;
  cell: string;
  /** Whether the upload's copy of the cell's section is complete (not cut off by the end of the file). */
  complete: boolean;
  /** The row as the lake stores it, without provenance, ranks and times. */
  row: Row;
}

interface Parsed {
  vintage: string;
  records: number;
  cutOff: string[];
  cells: Cell[];
}

function parseUpload(u: Upload): Parsed {
  const { records, summary } = parseBytes(Buffer.from(u.text, 'utf8'), { file: u.key, sourceKey: u.key, ingestedAt: null });
  const cutOff = summary.cutOffSections.map((s) => `${s.year} ${s.mainGroup} / ${s.measureGroup}`);
  const cells = records.map((r): Cell => {
    const { year, month, ingested_at: _i, upload_rank: _u, section_rank: _s, source_key: _k, source_vintage: _v, ...row } = r;
    const section = `${r.main_group} / ${r.measure_group}`;
    return {
      partition: partitionKey(year, month),
      section,
      cell: `${section} / ${r.region}`,
      complete: !cutOff.includes(`${year} ${section}`),
      row,
    };
  });
  return { vintage: summary.vintage ?? '', records: records.length, cutOff, cells };
}

const PARSED = new Map(POOL.map((u) => [u, parseUpload(u)]));

// ---- the oracle ---------------------------------------------------------------------------------------------------

interface Made {
  upload: Upload;
  ref: ObjectRef;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The documented "latest wins" order: > 0 when `a` is newer than `b`. */
function newer(a: Made, b: Made): number {
  const va = PARSED.get(a.upload)!.vintage;
  const vb = PARSED.get(b.upload)!.vintage;
  if (va !== vb) return va < vb ? -1 : 1;
  const ta = Date.parse(a.ref.eventTime);
  const tb = Date.parse(b.ref.eventTime);
  if (ta !== tb) return ta - tb;
  const sa = BigInt(`0x${a.ref.sequencer}`);
  const sb = BigInt(`0x${b.ref.sequencer}`);
  if (sa !== sb) return sa < sb ? -1 : 1;
  const ha = sha256(a.ref.key).slice(0, 12);
  const hb = sha256(b.ref.key).slice(0, 12);
  return ha === hb ? 0 : ha < hb ? -1 : 1;
}

function newest(made: Made[]): Made | undefined {
  return made.reduce<Made | undefined>((best, m) => (best === undefined || newer(m, best) > 0 ? m : best), undefined);
}

const rankOf = (m: Made) => expectedUploadRank(PARSED.get(m.upload)!.vintage, m.ref);

/**
 * The lake the set of uploads `made` defines: per (partition, section) the newest upload holding a complete copy sets
 * the floor; per cell the newest upload holding it, not older than the floor, wins. Also how many cells each holds.
 */
function expectedLake(made: Made[]): { observations: Record<string, Row[]>; held: Map<Made, number>; heldFromCutOff: number } {
  const cells = new Map<string, { partition: string; sectionId: string; copies: Array<{ m: Made; row: Row; complete: boolean }> }>();
  const complete = new Map<string, Set<Made>>();
  for (const m of made) {
    for (const c of PARSED.get(m.upload)!.cells) {
      const sectionId = `${c.partition}\u0000${c.section}`;
      const cellId = `${c.partition}\u0000${c.cell}`;
      const entry = cells.get(cellId) ?? { partition: c.partition, sectionId, copies: [] };
      entry.copies.push({ m, row: c.row, complete: c.complete });
      cells.set(cellId, entry);
      if (c.complete) complete.set(sectionId, (complete.get(sectionId) ?? new Set()).add(m));
    }
  }
  const observations: Record<string, Row[]> = {};
  const held = new Map<Made, number>(made.map((m) => [m, 0]));
  let heldFromCutOff = 0;
  for (const { partition, sectionId, copies } of cells.values()) {
    const floor = newest([...(complete.get(sectionId) ?? [])]);
    const winner = newest(copies.map((c) => c.m).filter((m) => floor === undefined || newer(m, floor) >= 0));
    if (!winner) continue;
    held.set(winner, (held.get(winner) ?? 0) + 1);
    const copy = copies.find((c) => c.m === winner)!;
    if (!copy.complete) heldFromCutOff++;
    const rows = observations[partition] ?? [];
    observations[partition] = rows;
    rows.push({
      ...copy.row,
      source_key: winner.ref.key,
      source_vintage: PARSED.get(winner.upload)!.vintage,
      upload_rank: rankOf(winner),
      section_rank: floor ? rankOf(floor) : null,
    });
  }
  const sorted = Object.keys(observations).sort();
  return { observations: Object.fromEntries(sorted.map((k) => [k, sortedRows(observations[k]!)])), held, heldFromCutOff };
}

// ---- one run ----------------------------------------------------------------------------------------------------

interface Scenario {
  /** The uploads made, in the order they were made. */
  uploads: Upload[];
  /** How many times each upload's notification is delivered (1-3). */
  copies: number[];
  /** The order of all deliveries (a permutation of their indexes). */
  order: number[];
  /** Deliveries run at once, in consecutive groups of these sizes (the last group takes the rest). */
  groups: number[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    uploads: fc.shuffledSubarray(POOL, { minLength: 2, maxLength: 5 }),
    copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 5, maxLength: 5 }),
  })
  .chain(({ uploads, copies }) => {
    const total = uploads.reduce((n, _, i) => n + (copies[i] ?? 1), 0);
    const indexes = Array.from({ length: total }, (_, i) => i);
    return fc.record({
      uploads: fc.constant(uploads),
      copies: fc.constant(copies.slice(0, uploads.length)),
      order: fc.shuffledSubarray(indexes, { minLength: total, maxLength: total }),
      groups: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: total }),
    });
  });

const byName = (name: string) => POOL.find((u) => u.name === name)!;

/** Scenarios run on every test run besides the random ones: the contests the pool is there for. */
const EXAMPLES: Scenario[] = [
  // The cut-off upload after the complete year, and before it; the correction after the year.
  { uploads: ['year', 'cut', 'Q4 fix'].map(byName), copies: [1, 2, 1], order: [3, 2, 1, 0], groups: [2, 2] },
  { uploads: ['cut', 'year', 'Q4 fix'].map(byName), copies: [2, 1, 1], order: [0, 1, 2, 3], groups: [1, 1, 1, 1] },
  // The multi-year export made before an older revision of January-June 2019, delivered in both orders.
  { uploads: ['2018-2019', 'H1'].map(byName), copies: [1, 1], order: [1, 0], groups: [1, 1] },
  { uploads: ['2018-2019', 'H1', 'Q1', 'Q1 again'].map(byName), copies: [1, 2, 1, 3], order: [6, 5, 4, 3, 2, 1, 0], groups: [3, 3, 1] },
];

const stats = { runs: 0, deliveries: 0, concurrentGroups: 0, withCutOff: 0, cutOffCellsHeld: 0, correctionWon: 0 };

async function run(s: Scenario): Promise<void> {
  // Prepare: a fresh lake; the uploads made in order, each notification ready to be delivered
  const s3 = await startTestS3({ cleanup: 'manual' });
  try {
    const handler = createIngestHandler({
      s3: s3.client,
      lakeBucket: LOCAL_LAKE_BUCKET,
      maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      lock: createKeyLock(),
    });
    const made: Made[] = [];
    for (const upload of s.uploads) made.push({ upload, ref: await putRaw(s3.client, upload.key, upload.text) });
    const deliveries = made.flatMap((m, i) => {
      const first = notificationMessage(s3Record(m.ref));
      // A copy is either SQS redelivering the message or S3 sending the notification twice.
      return Array.from({ length: s.copies[i] ?? 1 }, (_, c) =>
        c === 0 ? first : c % 2 === 1 ? redelivered(first) : notificationMessage(s3Record(m.ref)),
      );
    });

    // Act
    const queue = s.order.map((i) => deliveries[i]!);
    for (let g = 0; queue.length > 0; g++) {
      const group = queue.splice(0, g < s.groups.length ? s.groups[g]! : queue.length);
      const responses = await Promise.all(group.map((m) => handler(sqsEvent(m))));
      for (const r of responses) expect(r).toEqual({ batchItemFailures: [] });
      stats.deliveries += group.length;
      if (group.length > 1) stats.concurrentGroups++;
    }

    // Assess: the lake is the one the set of uploads defines
    const expected = expectedLake(made);
    const state = await lakeState(s3);
    expect(state.observations).toEqual(expected.observations);
    expect(state.rejected).toEqual({});
    // One ingestion record per upload however often it was delivered; an upload holding cells in the end was
    // accepted, and each processing of it counted at least the cells it holds in the end.
    const ingestions = Object.values(state.ingestions) as unknown as Ingestion[];
    expect(ingestions.map((i) => `${i.source_key} ${i.source_sequencer}`).sort()).toEqual(
      made.map((m) => `${m.ref.key} ${m.ref.sequencer}`).sort(),
    );
    for (const m of made) {
      const record = ingestions.find((r) => r.source_sequencer === m.ref.sequencer)!;
      const parsed = PARSED.get(m.upload)!;
      const held = expected.held.get(m) ?? 0;
      expect(record, m.upload.name).toMatchObject({ source_vintage: parsed.vintage, records: parsed.records });
      expect(record.records_written, m.upload.name).toBeGreaterThanOrEqual(held);
      expect(record.records_written, m.upload.name).toBeLessThanOrEqual(parsed.records);
      if (held > 0) expect(record.status, m.upload.name).toBe('accepted');
      else expect(['accepted', 'superseded'], m.upload.name).toContain(record.status);
    }
    if (made.some((m) => m.upload.name === 'cut')) stats.withCutOff++;
    stats.cutOffCellsHeld += expected.heldFromCutOff;
    const fix = made.find((m) => m.upload.name === 'Q4 fix');
    if (fix && (expected.held.get(fix) ?? 0) > 0) stats.correctionWon++;
    stats.runs++;
  } finally {
    await s3.cleanup();
  }
}

describe('deliveries of several uploads in any order, duplicated, late or at once', () => {
  it('the pool holds what the runs need: vintages, a cut-off section, a multi-year export', () => {
    expect(POOL.map((u) => [u.name, PARSED.get(u)!.vintage])).toEqual([
      ['Q1', '2019-03'],
      ['H1', '2019-06'],
      ['year', '2019-12'],
      ['Q4 fix', '2019-12'],
      ['cut', '2019-12'],
      ['2018-2019', '2019-09'],
      ['Q1 again', '2019-03'],
    ]);
    expect(POOL.map((u) => [u.name, PARSED.get(u)!.cutOff])).toEqual([
      ['Q1', []],
      ['H1', []],
      ['year', []],
      ['Q4 fix', []],
      ['cut', ['2019 I alt / Avklaringstiltak']],
      ['2018-2019', []],
      ['Q1 again', []],
    ]);
    // The cut-off section brings three cells of January (generateExport's cut-off tail), the correction four per month.
    const cut = PARSED.get(byName('cut'))!.cells.filter((c) => !c.complete);
    expect(cut.map((c) => [c.partition, c.cell])).toEqual(
      ['I alt', 'Østfold', 'Akershus'].map((region) => [partitionKey(2019, 1), `I alt / Avklaringstiltak / ${region}`]),
    );
    expect(PARSED.get(byName('Q4 fix'))!.records).toBe(12);
  });

  it('converge on the lake the set of uploads defines, whatever the order', async () => {
    await fc.assert(fc.asyncProperty(scenario, run), { numRuns: 25, examples: EXAMPLES.map((e) => [e]) });

    console.log(
      `convergence: ${stats.runs} orders tried (${stats.deliveries} deliveries, ${stats.concurrentGroups} concurrent groups; ` +
        `${stats.withCutOff} with the cut-off upload, whose cut-off section held ${stats.cutOffCellsHeld} cells in all; the correction won in ${stats.correctionWon}), every lake converged`,
    );
    expect(stats.runs).toBeGreaterThanOrEqual(25);
    expect(stats.cutOffCellsHeld).toBeGreaterThan(0);
    expect(stats.correctionWon).toBeGreaterThan(0);
  }, 240_000);
});
