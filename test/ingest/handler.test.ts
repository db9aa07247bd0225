// The real ingest handler against a real embedded S3 server (s3rver on a free port, one per test): the seed export
// becomes one gzip NDJSON object per month, the raw object is never touched, and every processed upload is recorded.
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { parseBytes } from '../../lambdas/parser/index.ts';
import {
  SEED_DATASET,
  SEED_PATH,
  deliverSqs,
  exportSectionsText,
  lakeKeys,
  partitionKey,
  partitionRows,
  partitionText,
  putRaw,
  queryLake,
  s3Event,
  s3Record,
  seedText,
  seedUpTo,
  startIngestRig,
} from '../helpers/events.ts';

const SEED_MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);
const SEED_PARTITIONS = SEED_MONTHS.map((m) => partitionKey(2019, m));
/** The observations table's data columns in the order the README's schema lists them (year and month live in the path). */
const DATA_COLUMNS = [
  'dataset',
  'table_title',
  'breakdown',
  'main_group',
  'measure_group',
  'region',
  'region_code',
  'period',
  'value',
  'suppressed',
  'source_key',
  'source_vintage',
  'ingested_at',
  'upload_rank',
  'section_rank',
];
/**
 * Counted in the fixture's text (awk over its tab-separated rows): 31 sections with 619 region rows ("I alt" rows
 * included) of twelve months each, 7,428 values of which 1,184 are `*`; then a last section ("Andre på tiltak,
 * jobbskaping og egenetablering") cut off after January in the one-cell-per-line layout, with two values, both `*`
 * ("I alt" and Østfold). So 7,430 values, 1,186 suppressed: 621 in January, 619 in every other month.
 */
const SEED_ROWS_PER_MONTH = [621, 619, 619, 619, 619, 619, 619, 619, 619, 619, 619, 619];

describe('the seed export through S3 -> SQS -> the handler', () => {
  it('becomes 12 monthly partitions holding its 7,430 rows', async () => {
    // Prepare
    const rig = await startIngestRig();
    const seed = await readFile(SEED_PATH);
    const upload = await putRaw(rig.s3.client, 'uploads/nav-tiltak-fylke-2019.txt', seed);

    // Act
    const response = await deliverSqs(rig, upload);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual(SEED_PARTITIONS);
    for (const month of SEED_MONTHS) {
      const rows = await partitionRows(rig.lakeDir, partitionKey(2019, month));
      expect(rows).toHaveLength(SEED_ROWS_PER_MONTH[month - 1]!);
      for (const row of rows) {
        expect(Object.keys(row)).toEqual(DATA_COLUMNS);
        expect(row).toMatchObject({
          dataset: SEED_DATASET,
          period: `2019-${String(month).padStart(2, '0')}`,
          source_key: upload.key,
          source_vintage: '2019-12',
        });
      }
    }
    expect(
      await queryLake(
        rig,
        'SELECT count(*) AS n, count(*) FILTER (suppressed) AS suppressed, count(DISTINCT month) AS months FROM observations',
      ),
    ).toEqual([{ n: 7430, suppressed: 1186, months: 12 }]);
    expect(
      await queryLake(
        rig,
        "SELECT value FROM observations WHERE month = 1 AND region = 'Østfold' AND measure_group = 'Opplæring' AND main_group = 'I alt'",
      ),
    ).toEqual([{ value: 858 }]);
  });

  it('stamps every row with the upload_rank of its upload (vintage, event time, sequencer, key hash) and its section_rank', async () => {
    // Prepare: an upload whose event time and sequencer are fixed, so that its rank can be written out by hand
    const rig = await startIngestRig();
    const upload = {
      ...(await putRaw(rig.s3.client, 'uploads/nav tiltak æøå.txt', seedText())),
      eventTime: '2024-03-01T10:00:15.000Z',
      sequencer: '0055AED6DCD90281E5',
    };
    // Vintage 2019-12 (the seed's period ends in December), the event time as S3 gave it, the 18-digit sequencer
    // left-padded with zeros to 32, then the first 12 hex digits of `printf '%s' 'uploads/nav tiltak æøå.txt' | sha256sum`
    // (d00233e5f993cfc2...).
    const rank = '2019-12/2024-03-01T10:00:15.000Z/000000000000000055AED6DCD90281E5/d00233e5f993';

    // Act
    await deliverSqs(rig, upload);

    // Assess: every complete section's rows carry the rank twice (the upload is its section's newest complete copy)
    for (const month of SEED_MONTHS) {
      const rows = await partitionRows(rig.lakeDir, partitionKey(2019, month));
      expect(new Set(rows.map((r) => r.upload_rank))).toEqual(new Set([rank]));
      const cutOff = rows.filter((r) => r.main_group === 'Andre' && r.measure_group === 'Jobbskaping og egenetablering');
      const complete = rows.filter((r) => !cutOff.includes(r));
      expect(complete).toHaveLength(619);
      expect(new Set(complete.map((r) => r.section_rank))).toEqual(new Set([rank]));
      // The last section is cut off after January's "I alt" and Østfold: a cut-off copy sets no section_rank.
      expect(cutOff.map((r) => [r.region, r.value, r.suppressed, r.section_rank])).toEqual(
        month === 1
          ? [
              ['I alt', null, true, null],
              ['Østfold', null, true, null],
            ]
          : [],
      );
    }
    // Which upload holds a month is in its rows only: the partition object carries no user metadata.
    const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: partitionKey(2019, 2) }));
    expect(head.Metadata ?? {}).toEqual({});
    expect(head.ContentType).toBe('application/gzip');
    expect(
      await queryLake(rig, 'SELECT upload_rank, count(*) AS n, count(section_rank) AS complete FROM observations GROUP BY ALL'),
    ).toEqual([{ upload_rank: rank, n: 7430, complete: 7428 }]);
  });

  it('never changes or deletes the raw object, whether it is accepted or rejected', async () => {
    // Prepare
    const rig = await startIngestRig();
    const good = await putRaw(rig.s3.client, 'uploads/good.txt', seedText());
    const bad = await putRaw(rig.s3.client, 'uploads/bad.txt', seedText().replace('Østfold\t858\t', 'Østfold\t8x8\t'));
    const read = async (key: string) => {
      const o = await rig.s3.client.send(new GetObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key }));
      return { eTag: o.ETag, bytes: Buffer.from(await o.Body!.transformToByteArray()) };
    };
    const before = [await read(good.key), await read(bad.key)];

    // Act
    await deliverSqs(rig, good, bad);
    await deliverSqs(rig, good, bad);

    // Assess
    expect([await read(good.key), await read(bad.key)]).toEqual(before);
    const toRaw = rig.requests.filter((r) => r.input.Bucket === LOCAL_RAW_BUCKET).map((r) => r.command);
    expect(new Set(toRaw)).toEqual(new Set(['GetObjectCommand']));
    expect(await lakeKeys(rig.lakeDir, 'rejected/')).toEqual(['rejected/uploads/bad.txt.json']);
  });

  it('writes the same rows for the same input: byte-identical decompressed partitions', async () => {
    // Prepare: two independent lakes, the same upload at the same (fixed) processing time
    const now = () => new Date('2024-05-01T12:00:00.000Z');
    const lakes = [await startIngestRig({ now }), await startIngestRig({ now })];
    const upload = await putRaw(lakes[0]!.s3.client, 'uploads/seed.txt', seedText());
    await putRaw(lakes[1]!.s3.client, 'uploads/seed.txt', seedText());

    // Act
    for (const rig of lakes) await deliverSqs(rig, upload);

    // Assess
    for (const key of SEED_PARTITIONS) {
      const [a, b] = await Promise.all(lakes.map((rig) => partitionText(rig.lakeDir, key)));
      expect(a).toBe(b);
      expect(a).toContain('"ingested_at":"2024-05-01T12:00:00.000Z"');
    }
  });

  it('accepts plain S3 events too and returns the outcome of each upload', async () => {
    // Prepare
    const rig = await startIngestRig();
    const upload = await putRaw(rig.s3.client, 'uploads/direct.txt', seedText());

    // Act
    const result = await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect(result.outcomes).toEqual([
      expect.objectContaining({
        status: 'accepted',
        ingestion: expect.objectContaining({ source_key: upload.key, records: 7430, records_written: 7430, source_vintage: '2019-12' }),
      }),
    ]);
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual(SEED_PARTITIONS);
  });
});

