// The lake's partition writes as they run on AWS (no in-process lock): each is a GET of the month's object, a merge of
// the upload's rows into what was read, and a conditional PUT of the result, If-None-Match: * for a new month and
// If-Match: <ETag read> to replace one. s3rver ignores both headers, so conflicts are injected into the handler's S3
// client: another writer slips in between the read and the write, and the handler must read again, merge again and
// retry (or find nothing left to write), and give up after a bounded number of attempts.
import { gzipSync } from 'node:zlib';
import { type GetObjectCommandOutput, HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { type EncodedPartition, PartitionBuilder } from '../../lambdas/lake/observation-file.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import { mergeIntoPartition, PartitionConflictError } from '../../lambdas/lake/partition-store.ts';
import { isNotFound } from '../../lambdas/lake/s3-errors.ts';
import {
  exportText,
  expectedUploadRank,
  type IngestRig,
  lakeKeys,
  notificationMessage,
  partitionKey,
  partitionRows,
  putRaw,
  readLakeObject,
  redelivered,
  SEED_DATASET,
  SEED_TITLE,
  type SentRequest,
  s3Error,
  s3Event,
  s3Record,
  sqsEvent,
  startIngestRig,
} from '../helpers/events.ts';
import { sortedRows } from '../helpers/lake-state.ts';

const MARCH = partitionKey(2019, 3);

/** March 2019, one complete "Opplæring" section: "I alt" and Oslo, both `value` (the total vouches for the section). */
function march(value: number): string {
  return exportText({ year: 2019, firstMonth: 3, lastMonth: 3, rows: [['Oslo', [value]]] });
}

function onKey(rig: IngestRig, key: string): SentRequest[] {
  return rig.requests.filter((r) => r.input.Key === key && (r.command === 'GetObjectCommand' || r.command === 'PutObjectCommand'));
}

const commands = (sent: SentRequest[]) => sent.map((r) => r.command.replace('ObjectCommand', ''));

async function etagOf(rig: IngestRig, key: string): Promise<string | undefined> {
  return (await rig.s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key }))).ETag;
}

type Row = Record<string, unknown>;

/** A March row as another writer stores it: every data column, provenance and ranks included. */
function storedRow(measure: string, region: string, value: number, source: { key: string; vintage: string; rank: string }): Row {
  return {
    dataset: SEED_DATASET,
    table_title: SEED_TITLE,
    breakdown: 'Fylke og tiltaksgruppe',
    main_group: 'I alt',
    measure_group: measure,
    region,
    region_code: region === 'Oslo' ? '03' : null,
    period: '2019-03',
    value,
    suppressed: false,
    source_key: source.key,
    source_vintage: source.vintage,
    ingested_at: '2024-03-01T09:00:00.000Z',
    upload_rank: source.rank,
    // A complete section: its own upload is its newest complete copy.
    section_rank: source.rank,
  };
}

