// The lake's partition writes as they run on AWS (no in-process lock): each is a conditional PUT on what was just
// read, If-None-Match: * for a new month and If-Match: <ETag read> to replace one. s3rver ignores both headers, so
// conflicts are injected into the handler's S3 client: another writer slips in between the read and the write, and
// the handler must read again, compare again and retry (or keep the newer holder).
import { gzipSync } from 'node:zlib';
import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { PartitionConflictError, replaceIfNewer } from '../../lambdas/lake/partition-store.ts';
import { isNotFound } from '../../lambdas/lake/s3-errors.ts';
import { toMetadata, type UploadOrder } from '../../lambdas/lake/upload-order.ts';
import {
  exportText,
  lakeKeys,
  partitionKey,
  partitionRows,
  putRaw,
  readLakeObject,
  s3Error,
  s3Event,
  s3Record,
  sqsEvent,
  notificationMessage,
  startIngestRig,
  type IngestRig,
  type SentRequest,
} from '../helpers/events.ts';

const MARCH = partitionKey(2019, 3);

function march(value: number): string {
  return exportText({ year: 2019, firstMonth: 3, lastMonth: 3, rows: [['Oslo', [value]]] });
}

function onKey(rig: IngestRig, key: string): SentRequest[] {
  return rig.requests.filter((r) => r.input.Key === key && (r.command === 'HeadObjectCommand' || r.command === 'PutObjectCommand'));
}

async function etagOf(rig: IngestRig, key: string): Promise<string | undefined> {
  return (await rig.s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key }))).ETag;
}

/** Another writer's partition object, stored directly with the test's own client. */
async function writeInterloper(rig: IngestRig, key: string, order: UploadOrder): Promise<{ etag: string; body: Buffer }> {
  const body = gzipSync('{"interloper":true}\n');
  const put = await rig.s3.client.send(
    new PutObjectCommand({
      Bucket: LOCAL_LAKE_BUCKET,
      Key: key,
      Body: body,
      ContentType: 'application/gzip',
      Metadata: toMetadata(order, 1),
    }),
  );
  return { etag: put.ETag ?? '', body };
}

/** Makes the first conditional PUT to `key` lose a race: `before` runs, then the PUT fails as S3 would fail it. */
function loseFirstRace(rig: IngestRig, key: string, error: Error, before: () => Promise<unknown> = async () => undefined): void {
  let raced = false;
  rig.inject(async (r) => {
    if (raced || r.command !== 'PutObjectCommand' || r.input.Key !== key) return undefined;
    raced = true;
    await before();
    return error;
  });
}

const preconditionFailed = () => s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');

