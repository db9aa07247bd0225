// What the handler does with bad, oversized, vanished and unreadable uploads, and with failures along the way:
// rejections are permanent outcomes with a report (never retried), transient failures are reported per SQS message.
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runLocalQuery } from '../../cli/local-query.ts';
import { DEFAULT_MAX_UPLOAD_BYTES, type RejectionReport } from '../../lambdas/ingest/ingest-upload.ts';
import {
  SEED_DATASET,
  deliverSqs,
  exportText,
  ingestionRecords,
  lakeKeys,
  lakeSnapshot,
  nextEventTime,
  nextSequencer,
  notificationMessage,
  putRaw,
  readLakeJson,
  s3Error,
  s3Event,
  s3Record,
  s3TestEventBody,
  seedText,
  sqsEvent,
  sqsRecord,
  startIngestRig,
  type IngestRig,
  type ObjectRef,
} from '../helpers/events.ts';

const SEED_BYTES = Buffer.byteLength(seedText());
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The seed with one value broken on its line 1018, in the last tab-separated section. */
function badSeed(): { text: string; line: number } {
  const seed = seedText();
  const text = seed.replace('Trøndelag\t35\t37\t43', 'Trøndelag\t35\t3x7\t43');
  return { text, line: seed.slice(0, seed.indexOf('Trøndelag\t35\t37\t43')).split('\n').length };
}

describe('a bad file', () => {
  it('leaves observations/ untouched, writes a rejection report and is not retried', async () => {
    // Prepare
    const rig = await startIngestRig();
    await deliverSqs(rig, await putRaw(rig.s3.client, 'uploads/2019.txt', seedText()));
    const before = await lakeSnapshot(rig.lakeDir, 'observations/');
    const { text, line } = badSeed();
    const bad = await putRaw(rig.s3.client, 'uploads/2019 (rettet).txt', text);

    // Act
    const response = await deliverSqs(rig, bad);

    // Assess
    expect(line).toBe(1018);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await lakeSnapshot(rig.lakeDir, 'observations/')).toEqual(before);
    expect(await lakeKeys(rig.lakeDir, 'rejected/')).toEqual(['rejected/uploads/2019 (rettet).txt.json']);
    expect(await readLakeJson<RejectionReport>(rig.lakeDir, 'rejected/uploads/2019 (rettet).txt.json')).toEqual({
      code: 'BAD_NUMBER',
      file: bad.key,
      line: 1018,
      column: expect.any(Number),
      message: expect.stringContaining('"3x7"'),
      source_bucket: 'navlake-raw',
      source_key: bad.key,
      source_sequencer: bad.sequencer,
      rejected_at: expect.stringMatching(ISO_TIME),
    });
    // The title was read before the error, so the record names the dataset.
    const rejected = (await ingestionRecords(rig)).filter((i) => i.status === 'rejected');
    expect(rejected).toEqual([
      expect.objectContaining({
        source_key: bad.key,
        dataset: SEED_DATASET,
        error_code: 'BAD_NUMBER',
        error_line: 1018,
        records_written: 0,
        partitions: [],
      }),
    ]);
    expect((await lakeKeys(rig.lakeDir, 'ingestions/')).every((k) => k.startsWith(`ingestions/${SEED_DATASET}/`))).toBe(true);
  });

  it('on an empty lake writes no observations at all; a file whose title was never read is filed under (unknown), a folder Athena reads', async () => {
    // Prepare
    const rig = await startIngestRig();
    const page = await putRaw(rig.s3.client, 'uploads/eksport.txt', '<!DOCTYPE html>\n<html><body>503 Service Unavailable</body></html>\n');

    // Act
    const response = await deliverSqs(rig, page);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual([]);
    expect(await readLakeJson(rig.lakeDir, 'rejected/uploads/eksport.txt.json')).toMatchObject({ code: 'NO_TABLE', line: 1 });
    const keys = await lakeKeys(rig.lakeDir, 'ingestions/');
    expect(keys).toEqual([expect.stringMatching(/^ingestions\/\(unknown\)\/.+\.json$/)]);
    // Athena (Hive) skips objects under any key segment that starts with `_` or `.`.
    expect(keys[0]!.split('/').some((segment) => /^[_.]/.test(segment))).toBe(false);
    expect((await runLocalQuery(rig.lakeDir, 'SELECT status, dataset, error_code, error_line FROM ingestions')).rows).toEqual([
      { status: 'rejected', dataset: null, error_code: 'NO_TABLE', error_line: 1 },
    ]);
  });
});

