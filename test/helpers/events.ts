// Events shaped exactly as AWS delivers them to the ingest Lambda, and the uploads behind them:
//   const ref = await putRaw(s3.client, 'uploads/a b+æ.txt', text);    // a real object in the raw bucket
//   await handler(sqsEvent(notificationMessage(s3Record(ref))));        // S3 -> SQS -> Lambda
//   await handler(s3Event(s3Record(ref)));                              // S3 -> Lambda (as `navlake serve` does)
// small valid NAV exports for tests that need another vintage or a correction (exportText, exportSectionsText for
// several sections and years, seedUpTo), the upload_rank an upload should get (expectedUploadRank), the real handler
// on a real embedded S3 server (startIngestRig) and readers of what it wrote (lakeKeys, partitionRows).
import type { UploadRef } from '../../lambdas/ingest/events.ts';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event, S3EventRecord, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { onTestFinished } from 'vitest';
import { localS3Client, s3EventKeyEncode } from '../../cli/local-s3.ts';
import { runLocalQuery } from '../../cli/local-query.ts';
import { lakeBucketDir } from '../../cli/local-views.ts';
import { createIngestHandler, type IngestHandler } from '../../lambdas/ingest/handler.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../lambdas/ingest/ingest-upload.ts';
import { createKeyLock } from '../../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { monthName } from '../../lambdas/parser/vocabulary.ts';
import type { Ingestion } from '../../lambdas/schema/columns.ts';
import { startTestS3, type TestS3 } from './local-s3.ts';

export const REGION = 'eu-north-1';
const ACCOUNT = '123456789012';

// ---- upload identity -------------------------------------------------------------------------------------------

/**
 * An object as a notification names it: decoded key; size and eTag left out to build events that lack them. The same
 * shape the handler reads from an event (eTag without quotes, sequencer in upper-case hex).
 */
export type ObjectRef = UploadRef;

let lastSequencer = 0x0055aed6dcd90281e5n;
let lastEventMs = Date.parse('2024-03-01T10:00:00.000Z');

/** Strictly increasing S3-style sequencers (18 upper-case hex digits), module-wide. */
export function nextSequencer(): string {
  lastSequencer += BigInt(1 + Math.floor(Math.random() * 1000));
  return lastSequencer.toString(16).toUpperCase().padStart(18, '0');
}

/** Strictly increasing event times (one second apart), module-wide, so later uploads are later. */
export function nextEventTime(): string {
  lastEventMs += 1000;
  return new Date(lastEventMs).toISOString();
}

/** PUTs `body` to the raw bucket and returns what S3's notification of that PUT names. */
export async function putRaw(
  client: S3Client,
  key: string,
  body: string | Uint8Array,
  bucket = LOCAL_RAW_BUCKET,
): Promise<ObjectRef & { size: number; eTag: string }> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
  return {
    bucket,
    key,
    size: bytes.length,
    eTag: (put.ETag ?? '').replace(/"/g, ''),
    sequencer: nextSequencer(),
    eventTime: nextEventTime(),
  };
}

// ---- S3 notifications ------------------------------------------------------------------------------------------

/** One record of an S3 event notification (event version 2.1), the key form-encoded as S3 sends it. */
export function s3Record(o: ObjectRef, eventName = 'ObjectCreated:Put'): S3EventRecord {
  const object = {
    key: s3EventKeyEncode(o.key),
    ...(o.size === undefined ? {} : { size: o.size }),
    ...(o.eTag === undefined ? {} : { eTag: o.eTag }),
    ...(o.versionId === undefined ? {} : { versionId: o.versionId }),
    sequencer: o.sequencer,
  } as S3EventRecord['s3']['object'];
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: REGION,
    eventTime: o.eventTime,
    eventName,
    userIdentity: { principalId: 'AWS:AIDAJDPLRKLG7UEXAMPLE' },
    requestParameters: { sourceIPAddress: '203.0.113.15' },
    responseElements: {
      'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'navlake-raw-created',
      bucket: { name: o.bucket, ownerIdentity: { principalId: 'A3NL1KOZZKEXAMPLE' }, arn: `arn:aws:s3:::${o.bucket}` },
      object,
    },
  };
}

export function s3Event(...records: S3EventRecord[]): S3Event {
  return { Records: records };
}

/** The body S3 sends once when a notification configuration is saved. */
export function s3TestEventBody(bucket = LOCAL_RAW_BUCKET): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date().toISOString(),
    Bucket: bucket,
    RequestId: randomBytes(8).toString('hex').toUpperCase(),
    HostId: randomBytes(48).toString('base64'),
  });
}