describe('conditional partition writes', () => {
  it('create a month with If-None-Match: * and replace one with If-Match on the ETag just read', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const first = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    await rig.handler(s3Event(s3Record(first)));
    const firstPut = onKey(rig, MARCH).filter((r) => r.command === 'PutObjectCommand');
    const etag = await etagOf(rig, MARCH);
    rig.requests.length = 0;
    const second = await putRaw(rig.s3.client, 'uploads/b.txt', march(2));

    // Act
    await rig.handler(s3Event(s3Record(second)));

    // Assess
    expect(firstPut).toHaveLength(1);
    expect(firstPut[0]!.headers).toMatchObject({ 'if-none-match': '*' });
    expect(firstPut[0]!.headers).not.toHaveProperty('if-match');
    const replace = onKey(rig, MARCH);
    expect(replace.map((r) => r.command)).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(replace[1]!.headers).toMatchObject({ 'if-match': etag });
    expect(replace[1]!.headers).not.toHaveProperty('if-none-match');
  });

  it('after a 412 read the month again, compare again and retry on the new ETag', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const first = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    await rig.handler(s3Event(s3Record(first)));
    const firstEtag = await etagOf(rig, MARCH);
    const second = await putRaw(rig.s3.client, 'uploads/b.txt', march(2));
    rig.requests.length = 0;
    // An older upload of the same vintage slips in between our read and our write.
    let interloper: { etag: string } | undefined;
    loseFirstRace(rig, MARCH, preconditionFailed(), async () => {
      interloper = await writeInterloper(rig, MARCH, {
        vintage: '2019-03',
        sourceKey: 'uploads/other.txt',
        eventTime: first.eventTime,
        sequencer: '',
      });
    });

    // Act
    const result = await rig.handler(s3Event(s3Record(second)));

    // Assess
    expect(result.outcomes[0]).toMatchObject({
      status: 'accepted',
      ingestion: { partitions: [{ period: '2019-03', outcome: 'written' }] },
    });
    const sent = onKey(rig, MARCH);
    expect(sent.map((r) => r.command)).toEqual(['HeadObjectCommand', 'PutObjectCommand', 'HeadObjectCommand', 'PutObjectCommand']);
    expect(sent[1]!.headers['if-match']).toBe(firstEtag);
    expect(sent[3]!.headers['if-match']).toBe(interloper!.etag);
    expect((await partitionRows(rig.lakeDir, MARCH)).map((r) => [r.region, r.value, r.source_key])).toEqual([
      ['I alt', 2, second.key],
      ['Oslo', 2, second.key],
    ]);
  });

  it('after a 412 keep a newer vintage that slipped in, without writing over it', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const upload = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    let interloper: { body: Buffer } | undefined;
    loseFirstRace(rig, MARCH, preconditionFailed(), async () => {
      interloper = await writeInterloper(rig, MARCH, {
        vintage: '2019-12',
        sourceKey: 'uploads/2019.txt',
        eventTime: upload.eventTime,
        sequencer: '',
      });
    });

    // Act
    const response = await rig.handler(sqsEvent(notificationMessage(s3Record(upload))));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const sent = onKey(rig, MARCH);
    expect(sent.map((r) => r.command)).toEqual(['HeadObjectCommand', 'PutObjectCommand', 'HeadObjectCommand']);
    expect(sent[1]!.headers).toMatchObject({ 'if-none-match': '*' });
    expect(await readLakeObject(rig.lakeDir, MARCH)).toEqual(interloper!.body);
    const [key] = await lakeKeys(rig.lakeDir, 'ingestions/');
    expect(JSON.parse((await readLakeObject(rig.lakeDir, key!)).toString())).toMatchObject({
      status: 'superseded',
      partitions: [{ period: '2019-03', outcome: 'kept_newer' }],
    });
  });

  it('treat 409 ConditionalRequestConflict like 412', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const upload = await putRaw(rig.s3.client, 'uploads/a.txt', march(7));
    loseFirstRace(rig, MARCH, s3Error('ConditionalRequestConflict', 409, 'A conflicting conditional operation is currently in progress'));

    // Act
    const result = await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect(result.outcomes[0]).toMatchObject({ status: 'accepted' });
    expect(onKey(rig, MARCH).map((r) => [r.command, r.headers['if-none-match']])).toEqual([
      ['HeadObjectCommand', undefined],
      ['PutObjectCommand', '*'],
      ['HeadObjectCommand', undefined],
      ['PutObjectCommand', '*'],
    ]);
    expect((await partitionRows(rig.lakeDir, MARCH)).map((r) => r.value)).toEqual([7, 7]);
  });

  it('give up with PartitionConflictError after the configured attempts, leaving the object as it was', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    rig.inject((r) => (r.command === 'PutObjectCommand' ? preconditionFailed() : undefined));
    const write = {
      bucket: LOCAL_LAKE_BUCKET,
      key: MARCH,
      body: gzipSync('{}\n'),
      records: 1,
      order: { vintage: '2019-03', sourceKey: 'uploads/a.txt', eventTime: '2024-03-01T10:00:00.000Z', sequencer: '01' },
    };

    // Act
    const attempt = replaceIfNewer(rig.client, write, { maxAttempts: 2 });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(PartitionConflictError);
    expect(onKey(rig, MARCH).filter((r) => r.command === 'PutObjectCommand')).toHaveLength(2);
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual([]);
  });

  it('let twenty concurrent uploads converge on the latest without the in-process lock when S3 enforces the conditions', async () => {
    // Prepare: S3's conditional-write semantics in front of s3rver, atomic per key as on S3
    const rig = await startIngestRig({ lock: false });
    enforceConditionalWrites(rig);
    const uploads = [];
    for (let i = 1; i <= 20; i++) {
      const text = exportText({ year: 2019, firstMonth: 1, lastMonth: 3, rows: [['Oslo', [i, i, i]]] });
      uploads.push(await putRaw(rig.s3.client, `uploads/${String(i).padStart(2, '0')}.txt`, text));
    }

    // Act
    const responses = await Promise.all([...uploads].reverse().map((u) => rig.handler(sqsEvent(notificationMessage(s3Record(u))))));

    // Assess
    expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    for (const month of [1, 2, 3]) {
      expect((await partitionRows(rig.lakeDir, partitionKey(2019, month))).map((r) => [r.region, r.value, r.source_key])).toEqual([
        ['I alt', 20, 'uploads/20.txt'],
        ['Oslo', 20, 'uploads/20.txt'],
      ]);
    }
    expect(await lakeKeys(rig.lakeDir, 'ingestions/')).toHaveLength(20);
  });
});

/**
 * S3's behaviour in front of s3rver, per partition key: a conditional PUT whose condition does not hold is refused
 * with 412, the check and the write are one atomic step, and a HEAD never sees half a write (s3rver writes an object's
 * ETag and its user metadata to two files one after the other, so a HEAD between them mixes two versions).
 */
function enforceConditionalWrites(rig: IngestRig): void {
  const lock = createKeyLock();
  rig.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as PutObjectCommandInput;
      if (typeof input.Key !== 'string' || !input.Key.startsWith('observations/')) return next(args);
      if (context.commandName === 'HeadObjectCommand') return lock(`${input.Bucket}/${input.Key}`, () => next(args));
      if (context.commandName !== 'PutObjectCommand' || (input.IfMatch === undefined && input.IfNoneMatch === undefined)) return next(args);
      return lock(`${input.Bucket}/${input.Key}`, async () => {
        let current: string | undefined;
        try {
          current = (await rig.s3.client.send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }))).ETag;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        const holds = input.IfNoneMatch === '*' ? current === undefined : input.IfMatch === current;
        if (!holds) throw preconditionFailed();
        return next(args);
      });
    },
    { step: 'build', name: 'navlakeTestConditionalWrites', priority: 'low' },
  );
}
