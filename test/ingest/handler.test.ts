// The real ingest handler against a real embedded S3 server (s3rver on a free port, one per test): the seed export
// becomes one gzip NDJSON object per month, the raw object is never touched, and every processed upload is recorded.
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { OBSERVATIONS_TABLE, dataColumns } from '../../lambdas/schema/columns.ts';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { parseBytes } from '../../lambdas/parser/index.ts';
import {
  SEED_DATASET,
  SEED_PATH,
  deliverSqs,
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
const DATA_COLUMNS = dataColumns(OBSERVATIONS_TABLE).map((c) => c.name);

describe('the seed export through S3 -> SQS -> the handler', () => {
  it('becomes 12 monthly partitions holding its 7,430 rows', async () => {
    // Prepare
    const rig = await startIngestRig();
    const seed = await readFile(SEED_PATH);
    const perMonth = new Map<number, number>();
    for (const r of parseBytes(seed, { file: 'seed' }).records) perMonth.set(r.month, (perMonth.get(r.month) ?? 0) + 1);
    const upload = await putRaw(rig.s3.client, 'uploads/nav-tiltak-fylke-2019.txt', seed);

    // Act
    const response = await deliverSqs(rig, upload);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual(SEED_PARTITIONS);
    for (const month of SEED_MONTHS) {
      const rows = await partitionRows(rig.lakeDir, partitionKey(2019, month));
      expect(rows).toHaveLength(perMonth.get(month)!);
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

  it("records the vintage and upload order (event time, sequencer) in each partition's metadata", async () => {
    // Prepare
    const rig = await startIngestRig();
    const upload = await putRaw(rig.s3.client, 'uploads/nav tiltak æøå.txt', seedText());

    // Act
    await deliverSqs(rig, upload);

    // Assess
    const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: 'navlake-lake', Key: partitionKey(2019, 2) }));
    expect(head.Metadata).toEqual({
      'source-vintage': '2019-12',
      'source-key': encodeURIComponent(upload.key),
      'event-time': upload.eventTime,
      sequencer: upload.sequencer,
      records: '619',
    });
    expect(head.ContentType).toBe('application/gzip');
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
});
