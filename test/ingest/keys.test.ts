// Keys as people name files: spaces, `+`, æøå and `%`. S3 notifications carry them form-encoded (`+` for a space,
// %XX for the rest); the handler must read the right object and name it correctly everywhere it writes.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { s3EventKeyEncode } from '../../cli/local-s3.ts';
import type { RejectionReport } from '../../lambdas/ingest/ingest-upload.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import type { Ingestion } from '../../lambdas/schema/columns.ts';
import {
  exportText,
  lakeKeys,
  notificationMessage,
  partitionKey,
  partitionRows,
  putRaw,
  readLakeJson,
  s3Record,
  sqsEvent,
  startIngestRig,
} from '../helpers/events.ts';

const KEYS = [
  'uploads/NAV tiltak fylke 2019.txt',
  'uploads/tiltak+fylke+2019.txt',
  'uploads/Østfold og Trøndelag/tiltak æøå ÆØÅ.txt',
  'uploads/100% sikkert (kopi) #1 & co=2.txt',
  'a b+c/æøå%.txt',
  'uploads/looks%20encoded%2B already+.txt',
];

describe('upload keys', () => {
  it.each(KEYS)('%j is read, recorded and reported under its own name', async (key) => {
    // Prepare
    const rig = await startIngestRig();
    const good = await putRaw(rig.s3.client, key, exportText({ year: 2019, firstMonth: 6, lastMonth: 6 }));
    const goodMessage = notificationMessage(s3Record(good));
    const accepted = await rig.handler(sqsEvent(goodMessage));
    const bad = await putRaw(rig.s3.client, key, 'not a NAV export\tat all\n');

    // Act
    const rejected = await rig.handler(sqsEvent(notificationMessage(s3Record(bad))));

    // Assess
    expect([accepted, rejected]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    // The event carried the key form-encoded, and the handler fetched the object by its real name.
    expect(JSON.parse(goodMessage.body).Records[0].s3.object.key).toBe(s3EventKeyEncode(key));
    expect(rig.requests.filter((r) => r.command === 'GetObjectCommand').map((r) => r.input.Key)).toEqual([key, key]);
    const rows = await partitionRows(rig.lakeDir, partitionKey(2019, 6));
    expect(new Set(rows.map((r) => r.source_key))).toEqual(new Set([key]));
    const head = await rig.s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: partitionKey(2019, 6) }));
    expect(decodeURIComponent(head.Metadata?.['source-key'] ?? '')).toBe(key);
    const records = await Promise.all((await lakeKeys(rig.lakeDir, 'ingestions/')).map((k) => readLakeJson<Ingestion>(rig.lakeDir, k)));
    expect(records.map((i) => [i.source_key, i.status]).sort()).toEqual([
      [key, 'accepted'],
      [key, 'rejected'],
    ]);
    expect(await lakeKeys(rig.lakeDir, 'rejected/')).toEqual([`rejected/${key}.json`]);
    expect(await readLakeJson<RejectionReport>(rig.lakeDir, `rejected/${key}.json`)).toMatchObject({
      code: 'NO_TABLE',
      file: key,
      source_key: key,
    });
  });
});