describe('the upload size limit', () => {
  it('is 4 MiB unless configured (sized by the bench: lambda.peak_rss_mb_worst)', () => {
    expect(DEFAULT_MAX_UPLOAD_BYTES).toBe(4 * 1024 * 1024);
  });

  it('accepts an upload of exactly the limit', async () => {
    // Prepare
    const rig = await startIngestRig({ maxUploadBytes: SEED_BYTES });
    const upload = await putRaw(rig.s3.client, 'uploads/seed.txt', seedText());

    // Act
    const result = await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect(result.outcomes[0]).toMatchObject({ status: 'accepted' });
  });

  it('rejects an upload whose event says it is too large without reading it', async () => {
    // Prepare
    const rig = await startIngestRig({ maxUploadBytes: SEED_BYTES - 1 });
    const upload = await putRaw(rig.s3.client, 'uploads/seed.txt', seedText());

    // Act
    const response = await deliverSqs(rig, upload);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rig.requests.map((r) => r.command)).not.toContain('GetObjectCommand');
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual([]);
    expect(await readLakeJson(rig.lakeDir, 'rejected/uploads/seed.txt.json')).toMatchObject({
      code: 'TOO_LARGE',
      line: 0,
      message: `the upload is ${SEED_BYTES} bytes; the limit is ${SEED_BYTES - 1} bytes (MAX_UPLOAD_BYTES)`,
    });
    expect(await ingestionRecords(rig)).toEqual([expect.objectContaining({ status: 'rejected', error_code: 'TOO_LARGE' })]);
  });

  it('rejects an upload whose event lacks its size on the length S3 returns, without reading the body', async () => {
    // Prepare
    const rig = await startIngestRig({ maxUploadBytes: 1000 });
    const body = watchBodies(rig);
    const upload = await putRaw(rig.s3.client, 'uploads/seed.txt', seedText());
    const { size: _, ...withoutSize } = upload;

    // Act
    const response = await deliverSqs(rig, withoutSize);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(body.bytesRead).toBe(0);
    expect(body.destroyed).toBe(true);
    expect(await readLakeJson(rig.lakeDir, 'rejected/uploads/seed.txt.json')).toMatchObject({
      code: 'TOO_LARGE',
      message: `the upload is ${SEED_BYTES} bytes; the limit is 1000 bytes (MAX_UPLOAD_BYTES)`,
    });
  });

  it('cuts off an upload of unknown length soon after the limit and writes nothing', async () => {
    // Prepare: the seed followed by 4 MB of blank lines, served without a length
    const rig = await startIngestRig({ maxUploadBytes: 50_000 });
    const body = watchBodies(rig, { hideLength: true });
    const big = await putRaw(rig.s3.client, 'uploads/big.txt', seedText() + '\n'.repeat(4_000_000));
    const { size: _, ...withoutSize } = big;

    // Act
    const response = await deliverSqs(rig, withoutSize);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(body.bytesRead).toBeGreaterThan(50_000);
    expect(body.bytesRead).toBeLessThan(50_000 + 256 * 1024);
    expect(body.destroyed).toBe(true);
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual([]);
    expect(await readLakeJson(rig.lakeDir, 'rejected/uploads/big.txt.json')).toMatchObject({
      code: 'TOO_LARGE',
      message: `the upload is ${body.bytesRead} bytes or more; the limit is 50000 bytes (MAX_UPLOAD_BYTES)`,
    });
  });
});

describe('transient failures in an SQS batch', () => {
  it('report exactly the failing message; the others are processed; its redelivery then succeeds', async () => {
    // Prepare
    const rig = await startIngestRig();
    const a = await putRaw(rig.s3.client, 'uploads/a.txt', exportText({ year: 2019, firstMonth: 1, lastMonth: 1 }));
    const b = await putRaw(rig.s3.client, 'uploads/b.txt', exportText({ year: 2019, firstMonth: 2, lastMonth: 2 }));
    const d = await putRaw(rig.s3.client, 'uploads/d.txt', exportText({ year: 2019, firstMonth: 4, lastMonth: 4 }));
    const messages = [a, b].map((u) => notificationMessage(s3Record(u)));
    messages.push(sqsRecord(s3TestEventBody()), notificationMessage(s3Record(d)));
    const failing = messages[1]!;
    const heal = rig.inject((r) =>
      r.command === 'GetObjectCommand' && r.input.Key === b.key ? s3Error('SlowDown', 503, 'Please reduce your request rate.') : undefined,
    );

    // Act
    const response = await rig.handler(sqsEvent(...messages));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failing.messageId }] });
    expect((await ingestionRecords(rig)).map((i) => i.source_key).sort()).toEqual([a.key, d.key]);
    expect(await lakeKeys(rig.lakeDir, 'rejected/')).toEqual([]);
    expect(rig.logs).toContainEqual(
      expect.objectContaining({ level: 'error', extra: expect.objectContaining({ messageId: failing.messageId }) }),
    );

    // Act: SQS redelivers only that message
    heal();
    const retry = await rig.handler(sqsEvent(failing));

    // Assess
    expect(retry).toEqual({ batchItemFailures: [] });
    expect((await ingestionRecords(rig)).map((i) => i.source_key).sort()).toEqual([a.key, b.key, d.key]);
    expect((await runLocalQuery(rig.lakeDir, 'SELECT count(*) AS n, count(DISTINCT month) AS months FROM observations')).rows).toEqual([
      { n: 12, months: 3 },
    ]);
  });

  it('a failure while writing months is retried as a whole and converges without duplicates', async () => {
    // Prepare
    const rig = await startIngestRig();
    const upload = await putRaw(rig.s3.client, 'uploads/2019.txt', seedText());
    const message = notificationMessage(s3Record(upload));
    let failures = 0;
    const heal = rig.inject((r) => {
      if (r.command !== 'PutObjectCommand' || r.input.Key !== `observations/year=2019/month=07/${SEED_DATASET}.ndjson.gz`) return undefined;
      failures++;
      return s3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
    });

    // Act
    const first = await rig.handler(sqsEvent(message));
    heal();
    const second = await rig.handler(sqsEvent(message));

    // Assess
    expect(failures).toBe(1);
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: message.messageId }] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect((await runLocalQuery(rig.lakeDir, 'SELECT count(*) AS n, count(DISTINCT month) AS months FROM observations')).rows).toEqual([
      { n: 7430, months: 12 },
    ]);
    expect(await ingestionRecords(rig)).toEqual([expect.objectContaining({ status: 'accepted', records_written: 7430 })]);
  });
});