/** Another writer's partition object (gzip NDJSON rows), stored directly with the test's own client. */
async function writeInterloper(rig: IngestRig, key: string, rows: Row[]): Promise<{ etag: string; body: Buffer }> {
  const body = gzipSync(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const put = await rig.s3.client.send(
    new PutObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key, Body: body, ContentType: 'application/gzip' }),
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

const view = (rows: Row[]) => sortedRows(rows).map((r) => [r.measure_group, r.region, r.value, r.source_key]);

describe('conditional partition writes', () => {
  it('create a month with If-None-Match: * and replace one with If-Match on the ETag just read', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const first = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    await rig.handler(s3Event(s3Record(first)));
    const create = onKey(rig, MARCH);
    const etag = await etagOf(rig, MARCH);
    rig.requests.length = 0;
    const second = await putRaw(rig.s3.client, 'uploads/b.txt', march(2));

    // Act
    await rig.handler(s3Event(s3Record(second)));

    // Assess
    expect(commands(create)).toEqual(['Get', 'Put']);
    expect(create[1]!.headers).toMatchObject({ 'if-none-match': '*' });
    expect(create[1]!.headers).not.toHaveProperty('if-match');
    const replace = onKey(rig, MARCH);
    expect(commands(replace)).toEqual(['Get', 'Put']);
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(replace[1]!.headers).toMatchObject({ 'if-match': etag });
    expect(replace[1]!.headers).not.toHaveProperty('if-none-match');
    expect(view(await partitionRows(rig.lakeDir, MARCH))).toEqual([
      ['Opplæring', 'I alt', 2, second.key],
      ['Opplæring', 'Oslo', 2, second.key],
    ]);
  });

  it('after a 412 read the month again, merge into what another writer stored, and retry on the new ETag', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const first = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    await rig.handler(s3Event(s3Record(first)));
    const firstEtag = await etagOf(rig, MARCH);
    const second = await putRaw(rig.s3.client, 'uploads/b.txt', march(2));
    rig.requests.length = 0;
    // Between our read and our write another upload adds its "Avklaringstiltak" section to the month (and keeps ours).
    const other = {
      key: 'uploads/avklaring.txt',
      vintage: '2019-03',
      rank: '2019-03/2024-02-01T08:00:00.000Z/00000000000000000000000000000001/aaaaaaaaaaaa',
    };
    const added = [storedRow('Avklaringstiltak', 'I alt', 9, other), storedRow('Avklaringstiltak', 'Oslo', 9, other)];
    let interloper: { etag: string } | undefined;
    loseFirstRace(rig, MARCH, preconditionFailed(), async () => {
      interloper = await writeInterloper(rig, MARCH, [...(await partitionRows(rig.lakeDir, MARCH)), ...added]);
    });

    // Act
    const result = await rig.handler(s3Event(s3Record(second)));

    // Assess
    expect(result.outcomes[0]).toMatchObject({
      status: 'accepted',
      ingestion: { partitions: [{ period: '2019-03', records: 2, written: 2, outcome: 'written' }] },
    });
    const sent = onKey(rig, MARCH);
    expect(commands(sent)).toEqual(['Get', 'Put', 'Get', 'Put']);
    expect(sent[1]!.headers['if-match']).toBe(firstEtag);
    expect(sent[3]!.headers['if-match']).toBe(interloper!.etag);
    // The retry merged into the interloper's object: its section is still there, ours replaced the first upload's.
    expect(view(await partitionRows(rig.lakeDir, MARCH))).toEqual([
      ['Avklaringstiltak', 'I alt', 9, other.key],
      ['Avklaringstiltak', 'Oslo', 9, other.key],
      ['Opplæring', 'I alt', 2, second.key],
      ['Opplæring', 'Oslo', 2, second.key],
    ]);
  });

  it('after a 412 keep a newer vintage that slipped in, without writing over it', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    const upload = await putRaw(rig.s3.client, 'uploads/a.txt', march(1));
    // The whole-year export (vintage 2019-12) stores its complete "Opplæring" section for March first.
    const year = {
      key: 'uploads/2019.txt',
      vintage: '2019-12',
      rank: '2019-12/2024-02-01T08:00:00.000Z/00000000000000000000000000000001/bbbbbbbbbbbb',
    };
    let interloper: { body: Buffer } | undefined;
    loseFirstRace(rig, MARCH, preconditionFailed(), async () => {
      interloper = await writeInterloper(rig, MARCH, [
        storedRow('Opplæring', 'I alt', 500, year),
        storedRow('Opplæring', 'Oslo', 500, year),
      ]);
    });

    // Act
    const response = await rig.handler(sqsEvent(notificationMessage(s3Record(upload))));

    // Assess: read again, found nothing to change, wrote nothing
    expect(response).toEqual({ batchItemFailures: [] });
    const sent = onKey(rig, MARCH);
    expect(commands(sent)).toEqual(['Get', 'Put', 'Get']);
    expect(sent[1]!.headers).toMatchObject({ 'if-none-match': '*' });
    expect(await readLakeObject(rig.lakeDir, MARCH)).toEqual(interloper!.body);
    const [key] = await lakeKeys(rig.lakeDir, 'ingestions/');
    expect(JSON.parse((await readLakeObject(rig.lakeDir, key!)).toString())).toMatchObject({
      status: 'superseded',
      records_written: 0,
      partitions: [{ period: '2019-03', records: 2, written: 0, outcome: 'kept_newer' }],
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
      ['GetObjectCommand', undefined],
      ['PutObjectCommand', '*'],
      ['GetObjectCommand', undefined],
      ['PutObjectCommand', '*'],
    ]);
    expect((await partitionRows(rig.lakeDir, MARCH)).map((r) => r.value)).toEqual([7, 7]);
  });

  it('give up with PartitionConflictError after the configured attempts, each a fresh read, leaving the lake as it was', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    rig.inject((r) => (r.command === 'PutObjectCommand' ? preconditionFailed() : undefined));
    // The upload's rows as the parser makes them: provenance and ranks are set by the merge.
    const builder = new PartitionBuilder();
    builder.add(
      ['I alt', 'Oslo'].map(
        (region) =>
          ({
            ...storedRow('Opplæring', region, 1, { key: 'uploads/a.txt', vintage: '2019-03', rank: '' }),
            year: 2019,
            month: 3,
            upload_rank: null,
            section_rank: null,
          }) as Observation,
      ),
    );
    const [partition] = await builder.finish();
    const merge = {
      bucket: LOCAL_LAKE_BUCKET,
      key: MARCH,
      partition: partition as EncodedPartition,
      provenance: {
        sourceKey: 'uploads/a.txt',
        vintage: '2019-03',
        ingestedAt: '2024-03-01T10:00:00.000Z',
        rank: '2019-03/2024-03-01T10:00:00.000Z/00000000000000000000000000000001/cccccccccccc',
      },
      complete: () => true,
    };

    // Act
    const attempt = mergeIntoPartition(rig.client, merge, { maxAttempts: 2 });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(PartitionConflictError);
    expect(commands(onKey(rig, MARCH))).toEqual(['Get', 'Put', 'Get', 'Put']);
    expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual([]);
  });

  it('by default give up after 12 conditional writes, and report the message for redelivery with nothing written', async () => {
    // Prepare
    const rig = await startIngestRig({ lock: false });
    rig.inject((r) => (r.command === 'PutObjectCommand' && r.input.Key === MARCH ? preconditionFailed() : undefined));
    const message = notificationMessage(s3Record(await putRaw(rig.s3.client, 'uploads/a.txt', march(3))));

    // Act
    const response = await rig.handler(sqsEvent(message));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: message.messageId }] });
    expect(commands(onKey(rig, MARCH))).toEqual(Array.from({ length: 12 }, () => ['Get', 'Put']).flat());
    expect(rig.logs.filter((l) => l.level === 'error').map((l) => String(l.extra?.error))).toEqual([
      expect.stringMatching(/^PartitionConflictError: /),
    ]);
    expect(await lakeKeys(rig.lakeDir, '')).toEqual([]);
  }, 30_000);

  it('let twenty concurrent uploads converge on the latest without the in-process lock when S3 enforces the conditions', async () => {
    // Prepare: S3's conditional-write semantics in front of s3rver, atomic per key as on S3
    const rig = await startIngestRig({ lock: false });
    enforceConditionalWrites(rig);
    const uploads = [];
    for (let i = 1; i <= 20; i++) {
      const text = exportText({ year: 2019, firstMonth: 1, lastMonth: 3, rows: [['Oslo', [i, i, i]]] });
      uploads.push(await putRaw(rig.s3.client, `uploads/${String(i).padStart(2, '0')}.txt`, text));
    }
    const latest = uploads.at(-1)!;

    // Act: all at once; a message whose writes kept losing races comes back, as SQS would redeliver it
    let pending = [...uploads].reverse().map((u) => notificationMessage(s3Record(u)));
    for (let round = 0; pending.length > 0 && round < 5; round++) {
      const responses = await Promise.all(pending.map((m) => rig.handler(sqsEvent(m))));
      const failed = new Set(responses.flatMap((r) => r.batchItemFailures.map((f) => f.itemIdentifier)));
      pending = pending.filter((m) => failed.has(m.messageId)).map(redelivered);
    }

    // Assess
    expect(pending).toEqual([]);
    for (const month of [1, 2, 3]) {
      const rows = await partitionRows(rig.lakeDir, partitionKey(2019, month));
      expect(view(rows), `2019-0${month}`).toEqual([
        ['Opplæring', 'I alt', 20, latest.key],
        ['Opplæring', 'Oslo', 20, latest.key],
      ]);
      expect(new Set(rows.map((r) => r.upload_rank))).toEqual(new Set([expectedUploadRank('2019-03', latest)]));
    }
    expect(await lakeKeys(rig.lakeDir, 'ingestions/')).toHaveLength(20);
  }, 60_000);
});

/**
 * S3's behaviour in front of s3rver, per partition key: a conditional PUT whose condition does not hold is refused
 * with 412, the check and the write are one atomic step, and a GET returns one version whole (its body is read while
 * the key is held, since s3rver writes an object's bytes and its metadata to two files one after the other).
 */
function enforceConditionalWrites(rig: IngestRig): void {
  const lock = createKeyLock();
  rig.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as PutObjectCommandInput;
      if (typeof input.Key !== 'string' || !input.Key.startsWith('observations/')) return next(args);
      const id = `${input.Bucket}/${input.Key}`;
      if (context.commandName === 'GetObjectCommand') {
        return lock(id, async () => {
          const result = await next(args);
          const output = result.output as GetObjectCommandOutput;
          const bytes = output.Body ? await output.Body.transformToByteArray() : new Uint8Array();
          // The partition store only asks the body for its bytes.
          return {
            ...result,
            output: { ...output, Body: { transformToByteArray: async () => bytes } as unknown as GetObjectCommandOutput['Body'] },
          };
        });
      }
      if (context.commandName !== 'PutObjectCommand' || (input.IfMatch === undefined && input.IfNoneMatch === undefined)) return next(args);
      return lock(id, async () => {
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
