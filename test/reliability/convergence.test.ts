// Duplicate, out-of-order, late and concurrent deliveries of uploads of one dataset, in random orders (fast-check):
// the lake always converges to "per month, the newest vintage covering it, and among equal vintages the later
// upload". The expected lake is worked out month by month from the uploads' parsed records, not by the handler.
//
// Single cases (a newer vintage first, a same-vintage correction, 20 concurrent copies) are pinned in
// test/ingest/vintage.test.ts and test/ingest/duplicates.test.ts; this file tries many orders of a mix of them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateExport } from '../../bench/generate-export.ts';
import { createIngestHandler } from '../../lambdas/ingest/handler.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../lambdas/ingest/ingest-upload.ts';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { observationLine } from '../../lambdas/lake/observation-file.ts';
import type { UploadOrder } from '../../lambdas/lake/upload-order.ts';
import { parseBytes } from '../../lambdas/parser/index.ts';
import type { Ingestion } from '../../lambdas/schema/columns.ts';
import {
  exportText,
  notificationMessage,
  partitionKey,
  putRaw,
  redelivered,
  s3Record,
  sqsEvent,
  type ObjectRef,
} from '../helpers/events.ts';
import { lakeState, withoutTimes, type Row } from '../helpers/lake-state.ts';
import { startTestS3 } from '../helpers/local-s3.ts';

// ---- the uploads ------------------------------------------------------------------------------------------------

interface Upload {
  name: string;
  key: string;
  text: string;
}

/** Five uploads of one dataset; which of them are made, and in which order, is up to each run. */
const POOL: Upload[] = [
  { name: 'Q1', key: 'uploads/tiltak 2019.txt', text: generateExport({ seed: 21, years: [2019], sectionsPerYear: 2, lastYearMonths: 3 }) },
  {
    name: 'H1',
    key: 'uploads/tiltak januar-juni 2019.txt',
    text: generateExport({ seed: 22, years: [2019], sectionsPerYear: 2, lastYearMonths: 6 }),
  },
  { name: 'year', key: 'uploads/tiltak hele 2019.txt', text: generateExport({ seed: 23, years: [2019], sectionsPerYear: 2 }) },
  // A same-vintage correction of the last quarter only.
  { name: 'Q4 fix', key: 'uploads/rettelse Q4 2019.txt', text: exportText({ year: 2019, firstMonth: 10, lastMonth: 12 }) },
  // The Q1 export uploaded again to the same key, byte for byte: only the S3 sequencer tells the two apart.
  { name: 'Q1 again', key: 'uploads/tiltak 2019.txt', text: '' },
];
POOL[4]!.text = POOL[0]!.text;
// Counterexamples name the uploads rather than print their text.
for (const u of POOL) Object.assign(u, { [fc.toStringMethod]: () => u.name });

interface Parsed {
  vintage: string;
  records: number;
  /** Stored rows by partition key, as the lake holds them (without `ingested_at`). */
  months: Map<string, Row[]>;
}

function parseUpload(u: Upload): Parsed {
  const { records, summary } = parseBytes(Buffer.from(u.text, 'utf8'), { file: u.key, sourceKey: u.key, ingestedAt: null });
  const months = new Map<string, Row[]>();
  for (const r of records) {
    const key = partitionKey(r.year, r.month);
    const rows = months.get(key) ?? [];
    rows.push(withoutTimes(JSON.parse(observationLine(r)) as Row));
    months.set(key, rows);
  }
  return { vintage: summary.vintage ?? '', records: records.length, months };
}

const PARSED = new Map(POOL.map((u) => [u, parseUpload(u)]));

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
    uploads: fc.shuffledSubarray(POOL, { minLength: 2, maxLength: 4 }),
    copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
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

const stats = { runs: 0, deliveries: 0, concurrentGroups: 0 };

/** Upload order: a later index is a later upload (later event time, higher sequencer). */
function orderOf(ref: ObjectRef & { sequencer: string; eventTime: string }, vintage: string): UploadOrder {
  return { vintage, sourceKey: ref.key, eventTime: ref.eventTime, sequencer: ref.sequencer };
}

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
    const refs: Array<Awaited<ReturnType<typeof putRaw>>> = [];
    for (const u of s.uploads) refs.push(await putRaw(s3.client, u.key, u.text));
    const deliveries = s.uploads.flatMap((_, i) => {
      const first = notificationMessage(s3Record(refs[i]!));
      // A copy is either SQS redelivering the message or S3 sending the notification twice.
      return Array.from({ length: s.copies[i] ?? 1 }, (_, c) =>
        c === 0 ? first : c % 2 === 1 ? redelivered(first) : notificationMessage(s3Record(refs[i]!)),
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

    // Assess: per month, the newest vintage covering it; for equal vintages the later upload
    const expected: Record<string, { holder: UploadOrder; records: string; rows: Row[] }> = {};
    const winners = new Set<number>();
    const months = new Set(s.uploads.flatMap((u) => [...PARSED.get(u)!.months.keys()]));
    for (const month of months) {
      let best = -1;
      s.uploads.forEach((u, i) => {
        if (!PARSED.get(u)!.months.has(month)) return;
        if (best < 0 || PARSED.get(u)!.vintage >= PARSED.get(s.uploads[best]!)!.vintage) best = i;
      });
      const winner = PARSED.get(s.uploads[best]!)!;
      const rows = winner.months.get(month)!;
      expected[month] = { holder: orderOf(refs[best]!, winner.vintage), records: String(rows.length), rows };
      winners.add(best);
    }
    const state = await lakeState(s3);
    expect(state.observations).toEqual(expected);
    expect(state.rejected).toEqual({});
    // One ingestion record per upload however often it was delivered; the uploads holding a month were accepted.
    const ingestions = Object.values(state.ingestions) as unknown as Ingestion[];
    expect(ingestions.map((i) => `${i.source_key} ${i.source_sequencer}`).sort()).toEqual(
      refs.map((r) => `${r.key} ${r.sequencer}`).sort(),
    );
    refs.forEach((ref, i) => {
      const record = ingestions.find((r) => r.source_sequencer === ref.sequencer)!;
      const parsed = PARSED.get(s.uploads[i]!)!;
      expect(record).toMatchObject({ source_vintage: parsed.vintage, records: parsed.records });
      expect(winners.has(i) ? ['accepted'] : ['accepted', 'superseded']).toContain(record.status);
    });
    stats.runs++;
  } finally {
    await s3.cleanup();
  }
}

describe('deliveries of several vintages in any order, duplicated, late or at once', () => {
  it('converge on the latest vintage per month, and the later upload among equals', async () => {
    // The pool itself: three vintages, two uploads sharing one, and a same-key re-upload.
    expect(POOL.map((u) => PARSED.get(u)!.vintage)).toEqual(['2019-03', '2019-06', '2019-12', '2019-12', '2019-03']);

    await fc.assert(fc.asyncProperty(scenario, run), { numRuns: 25 });

    console.log(
      `convergence: ${stats.runs} random orders tried (${stats.deliveries} deliveries, ${stats.concurrentGroups} concurrent groups), every lake converged`,
    );
    expect(stats.runs).toBe(25);
  }, 120_000);
});
