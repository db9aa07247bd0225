/**
 * One upload, start to finish: read the raw object (never changing it), parse all of it, and only then write its
 * months to the lake, each month replaced only by an export at least as new. A bad file writes nothing to
 * observations/, only a rejection report; every processing leaves one ingestion record.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { FormatParser, ParseError, isParseError, type ParseSummary } from '../parser/index.ts';
import type { Ingestion, PartitionOutcome } from '../schema/columns.ts';
import { periodString } from '../parser/vocabulary.ts';
import type { KeyLock } from '../lake/key-lock.ts';
import { ingestionKey, observationKey, rejectedKey } from '../lake/layout.ts';
import { type EncodedPartition, PartitionBuilder, sectionKey } from '../lake/observation-file.ts';
import { mergeIntoPartition, type Provenance } from '../lake/partition-store.ts';
import { uploadRank } from '../lake/upload-rank.ts';
import { DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR } from '../../lib/partition-projection.ts';
import { isNotFound } from '../lake/s3-errors.ts';
import type { UploadRef } from './events.ts';

export { DEFAULT_MAX_UPLOAD_BYTES } from './settings.ts';
const PARTITION_WRITE_CONCURRENCY = 8;
/**
 * A merge holds the month's current rows as objects (~650 bytes each): months merged at once are limited so that
 * together they hold about this many rows (measured in `npm run bench`, lambda.peak_rss_mb_worst).
 */
const ROWS_IN_FLIGHT = 100_000;

export interface IngestLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface IngestDeps {
  s3: S3Client;
  lakeBucket: string;
  maxUploadBytes: number;
  logger: IngestLogger;
  /** Local lakes only: the embedded S3 server ignores conditional writes. */
  lock?: KeyLock;
  /** Local lakes only, with `lock`: whether the lake holds an object at a key (PartitionStoreOptions.holds). */
  holds?: (bucket: string, key: string) => Promise<boolean>;
  now?: () => Date;
  /**
   * The years the observations table's partition projection reads (first, last): values of other years are stored
   * but no query sees them, which the ingestion says in a warning. Default: the stack's default projection.
   */
  projectedYears?: readonly [number, number];
}

export interface RejectionReport {
  code: string;
  file: string;
  line: number;
  column: number | null;
  message: string;
  source_bucket: string;
  source_key: string;
  source_sequencer: string;
  rejected_at: string;
}

/** What became of an upload; `missing` when the object was gone before it could be read. */
export type IngestOutcome =
  | { status: 'accepted' | 'superseded' | 'rejected'; ingestion: Ingestion; summary?: ParseSummary }
  | { status: 'missing'; key: string };