// ---- SQS -------------------------------------------------------------------------------------------------------

export interface SqsRecordOptions {
  messageId?: string;
  /** 1 on first delivery; more on redeliveries of the same message. */
  receiveCount?: number;
}

/** One SQS message as Lambda's SQS event source delivers it. */
export function sqsRecord(body: string, options: SqsRecordOptions = {}): SQSRecord {
  const sent = Date.now();
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `AQEB${randomBytes(96).toString('base64')}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(sent),
      SenderId: 'AROAYVK7EXAMPLE:S3-PROD-END',
      ApproximateFirstReceiveTimestamp: String(sent + 3),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:navlake-ingest`,
    awsRegion: REGION,
  };
}

/** An SQS message whose body is the S3 notification of these records (the deployed path). */
export function notificationMessage(records: S3EventRecord | S3EventRecord[], options: SqsRecordOptions = {}): SQSRecord {
  return sqsRecord(JSON.stringify(s3Event(...(Array.isArray(records) ? records : [records]))), options);
}

/** The same message delivered again: same id and body, a new receipt handle, a higher receive count. */
export function redelivered(record: SQSRecord): SQSRecord {
  const again = sqsRecord(record.body, {
    messageId: record.messageId,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) + 1,
  });
  return {
    ...again,
    attributes: { ...again.attributes, ApproximateFirstReceiveTimestamp: record.attributes.ApproximateFirstReceiveTimestamp },
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

// ---- exports to upload -----------------------------------------------------------------------------------------

export const SEED_PATH = new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url);
export const SEED_TITLE = 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned';
export const SEED_DATASET = 'deltakere-i-arbeidsrettede-tiltak-tiltaksgruppe-og-fylke-tidsserie-maned';

/** The 2019 seed export: 7,430 records over 2019-01..2019-12, vintage 2019-12. */
export function seedText(): string {
  return readFileSync(SEED_PATH, 'utf8');
}

export interface SmallExport {
  /** Defaults to the seed's title, so the export is the same dataset. */
  title?: string;
  year: number;
  firstMonth: number;
  lastMonth: number;
  /** Region rows after the "I alt" row; each holds one value per month. Default Østfold, Oslo, Ukjent. */
  rows?: Array<[region: string, values: Array<number | '*'>]>;
}

/**
 * A small valid export in NAV's layout: one "Opplæring" section with an "I alt" row that is the sum of the regions.
 * Records: (rows + 1) x months.
 *
 * Mind: the parser reads a file's last section as cut off by the end of the file (a cut-off section replaces only
 * the cells it has) when it lacks some of the year's counties and its totals cannot vouch for that, as when a value
 * is `*`. So the default rows (Ukjent `*`) make a cut-off section; rows without `*` make a complete one.
 */
export function exportText(e: SmallExport): string {
  return exportSectionsText([e], e.title ?? SEED_TITLE);
}

export interface ExportSection {
  year: number;
  firstMonth: number;
  lastMonth: number;
  /** Heading of an all-participants section (main group "I alt"): `Opplæring` (default), `Avklaringstiltak`, ... */
  measure?: string;
  /** Region rows after the "I alt" row; each holds one value per month. Default as in exportText. */
  rows?: Array<[region: string, values: Array<number | '*'>]>;
}

/**
 * A valid export of several sections in NAV's layout, in the order given, each with its own period line (so one file
 * may hold several years, in any order) and an "I alt" row that is the sum of its regions; three blank lines between
 * sections, as in the seed. Records: sum over sections of (rows + 1) x months. The last section is read as cut off
 * under the same condition as exportText's.
 */
export function exportSectionsText(sections: readonly ExportSection[], title = SEED_TITLE): string {
  return `${sections.map((s) => sectionLines(title, s).join('\n')).join('\n\n\n\n')}\n`;
}

