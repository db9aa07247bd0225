// Uploads processed more than once, or many at a time, against a real embedded S3 server: the same export uploaded
// again, duplicate SQS deliveries and twenty concurrent uploads all leave one copy of each row; merging an upload the
// lake already holds changes nothing and writes nothing.
import { describe, expect, it } from 'vitest';
import {
  SEED_DATASET,
  deliverSqs,
  exportText,
  expectedUploadRank,
  ingestionRecords,
  lakeKeys,
  notificationMessage,
  partitionHolders,
  partitionKey,
  putRaw,
  queryLake,
  redelivered,
  s3Event,
  s3Record,
  seedText,
  sqsEvent,
  startIngestRig,
} from '../helpers/events.ts';

const SEED_MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);
const SEED_PARTITIONS = SEED_MONTHS.map((m) => partitionKey(2019, m));

describe('duplicates', () => {
  it('the same export uploaded twice (same key, then another key) leaves one copy, held by the last upload', async () => {
    // Prepare
    const rig = await startIngestRig();
    const first = await putRaw(rig.s3.client, 'uploads/seed.txt', seedText());
    await deliverSqs(rig, first);
    const again = await putRaw(rig.s3.client, 'uploads/seed.txt', seedText());
    const elsewhere = await putRaw(rig.s3.client, 'uploads/copy of seed.txt', seedText());

    // Act
    const responses = [await deliverSqs(rig, again), await deliverSqs(rig, elsewhere)];

    // Assess
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual(SEED_PARTITIONS);
    expect(await queryLake(rig, 'SELECT count(*) AS n, count(DISTINCT source_key) AS keys FROM observations')).toEqual([
      { n: 7430, keys: 1 },
    ]);
    expect(await partitionHolders(rig)).toEqual(new Set([elsewhere.key]));
    // Three uploads, three ingestion records, each writing every month.
    const records = await ingestionRecords(rig);
    expect(records.map((i) => [i.source_sequencer, i.status, i.records_written]).sort()).toEqual(
      [first, again, elsewhere].map((u) => [u.sequencer, 'accepted', 7430]).sort(),
    );
  });

  it('a duplicate SQS delivery leaves no duplicate rows and overwrites its own ingestion record', async () => {
    // Prepare
    let now = new Date('2024-05-01T12:00:00.000Z');
    const rig = await startIngestRig({ now: () => now });
    const upload = await putRaw(rig.s3.client, 'uploads/seed.txt', seedText());
    const message = notificationMessage(s3Record(upload));
    // S3 may also send the same notification twice, as two messages.
    const twin = notificationMessage(s3Record(upload));

    // Act
    const first = await rig.handler(sqsEvent(message, twin));
    const firstRecords = await lakeKeys(rig.lakeDir, 'ingestions/');
    now = new Date('2024-05-01T12:05:00.000Z');
    const second = await rig.handler(sqsEvent(redelivered(message)));
    const third = await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect([first, second]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(third.outcomes).toHaveLength(1);
    expect(await queryLake(rig, 'SELECT count(*) AS n FROM observations')).toEqual([{ n: 7430 }]);
    expect(firstRecords).toHaveLength(1);
    expect(await lakeKeys(rig.lakeDir, 'ingestions/')).toEqual(firstRecords);
    expect(firstRecords[0]).toMatch(new RegExp(`^ingestions/${SEED_DATASET}/`));
    const [record] = await ingestionRecords(rig);
    expect(record).toMatchObject({ status: 'accepted', ingested_at: '2024-05-01T12:05:00.000Z', records_written: 7430 });
    // Only the first processing wrote the twelve months; the twin and both redeliveries found them already there.
    const monthWrites = rig.requests.filter((r) => r.command === 'PutObjectCommand' && String(r.input.Key).startsWith('observations/'));
    expect(monthWrites.map((r) => r.input.Key).sort()).toEqual(SEED_PARTITIONS);
    expect(await queryLake(rig, 'SELECT count(*) AS n, count(DISTINCT ingestion_id) AS ids FROM ingestions')).toEqual([{ n: 1, ids: 1 }]);
  });

  it('twenty concurrent uploads of one export leave one copy, held by the latest upload', async () => {
    // Prepare
    const rig = await startIngestRig();
    const text = seedText();
    const uploads = await Promise.all(
      Array.from({ length: 20 }, (_, i) => putRaw(rig.s3.client, `uploads/copy ${String(i).padStart(2, '0')}.txt`, text)),
    );
    const latest = uploads.reduce((a, b) => (b.eventTime > a.eventTime ? b : a));

    // Act: twenty invocations at once, as twenty Lambdas would run
    const responses = await Promise.all([...uploads].reverse().map((u) => deliverSqs(rig, u)));

    // Assess
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual(SEED_PARTITIONS);
    expect(await queryLake(rig, 'SELECT count(*) AS n FROM observations')).toEqual([{ n: 7430 }]);
    expect(await partitionHolders(rig)).toEqual(new Set([latest.key]));
    expect(await queryLake(rig, 'SELECT DISTINCT upload_rank FROM observations')).toEqual([
      { upload_rank: expectedUploadRank('2019-12', latest) },
    ]);
    const records = await ingestionRecords(rig);
    expect(records).toHaveLength(20);
    expect(records.find((i) => i.source_key === latest.key)).toMatchObject({ status: 'accepted', records_written: 7430 });
    for (const i of records) expect(['accepted', 'superseded']).toContain(i.status);
  });

  it('twenty concurrent deliveries of one upload leave one copy and one ingestion record', async () => {
    // Prepare
    const rig = await startIngestRig();
    const upload = await putRaw(rig.s3.client, 'uploads/q1.txt', exportText({ year: 2019, firstMonth: 1, lastMonth: 3 }));
    const message = notificationMessage(s3Record(upload));

    // Act
    const responses = await Promise.all(Array.from({ length: 20 }, () => rig.handler(sqsEvent(redelivered(message)))));

    // Assess
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(await queryLake(rig, 'SELECT month, count(*) AS n FROM observations GROUP BY month ORDER BY month')).toEqual([
      { month: 1, n: 4 },
      { month: 2, n: 4 },
      { month: 3, n: 4 },
    ]);
    expect(await lakeKeys(rig.lakeDir, 'ingestions/')).toHaveLength(1);
    // Each month written once: every later delivery found the upload's rows already in the lake.
    const monthWrites = rig.requests.filter((r) => r.command === 'PutObjectCommand' && String(r.input.Key).startsWith('observations/'));
    expect(monthWrites.map((r) => r.input.Key).sort()).toEqual([1, 2, 3].map((m) => partitionKey(2019, m)));
  });
});