export async function ingestUpload(deps: IngestDeps, upload: UploadRef): Promise<IngestOutcome> {
  const ingestedAt = (deps.now?.() ?? new Date()).toISOString();
  const builder = new PartitionBuilder();
  // Text, .xlsx or delimited, told apart by the bytes; a workbook is read whole at the end (uploads are capped).
  const parser = new FormatParser({ file: upload.key, sourceKey: upload.key, ingestedAt });
  let summary: ParseSummary;
  try {
    summary = await parseUpload(deps, upload, parser, builder);
  } catch (e) {
    builder.discard();
    // The dataset is known once the title line was read, even if a later line is bad.
    if (isParseError(e)) return reject(deps, upload, ingestedAt, e, parser.summary().dataset);
    if (isNotFound(e)) {
      deps.logger.warn('raw object no longer exists; nothing to ingest', { source_key: upload.key });
      return { status: 'missing', key: upload.key };
    }
    throw e;
  }
  if (summary.records === 0) {
    builder.discard();
    // Nothing to write is not a success: a file cut before its first row must be reported and alarmed on.
    const why = summary.warnings[0]?.message ?? 'no section has a row of values';
    return reject(
      deps,
      upload,
      ingestedAt,
      new ParseError({ code: 'NO_TABLE', file: upload.key, line: summary.lines, message: `the export holds no values: ${why}` }),
      summary.dataset,
    );
  }
  const partitions = await builder.finish();
  const vintage = summary.vintage ?? '';
  const provenance = {
    sourceKey: upload.key,
    vintage,
    ingestedAt,
    rank: uploadRank({ vintage, sourceKey: upload.key, eventTime: upload.eventTime, sequencer: upload.sequencer }),
  };
  const cutOff = new Set(
    summary.cutOffSections.map((s) => `${s.year}\u0000${sectionKey({ main_group: s.mainGroup, measure_group: s.measureGroup })}`),
  );
  const largest = partitions.reduce((n, p) => Math.max(n, p.records), 0);
  const concurrency = Math.max(1, Math.min(PARTITION_WRITE_CONCURRENCY, Math.floor(ROWS_IN_FLIGHT / Math.max(1, largest))));
  const outcomes = await mapLimit(partitions, concurrency, (p) =>
    writePartition(deps, summary.dataset ?? '', p, provenance, (section) => !cutOff.has(`${p.year}\u0000${section}`)),
  );
  const recordsWritten = outcomes.reduce((sum, o) => sum + o.written, 0);
  const ingestion: Ingestion = {
    ingestion_id: ingestionId(upload),
    source_key: upload.key,
    source_sequencer: upload.sequencer || null,
    event_time: upload.eventTime || null,
    dataset: summary.dataset,
    status: recordsWritten > 0 ? 'accepted' : 'superseded',
    source_vintage: summary.vintage,
    records: summary.records,
    records_written: recordsWritten,
    partitions: outcomes,
    warnings: [
      ...summary.warnings.map((w) => `${w.code}: line ${w.line}: ${w.message}`),
      ...outsideProjection(partitions, deps.projectedYears ?? [DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR]),
    ],
    error_code: null,
    error_message: null,
    error_line: null,
    ingested_at: ingestedAt,
  };
  await putJson(deps, ingestionKey(summary.dataset, ingestion.event_time ?? ingestedAt, ingestion.ingestion_id), ingestion);
  deps.logger.info('upload ingested', {
    source_key: upload.key,
    status: ingestion.status,
    records: ingestion.records,
    records_written: ingestion.records_written,
    partitions_written: outcomes.filter((o) => o.outcome !== 'kept_newer').length,
    partitions_kept_newer: outcomes.filter((o) => o.outcome === 'kept_newer').length,
    warnings: summary.warnings.length,
  });
  return { status: ingestion.status as 'accepted' | 'superseded', ingestion, summary };
}

/**
 * Values the lake stores but neither Athena nor the local views read, because their year is outside the partition
 * projection: said in the ingestion record (and so in `navlake ingest`'s output) rather than left to be noticed as a
 * gap in a chart.
 */
function outsideProjection(partitions: readonly EncodedPartition[], [first, last]: readonly [number, number]): string[] {
  const outside = partitions.filter((p) => p.year < first || p.year > last);
  if (outside.length === 0) return [];
  const period = (p: EncodedPartition) => periodString(p.year, p.month);
  const values = outside.reduce((n, p) => n + p.records, 0);
  return [
    `OUTSIDE_PROJECTION: line 0: ${values} values of ${period(outside[0] as EncodedPartition)} to ${period(outside.at(-1) as EncodedPartition)} ` +
      `are stored but not read by queries, which read the years ${first}-${last} (the observations table's partition projection); ` +
      'widen it with cdk deploy -c projectionFirstYear=... -c projectionLastYear=...',
  ];
}

async function parseUpload(deps: IngestDeps, upload: UploadRef, parser: FormatParser, builder: PartitionBuilder): Promise<ParseSummary> {
  if (upload.size !== undefined && upload.size > deps.maxUploadBytes) throw tooLarge(upload.key, upload.size, deps.maxUploadBytes);
  const object = await deps.s3.send(
    new GetObjectCommand({ Bucket: upload.bucket, Key: upload.key, ...(upload.versionId ? { VersionId: upload.versionId } : {}) }),
  );
  const body = object.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  if (object.ContentLength !== undefined && object.ContentLength > deps.maxUploadBytes) {
    body?.destroy?.();
    throw tooLarge(upload.key, object.ContentLength, deps.maxUploadBytes);
  }
  if (!body) throw new Error(`${upload.key}: S3 returned no body`);
  for await (const chunk of limitBytes(body, deps.maxUploadBytes, upload.key)) {
    const batch = parser.write(chunk);
    if (batch.length > 0) builder.add(batch);
  }
  const last = parser.end();
  if (last.length > 0) builder.add(last);
  return parser.summary();
}