function sectionLines(title: string, s: ExportSection): string[] {
  const months = Array.from({ length: s.lastMonth - s.firstMonth + 1 }, (_, i) => s.firstMonth + i);
  const rows = s.rows ?? [
    ['Østfold', months.map((m) => 100 + m)],
    ['Oslo', months.map((m) => 2000 + 10 * (s.year - 2000) + m)],
    ['Ukjent', months.map(() => '*' as const)],
  ];
  const total = months.map((_, i) => rows.reduce((sum, [, v]) => sum + (typeof v[i] === 'number' ? (v[i] as number) : 0), 0));
  const cell = (v: number | '*'): string => (v === '*' ? '*' : String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ' '));
  const period =
    s.firstMonth === s.lastMonth
      ? `${monthName(s.firstMonth)} ${s.year}`
      : `${monthName(s.firstMonth)} - ${monthName(s.lastMonth)} ${s.year}`;
  const measure = s.measure ?? 'Opplæring';
  return [
    title,
    '',
    'Fylke og tiltaksgruppe',
    '',
    period,
    '',
    measure,
    '',
    `\t${months.map(monthName).join('\t')}`,
    `I alt ${measure.toLowerCase()}\t${total.map(cell).join('\t')}`,
    ...rows.map(([region, values]) => `${region}\t${values.map(cell).join('\t')}`),
  ];
}

/**
 * The seed cut down to its first `lastMonth` months: period lines "Januar - <Month> 2019", header rows and value rows
 * shortened to match, vintage 2019-<lastMonth>. The seed's last section, already cut off after January in one-cell-
 * per-line layout, is left out; every other section keeps all its rows, so its totals still add up.
 */
export function seedUpTo(lastMonth: number): string {
  const text = seedText();
  const tail = text.lastIndexOf(`\n${SEED_TITLE}\n`);
  return text
    .slice(0, tail + 1)
    .split('\n')
    .map((line) => {
      if (line === 'Januar - Desember 2019') return `Januar - ${monthName(lastMonth)} 2019`;
      return line.includes('\t')
        ? line
            .split('\t')
            .slice(0, lastMonth + 1)
            .join('\t')
        : line;
    })
    .join('\n');
}

/**
 * The `upload_rank` the lake should give an upload, written out from its documented format rather than taken from
 * lambdas/lake/upload-rank.ts: `<vintage>/<event time, ISO with milliseconds>/<sequencer in upper-case hex, left-padded
 * with 0 to 32 digits>/<first 12 hex digits of sha256(key)>`. For the ISO event times and hex sequencers this module
 * makes.
 */
export function expectedUploadRank(vintage: string, ref: Pick<ObjectRef, 'key' | 'eventTime' | 'sequencer'>): string {
  const keyHash = createHash('sha256').update(ref.key, 'utf8').digest('hex').slice(0, 12);
  return `${vintage}/${new Date(ref.eventTime).toISOString()}/${ref.sequencer.toUpperCase().padStart(32, '0')}/${keyHash}`;
}

// ---- the real handler on a real embedded S3 --------------------------------------------------------------------

export interface SentRequest {
  command: string;
  input: Record<string, unknown>;
  /** HTTP headers as serialised (lower-case names), e.g. `if-match`, `if-none-match`. */
  headers: Record<string, string>;
}

/**
 * A fault to inject: return an error to make this request fail (after the fault's own side effects, if any) instead of
 * being sent, or undefined to let it through.
 */
export type Fault = (request: SentRequest) => Error | undefined | Promise<Error | undefined>;

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  extra?: Record<string, unknown>;
}

export interface IngestRig {
  /** The embedded S3 server; `s3.client` is a separate client the handler does not use (no recording, no faults). */
  s3: TestS3;
  lakeDir: string;
  handler: IngestHandler;
  /** The handler's own client. */
  client: S3Client;
  /** Every request the handler's client was asked to send, in order (faulted ones included). */
  requests: SentRequest[];
  logs: LogEntry[];
  /** Adds a fault to the handler's client; returns a function that removes it. */
  inject(fault: Fault): () => void;
}

export interface RigOptions {
  maxUploadBytes?: number;
  /** Default true: the per-key lock the local lake uses, since s3rver ignores conditional writes. */
  lock?: boolean;
  /** Whether the store holds a key is read from its files, as the local lake does (IngestDeps.holds). Default false. */
  holds?: boolean;
  now?: () => Date;
}