describe('messages and records that are not uploads', () => {
  it('test events and non-ObjectCreated records do nothing, and are not retried', async () => {
    // Prepare
    const rig = await startIngestRig();
    const removed: ObjectRef = { bucket: 'navlake-raw', key: 'uploads/gone.txt', sequencer: nextSequencer(), eventTime: nextEventTime() };

    // Act
    const viaSqs = await rig.handler(
      sqsEvent(sqsRecord(s3TestEventBody()), notificationMessage(s3Record(removed, 'ObjectRemoved:Delete'))),
    );
    const direct = await rig.handler(s3Event(s3Record(removed, 'ObjectRemoved:DeleteMarkerCreated')));
    const directTest = await rig.handler(JSON.parse(s3TestEventBody()) as Parameters<typeof rig.handler>[0]);

    // Assess
    expect(viaSqs).toEqual({ batchItemFailures: [] });
    expect(direct).toEqual({ outcomes: [] });
    expect(directTest).toEqual({ outcomes: [] });
    expect(rig.requests).toEqual([]);
    expect(await lakeKeys(rig.lakeDir)).toEqual([]);
  });

  it('a message that is not a readable S3 notification is logged and dropped; the rest of the batch is processed', async () => {
    // Prepare
    const rig = await startIngestRig();
    const good = await putRaw(rig.s3.client, 'uploads/good.txt', exportText({ year: 2019, firstMonth: 5, lastMonth: 5 }));
    const forged = s3Record({ ...good, key: 'x' });
    forged.s3.object.key = 'bad%E0%A4%A.txt';
    const messages = [sqsRecord('this is not JSON'), notificationMessage(forged), notificationMessage(s3Record(good))];

    // Act
    const response = await rig.handler(sqsEvent(...messages));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await ingestionRecords(rig)).map((i) => [i.source_key, i.status])).toEqual([[good.key, 'accepted']]);
    const dropped = rig.logs.filter((l) => l.level === 'error').map((l) => l.extra?.messageId);
    expect(dropped).toEqual([messages[0]!.messageId, messages[1]!.messageId]);
  });

  it('an upload deleted before it was read is reported missing and not retried', async () => {
    // Prepare
    const rig = await startIngestRig();
    const gone: ObjectRef = {
      bucket: 'navlake-raw',
      key: 'uploads/gone.txt',
      size: 100,
      eTag: 'd41d8cd98f00b204e9800998ecf8427e',
      sequencer: nextSequencer(),
      eventTime: nextEventTime(),
    };

    // Act
    const viaSqs = await deliverSqs(rig, gone);
    const direct = await rig.handler(s3Event(s3Record(gone)));

    // Assess
    expect(viaSqs).toEqual({ batchItemFailures: [] });
    expect(direct).toEqual({ outcomes: [{ status: 'missing', key: gone.key }] });
    expect(await lakeKeys(rig.lakeDir)).toEqual([]);
  });
});

/**
 * Watches the bodies of the handler's GetObject responses: how many bytes the handler consumed and whether it
 * destroyed the stream. With hideLength the response carries no ContentLength, as with a chunked response.
 */
function watchBodies(rig: IngestRig, options: { hideLength?: boolean } = {}): { bytesRead: number; destroyed: boolean } {
  const seen = { bytesRead: 0, destroyed: false };
  rig.client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName !== 'GetObjectCommand') return result;
      const output = result.output as { Body?: Readable; ContentLength?: number };
      const original = output.Body as Readable;
      if (options.hideLength) delete output.ContentLength;
      output.Body = Object.assign(
        (async function* () {
          for await (const chunk of original) {
            seen.bytesRead += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        })(),
        {
          destroy: () => {
            seen.destroyed = true;
            original.destroy();
          },
        },
      ) as unknown as Readable;
      return result;
    },
    { step: 'initialize', name: 'navlakeTestBodyWatch' },
  );
  return seen;
}