/** Guards against a body longer than its declared length (or none declared): stop reading past the limit. */
async function* limitBytes(body: AsyncIterable<Uint8Array> & { destroy?: () => void }, max: number, key: string) {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > max) {
      body.destroy?.();
      throw tooLarge(key, seen, max, true);
    }
    yield chunk;
  }
}

/** `atLeast`: only the first `size` bytes were read, so the upload is at least that long. */
function tooLarge(key: string, size: number, max: number, atLeast = false): ParseError {
  return new ParseError({
    code: 'TOO_LARGE',
    file: key,
    line: 0,
    message: `the upload is ${size} bytes${atLeast ? ' or more' : ''}; the limit is ${max} bytes (MAX_UPLOAD_BYTES)`,
  });
}

async function writePartition(
  deps: IngestDeps,
  dataset: string,
  p: EncodedPartition,
  provenance: Provenance,
  complete: (section: string) => boolean,
): Promise<PartitionOutcome> {
  const result = await mergeIntoPartition(
    deps.s3,
    { bucket: deps.lakeBucket, key: observationKey(dataset, p.year, p.month), partition: p, provenance, complete },
    { ...(deps.lock ? { lock: deps.lock } : {}), ...(deps.holds ? { holds: deps.holds } : {}) },
  );
  const outcome = result.written === p.records ? 'written' : result.written === 0 ? 'kept_newer' : 'partly_written';
  return { period: periodString(p.year, p.month), records: p.records, written: result.written, outcome };
}

async function reject(
  deps: IngestDeps,
  upload: UploadRef,
  ingestedAt: string,
  e: ParseError,
  dataset: string | null,
): Promise<IngestOutcome> {
  const report: RejectionReport = {
    code: e.code,
    file: e.file,
    line: e.line,
    column: e.column ?? null,
    message: e.detail,
    source_bucket: upload.bucket,
    source_key: upload.key,
    source_sequencer: upload.sequencer,
    rejected_at: ingestedAt,
  };
  const ingestion: Ingestion = {
    ingestion_id: ingestionId(upload),
    source_key: upload.key,
    source_sequencer: upload.sequencer || null,
    event_time: upload.eventTime || null,
    dataset,
    status: 'rejected',
    source_vintage: null,
    records: 0,
    records_written: 0,
    partitions: [],
    warnings: [],
    error_code: e.code,
    error_message: e.detail,
    error_line: e.line,
    ingested_at: ingestedAt,
  };
  await putJson(deps, rejectedKey(upload.key), report);
  await putJson(deps, ingestionKey(dataset, ingestion.event_time ?? ingestedAt, ingestion.ingestion_id), ingestion);
  deps.logger.warn('upload rejected', { source_key: upload.key, error_code: e.code, error_line: e.line, error: e.detail });
  return { status: 'rejected', ingestion };
}

/** The same upload (key and version or sequencer) always gets the same id, so a redelivery overwrites its record. */
export function ingestionId(upload: UploadRef): string {
  const version = upload.versionId ?? (upload.sequencer || upload.eTag || upload.eventTime);
  return createHash('sha256').update(`${upload.bucket}\n${upload.key}\n${version}`).digest('hex').slice(0, 20);
}

async function putJson(deps: IngestDeps, key: string, value: unknown): Promise<void> {
  await deps.s3.send(
    new PutObjectCommand({ Bucket: deps.lakeBucket, Key: key, Body: `${JSON.stringify(value)}\n`, ContentType: 'application/json' }),
  );
}

/**
 * After the first failure no further item is started, and the items already under way are waited for before the
 * failure is thrown: an invocation that reports a failure has no writes still running behind it.
 */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