describe('ingestion records', () => {
  it('every processed upload writes one record under ingestions/<dataset>/, shown by the ingestions view next to observations', async () => {
    // Prepare
    const rig = await startIngestRig();
    const seed = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());
    const older = await putRaw(rig.s3.client, 'uploads/2019 mars.txt', seedUpTo(3));
    const empty = await putRaw(rig.s3.client, 'uploads/empty.txt', '');

    // Act
    const response = await deliverSqs(rig, seed, older, empty);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const keys = await lakeKeys(rig.lakeDir, 'ingestions/');
    expect(keys).toHaveLength(3);
    expect(keys.filter((k) => k.startsWith(`ingestions/${SEED_DATASET}/`))).toHaveLength(2);
    expect(
      await queryLake(
        rig,
        `SELECT i.source_key, i.status, i.records, i.records_written, i.error_code, count(o.region) AS rows_in_lake
         FROM ingestions i LEFT JOIN observations o USING (source_key) GROUP BY ALL ORDER BY i.status`,
      ),
    ).toEqual([
      { source_key: seed.key, status: 'accepted', records: 7430, records_written: 7430, error_code: null, rows_in_lake: 7430 },
      { source_key: empty.key, status: 'rejected', records: 0, records_written: 0, error_code: 'EMPTY_FILE', rows_in_lake: 0 },
      { source_key: older.key, status: 'superseded', records: 1857, records_written: 0, error_code: null, rows_in_lake: 0 },
    ]);
    expect(
      await queryLake(
        rig,
        `SELECT source_sequencer, event_time, len(partitions) AS months FROM ingestions WHERE source_key = '${seed.key}'`,
      ),
    ).toEqual([{ source_sequencer: seed.sequencer, event_time: seed.eventTime, months: 12 }]);
  });

  it('says when it stores values no query reads: years outside the partition projection (2015-2035 by default)', async () => {
    // Prepare
    const rig = await startIngestRig();
    const text = exportSectionsText([
      { year: 2014, firstMonth: 11, lastMonth: 12 },
      { year: 2019, firstMonth: 1, lastMonth: 2 },
    ]);
    const all = parseBytes(Buffer.from(text), { file: 'x.txt' }).records;
    const early = all.filter((r) => r.year === 2014).length;
    const upload = await putRaw(rig.s3.client, 'uploads/2014-2019.txt', text);

    // Act
    await deliverSqs(rig, upload);

    // Assess
    const [record] = await queryLake(rig, `SELECT records_written, warnings FROM ingestions`);
    expect(record?.records_written).toBe(all.length);
    // (The helper's small export also reads as cut off: its last section lists few counties.)
    expect(record?.warnings).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^OUTSIDE_PROJECTION: line 0: ${early} values of 2014-11 to 2014-12 are stored but not read by queries, which read the years 2015-2035`,
        ),
      ),
    );
    expect(await lakeKeys(rig.lakeDir, 'observations/year=2014/')).toHaveLength(2);
    expect(await queryLake(rig, 'SELECT DISTINCT year FROM observations')).toEqual([{ year: 2019 }]);
  });
});