/** A fresh s3rver on a free port in a temp dir (removed after the test) and the real handler over it. */
export async function startIngestRig(options: RigOptions = {}): Promise<IngestRig> {
  const s3 = await startTestS3();
  const client = localS3Client(s3.endpoint);
  onTestFinished(() => client.destroy());
  const requests: SentRequest[] = [];
  const faults = new Set<Fault>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = (args as { request?: { headers?: Record<string, string> } }).request;
      const sent: SentRequest = {
        command: String(context.commandName),
        input: args.input as Record<string, unknown>,
        headers: { ...(request?.headers ?? {}) },
      };
      requests.push(sent);
      for (const fault of faults) {
        const error = await fault(sent);
        if (error) throw error;
      }
      return next(args);
    },
    // After serialisation (so the headers are there) and before the SDK's retries (so a fault is the final answer).
    { step: 'build', name: 'navlakeTestRecorder', priority: 'low' },
  );
  const logs: LogEntry[] = [];
  const log = (level: LogEntry['level']) => (message: string, extra?: Record<string, unknown>) =>
    void logs.push({ level, message, ...(extra ? { extra } : {}) });
  const handler = createIngestHandler({
    s3: client,
    lakeBucket: LOCAL_LAKE_BUCKET,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    ...(options.lock === false ? {} : { lock: createKeyLock() }),
    ...(options.holds ? { holds: s3.holds } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    s3,
    lakeDir: s3.lakeDir,
    handler,
    client,
    requests,
    logs,
    inject: (fault) => {
      faults.add(fault);
      return () => void faults.delete(fault);
    },
  };
}

/** An error shaped as the SDK throws it for an S3 error response. */
export function s3Error(name: string, httpStatusCode: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: randomBytes(8).toString('hex').toUpperCase(), attempts: 1, totalRetryDelay: 0 },
    Code: name,
  });
}

// ---- what the handler wrote ------------------------------------------------------------------------------------

/** s3rver keeps an object's bytes at `<bucket dir>/<key>._S3rver_object`. */
const OBJECT_SUFFIX = '._S3rver_object';

/** Keys of the lake bucket under `prefix`, read from s3rver's storage, sorted. */
export async function lakeKeys(lakeDir: string, prefix = ''): Promise<string[]> {
  const bucketDir = lakeBucketDir(lakeDir);
  const start = path.join(bucketDir, prefix);
  if (!existsSync(start)) return [];
  const entries = await readdir(start, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(OBJECT_SUFFIX))
    .map((e) => path.relative(bucketDir, path.join(e.parentPath, e.name)).split(path.sep).join('/').slice(0, -OBJECT_SUFFIX.length))
    .sort();
}

export function readLakeObject(lakeDir: string, key: string): Promise<Buffer> {
  return readFile(path.join(lakeBucketDir(lakeDir), `${key}${OBJECT_SUFFIX}`));
}

export async function readLakeJson<T = Record<string, unknown>>(lakeDir: string, key: string): Promise<T> {
  return JSON.parse((await readLakeObject(lakeDir, key)).toString('utf8')) as T;
}

/** A partition object decompressed: its NDJSON text. */
export async function partitionText(lakeDir: string, key: string): Promise<string> {
  return gunzipSync(await readLakeObject(lakeDir, key)).toString('utf8');
}

export async function partitionRows(lakeDir: string, key: string): Promise<Array<Record<string, unknown>>> {
  const text = await partitionText(lakeDir, key);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** key -> sha256 of the stored bytes, for "untouched" comparisons. */
export async function lakeSnapshot(lakeDir: string, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of await lakeKeys(lakeDir, prefix)) {
    out[key] = createHash('sha256')
      .update(await readLakeObject(lakeDir, key))
      .digest('hex');
  }
  return out;
}

export function partitionKey(year: number, month: number, dataset = SEED_DATASET): string {
  return `observations/year=${year}/month=${String(month).padStart(2, '0')}/${dataset}.ndjson.gz`;
}

/** Delivers the uploads as one SQS batch, one message each, as the deployed queue does. */
export function deliverSqs(rig: IngestRig, ...refs: ObjectRef[]): Promise<SQSBatchResponse> {
  return rig.handler(sqsEvent(...refs.map((r) => notificationMessage(s3Record(r)))));
}

/** SQL over the rig's lake with the same DuckDB views `navlake query` uses. */
export async function queryLake(rig: IngestRig, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await runLocalQuery(rig.lakeDir, sql)).rows;
}

export async function ingestionRecords(rig: IngestRig): Promise<Ingestion[]> {
  const keys = await lakeKeys(rig.lakeDir, 'ingestions/');
  return Promise.all(keys.map((k) => readLakeJson<Ingestion>(rig.lakeDir, k)));
}

/** The source_key of every row of every observation object. */
export async function partitionHolders(rig: IngestRig): Promise<Set<unknown>> {
  const keys = new Set<unknown>();
  for (const key of await lakeKeys(rig.lakeDir, 'observations/')) {
    for (const row of await partitionRows(rig.lakeDir, key)) keys.add(row.source_key);
  }
  return keys;
}
