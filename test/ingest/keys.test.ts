// Keys as people name files: spaces, `+`, æøå and `%`. S3 notifications carry them form-encoded (`+` for a space,
// %XX for the rest); the handler must read the right object and name it correctly everywhere it writes.
import { describe, expect, it } from 'vitest';
import type { RejectionReport } from '../../lambdas/ingest/ingest-upload.ts';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
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

/**
 * Each key with the form S3 puts in its notifications, written out by hand: a space becomes `+`, the key's UTF-8 bytes
 * other than letters, digits, `/`, `-`, `_`, `.` and `*` become %XX (upper-case hex), so `+` is %2B and `%` is %25.
 */
const KEYS: Array<[key: string, encoded: string]> = [
  ['uploads/NAV tiltak fylke 2019.txt', 'uploads/NAV+tiltak+fylke+2019.txt'],
  ['uploads/tiltak+fylke+2019.txt', 'uploads/tiltak%2Bfylke%2B2019.txt'],
  [
    'uploads/Østfold og Trøndelag/tiltak æøå ÆØÅ.txt',
    'uploads/%C3%98stfold+og+Tr%C3%B8ndelag/tiltak+%C3%A6%C3%B8%C3%A5+%C3%86%C3%98%C3%85.txt',
  ],
  ['uploads/100% sikkert (kopi) #1 & co=2.txt', 'uploads/100%25+sikkert+%28kopi%29+%231+%26+co%3D2.txt'],
  ['a b+c/æøå%.txt', 'a+b%2Bc/%C3%A6%C3%B8%C3%A5%25.txt'],
  ['a b+æ.txt', 'a+b%2B%C3%A6.txt'],
  ['uploads/looks%20encoded%2B already+.txt', 'uploads/looks%2520encoded%252B+already%2B.txt'],
];

describe('upload keys', () => {
  it.each(KEYS)('%j (in the event: %j) is read, recorded and reported under its own name', async (key, encoded) => {
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
    // The event carried the key form-encoded as S3 does, and the handler fetched the object by its real name.
    expect(JSON.parse(goodMessage.body).Records[0].s3.object.key).toBe(encoded);
    const rawReads = rig.requests.filter((r) => r.command === 'GetObjectCommand' && r.input.Bucket === LOCAL_RAW_BUCKET);
    expect(rawReads.map((r) => r.input.Key)).toEqual([key, key]);
    const rows = await partitionRows(rig.lakeDir, partitionKey(2019, 6));
    expect(new Set(rows.map((r) => r.source_key))).toEqual(new Set([key]));
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
